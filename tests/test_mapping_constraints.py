"""Mapping constraints: YAML with every mistake named, and every mapper honours them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from coexplore.errors import SpecError
from coexplore.mapper.network import map_layer
from coexplore.mapping.constraints import constraints_from_dict, load_constraints_yaml, satisfied
from coexplore.mapping.encoding import encode
from coexplore.presets.accelerators import get_accelerator
from coexplore.spec.workload import Layer

LAYER = Layer(name="c", K=32, C=16, P=14, Q=14, R=3, S=3)


def test_yaml_round_and_three_mistakes(tmp_path: Path) -> None:
    good = tmp_path / "c.yaml"
    good.write_text(yaml.safe_dump({"levels": {"shared_glb": {"temporal_dims": ["K", "C"], "keep": ["inputs",
                                                                                                  "outputs"]}}}))
    c = load_constraints_yaml(good)
    assert c.levels["shared_glb"].temporal_dims == frozenset({"K", "C"})
    bad = {"min_utilization": 3, "levels": {"glb": {"factors": {"Z": 2}, "keep": ["psums"], "oops": 1}}}
    with pytest.raises(SpecError) as err:
        constraints_from_dict(bad)
    text = str(err.value)
    assert "keep" in text and "psums" in text and "oops" in text
    with pytest.raises(SpecError, match="no such constraints file"):
        load_constraints_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize("mapper", ["default", "random", "genetic"])
def test_mappers_honour_constraints(mapper: str) -> None:
    acc = get_accelerator("eyeriss")
    cons = constraints_from_dict({"levels": {"shared_glb": {"temporal_dims": ["K", "C"]}}})
    res = map_layer(LAYER, acc, mapper=mapper, max_evals=30_000, constraints=cons)
    assert satisfied(cons, acc, encode([res.mapping])).all()
    glb = [lv.name for lv in acc.levels].index("shared_glb")
    t = np.array(res.mapping.levels[glb].temporal)
    assert all(t[i] == 1 for i, d in enumerate("NGKCPQRS") if d not in "KC")


def test_cli_dataflow_and_contradictory_constraints(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "coexplore.cli.main", "map", "--layer", "K=32,C=16,P=14,Q=14,R=3,S=3",
           "--accelerator", "nvdla-256", "--jobs", "1", "--max-evals", "20000"]
    out = json.loads(subprocess.run([*run, "--dataflow", "weight", "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    inner = out["layers"][0]["mapping"]["levels"][0]["temporal"]
    assert set(inner) <= {"N", "P", "Q"}
    # contradictory: the whole filter must iterate in a 1-word register that must also keep weights
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"levels": {"weight_reg": {"factors": {"R": 3, "S": 3}}}}))
    r = subprocess.run([*run, "--constraints", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "no legal mapping" in r.stderr
