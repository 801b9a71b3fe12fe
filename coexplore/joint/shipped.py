"""Cost tables shipped with the package, so the main recipe's first run does not map for minutes.

Building the ``nb201-eyeriss`` table maps 101,160 (shape, design) pairs, about 6 minutes on 2
cores before a new user sees anything. The package ships that table (the project's own
computed data, ``coexplore/data/costtables``), written from a table the builder made
(``python -m coexplore.joint.shipped nb201-eyeriss``) and stored losslessly, so a study's
numbers and fronts are the builder's bit for bit. :func:`~coexplore.joint.costtable.build_cost_table`
uses it only when its key equals the run's exactly (grid and designs, shapes, mapper settings,
table version, seed); a shipped table of the same budget and shapes that does not match is
not used, and stderr says which part differs. ``COEXPLORE_SHIPPED_TABLES=0`` ignores shipped
tables (the cold build, as before).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import DataError, SpecError
from coexplore.hwsearch.space import Design
from coexplore.joint.costtable import TABLE_MAPPER, CostTable, build_cost_table, key_of, key_parts, nb201_shape_counts
from coexplore.joint.space import DesignGrid, grid_for
from coexplore.spec.workload import Layer

__all__ = ["ENV", "SHIPPED", "SHIPPED_DIR", "find_shipped", "ship", "shipped_enabled", "write_shipped"]

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "costtables"
#: Set to 0 to ignore shipped tables (then a missing cache builds the table, as before they were shipped).
ENV = "COEXPLORE_SHIPPED_TABLES"
#: Shipped table name -> (budget preset of the grid, NB201 dataset of the shapes); the table has every
#: design of the grid, the default mapper of tables and seed 0, as the recipes of that name build it.
SHIPPED: dict[str, tuple[str, str]] = {"nb201-eyeriss": ("eyeriss", "cifar100")}
_FILE_FORMAT = 1
_said: set[tuple[str, str]] = set()  # (file, key) whose mismatch was already said in this process


def shipped_enabled() -> bool:
    """False when ``$COEXPLORE_SHIPPED_TABLES`` is 0 (unset: shipped tables are used)."""
    value = os.environ.get(ENV, "1").strip().lower()
    if value in ("1", "yes", "on", "true"):
        return True
    if value in ("0", "no", "off", "false"):
        return False
    raise SpecError(f"{ENV}: must be 1 (use shipped cost tables) or 0 (ignore them), got {value!r}")


def find_shipped(grid: DesignGrid, designs: Sequence[Design], shapes: Sequence[Layer],
                 parts: dict[str, Any]) -> CostTable | None:
    """The shipped table whose key is exactly that of ``parts`` (:func:`key_parts`), or None.

    A shipped table for the same budget and shapes over a whole grid that does not match is
    not used, and the reason (which key parts differ) is said once on stderr.
    """
    key = key_of(parts)
    for path in sorted(SHIPPED_DIR.glob("*.npz")):
        meta = _meta(path)
        if meta["key"] == key:
            return _load(path, meta, tuple(shapes), tuple(designs))
        stored = meta["parts"]
        if (meta["budget"] == grid.budget.name and stored["shapes"] == parts["shapes"] and len(designs) == len(grid)
                and (path.name, key) not in _said):
            _said.add((path.name, key))
            print(f"coexplore: the shipped cost table {path.name} is not used: {_differences(parts, stored)}; "
                  f"building the table instead ({len(shapes)} shapes x {len(designs)} designs, minutes on a few "
                  f"cores, then cached)", file=sys.stderr)
    return None


def _differences(run: dict[str, Any], shipped: dict[str, Any]) -> str:
    """Which key parts differ, with both values where they are short."""
    out = []
    if run["version"] != shipped["version"]:
        out.append(f"table version {run['version']} here, {shipped['version']} shipped (the cost model changed)")
    if run["grid"] != shipped["grid"]:
        out.append("the grid's template, budget or designs differ from the shipped table's")
    if run["mapper"] != shipped["mapper"]:
        fields = sorted(set(run["mapper"]) | set(shipped["mapper"]))
        diff = [f"{f} {run['mapper'].get(f)!r} here, {shipped['mapper'].get(f)!r} shipped" for f in fields
                if run["mapper"].get(f) != shipped["mapper"].get(f)]
        out.append("mapper settings differ: " + ", ".join(diff))
    for name in ("objective", "seed"):
        if run[name] != shipped[name]:
            out.append(f"{name} {run[name]!r} here, {shipped[name]!r} shipped")
    unknown = sorted(set(run) ^ set(shipped))
    if unknown:
        out.append(f"key parts {unknown} are not in both")
    return "; ".join(out) or "its key differs"


def _meta(path: Path) -> dict[str, Any]:
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"shipped cost table {str(path)!r}: unreadable ({err}); reinstall coexplore, or set "
                        f"{ENV}=0 to build the table instead") from None
    if meta.get("file_format") != _FILE_FORMAT:
        raise DataError(f"shipped cost table {str(path)!r}: file_format must be {_FILE_FORMAT}, got "
                        f"{meta.get('file_format')!r}; reinstall coexplore, or set {ENV}=0")
    return meta


def _load(path: Path, meta: dict[str, Any], shapes: tuple[Layer, ...], designs: tuple[Design, ...]) -> CostTable:
    with np.load(path) as z:
        a = {k: z[k] for k in z.files}
    shape = (len(shapes), len(designs))
    if a["energy_pj"].shape != shape:
        raise DataError(f"shipped cost table {str(path)!r}: energy_pj has shape {a['energy_pj'].shape}, its key "
                        f"says {shape}; reinstall coexplore, or set {ENV}=0")
    text = tuple(str(r) for r in a["reason_text"])
    reasons = tuple(text[i] for i in a["reason_index"].tolist())
    return CostTable(shapes=shapes, designs=designs, energy_pj=a["energy_pj"].astype(np.float64),
                     latency_cycles=a["latency_cycles"].astype(np.int64), area_mm2=a["area_mm2"].astype(np.float64),
                     feasible=a["feasible"].astype(bool), reasons=reasons, key=str(meta["key"]),
                     seconds=float(meta["build_seconds"]), source="shipped")


def write_shipped(table: CostTable, parts: dict[str, Any], *, budget: str, path: Path) -> None:
    """Write ``table`` (key parts ``parts``) for shipping: lossless, compressed, latencies in the smallest int type.

    Raises:
        SpecError: ``parts`` are not the table's, or the written file does not read back equal.
    """
    if key_of(parts) != table.key:
        raise SpecError(f"parts: their key {key_of(parts)!r} is not the table's {table.key!r}")
    lat = table.latency_cycles
    small = np.uint32 if lat.min() >= 0 and lat.max() <= np.iinfo(np.uint32).max else np.int64
    text = sorted(set(table.reasons) - {""})
    index = {r: i for i, r in enumerate(["", *text])}
    meta = {"file_format": _FILE_FORMAT, "key": table.key, "parts": parts, "budget": budget,
            "build_seconds": table.seconds, "made_by": "python -m coexplore.joint.shipped"}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, meta=np.array(json.dumps(meta, sort_keys=True)), energy_pj=table.energy_pj,
                        latency_cycles=lat.astype(small), area_mm2=table.area_mm2, feasible=table.feasible,
                        reason_text=np.array(["", *text], dtype=str),
                        reason_index=np.array([index[r] for r in table.reasons], dtype=np.int32))
    back = _load(path, _meta(path), table.shapes, table.designs)
    for f in ("energy_pj", "latency_cycles", "area_mm2", "feasible"):
        if not np.array_equal(getattr(back, f), getattr(table, f)):
            raise SpecError(f"{path}: {f} does not read back equal to the table's")
    if back.reasons != table.reasons:
        raise SpecError(f"{path}: reasons do not read back equal to the table's")


def ship(name: str, *, jobs: int | None = None, out_dir: Path = SHIPPED_DIR) -> Path:
    """Write shipped table ``name`` (:data:`SHIPPED`) from the cache, or built when the cache lacks it."""
    if name not in SHIPPED:
        raise SpecError(f"name: a shipped table exists for {', '.join(SHIPPED)}, got {name!r}")
    budget, dataset = SHIPPED[name]
    grid = grid_for(budget)
    shapes = nb201_shape_counts(dataset=dataset).shapes
    designs = grid.designs()
    table = build_cost_table(grid, shapes, designs=designs, seed=0, jobs=jobs, shipped=False, progress=True)
    path = out_dir / f"{name}.npz"
    write_shipped(table, key_parts(grid, designs, shapes, TABLE_MAPPER, 0), budget=budget, path=path)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m coexplore.joint.shipped", description=ship.__doc__)
    ap.add_argument("names", nargs="*", default=sorted(SHIPPED), help=f"default: all ({', '.join(SHIPPED)})")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes if a table must be built")
    args = ap.parse_args(argv)
    for n in args.names:
        path = ship(n, jobs=args.jobs)
        print(f"{path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
