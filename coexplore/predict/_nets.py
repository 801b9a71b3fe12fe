"""Torch building blocks shared by the learnt predictors: graph tensors, GCN encoder, training loop.

This module imports torch at the top, so it is imported only inside ``fit`` / ``predict``
of the predictors: ``import coexplore.predict`` stays free of torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: predictors and PyTorch models need torch; "
                                 "install it with pip install 'coexplore[nas]'") from None

from coexplore.errors import SpecError
from coexplore.predict.features import ArchFeatures

PREDICT_CHUNK = 4096

#: Every learnt predictor trains and predicts in double precision, so that a seed gives the
#: same model on any CPU. Float32 results depend on the order in which a CPU's kernels round
#: (AVX2 or AVX-512 code paths, MKL's blocking), and training amplifies that: on one machine,
#: ATEN_CPU_CAPABILITY=default vs avx2 left the weights of a 100-epoch BRP fit 0.07 apart from
#: identical initial weights in float32, 5e-16 apart in float64; float32 BRP-NAS queried other
#: networks from its third round on. Float64 took 1.2-2.2x the CPU time of float32 (fits on 100
#: NB201 cells and scoring 3,917; BRP, GCN and MLP predictors).
DTYPE = torch.float64

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@contextmanager
def session(seed: int | None = None) -> Iterator[None]:
    """Run torch work single-threaded, denormals flushed, and (if ``seed``) the global RNG seeded.

    The models are small (graphs of a few nodes): intra-op threads cost more than they
    save, and on a shared machine they busy-wait for cores (fits ran 20-50x slower on two
    loaded cores). Denormal numbers, which Adam's moment estimates of dead units decay
    into, are slow on x86; flushing them to zero made a GCN fit 3x faster. Dropout draws
    from the global RNG, so seeding it (forked: the caller's stream is left untouched)
    is what makes training reproducible. Thread count and RNG state are restored after;
    denormal flushing is switched off again (torch cannot report its previous state).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(threads)


def initialise(model: ModuleT, rng: np.random.Generator) -> ModuleT:
    """``model`` in :data:`DTYPE` with every linear layer drawn afresh from ``rng``, the same on every CPU.

    The distribution is torch's default for ``nn.Linear``, weights and biases uniform in
    +-1/sqrt(fan_in), but torch's ``uniform_`` computes ``from + u * (to - from)`` with a fused
    multiply-add in its AVX2 kernel and without one in its default kernel, so the same seed
    gave initial weights one rounding apart on different CPUs (measured: half the weights,
    with ATEN_CPU_CAPABILITY=default vs avx2). Here ``u`` comes from numpy's generator and
    ``(2 u - 1) * bound`` is exact up to the one rounding of the product.
    """
    model = model.to(DTYPE)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                bound = 1.0 / float(np.sqrt(layer.in_features))
                for p in (layer.weight, layer.bias):
                    if p is not None:
                        u = rng.random(tuple(p.shape))
                        p.copy_(torch.from_numpy((2.0 * u - 1.0) * bound))
    return model


def child_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed derived from ``seed`` and ``keys`` (e.g. the fit count of a warm start)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(2, np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True, slots=True)
class TargetScaler:
    """Standardises targets (optionally after a log) so that one learning rate suits any unit.

    A log target makes the squared loss a relative one, which is what latency models
    are judged on (share of predictions within +-10 %).
    """

    mean: float
    std: float
    log: bool

    @classmethod
    def fit(cls, y: np.ndarray, *, log: bool) -> TargetScaler:
        """The scaling of targets ``y`` (positive if ``log``)."""
        z = np.log(y) if log else y
        return cls(float(z.mean()), float(z.std()) or 1.0, log)

    def transform(self, y: np.ndarray) -> np.ndarray:
        z = np.log(y) if self.log else y
        return (z - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        v = z * self.std + self.mean
        return np.exp(v) if self.log else v


def graph_tensors(features: ArchFeatures, *, direction: str, readout: str, aggregation: str,
                  who: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The propagation matrices, node features and readout weights of a batch of graphs.

    Returns:
        float64 tensors (:data:`DTYPE`): ``agg`` (n, V, V): row ``v`` averages node ``v`` with its
        predecessors ("forward") or with all its neighbours ("both"), self loop included (``D^-1 (A + I)``, as
        BRP-NAS normalises); ``x`` (n, V, F): the one-hot operations; ``w`` (n, V): readout
        weights, one-hot on the output node (the last real node), uniform on real nodes
        ("mean") or one on each real node ("sum").
    """
    adj: np.ndarray = np.asarray(features.require("adjacency", who), dtype=np.float64)
    ops: np.ndarray = np.ascontiguousarray(features.require("node_ops", who), dtype=np.float64)
    if adj.ndim != 3 or ops.ndim != 3 or adj.shape[:2] != ops.shape[:2] or adj.shape[1] != adj.shape[2]:
        raise SpecError(f"{who}: adjacency must be (n, V, V) and node_ops (n, V, F), got "
                        f"{adj.shape} and {ops.shape}")
    real: np.ndarray = np.any(ops, axis=2)
    if len(real) and not np.any(real, axis=1).all():
        raise SpecError(f"{who}: every graph needs at least one node with an operation")
    m = np.swapaxes(adj, 1, 2)  # m[i, v, u] = 1 for an edge u -> v: v gathers from u
    if direction == "both":
        m = m + adj
    m = np.asarray(m > 0, dtype=np.float64) + np.eye(adj.shape[1])
    if aggregation == "mean":
        m /= m.sum(axis=2, keepdims=True)
    w: np.ndarray
    if readout == "output":
        last = adj.shape[1] - 1 - np.argmax(real[:, ::-1], axis=1)
        w = np.zeros(real.shape)
        w[np.arange(len(w)), last] = 1.0
    elif readout == "mean":
        w = real.astype(np.float64) / real.sum(axis=1, keepdims=True)
    else:
        w = real.astype(np.float64)
    return torch.from_numpy(m), torch.from_numpy(ops), torch.from_numpy(w)


class GCNEncoder(nn.Module):
    """Graph convolutions ``h' = relu(agg @ h W + b [+ h W_self])`` with dropout, then a weighted node readout.

    ``self_weight`` gives a node's own embedding a separate weight (GraphSAGE / PyG's
    ``GraphConv``) instead of only the shared one through the self loop of ``agg``.
    """

    def __init__(self, in_features: int, hidden: int, layers: int, dropout: float,
                 self_weight: bool = False) -> None:
        super().__init__()
        sizes = [in_features] + [hidden] * layers
        self.convs = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.selfs = (nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(sizes))
                      if self_weight else None)
        self.dropout = nn.Dropout(dropout)
        self.out_features = hidden

    def forward(self, agg: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = x
        for i, conv in enumerate(self.convs):
            z = torch.bmm(agg, conv(h))
            if self.selfs is not None:
                z = z + self.selfs[i](h)
            h = self.dropout(torch.relu(z))
        return torch.einsum("nv,nvh->nh", w, h)


class GCNRegressor(nn.Module):
    """A :class:`GCNEncoder` and a linear layer on the graph embedding (BRP-NAS's latency GCN)."""

    def __init__(self, in_features: int, hidden: int, layers: int, dropout: float, self_weight: bool = False) -> None:
        super().__init__()
        self.encoder = GCNEncoder(in_features, hidden, layers, dropout, self_weight)
        self.head = nn.Linear(hidden, 1)

    def forward(self, agg: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(agg, x, w)).squeeze(-1)


def mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    """Linear layers of ``sizes`` with ReLU and dropout between them, a linear output."""
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        mods.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            mods += [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*mods)


def optimizer(model: nn.Module, *, lr: float, weight_decay: float, epochs: int,
              cosine: bool) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam, with the learning rate annealed to zero along a cosine over the epochs if ``cosine``.

    Annealing makes the final weights the end of a settled descent rather than one noisy
    step of it, which matters for calibrated values (share within +-10 %) more than for ranks.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched: torch.optim.lr_scheduler.LRScheduler
    if cosine:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return opt, sched


def train_regressor(model: nn.Module, inputs: tuple[torch.Tensor, ...], z: np.ndarray, *, epochs: int,
                    batch_size: int, lr: float, weight_decay: float, cosine: bool, rng: np.random.Generator) -> None:
    """Adam on the squared error over shuffled mini-batches (``model(*inputs[idx]) -> (b,)``)."""
    target = torch.from_numpy(z.astype(np.float64))
    opt, sched = optimizer(model, lr=lr, weight_decay=weight_decay, epochs=epochs, cosine=cosine)
    model.train()
    n = len(target)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            if len(idx) < 2 and n > 1:  # a lone sample gives a noisy step; fold it into the next epoch
                continue
            opt.zero_grad(set_to_none=True)
            loss = torch.mean((model(*(t[idx] for t in inputs)) - target[idx]) ** 2)
            loss.backward()
            opt.step()
        sched.step()
    model.eval()


def predict_chunked(fn: Callable[..., torch.Tensor], inputs: tuple[torch.Tensor, ...]) -> np.ndarray:
    """``fn`` over chunks of the inputs in eval mode without gradients, as float64 numpy."""
    n = len(inputs[0])
    out = []
    with torch.no_grad():
        for start in range(0, n, PREDICT_CHUNK):
            out.append(fn(*(t[start:start + PREDICT_CHUNK] for t in inputs)).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)
