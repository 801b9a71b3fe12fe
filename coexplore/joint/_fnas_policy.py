"""FNAS's controller policies in PyTorch (imported only when an FNAS strategy is built).

* :class:`LstmPolicy`: the RNN controller of FNAS (after Zoph & Le, ICLR 2017): an LSTM
  emits one decision per step, each step fed the embedding of the previous step's
  decision, so later decisions (the hardware) are conditioned on earlier ones (the network).
* :class:`SoftmaxPolicy`: one independent softmax per decision (the controller coexplore
  had before, kept as the ablation's middle row).

Both sample with a numpy Generator (the strategy's), so the same seed gives the same
rows, and give the log-probability of given rows for the REINFORCE update.

Across machines: torch runs on one intra-op thread (:func:`one_thread`), so the caller's
thread count does not matter (400 candidates on the FPGA problem were the same with 1 and
2 threads). The policy trains in float32, whose rounding depends on the CPU's kernels: with
torch's portable kernels (ATEN_CPU_CAPABILITY=default) instead of AVX2 its weights after 400
candidates differed by up to 3e-6 and the 400 candidates were the same; a draw can change
only where its uniform number falls that close to a step of the cumulative probabilities.
(BRP-NAS's predictors, where such differences did change the search, train in float64.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: PyTorch models need torch; install it with pip install "
                                 "'coexplore[torch]'") from None

__all__ = ["LstmPolicy", "SoftmaxPolicy", "one_thread"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread: the controller's tensors are tiny, and on a busy machine
    a thread pool makes each LSTM step ten times slower."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _draw(probs: torch.Tensor, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``probs`` (n, k) by inverse CDF in float64 (reproducible across runs)."""
    p = probs.detach().double().numpy()
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(p))
    return np.minimum((cdf < u[:, None]).sum(axis=1), p.shape[1] - 1).astype(np.int64)


class LstmPolicy(nn.Module):
    """An autoregressive LSTM over ``cards`` decisions (one linear head and one input embedding per decision).

    Weights start uniform in [-``init``, ``init``] from ``seed`` (Zoph & Le: 0.08).
    """

    def __init__(self, cards: Sequence[int], *, hidden: int = 35, init: float = 0.08, seed: int = 0) -> None:
        super().__init__()
        self.cards = tuple(int(c) for c in cards)
        self.start = nn.Parameter(torch.zeros(hidden))
        self.cell = nn.LSTMCell(hidden, hidden)
        self.embed = nn.ModuleList(nn.Embedding(c, hidden) for c in self.cards)
        self.heads = nn.ModuleList(nn.Linear(hidden, c) for c in self.cards)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.rand(p.shape, generator=gen) * 2 * init - init)

    def _run(self, n: int, rows: np.ndarray | None, rng: np.random.Generator | None,
             forced: int) -> tuple[np.ndarray, torch.Tensor]:
        """Step through the decisions: the first ``forced`` come from ``rows``, the rest are drawn with ``rng``."""
        x = self.start.expand(n, -1)
        h = c = torch.zeros(n, self.start.shape[0])
        out = np.zeros((n, len(self.cards)), dtype=np.int64)
        logp = torch.zeros(n)
        for t, head in enumerate(self.heads):
            h, c = self.cell(x, (h, c))
            logits = torch.log_softmax(head(h), dim=-1)
            if t < forced:
                assert rows is not None
                out[:, t] = rows[:, t]
            else:
                assert rng is not None
                out[:, t] = _draw(logits.exp(), rng)
            idx = torch.from_numpy(out[:, t])
            logp = logp + logits.gather(1, idx[:, None])[:, 0]
            x = self.embed[t](idx)
        return out, logp

    def sample(self, rng: np.random.Generator, n: int, prefix: np.ndarray | None = None) -> np.ndarray:
        """``n`` rows; with ``prefix`` (n, k) the first k decisions are given and the rest drawn after them."""
        with torch.no_grad():
            k = 0 if prefix is None else prefix.shape[1]
            return self._run(n, prefix, rng, k)[0]

    def log_prob(self, rows: np.ndarray) -> torch.Tensor:
        """Log-probability (n,) of whole rows, with gradients."""
        return self._run(len(rows), np.asarray(rows, dtype=np.int64), None, len(self.cards))[1]


class SoftmaxPolicy(nn.Module):
    """One softmax per decision, independent of the others, logits starting at 0 (uniform)."""

    def __init__(self, cards: Sequence[int], *, seed: int = 0) -> None:
        super().__init__()
        self.cards = tuple(int(c) for c in cards)
        self.logits = nn.ParameterList(nn.Parameter(torch.zeros(c)) for c in self.cards)

    def sample(self, rng: np.random.Generator, n: int, prefix: np.ndarray | None = None) -> np.ndarray:
        k = 0 if prefix is None else prefix.shape[1]
        out = np.zeros((n, len(self.cards)), dtype=np.int64)
        if prefix is not None:
            out[:, :k] = prefix
        with torch.no_grad():
            for t in range(k, len(self.cards)):
                out[:, t] = _draw(torch.softmax(self.logits[t], dim=0).expand(n, -1), rng)
        return out

    def log_prob(self, rows: np.ndarray) -> torch.Tensor:
        idx = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        return sum((torch.log_softmax(lg, dim=0)[idx[:, t]] for t, lg in enumerate(self.logits)),
                   torch.zeros(len(rows)))
