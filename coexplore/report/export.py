"""CSV and JSON exports of :class:`~coexplore.report.data.ReportData` (no plotting needed).

CSV: one row per trial, in trial order, with the columns ``number, batch, state``, one
per objective, one per scalar parameter, then ``on_front, reason, seconds``. A parameter
that is a mapping of scalars (e.g. an accelerator's ``size_words``) gives one column per
key (``size_words.glb``); a parameter named like another column is prefixed
(``params.reason``); lists (the raw vector ``x``, the array shape) are left out, the
JSON has them. Non-finite values are empty cells.

JSON: the study (name, state, kind, config, objectives, directions, counts), every trial
(as ``study show`` gives it), the front, the convergence curve and the detailed designs
with their accelerator (coexplore's accelerator format) and per-layer, per-level energy.
Non-finite numbers are ``null``.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from coexplore.report.data import ReportData
from coexplore.report.designs import DesignReport
from coexplore.search.trial import Trial

__all__ = ["report_dict", "scalar_params", "trials_csv"]

_SCALARS = (str, int, float, bool)


def scalar_params(params: dict[str, Any]) -> dict[str, Any]:
    """The scalar entries of ``params``, mappings flattened (at any depth) to ``key.subkey``."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if v is None or isinstance(v, _SCALARS):
            out[k] = v
        elif isinstance(v, dict):
            out.update({f"{k}.{sk}": w for sk, w in scalar_params(v).items()})
    return out


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _cell(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return v


def trials_csv(data: ReportData) -> str:
    """The CSV text (header + one row per trial)."""
    flat = [scalar_params(t.params) for t in data.trials]
    keys: dict[str, None] = {}
    for f in flat:
        keys.update(dict.fromkeys(f))
    reserved = {"number", "batch", "state", "on_front", "reason", "seconds", *data.study.objectives}
    param_cols = list(keys)
    header = [f"params.{k}" if k in reserved else k for k in param_cols]  # a param named like a column
    front = set(data.front)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["number", "batch", "state", *data.study.objectives, *header, "on_front", "reason", "seconds"])
    for t, f in zip(data.trials, flat):
        values = list(t.values) + [math.inf] * (len(data.study.objectives) - len(t.values))
        w.writerow([t.number, t.batch, t.state.value, *(_cell(v) for v in values),
                    *(_cell(f.get(k)) for k in param_cols), t.number in front, t.reason, f"{t.seconds:.6g}"])
    return buf.getvalue()


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return _num(x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _trial(t: Trial) -> dict[str, Any]:
    return {"number": t.number, "batch": t.batch, "state": t.state.value, "params": t.params,
            "values": list(t.values), "reason": t.reason, "seconds": t.seconds}


def _design(d: DesignReport) -> dict[str, Any]:
    from coexplore.spec.io import accelerator_to_dict

    return {
        "label": d.label, "trial": d.trial, "params": d.params, "values": list(d.values), "note": d.note,
        "accelerator": accelerator_to_dict(d.accelerator) if d.accelerator is not None else None,
        "networks": [{
            "network": n.network, "mapper": n.mapper, "objective": n.objective, "columns": list(n.columns),
            "energy_pj": n.energy_pj, "latency_cycles": n.latency_cycles,
            "layers": [{"name": x.name, "shape": x.shape, "macs": x.macs, "latency_cycles": x.latency_cycles,
                        "utilization": x.utilization, "energy_pj": x.total_pj,
                        "energy_pj_by_level": dict(zip(n.columns, x.energy_pj))} for x in n.layers],
        } for n in d.networks],
    }


def report_dict(data: ReportData) -> dict[str, Any]:
    """Everything of the report as plain JSON-ready data (non-finite numbers as ``None``)."""
    by_number = {t.number: t for t in data.trials}
    conv = data.convergence
    return _clean({
        "name": data.study.name, "state": data.study.state, "kind": data.kind, "config": data.study.config,
        "objectives": list(data.study.objectives), "directions": list(data.study.directions),
        "created": data.study.created, "updated": data.study.updated, "counts": data.counts,
        "trials": [_trial(t) for t in data.trials],
        "front": [{"number": n, "params": by_number[n].params, "values": list(by_number[n].values)}
                  for n in data.front],
        "best": list(data.best),
        "convergence": {"numbers": list(conv.numbers), "best": list(conv.best),
                        "hypervolume": None if conv.hypervolume is None else list(conv.hypervolume),
                        "ideal": conv.ideal, "reference": conv.reference},
        "best_designs": [_design(d) for d in data.designs],
    })
