"""``coexplore codesign``: a recipe (or config) run as a study, summarised as the front it found.

Recipes are study configs of kind ``codesign`` shipped with the package
(``coexplore/data/recipes``; ``examples/`` links to them): ``nb201-eyeriss`` is the head-to-head
space of DESIGN.md (NAS-Bench-201 x the Eyeriss-budget grid, objectives accuracy and EDP,
fixed-reference hypervolume). Running the same name again resumes the study (a killed
run loses nothing); a different config under an existing name is refused.
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.search.pareto import non_dominated
from coexplore.search.trial import Trial, TrialState
from coexplore.study.config import StudyConfig, load_config
from coexplore.study.problems import build_problem, resolve_config
from coexplore.study.storage import open_storage
from coexplore.study.study import run_study

__all__ = ["RECIPES_DIR", "load_recipe", "recipe_names", "run_codesign"]

RECIPES_DIR = Path(__file__).resolve().parents[1] / "data" / "recipes"


def recipe_names() -> tuple[str, ...]:
    """Names of the shipped recipes (file stems with ``_`` written ``-``)."""
    return tuple(sorted(p.stem.replace("_", "-") for p in RECIPES_DIR.glob("*.yaml")))


def load_recipe(name: str) -> StudyConfig:
    """The config of recipe ``name``."""
    path = RECIPES_DIR / f"{name.replace('-', '_')}.yaml"
    if not path.is_file():
        raise SpecError(f"--recipe: unknown recipe {name!r}; valid: {', '.join(recipe_names())}")
    return load_config(path)


def _config(source: str, *, strategy: str | None, budget: int | str | None, seed: int | None,
            precisions: str | None = None) -> StudyConfig:
    as_file = source.lower().endswith((".yaml", ".yml", ".json")) or "/" in source or Path(source).is_file()
    cfg = load_config(source) if as_file else load_recipe(source)
    if cfg.kind != "codesign":
        raise SpecError(f"{source}: problem.kind must be codesign for coexplore codesign, got {cfg.kind!r}")
    data = cfg.to_dict()
    if strategy is not None and strategy != cfg.strategy:
        data["strategy"] = {"name": strategy, "params": {}}
    if budget is not None:
        data["budget"] = {"trials": budget}
    if seed is not None:
        data["seed"] = seed
    if precisions is not None:  # replaces the recipe's choices and drops (drops inline: W4A4:1.5)
        data["problem"] = {k: v for k, v in data["problem"].items() if k != "accuracy_drop"}
        data["problem"]["precisions"] = [x.strip() for x in precisions.split(",") if x.strip()] or precisions
    return StudyConfig.from_dict(data, source=source)


def _accuracy_note(before: StudyConfig, after: StudyConfig) -> tuple[str, str | None]:
    """(study name suffix, a line for stderr) when ``accuracy_epochs: auto`` fell back to the shipped 12 epochs."""
    if before.problem.get("accuracy_epochs") != "auto" or after.problem.get("accuracy_epochs") != 12:
        return "", None
    return "-12ep", ("coexplore codesign: accuracy is NAS-Bench-201's shipped 12-epoch test column: the 200-epoch "
                     "column has no licence and is read from the data directory (--data-dir or COEXPLORE_DATA), "
                     "which is not set or lacks nasbench201/nb201_accuracy.csv")


def run_codesign(source: str, *, strategy: str | None = None, budget: int | str | None = None,
                 seed: int | None = None, storage: str = "sqlite:///coexplore-studies.db", name: str | None = None,
                 jobs: int | None = 1, progress: bool = True, precisions: str | None = None) -> dict[str, Any]:
    """Run (or resume) the codesign study of recipe or config ``source``; the summary of DESIGN.md.

    ``budget``: pairs to evaluate, or ``"all"`` (every pair of an enumerable space). ``precisions``
    (``"W8A8,W4A4:1.5"``) replaces the config's precision choices and accuracy drops (the accuracy at
    a precision is NB201's minus the given drop: no quantized NB201 evaluator exists offline).
    """
    t0 = time.perf_counter()
    if isinstance(budget, str) and budget != "all":
        raise SpecError(f"--budget-evals: must be a positive integer or 'all', got {budget!r}")
    asked = _config(source, strategy=strategy, budget=None if budget == "all" else budget, seed=seed,
                    precisions=precisions)
    base = resolve_config(asked)
    suffix, note = _accuracy_note(asked, base)
    if note:
        print(note, file=sys.stderr)
    if budget == "all" and base.strategy != "codesign-nas":
        raise SpecError(f"--budget-evals: 'all' (every pair) is for strategy codesign-nas, got {base.strategy!r}; "
                        "give a number of pair evaluations")
    problem = build_problem(base, progress=progress)
    if budget == "all":
        if not hasattr(problem, "n_pairs"):
            raise SpecError("--budget-evals: 'all' needs an enumerable space (space nb201), got space chain")
        base = dataclasses.replace(base, trials=int(problem.n_pairs))
    label = Path(source).stem.replace("_", "-") if source.endswith((".yaml", ".yml")) else source
    if precisions is not None:  # another config than the recipe's: another default name
        from coexplore.joint.precision import problem_precisions

        suffix += "-" + "-".join(p.label for p in problem_precisions(base.problem["precisions"]))
    study = name or f"{label}{suffix}-{base.strategy}-seed{base.seed}-{base.trials}"
    summary = run_study(base, name=study, storage=storage, jobs=jobs, progress=progress, problem=problem,
                        continue_existing=True)
    out = summarize(study, storage=storage, problem=problem)
    out["seconds"] = time.perf_counter() - t0
    out["study_seconds"] = summary.seconds
    out["evaluated_now"] = summary.evaluated_now
    out["already_complete"] = summary.already_complete
    out["note"] = summary.note
    return out


def summarize(study: str, *, storage: str, problem: Any) -> dict[str, Any]:
    """The codesign JSON of a stored study: strategy, pairs evaluated, hypervolume, the front.

    Front entries of the grid space carry ``perf_per_area`` (images/s/cm²) and, with precisions,
    ``precision`` (the JSON then lists ``precisions`` with each one's user-given accuracy drop); a strategy with a
    ``search_report`` (codesign-nas-rl) adds it as ``search`` (its reward and best pair).

    The hypervolume is over every feasible pair evaluated, in (accuracy, EDP) against the
    space's fixed reference (FNAS's FPGA space: accuracy and latency as a share of the
    timing spec), whatever the study's own objectives, so studies compare.
    """
    store = open_storage(storage, must_exist=True)
    try:
        info = store.study(study)
        trials = store.trials(study)
        ckpt = store.checkpoint(study)
    finally:
        store.close()
    cfg = StudyConfig.from_dict(info.config, source=f"study {study!r} config")
    strategy = pickle.loads(ckpt[2]) if ckpt is not None else None
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    pairs = max(len(trials), int(getattr(strategy, "pairs_evaluated", 0) or 0))
    out: dict[str, Any] = {"study": study, "storage": storage, "strategy": cfg.strategy, "seed": cfg.seed,
                           "budget_evals": cfg.trials, "pairs_evaluated": pairs, "trials": len(trials),
                           "feasible": len(done)}
    acc = np.array([t.values[0] for t in done], dtype=np.float64)
    on_front = _front(done, cfg)
    if hasattr(problem, "specs") and hasattr(problem, "hw_grid"):  # NASAIC's multi-task heterogeneous space
        out["front"] = [{"trial": done[i].number, **{k: done[i].params.get(k) for k in _NASAIC_KEYS},
                         "accuracy": float(done[i].values[0])} for i in on_front]
        best = max(done, key=lambda t: (t.values[0], -t.number)) if done else None
        out["best"] = None if best is None else {"trial": best.number, "accuracy": float(best.values[0]),
                                                 **{k: best.params.get(k) for k in _NASAIC_KEYS}}
        out["specs"] = {"latency_cycles": problem.specs.latency_cycles, "energy_nj": problem.specs.energy_nj,
                        "area_um2": problem.specs.area_um2}
        out["violating"] = sum(1 for t in trials if t.reason.startswith("specs:"))
        lat = np.array([t.params["latency_cycles"] for t in done], dtype=np.float64)
        spec = problem.specs.latency_cycles or (float(lat.max()) if len(lat) else 1.0)
        from coexplore.search.pareto import hypervolume_2d

        out["hypervolume"] = hypervolume_2d(np.column_stack([-acc, lat / spec]), (0.0, 1.0)) if len(acc) else 0.0
        out["hypervolume_objectives"] = ["mean accuracy", "latency / latency spec"]
    elif hasattr(problem, "lut_budget"):  # QuanNAS: quantized chains x LUT engines under rL and rT
        out.update(_quant_summary(done, on_front, trials, problem))
    elif hasattr(problem, "reference_cost"):  # FABNet x the butterfly accelerator
        out.update(_fabnet_summary(done, on_front, problem))
    elif hasattr(problem, "best_hw"):  # NANDS: networks x network-on-chip designs
        out.update(_noc_summary(done, on_front, trials, problem))
    elif hasattr(problem, "hardware_record"):  # NACIM: networks x computing-in-memory crossbars
        out.update(_cim_summary(done, on_front, trials, problem))
    elif hasattr(problem, "exact_hypervolume"):
        # (accuracy, EDP) of every feasible pair, whatever the study's objectives: comparable across studies
        idx = np.array([int(t.params["arch_index"]) for t in done], dtype=np.int64)
        col = problem.columns_of([t.params for t in done])
        energy, latency, area = problem.costs(idx, col)
        from coexplore.joint.front import perf_per_area

        ppa = perf_per_area(latency, area, problem.clock_ghz)
        out["front"] = [_entry(done[i], energy=float(energy[i]), latency_cycles=int(latency[i]),
                               area_mm2=float(area[i]), perf=float(ppa[i])) for i in on_front]
        hv = problem.hypervolume(acc, energy * latency) if len(acc) else 0.0
        out["hypervolume"] = hv
        out["hypervolume_objectives"] = ["accuracy", "edp"]
        out["hypervolume_fraction"] = hv / problem.exact_hypervolume
        out["hypervolume_reference"] = {"accuracy": problem.reference[0], "log10_edp": problem.reference[1]}
        out["space_pairs"] = problem.n_pairs
        out["accuracy_source"] = problem.accuracy_source
        if getattr(problem, "precisions", ()):
            from coexplore.joint.precision import precision_records

            out["precisions"] = precision_records(problem.precisions)
    else:
        lat = np.array([t.values[1] for t in done], dtype=np.float64)
        out["front"] = [_entry(done[i], latency_cycles=int(lat[i]), clock_mhz=problem.board.clock_mhz)
                        for i in on_front]
        for e, i in zip(out["front"], on_front, strict=True):  # FNAS's table columns (coexplore.cost.fpga_pipeline)
            e.update({k: done[i].params[k] for k in _PIPELINE_KEYS if k in done[i].params})
        out["hypervolume"] = problem.hypervolume(acc, lat) if len(acc) else 0.0
        out["hypervolume_objectives"] = ["accuracy", "latency / timing spec"]
        out["pruning"] = _pruning(trials, problem)
    report = getattr(strategy, "report", None)
    if report:
        out["estimator"] = dict(report)
    if strategy is not None and hasattr(strategy, "search_report"):
        strategy.reattach(problem)  # the checkpoint holds no problem
        out["search"] = strategy.search_report()
    return out


def _fabnet_summary(done: list[Trial], on_front: list[int], problem: Any) -> dict[str, Any]:
    """Front entries (the network, its butterfly design and costs) and the hypervolume over (accuracy,
    cost / the problem's fixed reference cost: the largest network of the space on the paper-shaped design)."""
    from coexplore.search.pareto import hypervolume_2d

    def entry(t: Trial) -> dict[str, Any]:
        p = t.params
        e = _entry(t, latency_cycles=int(p["latency_cycles"]), energy=float(p["energy_pj"]),
                   area_mm2=float(p["area_mm2"]))
        e["latency_ms"] = p.get("latency_ms")
        return e

    acc = np.array([t.values[0] for t in done], dtype=np.float64)
    cost = np.array([t.values[1] for t in done], dtype=np.float64) / problem.reference_cost
    return {"front": [entry(done[i]) for i in on_front],
            "hypervolume": hypervolume_2d(np.column_stack([-acc, cost]), (0.0, 1.0)) if len(acc) else 0.0,
            "hypervolume_objectives": ["accuracy", f"{problem.objectives[1]} / reference"],
            "budget": problem.budget, "networks_trained": len(problem.train_seconds)}


_QUANT_KEYS = ("arch", "formats", "depth", "param_kbits", "lut", "bram18k", "fps", "latency_ms", "accelerator")


def _quant_summary(done: list[Trial], on_front: list[int], trials: list[Trial], problem: Any) -> dict[str, Any]:
    """QuanNAS's figures: the (accuracy, LUTs) front with Table 3's columns, the best design, the specs, pruning.

    Table 3 compares each design's accuracy with and without quantization: ``float_accuracy`` is the
    same network without quantizers, trained exactly as long (the problem's ``reference_accuracy``;
    cached, but a process that did not run the study trains the front's networks again, seconds each).
    """
    def entry(t: Trial) -> dict[str, Any]:
        e = _entry(t, latency_cycles=int(t.params["latency_cycles"]), clock_mhz=problem.board.clock_mhz)
        e.update({k: t.params.get(k) for k in _QUANT_KEYS})
        e["float_accuracy"] = problem.reference_accuracy(np.asarray(t.params["arch_choices"], dtype=np.int64))
        return e

    best = max(done, key=lambda t: (t.values[0], -t.number)) if done else None
    acc = np.array([t.values[0] for t in done], dtype=np.float64)
    lut = np.array([t.values[1] for t in done], dtype=np.float64)
    return {"front": [entry(done[i]) for i in on_front], "best": None if best is None else entry(best),
            "specs": {"lut_budget": problem.lut_budget, "min_fps": problem.min_fps, "board": problem.board.name},
            "hypervolume": problem.hypervolume(acc, lut) if len(acc) else 0.0,
            "hypervolume_objectives": ["accuracy", "LUTs / rL"], "pruning": _pruning(trials, problem)}


_CIM_KEYS = ("arch", "arch_index", "formats", "accuracy_column", "variation_aware", "clean_accuracy", "noisy_accuracy",
             "noisy_std", "analog_accuracy", "latency_ns", "tops", "tops_per_w", "efficiency", "macs", "subarrays")


def _cim_summary(done: list[Trial], on_front: list[int], trials: list[Trial], problem: Any) -> dict[str, Any]:
    """NACIM's figures: the front with its table's columns (clean and noisy accuracy, area, EDP, TOPS, TOPS/W),
    the most accurate design, the specs, and the accuracy readings (table queries or trained networks).

    The hypervolume is over (accuracy %, TOPS/W efficiency in (0, 1]) against (0, 0): the efficiency is
    normalised per network by the best design of the space, so studies of one space compare.
    """
    from coexplore.search.pareto import hypervolume_2d

    def entry(t: Trial) -> dict[str, Any]:
        p = t.params
        e = _entry(t, latency_cycles=round(p["latency_ns"]), energy=float(p["energy_pj"]),  # 1 GHz: a cycle per ns
                   area_mm2=float(p["area_mm2"]), clock_mhz=1000.0)
        e.update({k: p[k] for k in _CIM_KEYS if k in p})
        e["edp"] = float(p["edp"])  # pJ*ns
        return e

    best = max(done, key=lambda t: (t.values[0], -t.number)) if done else None
    pts = np.array([[-t.values[0], -t.params["efficiency"]] for t in done], dtype=np.float64).reshape(-1, 2)
    readings = len(getattr(problem, "queried", ())) or len(getattr(problem, "train_seconds", {}))
    return {"front": [entry(done[i]) for i in on_front], "best": None if best is None else entry(best),
            "specs": {"max_area_mm2": problem.max_area_mm2, "devices": list(problem.devices)},
            "hypervolume": hypervolume_2d(pts, (0.0, 0.0)) if len(pts) else 0.0,
            "hypervolume_objectives": ["accuracy", "TOPS/W efficiency"],
            "rejected_by_specs": sum(1 for t in trials if t.reason.startswith("specs:")),
            "accuracy_readings": readings}


_NOC_KEYS = ("arch", "arch_index", "period_ns", "throughput_per_s", "latency_ns", "bottleneck", "bottleneck_kind",
             "tasks", "alleviation_steps")


def _noc_summary(done: list[Trial], on_front: list[int], trials: list[Trial], problem: Any) -> dict[str, Any]:
    """NANDS's figures: the (accuracy, throughput) front with each NoC design, its bottleneck and alleviation
    steps, the most accurate design, the real-time spec, and how many designs loop II priced.

    The hypervolume is over (accuracy %, period / the spec's period) against (0, 1) (the longest period
    seen when there is no spec), so studies of one spec compare.
    """
    from coexplore.search.pareto import hypervolume_2d

    def entry(t: Trial) -> dict[str, Any]:
        p = t.params
        e = _entry(t, latency_cycles=round(p["latency_ns"]), clock_mhz=1000.0)  # a cycle per ns
        e.update({k: p[k] for k in _NOC_KEYS if k in p})
        return e

    best = max(done, key=lambda t: (t.values[0], -t.number)) if done else None
    period = np.array([t.values[1] for t in done], dtype=np.float64)
    acc = np.array([t.values[0] for t in done], dtype=np.float64)
    spec = 1e9 / problem.min_throughput if problem.min_throughput else (float(period.max()) if len(period) else 1.0)
    return {"front": [entry(done[i]) for i in on_front], "best": None if best is None else entry(best),
            "specs": {"min_throughput_per_s": problem.min_throughput, "link_budget_gb_per_s": problem.link_budget},
            "hypervolume": hypervolume_2d(np.column_stack([-acc, period / spec]), (0.0, 1.0)) if len(acc) else 0.0,
            "hypervolume_objectives": ["accuracy", "period / spec period"],
            "rejected_by_specs": sum(1 for t in trials if t.reason.startswith("specs:")),
            "noc_designs_priced": problem.design_evaluations, "accuracy_source": problem.accuracy_source}


_NASAIC_KEYS = ("design", "assign", "arch", "arch_index", "accuracy_tasks", "latency_cycles", "energy_nj", "area_um2")
_PIPELINE_KEYS = ("depth", "params", "pipeline_efficiency", "fps", "gops", "power_w", "gops_per_w")


def _front(done: list[Trial], cfg: StudyConfig) -> list[int]:
    """Indices into ``done`` of the non-dominated trials, most accurate first; a pair evaluated again
    (a converged controller repeats its samples) is listed once, at its first trial."""
    if not done:
        return []
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in cfg.directions])
    v = np.array([t.values for t in done], dtype=np.float64) * signs
    seen: set[str] = set()
    out = []
    for i in sorted(np.flatnonzero(non_dominated(v)).tolist(), key=lambda i: (-done[i].values[0], done[i].number)):
        p = done[i].params
        key = repr((p.get("arch_index"), p.get("design"), p.get("precision"))) if "arch_index" in p else \
            repr(sorted(p.items()))
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def _entry(t: Trial, *, latency_cycles: int, energy: float | None = None, area_mm2: float | None = None,
           clock_mhz: float | None = None, perf: float | None = None) -> dict[str, Any]:
    """A front entry of DESIGN.md: the pair, its accelerator and its costs (None where the space has none)."""
    p = t.params
    e: dict[str, Any] = {"trial": t.number, "arch_index": p.get("arch_index"), "design": p.get("design"),
                         "arch": p.get("arch"), "accelerator": p.get("accelerator", {}),
                         "accuracy": float(t.values[0]), "latency_cycles": latency_cycles, "energy_pj": energy,
                         "area_mm2": area_mm2, "edp": None if energy is None else energy * latency_cycles}
    if "precision" in p:
        e["precision"] = p["precision"]  # accuracy is NB201's minus this precision's user-given drop
    if perf is not None:
        e["perf_per_area"] = perf  # images/s per cm² at the design's clock
    if clock_mhz is not None:
        e["latency_ms"] = latency_cycles / (clock_mhz * 1e3)
    return e


def _pruning(trials: list[Trial], problem: Any) -> dict[str, Any]:
    """FNAS's (and QuanNAS's) figures: candidates the specs pruned before training, networks never trained for it.

    Counted from the stored trials (a resumed study included). The time this saves is
    measured by ``benchmarks/bench_fnas.py`` and ``benchmarks/bench_quannas.py`` (the same search with
    pruning off).
    """
    from coexplore.joint.fnas import PRUNED
    from coexplore.joint.quannas import PRUNED as MISSED

    def missed(t: Trial) -> bool:
        return t.reason.startswith((PRUNED, MISSED))

    pruned = [t for t in trials if missed(t) and "before training" in t.reason]
    rejected_after = sum(1 for t in trials if missed(t) and "after training" in t.reason)
    trained = {str(t.params.get("arch")) for t in trials if t.state is TrialState.COMPLETE or
               "after training" in t.reason}
    untrained = {str(t.params.get("arch")) for t in pruned} - trained
    secs = list(problem.train_seconds.values())
    return {"candidates": len(trials), "pruned_before_training": len(pruned),
            "pruned_share": len(pruned) / len(trials) if trials else 0.0, "rejected_after_training": rejected_after,
            "networks_trained": len(trained), "pruned_networks_never_trained": len(untrained),
            "mean_train_seconds": float(np.mean(secs)) if secs else None}
