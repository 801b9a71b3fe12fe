"""Study kind ``codesign``: (network, accelerator) pairs: NAS-Bench-201 x a design grid, FNAS's chains x an FPGA,
QuanNAS's quantized chains x LUT engines, NASAIC's two tasks x heterogeneous ASICs, NACIM's networks x
computing-in-memory crossbars, NANDS's cells x network-on-chip designs, or FABNet's hyper-parameters x the
butterfly accelerator."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from coexplore.errors import SpecError
from coexplore.study.kinds import ProblemKind, register
from coexplore.study.kinds._checks import integer, positive, string

if TYPE_CHECKING:
    from coexplore.search.strategy import Strategy
    from coexplore.study.config import StudyConfig


def _check(p: dict[str, Any], path: str) -> list[str]:
    errs: list[str] = []
    space = p.get("space", "nb201")
    if space not in ("nb201", "chain", "chain-quant", "nasaic", "nb201-cim", "chain-cim", "nb201-noc", "fabnet"):
        errs.append(f"{path}.space: must be nb201, chain, chain-quant, nasaic, nb201-cim, chain-cim, nb201-noc or "
                    f"fabnet, got {space!r}")
    if space == "nb201-noc":
        return _check_noc(p, path)
    if space == "fabnet":
        return _check_fabnet(p, path)
    if space in ("nb201-cim", "chain-cim"):
        return _check_cim(p, path, space)
    if space == "nasaic":
        return _check_nasaic(p, path)
    if space == "chain-quant":
        return _check_quant(p, path)
    for k in ("dataset", "accelerators", "board"):
        string(errs, p, path, k, kind="codesign")
    for k in ("max_latency_cycles", "max_area_mm2", "timing_ms"):
        positive(errs, p, path, k)
    for k in ("design_stride", "epochs", "max_layers"):
        integer(errs, p, path, k)
    if p.get("prune") is not None and not isinstance(p.get("prune"), bool):
        errs.append(f"{path}.prune: must be true or false, got {p.get('prune')!r}")
    if space == "nb201":
        from coexplore.joint.space import GRIDS

        if p.get("accelerators", "eyeriss") not in GRIDS:
            errs.append(f"{path}.accelerators: a design grid exists for {', '.join(GRIDS)}, got "
                        f"{p.get('accelerators')!r}")
    if p.get("accuracy_epochs", 200) not in (200, 12, "auto"):
        errs.append(f"{path}.accuracy_epochs: must be 200, 12 or auto (200 when the data directory has it), "
                    f"got {p.get('accuracy_epochs')!r}")
    if space == "chain" and p.get("timing_ms") is None:
        errs.append(f"{path}.timing_ms: required for space chain (the FNAS timing spec), got nothing")
    if p.get("precisions") is not None or p.get("accuracy_drop") is not None:
        errs += _check_precisions(p, path, space)
    return errs


_FABNET_KEYS = ("kind", "space", "budget", "depths", "widths", "seq_lens", "heads", "ffn_ratio", "steps",
                "train_size", "test_size")


def _check_fabnet(p: dict[str, Any], path: str) -> list[str]:
    """The problems of a ``space: fabnet`` config (FABNet hyper-parameters x the butterfly accelerator)."""
    from coexplore.presets.accelerators import ACCELERATORS

    errs = [f"{path}.{k}: not a key of space fabnet (its keys: {', '.join(_FABNET_KEYS[2:])}), got {p[k]!r}"
            for k in p if k not in _FABNET_KEYS]
    if p.get("budget", "nvdla-1024") not in ACCELERATORS:
        errs.append(f"{path}.budget: must be an accelerator preset ({', '.join(ACCELERATORS)}), got "
                    f"{p.get('budget')!r}")
    for k in ("heads", "ffn_ratio", "steps", "train_size", "test_size"):
        integer(errs, p, path, k)
    for k in ("depths", "widths", "seq_lens"):
        v = p.get(k)
        if v is not None and (not isinstance(v, list) or not v or not all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v)):
            errs.append(f"{path}.{k}: must be a non-empty list of integers >= 1, got {v!r}")
    if not errs:
        try:
            _fabnet_space(p)
        except SpecError as e:
            errs += [f"{path}: {m}" for m in e.problems]
    return errs


def _fabnet_space(p: dict[str, Any]) -> Any:
    from coexplore.nas.fabnet import FabnetSpace

    given: dict[str, Any] = {k: tuple(p[k]) for k in ("depths", "widths", "seq_lens") if k in p}
    given.update({k: p[k] for k in ("heads", "ffn_ratio") if k in p})
    return FabnetSpace(**given)


def _build_fabnet(config: StudyConfig) -> Any:
    from coexplore.joint.fabnet_codesign import FabnetButterflyProblem

    p = config.problem
    return FabnetButterflyProblem(budget=p.get("budget", "nvdla-1024"), objectives=config.objectives,
                                  space=_fabnet_space(p), steps=int(p.get("steps", 400)),
                                  train_size=int(p.get("train_size", 4000)), test_size=int(p.get("test_size", 1000)),
                                  seed=config.seed)


_NASAIC_KEYS = ("kind", "space", "task2", "specs", "constants", "pe_budget", "pe_step", "bandwidth_budget",
                "bandwidth_step")


def _check_nasaic(p: dict[str, Any], path: str) -> list[str]:
    """The problems of a ``space: nasaic`` config (NASAIC's two tasks x heterogeneous MAESTRO designs)."""
    from coexplore.joint.nasaic import TASK2_DATASETS

    errs = [f"{path}.{k}: not a key of space nasaic (its keys: {', '.join(_NASAIC_KEYS[2:])}), got {p[k]!r}"
            for k in p if k not in _NASAIC_KEYS]
    if p.get("task2", "cifar100") not in TASK2_DATASETS:
        errs.append(f"{path}.task2: must be one of {', '.join(TASK2_DATASETS)}, got {p.get('task2')!r}")
    if p.get("constants", "nasaic") not in ("nasaic", "current"):
        errs.append(f"{path}.constants: must be nasaic or current, got {p.get('constants')!r}")
    for k in ("pe_budget", "pe_step", "bandwidth_budget", "bandwidth_step"):
        integer(errs, p, path, k)
    specs = p.get("specs", {})
    if not isinstance(specs, dict):
        errs.append(f"{path}.specs: must be a mapping of latency_cycles, energy_nj, area_um2, got {specs!r}")
    else:
        for k in specs:
            if k not in ("latency_cycles", "energy_nj", "area_um2"):
                errs.append(f"{path}.specs.{k}: not a spec (latency_cycles, energy_nj, area_um2), got {specs[k]!r}")
        positive(errs, specs, f"{path}.specs", "latency_cycles")
        positive(errs, specs, f"{path}.specs", "energy_nj")
        positive(errs, specs, f"{path}.specs", "area_um2")
    return errs


_QUANT_KEYS = ("kind", "space", "board", "lut_budget", "min_fps", "epochs", "qat_epochs", "quant_mode", "prune",
               "max_layers", "weight_formats", "activation_formats")


def _check_quant(p: dict[str, Any], path: str) -> list[str]:
    """The problems of a ``space: chain-quant`` config (QuanNAS: chains x formats x LUT engines, rL and rT)."""
    errs = [f"{path}.{k}: not a key of space chain-quant (its keys: {', '.join(_QUANT_KEYS[2:])}), got {p[k]!r}"
            for k in p if k not in _QUANT_KEYS]
    string(errs, p, path, "board", kind="codesign")
    for k in ("lut_budget", "epochs", "qat_epochs", "max_layers"):
        integer(errs, p, path, k)
    positive(errs, p, path, "min_fps")
    for k in ("lut_budget", "min_fps"):
        if p.get(k) is None:
            errs.append(f"{path}.{k}: required for space chain-quant (QuanNAS's "
                        f"{'rL, LUTs' if k == 'lut_budget' else 'rT, frames/s'}), got nothing")
    if p.get("quant_mode", "qat") not in ("qat", "ptq"):
        errs.append(f"{path}.quant_mode: must be qat or ptq, got {p.get('quant_mode')!r}")
    if p.get("prune") is not None and not isinstance(p.get("prune"), bool):
        errs.append(f"{path}.prune: must be true or false, got {p.get('prune')!r}")
    for k in ("weight_formats", "activation_formats"):
        v = p.get(k)
        if v is not None and (not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v)):
            errs.append(f"{path}.{k}: must be a list of formats like s0.3 or u2.2, got {v!r}")
    return errs


_CIM_KEYS = ("kind", "space", "devices", "max_area_mm2", "search_adc", "accuracy_column", "variation_aware", "epochs",
             "tune_epochs", "draws", "max_layers", "weight_formats", "activation_formats")
_CIM_CHAIN_ONLY = ("variation_aware", "epochs", "tune_epochs", "draws", "max_layers", "weight_formats",
                   "activation_formats")


def _check_cim(p: dict[str, Any], path: str, space: str) -> list[str]:
    """The problems of a ``space: nb201-cim`` or ``chain-cim`` config (NACIM: networks x crossbar designs)."""
    errs = [f"{path}.{k}: not a key of space {space} (its keys: {', '.join(_CIM_KEYS[2:])}), got {p[k]!r}"
            for k in p if k not in _CIM_KEYS]
    wrong = _CIM_CHAIN_ONLY if space == "nb201-cim" else ("accuracy_column",)
    errs += [f"{path}.{k}: not a key of space {space} (it belongs to "
             f"{'chain-cim' if space == 'nb201-cim' else 'nb201-cim'}), got {p[k]!r}" for k in wrong if k in p]
    positive(errs, p, path, "max_area_mm2")
    for k in ("epochs", "tune_epochs", "draws", "max_layers"):
        integer(errs, p, path, k)
    devices = p.get("devices")
    if devices is not None:
        from coexplore.presets.cim_devices import CIM_DEVICES

        if not isinstance(devices, list) or not devices:
            errs.append(f"{path}.devices: must be a non-empty list of devices ({', '.join(CIM_DEVICES.names())}), "
                        f"got {devices!r}")
        else:
            errs += [f"{path}.devices: unknown device {d!r}; known: {', '.join(CIM_DEVICES.names())}"
                     for d in devices if d not in CIM_DEVICES.names()]
    errs += [f"{path}.{k}: must be true or false, got {p.get(k)!r}" for k in ("variation_aware", "search_adc")
             if p.get(k) is not None and not isinstance(p.get(k), bool)]
    if p.get("accuracy_column") is not None:
        from coexplore.nas.analog_table import COLUMNS

        if p["accuracy_column"] not in COLUMNS:
            errs.append(f"{path}.accuracy_column: must be one of {', '.join(COLUMNS)}, got {p['accuracy_column']!r}")
    for k in ("weight_formats", "activation_formats"):
        v = p.get(k)
        if v is not None and (not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v)):
            errs.append(f"{path}.{k}: must be a list of formats like s0.5 or u2.4, got {v!r}")
    return errs


_NOC_KEYS = ("kind", "space", "accelerator", "meshes", "bandwidths", "link_budget_gb_per_s", "hop_latency_ns",
             "memory_kind", "memory_gb_per_s", "min_throughput_per_s", "fixed_mesh", "samples")


def _check_noc(p: dict[str, Any], path: str) -> list[str]:
    """The problems of a ``space: nb201-noc`` config (NANDS: NAS-Bench-201 cells x NoC designs); the values
    themselves are checked by the problem, which names each."""
    errs = [f"{path}.{k}: not a key of space nb201-noc (its keys: {', '.join(_NOC_KEYS[2:])}), got {p[k]!r}"
            for k in p if k not in _NOC_KEYS]
    string(errs, p, path, "accelerator", kind="codesign")
    for k in ("link_budget_gb_per_s", "memory_gb_per_s", "min_throughput_per_s"):
        positive(errs, p, path, k)
    integer(errs, p, path, "samples")
    return errs


def _build_noc(config: StudyConfig) -> Any:
    from coexplore.joint.nands import BANDWIDTHS, MESHES, NB201NocProblem

    p = config.problem
    fixed = p.get("fixed_mesh")
    return NB201NocProblem(
        accelerator=p.get("accelerator", "nvdla-1024"), meshes=tuple(tuple(m) for m in p.get("meshes", MESHES)),
        bandwidths=tuple(p.get("bandwidths", BANDWIDTHS)), link_budget_gb_per_s=p.get("link_budget_gb_per_s", 24.0),
        hop_latency_ns=p.get("hop_latency_ns", 1.0), memory_kind=p.get("memory_kind", "per-engine"),
        memory_gb_per_s=p.get("memory_gb_per_s", 16.0), min_throughput_per_s=p.get("min_throughput_per_s"),
        fixed_mesh=None if fixed is None else tuple(fixed), samples=int(p.get("samples", 256)),
        objectives=config.objectives)


def _build_cim(config: StudyConfig) -> Any:
    from coexplore.joint.nacim import CHAIN_ACTIVATION_FORMATS, CHAIN_WEIGHT_FORMATS, DEVICES

    p = config.problem
    common = {"devices": tuple(p.get("devices", DEVICES)), "objectives": config.objectives,
              "max_area_mm2": p.get("max_area_mm2"), "search_adc": p.get("search_adc", False)}
    if p["space"] == "nb201-cim":
        from coexplore.joint.nacim import NB201CimProblem

        return NB201CimProblem(accuracy_column=p.get("accuracy_column", "noisy_accuracy"), **common)
    from coexplore.joint.nacim import ChainCimProblem

    return ChainCimProblem(variation_aware=p.get("variation_aware", True), epochs=int(p.get("epochs", 5)),
                           tune_epochs=int(p.get("tune_epochs", 2)), draws=int(p.get("draws", 20)), seed=config.seed,
                           max_layers=p.get("max_layers"),
                           weight_formats=tuple(p.get("weight_formats", CHAIN_WEIGHT_FORMATS)),
                           activation_formats=tuple(p.get("activation_formats", CHAIN_ACTIVATION_FORMATS)), **common)


def _build_quant(config: StudyConfig) -> Any:
    from coexplore.joint.quannas import ACTIVATION_FORMATS, WEIGHT_FORMATS, ChainQuantFpgaProblem
    from coexplore.presets.boards import get_board

    p = config.problem
    return ChainQuantFpgaProblem(
        board=get_board(p.get("board", "zcu102")), lut_budget=p["lut_budget"], min_fps=p["min_fps"],
        epochs=int(p.get("epochs", 5)), qat_epochs=int(p.get("qat_epochs", 2)), mode=p.get("quant_mode", "qat"),
        prune=bool(p.get("prune", True)), objectives=config.objectives, seed=config.seed,
        max_layers=p.get("max_layers"), weight_formats=tuple(p.get("weight_formats", WEIGHT_FORMATS)),
        activation_formats=tuple(p.get("activation_formats", ACTIVATION_FORMATS)))


def _build_nasaic(config: StudyConfig) -> Any:
    from coexplore.joint.nasaic import DEFAULT_SPECS, NasaicProblem
    from coexplore.maestro.system import Budget, Specs

    p = config.problem
    s = p.get("specs", {})
    specs = Specs(**{k: s.get(k, getattr(DEFAULT_SPECS, k)) for k in ("latency_cycles", "energy_nj", "area_um2")})
    budget = Budget(pes=p.get("pe_budget", 4096), pe_step=p.get("pe_step", 64), bandwidth=p.get("bandwidth_budget", 64),
                    bandwidth_step=p.get("bandwidth_step", 8))
    return NasaicProblem(task2=p.get("task2", "cifar100"), specs=specs, budget=budget,
                         constant_set=p.get("constants", "nasaic"), objectives=config.objectives)


def _check_precisions(p: dict[str, Any], path: str, space: Any) -> list[str]:
    """The problems of a codesign config's ``precisions`` and ``accuracy_drop`` (NB201 grid only)."""
    if space != "nb201":
        return [f"{path}.precisions: precision is a decision of space nb201 only, got space {space!r}"]
    if p.get("precisions") is None:
        return [f"{path}.accuracy_drop: needs {path}.precisions (the drop of each listed precision), got none"]
    from coexplore.joint.precision import problem_precisions

    try:
        problem_precisions(p["precisions"], p.get("accuracy_drop"), path=path)
    except SpecError as e:
        return list(e.problems)
    return []


def _resolve(config: StudyConfig) -> StudyConfig:
    """``accuracy_epochs: auto`` (NAS-Bench-201) becomes 200 when the data directory holds the 200-epoch
    column (it has no licence, so it is not shipped), else 12 (the shipped column)."""
    p = config.problem
    if p.get("space", "nb201") != "nb201" or p.get("accuracy_epochs") != "auto":
        return config
    from coexplore.nas.tables import accuracy_available

    dataset = p.get("dataset", "cifar100")
    epochs = 200 if dataset == "cifar100" and accuracy_available(dataset, 200, "test") else 12
    return dataclasses.replace(config, problem={**p, "accuracy_epochs": epochs})


def _build(config: StudyConfig, *, progress: bool = True) -> Any:
    p = config.problem
    if p.get("space", "nb201") == "fabnet":
        return _build_fabnet(config)
    if p.get("space", "nb201") == "nasaic":
        return _build_nasaic(config)
    if p.get("space", "nb201") == "chain-quant":
        return _build_quant(config)
    if p.get("space", "nb201") in ("nb201-cim", "chain-cim"):
        return _build_cim(config)
    if p.get("space", "nb201") == "nb201-noc":
        return _build_noc(config)
    if p.get("space", "nb201") == "chain":
        from coexplore.joint.fnas import ChainFpgaProblem
        from coexplore.presets.boards import get_board

        return ChainFpgaProblem(board=get_board(p.get("board", "xc7z020")), timing_ms=float(p["timing_ms"]),
                                epochs=int(p.get("epochs", 5)), prune=bool(p.get("prune", True)),
                                objectives=config.objectives, seed=config.seed, max_layers=p.get("max_layers"))
    from coexplore.joint.problem import NB201GridProblem
    from coexplore.joint.space import grid_for

    dataset = p.get("dataset", "cifar100")
    epochs = _resolve(config).problem.get("accuracy_epochs", 200 if dataset == "cifar100" else 12)
    return NB201GridProblem(grid=grid_for(p.get("accelerators", "eyeriss")), dataset=dataset,
                            accuracy_epochs=int(epochs), objectives=config.objectives,
                            design_stride=int(p.get("design_stride", 1)),
                            max_latency_cycles=p.get("max_latency_cycles"), max_area_mm2=p.get("max_area_mm2"),
                            precisions=p.get("precisions"), accuracy_drop=p.get("accuracy_drop"), progress=progress)


def _strategy(config: StudyConfig, problem: Any, params: dict[str, Any]) -> Strategy:
    from coexplore.joint.registry import make_joint_strategy

    return make_joint_strategy(config.strategy, problem, seed=config.seed, budget=config.trials, **params)


def _names() -> list[str]:
    from coexplore.joint.registry import JOINT_STRATEGIES

    return list(JOINT_STRATEGIES)


def _describe(name: str) -> str:
    from coexplore.joint.registry import describe_joint_strategy

    return describe_joint_strategy(name)


register(ProblemKind(
    name="codesign", keys=frozenset({"kind", "space", "dataset", "accuracy_epochs", "accelerators", "design_stride",
                                     "max_latency_cycles", "max_area_mm2", "board", "timing_ms", "epochs", "prune",
                                     "max_layers", "precisions", "accuracy_drop", *_NASAIC_KEYS, *_QUANT_KEYS,
                                     *_CIM_KEYS, *_NOC_KEYS, *_FABNET_KEYS}),
    objectives=("accuracy", "latency", "energy", "area", "edp", "edap", "perf_per_area", "lut", "period"),
    default_objectives=("accuracy", "edp"), default_strategy="naas", own_strategies=_names, encoding="categorical",
    check=_check, build=_build, own_strategy=_strategy, describe=_describe, resolve=_resolve, accuracy_first=True))
