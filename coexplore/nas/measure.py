"""On-device latency: time a PyTorch model on this machine, and build an NB201 latency table with it.

The protocol follows Eagle (SamsungLabs/eagle), whose desktop runner produced the
NAS-Bench-201 device latencies that hardware-aware NAS papers compare against, and the
Raspberry Pi 5 table in ``data/nasbench201``: batch 1, FP32, a fixed number of intra-op
threads (1 by default, so a busy machine disturbs one core, not all), the model in eval
mode under ``torch.inference_mode()``, warm-up runs (caches, allocator, lazy kernel
selection), then ``repeats`` runs each timed with ``time.perf_counter_ns`` while the
garbage collector is paused (as Eagle does, so a collection never lands in a sample).

Outliers are dropped before the summary: a sample is kept when it lies within
``k`` (3) robust standard deviations of the median, the robust standard deviation being
1.4826 x the median absolute deviation (MAD), which equals the standard deviation for
normal noise. One preemption by another process then cannot move the result; the
median is reported with the sample variance (ddof 1) of the kept runs.

:func:`measure_nb201` times NB201 networks into a CSV of the same form as
``nb201_device_latency.csv`` (read back with ``load_device_latency(path, framework="torch")``).
Besides eager PyTorch it times TorchScript and ONNX Runtime (:mod:`coexplore.nas.runtimes`),
on any number of threads; the ``framework`` column names the runtime and thread count.
It is resumable and visits the cells in a seeded random order, so slow drift of the
machine (thermal state, other load) does not correlate with the architecture index.
"""

from __future__ import annotations

import csv
import gc
import io
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import DataError, SpecError
from coexplore.optional import require

__all__ = ["CSV_COLUMNS", "LatencyMeasurement", "NB201MeasureRun", "default_device_name", "keep_mask",
           "measure_latency", "measure_nb201", "summarize"]

#: Columns of ``nb201_device_latency.csv`` (and of the files :func:`measure_nb201` writes).
CSV_COLUMNS = ("arch_index", "device", "framework", "task", "latency_ms", "latency_var", "energy_mj",
               "rep_arch_index")
MAD_TO_STD = 1.4826


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencyMeasurement:
    """The summary of one model's timed runs.

    Attributes:
        median_ms: Median latency of the kept runs, in milliseconds.
        variance_ms2: Sample variance (ddof 1) of the kept runs, in ms^2 (0 with one run).
        kept, rejected: Runs kept and dropped as outliers.
        threads: Intra-op threads during the runs.
        samples_ms: Every timed run, in order, outliers included.
    """

    median_ms: float
    variance_ms2: float
    kept: int
    rejected: int
    threads: int
    samples_ms: tuple[float, ...]


def keep_mask(samples_ms: Sequence[float] | np.ndarray, *, k: float = 3.0) -> np.ndarray:
    """Boolean mask of the samples within ``k`` robust standard deviations (1.4826 x MAD) of the median.

    When more than half the samples are equal the MAD is 0 and only those are kept.
    """
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise SpecError(f"samples_ms: must be a non-empty list of times, got shape {x.shape}")
    med = np.median(x)
    spread = MAD_TO_STD * np.median(np.abs(x - med))
    return np.asarray(np.abs(x - med) <= k * spread)


def summarize(samples_ms: Sequence[float] | np.ndarray, *, threads: int = 1, k: float = 3.0) -> LatencyMeasurement:
    """Median and variance of ``samples_ms`` after :func:`keep_mask`."""
    x = np.asarray(samples_ms, dtype=np.float64)
    keep = keep_mask(x, k=k)
    kept = x[keep]
    return LatencyMeasurement(median_ms=float(np.median(kept)),
                              variance_ms2=float(np.var(kept, ddof=1)) if len(kept) > 1 else 0.0,
                              kept=int(keep.sum()), rejected=int((~keep).sum()), threads=threads,
                              samples_ms=tuple(float(v) for v in x))


def _check_counts(warmup: int, repeats: int, threads: int) -> None:
    problems = [f"{n}: must be an integer >= {lo}, got {v!r}"
                for n, v, lo in (("warmup", warmup, 0), ("repeats", repeats, 1), ("threads", threads, 1))
                if not isinstance(v, int) or isinstance(v, bool) or v < lo]
    if problems:
        raise SpecError(problems)


def measure_latency(model: Any, input_shape: Sequence[int], *, warmup: int = 10, repeats: int = 40,
                    threads: int = 1, seed: int = 0, runtime: str = "torch") -> LatencyMeasurement:
    """Time ``model`` (a ``torch.nn.Module``) on a seeded random input of ``input_shape``.

    ``runtime`` is one of :data:`coexplore.nas.runtimes.RUNTIMES` (eager PyTorch,
    TorchScript, ONNX Runtime); the model is compiled for it before the warm-up runs. The
    caller's thread count and the model's train/eval mode are restored afterwards.
    """
    require("torch", extra="nas", who="measuring latency (PyTorch)")
    from coexplore.nas.runtimes import check_runtime, prepare_runtime

    _check_counts(warmup, repeats, threads)
    check_runtime(runtime)
    was_training, gc_was_on = model.training, gc.isenabled()
    samples = np.empty(repeats)
    try:
        model.eval()
        prepared = prepare_runtime(model, input_shape, runtime=runtime, threads=threads, seed=seed)
        with prepared.context():
            for _ in range(warmup):
                prepared.run()
            gc.collect()
            gc.disable()
            for i in range(repeats):
                t0 = time.perf_counter_ns()
                prepared.run()
                samples[i] = (time.perf_counter_ns() - t0) / 1e6
    finally:
        if gc_was_on:
            gc.enable()
        model.train(was_training)
    return summarize(samples, threads=threads)


def default_device_name() -> str:
    """``local-<machine>`` (e.g. ``local-x86_64``): the device column for this machine."""
    return f"local-{platform.machine() or 'unknown'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NB201MeasureRun:
    """What one :func:`measure_nb201` call did: the CSV, the indices timed now and those already there."""

    path: Path
    device: str
    framework: str
    measured: tuple[int, ...]
    skipped: tuple[int, ...]


def _done(path: Path, device: str, framework: str) -> set[int]:
    """Indices with a ``framework`` / cifar100 row for ``device`` in an existing CSV (which must have our columns)."""
    if not path.is_file() or path.stat().st_size == 0:
        return set()
    from coexplore.spec.io import read_text

    with io.StringIO(read_text(path, "latency CSV"), newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise DataError(f"latency CSV {str(path)!r}: columns must be {','.join(CSV_COLUMNS)}, "
                            f"got {','.join(reader.fieldnames or ())}")
        try:
            return {int(r["arch_index"]) for r in reader
                    if r["device"] == device and r["framework"] == framework and r["task"] == "cifar100"}
        except (TypeError, ValueError) as e:
            raise DataError(f"latency CSV {str(path)!r}: column 'arch_index': {e}") from None


def measure_nb201(indices: Iterable[int], out_csv: str | Path, *, warmup: int = 10, repeats: int = 40,
                  threads: int = 1, seed: int = 0, progress: bool = True, device: str | None = None,
                  runtime: str = "torch") -> NB201MeasureRun:
    """Time the CIFAR-100 NB201 network of each index and append one row per cell to ``out_csv``.

    Rows: ``device`` (default :func:`default_device_name`), framework
    :func:`~coexplore.nas.runtimes.framework_name` of ``runtime`` and ``threads`` (``torch``,
    ``torchscript``, ``onnxruntime``, with ``-t<threads>`` appended above one thread), task
    ``cifar100``, the median and variance of :func:`measure_latency`, ``energy_mj`` ``nan``
    (not measurable here) and ``rep_arch_index`` = the index (each cell's own network is
    timed, no isomorphism sharing). Indices already in the file for this device are skipped,
    so an interrupted run resumes; each row is flushed as soon as it is measured. Models
    are built with random weights under ``seed``.

    Raises:
        SpecError: an index outside 0..15624 or a bad count.
        DataError: ``out_csv`` exists with other columns.
    """
    require("torch", extra="nas", who="measuring latency (PyTorch)")
    import torch
    from tqdm import tqdm

    from coexplore.nas.nb201 import NB201Space
    from coexplore.nas.runtimes import framework_name

    _check_counts(warmup, repeats, threads)
    framework = framework_name(runtime, threads)
    space = NB201Space(dataset="cifar100")
    wanted = list(dict.fromkeys(int(i) for i in indices))
    cells = {i: space.cell(i) for i in wanted}
    path, name = Path(out_csv), device or default_device_name()
    done = _done(path, name, framework)
    pending = [i for i in wanted if i not in done]
    order = [pending[j] for j in np.random.default_rng(seed).permutation(len(pending))]
    new_file = not path.is_file() or path.stat().st_size == 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as f, tqdm(total=len(order), desc="nb201 latency", unit="cell",
                                               file=sys.stderr, disable=not progress) as bar:
        writer = csv.writer(f)
        if new_file:
            writer.writerow(CSV_COLUMNS)
        for index in order:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = space.to_torch(cells[index])
            m = measure_latency(model, space.input_shape, warmup=warmup, repeats=repeats, threads=threads,
                                seed=seed, runtime=runtime)
            writer.writerow([index, name, framework, "cifar100", repr(m.median_ms), repr(m.variance_ms2), "nan", index])
            f.flush()
            bar.update(1)
    return NB201MeasureRun(path=path, device=name, framework=framework, measured=tuple(order),
                           skipped=tuple(i for i in wanted if i in done))
