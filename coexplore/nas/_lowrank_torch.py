"""Low-rank (SVD) factored layers in PyTorch (imported only when a model is factored).

A weight ``W`` (m x n) at rank ``r`` becomes ``U = U_r sqrt(S_r)`` (m x r) and ``V = sqrt(S_r) V_r^T``
(r x n), the truncated SVD split evenly, so ``x W^T = (x V^T) U^T`` costs ``r (m + n)`` parameters
and multiply-accumulates per row instead of ``m n``.

:class:`LowRankLinear` replaces an ``nn.Linear``; :class:`LowRankLSTM` replaces an ``nn.LSTM``
whose gate matrices (``weight_ih_l*``, ``weight_hh_l*``) may each be factored or kept dense. The
LSTM is written out step by step (the input projection of all steps at once, then the recurrence)
because PyTorch's fused LSTM takes dense gate matrices only; with every matrix dense it computes
what ``nn.LSTM`` computes (tested).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - the core install has no torch
    from coexplore.errors import MissingDependencyError

    raise MissingDependencyError("coexplore: low-rank models need torch; install it with pip install "
                                 "'coexplore[nas]'") from None

__all__ = ["DigitsLstm", "LowRankLSTM", "LowRankLinear", "factored_copy", "lstm_matrix_names", "svd_factors"]


def svd_factors(weight: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """``(U, V)`` float32 with ``U @ V`` the best rank-``rank`` approximation of ``weight`` (m, n).

    The SVD is taken in float64; ``U`` is (m, rank) and ``V`` (rank, n), each carrying ``sqrt(S)``.
    """
    u, s, vt = np.linalg.svd(np.asarray(weight, dtype=np.float64), full_matrices=False)
    root = np.sqrt(s[:rank])
    return (u[:, :rank] * root).astype(np.float32), (root[:, None] * vt[:rank]).astype(np.float32)


class LowRankLinear(nn.Module):
    """``nn.Linear`` as two: ``first`` (n -> r, no bias) then ``second`` (r -> m, the original bias)."""

    def __init__(self, linear: nn.Linear, rank: int, factors: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features, self.rank = linear.in_features, linear.out_features, rank
        u, v = factors if factors is not None else svd_factors(linear.weight.detach().cpu().numpy(), rank)
        self.first = nn.Linear(self.in_features, rank, bias=False)
        self.second = nn.Linear(rank, self.out_features, bias=linear.bias is not None)
        with torch.no_grad():
            self.first.weight.copy_(torch.from_numpy(v))
            self.second.weight.copy_(torch.from_numpy(u))
            if linear.bias is not None:
                self.second.bias.copy_(linear.bias.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


def lstm_matrix_names(lstm: nn.LSTM) -> list[str]:
    """The gate matrices of ``lstm`` in its own parameter names, layer by layer, forward direction first."""
    suffixes = ["", "_reverse"] if lstm.bidirectional else [""]
    return [f"weight_{kind}_l{k}{s}" for k in range(lstm.num_layers) for s in suffixes for kind in ("ih", "hh")]


class LowRankLSTM(nn.Module):
    """An ``nn.LSTM`` (no projection) whose gate matrices named in ``ranks`` are factored, the others dense.

    A dense matrix keeps its name (``weight_hh_l0``); a factored one becomes ``weight_hh_l0_u`` (4H x r)
    and ``weight_hh_l0_v`` (r x n). Biases are kept. Inputs and outputs are ``nn.LSTM``'s (batched or
    not, ``batch_first`` or not, optional ``(h0, c0)``); packed sequences are not supported.
    """

    def __init__(self, lstm: nn.LSTM, ranks: dict[str, int],
                 factors: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = lstm.input_size, lstm.hidden_size, lstm.num_layers
        self.bias, self.batch_first, self.dropout = lstm.bias, lstm.batch_first, float(lstm.dropout)
        self.bidirectional = lstm.bidirectional
        self.ranks = dict(ranks)
        factors = factors or {}
        for name in lstm_matrix_names(lstm):
            w = getattr(lstm, name).detach()
            if name in ranks:
                u, v = factors.get(name) or svd_factors(w.cpu().numpy(), ranks[name])
                self.register_parameter(f"{name}_u", nn.Parameter(torch.from_numpy(u.copy())))
                self.register_parameter(f"{name}_v", nn.Parameter(torch.from_numpy(v.copy())))
            else:
                self.register_parameter(name, nn.Parameter(w.clone()))
            if lstm.bias:
                b = name.replace("weight", "bias")
                self.register_parameter(b, nn.Parameter(getattr(lstm, b).detach().clone()))

    def _apply_matrix(self, x: torch.Tensor, name: str, add: torch.Tensor | None = None) -> torch.Tensor:
        """``x W^T`` (+ ``add``) with ``W`` dense or as ``U V``; x is 2-D when ``add`` is given."""
        if name in self.ranks:
            x, w = F.linear(x, getattr(self, f"{name}_v")), getattr(self, f"{name}_u")
        else:
            w = getattr(self, name)
        return F.linear(x, w) if add is None else torch.addmm(add, x, w.t())

    def _direction(self, seq: torch.Tensor, k: int, suffix: str, h: torch.Tensor,
                   c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One layer, one direction over ``seq`` (T, B, I): outputs (T, B, H), last h and c."""
        ih, hh = f"weight_ih_l{k}{suffix}", f"weight_hh_l{k}{suffix}"
        xp = self._apply_matrix(seq, ih)
        if self.bias:
            xp = xp + getattr(self, f"bias_ih_l{k}{suffix}") + getattr(self, f"bias_hh_l{k}{suffix}")
        outs = []
        hidden = self.hidden_size
        for t in range(seq.shape[0]):
            gates = self._apply_matrix(h, hh, xp[t])
            act = torch.sigmoid(gates)  # the g quarter is recomputed with tanh: one call beats three slices
            i, f, o = act[:, :hidden], act[:, hidden:2 * hidden], act[:, 3 * hidden:]
            c = torch.addcmul(f * c, i, torch.tanh(gates[:, 2 * hidden:3 * hidden]))
            h = o * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs), h, c

    def forward(self, x: Any, hx: tuple[torch.Tensor, torch.Tensor] | None = None) -> Any:
        if not isinstance(x, torch.Tensor):
            raise TypeError("LowRankLSTM: packed sequences are not supported; pass a padded tensor")
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1 if not self.batch_first else 0)
            if hx is not None:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        seq = x.transpose(0, 1) if self.batch_first else x  # (T, B, I)
        dirs = ["", "_reverse"] if self.bidirectional else [""]
        batch, hidden = seq.shape[1], self.hidden_size
        if hx is None:
            zeros = seq.new_zeros(self.num_layers * len(dirs), batch, hidden)
            hx = (zeros, zeros)
        h_n, c_n = [], []
        for k in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(dirs):
                j = k * len(dirs) + d
                inp = seq if d == 0 else seq.flip(0)
                out, h, c = self._direction(inp, k, suffix, hx[0][j], hx[1][j])
                outs.append(out if d == 0 else out.flip(0))
                h_n.append(h)
                c_n.append(c)
            seq = torch.cat(outs, dim=2) if len(outs) > 1 else outs[0]
            if self.dropout and self.training and k + 1 < self.num_layers:
                seq = F.dropout(seq, self.dropout, training=True)
        out = seq.transpose(0, 1) if self.batch_first else seq
        h_t, c_t = torch.stack(h_n), torch.stack(c_n)
        if unbatched:
            out, h_t, c_t = out.squeeze(1 if not self.batch_first else 0), h_t.squeeze(1), c_t.squeeze(1)
        return out, (h_t, c_t)


def _set_module(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, attr, module)


def factored_copy(model: nn.Module, linear: dict[str, int], lstm: dict[str, dict[str, int]],
                  factors: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> nn.Module:
    """A deep copy of ``model`` with the linear layers of ``linear`` (module name -> rank) and the LSTMs of
    ``lstm`` (module name -> {matrix name -> rank}) factored; ``factors`` (full matrix name -> (U, V)) reuses
    SVDs already taken. A model that is itself a Linear or LSTM comes back replaced."""
    factors = factors or {}
    out: Any = copy.deepcopy(model)
    if "" in linear:
        return LowRankLinear(out, linear[""], factors.get(""))
    if "" in lstm:
        return LowRankLSTM(out, lstm[""], {k: factors[k] for k in lstm[""] if k in factors})
    for name, rank in linear.items():
        layer: Any = out.get_submodule(name)
        _set_module(out, name, LowRankLinear(layer, rank, factors.get(name)))
    for name, mats in lstm.items():
        own = {m: factors[f"{name}.{m}"] for m in mats if f"{name}.{m}" in factors}
        rnn: Any = out.get_submodule(name)
        _set_module(out, name, LowRankLSTM(rnn, mats, own))
    return out


class DigitsLstm(nn.Module):
    """The demonstration model: an 8x8 digit read row by row (8 steps of 8 pixels) by an LSTM, then 2 FC layers.

    Input (n, 1, 8, 8) as :func:`coexplore.nas.train.digits_split` gives it; the last step's hidden state
    feeds ``fc1`` (hidden -> ``fc_width``, ReLU) and ``fc2`` (-> 10 classes).
    """

    def __init__(self, *, hidden: int = 256, fc_width: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, hidden, batch_first=True)
        self.fc1 = nn.Linear(hidden, fc_width)
        self.fc2 = nn.Linear(fc_width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.reshape(x.shape[0], 8, 8))
        return self.fc2(torch.relu(self.fc1(out[:, -1])))
