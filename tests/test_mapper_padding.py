"""Imperfect factorization by padding: useful variants only, honest costs, never worse than unpadded."""

from __future__ import annotations

import json
import subprocess
import sys

from coexplore.mapper.network import map_layer
from coexplore.mapper.padding import padded_variants, padding_of
from coexplore.mapping.validate import problems
from coexplore.presets.accelerators import get_accelerator
from coexplore.spec.workload import parse_layer_spec


def test_variants_round_up_to_array_multiples_within_the_overhead() -> None:
    acc = get_accelerator("nvdla-1024")
    layer = parse_layer_spec("K=1000,C=512", name="fc")
    variants = padded_variants(layer, acc, max_overhead=0.05)
    assert variants and all(v.macs > layer.macs for v in variants)
    assert all(v.macs <= layer.macs * 1.05 for v in variants)
    assert any(padding_of(layer, v) == {"K": 1008} for v in variants)


def test_grouped_layers_pad_channels_per_group() -> None:
    acc = get_accelerator("eyeriss")
    layer = parse_layer_spec("K=60,C=60,P=14,Q=14,R=3,S=3,groups=60", name="dw")
    for v in padded_variants(layer, acc):
        assert v.groups == 60 and v.K % 60 == 0 and v.C % 60 == 0


def test_padding_never_worse_and_reports_what_it_padded() -> None:
    acc = get_accelerator("nvdla-1024")
    layer = parse_layer_spec("K=1000,C=512", name="fc")
    plain = map_layer(layer, acc, seed=0)
    padded = map_layer(layer, acc, seed=0, padding=True)
    assert padded.cost.edp <= plain.cost.edp
    assert dict(padded.padded).get("K") == 1008  # 1000 = 8 x 125 uses 8 of 32 columns; 1008 = 16 x 63
    assert padded.cost.edp < plain.cost.edp
    assert problems(padded.mapped_layer, acc, padded.mapping) == []
    assert padded.layer == layer and not padded.optimal


def test_cli_reports_padding_in_json() -> None:
    out = subprocess.run([sys.executable, "-m", "coexplore.cli.main", "map", "--layer", "K=1000,C=512",
                          "--accelerator", "nvdla-1024", "--padding", "--json", "--jobs", "1"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["layers"][0]["padded"] == {"K": 1008}
