"""No import cycles between the project's modules, a function's own lazy import included: a lazy import
only hides a cycle from import order, and the two modules still cannot be understood, tested or moved one
without the other (issue #28). A cycle at module level also makes half-initialised modules possible."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"cifar_tui": ROOT / "src", "bench": ROOT}  # each package and the folder it lives in


def module_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for package, home in PACKAGES.items():
        for path in (home / package).rglob("*.py"):
            name = ".".join(path.relative_to(home).with_suffix("").parts).removesuffix(".__init__")
            deps = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    deps.add(node.module)  # `from package import module` depends on that module too
                    deps.update(f"{node.module}.{alias.name}" for alias in node.names)
                elif isinstance(node, ast.Import):
                    deps.update(alias.name for alias in node.names)
            graph[name] = deps
    return {name: {d for d in deps if d in graph and d != name} for name, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for dep in graph.get(node, ()):
                if dep == start:
                    found.append(path + [dep])
                elif dep in graph and dep not in seen:
                    seen.add(dep)
                    stack.append((dep, path + [dep]))
    return found


def test_the_project_has_no_import_cycles():
    graph = module_imports()
    # the walk found the modules
    assert {"cifar_tui.engine.run.runner", "cifar_tui.cli.main", "cifar_tui.cli.typer_apps"} <= set(graph)
    assert cycles(graph) == []


def test_a_cycle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"], ["b", "c", "a", "b"],
                                                                      ["c", "a", "b", "c"]]


# The package map's rules (docs/development.md): what each front end and the shared rendering may import.
FORBIDDEN = {
    "cifar_tui.engine": ("cifar_tui.app", "cifar_tui.cli", "cifar_tui.render", "textual", "rich"),
    "cifar_tui.render": ("cifar_tui.app", "cifar_tui.cli", "textual"),
    "cifar_tui.app": ("cifar_tui.cli",),
    "cifar_tui.cli": ("cifar_tui.app",),
}
STARTS_THE_APP = {"cifar_tui.cli.launch"}  # the one CLI module that imports the app: it starts it


def layer_breaches(graph: dict[str, set[str]], raw: dict[str, set[str]]) -> list[str]:
    found = []
    for module in sorted(graph):
        for layer, banned in FORBIDDEN.items():
            if (module == layer or module.startswith(layer + ".")) and module not in STARTS_THE_APP:
                found += [f"{module} -> {dep}" for dep in sorted(raw[module]) if dep.startswith(banned)]
    return found


def raw_imports() -> dict[str, set[str]]:
    """Every module's imports, third-party ones included (module_imports keeps the project's only)."""
    out = {}
    for path in (ROOT / "src" / "cifar_tui").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts).removesuffix(".__init__")
        out[name] = {alias.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import)
                     for alias in node.names}
        out[name] |= {node.module for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    return out


def test_each_layer_imports_only_what_the_package_map_allows():
    """`runs show` imported the app's widgets (Textual) for two Rich tables; they live in render/ now."""
    graph, raw = module_imports(), raw_imports()
    assert layer_breaches(graph, raw) == []
    # the rule is checked: a breach is found
    assert layer_breaches({"cifar_tui.cli.runs": set()}, {"cifar_tui.cli.runs": {"cifar_tui.app.widgets"}}) == [
        "cifar_tui.cli.runs -> cifar_tui.app.widgets"]
