"""One call from a system and a network to its layer-pipelined NoC design and figures (what ``coexplore noc`` runs)."""

from __future__ import annotations

from dataclasses import dataclass

from coexplore.errors import SpecError
from coexplore.spec.workload import Network
from coexplore.system.design import NocDesign, alleviate, evaluate_design, initial_design
from coexplore.system.engines import resolve_engine
from coexplore.system.pipeline import SystemResult
from coexplore.system.profile import BlockProfile, profile_network
from coexplore.system.spec import SystemSpec

__all__ = ["SystemEvaluation", "evaluate_system"]


@dataclass(frozen=True, slots=True)
class SystemEvaluation:
    """The design chosen, its figures, the design before alleviation and the moves alleviation took."""

    system: SystemSpec
    profile: BlockProfile
    design: NocDesign
    result: SystemResult
    initial: SystemResult
    steps: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        starts = self.design.starts(len(self.profile.blocks))
        return {"system": self.system.name, "network": self.profile.network,
                "engines": dict(zip(self.system.engines, self.system.accelerators, strict=True)),
                "tasks": [{"engine": e, "blocks": [b.name for b in self.profile.blocks[starts[t]:starts[t + 1]]]}
                          for t, e in enumerate(self.design.placement)],
                **self.result.as_dict(), "initial_throughput_per_s": self.initial.throughput_per_s,
                "initial_bottleneck": self.initial.bottleneck, "alleviation_steps": list(self.steps)}


def evaluate_system(system: SystemSpec, network: Network, *, partition: str = "balanced", placement: str = "snake",
                    alleviation: bool = True, samples: int = 256, seed: int = 0) -> SystemEvaluation:
    """``network`` partitioned into one task per engine of ``system`` and placed by the rules, then (with
    ``alleviation``) refined by NANDS's bottleneck detection and alleviation. ASIC and FPGA engines
    (:mod:`coexplore.system.engines`) are priced in the same pipeline."""
    if system.fpga_engines and system.word_bits not in (8, 16, 32):
        raise SpecError(f"system.word_bits: FPGA engines ({', '.join(system.fpga_engines)}) take 8, 16 or 32-bit "
                        f"words (Zhang et al.'s DSP and BRAM rules), got {system.word_bits!r}")
    accs = {ref: resolve_engine(ref) for ref in dict.fromkeys(system.accelerators)}
    profile = profile_network(network, accs, samples=samples, seed=seed, bits=system.word_bits)
    design = initial_design(system, profile, partition=partition, placement=placement)
    first = evaluate_design(system, profile, design)
    if not alleviation:
        return SystemEvaluation(system, profile, design, first, first, ())
    done = alleviate(system, profile, design)
    return SystemEvaluation(system, profile, done.design, done.result, first, done.steps)
