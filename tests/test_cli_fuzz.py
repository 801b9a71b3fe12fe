"""Fuzz over the CLI (issue 22): every option of every command gets random and adversarial values, and the
command must end with exit code 0 or 2 (one line), never an exception, never a hang.

The options are found by walking the argparse tree, so a new option is fuzzed without touching this file.
Each case starts from a cheap valid command line of its command and replaces (or adds) one option; it
runs in-process under a per-case alarm. ``derandomize`` keeps CI reproducible.
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the CLI fuzz test needs hypothesis (extra test)")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from coexplore.cli import args as cli_args  # noqa: E402
from coexplore.cli.main import build_parser, main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("COEXPLORE_DATA", REPO.parent / "shared" / "data"))
SECONDS = 60  # per case: the cheapest valid command line of every command takes a few seconds at most
CASES = 400

ADVERSARIAL = ["", " ", "0", "-1", "1", "3", "nan", "inf", "-inf", "1e400", "99999999999999999999", "1.5",
               "x", "--", "-", "..", "/", "/proc/nope/x", "/dev/null", "\udcff", "é", "a" * 3000, "K=0",
               "all", "true", "sqlite:///", "postgresql://nobody@localhost:1/none", "nb201:99999", "eyeriss",
               "alexnet", "{f}", "{d}/new.yaml", "{binary}"]


WORK_SIZE = (cli_args.count, cli_args.non_negative_count, cli_args.budget_or_all)
"""Option types whose large valid values are long work asked for (65,527 timing repeats, a billion
evaluations), not a hang: the fuzz gives them values up to 64 only."""


def _asks_for_long_work(action: argparse.Action, value: str) -> bool:
    if action.type not in WORK_SIZE:
        return False
    try:
        return float(value) > 64
    except ValueError:
        return False


class Hang(Exception):
    """A case ran longer than SECONDS."""


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                         argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _leaves(child, (*path, name))


def _base(d: Path) -> dict[tuple[str, ...], list[str]]:
    """A cheap valid command line per command (positionals first, then options)."""
    cfg = d / "tiny.yaml"
    cfg.write_text("name: tiny\nproblem: {kind: nas, space: nb201, accuracy: table, latency: none}\n"
                   "objectives: [accuracy]\nstrategy: {name: random}\nbudget: {trials: 4}\n")
    csv = str(DATA / "nasbench201" / "nb201_device_latency.csv")
    case = str(DATA / "timeloop_reference" / "00-model-conv1d-1level.json")
    db = f"sqlite:///{d}/fuzz.db"
    net = str(REPO / "examples" / "my_net.yaml")
    model = d / "tiny_model.pt"
    if not model.exists():
        import torch

        torch.save(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(),
                                       torch.nn.Linear(8, 4)), model)
    return {
        ("list",): ["networks"],
        ("evaluate",): ["--network", net, "--accelerator", "eyeriss", "--samples", "16"],
        ("map",): ["--layer", "K=16,C=16,P=8,Q=8,R=3,S=3", "--accelerator", "eyeriss", "--max-evals", "200",
                   "--jobs", "1"],
        ("hwsearch",): ["--network", net, "--budget", "eyeriss", "--budget-evals", "2"],
        ("bench", "cost"): ["--network", "alexnet", "--layer", "features.0", "--accelerator", "eyeriss",
                            "--mappings", "500", "--repeats", "1"],
        ("timeloop-case",): [case],
        ("export",): ["accelerator", "eyeriss"],
        ("nas",): ["--strategy", "random", "--budget-queries", "3"],
        ("predictor", "evaluate"): ["--predictor", "flops", "--train", csv, "--test", csv, "--target", "latency_ms",
                                    "--framework", "onnx"],
        ("predictor", "adapt"): ["--from", csv, "--device-samples", csv, "--framework", "onnx"],
        ("predictor", "select"): ["--count", "3"],
        ("measure",): ["--out", str(d / "m.csv"), "--indices", "1", "--warmup", "0", "--repeats", "1"],
        ("study", "run"): [str(cfg), "--storage", db, "--jobs", "1"],
        ("study", "resume"): ["tiny", "--storage", db, "--jobs", "1"],
        ("study", "show"): ["tiny", "--storage", db],
        ("study", "list"): ["--storage", db],
        ("study", "delete"): ["gone", "--storage", db, "--yes"],
        ("study", "export"): ["tiny", "--storage", db, "--out", str(d / "t.csv")],
        ("report",): ["tiny", "--storage", db, "--json-out", str(d / "r.json")],
        ("maestro",): ["--hw", str(REPO / "benchmarks" / "data" / "maestro" / "hw_64pe_bw16.m"),
                       "--mapping", str(REPO / "benchmarks" / "data" / "maestro" / "mixed_xp_ws.m")],
        ("maestro-system",): ["--networks", "alexnet,squeezenet", "--design", "dla:512:32,shi:512:32"],
        ("cim",): ["--network", "chain-digits:k3c9-k5c18"],
        ("secure", "price"): ["--network", "chain-digits:k3c9-k5c18", "--bits", "16"],
        ("secure", "measure"): ["--repeats", "2", "--warmup", "0", "--out", str(d / "he.json")],
        ("lowrank",): ["--model", str(model), "--ratio", "2", "--input-shape", "1,16", "--out", str(d / "f.pt")],
        ("noc",): ["--system", str(REPO / "examples" / "system_mesh_2x2.yaml"), "--network", net, "--samples", "8",
                   "--svg", str(d / "noc.svg")],
        ("codesign",): ["--recipe", "nb201-eyeriss", "--budget-evals", "5", "--no-report", "--quiet",
                        "--storage", f"sqlite:///{d}/cd.db"],
    }


def _options() -> list[tuple[tuple[str, ...], argparse.Action, int]]:
    """(command, option, index among the command's positionals or -1) of every option of every command."""
    out = []
    for path, parser in _leaves(build_parser()):
        positionals = [a for a in parser._actions if not a.option_strings]
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            out.append((path, action, positionals.index(action) if action in positionals else -1))
    return out


OPTIONS = _options()


def _argv(base: list[str], action: argparse.Action, position: int, value: str) -> list[str]:
    """``base`` with ``action`` set to ``value``: a flag added, an option replaced, a positional replaced (or
    inserted after the base's leading positionals when the base does not give it)."""
    argv = list(base)
    if position >= 0:
        leading = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
        if position < leading:
            argv[position] = value
        else:
            argv.insert(leading, value)
        return argv
    flag = action.option_strings[-1]
    if flag in argv:
        i = argv.index(flag)
        del argv[i:i + (1 if action.nargs == 0 else 2)]
    return [*argv, flag] if action.nargs == 0 else [*argv, flag, value]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "bin.yaml").write_bytes(b"\xff\xfe\x00binary")
    return d


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang(f"still running after {SECONDS} s")


@settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(which=st.integers(0, len(OPTIONS) - 1),
       value=st.one_of(st.sampled_from(ADVERSARIAL), st.text(max_size=40),
                       st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(repr)))
def test_every_option_ends_in_exit_0_or_2(which: int, value: str, workdir: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path, action, position = OPTIONS[which]
    assume(not _asks_for_long_work(action, value))
    value = value.replace("{f}", str(workdir / "tiny.yaml")).replace("{d}", str(workdir)).replace(
        "{binary}", str(workdir / "bin.yaml"))
    bases = _base(workdir)
    assert path in bases, f"give `coexplore {' '.join(path)}` a cheap valid command line in _base"
    argv = [*path, *_argv(bases[path], action, position, value)]
    monkeypatch.chdir(workdir)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(SECONDS)
    try:
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except Hang as e:
        pytest.fail(f"coexplore {' '.join(map(repr, argv))}: {e}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err[-2000:])
    assert "Traceback" not in err or "--debug" in argv, (argv, err[-2000:])
