"""``coexplore evaluate --model maestro`` and ``evaluate_network(model="maestro")``: a network priced with
MAESTRO's semantics on a sub-accelerator string or a translated coexplore accelerator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import coexplore
from coexplore.cli.main import main
from coexplore.errors import SpecError
from coexplore.maestro.bridge import target_from_accelerator
from coexplore.maestro.energy import CONSTANT_SETS
from coexplore.maestro.system import SubAccelerator, parse_design, price_layers, price_system
from coexplore.resolve import resolve_accelerator
from coexplore.spec.workload import Layer, Network

NET = Network(name="small", layers=(
    Layer(name="stem", K=16, C=3, P=16, Q=16, R=3, S=3, stride=(2, 2), padding=(1, 1)),
    Layer(name="pw", K=32, C=16, P=16, Q=16, R=1, S=1),
    Layer(name="dw", K=32, C=32, P=8, Q=8, R=3, S=3, stride=(2, 2), groups=32, op="depthwise"),
    Layer(name="g4", K=32, C=32, P=8, Q=8, R=3, S=3, groups=4, padding=(1, 1)),
    Layer(name="fc", K=10, C=32, op="fc"),
))
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("tpl", ["dla", "shi", "xp_ws", "rs"])
def test_a_sub_accelerator_string_prices_as_the_system_model_does(tpl: str) -> None:
    """The same layers, runtime, energy and area as maestro-system's one-network design (summary energy)."""
    r = coexplore.evaluate_network(NET, f"{tpl}:128:16", model="maestro")
    rec = r.to_record()
    sub = SubAccelerator(template=tpl, pes=128, bandwidth=16)
    rows = price_layers(NET, sub)
    assert [x["latency_cycles"] for x in rec["layers"]] == [row[0] for row in rows]
    assert [x["energy_pj"] for x in rec["layers"]] == pytest.approx([row[1] * 1e3 for row in rows], rel=1e-12)
    system = price_system([NET], parse_design(f"{tpl}:128:16"))
    assert rec["latency_cycles"] == system.latency_cycles
    assert rec["area_mm2"] == pytest.approx(system.area_um2 / 1e6, rel=1e-12)
    assert rec["edp"] == pytest.approx(rec["energy_pj"] * rec["latency_cycles"])
    for x in rec["layers"]:  # the split is the whole energy: L1 and L2 accesses and one MAC energy per MAC
        assert sum(x["energy_by_level_pj"].values()) == pytest.approx(x["energy_pj"], rel=1e-9)
        assert x["energy_by_level_pj"]["MAC"] >= x["macs"] * CONSTANT_SETS["current"].mac_energy_nj * 1e3 * (1 - 1e-12)
        assert 0 < x["utilization"] <= 1
        assert x["maestro"]["Runtime (Cycles)"] * x["mapping"]["repeats"] == x["latency_cycles"]
    g4 = rec["layers"][3]
    assert g4["mapping"]["repeats"] == 4 and g4["mapping"]["template"] == tpl and g4["mapping"]["dataflow"]
    assert rec["model"] == "maestro" and rec["maestro"]["buffers"] == "largest layer requirement"


def test_coexplore_accelerators_translate_field_by_field() -> None:
    eyeriss = target_from_accelerator(resolve_accelerator("eyeriss"), "rs").hardware
    # 168 MACs; L1 = (24 + 224 + 12) 16-bit words per PE; L2 = the 55,296-word global buffer; NoC = its
    # 16 words/cycle read bandwidth; off-chip = DRAM's 1.2 words/cycle, rounded
    assert (eyeriss.num_pes, eyeriss.l1_size_bytes, eyeriss.l2_size_bytes, eyeriss.noc_bandwidth,
            eyeriss.offchip_bandwidth) == (168, 520, 110592, 16, 1)
    shi = target_from_accelerator(resolve_accelerator("shidiannao"), "shi").hardware
    # three shared buffers: nbin and nbout 8-word vectors, sb 1 word (no read bandwidth set): 17 words/cycle
    assert (shi.num_pes, shi.l1_size_bytes, shi.noc_bandwidth) == (64, 2, 17)
    rec = coexplore.evaluate_network(NET, "eyeriss", model="maestro", template="rs").to_record()
    assert rec["maestro"]["buffers"] == "accelerator" and rec["maestro"]["l1_bytes"] == 520
    for acc, message in (("nvdla-256", r"accelerator 'nvdla-256'.levels\[1\] \(accumulator\).instances: MAESTRO has "
                                       r"one L1 per PE \(256\) and one shared L2, a level of 8 instances"),
                         ("bitfusion", r"accelerator 'bitfusion'.mac.brick_bits: a precision-scalable MAC"),
                         ("tpu", r"levels\[1\] \(accumulators\).instances")):
        with pytest.raises(SpecError, match=message):
            target_from_accelerator(resolve_accelerator(acc), "dla")
    with pytest.raises(SpecError, match=r"template: needed to price coexplore accelerator 'eyeriss'.*valid: dla, "
                                        r"shi, xp_ws, rs"):
        coexplore.evaluate_network(NET, "eyeriss", model="maestro")


def test_the_timeloop_model_is_todays_evaluate() -> None:
    tiny = Network(name="tiny", layers=NET.layers[:2])
    default = coexplore.evaluate_network(tiny, "eyeriss", samples=64).to_record()
    explicit = coexplore.evaluate_network(tiny, "eyeriss", samples=64, model="timeloop", objective="edp",
                                          seed=0).to_record()
    assert "model" not in default
    default.pop("seconds"), explicit.pop("seconds")
    assert default == explicit


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model": "zigzag"}, "model (--model): unknown 'zigzag'; valid: timeloop, maestro"),
    ({"model": "maestro", "samples": 16}, "samples (--samples): applies to the timeloop model only"),
    ({"model": "maestro", "mappings": "m.yaml"}, "mappings (--mapping): applies to the timeloop model only"),
    ({"model": "maestro", "throttle": True}, "throttle (--throttle): applies to the timeloop model only"),
    ({"template": "rs"}, "template (--template): applies to the maestro model only"),
    ({"constant_set": "nasaic"}, "constant_set (--constants): applies to the maestro model only"),
])
def test_options_of_the_other_model_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        coexplore.evaluate_network(NET, "eyeriss", **kwargs)  # type: ignore[arg-type]


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    net = str(REPO / "examples" / "my_net.yaml")
    assert main(["evaluate", "--network", net, "--accelerator", "rs:168:16", "--model", "maestro",
                 "--constants", "nasaic", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["model"] == "maestro" and rec["maestro"]["constants"] == "nasaic" and rec["latency_cycles"] > 0
    assert {"network", "accelerator", "energy_pj", "latency_cycles", "edp", "area_mm2", "macs", "seconds",
            "layers"} <= set(rec)
    assert main(["evaluate", "--network", net, "--accelerator", "eyeriss", "--model", "maestro", "--template",
                 "rs"]) == 0
    assert "on eyeriss:" in capsys.readouterr().out
    for argv, message in (
        (["--accelerator", "rs:168:16", "--model", "maestro", "--samples", "16"], "samples (--samples): applies"),
        (["--accelerator", "rs:168:16", "--model", "maestro", "--template", "rs"],
         "template (--template): the accelerator 'rs:168:16' names its own template"),
        (["--accelerator", "rs:0:16", "--model", "maestro"], "accelerator 'rs:0:16'.pes: must be from 1 to"),
        (["--accelerator", "eye:64:8", "--model", "maestro"],
         "accelerator 'eye:64:8'.template: unknown 'eye'; valid: dla, shi, xp_ws, rs"),
        (["--accelerator", "simba", "--model", "maestro", "--template", "dla"], "(accumulation_buffer).instances"),
        (["--accelerator", "eyeriss", "--template", "rs"], "template (--template): applies to the maestro model"),
    ):
        assert main(["evaluate", "--network", net, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    with pytest.raises(SystemExit) as e:  # argparse names the valid models
        main(["evaluate", "--network", net, "--accelerator", "eyeriss", "--model", "zigzag"])
    assert e.value.code == 2 and "choose from 'timeloop', 'maestro'" in capsys.readouterr().err


# -- hwsearch --model maestro --------------------------------------------------------------------------------------
TINY = Network(name="tiny", layers=NET.layers[:2])


def test_grid_search_enumerates_the_space_and_returns_its_optimum() -> None:
    from coexplore.hwsearch.maestro_search import MaestroHwProblem, MaestroSpace
    from coexplore.hwsearch.record import BASELINE_KEYS, RECORD_KEYS

    eyeriss = resolve_accelerator("eyeriss")
    space = MaestroSpace.for_budget(eyeriss)
    # 16 PE counts up to Eyeriss' 168 MACs, powers of two up to its global buffer's 16 words/cycle
    assert space.pes[0] == 10 and space.pes[-1] == 168 and len(space.pes) == 16
    assert space.bandwidths == (1, 2, 4, 8, 16) and space.offchip_bandwidth == 1 and space.size == 320
    r = coexplore.search_accelerator(TINY, "eyeriss", model="maestro", strategy="grid")
    rec = r.to_record()
    assert set(RECORD_KEYS) <= set(rec) and set(rec["baseline"]) == set(BASELINE_KEYS) and rec["model"] == "maestro"
    assert rec["maestro"]["exhausted"] and rec["evaluations"] == rec["designs"] == 320
    brute = MaestroHwProblem(space=space, networks=[TINY])
    every = [brute.cost(f"{t}:{p}:{b}") for t in space.templates for p in space.pes for b in space.bandwidths]
    assert rec["best"]["edp"] == min(c.edp for c in every if not isinstance(c, str))
    assert rec["best"]["resources"]["pes"] <= rec["best"]["limits"]["pes"] == 168
    # the baseline is Eyeriss translated (its own buffers and off-chip bandwidth), in its best template
    base = coexplore.evaluate_network(TINY, "eyeriss", model="maestro",
                                      template=rec["maestro"]["baseline_template"]).to_record()
    assert rec["baseline"]["edp"] == pytest.approx(base["edp"]) and rec["edp_ratio"] == pytest.approx(
        base["edp"] / rec["best"]["edp"])


def test_search_is_deterministic_and_multi_objective_gives_a_front() -> None:
    a = coexplore.search_accelerator(TINY, "eyeriss", model="maestro", budget_evals=24, seed=3).to_record()
    b = coexplore.search_accelerator(TINY, "eyeriss", model="maestro", budget_evals=24, seed=3).to_record()
    assert a["best"] == b["best"] and a["evaluations"] == 24
    f = coexplore.search_accelerator(TINY, "nvdla-256", model="maestro", objective="energy,latency",
                                     strategy="nsga2", budget_evals=40).to_record()
    assert f["front"] and all(len(p["values"]) == 2 for p in f["front"])
    assert f["baseline"]["edp"] is None and "(accumulator).instances" in f["maestro"]["baseline_reason"]


def test_hwsearch_cli(capsys: pytest.CaptureFixture[str]) -> None:
    net = str(REPO / "examples" / "my_net.yaml")
    assert main(["hwsearch", "--network", net, "--budget", "eyeriss", "--model", "maestro", "--budget-evals", "8",
                 "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["model"] == "maestro" and rec["strategy"] == "evolution" and rec["evaluations"] == 8
    for argv, message in (
        (["--mapper", "naas"], "these options apply to --model timeloop only: mapper (--mapper)"),
        (["--strategy", "naas"], "strategy (--strategy): 'naas' does not search the MAESTRO space; valid:"),
        (["--objective", "energy,latency"], "several objectives (energy,latency) need --strategy nsga2"),
        (["--out", "x.yaml"], "--out: writes accelerator YAML; a MAESTRO design"),
    ):
        assert main(["hwsearch", "--network", net, "--budget", "eyeriss", "--model", "maestro", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert main(["hwsearch", "--network", net, "--budget", "xc7z020", "--model", "maestro"]) == 2
    assert "FPGA board 'xc7z020' has no MAESTRO counterpart" in capsys.readouterr().err
    assert main(["hwsearch", "--network", net, "--budget", "eyeriss", "--constants", "nasaic"]) == 2
    assert "constant_set (--constants): applies to the maestro model only" in capsys.readouterr().err
