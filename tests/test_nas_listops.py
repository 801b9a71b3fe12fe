"""Synthetic ListOps: labels equal a hand evaluation, generation is seeded and inside its bounds."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.nas.listops import (
    LISTOPS_CLASSES,
    VOCAB,
    ListOpsConfig,
    decode,
    evaluate_tokens,
    generate_listops,
    tokenize,
)

# (expression, value worked out by hand)
HAND = [
    ("[MAX 2 9 [MIN 4 7 ] 0 ]", 9),            # max(2, 9, 4, 0)
    ("[MED 3 1 4 1 ]", 2),                     # sorted 1 1 3 4: (1 + 3) // 2
    ("[MED 5 0 8 ]", 5),                       # odd count: the middle value
    ("[SM 8 7 [MAX 5 2 ] ]", 0),               # (8 + 7 + 5) % 10
    ("[MIN 9 [SM 3 4 ] [MED 6 2 8 ] ]", 6),    # min(9, 7, 6)
    ("[SM [SM 9 9 ] [MIN 3 [MAX 1 4 ] ] 6 ]", 7),  # SM 9 9 = 8, MIN(3, 4) = 3: (8 + 3 + 6) % 10
]


@pytest.mark.parametrize(("text", "value"), HAND)
def test_values_equal_hand_evaluation(text: str, value: int) -> None:
    assert evaluate_tokens(tokenize(text)) == value == _oracle(tokenize(text))


def _oracle(tokens: list[str]) -> int:
    """An independent recursive evaluation (LRA's rules: MED is int(np.median), SM is the sum mod 10)."""
    ops = {"[MIN": min, "[MAX": max, "[MED": lambda v: int(np.median(v)), "[SM": lambda v: sum(v) % 10}

    def value(pos: int) -> tuple[int, int]:
        op = tokens[pos]
        if op not in ops:
            return int(op), pos + 1
        args, pos = [], pos + 1
        while tokens[pos] != "]":
            v, pos = value(pos)
            args.append(v)
        return int(ops[op](args)), pos + 1

    result, end = value(0)
    assert end == len(tokens)
    return result


def _depth(tokens: list[str]) -> int:
    depth = deepest = 0
    for t in tokens:
        depth += t.startswith("[")
        depth -= t == "]"
        deepest = max(deepest, depth)
    return deepest


def test_generation_is_seeded_bounded_and_labelled_by_its_expression() -> None:
    cfg = ListOpsConfig(min_length=10, max_length=31, max_depth=3, max_args=4, branch_prob=0.3)
    a = generate_listops(300, seed=5, config=cfg)
    b = generate_listops(300, seed=5, config=cfg)
    c = generate_listops(300, seed=6, config=cfg)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.tokens, c.tokens)
    assert a.tokens.shape == (300, 32) and a.tokens.dtype == np.int64
    assert np.all(a.tokens[:, 0] == VOCAB.index("<cls>"))
    for row, label, length in zip(a.tokens, a.labels, a.lengths, strict=True):
        expr = decode(row)
        assert evaluate_tokens(expr) == label == _oracle(expr)
        assert 10 <= len(expr) <= 31 and len(expr) == length - 1 and _depth(expr) <= 3
        assert np.all(row[length:] == 0) and np.all(row[:length] != 0)
    assert set(np.unique(a.labels)) == set(range(LISTOPS_CLASSES))
    assert max(_depth(decode(r)) for r in a.tokens) == 3  # nesting is really used


def test_bad_input_names_the_field() -> None:
    with pytest.raises(SpecError, match=r"max_length: must be >= min_length \(20\), got 10"):
        ListOpsConfig(min_length=20, max_length=10)
    with pytest.raises(SpecError, match="max_depth: must be an integer >= 1, got 0"):
        ListOpsConfig(max_depth=0)
    with pytest.raises(SpecError, match=r"seq_len: must be an integer >= max_length \+ 1 = 64, got 0"):
        generate_listops(4, seed=0, seq_len=0)
    with pytest.raises(SpecError, match=r"tokens\[1\]: must be a digit"):
        evaluate_tokens(["[MAX", "12", "]"])
    with pytest.raises(SpecError, match="not closed"):
        evaluate_tokens(tokenize("[MAX 1 [MIN 2 3 ]"))
