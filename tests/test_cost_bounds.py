"""The order-free energy lower bound never exceeds the exact energy (else branch and bound is wrong)."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.cost.bounds import energy_lower_bound
from coexplore.cost.model import evaluate_batch
from coexplore.mapping.sampling import sample_legal
from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network

CASES = [("resnet18", "layer2.0.conv2"), ("resnet18", "layer2.0.downsample.0"), ("resnet18", "fc"),
         ("mobilenetv2", "features.2.conv.1.0"), ("alexnet", "features.0")]


@pytest.mark.parametrize("acc_name", ["eyeriss", "nvdla-256", "shidiannao", "simba"])
def test_lower_bound_is_below_exact_at_every_depth(acc_name: str) -> None:
    acc = get_accelerator(acc_name)
    for net, name in CASES:
        layer = get_network(net).layer(name)
        batch = sample_legal(layer, acc, 60, seed=7)
        exact = evaluate_batch(layer, acc, batch).energy_pj
        for i in range(len(batch)):
            one = batch.take([i])
            for complete in range(-1, len(acc.levels)):
                lb = energy_lower_bound(layer, acc, one.temporal, one.spatial_x[0], one.spatial_y[0], one.keep[0],
                                        complete)[0]
                assert lb <= exact[i] * (1 + 1e-9), (net, name, i, complete)
        full = np.array([energy_lower_bound(layer, acc, batch.take([i]).temporal, batch.spatial_x[i],
                                            batch.spatial_y[i], batch.keep[i], len(acc.levels) - 1)[0]
                         for i in range(len(batch))])
        assert np.median(full / exact) > 0.05  # the bound is not vacuous
