"""The project's modules import one way: no cycle in the graph of module-level imports, and
every module imports on its own as the first project module of a fresh interpreter.

The graph is read from the source (``ast``), so the test names the cycle it finds. Imports
inside functions are not edges (they run later); imports under ``if TYPE_CHECKING:`` are left
out. ``from package import name`` is an edge to ``package.name`` when that is a module, else to
the package.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_modules() -> dict[str, Path]:
    """Every module of the project's apps (a top-level folder with an ``apps.py``), by dotted
    name; migrations are left out (only the migration loader imports them)."""
    modules = {}
    for apps_file in sorted(ROOT.glob("*/apps.py")):
        package = apps_file.parent
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts or "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]):
    """Import statements that run when the module is imported (not those in functions)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from _module_level_imports(node.body)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
                continue
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in modules:
                    edges.add(submodule)
                elif target in modules:
                    edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) for each group of modules that import
    each other, found with Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)

    found = []
    for group in groups:
        start = min(group)
        # Shortest way back to the start inside the group (breadth first).
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for other in sorted(graph[node] & group):
                if other == start:
                    found.append([*paths[node], start])
                    queue = []
                    break
                if other not in paths:
                    paths[other] = [*paths[node], other]
                    queue.append(other)
    return found


def test_the_graph_reader_finds_a_cycle(tmp_path):
    """The checker itself: a made-up pair of modules importing each other is reported."""
    modules = {}
    for name, source in {"a": "from . import b\n", "b": "from .a import thing\n", "c": "import a\n"}.items():
        path = tmp_path / "pkg" / f"{name}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
        modules[f"pkg.{name}"] = path
    (tmp_path / "pkg" / "__init__.py").write_text("if TYPE_CHECKING:\n    from . import c\n")
    modules["pkg"] = tmp_path / "pkg" / "__init__.py"
    graph = import_graph(modules)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a"} and graph["pkg"] == set()
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_no_import_cycle_between_project_modules():
    modules = project_modules()
    assert {"resourcemap.models", "surveys.services", "jobs.runner"} <= set(modules)
    found = cycles(import_graph(modules))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


# Each module in a child of one fresh interpreter that has loaded Django and the third-party
# packages but no project module: the child sets Django up and imports the module first.
_ISOLATED = r"""
import json, os, sys, traceback
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resourcemap.settings")
os.environ.setdefault("ALLOW_DEV_SECRET", "1")
modules, externals = json.loads(sys.stdin.read())
import django
for name in externals:  # shared by every child: loaded once here
    try:
        __import__(name)
    except Exception:
        pass
failures = {}
for name in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            django.setup()
            __import__(name)
            message = ""
        except BaseException:
            message = traceback.format_exc(limit=6)
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    if chunks:
        failures[name] = b"".join(chunks).decode()
print(json.dumps(failures))
"""


def _externals(modules: dict[str, Path]) -> list[str]:
    """Top-level third-party and standard modules the project imports at module level."""
    names = set()
    for path in modules.values():
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif not node.level and node.module:
                names.add(node.module)
    own = {name.split(".")[0] for name in modules}
    return sorted(name for name in names if name.split(".")[0] not in own)


def test_every_module_imports_on_its_own():
    modules = project_modules()
    done = subprocess.run(
        [sys.executable, "-c", _ISOLATED], input=json.dumps([sorted(modules), _externals(modules)]),
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    failures = json.loads(done.stdout.strip().splitlines()[-1])
    assert not failures, "\n\n".join(f"{name}:\n{error}" for name, error in failures.items())


def _middleware_classes(path: Path) -> list[str]:
    """Classes of a module shaped as Django middleware: ``__init__(self, get_response)``."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                if [arg.arg for arg in item.args.args[1:2]] == ["get_response"]:
                    found.append(node.name)
    return found


def test_the_middleware_reader_finds_middleware(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "class Mw:\n    def __init__(self, get_response):\n        pass\n"
        "class Model:\n    def __init__(self, *args):\n        pass\n"
    )
    assert _middleware_classes(path) == ["Mw"]


def test_models_modules_hold_no_middleware():
    """Models modules define data; the request middleware lives in middleware modules."""
    from django.conf import settings

    found = {
        name: classes for name, path in project_modules().items()
        if name.split(".")[-1] == "models" and (classes := _middleware_classes(path))
    }
    assert not found, f"middleware in models modules: {found}"
    assert "resourcemap.middleware.DataVersionMiddleware" in settings.MIDDLEWARE
    assert not [entry for entry in settings.MIDDLEWARE if ".models." in entry]
