"""Precision as a dimension of the accelerator search: what lower bit widths buy in EDP.

NAAS lists the (input / weight) quantization precision among the co-design dimensions,
and a precision-scalable array (Bit Fusion, the ``bitfusion`` preset) turns fewer bits
into more products per cycle, while every memory moves and stores fewer bits. Here the
precision is an outer dimension enumerated exhaustively (a handful of choices): for
each ``WxA`` choice the networks are quantized (weights at W bits, activations in and
out at A bits) and the accelerator is searched for them as usual
(:func:`~coexplore.hwsearch.search.search_accelerator`), so every choice gets its own
best design under the same budget.

Accuracy: coexplore has no quantized accuracy evaluator for these networks, so the
accuracy a precision costs is given by the user (``accuracy_drop``, in the same units as
``max_accuracy_drop``, e.g. top-1 points measured elsewhere); choices above the allowed
drop are reported and not searched. Without a drop nothing is excluded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from coexplore.errors import SpecError
from coexplore.hwsearch.search import HwSearchResult, search_accelerator
from coexplore.spec.workload import Network

__all__ = ["Precision", "PrecisionSearchResult", "parse_precisions", "quantize", "search_precisions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Precision:
    """Weights at ``weight_bits``, activations at ``input_bits``; ``accuracy_drop`` as measured by the user."""

    weight_bits: int
    input_bits: int
    accuracy_drop: float | None = None

    def __post_init__(self) -> None:
        out = [f"precision.{f}: must be an integer from 1 to 64 bits, got {getattr(self, f)!r}"
               for f in ("weight_bits", "input_bits")
               if not isinstance(getattr(self, f), int) or isinstance(getattr(self, f), bool)
               or not 1 <= getattr(self, f) <= 64]
        if self.accuracy_drop is not None and not isinstance(self.accuracy_drop, (int, float)):
            out.append(f"precision.accuracy_drop: must be a number, got {self.accuracy_drop!r}")
        if out:
            raise SpecError(out)

    @property
    def label(self) -> str:
        return f"W{self.weight_bits}A{self.input_bits}"


def parse_precisions(text: str, *, field: str = "--precisions") -> tuple[Precision, ...]:
    """``"8x8,4x4:1.2,W8A4:0.3"`` (``WxA`` or ``WwAa``, then ``[:accuracy drop]``) as precisions; every bad
    item is named, under ``field`` (the option or config key the text came from)."""
    out, problems = [], []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        spec, _, drop = item.partition(":")
        try:
            w, a = _bits(spec)
            out.append(Precision(weight_bits=w, input_bits=a, accuracy_drop=float(drop) if drop else None))
        except SpecError as e:  # a ValueError too: first
            problems += [f"{field} item {item!r}: {p}" for p in e.problems]
        except ValueError:
            problems.append(f"{field} item {item!r}: must be WxA or WwAa[:accuracy_drop] with integer bits, "
                            f"e.g. 8x8, W8A4 or 4x4:1.5")
    if not out and not problems:
        problems.append(f"{field}: must list at least one WxA choice, got {text!r}")
    if problems:
        raise SpecError(problems)
    return tuple(out)


def _bits(spec: str) -> tuple[int, int]:
    """(weight bits, activation bits) of ``8x4``, ``W8A4`` or ``8`` (both 8); ValueError otherwise."""
    s = spec.strip().lower()
    m = re.fullmatch(r"w(\d+)a(\d+)", s)
    if m:
        return int(m.group(1)), int(m.group(2))
    w, sep, a = s.partition("x")
    return int(w), int(a) if sep else int(w)


def quantize(network: Network, precision: Precision) -> Network:
    """``network`` with every layer at ``precision`` (outputs leave at the activation bits)."""
    layers = tuple(replace(layer, weight_bits=precision.weight_bits, input_bits=precision.input_bits,
                           output_bits=precision.input_bits) for layer in network.layers)
    return Network(name=f"{network.name}@{precision.label}", layers=layers)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrecisionSearchResult:
    """Per precision choice: its search result, or why it was not searched; the best overall."""

    choices: tuple[tuple[Precision, HwSearchResult | str], ...]
    seconds: float

    @property
    def searched(self) -> list[tuple[Precision, HwSearchResult]]:
        return [(p, r) for p, r in self.choices if isinstance(r, HwSearchResult)]

    @property
    def best(self) -> tuple[Precision, HwSearchResult]:
        """The lowest-EDP searched choice."""
        return min(self.searched, key=lambda pr: pr[1].edp)

    def to_dict(self) -> dict[str, Any]:
        ref = self.searched[0][1].edp
        rows = []
        for p, r in self.choices:
            row: dict[str, Any] = {"precision": p.label, "weight_bits": p.weight_bits, "input_bits": p.input_bits,
                                   "accuracy_drop": p.accuracy_drop}
            if isinstance(r, HwSearchResult):
                row.update(edp=r.edp, energy_pj=r.energy_pj, latency_cycles=r.latency_cycles, area_mm2=r.area_mm2,
                           baseline_edp=r.baseline_edp, edp_gain_vs_first=ref / r.edp, evaluations=r.evaluations)
            else:
                row["excluded"] = r
            rows.append(row)
        p, r = self.best
        return {"choices": rows, "best": p.label, "best_edp_gain_vs_first": ref / r.edp, "seconds": self.seconds}

    def save(self, path: str | Path) -> Path:
        """Write the best choice's design as accelerator YAML (:meth:`HwSearchResult.save`)."""
        return self.best[1].save(path)

    def to_record(self) -> dict[str, Any]:
        """The hwsearch record (:mod:`coexplore.hwsearch.record`) of the best choice, with ``precision``
        holding every choice (:meth:`to_dict`)."""
        return {**self.best[1].to_record(), "precision": self.to_dict()}


def search_precisions(networks: Sequence[Network], budget_preset: str, precisions: Sequence[Precision], *,
                      max_accuracy_drop: float | None = None, **search: Any) -> PrecisionSearchResult:
    """Search the best accelerator for ``networks`` at each precision (``search`` goes to
    :func:`~coexplore.hwsearch.search.search_accelerator`, the same for every choice)."""
    if not precisions:
        raise SpecError("precisions: must list at least one choice, got none")
    t0 = time.perf_counter()
    choices: list[tuple[Precision, HwSearchResult | str]] = []
    for p in precisions:
        if max_accuracy_drop is not None and p.accuracy_drop is not None and p.accuracy_drop > max_accuracy_drop:
            choices.append((p, f"accuracy drop {p.accuracy_drop} > max_accuracy_drop {max_accuracy_drop}"))
            continue
        choices.append((p, search_accelerator([quantize(n, p) for n in networks], budget_preset, **search)))
    if not any(isinstance(r, HwSearchResult) for _, r in choices):
        raise SpecError(f"max_accuracy_drop: every precision choice exceeds {max_accuracy_drop}")
    return PrecisionSearchResult(choices=tuple(choices), seconds=time.perf_counter() - t0)
