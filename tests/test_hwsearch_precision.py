"""Precision as an hwsearch dimension: one search per WxA choice, user-given accuracy drops."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coexplore.errors import SpecError
from coexplore.hwsearch.precision import Precision, parse_precisions, quantize, search_precisions
from coexplore.spec.workload import Layer, Network

NET = Network(name="tiny", layers=(Layer(name="c1", K=32, C=16, P=8, Q=8, R=3, S=3),
                                   Layer(name="c2", K=64, C=32, P=4, Q=4)))


def test_parse_and_quantize() -> None:
    got = parse_precisions("8x8, 4x4:1.5,8x4:0.25, 6")
    assert got == (Precision(weight_bits=8, input_bits=8), Precision(weight_bits=4, input_bits=4, accuracy_drop=1.5),
                   Precision(weight_bits=8, input_bits=4, accuracy_drop=0.25), Precision(weight_bits=6, input_bits=6))
    q = quantize(NET, got[2])
    assert [(x.weight_bits, x.input_bits, x.output_bits) for x in q.layers] == [(8, 4, 4), (8, 4, 4)]
    with pytest.raises(SpecError) as e:
        parse_precisions("8y8,0x8,4x4:lots")
    assert len(e.value.problems) == 3 and "'0x8'" in e.value.problems[1] and "from 1 to 64" in e.value.problems[1]


def test_one_search_per_precision_and_the_excluded_ones_are_named() -> None:
    def run() -> dict[str, object]:
        res = search_precisions([NET], "bitfusion", parse_precisions("8x8,4x4:1.0,2x2:5"), max_accuracy_drop=2.0,
                                strategy="random", budget_evals=3, seed=0)
        out = res.to_dict()
        out.pop("seconds")
        return out

    out = run()
    rows = {r["precision"]: r for r in out["choices"]}  # type: ignore[index, attr-defined]
    assert rows["W2A2"]["excluded"] == "accuracy drop 5.0 > max_accuracy_drop 2.0"
    assert rows["W4A4"]["edp"] < rows["W8A8"]["edp"]  # Bit Fusion fuses 4 products per unit at 4 bits
    assert out["best"] == "W4A4" and out["best_edp_gain_vs_first"] == pytest.approx(
        rows["W8A8"]["edp"] / rows["W4A4"]["edp"])
    assert run() == out  # the same seed gives the same searches


def test_cli_reports_the_precision_block(tmp_path: Path) -> None:
    net = tmp_path / "tiny.yaml"
    net.write_text(yaml.safe_dump({"name": "tiny", "layers": [{"name": "c2", "K": 64, "C": 32, "P": 4, "Q": 4}]}))
    r = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "hwsearch", "--network", str(net), "--budget",
                        "bitfusion", "--strategy", "random", "--budget-evals", "2", "--precisions", "8x8,4x8",
                        "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [c["precision"] for c in out["precision"]["choices"]] == ["W8A8", "W4A8"]
    assert out["best"]["edp"] == min(c["edp"] for c in out["precision"]["choices"])
