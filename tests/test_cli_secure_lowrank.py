"""``coexplore secure`` (price, measure) and ``coexplore lowrank``: figures equal the library's, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coexplore.cli.main import main

NET = "chain-digits:k3c9-k5c18"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_secure_price_equals_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    from coexplore.cost.secure import secure_network_cost, secure_stages
    from coexplore.resolve import resolve_network

    bits = "features.0.0=12,features.1.0=16,classifier=20"
    out = run_json(capsys, "secure", "price", "--network", NET, "--bits", bits)
    want = secure_network_cost(secure_stages(resolve_network(NET), [12, 16, 20]))
    assert [x["bits"] for x in out["layers"]] == [12, 16, 20]
    assert out["he_time_s"] == pytest.approx(want.he_time_s) and out["bytes"] == pytest.approx(want.bytes)
    assert [x["he"]["rotations"] for x in out["layers"]] == [x.he.rotations for x in want.layers]
    assert [x["gc"]["and_gates"] for x in out["layers"]] == [x.gc.and_gates for x in want.layers]
    assert out["layers"][-1]["gc"]["and_gates"] == 0  # no ReLU after the classifier unless --relu-last


def test_secure_price_reads_constants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = run_json(capsys, "secure", "price", "--network", NET, "--bits", "16")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"constants": {**base["constants"], "rotation_s": 0.0, "ct_pt_mult_s": 0.0,
                                              "add_s": 0.0, "encrypt_s": 0.0, "decrypt_s": 0.0}}))
    free = run_json(capsys, "secure", "price", "--network", NET, "--bits", "16", "--constants", str(path))
    assert free["he_time_s"] == 0.0 and free["gc_time_s"] == pytest.approx(base["gc_time_s"])


@pytest.mark.parametrize(("args", "needles"), [
    (("--bits", "0"), ("bits", "got 0")),
    (("--bits", "features.0.0=8"), ("missing", "features.1.0")),
    (("--bits", "16", "--pool", "nope=2"), ("pools", "nope")),
    (("--bits", "16", "--pool", "features.0.0=5"), ("pool", "5")),
])
def test_secure_price_bad_input(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                needles: tuple[str, ...]) -> None:
    err = run_error(capsys, "secure", "price", "--network", NET, *args)
    assert all(n in err for n in needles), err


def test_secure_constants_unknown_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"rotaton_s": 1e-4}))
    assert "rotaton_s" in run_error(capsys, "secure", "price", "--network", NET, "--bits", "16",
                                    "--constants", str(path))


def test_secure_measure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tenseal", reason="extra `secure` (TenSEAL) not installed")
    path = tmp_path / "m.json"
    out = run_json(capsys, "secure", "measure", "--repeats", "3", "--warmup", "1", "--out", str(path))
    for name in ("rotation_s", "ct_pt_mult_s", "add_s", "encrypt_s", "decrypt_s"):
        assert out["operations"][name]["samples"] == 3
        assert out["constants"][name] == out["operations"][name]["median_s"] > 0
    assert out["not_measured"] == ["and_gate_s", "ot_s"]
    assert out["coeff_modulus_bits"] == [60, 60]
    # a BFV ciphertext is 2 polynomials of 2048 coefficients in 64-bit words, compressed a little
    assert 0.5 * 2 * 2048 * 8 < out["ciphertext_bytes"] <= 2 * 2048 * 8 + 1024
    priced = run_json(capsys, "secure", "price", "--network", NET, "--bits", "16", "--constants", str(path))
    assert priced["constants"]["rotation_s"] == out["constants"]["rotation_s"]


def test_secure_measure_bad_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert "slots" in run_error(capsys, "secure", "measure", "--slots", "3000")


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    torch = pytest.importorskip("torch", reason="extra `nas` (PyTorch) not installed")
    from coexplore.nas._lowrank_torch import DigitsLstm

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    paths = {k: str(folder / f"{k}.pt") for k in ("lstm", "conv", "state")}
    torch.save(DigitsLstm(hidden=32, fc_width=16), paths["lstm"])
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU()), paths["conv"])
    torch.save(DigitsLstm(hidden=32, fc_width=16).state_dict(), paths["state"])
    return paths


def test_lowrank_counts_equal_the_factored_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 saved_models: dict[str, str]) -> None:
    import torch

    out_path = tmp_path / "f.pt"
    out = run_json(capsys, "lowrank", "--model", saved_models["lstm"], "--ranks", "lstm.weight_hh_l0=4,fc1=3",
                   "--input-shape", "1,1,8,8", "--out", str(out_path))
    factored = torch.load(out_path, weights_only=False)
    assert out["factored_parameters"] == sum(p.numel() for p in factored.parameters())
    dense = torch.load(saved_models["lstm"], weights_only=False)
    assert out["parameters"] == sum(p.numel() for p in dense.parameters())
    # hand count: 8 steps x (128x8 input + rank 4 x (128+32) recurrent) + fc1 rank 3 x (16+32) + fc2 10x16
    assert out["factored_macs"] == 8 * (128 * 8 + 4 * (128 + 32)) + 3 * (16 + 32) + 10 * 16
    assert out["macs"] == 8 * (128 * 8 + 128 * 32) + 16 * 32 + 10 * 16
    ranks = {m["name"]: m["rank"] for m in out["matrices"]}
    assert ranks == {"lstm.weight_ih_l0": None, "lstm.weight_hh_l0": 4, "fc1": 3, "fc2": None}


def test_lowrank_ratio(capsys: pytest.CaptureFixture[str], saved_models: dict[str, str]) -> None:
    out = run_json(capsys, "lowrank", "--model", saved_models["lstm"], "--ratio", "3")
    dense = sum(m["rows"] * m["cols"] for m in out["matrices"])
    assert sum(m["parameters"] for m in out["matrices"]) <= dense / 3
    assert all(m["rank"] is not None for m in out["matrices"])


@pytest.mark.parametrize(("model", "args", "needles"), [
    ("lstm", ("--ranks", "fc1=17"), ("fc1", "1..16", "17")),
    ("lstm", ("--ranks", "fc9=2"), ("fc9",)),
    ("lstm", ("--ratio", "0.5"), ("--ratio", "0.5")),
    ("lstm", ("--latency",), ("--input-shape",)),
    ("conv", (), ("no linear layer",)),
    ("state", (), ("state dict",)),
])
def test_lowrank_bad_input(capsys: pytest.CaptureFixture[str], saved_models: dict[str, str], model: str,
                           args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    err = run_error(capsys, "lowrank", "--model", saved_models[model], *args)
    assert all(n in err for n in needles), err
