"""The package's layers point one way (issue 10): assets -> sim -> tasks -> the adapters, each
importing only the layers below it, and no two modules import each other at import time.

Read from the sources (every import statement, those inside functions too), so a lazy import
that reaches upwards fails here as an eager one would.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spaceros_procgen_envs

PACKAGE = Path(spaceros_procgen_envs.__file__).parent
NAME = PACKAGE.name

# What each lower layer may import from the package besides itself: the leaf modules
# (errors, domains, forksafe, gl) and the layers under it.
BELOW = {
    "assets": {"errors", "domains", "forksafe"},
    "sim": {"assets", "errors", "domains", "forksafe", "gl"},
    "tasks": {"sim", "assets", "registry", "errors", "domains"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, module_level: bool) -> set[str]:
    """The package's modules that ``name`` imports (at import time only, or anywhere)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    nodes = _top_level(tree) if module_level else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:package.count(".") + 2 - node.level]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # ``from . import tasks`` imports a module
                full = f"{target}.{alias.name}"
                found.add(full if full in MODULES else target)
    return {m for m in found if m in MODULES and m != name}


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """The module's own statements and those of its top-level ifs: what importing it runs."""
    return [node for top in tree.body
            for node in ([*top.body, *top.orelse] if isinstance(top, ast.If) else [top])]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("layer", sorted(BELOW))
def test_a_layer_imports_only_the_layers_below_it(layer):
    allowed = BELOW[layer] | {layer}
    upward = sorted(f"{name} imports {target}"
                    for name, path in MODULES.items() if _layer(name) == layer
                    for target in _imports(name, path, module_level=False)
                    if _layer(target) not in allowed)
    assert not upward, f"{layer}/ reaches above itself: {upward}"


def test_no_two_modules_import_each_other_at_import_time():
    graph = {name: _imports(name, path, module_level=True) for name, path in MODULES.items()}
    cycles, state, path = [], {}, []

    def visit(name: str) -> None:  # depth first; an edge back into the path closes a cycle
        state[name] = "open"
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_see_an_upward_import(tmp_path):
    """The reader itself: a lazy import of the registry inside an asset module is found."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..registry import get_task\n    return get_task\n")
    assert _imports(f"{NAME}.assets.probe", probe, module_level=False) == {f"{NAME}.registry"}
    assert _imports(f"{NAME}.assets.probe", probe, module_level=True) == set()
