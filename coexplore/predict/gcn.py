"""The BRP-NAS graph convolutional regressor: latency or accuracy from the cell graph itself.

Dudziak et al. (NeurIPS 2020) found that a GCN over the operation graph predicts
device latency better than FLOPs or a layer-wise table, because what costs time on a
device depends on how operations are wired, not only on how many there are; the same
model learns accuracy, which depends on the wiring even more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coexplore.predict.base import check_choice, check_hyper
from coexplore.predict.features import ArchFeatures
from coexplore.predict.neural import NeuralRegressor

if TYPE_CHECKING:
    import torch

__all__ = ["BRP_NAS_SETTINGS", "GCNPredictor"]

DIRECTIONS = ("forward", "both")
READOUTS = ("output", "mean", "sum")
AGGREGATIONS = ("mean", "sum")

#: The GCN of BRP-NAS (Dudziak et al., 2020) for latency: ``GCNPredictor(**BRP_NAS_SETTINGS)``.
BRP_NAS_SETTINGS: dict[str, Any] = {
    "hidden": 600, "layers": 4, "dropout": 0.2, "epochs": 250, "batch_size": 64, "lr": 3.5e-4,
    "weight_decay": 5e-4, "lr_schedule": "constant", "direction": "forward", "readout": "output",
    "aggregation": "mean", "self_weight": False,
}


class GCNPredictor(NeuralRegressor):
    """Graph convolutions over ``node_ops`` along ``adjacency``, a graph readout, a linear layer.

    Each layer mixes a node with its neighbours through the propagation matrix (self
    loop included): its predecessors (``direction="forward"``) or predecessors and
    successors (``"both"``), averaged (``aggregation="mean"``, BRP-NAS's row-normalised
    ``A + I``) or summed (``"sum"``); ``self_weight`` adds a separate weight for the
    node's own embedding. Then ReLU and dropout. The readout is the output node
    (``"output"``, the last real node: BRP-NAS's choice read the other way round, as they
    propagate backwards and read the input node), or the mean or sum over real nodes.

    The defaults are what predicted best in our measurements, not BRP-NAS's settings.
    On NAS-Bench-201 Pi 5 latency (900 training cells, 14,725 test cells, one core),
    :data:`BRP_NAS_SETTINGS` reached Spearman 0.976 with 79 % of cells within +-10 % in
    220 s; the defaults reach 0.998 and 99.7 % in about 17 s (0.996 and 99.4 % with
    ``log_target=True``). A
    sum readout counts operations, which latency is additive in; the separate self weight
    keeps a node's own operation apart from its neighbours' (with one shared weight, on
    a fixed graph, the two blur); a state that has seen both directions knows where the
    node sits on every path; on random DAGs longer than the number of layers, an
    output-node readout misses the operations further away. Dropout and weight decay
    are off because they biased the predicted values (share within +-10 % fell from
    98 % to 82 % with dropout 0.1), and the learning rate is annealed (cosine) so that
    the final weights are settled.

    Args:
        hidden: width of every graph convolution (BRP-NAS: 600; 128 trains 10x faster
            on one core and predicted as well in our measurements).
        layers: number of graph convolutions (at least the longest input-output path
            for an ``"output"`` readout).
        dropout: dropout after each convolution.
        direction: ``"forward"`` or ``"both"``, see above.
        readout: ``"output"``, ``"mean"`` or ``"sum"``, see above.
        aggregation: ``"mean"`` or ``"sum"`` over the neighbourhood.
        self_weight: a separate weight for a node's own embedding.
        epochs, batch_size, lr, weight_decay, lr_schedule: Adam training schedule
            (``lr_schedule``: ``"cosine"`` or ``"constant"``).
        log_target: regress the log of the target (relative errors, for latency; positive
            targets only).
        warm_start: a second ``fit`` continues from the current weights.
        seed: seeds initialisation, dropout and batch order.
    """

    name = "gcn"

    def __init__(self, *, hidden: int = 128, layers: int = 4, dropout: float = 0.0, epochs: int = 200,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0, lr_schedule: str = "cosine",
                 direction: str = "both", readout: str = "sum", aggregation: str = "mean",
                 self_weight: bool = True, log_target: bool = False, warm_start: bool = False,
                 seed: int = 0) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         lr_schedule=lr_schedule, dropout=dropout,
                         log_target=log_target, warm_start=warm_start, seed=seed)
        self.hidden = hidden
        self.layers = layers
        self.direction = direction
        self.readout = readout
        self.aggregation = aggregation
        self.self_weight = self_weight

    def _check_params(self) -> None:
        super()._check_params()
        check_hyper(self.name, positive={"hidden": self.hidden, "layers": self.layers})
        check_choice(self.name, "direction", self.direction, DIRECTIONS)
        check_choice(self.name, "readout", self.readout, READOUTS)
        check_choice(self.name, "aggregation", self.aggregation, AGGREGATIONS)

    def _inputs(self, features: ArchFeatures) -> tuple[torch.Tensor, ...]:
        from coexplore.predict import _nets

        return _nets.graph_tensors(features, direction=self.direction, readout=self.readout,
                                   aggregation=self.aggregation, who=self.name)

    def _width(self, inputs: tuple[torch.Tensor, ...]) -> int:
        return int(inputs[1].shape[-1])

    def _build(self, inputs: tuple[torch.Tensor, ...]) -> torch.nn.Module:
        from coexplore.predict import _nets

        return _nets.GCNRegressor(self._width(inputs), self.hidden, self.layers, self.dropout,
                                   self.self_weight)
