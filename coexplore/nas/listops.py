"""Synthetic ListOps (Nangia & Bowman 2018; LRA, Tay et al. 2020), generated here, offline, from a seed.

A ListOps sequence is a nested prefix expression over the digits 0-9 with four operators,
each written as an opening token, its arguments and a closing ``]``::

    [MAX 2 9 [MIN 4 7 ] 0 ]        -> 9

``[MIN`` and ``[MAX`` take the minimum and maximum, ``[MED`` the median (the mean of the two
middle values rounded down when the count is even, as LRA's ``int(np.median(x))``), ``[SM``
the sum modulo 10. The label is the value, 0-9: a 10-class task. LRA's strings also carry
parentheses that carry no information; they are left out here.

LRA uses sequences of 500-2,000 tokens and depth 10, which a laptop CPU cannot train on in
minutes; :class:`ListOpsConfig` takes the length range, the depth and the argument count as
parameters so a small, learnable version runs on one core. Trees are grown top-down (each
argument is a subtree with probability ``branch_prob`` while below ``max_depth``) and kept only
if their token count falls inside ``[min_length, max_length]``, so the length distribution is
the generator's within those bounds. Everything follows one ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coexplore.errors import SpecError

__all__ = [
    "CLS",
    "LISTOPS_CLASSES",
    "OPERATORS",
    "PAD",
    "VOCAB",
    "ListOpsConfig",
    "ListOpsData",
    "decode",
    "evaluate_tokens",
    "generate_listops",
    "sample_expression",
    "tokenize",
]

#: Operators and what they compute over a list of digit values.
OPERATORS = ("[MIN", "[MAX", "[MED", "[SM")
PAD, CLS, CLOSE = "<pad>", "<cls>", "]"
#: Token vocabulary; a token's id is its index (``<pad>`` is 0).
VOCAB: tuple[str, ...] = (PAD, CLS, *[str(d) for d in range(10)], *OPERATORS, CLOSE)
_ID = {t: i for i, t in enumerate(VOCAB)}
LISTOPS_CLASSES = 10


def _apply(op: str, values: Sequence[int]) -> int:
    if op == "[MIN":
        return min(values)
    if op == "[MAX":
        return max(values)
    if op == "[SM":
        return sum(values) % 10
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2


def evaluate_tokens(tokens: Sequence[str]) -> int:
    """The value (0-9) of a ListOps expression given as tokens; SpecError if it is not one well-formed expression."""
    stack: list[tuple[str, list[int]]] = []
    result: int | None = None
    for pos, tok in enumerate(tokens):
        if result is not None:
            raise SpecError(f"tokens[{pos}]: the expression ended before this token, got {tok!r}")
        if tok in OPERATORS:
            stack.append((tok, []))
        elif tok == CLOSE:
            if not stack or not stack[-1][1]:
                raise SpecError(f"tokens[{pos}]: ']' must close an operator with arguments, got none")
            op, args = stack.pop()
            value = _apply(op, args)
            if stack:
                stack[-1][1].append(value)
            else:
                result = value
        elif tok.isdigit() and len(tok) == 1:
            if not stack:
                if len(tokens) == 1:
                    return int(tok)
                raise SpecError(f"tokens[{pos}]: a digit outside any operator, got {tok!r}")
            stack[-1][1].append(int(tok))
        else:
            raise SpecError(f"tokens[{pos}]: must be a digit, one of {', '.join(OPERATORS)} or ']', got {tok!r}")
    if result is None:
        raise SpecError(f"tokens: {len(stack)} operator(s) not closed")
    return result


def tokenize(text: str) -> list[str]:
    """Whitespace-separated tokens of a ListOps string (``"[MAX 2 [MIN 4 7 ] ]"``)."""
    return text.split()


@dataclass(frozen=True, slots=True, kw_only=True)
class ListOpsConfig:
    """How sequences are generated.

    Attributes:
        min_length, max_length: Token count of an expression (without ``<cls>`` and padding).
        max_depth: Deepest operator nesting (1: one operator over digits).
        max_args: Most arguments of one operator (the count is uniform in 2..max_args).
        branch_prob: Probability that an argument is a subtree rather than a digit (below ``max_depth``).
    """

    min_length: int = 16
    max_length: int = 63
    max_depth: int = 4
    max_args: int = 5
    branch_prob: float = 0.25

    def __post_init__(self) -> None:
        problems = [f"ListOpsConfig.{n}: must be an integer >= {lo}, got {v!r}" for n, v, lo in
                    (("min_length", self.min_length, 3), ("max_length", self.max_length, 3),
                     ("max_depth", self.max_depth, 1), ("max_args", self.max_args, 2))
                    if isinstance(v, bool) or not isinstance(v, int) or v < lo]
        if not problems and self.max_length < self.min_length:
            problems.append(f"ListOpsConfig.max_length: must be >= min_length ({self.min_length}), "
                            f"got {self.max_length}")
        if not 0.0 <= self.branch_prob < 1.0:
            problems.append(f"ListOpsConfig.branch_prob: must be in [0, 1), got {self.branch_prob!r}")
        if problems:
            raise SpecError(problems)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ListOpsData:
    """Token ids int64 (n, seq_len) starting with ``<cls>``, padded with 0; labels int64 (n,); lengths int64 (n,)."""

    tokens: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def _tree(rng: np.random.Generator, cfg: ListOpsConfig, depth: int, out: list[str]) -> None:
    out.append(OPERATORS[int(rng.integers(len(OPERATORS)))])
    for _ in range(int(rng.integers(2, cfg.max_args + 1))):
        if depth < cfg.max_depth and rng.random() < cfg.branch_prob:
            _tree(rng, cfg, depth + 1, out)
        else:
            out.append(str(int(rng.integers(10))))
    out.append(CLOSE)


def sample_expression(rng: np.random.Generator, cfg: ListOpsConfig, *, max_tries: int = 10_000) -> list[str]:
    """One expression whose length is inside the config's bounds (rejection sampling)."""
    for _ in range(max_tries):
        out: list[str] = []
        _tree(rng, cfg, 1, out)
        if cfg.min_length <= len(out) <= cfg.max_length:
            return out
    raise SpecError(f"ListOpsConfig: no expression of {cfg.min_length}-{cfg.max_length} tokens in {max_tries} "
                    f"draws with max_depth={cfg.max_depth}, max_args={cfg.max_args}, branch_prob={cfg.branch_prob}")


def generate_listops(n: int, *, seed: int, config: ListOpsConfig | None = None,
                     seq_len: int | None = None) -> ListOpsData:
    """``n`` expressions drawn with ``seed``, encoded as ``<cls>`` + tokens, padded to ``seq_len``.

    ``seq_len`` defaults to ``config.max_length + 1``; it must hold the longest expression and ``<cls>``.
    """
    cfg = config or ListOpsConfig()
    length = cfg.max_length + 1 if seq_len is None else seq_len
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(f"n: must be an integer >= 1, got {n!r}")
    if isinstance(length, bool) or not isinstance(length, int) or length < cfg.max_length + 1:
        raise SpecError(f"seq_len: must be an integer >= max_length + 1 = {cfg.max_length + 1}, got {length!r}")
    rng = np.random.default_rng(seed)
    tokens = np.zeros((n, length), dtype=np.int64)
    labels = np.empty(n, dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    for i in range(n):
        expr = sample_expression(rng, cfg)
        ids = [_ID[CLS], *(_ID[t] for t in expr)]
        tokens[i, :len(ids)] = ids
        labels[i] = evaluate_tokens(expr)
        lengths[i] = len(ids)
    return ListOpsData(tokens=tokens, labels=labels, lengths=lengths)


def decode(ids: Sequence[int]) -> list[str]:
    """Tokens of an encoded row, without ``<cls>`` and padding."""
    return [VOCAB[i] for i in ids if i not in (_ID[PAD], _ID[CLS])]
