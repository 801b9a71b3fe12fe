"""Imports flow one way (DESIGN.md): a module imports only from its own layer or lower ones."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "coexplore"

LAYER = {
    "errors": 0, "optional": 0, "registry": 0, "datadir": 0, "spec": 0, "presets": 0,
    "mapping": 1, "interop": 1,
    "cost": 2, "maestro": 2,
    "search": 3, "predict": 3,
    "mapper": 4, "hwsearch": 4, "nas": 4, "system": 4,
    "joint": 5, "resolve": 5,
    "study": 6,
    "report": 7,
    "api": 8, "cli": 8, "__init__": 8, "__main__": 8,
}


def _layer_of(module: str) -> int:
    parts = module.split(".")
    assert parts[0] == "coexplore"
    key = parts[1] if len(parts) > 1 else "__init__"
    assert key in LAYER, f"module {module} has no layer in tests/test_layering.py"
    return LAYER[key]


def test_every_import_goes_down_or_sideways() -> None:
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        if module == "coexplore":
            continue
        own = _layer_of(module)
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("coexplore.") and _layer_of(name) > own:
                    bad.append(f"{module} (layer {own}) imports {name} (layer {_layer_of(name)})")
    assert not bad, "\n".join(bad)


def test_every_subpackage_has_a_layer() -> None:
    names = {c.stem for c in PKG.iterdir() if (c.is_dir() and (c / "__init__.py").exists()) or c.suffix == ".py"}
    missing = sorted(names - set(LAYER))
    assert not missing, f"give these a layer in tests/test_layering.py: {missing}"
