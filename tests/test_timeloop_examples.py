"""Timeloop's published example designs (tests/data/timeloop_examples): leakage, wide and clustered storage.

Each design is imported from its own ``parsed-processed-input.yaml`` (with the ERT and
the mapper's ``map.yaml`` found next to it) and priced by coexplore; the numbers are
compared with Timeloop's ``timeloop-mapper.stats.txt`` of the same run: cycles and every
read, fill, update, utilized-instance and utilized-cluster count exactly; each
dataspace's energy and each level's leakage to the printed precision (2 decimals); the
total within 0.5 % (the acceptance bound; the measured gap is below 1e-6).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from coexplore.cost.model import evaluate
from coexplore.interop.timeloop import load_timeloop_yaml

HERE = Path(__file__).resolve().parent / "data" / "timeloop_examples"
DESIGNS = sorted(p.name for p in HERE.iterdir() if p.is_dir())


def parse_stats(text: str) -> dict[str, Any]:
    """The per-level SPECS/STATS blocks, the cycles, computes and fJ/Compute total of a stats.txt."""
    levels: dict[str, dict[str, Any]] = {}
    cur: dict[str, Any] | None = None
    ds: str | None = None
    for line in text.split("\nNetworks")[0].splitlines():
        m = re.match(r"^=== (\S+) ===", line)
        if m:
            cur = levels[m.group(1)] = {"spec": {}, "ds": {}}
            ds = None
            continue
        s = line.strip()
        if cur is None or ":" not in s:
            continue
        if s in ("Weights:", "Inputs:", "Outputs:"):
            ds = s[:-1]
            cur["ds"][ds] = {}
            continue
        key, value = (x.strip() for x in s.split(":", 1))
        (cur["spec"] if ds is None else cur["ds"][ds])[key] = value
    total_fj = float(re.search(r"^    Total\s+= ([\d.]+)", text, re.M).group(1))  # type: ignore[union-attr]
    computes = int(re.search(r"^Computes = (\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    return {"levels": levels, "cycles": int(re.search(r"^Cycles: (\d+)", text, re.M).group(1)),  # type: ignore[union-attr]
            "computes": computes, "total_pj": total_fj * computes / 1000}


def _pj(text: str) -> float:
    return float(text.split()[0])


def test_the_examples_cover_leakage_wide_and_clustered_storage() -> None:
    """The set exercises what these tests are for (fails if a design is dropped or a file is edited)."""
    specs = [lv["spec"] for d in DESIGNS
             for lv in parse_stats((HERE / d / "timeloop-mapper.stats.txt").read_text())["levels"].values()]
    assert len(DESIGNS) >= 5
    assert any(_pj(s.get("Leakage energy (total)", "0")) > 0 for s in specs)
    assert any(int(s.get("Block size", 1)) > 1 for s in specs)
    assert any(int(s.get("Cluster size", 1)) > 1 for s in specs)


@pytest.mark.parametrize("design", DESIGNS)
def test_example_design_matches_timeloop(design: str) -> None:
    ref = parse_stats((HERE / design / "timeloop-mapper.stats.txt").read_text())
    case = load_timeloop_yaml(HERE / design / "parsed-processed-input.yaml")
    cost = evaluate(case.layer, case.accelerator, case.mapping)
    assert cost.latency_cycles == ref["cycles"]
    assert cost.macs == ref["computes"]
    assert abs(cost.energy_pj - ref["total_pj"]) <= 0.005 * ref["total_pj"]
    names = {v: k for k, v in case.dataspace_names.items()}
    checked = 0
    for lc in cost.levels:
        if lc.name not in case.storage_levels:
            continue
        r = ref["levels"][lc.name]
        assert lc.leakage_pj == pytest.approx(_pj(r["spec"]["Leakage energy (total)"]), rel=1e-6, abs=0.006)
        assert {names[d] for d in r["ds"]} == set(lc.dataspaces), lc.name
        for ds_name, rc in r["ds"].items():
            c = lc.dataspaces[names[ds_name]]
            where = (lc.name, ds_name)
            assert c.reads == int(rc["Scalar reads (per-instance)"]), where
            assert c.fills == int(rc["Scalar fills (per-instance)"]), where
            assert c.updates == int(rc["Scalar updates (per-instance)"]), where
            assert c.utilized_instances == int(rc["Utilized instances (max)"]), where
            assert c.utilized_clusters == int(rc["Utilized clusters (max)"]), where
            assert c.energy_pj == pytest.approx(_pj(rc["Energy (total)"]), rel=1e-6, abs=0.006), where
            checked += 1
    assert checked >= 6


def test_cluster_energy_is_charged_per_utilized_cluster() -> None:
    """Simba's PE weight registers share 512-bit clusters of 64: 48 utilized instances in 4 clusters."""
    case = load_timeloop_yaml(HERE / "simba_like" / "parsed-processed-input.yaml")
    regs = case.accelerator.levels[case.accelerator.level_index("PEWeightRegs")]
    assert (regs.cluster_size, regs.block_size_words, regs.clusters) == (64, 1, 4)
    cost = evaluate(case.layer, case.accelerator, case.mapping)
    w = next(lc for lc in cost.levels if lc.name == "PEWeightRegs").dataspaces["weights"]
    assert (w.utilized_instances, w.utilized_clusters) == (48, 4)
    per_cluster = w.reads * regs.read_energy_pj + w.fills * regs.write_energy_pj
    assert w.energy_pj == pytest.approx(4 * per_cluster)
