"""Seeded BRP-NAS runs give the same queries on any thread count, CPU kernel set and repeat.

The predictors used to train in float32 with torch's own initialisation, whose results
depend on the CPU's kernels (AVX2 or not, MKL's code path): a seeded BRP-NAS run queried
other networks on another machine. ``ATEN_CPU_CAPABILITY=default`` makes torch use its
portable kernels instead of this CPU's vectorised ones, which stands in for another
machine; torch reads it at start, so that run is a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]

#: A small predictor (the default's structure, narrower) so that a run takes about a second.
SMALL = {"epochs": 40, "hidden": 32, "head_hidden": 32, "reference_size": 64}


def brp_run(threads: int) -> dict[str, Any]:
    """A short seeded BRP-NAS search (10 random cells, then 2 predictor rounds) on ``threads`` torch threads.

    Returns its queries (NB201 indices) and the scores that a predictor fitted on them gives
    300 fixed cells (the bits of the floats are compared, not only the order they make).
    """
    from coexplore.nas.build import latency_limit
    from coexplore.nas.evaluators import TableAccuracy, TableLatency
    from coexplore.nas.nb201 import NB201Space
    from coexplore.nas.search import search_nas
    from coexplore.predict import BRPPredictor

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        space = NB201Space(dataset="cifar100")
        acc, lat = TableAccuracy(space=space), TableLatency(space=space, framework="onnx")
        res = search_nas(space, accuracy=acc, latency=lat, max_latency_ms=latency_limit(space, lat, 25.0),
                         strategy="brp", budget_queries=30, seed=4, predictor_params=SMALL)
        archs = [q.arch for q in res.queries]
        model = BRPPredictor(**SMALL, seed=7).fit(space.features(archs), np.array([q.accuracy for q in res.queries]))
        cells = space.all_cells()
        others = [cells[i] for i in np.random.default_rng(0).choice(len(cells), 300, replace=False)]
        scores = model.predict(space.features(others))
    finally:
        torch.set_num_threads(old)
    return {"queries": [space.index(a) for a in archs], "scores": scores.tolist(),
            "capability": torch.backends.cpu.get_cpu_capability()}


def test_brp_queries_do_not_depend_on_threads_cpu_kernels_or_repeats(data_dir: Path) -> None:
    os.environ.setdefault("COEXPLORE_DATA", str(data_dir))
    one, two, again = brp_run(1), brp_run(2), brp_run(1)
    assert len(one["queries"]) == 30
    assert one == again  # twice in a row
    assert one == two  # the predictors run single-threaded whatever the caller set: the same bits

    code = f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); " \
           "from tests.test_nas_reproducible import brp_run; print(json.dumps(brp_run(2)))"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "COEXPLORE_DATA": str(data_dir)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    portable = json.loads(out.stdout.strip().splitlines()[-1])
    assert portable["capability"] == "DEFAULT"
    assert portable["queries"] == one["queries"]
    # other kernels round differently: by about 1e-16 in float64 (by about 1e-2 when training was float32)
    assert np.max(np.abs(np.subtract(portable["scores"], one["scores"]))) < 1e-9
