"""The Python API behind every ``coexplore`` command: names or specs in, typed results out.

Each CLI command parses its arguments, calls one function here and formats the result;
``result.to_record()`` is the JSON that ``--json`` prints, one shape per result kind:

* :func:`evaluate_network` -> :class:`NetworkEvaluation` (``coexplore evaluate``), or with
  ``model="maestro"`` :class:`~coexplore.maestro.bridge.MaestroNetworkCost` (``--model maestro``);
* :func:`map_network` -> :class:`~coexplore.mapper.results.NetworkMapResult` (``coexplore map``);
* :func:`search_accelerator` -> :class:`~coexplore.hwsearch.search.HwSearchResult`,
  :class:`~coexplore.hwsearch.precision.PrecisionSearchResult` or
  :class:`~coexplore.hwsearch.board_search.FpgaSearchResult`, all with the one record of
  :mod:`coexplore.hwsearch.record` (``coexplore hwsearch``);
* :func:`search_networks` -> :class:`NasSearchResult` (``coexplore nas``);
* :func:`codesign` -> :class:`CodesignResult` (``coexplore codesign``);
* :func:`evaluate_timeloop_case` -> :class:`TimeloopCaseResult` (``coexplore timeloop-case``);
* :func:`evaluate_maestro` -> :class:`~coexplore.maestro.result.MaestroEvaluation` (``coexplore maestro``);
* :func:`evaluate_maestro_system` -> :class:`~coexplore.maestro.system.SystemCost` (``coexplore maestro-system``);
* :func:`bench_cost` -> :class:`CostBenchmark` (``coexplore bench cost``);
* :func:`evaluate_predictor` -> :class:`~coexplore.nas.predictor_eval.PredictorScore`
  (``coexplore predictor evaluate``).

The functions hold no cost or search logic of their own; heavy modules load on first use.
"""

from __future__ import annotations

from coexplore.api.evaluate import (
    bench_cost,
    evaluate_maestro,
    evaluate_maestro_system,
    evaluate_network,
    evaluate_timeloop_case,
    load_mapping_file,
    save_mapping_file,
)
from coexplore.api.predictor import evaluate_predictor
from coexplore.api.results import CodesignResult, CostBenchmark, NasSearchResult, NetworkEvaluation, TimeloopCaseResult
from coexplore.api.search import codesign, map_network, search_accelerator, search_networks
from coexplore.resolve import resolve_accelerator, resolve_network

__all__ = [
    "CodesignResult", "CostBenchmark", "NasSearchResult", "NetworkEvaluation", "TimeloopCaseResult", "bench_cost",
    "codesign", "evaluate_maestro", "evaluate_maestro_system", "evaluate_network", "evaluate_predictor",
    "evaluate_timeloop_case",
    "load_mapping_file", "map_network", "resolve_accelerator", "resolve_network", "save_mapping_file",
    "search_accelerator", "search_networks",
]
