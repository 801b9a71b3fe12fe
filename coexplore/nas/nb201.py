"""The NAS-Bench-201 cell space: 4 nodes, 6 edges, 5 operations, 15,625 cells.

A :class:`Cell` is the operation on each edge, in the order of the cell string
``|op(0->1)~0|+|op(0->2)~0|op(1->2)~1|+|op(0->3)~0|op(1->3)~1|op(2->3)~2|``. The network
around it is NAS-Bench-201's fixed skeleton (Dong and Yang, ICLR 2020; layout in
``data/nasbench201/README.md``): a 3x3 stem, three stages of five cells at 16, 32 and 64
channels separated by residual reduction blocks, and a linear classifier. Module
names follow NB201's ``TinyNetwork`` (``cells.3.layers.2.op.1``), so the layers of
:meth:`NB201Space.to_network` and of the traced :meth:`NB201Space.to_torch` model agree.

Identity is NB201's own isomorphism rule (``Structure.to_unique_str(consider_zero=True)``):
two cells are the same network when they compute the same expression, with ``none``
as zero and ``skip_connect`` as identity. That is the class structure of the device
latency table (one timed representative per class).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coexplore.errors import SpecError
from coexplore.nas.space import ArchSpace
from coexplore.predict.features import ArchFeatures
from coexplore.spec.workload import Layer, Network

__all__ = ["DATASETS", "EDGES", "OPS", "Cell", "NB201Space", "parse_cell"]

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (from node, to node) of each of the six edges, in cell-string order.
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: dataset -> (input resolution, classes).
DATASETS = {"cifar10": (32, 10), "cifar100": (32, 100), "imagenet16-120": (16, 120)}
CELLS_PER_STAGE = 5
STAGE_CHANNELS = (16, 32, 64)
#: Operations a graph compiler may drop or fold, counted by edge status in ``graph_counts``.
COUNTED_OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGE_STATUSES = ("live", "dead_end", "zero_fed")
#: Columns of ``ArchFeatures.graph_counts`` for NB201 (per cell: all 15 cells are the same).
GRAPH_COUNT_NAMES = (*(f"{op}:{st}" for op in COUNTED_OPS for st in EDGE_STATUSES), "none", "adds", "constant_output")
#: Node kinds of the predictor graph (BRP-NAS form: input, one node per edge operation, output).
NODE_KINDS = ("input", "output", *OPS)


@dataclass(frozen=True, slots=True)
class Cell:
    """The operation on each of the six edges (see :data:`EDGES`)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        problems = [f"cell.ops[{i}] (edge {EDGES[i][0]}->{EDGES[i][1]}): must be one of {', '.join(OPS)}, got {o!r}"
                    for i, o in enumerate(self.ops) if o not in OPS]
        if len(self.ops) != 6:
            problems.insert(0, f"cell.ops: must have 6 operations, got {len(self.ops)}")
        if problems:
            raise SpecError(problems)

    def __str__(self) -> str:
        o = self.ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def edge_status(self) -> tuple[str, ...]:
        """Per edge: ``none``, ``live``, ``dead_end`` (its output reaches the cell output only through
        ``none`` edges, i.e. is multiplied by zero) or ``zero_fed`` (its input is always zero).

        NB201's ``none`` is ``x * 0`` in the exported graph, so dead-ended and zero-fed operations
        are still computed by a runtime that does not simplify ``x * 0`` (ONNX Runtime, eager
        PyTorch) and folded away by one that does (the Pi 5 LiteRT converter)."""
        on = [o != "none" for o in self.ops]
        live = self.live_edges()
        reaches = {3}
        for e in reversed(range(6)):
            if on[e] and EDGES[e][1] in reaches:
                reaches.add(EDGES[e][0])
        return tuple("none" if not on[e] else "live" if live[e] else
                     "dead_end" if EDGES[e][1] not in reaches else "zero_fed" for e in range(6))

    def graph_counts(self) -> np.ndarray:
        """The :data:`GRAPH_COUNT_NAMES` counts of one cell (float64)."""
        counts = np.zeros(len(GRAPH_COUNT_NAMES))
        for op, status in zip(self.ops, self.edge_status(), strict=True):
            if op == "none":
                counts[-3] += 1
            else:
                counts[COUNTED_OPS.index(op) * len(EDGE_STATUSES) + EDGE_STATUSES.index(status)] += 1
        fan_in = [sum(1 for e, (_, j) in enumerate(EDGES) if j == node and self.ops[e] != "none") for node in (1, 2, 3)]
        counts[-2] = sum(max(k - 1, 0) for k in fan_in)
        counts[-1] = float(self.degenerate)
        return counts

    def live_edges(self) -> tuple[bool, ...]:
        """Edges whose operation changes the output: not ``none``, fed from the input, reaching node 3."""
        on = [o != "none" for o in self.ops]
        fed = {0}
        for e, (i, j) in enumerate(EDGES):  # EDGES is topologically ordered by source node
            if on[e] and i in fed:
                fed.add(j)
        reaches = {3}
        for e in reversed(range(6)):
            i, j = EDGES[e]
            if on[e] and j in reaches:
                reaches.add(i)
        return tuple(on[e] and EDGES[e][0] in fed and EDGES[e][1] in reaches for e in range(6))

    @property
    def degenerate(self) -> bool:
        """No path of non-``none`` edges from the input to the output: the network outputs a constant."""
        return not any(self.live_edges())

    def unique_str(self) -> str:
        """NB201's ``to_unique_str(consider_zero=True)``: equal for isomorphic cells."""
        nodes = {0: "0"}
        for j in (1, 2, 3):
            terms = []
            for e, (i, jj) in enumerate(EDGES):
                if jj != j:
                    continue
                op = self.ops[e]
                if op == "none" or nodes[i] == "#":
                    terms.append("#")
                elif op == "skip_connect":
                    terms.append(nodes[i])
                else:
                    terms.append(f"({nodes[i]})@{op}")
            nodes[j] = "+".join(sorted(terms))
        return nodes[3]


def parse_cell(text: str) -> Cell:
    """A :class:`Cell` from an NB201 cell string; the error names the malformed part."""
    s = text.strip()
    groups = s.split("+")
    if len(groups) != 3:
        raise SpecError(f"cell string {text!r}: must have 3 groups separated by '+', got {len(groups)}")
    ops: list[str] = []
    problems = []
    for node, group in enumerate(groups, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            problems.append(f"cell string {text!r}: group {node} {group!r} must be written |op~i|...|")
            continue
        entries = group[1:-1].split("|")
        if len(entries) != node:
            problems.append(f"cell string {text!r}: node {node} must have {node} inputs, got {len(entries)}")
            continue
        for src, entry in enumerate(entries):
            op, sep, idx = entry.partition("~")
            if not sep or idx != str(src):
                problems.append(f"cell string {text!r}: entry {entry!r} of node {node} must be op~{src}")
            elif op not in OPS:
                problems.append(f"cell string {text!r}: operation {op!r} must be one of {', '.join(OPS)}")
            ops.append(op)
    if problems:
        raise SpecError(problems)
    return Cell(tuple(ops))


@functools.cache
def _index_table() -> dict[str, int]:
    from coexplore.nas.tables import load_arch_strings

    return {s: i for i, s in enumerate(load_arch_strings())}


class NB201Space(ArchSpace[Cell]):
    """NAS-Bench-201 cells in the network for one dataset (input size and classes).

    Args:
        dataset: ``cifar10``, ``cifar100`` (default) or ``imagenet16-120``.
        prune_dead: :meth:`to_network` leaves out operations that cannot change the output
            (fed only by zeros, or feeding nothing): what a compiler for an accelerator
            does. The PyTorch model keeps them, as NB201's does.
    """

    cardinalities = (len(OPS),) * 6

    def __init__(self, *, dataset: str = "cifar100", prune_dead: bool = True) -> None:
        if dataset not in DATASETS:
            raise SpecError(f"dataset: must be one of {', '.join(DATASETS)}, got {dataset!r}")
        self.dataset, self.prune_dead = dataset, prune_dead
        self.resolution, self.num_classes = DATASETS[dataset]
        self.name = f"nb201-{dataset}"

    # -- decisions and identities --------------------------------------------------------
    def from_choices(self, choices: Sequence[int]) -> Cell:
        return Cell(tuple(OPS[c] for c in self.check_choices(choices)))

    def to_choices(self, arch: Cell) -> tuple[int, ...]:
        return tuple(OPS.index(o) for o in arch.ops)

    def parse(self, text: str) -> Cell:
        return parse_cell(text)

    def format(self, arch: Cell) -> str:
        return str(arch)

    def problem(self, arch: Cell) -> str | None:
        return "degenerate cell: no path from the input to the output" if arch.degenerate else None

    def identity(self, arch: Cell) -> str:
        return arch.unique_str()

    def index(self, arch: Cell) -> int:
        """The official NB201 index of ``arch`` (0..15624)."""
        return _index_table()[str(arch)]

    def cell(self, index: int) -> Cell:
        """The cell with NB201 index ``index``."""
        if not isinstance(index, (int, np.integer)) or not 0 <= int(index) < len(self.all_cells()):
            raise SpecError(f"arch_index: must be an integer in 0..{len(self.all_cells()) - 1}, got {index!r}")
        return self.all_cells()[int(index)]

    @staticmethod
    @functools.cache
    def all_cells() -> tuple[Cell, ...]:
        """Every cell in NB201 index order."""
        from coexplore.nas.tables import load_arch_strings

        return tuple(parse_cell(s) for s in load_arch_strings())

    # -- networks --------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return (1, 3, self.resolution, self.resolution)

    def to_network(self, arch: Cell) -> Network:
        """Stem, 15 cells and 2 reduction blocks, classifier: conv and FC layers (pools carry no MACs here)."""
        r = self.resolution
        layers = [Layer(name="stem.0", K=16, C=3, P=r, Q=r, R=3, S=3, padding=(1, 1))]
        live = arch.live_edges() if self.prune_dead else tuple(o != "none" for o in arch.ops)
        index = 0
        for stage, ch in enumerate(STAGE_CHANNELS):
            hw = r >> stage
            if stage:
                prev = STAGE_CHANNELS[stage - 1]
                layers += [
                    Layer(name=f"cells.{index}.conv_a.op.1", K=ch, C=prev, P=hw, Q=hw, R=3, S=3, stride=(2, 2),
                          padding=(1, 1)),
                    Layer(name=f"cells.{index}.conv_b.op.1", K=ch, C=ch, P=hw, Q=hw, R=3, S=3, padding=(1, 1)),
                    Layer(name=f"cells.{index}.downsample.1", K=ch, C=prev, P=hw, Q=hw),
                ]
                index += 1
            for _ in range(CELLS_PER_STAGE):
                for e, op in enumerate(arch.ops):
                    if not live[e] or op not in ("nor_conv_1x1", "nor_conv_3x3"):
                        continue
                    k = 3 if op == "nor_conv_3x3" else 1
                    layers.append(Layer(name=f"cells.{index}.layers.{e}.op.1", K=ch, C=ch, P=hw, Q=hw, R=k, S=k,
                                        padding=(k // 2, k // 2)))
                index += 1
        layers.append(Layer(name="classifier", K=self.num_classes, C=STAGE_CHANNELS[-1], op="fc"))
        return Network(name=f"nb201-{self.dataset}:{arch}", layers=tuple(layers))

    def to_torch(self, arch: Cell) -> Any:
        from coexplore.nas._nb201_torch import tiny_network

        return tiny_network(arch.ops, num_classes=self.num_classes)

    # -- predictor features -------------------------------------------------------------
    def features(self, archs: Sequence[Cell]) -> ArchFeatures:
        """BRP-NAS graphs (8 nodes: input, the six edge operations, output), one-hot edges,
        MACs and parameters of the full model (dead operations included, as NB201 counts
        them), counts of each operation per stage (15 kinds) and the per-cell
        :data:`GRAPH_COUNT_NAMES` counts (what a graph compiler removes or folds)."""
        n = len(archs)
        choices = np.array([self.to_choices(a) for a in archs], dtype=np.int64).reshape(n, 6)
        node_ops = np.zeros((n, 8, len(NODE_KINDS)), dtype=np.float32)
        node_ops[:, 0, 0] = 1.0
        node_ops[:, 7, 1] = 1.0
        node_ops[np.arange(n)[:, None], np.arange(1, 7)[None, :], 2 + choices] = 1.0
        adjacency = np.broadcast_to(_op_graph(), (n, 8, 8)).astype(np.float32)
        per_op_macs, per_op_params = self._per_op_costs()
        flops = self._fixed_macs() + per_op_macs[choices].sum(axis=1)
        params = self._fixed_params() + per_op_params[choices].sum(axis=1)
        counts = np.zeros((n, len(OPS) * 3))
        for o in range(len(OPS)):
            k = (choices == o).sum(axis=1) * CELLS_PER_STAGE
            counts[:, o * 3: o * 3 + 3] = k[:, None]
        names = tuple(f"{op}@stage{s + 1}" for op in OPS for s in range(3))
        graph = np.array([a.graph_counts() for a in archs], dtype=np.float64).reshape(n, len(GRAPH_COUNT_NAMES))
        return ArchFeatures(adjacency=adjacency, node_ops=node_ops, vector=self.encode(archs),
                            flops=flops.astype(np.float64), params=params.astype(np.float64),
                            op_counts=counts, op_names=names, graph_counts=graph,
                            graph_count_names=GRAPH_COUNT_NAMES)

    def _per_op_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """MACs and parameters of one edge operation summed over the 15 cells, per operation."""
        r = self.resolution
        macs = np.zeros(len(OPS))
        params = np.zeros(len(OPS))
        for stage, ch in enumerate(STAGE_CHANNELS):
            hw = (r >> stage) ** 2
            for k, op in ((1, "nor_conv_1x1"), (3, "nor_conv_3x3")):
                macs[OPS.index(op)] += CELLS_PER_STAGE * ch * ch * k * k * hw
                params[OPS.index(op)] += CELLS_PER_STAGE * (ch * ch * k * k + 2 * ch)  # conv + BN affine
        return macs, params

    def _fixed_macs(self) -> int:
        skeleton = self.to_network(Cell(("none",) * 6))
        return skeleton.macs

    def _fixed_params(self) -> int:
        p = 3 * 16 * 9 + 2 * 16  # stem conv + BN
        for prev, ch in itertools.pairwise(STAGE_CHANNELS):
            p += prev * ch * 9 + 2 * ch + ch * ch * 9 + 2 * ch + prev * ch  # conv_a, conv_b (+BN), downsample
        p += 2 * STAGE_CHANNELS[-1]  # last BN
        return p + STAGE_CHANNELS[-1] * self.num_classes + self.num_classes


@functools.cache
def _op_graph() -> np.ndarray:
    """Adjacency of the BRP-NAS operation graph: node 0 input, 1..6 the edges, 7 output."""
    a = np.zeros((8, 8), dtype=np.float32)
    for e, (i, j) in enumerate(EDGES):
        if i == 0:
            a[0, e + 1] = 1.0
        else:
            for f, (_, jj) in enumerate(EDGES):
                if jj == i:
                    a[f + 1, e + 1] = 1.0
        if j == 3:
            a[e + 1, 7] = 1.0
    return a
