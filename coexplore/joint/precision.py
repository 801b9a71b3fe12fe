"""Precision as one more decision of the NB201 joint problem: the choices and what each costs in accuracy.

A codesign problem with ``precisions`` (e.g. ``[W8A8, W8A4, W4A4]``) prices a pair at a
precision from a cost table of the NB201 layer shapes quantized to it (weights at W bits,
activations in and out at A bits, :func:`~coexplore.hwsearch.precision.quantize`), so the
memories move and store fewer bits and the MACs get cheaper as the technology tables scale.

Accuracy: no quantized NAS-Bench-201 evaluator exists offline (NB201 gives full-precision
accuracies only), so the accuracy of a network at a precision is its NB201 accuracy minus the
user-given ``accuracy_drop`` of that precision (top-1 points, measured elsewhere; 0 when not
given). :data:`ACCURACY_NOTE` says so wherever such accuracies are shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from coexplore.errors import SpecError
from coexplore.hwsearch.precision import Precision, parse_precisions

__all__ = ["ACCURACY_NOTE", "PRECISION_STRATEGIES", "precision_records", "problem_precisions", "refuse_strategy"]

#: Appended to the accuracy source of a problem with precisions (JSON ``accuracy_source``, reports, figures).
ACCURACY_NOTE = ("minus the user-given accuracy_drop of each precision (no quantized NAS-Bench-201 evaluator "
                 "offline)")

#: The joint strategies that search precision: they work on the problem's pairs as they are (its encoding,
#: table columns and samplers). The others read the design grid's axes directly and are refused.
PRECISION_STRATEGIES = ("codesign-nas", "random", "sequential", "hw-aware-nas")


def refuse_strategy(name: str, precisions: Any) -> str | None:
    """Why joint strategy ``name`` cannot run a problem with ``precisions`` (None: it can, or none given)."""
    if not precisions or name in PRECISION_STRATEGIES:
        return None
    return (f"strategy.name: {name} does not search precision (problem.precisions); use "
            f"{', '.join(PRECISION_STRATEGIES)} or a generic strategy (coexplore list strategies), got {name!r}")


def problem_precisions(precisions: Any, accuracy_drop: Any = None, *,
                       path: str = "problem") -> tuple[Precision, ...]:
    """The precision choices of a problem, each with its accuracy drop; every mistake named at once.

    Args:
        precisions: A list of ``WxA`` / ``WwAa`` strings (``[W8A8, 4x4:1.5]``: a drop may follow a
            colon), a comma-separated string of them, or :class:`Precision` objects.
        accuracy_drop: ``{precision: drop}`` (top-1 points lost, >= 0); a precision listed without
            a drop loses nothing (0).
        path: Field path of the two keys in error messages.

    Raises:
        SpecError: an unknown precision string, a precision listed twice, a drop for a precision
            not listed or given twice, a negative or non-numeric drop.
    """
    problems: list[str] = []
    items = [x.strip() for x in precisions.split(",") if x.strip()] if isinstance(precisions, str) else precisions
    if not isinstance(items, (list, tuple)) or not items:
        raise SpecError(f"{path}.precisions: must be a non-empty list like [W8A8, W4A4], got {precisions!r}")
    chosen: list[Precision] = []
    for i, item in enumerate(items):
        if isinstance(item, Precision):
            chosen.append(item)
        elif not isinstance(item, str) or "," in item:
            problems.append(f"{path}.precisions[{i}]: must be one precision like W8A8, 8x4 or W4A4:1.5, got {item!r}")
        else:
            try:
                chosen += parse_precisions(item, field=f"{path}.precisions[{i}]")
            except SpecError as e:
                problems += e.problems
    labels = [p.label for p in chosen]
    problems += [f"{path}.precisions: {lab} is listed {labels.count(lab)} times" for lab in sorted(set(labels))
                 if labels.count(lab) > 1]
    drops: dict[str, float] = {}
    for p in chosen:
        if p.accuracy_drop is not None:
            drops[p.label] = p.accuracy_drop
    if accuracy_drop is not None:
        if not isinstance(accuracy_drop, Mapping):
            problems.append(f"{path}.accuracy_drop: must be a mapping precision -> top-1 points lost, e.g. "
                            f"{{W4A4: 1.5}}, got {accuracy_drop!r}")
        else:
            for key, value in accuracy_drop.items():
                try:
                    (p,) = parse_precisions(str(key), field=f"{path}.accuracy_drop")
                except (SpecError, ValueError):
                    problems.append(f"{path}.accuracy_drop.{key}: not a precision like W4A4, got {key!r}")
                    continue
                if p.label not in labels:
                    problems.append(f"{path}.accuracy_drop.{key}: {p.label} is not among the listed precisions "
                                    f"({', '.join(labels) or 'none'})")
                elif p.label in drops:
                    problems.append(f"{path}.accuracy_drop.{key}: {p.label}'s drop is already given in "
                                    f"{path}.precisions; give it once")
                else:
                    drops[p.label] = value
    for label, value in drops.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            problems.append(f"{path}.accuracy_drop.{label}: must be a number >= 0 (top-1 points lost), got {value!r}")
    if problems:
        raise SpecError(problems)
    return tuple(Precision(weight_bits=p.weight_bits, input_bits=p.input_bits,
                           accuracy_drop=float(drops.get(p.label, 0.0))) for p in chosen)


def precision_records(precisions: Sequence[Precision]) -> list[dict[str, Any]]:
    """The JSON of the choices: label, bits and the accuracy drop each was given."""
    return [{"precision": p.label, "weight_bits": p.weight_bits, "input_bits": p.input_bits,
             "accuracy_drop": p.accuracy_drop} for p in precisions]
