"""The batch pricer equals the scalar MAESTRO-semantics model on every (layer, design) pair it prices."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.errors import SpecError
from coexplore.maestro import parse_hardware, price_network
from coexplore.maestro.batch import BatchPricer, Designs, price_batch
from coexplore.maestro.energy import area_power, constants
from coexplore.maestro.kernels import area_um2
from coexplore.maestro.system import SubAccelerator, price_layers
from coexplore.maestro.templates import to_dfsl_network
from coexplore.spec.workload import Layer, Network

TENSORS = ("input", "filter", "output")


def _random_layers(rng: np.random.Generator, n: int, batch: bool) -> tuple[Layer, ...]:
    """Strided, 1x1, 3x3, 5x5, 7x7, depthwise, grouped and FC layers, channel counts no cluster divides."""
    out = []
    for i in range(n):
        kind = rng.choice(["conv", "conv", "pointwise", "depthwise", "grouped", "fc"])
        k, c = int(rng.choice([3, 10, 16, 24, 33, 64, 96, 130])), int(rng.choice([3, 8, 17, 32, 64, 100]))
        n_batch = int(rng.choice([1, 2, 3])) if batch else 1
        if kind == "fc":
            out.append(Layer(name=f"fc{i}", K=k, C=c, N=n_batch, op="fc"))
            continue
        r = 1 if kind == "pointwise" else int(rng.choice([3, 5, 7]))
        stride = int(rng.choice([1, 2]))
        p = int(rng.choice([1, 4, 7, 8, 13, 16, 28]))
        if kind == "depthwise":
            out.append(Layer(name=f"dw{i}", K=c, C=c, R=r, S=r, P=p, Q=p, N=n_batch, stride=(stride, stride),
                             groups=c, op="depthwise"))
        elif kind == "grouped":
            out.append(Layer(name=f"g{i}", K=2 * k, C=2 * c, R=r, S=r, P=p, Q=p, N=n_batch, stride=(stride, stride),
                             groups=2))
        else:
            out.append(Layer(name=f"c{i}", K=k, C=c, R=r, S=r, P=p, Q=p + 1, N=n_batch, stride=(stride, stride)))
    return tuple(out)


def _designs(rng: np.random.Generator, n: int) -> Designs:
    pes = [7, 16, 64, 96, 100, 128, 576, 1000, 1792, 2048]  # 7, 96, 100, 1000: dla clusters of 7, 48, 50, 50
    return Designs(template=tuple(rng.choice(["dla", "shi", "xp_ws", "rs"], size=n).tolist()),
                   pes=rng.choice(pes, size=n), bandwidth=rng.integers(1, 65, size=n))


@pytest.mark.parametrize(("seed", "batch", "constant_set", "hops"), [(0, False, "current", 1), (1, True, "nasaic", 2)])
def test_batch_equals_the_scalar_model_on_random_pairs(seed: int, batch: bool, constant_set: str, hops: int) -> None:
    rng = np.random.default_rng(seed)
    layers = _random_layers(rng, 12, batch)
    designs = _designs(rng, 12)  # 144 pairs per seed, 288 in all
    got = price_batch(layers, designs, constant_set=constant_set, offchip_bandwidth=7, noc_hops=hops)
    net = Network(name="random", layers=layers)
    k = constants(constant_set)
    checked = 0
    for j, (tpl, pes, bw) in enumerate(zip(designs.template, designs.pes.tolist(), designs.bandwidth.tolist(),
                                           strict=True)):
        sub = SubAccelerator(tpl, pes, bw)
        want = price_layers(net, sub, constant_set=constant_set, offchip_bandwidth=7, noc_hops=hops)
        hw = parse_hardware(f"num_pes: {pes}\nl1_size_cstr: 1\nl2_size_cstr: 1\nnoc_bw_cstr: {bw}\n"
                            f"offchip_bw_cstr: 7\nNoC_NumHops: {hops}\n")
        rows = price_network(hw, to_dfsl_network(net, tpl, pes)[0], constant_set=constant_set, energy_quirks=False)
        for i, (w, row) in enumerate(zip(want, rows, strict=True)):
            assert (int(got.runtime_cycles[i, j]), float(got.energy_nj[i, j]), int(got.macs[i, j]),
                    int(got.l1_bytes[i, j]), int(got.l2_bytes[i, j])) == w, (layers[i], sub)
            for t, name in enumerate(TENSORS):
                for arr, col in ((got.l1_read, "l1 read"), (got.l1_write, "l1 write"), (got.l2_read, "l2 read"),
                                 (got.l2_write, "l2 write")):
                    assert int(arr[i, j, t]) == row.values[f"{name} {col}"], (layers[i], sub, name, col)
            assert float(got.area_um2[i, j]) == area_power(k, num_pes=pes, vector_width=1, noc_bandwidth=bw,
                                                           l1_bytes=w[3], l2_bytes=w[4]).area
            checked += 1
    assert checked == 144


def test_fixed_buffer_sizes_set_the_area_exactly() -> None:
    rng = np.random.default_rng(3)
    pes, bw = rng.integers(1, 4097, size=300), rng.integers(1, 65, size=300)
    l1, l2 = rng.integers(1, 5000, size=300), rng.integers(1, 10**6, size=300)
    for name in ("current", "nasaic"):
        got = area_um2(constants(name), pes, bw, l1, l2)
        want = [area_power(constants(name), num_pes=int(a), vector_width=1, noc_bandwidth=int(b), l1_bytes=int(c),
                           l2_bytes=int(d)).area for a, b, c, d in zip(pes, bw, l1, l2, strict=True)]
        assert got.tolist() == want


def test_compiled_layers_are_reused_and_results_do_not_depend_on_the_batch() -> None:
    layers = (Layer(name="a", K=64, C=32, R=3, S=3, P=16, Q=16), Layer(name="b", K=16, C=16, P=8, Q=8))
    pricer = BatchPricer()
    all_bw = Designs(("dla",) * 8, np.full(8, 576), np.arange(8, 65, 8))
    full = pricer.price(layers, all_bw)
    assert len(pricer._compiled) == 2  # one analysis per layer for all eight bandwidths
    one = price_batch(layers, Designs(("dla",), np.array([576]), np.array([24])))
    assert one.runtime_cycles[:, 0].tolist() == full.runtime_cycles[:, 2].tolist()
    assert len(set(full.runtime_cycles[0].tolist())) > 1  # the bandwidth matters


def test_bad_designs_name_the_field() -> None:
    with pytest.raises(SpecError, match=r"designs.template\[1\]: unknown 'nvdla'"):
        Designs(("dla", "nvdla"), np.array([64, 64]), np.array([8, 8]))
    with pytest.raises(SpecError, match=r"designs.bandwidth: must be >= 1, got 0"):
        Designs(("dla",), np.array([64]), np.array([0]))
    with pytest.raises(SpecError, match=r"designs.pes: must be 2 integers"):
        Designs(("dla", "shi"), np.array([64]), np.array([8, 8]))
    with pytest.raises(SpecError, match=r"noc_hops"):
        BatchPricer(noc_hops=0)
