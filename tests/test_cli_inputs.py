"""Bad input to every command (issue 22): exit code 2 and one line naming the option or file and the value,
checked before any work starts; run in-process (``main``) so that many cases stay fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from coexplore.cli.main import main

BINARY = b"\xff\xfe\x00 not text"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``coexplore ARGV`` (argparse's errors exit through SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "Traceback" not in err, err
    return err.strip().splitlines()[-1]


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    path = tmp_path / "bin.yaml"
    path.write_bytes(BINARY)
    return path


@pytest.mark.parametrize(("argv", "what"), [
    (["evaluate", "--network", "{f}", "--accelerator", "eyeriss"], "network file"),
    (["evaluate", "--network", "alexnet", "--accelerator", "{f}"], "accelerator file"),
    (["evaluate", "--network", "alexnet", "--accelerator", "eyeriss", "--mapping", "{f}"], "mapping file"),
    (["map", "--network", "alexnet", "--accelerator", "eyeriss", "--constraints", "{f}"], "constraints file"),
    (["study", "run", "{f}", "--storage", "sqlite:///{d}/s.db"], "study config"),
    (["codesign", "{f}", "--storage", "sqlite:///{d}/s.db"], "study config"),
    (["nas", "--latency-file", "{f}"], "latency CSV"),
    (["predictor", "evaluate", "--predictor", "flops", "--train", "{f}", "--test", "{f}", "--target", "x"],
     "predictor CSV"),
    (["measure", "--out", "{f}", "--indices", "1"], "latency CSV"),
])
def test_a_binary_file_is_named_as_what_it_should_have_been(capsys: pytest.CaptureFixture[str], binary: Path,
                                                             argv: list[str], what: str) -> None:
    line = refused(capsys, *(a.format(f=binary, d=binary.parent) for a in argv))
    assert f"{binary}: not a text {what} (byte 0xff at offset 0 is not UTF-8)" in line
    assert binary.read_bytes() == BINARY  # measure --out: the existing file is untouched


@pytest.mark.parametrize(("flag", "what"), [("--network", "network file"), ("--accelerator", "accelerator file")])
def test_a_missing_file_is_not_an_unknown_preset(capsys: pytest.CaptureFixture[str], tmp_path: Path, flag: str,
                                                 what: str) -> None:
    args = {"--network": "alexnet", "--accelerator": "eyeriss", flag: str(tmp_path / "my_net.yaml")}
    line = refused(capsys, "evaluate", *(x for kv in args.items() for x in kv))
    assert line.endswith(f"my_net.yaml: no such {what}")


@pytest.mark.parametrize(("argv", "needle"), [
    (["map", "--network", "alexnet", "--accelerator", "eyeriss", "--jobs", "0"], "--jobs: must be an integer >= 1"),
    (["map", "--network", "alexnet", "--accelerator", "eyeriss", "--jobs", "-3"], "--jobs: must be an integer >= 1"),
    (["map", "--network", "alexnet", "--accelerator", "eyeriss", "--max-evals", "0"], "--max-evals: must be"),
    (["map", "--network", "alexnet", "--accelerator", "eyeriss", "--max-seconds", "nan"],
     "--max-seconds: must be a finite number > 0, got nan"),
    (["map", "--network", "alexnet", "--accelerator", "eyeriss", "--max-seconds", "0"], "--max-seconds: must be"),
    (["hwsearch", "--network", "alexnet", "--budget", "eyeriss", "--jobs", "0"], "--jobs: must be"),
    (["hwsearch", "--network", "alexnet", "--budget", "eyeriss", "--max-seconds", "inf"], "--max-seconds"),
    (["hwsearch", "--network", "alexnet", "--budget", "eyeriss", "--budget-evals", "0"], "--budget-evals"),
    (["bench", "cost", "--network", "alexnet", "--layer", "x", "--accelerator", "eyeriss", "--repeats", "0"],
     "--repeats: must be an integer >= 1, got 0"),
    (["nas", "--latency-percentile", "101"], "--latency-percentile: must be a number > 0 and <= 100, got 101"),
    (["nas", "--max-latency-ms", "-1"], "--max-latency-ms: must be a finite number > 0"),
    (["nas", "--budget-queries", "0"], "--budget-queries"),
    (["measure", "--out", "x.csv", "--count", "0"], "--count"),
    (["measure", "--out", "x.csv", "--count", "1", "--warmup", "-1"], "--warmup: must be an integer >= 0"),
    (["codesign", "--recipe", "nb201-eyeriss", "--name", " "], "--name: must be a non-empty name, got ' '"),
    (["report", "x", "--storage", "sqlite:///x.db", "--top", "0"], "--top"),
    (["map", "--layer", "K=1000000000,C=1000000000,P=56,Q=56,R=3,S=3", "--accelerator", "eyeriss"],
     "layer: N*K*(C/groups)*P*Q*R*S must be at most 2**50 MACs"),
])
def test_numbers_out_of_range_are_named(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    assert needle in refused(capsys, *argv)


def test_output_paths_are_checked_before_the_work(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  binary: Path) -> None:
    assert "argument --out: cannot write /proc/nope/best.yaml" in refused(
        capsys, "hwsearch", "--network", "alexnet", "--budget", "eyeriss", "--out", "/proc/nope/best.yaml")
    assert f"argument --html: {tmp_path} is a folder; give a file path" in refused(
        capsys, "report", "x", "--storage", f"sqlite:///{tmp_path}/none.db", "--html", str(tmp_path))
    assert f"argument --plots: {binary} is a file; give a folder" in refused(
        capsys, "report", "x", "--storage", f"sqlite:///{tmp_path}/none.db", "--plots", str(binary))
    assert "give at least one output: --html FILE, --csv FILE, --json-out FILE or --plots DIR" in refused(
        capsys, "report", "x", "--storage", f"sqlite:///{tmp_path}/none.db")
    db = tmp_path / "s.db"
    assert "argument --report: cannot write /proc/r.html" in refused(
        capsys, "codesign", "--recipe", "nb201-eyeriss", "--storage", f"sqlite:///{db}", "--report", "/proc/r.html")
    assert not db.exists()  # refused before the study was created


def test_a_config_file_is_not_read_as_a_recipe_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = refused(capsys, "codesign", str(tmp_path / "cfg.json"), "--storage", f"sqlite:///{tmp_path}/s.db")
    assert line.endswith("cfg.json: no such study config")


def test_huge_layers_on_a_board_are_searched_or_refused_at_once(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    wide = tmp_path / "wide.yaml"  # K = 1e9: the tile axes stop where the board's DSPs and BRAM stop
    wide.write_text("name: wide\nlayers:\n  - {name: c1, K: 1000000000, C: 64, P: 4, Q: 4, R: 3, S: 3}\n")
    code, out, err = cli(capsys, "hwsearch", "--network", str(wide), "--budget", "xc7z020", "--json")
    assert code == 0, err
    assert '"Tm"' in out
    tall = tmp_path / "tall.yaml"
    tall.write_text("name: tall\nlayers:\n  - {name: c1, K: 16, C: 3, P: 100000, Q: 100000, R: 3, S: 3}\n")
    line = refused(capsys, "hwsearch", "--network", str(tall), "--budget", "xc7z020")
    assert "100,000 row x 100,000 column tile sizes" in line and "more than the 4,194,304" in line


def test_version_lists_and_global_options_after_the_command(capsys: pytest.CaptureFixture[str],
                                                            binary: Path) -> None:
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.startswith("coexplore ")
    code, out, _ = cli(capsys, "list", "recipes")
    assert code == 0 and "nb201-eyeriss " in out and "grouped on nb201" in out
    code, out, _ = cli(capsys, "list", "boards")
    assert code == 0 and "xc7z020" in out and "zcu102" in out
    code, out, _ = cli(capsys, "list", "mappers")
    assert code == 0 and out.split()[0] == "default" and "exhaustive" in out
    code, _, err = cli(capsys, "evaluate", "--network", str(binary), "--accelerator", "eyeriss", "--debug")
    assert code == 2 and "Traceback" in err  # --debug after the subcommand works like before it
    code, _, err = cli(capsys, "nas", "--data-dir", "/nonexistent/dir")
    assert code == 2 and "'/nonexistent/dir' is not a directory" in err


REPO = Path(__file__).resolve().parents[1]


def test_readme_sample_files_run_as_written(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's lines on examples/my_net.yaml, my_acc.yaml and mappings.yaml run as they are written,
    and the mappings `map --out` writes give `evaluate --mapping` the same cost as the search found."""
    import json
    import shlex

    readme = (REPO / "README.md").read_text()
    use = readme[readme.index("## Use"):]
    lines = [x for x in use.splitlines() if x.startswith("coexplore ") and "examples/" in x]
    assert len(lines) >= 2, lines
    monkeypatch.chdir(tmp_path)
    for line in lines:
        argv = [a.replace("examples/", f"{REPO}/examples/") for a in shlex.split(line.split("#")[0])[1:]]
        code, _, err = cli(capsys, *argv)
        assert code == 0, (line, err)
    code, out, err = cli(capsys, "map", "--network", f"{REPO}/examples/my_net.yaml", "--accelerator",
                         f"{REPO}/examples/my_acc.yaml", "--out", "found.yaml", "--json")
    assert code == 0, err
    found = json.loads(out)
    code, out, err = cli(capsys, "evaluate", "--network", f"{REPO}/examples/my_net.yaml", "--accelerator",
                         f"{REPO}/examples/my_acc.yaml", "--mapping", "found.yaml", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["energy_pj"], again["latency_cycles"]) == pytest.approx((found["energy_pj"], found["latency_cycles"]),
                                                                           rel=1e-12)
    assert "--out: padded mappings" in refused(capsys, "map", "--network", "alexnet", "--accelerator", "eyeriss",
                                               "--padding", "--out", "x.yaml")


@pytest.mark.parametrize("what", ["accelerator", "network"])
def test_an_exported_preset_reads_back_to_the_same_cost(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        what: str) -> None:
    import json

    name = {"accelerator": "eyeriss", "network": "alexnet"}[what]
    code, _, err = cli(capsys, "export", what, name, "--out", str(tmp_path / "x.yaml"))
    assert code == 0, err
    base = ["--network", "alexnet", "--accelerator", "eyeriss", "--samples", "64", "--json"]
    code, out, _ = cli(capsys, "evaluate", *base)
    preset = json.loads(out)
    swapped = [str(tmp_path / "x.yaml") if a == name else a for a in base]
    code, out, err = cli(capsys, "evaluate", *swapped)
    assert code == 0, err
    exported = json.loads(out)
    assert (exported["energy_pj"], exported["latency_cycles"], exported["area_mm2"]) == (
        preset["energy_pj"], preset["latency_cycles"], preset["area_mm2"])


def test_sigterm_stops_a_study_like_ctrl_c(tmp_path: Path) -> None:
    """`kill PID` (what `timeout` and schedulers send) leaves an INTERRUPTED study and says how to resume it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    config = (REPO / "examples" / "study-smoke.yaml").read_text().replace("trials: 300", "trials: 100000")
    (tmp_path / "big.yaml").write_text(config)
    db = f"sqlite:///{tmp_path}/s.db"
    proc = subprocess.Popen([sys.executable, "-m", "coexplore.cli.main", "study", "run", str(tmp_path / "big.yaml"),
                             "--name", "big", "--storage", db, "--jobs", "1", "--quiet"], stderr=subprocess.PIPE,
                            text=True, env={**os.environ})
    import sqlite3

    deadline = time.time() + 120
    while time.time() < deadline:  # until finished trials are being stored (not only a batch's WAITING rows)
        time.sleep(0.5)
        try:
            with sqlite3.connect(tmp_path / "s.db") as con:
                if con.execute("SELECT COUNT(*) FROM trials WHERE state NOT IN ('WAITING', 'RUNNING')").fetchone()[0]:
                    break
        except sqlite3.Error:
            continue
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"continue it with `coexplore study resume big --storage {db}`" in err
    with sqlite3.connect(tmp_path / "s.db") as con:
        assert con.execute("SELECT state FROM studies WHERE name = 'big'").fetchone()[0] == "INTERRUPTED"


@pytest.mark.parametrize(("missing", "argv", "extra"), [
    ("onnx", ["map", "--network", "{d}/model.onnx", "--accelerator", "eyeriss"], "coexplore[onnx]"),
    ("torch", ["measure", "--count", "1", "--out", "{d}/m.csv"], "coexplore[nas]"),
    ("torch", ["predictor", "evaluate", "--predictor", "gcn", "--framework", "onnx", "--train", "{csv}", "--test",
               "{csv}", "--target", "latency_ms"], "coexplore[nas]"),
    ("scipy", ["predictor", "evaluate", "--predictor", "flops", "--framework", "onnx", "--train", "{csv}", "--test",
               "{csv}", "--target", "latency_ms"], "coexplore[nas]"),
    ("torch", ["codesign", "--recipe", "fnas-digits-7z020", "--storage", "sqlite:///{d}/f.db"], "coexplore[nas]"),
])
def test_a_missing_extra_is_one_line_naming_it(tmp_path: Path, missing: str, argv: list[str], extra: str) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import data_root

    (tmp_path / "model.onnx").write_bytes(b"not onnx")
    csv = data_root() / "nasbench201" / "nb201_device_latency.csv"
    args = [a.format(d=tmp_path, csv=csv) for a in argv]
    code = (f"import sys; sys.modules[{missing!r}] = None\n"
            "from coexplore.cli.main import main\nsys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env={**os.environ},
                       timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert f"needs the package '{missing}'" in last or f"need {missing}" in last, last
    assert extra in last


def test_a_bad_mapping_names_its_file_and_layer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("layers:\n  features.0:\n    levels: [{name: x, temporal: {K: 3}}]\n")
    line = refused(capsys, "evaluate", "--network", "alexnet", "--accelerator", "eyeriss", "--mapping", str(bad))
    assert f"mapping file '{bad}': layers.features.0: mapping.levels: must have one level mapping" in line


def test_hwsearch_progress_counts_evaluations_out_of_the_budget(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "hwsearch", "--network", str(REPO / "examples" / "my_net.yaml"), "--budget", "eyeriss",
                       "--budget-evals", "4")
    assert code == 0, err
    assert "4/4" in err and "accelerators:" not in err  # the driver's bar, with its total, and no second one


def test_chain_and_blocks_train_on_the_digits_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    pytest.importorskip("torch", reason="training on the digits needs the extra 'nas'")
    code, out, err = cli(capsys, "nas", "--space", "chain", "--strategy", "random", "--budget-queries", "1",
                         "--epochs", "1", "--latency", "none", "--json")
    assert code == 0, err
    assert "digits" in json.loads(out)["accuracy_source"]


@pytest.mark.parametrize(("params", "needle"), [
    ("{population: x}", "population: must be an integer >= 1, got 'x'"),
    ("{bogus: 3}", "strategy.params: unknown bogus for evolution; valid: population, sample, batch"),
])
def test_strategy_parameter_errors_name_the_parameter(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      params: str, needle: str) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("problem: {kind: nas, space: nb201, accuracy: table, latency: none}\nobjectives: [accuracy]\n"
                   f"strategy: {{name: evolution, params: {params}}}\nbudget: {{trials: 4}}\nname: s\n")
    assert needle in refused(capsys, "study", "run", str(cfg), "--storage", f"sqlite:///{tmp_path}/s.db")
