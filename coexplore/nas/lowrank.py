"""Low-rank (SVD) factorization of the linear and LSTM gate matrices of any trained PyTorch model.

ShrinkML (seed 002; Dudziak et al., Interspeech 2019) compresses a trained speech model by
replacing each weight matrix ``W`` (m x n) by its truncated SVD ``U_r S_r V_r^T``: two matrices
with ``r (m + n)`` parameters instead of ``m n``, and as many multiply-accumulates (MACs) per row
the layer multiplies. The ranks, one per matrix, are what a search chooses
(:mod:`coexplore.nas.lowrank_search`); this module names the matrices a model has, factors them
at given ranks, and counts the factored model's parameters and MACs without building it.

Factorable matrices, by name: an ``nn.Linear`` by its module name (``fc1``), an ``nn.LSTM``'s gate
matrices by module and parameter name (``lstm.weight_ih_l0``, ``lstm.weight_hh_l0``, ``..._reverse``
when bidirectional). Not factorable: the linear layers inside ``nn.MultiheadAttention`` (it reads
their weights directly), LSTMs with ``proj_size``, GRUs and convolutions. A matrix not named in
``ranks`` stays dense.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.optional import require

__all__ = ["FactorableMatrix", "SvdCache", "check_ranks", "count_macs", "count_parameters", "factorable_matrices",
           "factorize", "matrix_rows"]


@dataclass(frozen=True, slots=True)
class FactorableMatrix:
    """One weight matrix that can be factored: ``rows`` x ``cols`` (out x in) of module ``module``.

    Attributes:
        name: ``ranks`` key: the module name for a linear layer, ``module.parameter`` for an LSTM matrix.
        module: Name of the module that holds it (``nn.Linear`` or ``nn.LSTM``).
        kind: ``"linear"`` or ``"lstm"``.
        rows, cols: Output and input size.
    """

    name: str
    module: str
    kind: str
    rows: int
    cols: int

    @property
    def max_rank(self) -> int:
        return min(self.rows, self.cols)

    @property
    def parameter(self) -> str:
        """The parameter's own name in its module (``weight`` for a linear layer)."""
        return "weight" if self.kind == "linear" else self.name.rpartition(".")[2]

    def size(self, rank: int | None) -> int:
        """Parameters (and MACs per row) of the matrix at ``rank``; ``None``: dense, ``rows * cols``."""
        return self.rows * self.cols if rank is None else rank * (self.rows + self.cols)


def _torch() -> Any:
    require("torch", extra="nas", who="factoring PyTorch models")
    import torch

    return torch


def factorable_matrices(model: Any) -> tuple[FactorableMatrix, ...]:
    """Every matrix of ``model`` (a ``torch.nn.Module``) that :func:`factorize` can factor, in module order.

    Raises:
        SpecError: the model has no ``nn.Linear`` or ``nn.LSTM`` to factor.
    """
    torch = _torch()
    from coexplore.nas._lowrank_torch import lstm_matrix_names

    nn = torch.nn
    if not isinstance(model, nn.Module):
        raise SpecError(f"model: must be a torch.nn.Module, got {type(model).__name__}")
    inside_mha = {f"{n}.{c}" if n else c for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)
                  for c, _ in m.named_modules() if c}
    out: list[FactorableMatrix] = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear) and name not in inside_mha:
            out.append(FactorableMatrix(name, name, "linear", mod.out_features, mod.in_features))
        elif isinstance(mod, nn.LSTM) and not mod.proj_size:
            for p in lstm_matrix_names(mod):
                rows, cols = getattr(mod, p).shape
                out.append(FactorableMatrix(f"{name}.{p}" if name else p, name, "lstm", int(rows), int(cols)))
    if not out:
        raise SpecError(f"model: {type(model).__name__} has no linear layer to factor (no nn.Linear, no nn.LSTM "
                        f"without proj_size)")
    return tuple(out)


def check_ranks(matrices: Sequence[FactorableMatrix], ranks: Mapping[str, int]) -> None:
    """SpecError naming every unknown matrix and every rank outside 1..min(m, n), all at once."""
    by_name = {m.name: m for m in matrices}
    problems = []
    if not isinstance(ranks, Mapping):
        raise SpecError(f"ranks: must map matrix names to ranks, got {type(ranks).__name__}")
    for name, rank in ranks.items():
        m = by_name.get(name)
        if m is None:
            valid = ", ".join(list(by_name)[:12]) + (", ..." if len(by_name) > 12 else "")
            problems.append(f"ranks[{name!r}]: no factorable matrix of that name; valid: {valid}")
        elif isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= m.max_rank:
            problems.append(f"ranks[{name!r}]: must be an integer in 1..{m.max_rank} (min of the {m.rows}x{m.cols} "
                            f"matrix), got {rank!r}")
    if problems:
        raise SpecError(problems)


def _weight(model: Any, m: FactorableMatrix) -> np.ndarray:
    mod = model.get_submodule(m.module) if m.module else model
    return getattr(mod, m.parameter).detach().cpu().numpy()


@dataclass(eq=False)
class SvdCache:
    """The full SVD of each matrix of a model, taken once in float64, truncated to any rank on demand.

    A search factors the same trained model at thousands of rank vectors; each factoring then costs a
    slice, not an SVD.
    """

    model: Any
    _svd: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def factors(self, m: FactorableMatrix, rank: int) -> tuple[np.ndarray, np.ndarray]:
        """``(U, V)`` float32 of ``m`` at ``rank``, ``sqrt(S)`` on each side (as ``svd_factors``)."""
        if m.name not in self._svd:
            self._svd[m.name] = np.linalg.svd(_weight(self.model, m).astype(np.float64), full_matrices=False)
        u, s, vt = self._svd[m.name]
        root = np.sqrt(s[:rank])
        return (u[:, :rank] * root).astype(np.float32), (root[:, None] * vt[:rank]).astype(np.float32)

    def singular_values(self, m: FactorableMatrix) -> np.ndarray:
        self.factors(m, 1)
        return self._svd[m.name][1].copy()


def factorize(model: Any, ranks: Mapping[str, int], *, cache: SvdCache | None = None) -> Any:
    """A copy of trained ``model`` with each matrix of ``ranks`` (name -> rank) replaced by its rank-r SVD.

    ``model`` is left as it is. Linear layers become :class:`~coexplore.nas._lowrank_torch.LowRankLinear`
    (two linear layers), LSTMs with a factored matrix :class:`~coexplore.nas._lowrank_torch.LowRankLSTM`.
    ``cache``: an :class:`SvdCache` of this model, to reuse its SVDs.

    Raises:
        SpecError: no factorable matrix, an unknown name, or a rank outside 1..min(m, n); each named.
    """
    from coexplore.nas._lowrank_torch import factored_copy

    matrices = factorable_matrices(model)
    check_ranks(matrices, ranks)
    if cache is not None and cache.model is not model:
        raise SpecError("cache: an SvdCache of another model; build it with SvdCache(model)")
    cache = cache or SvdCache(model)
    linear: dict[str, int] = {}
    lstm: dict[str, dict[str, int]] = {}
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m in matrices:
        if m.name not in ranks:
            continue
        rank = int(ranks[m.name])
        if m.kind == "linear":
            linear[m.module] = rank
            factors[m.module] = cache.factors(m, rank)
        else:
            lstm.setdefault(m.module, {})[m.parameter] = rank
            factors[f"{m.module}.{m.parameter}" if m.module else m.parameter] = cache.factors(m, rank)
    return factored_copy(model, linear, lstm, factors)


def count_parameters(model: Any, ranks: Mapping[str, int]) -> int:
    """Parameters of ``factorize(model, ranks)`` without building it: the model's own count, each factored
    matrix's ``m n`` replaced by ``r (m + n)`` (biases and every other parameter unchanged)."""
    matrices = factorable_matrices(model)
    check_ranks(matrices, ranks)
    total = sum(int(p.numel()) for p in model.parameters())
    return total + sum(m.size(int(ranks[m.name])) - m.size(None) for m in matrices if m.name in ranks)


def matrix_rows(model: Any, input_shape: Sequence[int]) -> dict[str, int]:
    """Rows each factorable matrix multiplies in one forward pass on an input of ``input_shape``, by name.

    A linear layer multiplies every row of its input (all leading dimensions); an LSTM's input and
    recurrent matrices multiply one row per step per sequence. Found by running ``model`` once (eval
    mode, no gradient) with forward hooks on a zero input.
    """
    torch = _torch()
    matrices = factorable_matrices(model)
    rows: dict[str, int] = {}
    hooks = []

    def hook(mod: Any, args: tuple, _out: Any, module: str = "") -> None:
        x = args[0]
        if not isinstance(x, torch.Tensor):
            raise SpecError(f"model: module {module!r} got a {type(x).__name__}; counting needs tensors "
                            "(no packed sequences)")
        if isinstance(mod, torch.nn.LSTM):
            steps = x.shape[1 if mod.batch_first and x.dim() == 3 else 0] if x.dim() == 3 else x.shape[0]
            batch = x.shape[0 if mod.batch_first else 1] if x.dim() == 3 else 1
            rows[module] = rows.get(module, 0) + int(steps) * int(batch)
        else:
            rows[module] = rows.get(module, 0) + int(x.numel() // x.shape[-1])

    for name in dict.fromkeys(m.module for m in matrices):
        mod = model.get_submodule(name) if name else model
        hooks.append(mod.register_forward_hook(lambda mod, a, o, name=name: hook(mod, a, o, name)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(tuple(input_shape)))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return {m.name: rows.get(m.module, 0) for m in matrices}


def count_macs(model: Any, ranks: Mapping[str, int], input_shape: Sequence[int],
               rows: Mapping[str, int] | None = None) -> int:
    """Multiply-accumulates of the factorable matrices of ``factorize(model, ranks)`` on one input of
    ``input_shape``: ``rows x r (m + n)`` per factored matrix, ``rows x m n`` per dense one. ``rows``: a
    :func:`matrix_rows` result to reuse. Biases, activations and other layers are not counted."""
    matrices = factorable_matrices(model)
    check_ranks(matrices, ranks)
    rows = matrix_rows(model, input_shape) if rows is None else rows
    return sum(rows[m.name] * m.size(int(ranks[m.name]) if m.name in ranks else None) for m in matrices)
