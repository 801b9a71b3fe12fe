"""Names and files -> networks and accelerators, for every command and config.

A network is a zoo preset, a coexplore network YAML, an ONNX file, or a searched network
(``nb201:9930``, ``chain-cifar10:k3c24-k5c36``, ``blocks:...``); an accelerator is a
preset, a coexplore accelerator YAML or a ZigZag hardware YAML.
"""

from __future__ import annotations

from pathlib import Path

from coexplore.presets.accelerators import get_accelerator
from coexplore.presets.networks import get_network
from coexplore.spec.hardware import Accelerator
from coexplore.spec.workload import Network

__all__ = ["resolve_accelerator", "resolve_network"]


def resolve_accelerator(name_or_path: str) -> Accelerator:
    """An accelerator preset, a coexplore accelerator YAML, or a ZigZag hardware YAML."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or "/" in name_or_path:  # a path: a missing file is said so
        from coexplore.interop.zigzag import accelerator_from_zigzag, looks_like_zigzag
        from coexplore.spec.io import read_yaml

        data = read_yaml(path, "accelerator file")
        if looks_like_zigzag(data):
            return accelerator_from_zigzag(data, name=path.stem)
    return get_accelerator(name_or_path)


def resolve_network(name_or_path: str) -> Network:
    """A network preset, a coexplore network YAML, an ONNX file (``*.onnx``), or a searched network:
    ``nb201:INDEX`` / ``nb201:CELL-STRING`` (CIFAR-100 skeleton; ``nb201-cifar10:...`` and
    ``nb201-imagenet16-120:...`` for the others), ``chain-DATASET:k3c24-k5c36``, ``blocks:ARCH``."""
    prefix, sep, rest = name_or_path.partition(":")
    if sep and (prefix.startswith("nb201") or prefix.startswith("chain") or prefix == "blocks"):
        return _searched_network(prefix, rest)
    if name_or_path.lower().endswith(".onnx"):
        from coexplore.interop.onnx_import import network_from_onnx

        return network_from_onnx(name_or_path)
    return get_network(name_or_path)


def _searched_network(prefix: str, arch: str) -> Network:
    from coexplore.errors import SpecError
    from coexplore.nas.build import build_space
    from coexplore.nas.nb201 import NB201Space

    kind, _, dataset = prefix.partition("-")
    space = build_space(kind, dataset or None)
    if isinstance(space, NB201Space) and arch.strip().isdigit():
        return space.to_network(space.cell(int(arch)))
    try:
        parsed = space.parse(arch)
    except SpecError as e:
        raise SpecError(f"network {prefix}:{arch!r}: {e}") from None
    return space.to_network(parsed)
