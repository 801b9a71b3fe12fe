"""Torch side of the binary relation predictor: the pair network, its training and scoring.

Imported only inside :class:`coexplore.predict.brp.BRPPredictor` methods, so that
``import coexplore.predict`` does not import torch.
"""

from __future__ import annotations

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: predictors and PyTorch models need torch; "
                                 "install it with pip install 'coexplore[nas]'") from None

from coexplore.predict._nets import GCNEncoder

#: Architectures per chunk when scoring against the reference sample (bounds memory).
SCORE_CHUNK = 256


class BRPNet(nn.Module):
    """A shared GCN encoder and a head giving the logit of "the first graph has the higher target".

    The head's first layer acts on the concatenated embeddings, so it splits into one
    projection per slot (``first``, ``second``); scoring n architectures against m
    references then costs n + m projections and n * m cheap additions, not n * m encodings.
    """

    def __init__(self, in_features: int, hidden: int, layers: int, dropout: float, head_hidden: int,
                 self_weight: bool) -> None:
        super().__init__()
        self.encoder = GCNEncoder(in_features, hidden, layers, dropout, self_weight)
        self.first = nn.Linear(hidden, head_hidden)
        self.second = nn.Linear(hidden, head_hidden, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(head_hidden, 1)

    def logits(self, pa: torch.Tensor, qb: torch.Tensor) -> torch.Tensor:
        """Logits from slot projections ``pa = first(e_a)`` and ``qb = second(e_b)`` (broadcasting)."""
        return self.out(self.dropout(torch.relu(pa + qb))).squeeze(-1)


def pair_batches(y: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of graph batches: a seeded shuffle cut into batches of at least two graphs.

    Every ordered pair inside a batch is a training pair, so a training set no larger
    than a batch is trained on all its pairs at every step, and a larger one on a fresh
    random subset of pairs every epoch.
    """
    order = rng.permutation(len(y))
    batches = [order[s:s + batch_size] for s in range(0, len(y), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches[-2] = np.concatenate([batches[-2], batches.pop()])
    return batches


def train_pairs(net: BRPNet, inputs: tuple[torch.Tensor, ...], y: np.ndarray, *, epochs: int, batch_size: int,
                lr: float, weight_decay: float, rng: np.random.Generator) -> None:
    """Adam on the binary cross-entropy of every ordered pair with distinct targets in each batch."""
    target = torch.from_numpy(y.astype(np.float64))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    bce = nn.BCEWithLogitsLoss()
    net.train()
    for _ in range(epochs):
        for idx_np in pair_batches(y, batch_size, rng):
            idx = torch.from_numpy(idx_np)
            t = target[idx]
            label = t[:, None] > t[None, :]
            keep = t[:, None] != t[None, :]  # ties (and a graph with itself) teach nothing
            if not bool(keep.any()):
                continue
            e = net.encoder(*(a[idx] for a in inputs))
            logits = net.logits(net.first(e)[:, None, :], net.second(e)[None, :, :])
            opt.zero_grad(set_to_none=True)
            bce(logits[keep], label[keep].to(logits.dtype)).backward()
            opt.step()
    net.eval()


def embed(net: BRPNet, inputs: tuple[torch.Tensor, ...], chunk: int = 4096) -> torch.Tensor:
    """Graph embeddings (n, H) in eval mode."""
    n = len(inputs[0])
    with torch.no_grad():
        parts = [net.encoder(*(a[s:s + chunk] for a in inputs)) for s in range(0, n, chunk)]
    return torch.cat(parts) if parts else torch.zeros(0, net.encoder.out_features, dtype=inputs[0].dtype)


def compare(net: BRPNet, ea: torch.Tensor, eb: torch.Tensor) -> np.ndarray:
    """Antisymmetrised P(a beats b) for aligned rows: ``(f(a, b) + 1 - f(b, a)) / 2``, float64 (n,)."""
    with torch.no_grad():
        fab = torch.sigmoid(net.logits(net.first(ea), net.second(eb))).double()
        fba = torch.sigmoid(net.logits(net.first(eb), net.second(ea))).double()
    return ((fab + 1.0 - fba) / 2.0).numpy()


def win_rates(net: BRPNet, emb: torch.Tensor, ref: np.ndarray) -> np.ndarray:
    """Mean antisymmetrised win probability of every row of ``emb`` against the rows ``ref``.

    A row that is itself a reference skips the comparison with itself (always 1/2).
    """
    n = len(emb)
    out = np.empty(n)
    ref_t = torch.from_numpy(ref)
    with torch.no_grad():
        p_ref, q_ref = net.first(emb[ref_t]), net.second(emb[ref_t])
        for s in range(0, n, SCORE_CHUNK):
            e = emb[s:s + SCORE_CHUNK]
            fab = torch.sigmoid(net.logits(net.first(e)[:, None, :], q_ref[None, :, :])).double()
            fba = torch.sigmoid(net.logits(p_ref[None, :, :], net.second(e)[:, None, :])).double()
            p = ((fab + 1.0 - fba) / 2.0).numpy()
            self_hit = np.arange(s, s + len(e))[:, None] == ref[None, :]
            p[self_hit] = 0.0
            others = len(ref) - self_hit.sum(axis=1)
            out[s:s + len(e)] = np.where(others > 0, p.sum(axis=1) / others.clip(min=1), 0.5)
    return out
