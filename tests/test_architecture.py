"""The layering, checked over the import graph of boxoffice/ (docs/architecture.md):

    common → outbox → audit → accounts → webhooks → events → bookings
           → payments / door / notifications → analytics, staff → web

(web is the one app above analytics: its console shows the sales figures the API serves.)

No import runs from a package to one in its own or a higher layer, there are no module cycles, and
no function-level import of our own code exists to dodge one (AppConfig.ready() aside).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "boxoffice"
LAYERS = [
    {"common"},
    {"outbox"},
    {"audit"},
    {"accounts"},
    {"webhooks"},
    {"events"},
    {"waitingroom"},
    {"bookings"},
    {"payments", "door", "notifications"},
    {"analytics", "staff"},
    {"web"},
]
RANK = {app: rank for rank, apps in enumerate(LAYERS) for app in apps}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield _module_name(path), path, ast.parse(path.read_text(), str(path))


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.module is None or node.level:
        return []
    # `from boxoffice.x import y` may import the module boxoffice.x.y
    return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> tuple[list[tuple[int, str]], list[tuple[int, str, str]]]:
    """(module-level imports, function-level imports with their function's name)."""
    top: list[tuple[int, str]] = []
    nested: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # annotations only: not a runtime import
            if isinstance(child, ast.Import | ast.ImportFrom):
                for name in _imported(child):
                    if function is None:
                        top.append((child.lineno, name))
                    else:
                        nested.append((child.lineno, name, function))
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else None
            )
            visit(child, inner or function)

    visit(tree, None)
    return top, nested


def _app(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "boxoffice" else None


MODULES = {name: (path, tree) for name, path, tree in _modules()}


def test_every_app_has_a_layer() -> None:
    apps = {app for app in map(_app, MODULES) if app is not None}
    assert apps <= set(RANK), f"give these apps a layer: {sorted(apps - set(RANK))}"


def test_no_import_runs_upward_or_sideways() -> None:
    wrong = []
    for name, (path, tree) in MODULES.items():
        importer = _app(name)
        if importer is None:
            continue
        top, nested = _imports(tree)
        for lineno, target in [*top, *((line, target) for line, target, _ in nested)]:
            imported = _app(target)
            if imported is None or imported == importer:
                continue
            if RANK[imported] >= RANK[importer]:
                wrong.append(f"{path.relative_to(ROOT)}:{lineno}: {importer} -> {imported}")
    assert not wrong, "\n".join(wrong)


def test_no_module_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for name, (_path, tree) in MODULES.items():
        top, _ = _imports(tree)
        graph[name] = {target for _, target in top if target in MODULES and target != name}
    # A package's __init__ is imported by its submodules implicitly; ours are empty.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_no_lazy_imports_of_our_own_code() -> None:
    lazy = []
    for path, tree in MODULES.values():
        _, nested = _imports(tree)
        for lineno, target, function in nested:
            if not target.startswith("boxoffice.") and not target.startswith("config."):
                continue
            if path.name == "apps.py" and function == "ready":
                continue  # the app registry is ready: registering handlers and tasks
            lazy.append(f"{path.relative_to(ROOT)}:{lineno} in {function}(): {target}")
    assert not lazy, "\n".join(lazy)


@pytest.mark.parametrize("app", ["common"])
def test_common_imports_no_app(app: str) -> None:
    for name, (path, tree) in MODULES.items():
        if _app(name) != app:
            continue
        top, nested = _imports(tree)
        for lineno, target in [*top, *((line, target) for line, target, _ in nested)]:
            other = _app(target)
            assert other in {None, app}, f"{path.relative_to(ROOT)}:{lineno} imports {target}"
