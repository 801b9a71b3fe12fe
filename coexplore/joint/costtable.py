"""Per-(layer shape, design) cost table: every network x design cost from one mapping per shape.

The 15,625 NAS-Bench-201 networks are built from only a dozen distinct layer shapes, so
a network's cost on a design is a count-weighted sum of per-shape costs:
``energy = counts @ energy_pj`` and ``latency = counts @ latency_cycles`` (layers run one
after another), and EDP is their product per pair. Mapping each (shape, design) once,
with the accelerator search's cheaper local-search setting (:data:`TABLE_MAPPER`),
turns 10^8 pairs into ~10^5 mappings, which a process pool does in minutes. Each shape
is mapped for EDP (as the accelerator search maps layers), and the table keeps that
mapping's energy and latency.

Tables are cached as ``.npz`` files named by a hash of the designs (template, budget,
every design), the shapes and the mapper settings, so a second run loads the table and
a changed input can never load a stale one. The main recipe's table also ships with the
package (:mod:`.shipped`), so its first run loads it instead of mapping for minutes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from coexplore.errors import CoexploreError, DataError, SpecError
from coexplore.hwsearch.problem import MapperConfig, map_shape
from coexplore.hwsearch.space import Design
from coexplore.joint.space import DesignGrid
from coexplore.spec.workload import Layer

__all__ = ["TABLE_MAPPER", "CostTable", "ShapeCounts", "build_cost_table", "default_cache_dir", "key_of", "key_parts",
           "nb201_shape_counts", "table_key"]

#: Mapper of the table: 512 samples, beam 8 x 32 moves, patience 2. About 5 ms a mapping (8x faster than
#: the default mapper); network EDP ~2 % above the default's on average, 10 % at worst on a sample of
#: designs (``benchmarks/bench_codesign_front.py`` measures both).
TABLE_MAPPER = MapperConfig(samples=512, beam=8, moves=32, patience=2, polish_cap=1024, max_evals=50_000)
TABLE_OBJECTIVE = "edp"
#: Version of what a table holds, part of its key: bump it when a change to the cost model or to how the
#: table maps shapes changes its numbers, so cached and shipped tables of the old numbers are not loaded.
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapeCounts:
    """How many layers of each distinct shape every network has.

    Attributes:
        shapes: One representative layer per distinct ``Layer.shape_key()``, sorted by key.
        counts: int64 (n_networks, n_shapes): layers of each shape per network.
        arch_index: int64 (n_networks,): the NB201 index of each row.
    """

    shapes: tuple[Layer, ...]
    counts: np.ndarray
    arch_index: np.ndarray

    def __post_init__(self) -> None:
        if self.counts.shape != (len(self.arch_index), len(self.shapes)):
            raise SpecError(f"counts.shape: must be (networks, shapes) = ({len(self.arch_index)}, "
                            f"{len(self.shapes)}), got {self.counts.shape}")


def nb201_shape_counts(indices: Sequence[int] | None = None, *, dataset: str = "cifar100") -> ShapeCounts:
    """The shape-count matrix of NAS-Bench-201 networks ``indices`` (default: all 15,625).

    Networks differ only in how many live edges carry each operation (an edge's layers do
    not depend on its position), so each distinct multiset of live operations is built once
    (:meth:`NB201Space.to_network` is the ground truth for the layers; a test compares every
    row of a sample). The whole space's matrix is kept for the life of the process.
    """
    if indices is None:
        return _all_shape_counts(dataset)
    return _shape_counts(indices, dataset)


@functools.cache
def _all_shape_counts(dataset: str) -> ShapeCounts:
    out = _shape_counts(None, dataset)
    out.counts.flags.writeable = False  # shared by every caller in the process
    out.arch_index.flags.writeable = False
    return out


def _shape_counts(indices: Sequence[int] | None, dataset: str) -> ShapeCounts:
    from coexplore.nas.nb201 import NB201Space

    space = NB201Space(dataset=dataset)
    cells = space.all_cells()
    idx = np.arange(len(cells)) if indices is None else np.asarray(indices, dtype=np.int64)
    per_pattern: dict[tuple[str, ...], dict[tuple[int, ...], int]] = {}
    rows = []
    layers: dict[tuple[int, ...], Layer] = {}
    for i in idx.tolist():
        cell = cells[i]
        # every edge maps C->C at its stage's resolution, so a cell's layers depend on the multiset of its live ops
        pattern = tuple(sorted(o for o, live in zip(cell.ops, cell.live_edges()) if live))
        if pattern not in per_pattern:
            hist: dict[tuple[int, ...], int] = {}
            for layer in space.to_network(cell).layers:
                key = layer.shape_key()
                layers.setdefault(key, layer)
                hist[key] = hist.get(key, 0) + 1
            per_pattern[pattern] = hist
        rows.append(per_pattern[pattern])
    keys = sorted(layers)
    col = {k: j for j, k in enumerate(keys)}
    counts = np.zeros((len(rows), len(keys)), dtype=np.int64)
    for r, hist in enumerate(rows):
        for k, n in hist.items():
            counts[r, col[k]] = n
    return ShapeCounts(shapes=tuple(layers[k] for k in keys), counts=counts, arch_index=idx.astype(np.int64))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CostTable:
    """Costs of every (shape, design); arrays indexed [shape, design] unless noted.

    Attributes:
        shapes: The layer shapes (rows).
        designs: The designs (columns).
        energy_pj: float64 (S, D).
        latency_cycles: int64 (S, D).
        area_mm2: float64 (D,).
        feasible: bool (D,): every shape could be mapped; costs of other designs are meaningless.
        reasons: (D,) why a design is infeasible ("" when feasible).
        key: The cache key (:func:`table_key`).
        seconds: Time the table took to build (not to load).
        source: Where this copy comes from: ``built`` now, the user's ``cache``, or ``shipped`` with the package.
    """

    shapes: tuple[Layer, ...]
    designs: tuple[Design, ...]
    energy_pj: np.ndarray
    latency_cycles: np.ndarray
    area_mm2: np.ndarray
    feasible: np.ndarray
    reasons: tuple[str, ...]
    key: str
    seconds: float
    source: str = "built"

    def network_costs(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(energy pJ float64 (n, D), latency cycles int64 (n, D)) of networks ``counts`` int (n, S).

        Energy is accumulated shape by shape in a fixed order (not a BLAS product), so a
        network's value does not depend on which rows it is computed with: fronts over
        chunks and brute-force checks see bit-identical numbers.
        """
        c = np.asarray(counts, dtype=np.int64)
        if c.ndim != 2 or c.shape[1] != len(self.shapes):
            raise SpecError(f"counts: must be (networks, {len(self.shapes)}) ints, got shape {c.shape}")
        energy = np.zeros((len(c), len(self.designs)))
        latency = np.zeros((len(c), len(self.designs)), dtype=np.int64)
        for s in range(len(self.shapes)):
            energy += c[:, s, None] * self.energy_pj[s][None, :]
            latency += c[:, s, None] * self.latency_cycles[s][None, :]
        return energy, latency


def key_parts(grid: DesignGrid, designs: Sequence[Design], shapes: Sequence[Layer], mapper: MapperConfig,
              seed: int) -> dict[str, object]:
    """Everything a table's numbers depend on, by name (a shipped table says which part differs)."""
    return {"version": FORMAT_VERSION, "grid": grid.fingerprint(designs),
            "shapes": [list(x.shape_key()) for x in shapes], "mapper": asdict(mapper),
            "objective": TABLE_OBJECTIVE, "seed": seed}


def key_of(parts: dict[str, object]) -> str:
    """The cache key of :func:`key_parts`."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def table_key(grid: DesignGrid, designs: Sequence[Design], shapes: Sequence[Layer], mapper: MapperConfig,
              seed: int) -> str:
    """Hash of everything a table's numbers depend on (a changed input never hits a stale cache)."""
    return key_of(key_parts(grid, designs, shapes, mapper, seed))


def default_cache_dir() -> Path:
    """``$COEXPLORE_CACHE`` or ``$XDG_CACHE_HOME/coexplore`` (``~/.cache/coexplore``), plus ``joint``."""
    base = os.environ.get("COEXPLORE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or
                                                     Path.home() / ".cache") / "coexplore"
    return Path(base) / "joint"


# -- building --------------------------------------------------------------------------------
_WORKER: tuple[DesignGrid, tuple[Layer, ...], MapperConfig, int] | None = None


def _init_worker(grid: DesignGrid, shapes: tuple[Layer, ...], mapper: MapperConfig, seed: int) -> None:
    global _WORKER
    _WORKER = (grid, shapes, mapper, seed)


def _map_designs(designs: tuple[Design, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(energy (S, n), latency (S, n), area (n,), reasons) of ``designs`` in the worker's setting."""
    assert _WORKER is not None, "worker not initialised"
    grid, shapes, mapper, seed = _WORKER
    energy = np.full((len(shapes), len(designs)), np.inf)
    latency = np.zeros((len(shapes), len(designs)), dtype=np.int64)
    area = np.zeros(len(designs))
    reasons = []
    for j, d in enumerate(designs):
        acc = grid.build(d)
        area[j] = acc.area_mm2
        reason = ""
        for s, layer in enumerate(shapes):
            try:
                energy[s, j], latency[s, j], _ = map_shape(layer, acc, config=mapper, objective=TABLE_OBJECTIVE,
                                                           seed=seed)
            except CoexploreError as err:
                reason = f"shape {layer.spec_string()}: {err}"
                energy[:, j], latency[:, j] = np.inf, 0
                break
        reasons.append(reason)
    return energy, latency, area, reasons


def build_cost_table(grid: DesignGrid, shapes: Sequence[Layer], *, designs: Sequence[Design] | None = None,
                     mapper: MapperConfig = TABLE_MAPPER, seed: int = 0, jobs: int | None = None,
                     cache_dir: str | Path | None = None, use_cache: bool = True, shipped: bool | None = None,
                     chunk: int = 16, progress: bool = False) -> CostTable:
    """Map every (shape, design) once, or load the table from the cache or the package.

    Args:
        grid: The accelerator space.
        shapes: The distinct layer shapes (e.g. :attr:`ShapeCounts.shapes`).
        designs: A subset of the grid's designs (default: all of them).
        mapper: Local-search settings (default :data:`TABLE_MAPPER`).
        seed: Mapper seed (the same seed gives the same table).
        jobs: Worker processes (default: every core).
        cache_dir: Where tables are kept (default :func:`default_cache_dir`).
        use_cache: Load and store the table there.
        shipped: Use a table shipped with the package whose key is exactly this one
            (:mod:`coexplore.joint.shipped`); default: when ``use_cache`` and ``$COEXPLORE_SHIPPED_TABLES``
            is not 0.
        chunk: Designs per pool task.
        progress: A progress bar on stderr.
    """
    ds = tuple(grid.designs() if designs is None else designs)
    layers = tuple(shapes)
    if not ds or not layers:
        raise SpecError(f"cost table: needs designs and shapes, got {len(ds)} designs and {len(layers)} shapes")
    inputs = key_parts(grid, ds, layers, mapper, seed)
    key = key_of(inputs)
    path = Path(cache_dir or default_cache_dir()) / f"costtable-{key}.npz"
    if use_cache and path.is_file():
        return _load(path, key, layers, ds)
    from coexplore.joint import shipped as ship  # imports this module

    if (use_cache and ship.shipped_enabled()) if shipped is None else shipped:
        found = ship.find_shipped(grid, ds, layers, inputs)
        if found is not None:
            return found
    t0 = time.perf_counter()
    chunks = [ds[i:i + chunk] for i in range(0, len(ds), chunk)]
    partial = _Partial(path.with_name(f"{path.stem}.partial"), chunk) if use_cache else None
    done = partial.load(len(chunks)) if partial is not None else {}
    todo = [i for i in range(len(chunks)) if i not in done]
    if done and progress:
        print(f"cost table: resuming an interrupted build, {sum(len(chunks[i]) for i in done):,} of {len(ds):,} "
              f"designs already mapped", file=sys.stderr)
    n_jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(ds), initial=len(ds) - sum(len(chunks[i]) for i in todo), desc="cost table",
                   unit="design", file=sys.stderr, leave=False)

    def finished(i: int, part: _Part) -> None:  # kept at once: Ctrl-C or a kill loses at most the chunks in flight
        done[i] = part
        if partial is not None:
            partial.save(i, part)
        if bar is not None:
            bar.update(len(chunks[i]))

    if todo:
        _init_worker(grid, layers, mapper, seed)
        _map_designs(ds[:1])  # compile and load the kernels once, so forked workers inherit them
    try:
        if n_jobs == 1:
            for i in todo:
                finished(i, _map_designs(chunks[i]))
        elif todo:
            with ProcessPoolExecutor(max_workers=n_jobs, initializer=_init_worker,
                                     initargs=(grid, layers, mapper, seed)) as pool:
                for i, part in zip(todo, pool.map(_map_designs, [chunks[i] for i in todo]), strict=True):
                    finished(i, part)
    finally:
        if bar is not None:
            bar.close()
    parts = [done[i] for i in range(len(chunks))]
    reasons = tuple(r for p in parts for r in p[3])
    table = CostTable(shapes=layers, designs=ds, energy_pj=np.concatenate([p[0] for p in parts], axis=1),
                      latency_cycles=np.concatenate([p[1] for p in parts], axis=1),
                      area_mm2=np.concatenate([p[2] for p in parts]),
                      feasible=np.array([not r for r in reasons], dtype=bool), reasons=reasons, key=key,
                      seconds=time.perf_counter() - t0)
    if use_cache:
        _save(path, table)
        if partial is not None:
            partial.remove()
    return table


_Part = tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]


class _Partial:
    """The chunks of an unfinished build, one file each beside the table's cache file, so that a build
    stopped by Ctrl-C or a kill goes on where it stopped (a chunk's result depends only on its designs
    and the table's key, so a resumed table is the uninterrupted one)."""

    def __init__(self, folder: Path, chunk: int) -> None:
        self.folder, self.chunk = folder, chunk

    def _file(self, i: int) -> Path:
        return self.folder / f"chunk{self.chunk}-{i:06d}.npz"

    def load(self, n: int) -> dict[int, _Part]:
        out: dict[int, _Part] = {}
        for i in range(n):
            f = self._file(i)
            if not f.is_file():
                continue
            try:
                with np.load(f) as z:
                    out[i] = (z["energy_pj"], z["latency_cycles"], z["area_mm2"], [str(r) for r in z["reasons"]])
            except (OSError, ValueError, KeyError):  # a file cut short: map that chunk again
                continue
        return out

    def save(self, i: int, part: _Part) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{os.getpid()}.tmp.npz"
        np.savez(tmp, energy_pj=part[0], latency_cycles=part[1], area_mm2=part[2],
                 reasons=np.array(part[3], dtype=str))
        os.replace(tmp, self._file(i))

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def _save(path: Path, table: CostTable) -> None:
    """Write atomically (a crash never leaves a half-written table under the final name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, energy_pj=table.energy_pj, latency_cycles=table.latency_cycles, area_mm2=table.area_mm2,
             feasible=table.feasible, reasons=np.array(table.reasons, dtype=str), key=np.array(table.key),
             seconds=np.array(table.seconds))
    os.replace(tmp, path)


def _load(path: Path, key: str, shapes: tuple[Layer, ...], designs: tuple[Design, ...]) -> CostTable:
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise DataError(f"cost table cache {str(path)!r}: unreadable ({err}); delete it to rebuild") from None
    shape = (len(shapes), len(designs))
    if str(arrays.get("key")) != key or arrays["energy_pj"].shape != shape:
        raise DataError(f"cost table cache {str(path)!r}: holds key {str(arrays.get('key'))!r} with shape "
                        f"{arrays['energy_pj'].shape}, expected {key!r} with {shape}; delete it to rebuild")
    return CostTable(shapes=shapes, designs=designs, energy_pj=arrays["energy_pj"],
                     latency_cycles=arrays["latency_cycles"], area_mm2=arrays["area_mm2"],
                     feasible=arrays["feasible"], reasons=tuple(str(r) for r in arrays["reasons"]), key=key,
                     seconds=float(arrays["seconds"]), source="cache")
