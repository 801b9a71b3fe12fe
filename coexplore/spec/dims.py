"""The small vocabulary every layer of coexplore shares: loop dimensions and dataspaces.

A layer is the loop nest ``for N, G, K, C, P, Q, R, S: O[n,g,k,p,q] += W[g,k,c,r,s] *
I[n,g,c, p*stride_h + r*dil_h, q*stride_w + s*dil_w]`` where K and C count channels
*per group* (depthwise: G = channels, K = C = 1). The projections below say which
loop dimensions index which tensor rank; they drive tile sizes, reuse and multicast.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "DATASPACES",
    "DIMS",
    "DIM_INDEX",
    "REDUCTION_DIMS",
    "RELEVANT",
    "TENSOR_RANKS",
    "Dataspace",
    "Dim",
]

Dim = Literal["N", "G", "K", "C", "P", "Q", "R", "S"]
Dataspace = Literal["weights", "inputs", "outputs"]

DIMS: Final[tuple[str, ...]] = ("N", "G", "K", "C", "P", "Q", "R", "S")
DIM_INDEX: Final[dict[str, int]] = {d: i for i, d in enumerate(DIMS)}
DATASPACES: Final[tuple[str, ...]] = ("weights", "inputs", "outputs")

# Tensor ranks per dataspace, each a tuple of (dim, coefficient-name) terms.
# Coefficient names: "1" (unit), "stride_h"/"dil_h" (rows), "stride_w"/"dil_w" (cols).
TENSOR_RANKS: Final[dict[str, tuple[tuple[tuple[str, str], ...], ...]]] = {
    "weights": ((("G", "1"),), (("K", "1"),), (("C", "1"),), (("R", "1"),), (("S", "1"),)),
    "inputs": (
        (("N", "1"),),
        (("G", "1"),),
        (("C", "1"),),
        (("P", "stride_h"), ("R", "dil_h")),
        (("Q", "stride_w"), ("S", "dil_w")),
    ),
    "outputs": ((("N", "1"),), (("G", "1"),), (("K", "1"),), (("P", "1"),), (("Q", "1"),)),
}

RELEVANT: Final[dict[str, frozenset[str]]] = {
    ds: frozenset(d for rank in ranks for d, _ in rank) for ds, ranks in TENSOR_RANKS.items()
}

# Dimensions summed over when producing an output: spatially unrolling them needs an
# adder tree (spatial reduction) between the children and their parent.
REDUCTION_DIMS: Final[frozenset[str]] = frozenset({"C", "R", "S"})
