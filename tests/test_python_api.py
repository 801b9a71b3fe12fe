"""The Python front door: the README's examples run as they are written, and a Study made from Python
objects is stored, resumed, read back typed, and refuses a different problem or config untouched."""

from __future__ import annotations

import importlib.util
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import coexplore as cx
from coexplore.errors import SpecError, StudyError

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippet(marker: str) -> str:
    text = README.read_text()
    return text.split(f"<!-- {marker} -->\n```python\n", 1)[1].split("```", 1)[0]


def test_import_coexplore_is_light_and_lists_its_api() -> None:
    code = "import coexplore, sys; print(sorted(m for m in sys.modules if m.startswith(('torch', 'optuna', 'scipy'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    for name in ("Study", "optimize", "make_strategy", "search_accelerator", "map_network", "codesign",
                 "search_networks", "Categorical", "Box", "evaluate", "resolve_network"):
        assert name in dir(cx) and getattr(cx, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'bogus'"):
        _ = cx.bogus  # type: ignore[attr-defined]


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "example.py"
    path.write_text(_snippet("python-example"))
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert "alexnet on eyeriss: EDP" in out and "better than the preset" in out and "ZCU102 tiling" in out


@pytest.mark.skipif(importlib.util.find_spec("optuna") is None, reason="lists optuna strategies: extra 'optuna'")
def test_readme_custom_problem_example_runs_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "custom.py"
    path.write_text(_snippet("custom-problem-example"))
    runpy.run_path(str(path), run_name="__main__")
    first = capsys.readouterr().out
    assert first.startswith("400 trials, ") and "on the front" in first
    runpy.run_path(str(path), run_name="__main__")  # run again: the stored study is found, nothing re-evaluated
    assert capsys.readouterr().out == first


class Bits:
    """Minimise the number of ones and the distance to a target pattern (two objectives)."""

    objectives = ("ones", "distance")
    encoding = cx.Categorical((2,) * 12)
    target = np.array([1, 0] * 6)

    def evaluate(self, cands: Any) -> Any:
        x = cands.x
        return cx.Evaluation(values=np.column_stack([x.sum(1), np.abs(x - self.target).sum(1)]).astype(float),
                             feasible=np.ones(len(x), dtype=bool))

    def describe(self, cands: Any, i: int) -> dict[str, Any]:
        return {"bits": "".join(map(str, cands.x[i]))}


class OtherBits(Bits):
    pass


def test_study_from_python_objects(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = cx.Study.create("bits", storage=url, problem=Bits(), strategy="evolution", trials=120, seed=1)
    assert study.config.kind == "custom" and study.trials == []
    summary = study.optimize(problem=Bits())
    assert summary.evaluated_now == 120
    trials = cx.Study.load("bits", storage=url).trials
    assert len(trials) == 120 and all(isinstance(t, cx.Trial) for t in trials)
    assert all(t.state is cx.TrialState.COMPLETE and len(t.params["bits"]) == 12 for t in trials)
    front = study.best()
    values = np.array([t.values for t in trials])
    assert {t.values for t in front} == {tuple(v) for v in values  # exactly the non-dominated trials
                                          if not ((values <= v).all(1) & (values < v).any(1)).any()}
    again = cx.Study.create("bits", storage=url, problem=Bits(), strategy="evolution", trials=120, seed=1)
    assert again.optimize(problem=Bits()).evaluated_now == 0  # the same study, already at its budget


def test_study_refuses_another_problem_or_config_without_touching_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = cx.Study.create("bits", storage=url, problem=Bits(), strategy="nsga2", trials=80)
    study.optimize(problem=Bits())
    before = study.trials
    with pytest.raises(StudyError, match=r"was created for problem .*Bits, got .*OtherBits; nothing was changed"):
        study.optimize(problem=OtherBits())
    with pytest.raises(StudyError, match=r"another config \(strategy: stored .*nsga2.*given .*reinforce"):
        cx.Study.create("bits", storage=url, problem=Bits(), strategy="reinforce", trials=80)
    with pytest.raises(StudyError, match=r"pass it as optimize\(problem=...\)"):
        study.optimize()
    assert study.trials == before
    with pytest.raises(StudyError, match="give a config or a problem"):
        cx.Study.create("none", storage=url)
    with pytest.raises(SpecError, match=r"strategy\.name: must be one of"):
        cx.Study.create("bad", storage=url, problem=Bits(), strategy="bogus")


def test_study_from_a_config_dict_and_the_cli_agree(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    cfg = {"problem": {"kind": "nas", "space": "nb201", "dataset": "cifar10", "accuracy": "table",
                       "latency": "none"}, "objectives": ["accuracy"], "strategy": {"name": "optuna-tpe"}
           if importlib.util.find_spec("optuna") else {"name": "nsga2"}, "budget": {"trials": 30}, "seed": 2}
    study = cx.Study.create("nas", storage=url, config=cfg)
    study.optimize()
    best = study.best()
    done = [t for t in study.trials if t.state is cx.TrialState.COMPLETE]
    assert len(best) == 1 and best[0].values[0] == max(t.values[0] for t in done)
    from coexplore.study.study import show_study

    assert [t["params"] for t in show_study("nas", storage=url)["trials"]] == [t.params for t in study.trials]
