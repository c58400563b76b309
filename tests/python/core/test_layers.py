"""The house's shape, checked from the code's own imports (docs/design.md "Layers").

Layers, each importing only itself and what is below it:
    oie_core (0)  <-  ingest_function (1)  <-  kv_sync, crm_sync, oie (2)  <-  bench (3)
Inside a layer no import cycle, and inside `oie` the commands sit on top: no logic module
imports a command. In layer 2, crm_sync builds on kv_sync (its dialects, warehouse
connection, clock and errors) and `oie` on both; kv_sync never imports crm_sync. Every
import counts, also the ones inside functions (lazy imports are still dependencies). The
deploy bundle must hold every module the function reaches.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LAYERS = {
    "oie_core": 0,
    "ingest_function": 1,
    "kv_sync": 2,
    "crm_sync": 2,
    "oie": 2,
    "bench": 3,
}
# Within a layer, packages that must not import another of the same layer.
NEVER_IMPORTS = {"kv_sync": ("crm_sync", "oie"), "crm_sync": ("oie",)}
# Only the test suite and the developer's tools may use these (the `dev` extra).
DEV_ONLY = {
    "pytest",
    "hypothesis",
    "sqlglot",
    "sqlfluff",
    "playwright",
    "mypy",
    "ruff",
    "standardwebhooks",
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    out = {}
    for package in LAYERS:
        for path in sorted((REPO / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                out[_module_name(path)] = path
    return out


def imports_of(path: Path, name: str) -> set[str]:
    """Every module named by an import statement of the file, resolved to absolute names."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # `from pkg import submodule` names the submodule too.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def project_graph() -> dict[str, set[str]]:
    modules = product_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path, name):
            if imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def layer_of(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_imports_only_go_down():
    upward = [
        f"{src} -> {dst}"
        for src, targets in project_graph().items()
        for dst in targets
        if layer_of(dst) > layer_of(src)
    ]
    assert upward == []


def test_kv_sync_never_imports_crm_sync_and_neither_imports_the_command_line():
    sideways = [
        f"{src} -> {dst}"
        for src, targets in project_graph().items()
        for dst in targets
        if dst.split(".")[0] in NEVER_IMPORTS.get(src.split(".")[0], ())
    ]
    assert sideways == []


def test_logic_modules_never_import_a_command():
    graph = project_graph()
    offenders = [
        f"{src} -> {dst}"
        for src, targets in graph.items()
        if src.startswith("oie.") and not src.startswith(("oie.commands", "oie.cli"))
        for dst in targets
        if dst.startswith(("oie.commands", "oie.cli"))
    ]
    assert offenders == []


def test_no_import_cycle():
    graph = project_graph()
    # A package's __init__ importing its own submodules is not a dependency edge worth a
    # cycle; ours import nothing, and this keeps them so.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_shipped_code_needs_no_dev_only_package():
    """What pip installs (oie_core, ingest_function, oie) runs without the dev extra; the
    benchmarks are developer tools and may use Playwright."""
    offenders = []
    for name, path in product_modules().items():
        if name.startswith("bench"):
            continue
        for imported in imports_of(path, name):
            if imported.split(".")[0] in DEV_ONLY:
                offenders.append(f"{name} imports {imported}")
    assert offenders == []


def test_deploy_bundle_holds_everything_the_function_reaches():
    sys.path.insert(0, str(REPO / "deploy"))
    try:
        import bundle
    finally:
        sys.path.remove(str(REPO / "deploy"))
    graph = project_graph()
    reached, todo = set(), ["ingest_function.main"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    shipped = {m for m in reached if m.split(".")[0] in bundle.PACKAGES}
    assert shipped == reached, sorted(reached - shipped)
    assert set(bundle.PACKAGES) == {"oie_core", "ingest_function"}


def test_no_product_module_is_longer_than_the_limit_without_a_reason():
    too_long = []
    for name, path in product_modules().items():
        lines = path.read_text().splitlines()
        head = "\n".join(lines[:30])
        if len(lines) > MAX_LINES and "Longer than 500 lines because" not in head:
            too_long.append(f"{name}: {len(lines)} lines")
    assert too_long == []


def test_the_walker_sees_lazy_and_relative_imports(tmp_path):
    """The checks above are only as good as the walker: prove it finds what it must."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    mod = pkg / "mod.py"
    mod.write_text(
        "from . import sibling\n"
        "from .other import thing\n"
        "def f():\n"
        "    from oie.commands import run\n"
        "    import ingest_function.main\n"
    )
    found = imports_of(mod, "pkg.mod")
    assert {"pkg.sibling", "pkg.other", "oie.commands.run", "ingest_function.main"} <= found


def test_each_command_calls_the_logic_module_of_its_name():
    graph = project_graph()
    commands = sorted(
        p.stem for p in (REPO / "oie" / "commands").glob("*.py") if not p.stem.startswith("_")
    )
    assert commands, "no command modules found"
    missing = [
        name
        for name in commands
        if f"oie.{name}" not in graph or f"oie.{name}" not in graph[f"oie.commands.{name}"]
    ]
    assert missing == []
