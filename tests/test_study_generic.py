"""Every generic strategy runs on every study kind whose problem declares an encoding, through the
study driver (storage, checkpoints, resume); a kind without one refuses them before anything runs."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path
from typing import Any

import pytest

from coexplore.errors import SpecError
from coexplore.study.config import StudyConfig
from coexplore.study.kinds import kind_strategies
from coexplore.study.storage import open_storage
from coexplore.study.study import resume_study, run_study, show_study

HAVE_OPTUNA = importlib.util.find_spec("optuna") is not None

PROBLEMS: dict[str, dict[str, Any]] = {
    "nas": {"problem": {"kind": "nas", "space": "nb201", "dataset": "cifar10", "accuracy": "table", "latency": "none"},
            "objectives": ["accuracy"], "trials": 40},
    "hwsearch": {"problem": {"kind": "hwsearch", "networks": ["alexnet"], "budget": "eyeriss", "mode": "sizing"},
                 "objectives": ["edp"], "trials": 6},
    "codesign": {"problem": {"kind": "codesign", "space": "nb201", "design_stride": 400, "accuracy_epochs": 12},
                 "objectives": ["accuracy", "edp"], "trials": 60},
    # FNAS's space: chain networks trained (1 epoch) on the digits x Zhang'15 tilings of an FPGA board
    "codesign-chain": {"problem": {"kind": "codesign", "space": "chain", "board": "xc7z020", "timing_ms": 5,
                                   "epochs": 1, "max_layers": 2},
                       "objectives": ["accuracy", "latency"], "trials": 4},
}


pytestmark = pytest.mark.usefixtures("module_cache")


def _config(kind: str, strategy: str, *, trials: int | None = None, seed: int = 0) -> StudyConfig:
    spec = PROBLEMS[kind]
    return StudyConfig.from_dict({"problem": spec["problem"], "objectives": spec["objectives"],
                                  "strategy": {"name": strategy}, "budget": {"trials": trials or spec["trials"]},
                                  "seed": seed})


HAVE_TORCH = importlib.util.find_spec("torch") is not None


def _marks(kind: str, name: str) -> list[Any]:
    marks = []
    if name.startswith("optuna"):
        marks.append(pytest.mark.skipif(not HAVE_OPTUNA, reason="needs the extra 'optuna'"))
    if kind == "codesign-chain":
        marks.append(pytest.mark.skipif(not HAVE_TORCH, reason="needs the extra 'torch' (the chain networks train)"))
    return marks


CASES = [pytest.param(kind, name, marks=_marks(kind, name))
         for kind in PROBLEMS for name in kind_strategies(PROBLEMS[kind]["problem"]["kind"])[1]]


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_generic_strategy_runs_as_a_study(kind: str, name: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    cfg = _config(kind, name)
    summary = run_study(cfg, name="g", storage=url, progress=False)
    shown = show_study("g", storage=url)
    assert summary.trials == cfg.trials == len(shown["trials"])
    assert shown["config"]["strategy"]["name"] == name
    done = [t for t in shown["trials"] if t["state"] == "COMPLETE"]
    assert done, "no feasible trial at all"
    if kind == "codesign":
        assert all("arch_index" in t["params"] and "accelerator" in t["params"] for t in done)
    if kind == "codesign-chain":
        assert all({"arch", "hw", "latency_ms"} <= set(t["params"]) for t in done), done[0]["params"]


@pytest.mark.parametrize("name", ["nsga2", pytest.param("optuna-tpe", marks=pytest.mark.skipif(
    not HAVE_OPTUNA, reason="needs the extra 'optuna'")), "cma-es"])
def test_generic_study_resumed_from_a_checkpoint_gives_the_uninterrupted_trials(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop after two batches (as a kill after a checkpoint would), resume: the trials equal an uninterrupted
    run's."""
    import coexplore.study.study as study_module
    from coexplore.search.driver import optimize

    full = f"sqlite:///{tmp_path / 'full.db'}"
    run_study(_config("codesign", name, trials=90), name="s", storage=full, progress=False)
    part = f"sqlite:///{tmp_path / 'part.db'}"
    with monkeypatch.context() as m:
        batches = iter(range(1000))
        m.setattr(study_module, "optimize", lambda *a, **k: optimize(*a, **k, stop=lambda: next(batches) >= 2))
        run_study(_config("codesign", name, trials=90), name="s", storage=part, progress=False)
    done = len(show_study("s", storage=part)["trials"])
    assert 0 < done < 90
    summary = resume_study("s", storage=part, progress=False)
    assert summary.evaluated_now == 90 - done
    a, b = show_study("s", storage=full)["trials"], show_study("s", storage=part)["trials"]
    assert [t["params"] for t in a] == [t["params"] for t in b]
    assert [t["values"] for t in a] == [t["values"] for t in b]


def test_mapping_kind_refuses_generic_strategies_naming_its_own() -> None:
    with pytest.raises(SpecError, match=r"strategy.name: must be one of layers for kind mapping, got 'nsga2'"):
        StudyConfig.from_dict({"problem": {"kind": "mapping", "network": "alexnet", "accelerator": "eyeriss"},
                               "strategy": "nsga2", "budget": {"trials": 3}})


def test_unknown_strategy_names_every_valid_one_for_the_kind() -> None:
    with pytest.raises(SpecError) as e:
        _config("codesign", "bogus")
    own, generic = kind_strategies("codesign")
    for n in own + generic:
        assert n in str(e.value)


def test_generic_strategy_checkpoint_pickles_without_the_problem(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config("codesign", "evolution", trials=20), name="e", storage=url, progress=False)
    store = open_storage(url, must_exist=True)
    try:
        ckpt = store.checkpoint("e")
    finally:
        store.close()
    assert ckpt is not None and len(ckpt[2]) < 200_000  # the strategy only, never the cost table
    assert pickle.loads(ckpt[2]).name == "evolution"
