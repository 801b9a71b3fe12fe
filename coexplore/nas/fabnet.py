"""FABNet's hyper-parameter space and an evaluator that trains on synthetic ListOps, here, on the CPU.

FABNet (Fan et al., MICRO 2022) is an encoder whose blocks are FBfly (FNet's 2-D Fourier mixing
and a butterfly feed-forward network) except a few ABfly (attention with butterfly projections
and a butterfly FFN). Its co-design searches the depth, the width, which blocks are ABfly and
the sequence length together with the butterfly accelerator; this module is the network side:

* :class:`SequenceArch`: one encoder (its blocks' kinds, width, heads, FFN ratio, sequence length),
  validated with one line per bad field; :meth:`SequenceArch.transformer`, :meth:`~SequenceArch.fnet`
  and :meth:`~SequenceArch.fabnet` are the three families the benchmark compares.
* :class:`FabnetSpace`: the categorical decisions (depth, width, sequence length, then FBfly/ABfly
  per block, a block's decision active only when the depth reaches it), the same view
  (``cardinalities``, ``conditions``, ``encoding``, ``from_choices``, ``sample``) that
  :class:`~coexplore.nas.space.ArchSpace` gives generic strategies. It does not produce a
  cost-model network: attention and butterfly workload layers are a separate piece of issue 18.
* :class:`ListOpsTrainer`: trains an architecture from scratch on generated ListOps
  (:mod:`coexplore.nas.listops`) and returns accuracy, parameters, MACs per sequence and wall time;
  it has the ``name`` / ``evaluate(archs) -> percent`` shape of every accuracy evaluator.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.listops import LISTOPS_CLASSES, VOCAB, ListOpsConfig, ListOpsData, generate_listops
from coexplore.optional import require
from coexplore.search.encoding import Categorical, Condition

__all__ = ["BLOCK_KINDS", "FabnetSpace", "ListOpsTrainer", "SequenceArch", "TrainedSequenceModel", "is_power_of_two"]

#: Block kinds: dense attention + dense FFN, Fourier + dense FFN, Fourier + butterfly FFN, butterfly attention + FFN.
BLOCK_KINDS = ("transformer", "fnet", "fbfly", "abfly")
_FOURIER, _BUTTERFLY = {"fnet", "fbfly"}, {"fbfly", "abfly"}


def is_power_of_two(n: Any) -> bool:
    """True for the integers 1, 2, 4, 8, ... (bools excluded)."""
    return isinstance(n, int) and not isinstance(n, bool) and n >= 1 and n & (n - 1) == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SequenceArch:
    """An encoder classifier: ``blocks`` (kinds in order), ``width``, ``heads``, ``ffn_ratio``, ``seq_len``.

    Butterfly and Fourier blocks need a power-of-two ``width`` (and FFN width ``ffn_ratio * width``);
    Fourier blocks need a power-of-two ``seq_len`` (the FFT and the butterfly engine work on 2**k points).
    """

    blocks: tuple[str, ...]
    width: int = 64
    heads: int = 4
    ffn_ratio: int = 2
    seq_len: int = 64
    pooling: str = "mean"

    def __post_init__(self) -> None:
        p: list[str] = []
        if not self.blocks:
            p.append("blocks: must name at least one block, got none")
        p += [f"blocks[{i}]: must be one of {', '.join(BLOCK_KINDS)}, got {k!r}"
              for i, k in enumerate(self.blocks) if k not in BLOCK_KINDS]
        ints = [(n, v) for n, v in (("width", self.width), ("heads", self.heads), ("ffn_ratio", self.ffn_ratio),
                                    ("seq_len", self.seq_len))]
        p += [f"{n}: must be an integer >= 1, got {v!r}" for n, v in ints
              if isinstance(v, bool) or not isinstance(v, int) or v < 1]
        if not p:
            if self.width % self.heads:
                p.append(f"heads: must divide width {self.width}, got {self.heads}")
            if _BUTTERFLY & set(self.blocks) and not (is_power_of_two(self.width) and is_power_of_two(self.ffn_ratio)):
                p.append(f"width: butterfly blocks need a power-of-two width and ffn_ratio, got width "
                         f"{self.width}, ffn_ratio {self.ffn_ratio}")
            if _FOURIER & set(self.blocks) and not (is_power_of_two(self.seq_len) and is_power_of_two(self.width)):
                p.append(f"seq_len: Fourier blocks need a power-of-two seq_len and width, got seq_len "
                         f"{self.seq_len}, width {self.width}")
        if self.pooling not in ("mean", "cls"):
            p.append(f"pooling: must be 'mean' or 'cls', got {self.pooling!r}")
        if p:
            raise SpecError(p)

    @classmethod
    def transformer(cls, depth: int, **kw: Any) -> SequenceArch:
        return cls(blocks=("transformer",) * depth, **kw)

    @classmethod
    def fnet(cls, depth: int, **kw: Any) -> SequenceArch:
        return cls(blocks=("fnet",) * depth, **kw)

    @classmethod
    def fabnet(cls, depth: int, abfly: Sequence[int] = (0,), **kw: Any) -> SequenceArch:
        """``depth`` FBfly blocks, those at positions ``abfly`` replaced by ABfly blocks."""
        bad = [i for i in abfly if not 0 <= i < depth]
        if bad:
            raise SpecError(f"abfly: block positions must be in 0..{depth - 1}, got {bad}")
        return cls(blocks=tuple("abfly" if i in abfly else "fbfly" for i in range(depth)), **kw)

    @property
    def family(self) -> str:
        kinds = set(self.blocks)
        if kinds <= _BUTTERFLY:
            return "fabnet"
        return "+".join(sorted(kinds)) if len(kinds) > 1 else next(iter(kinds))

    def label(self) -> str:
        """Stable text form: ``abfly,fbfly|w64|h4|f2|L64|mean``."""
        return f"{','.join(self.blocks)}|w{self.width}|h{self.heads}|f{self.ffn_ratio}|L{self.seq_len}|{self.pooling}"

    def to_torch(self, *, vocab_size: int = len(VOCAB), num_classes: int = LISTOPS_CLASSES) -> Any:
        """The PyTorch classifier (random weights: seed torch first)."""
        require("torch", extra="nas", who="building FABNet models")
        from coexplore.nas._fabnet_torch import SequenceClassifier

        return SequenceClassifier(blocks=self.blocks, vocab_size=vocab_size, seq_len=self.seq_len, width=self.width,
                                  heads=self.heads, ffn_ratio=self.ffn_ratio, num_classes=num_classes,
                                  pooling=self.pooling)


@dataclass(frozen=True, slots=True, kw_only=True)
class FabnetSpace:
    """FABNet's categorical decisions: depth, width, sequence length, then FBfly(0)/ABfly(1) per block.

    Block ``i``'s decision is active only when the depth exceeds ``i`` (:attr:`conditions`); inactive
    decisions are 0 in :meth:`to_choices`, so equal architectures have equal choices.
    """

    depths: tuple[int, ...] = (1, 2, 3, 4)
    widths: tuple[int, ...] = (32, 64, 128)
    seq_lens: tuple[int, ...] = (64, 128)
    heads: int = 4
    ffn_ratio: int = 2
    name: str = "fabnet"

    def __post_init__(self) -> None:
        p = [f"FabnetSpace.{n}: must be a non-empty tuple of distinct integers >= 1, got {v!r}"
             for n, v in (("depths", self.depths), ("widths", self.widths), ("seq_lens", self.seq_lens))
             if not v or len(set(v)) != len(v) or any(isinstance(x, bool) or not isinstance(x, int) or x < 1
                                                      for x in v)]
        if p:
            raise SpecError(p)
        for w in self.widths:  # every width and length must make a valid FABNet
            for n in self.seq_lens:
                SequenceArch(blocks=("abfly",), width=w, heads=self.heads, ffn_ratio=self.ffn_ratio, seq_len=n)
                SequenceArch(blocks=("fbfly",), width=w, heads=self.heads, ffn_ratio=self.ffn_ratio, seq_len=n)

    @property
    def max_depth(self) -> int:
        return max(self.depths)

    @property
    def cardinalities(self) -> tuple[int, ...]:
        return (len(self.depths), len(self.widths), len(self.seq_lens), *([2] * self.max_depth))

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(Condition(child=3 + i, parent=0, values=tuple(j for j, d in enumerate(self.depths) if d > i))
                     for i in range(self.max_depth))

    @property
    def encoding(self) -> Categorical:
        names = ("depth", "width", "seq_len", *(f"block{i}" for i in range(self.max_depth)))
        return Categorical(self.cardinalities, names=names, conditions=self.conditions)

    def from_choices(self, choices: Sequence[int]) -> SequenceArch:
        c = tuple(int(x) for x in choices)
        if len(c) != len(self.cardinalities):
            raise SpecError(f"{self.name}: choices must have {len(self.cardinalities)} entries, got {len(c)}")
        bad = [f"{self.name}.choices[{i}]: must be in 0..{k - 1}, got {v}"
               for i, (v, k) in enumerate(zip(c, self.cardinalities, strict=True)) if not 0 <= v < k]
        if bad:
            raise SpecError(bad)
        depth = self.depths[c[0]]
        blocks = tuple("abfly" if c[3 + i] else "fbfly" for i in range(depth))
        return SequenceArch(blocks=blocks, width=self.widths[c[1]], heads=self.heads, ffn_ratio=self.ffn_ratio,
                            seq_len=self.seq_lens[c[2]])

    def to_choices(self, arch: SequenceArch) -> tuple[int, ...]:
        problems = [f"{self.name}: {n} {v} is not among {opts}" for n, v, opts in
                    (("depth", len(arch.blocks), self.depths), ("width", arch.width, self.widths),
                     ("seq_len", arch.seq_len, self.seq_lens)) if v not in opts]
        if not set(arch.blocks) <= _BUTTERFLY:
            problems.append(f"{self.name}: blocks must be fbfly or abfly, got {list(arch.blocks)}")
        if problems:
            raise SpecError(problems)
        flags = [int(k == "abfly") for k in arch.blocks] + [0] * (self.max_depth - len(arch.blocks))
        return (self.depths.index(len(arch.blocks)), self.widths.index(arch.width),
                self.seq_lens.index(arch.seq_len), *flags)

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[SequenceArch]:
        """``n`` architectures, every active decision uniform."""
        return [self.from_choices(row.tolist()) for row in self.encoding.sample(rng, n)]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainedSequenceModel:
    """One training run: held-out accuracy (percent), size, MACs per sequence, wall time and loss."""

    arch: str
    accuracy: float
    params: int
    macs: int
    train_seconds: float
    final_loss: float
    steps: int
    seed: int


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ListOpsTrainer:
    """Trains architectures on ListOps generated from ``seed`` and scores them on a held-out set.

    The task's longest expression is ``arch.seq_len - 1`` tokens (one position holds ``<cls>``), up
    to ``config.max_length``; the other generator settings come from ``config``. Train and test sets
    are drawn from disjoint seeds. AdamW, linear warm-up over ``warmup`` steps then cosine decay, batch
    order and initialisation from ``seed``, ``threads`` intra-op threads (1 by default).
    """

    config: ListOpsConfig = field(default_factory=ListOpsConfig)
    train_size: int = 20_000
    test_size: int = 2_000
    steps: int = 3_000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 200
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        p = [f"ListOpsTrainer.{n}: must be an integer >= {lo}, got {v!r}" for n, v, lo in
             (("train_size", self.train_size, 1), ("test_size", self.test_size, 1), ("steps", self.steps, 1),
              ("batch_size", self.batch_size, 1), ("warmup", self.warmup, 0), ("threads", self.threads, 1))
             if isinstance(v, bool) or not isinstance(v, int) or v < lo]
        p += [f"ListOpsTrainer.{n}: must be >= 0, got {v!r}" for n, v in
              (("lr", self.lr), ("weight_decay", self.weight_decay)) if not v >= 0]
        if p:
            raise SpecError(p)

    @property
    def name(self) -> str:
        return f"train-listops:{self.steps}steps/seed{self.seed}"

    def data(self, seq_len: int) -> tuple[ListOpsData, ListOpsData]:
        """(train, test) sets for models of ``seq_len`` positions."""
        longest = min(self.config.max_length, seq_len - 1)
        if longest < self.config.min_length:
            raise SpecError(f"seq_len: must be > config.min_length ({self.config.min_length}), got {seq_len}")
        cfg = ListOpsConfig(min_length=self.config.min_length, max_length=longest, max_depth=self.config.max_depth,
                            max_args=self.config.max_args, branch_prob=self.config.branch_prob)
        train = generate_listops(self.train_size, seed=2 * self.seed, config=cfg, seq_len=seq_len)
        test = generate_listops(self.test_size, seed=2 * self.seed + 1, config=cfg, seq_len=seq_len)
        return train, test

    def train(self, arch: SequenceArch, data: tuple[ListOpsData, ListOpsData] | None = None) -> TrainedSequenceModel:
        """Build ``arch`` under the seed, train it for ``steps`` batches, test it."""
        require("torch", extra="nas", who="training FABNet models")
        import torch

        from coexplore.nas._fabnet_torch import count_macs

        train, test = data if data is not None else self.data(arch.seq_len)
        if train.tokens.shape[1] != arch.seq_len or test.tokens.shape[1] != arch.seq_len:
            raise SpecError(f"data: sequences must have arch.seq_len = {arch.seq_len} positions, "
                            f"got {train.tokens.shape[1]} and {test.tokens.shape[1]}")
        old_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                model = arch.to_torch()
                seconds, loss = self._fit(model, train)
            accuracy = self.accuracy(model, test)
        finally:
            torch.set_num_threads(old_threads)
        return TrainedSequenceModel(arch=arch.label(), accuracy=accuracy,
                                    params=sum(p.numel() for p in model.parameters()),
                                    macs=count_macs(model), train_seconds=seconds, final_loss=loss,
                                    steps=self.steps, seed=self.seed)

    def _fit(self, model: Any, train: ListOpsData) -> tuple[float, float]:
        import torch
        import torch.nn.functional as F

        xs, ys = torch.from_numpy(train.tokens), torch.from_numpy(train.labels)
        gen = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        total, warm = self.steps, self.warmup

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return 0.5 * (1.0 + float(np.cos(np.pi * (step - warm) / max(1, total - warm))))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        order = torch.randperm(len(ys), generator=gen)
        pos, recent = 0, []
        model.train()
        start = time.perf_counter()
        for _ in range(total):
            if pos + self.batch_size > len(ys):
                order, pos = torch.randperm(len(ys), generator=gen), 0
            idx = order[pos:pos + self.batch_size]
            pos += self.batch_size
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xs[idx]), ys[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            recent.append(float(loss.detach()))
            recent = recent[-100:]
        return time.perf_counter() - start, float(np.mean(recent))

    @staticmethod
    def accuracy(model: Any, data: ListOpsData, batch_size: int = 500) -> float:
        """Top-1 accuracy in percent of ``model`` on ``data`` (eval mode, no gradients)."""
        import torch

        model.eval()
        hits = 0
        with torch.inference_mode():
            for start in range(0, len(data), batch_size):
                x = torch.from_numpy(data.tokens[start:start + batch_size])
                hits += int((model(x).argmax(dim=1).numpy() == data.labels[start:start + batch_size]).sum())
        return 100.0 * hits / len(data)

    def evaluate(self, archs: Sequence[SequenceArch]) -> np.ndarray:
        """Held-out accuracy in percent of each architecture, float64 (n,)."""
        return np.array([self.train(a).accuracy for a in archs], dtype=np.float64)
