"""Acceptance: every public Timeloop reference case reproduced exactly (counts) and to 0.5 % (energy)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from coexplore.api import evaluate_timeloop_case
from tests.conftest import data_root

CASES = sorted((data_root() / "timeloop_reference").glob("0*.json"))


def test_all_twelve_cases_present() -> None:
    assert len(CASES) == 12


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_matches_timeloop(path) -> None:  # type: ignore[no-untyped-def]
    case = json.loads(path.read_text())
    ref = case["reference"]
    got = evaluate_timeloop_case(str(path)).to_record()
    assert got["cycles"] == ref["summary"]["cycles"]
    assert got["macs"] == case["problem"]["macs"]
    assert got["utilization"] == pytest.approx(ref["summary"]["utilization_pct"] / 100)
    total = ref["summary"]["total_energy_pJ_full_precision"]
    assert abs(got["energy_pj"] - total) <= 0.005 * total
    for lv in ref["levels_inner_to_outer"]:
        for ds, c in lv["dataspaces"].items():
            mine = got["levels"][lv["name"]][ds]
            assert mine["reads_per_instance"] == c["reads_per_instance"], (lv["name"], ds)
            assert mine["fills_per_instance"] == c["fills_per_instance"], (lv["name"], ds)
            assert mine["updates_per_instance"] == c["updates_per_instance"], (lv["name"], ds)
            assert mine["utilized_instances"] == c["utilized_instances_max"], (lv["name"], ds)
            expected_e = c["energy_per_instance_pJ_full_precision"] * c["utilized_instances_max"]
            assert mine["energy_pj"] == pytest.approx(expected_e, rel=1e-6, abs=1e-9)
        assert set(got["levels"][lv["name"]]) == set(lv["dataspaces"])


def test_cli_json_shape() -> None:
    path = CASES[0]
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "timeloop-case", str(path), "--json"],
                       capture_output=True, text=True, check=True)
    out = json.loads(r.stdout)
    assert set(out) == {"cycles", "energy_pj", "macs", "utilization", "levels"}
    assert isinstance(out["cycles"], int) and isinstance(out["energy_pj"], float)
    for dss in out["levels"].values():
        for c in dss.values():
            assert set(c) == {"reads_per_instance", "fills_per_instance", "updates_per_instance",
                              "utilized_instances", "energy_pj"}


def test_the_case_command_lists_its_differences_from_the_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert all(evaluate_timeloop_case(p).differences() == [] for p in CASES)
    raw = json.loads(CASES[0].read_text())
    level = raw["reference"]["levels_inner_to_outer"][0]
    ds = next(iter(level["dataspaces"]))
    level["dataspaces"][ds]["reads_per_instance"] += 1  # a reference that disagrees by one read
    raw["reference"]["summary"]["cycles"] += 5
    bad = tmp_path / "case.json"
    bad.write_text(json.dumps(raw))
    diffs = evaluate_timeloop_case(bad).differences()
    assert {d["what"] for d in diffs} == {"cycles", f"{level['name']}.{ds}.reads_per_instance"}
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "timeloop-case", str(bad)], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "Timeloop's reference differs in 2 figures" in r.stdout, r.stderr
