"""No silent zero cost: unset energies and areas come from the technology; all-zero parts are refused."""

from __future__ import annotations

import numpy as np
import pytest

from coexplore.cost.model import evaluate
from coexplore.errors import SpecError
from coexplore.mapping.sampling import sample_one
from coexplore.spec.hardware import Accelerator, MacUnit, MemoryLevel
from coexplore.spec.io import accelerator_from_dict, accelerator_to_dict
from coexplore.spec.technology import get_technology, make_level, make_mac
from coexplore.spec.workload import Layer


def _obvious(**mac: object) -> Accelerator:
    """An accelerator built from the exported classes with nothing but sizes and shapes."""
    return Accelerator(
        name="plain",
        levels=(MemoryLevel(name="rf", size_words=64, instances=16, mesh_x=16),
                MemoryLevel(name="glb", size_words=65536),
                MemoryLevel(name="dram", size_words=None)),
        mac=MacUnit(instances=16, mesh_x=16, **mac),  # type: ignore[arg-type]
    )


def test_the_obvious_accelerator_is_priced_from_its_technology() -> None:
    acc = _obvious()
    tech = get_technology(acc.technology)
    rf, glb, dram = acc.levels
    assert [lv.technology_class for lv in acc.levels] == ["sram", "sram", "dram"]
    assert rf == make_level(name="rf", technology_class="sram", size_words=64, mesh_x=16)
    assert glb.read_energy_pj == pytest.approx(tech.sram_read_energy_pj(65536, 8))
    assert dram.read_energy_pj == pytest.approx(tech.dram_energy_pj(8)) and dram.area_mm2 == 0
    mac = make_mac(bits=8, mesh_x=16)
    assert (acc.mac.energy_pj, acc.mac.area_mm2) == (mac.energy_pj, mac.area_mm2)
    layer = Layer(K=16, C=8, P=4, Q=4, R=3, S=3)
    cost = evaluate(layer, acc, sample_one(layer, acc, np.random.default_rng(0)))
    assert cost.energy_pj > layer.macs * mac.energy_pj > 0 and cost.area_mm2 > 0 and cost.edp > 0


def test_given_values_are_kept_and_the_rest_priced() -> None:
    acc = Accelerator(name="a", levels=(MemoryLevel(name="buf", size_words=1024, read_energy_pj=2.5),
                                        MemoryLevel(name="dram", size_words=None)),
                      mac=MacUnit(energy_pj=0.5))
    buf = acc.levels[0]
    tech = get_technology("45nm")
    assert buf.read_energy_pj == 2.5
    assert buf.write_energy_pj == pytest.approx(tech.sram_write_energy_pj(1024, 8)) == buf.update_energy_pj
    assert acc.mac.energy_pj == 0.5 and acc.mac.area_mm2 == pytest.approx(tech.mac_area_mm2(8))


def test_zero_cost_parts_are_refused_naming_the_field() -> None:
    zero = {"read_energy_pj": 0.0, "write_energy_pj": 0.0, "update_energy_pj": 0.0}
    with pytest.raises(SpecError) as e:
        Accelerator(name="z", levels=(MemoryLevel(name="rf", size_words=8, **zero),
                                      MemoryLevel(name="dram", size_words=None)),
                    mac=MacUnit(energy_pj=0.0))
    assert e.value.problems == [
        "accelerator.mac.energy_pj: every MAC would cost 0 pJ; give its energy, leave it unset to price it "
        "from technology '45nm', or set cost_free: true",
        "accelerator.levels[0].read_energy_pj: level 'rf' keeps data but its reads, writes and updates would all "
        "cost 0 pJ; give its energies, leave them unset to price them from technology '45nm', or set "
        "cost_free: true",
    ]


def test_cost_free_is_an_explicit_opt_in_and_containers_need_none() -> None:
    zero = {"read_energy_pj": 0.0, "write_energy_pj": 0.0, "update_energy_pj": 0.0}
    acc = Accelerator(name="ideal", levels=(
        MemoryLevel(name="rf", size_words=8, instances=4, mesh_x=4, cost_free=True, **zero),
        MemoryLevel(name="pe", size_words=0, keeps=frozenset(), instances=4, mesh_x=4),
        MemoryLevel(name="dram", size_words=None)), mac=MacUnit(instances=4, mesh_x=4, energy_pj=0.0,
                                                                  cost_free=True))
    assert acc.levels[0].read_energy_pj == 0.0 and acc.mac.energy_pj == 0.0
    assert acc.levels[1].technology_class == "container" and acc.levels[1].read_energy_pj == 0.0


def test_unset_costs_with_an_unknown_technology_are_refused() -> None:
    with pytest.raises(SpecError, match=r"accelerator\.levels\[0\]: level 'rf'\.read_energy_pj: not given, and "
                                        r"technology 'tsmc3' has no table to price it \(known: 45nm, 40nm\)"):
        Accelerator(name="t", levels=(MemoryLevel(name="rf", size_words=8), MemoryLevel(name="dram", size_words=None)),
                    mac=MacUnit(energy_pj=1.0, area_mm2=1e-3), technology="tsmc3")


def test_yaml_round_trip_keeps_the_priced_values_and_refuses_zeros() -> None:
    acc = _obvious()
    data = accelerator_to_dict(acc)
    assert accelerator_from_dict(data) == acc
    for key in ("read_energy_pj", "write_energy_pj", "update_energy_pj"):
        data["levels"][1][key] = 0.0
    with pytest.raises(SpecError, match=r"accelerator\.levels\[1\]\.read_energy_pj: level 'glb' keeps data"):
        accelerator_from_dict(data)
    sparse = {"name": "y", "mac": {"instances": 4, "mesh_x": 4},
              "levels": [{"name": "rf", "size_words": 16, "instances": 4, "mesh_x": 4},
                         {"name": "dram", "size_words": None}]}
    assert accelerator_from_dict(sparse).levels[0].read_energy_pj > 0
