"""L3 domain-free search machinery: the Problem and Strategy protocols, the one driver loop,
trial records, Pareto utilities, the encodings problems declare (``encoding``), the generic
strategies over them (``choices``, ``vector``, ``optuna_strategy``) and their registries
(``registry``), and the REINFORCE controllers seed methods build on (``controller``). Nothing
here knows about layers or accelerators."""

from coexplore.search.driver import SearchResult, optimize
from coexplore.search.problem import Evaluation, Problem
from coexplore.search.strategy import Strategy
from coexplore.search.trial import Trial, TrialState

__all__ = ["Evaluation", "Problem", "SearchResult", "Strategy", "Trial", "TrialState", "optimize"]
