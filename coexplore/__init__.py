"""coexplore: co-design neural networks, DNN accelerators and the mappings between them.

Layers, lowest first (imports only go down; ``tests/test_layering.py`` enforces it):

* L0 ``spec`` (layers, networks, accelerators, technology tables, YAML), ``presets`` (model
  zoo, accelerator presets), ``errors``, ``registry``, ``datadir``;
* L1 ``mapping`` (mappings, legality, tiles, batch encoding, sampling, the map space) and
  ``interop`` (PyTorch, ONNX, Timeloop, ZigZag);
* L2 ``cost`` (reference walk, compiled batch kernels, lower bounds, results);
* L3 ``search`` (the one ask/tell driver, problems, strategies' base, Pareto);
* L4 ``mapper`` (mapping search for a layer and a network);
* L8 ``api`` (one function per CLI command, typed results with ``to_record()``) and ``cli``
  (parses, calls ``api``, formats).

The names below are the curated Python API (imported on first use, so ``import coexplore``
stays light); ``help(coexplore.<name>)`` documents each::

    import coexplore as cx
    net, acc = cx.resolve_network("resnet18"), cx.resolve_accelerator("eyeriss")
    cost = cx.map_network(net, acc, progress=False)            # best mapping per layer shape
    hw = cx.search_accelerator(["mobilenetv2"], "eyeriss", budget_evals=100)
    study = cx.Study.create("mine", storage="sqlite:///mine.db", problem=my_problem, strategy="nsga2")
    study.optimize(problem=my_problem); study.best()
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: name -> (module, attribute) of the curated API.
_EXPORTS = {
    # specs and names
    "Layer": ("coexplore.spec.workload", "Layer"),
    "Network": ("coexplore.spec.workload", "Network"),
    "Accelerator": ("coexplore.spec.hardware", "Accelerator"),
    "resolve_network": ("coexplore.resolve", "resolve_network"),
    "resolve_accelerator": ("coexplore.resolve", "resolve_accelerator"),
    # cost and mapping
    "evaluate": ("coexplore.cost.model", "evaluate"),
    "evaluate_network": ("coexplore.api", "evaluate_network"),
    "evaluate_timeloop_case": ("coexplore.api", "evaluate_timeloop_case"),
    "evaluate_maestro": ("coexplore.api", "evaluate_maestro"),
    "evaluate_maestro_system": ("coexplore.api", "evaluate_maestro_system"),
    "bench_cost": ("coexplore.api", "bench_cost"),
    "map_layer": ("coexplore.mapper.network", "map_layer"),
    "map_network": ("coexplore.api", "map_network"),
    # searches
    "search_accelerator": ("coexplore.api", "search_accelerator"),
    "search_networks": ("coexplore.api", "search_networks"),
    "codesign": ("coexplore.api", "codesign"),
    "evaluate_predictor": ("coexplore.api", "evaluate_predictor"),
    # the search layer: encodings, strategies, the driver
    "Categorical": ("coexplore.search.encoding", "Categorical"),
    "Box": ("coexplore.search.encoding", "Box"),
    "ChoiceBatch": ("coexplore.search.encoding", "ChoiceBatch"),
    "VectorBatch": ("coexplore.search.vector", "VectorBatch"),
    "Evaluation": ("coexplore.search.problem", "Evaluation"),
    "make_strategy": ("coexplore.search.registry", "make_strategy"),
    "optimize": ("coexplore.search.driver", "optimize"),
    "list_strategies": ("coexplore.study.kinds", "strategy_table"),
    # studies
    "Study": ("coexplore.study.handle", "Study"),
    "Trial": ("coexplore.search.trial", "Trial"),
    "TrialState": ("coexplore.search.trial", "TrialState"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'coexplore' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
