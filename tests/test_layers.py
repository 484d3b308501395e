"""The walls of the house, kept by a test over the import graph (read with ast; nothing is imported).

- bus/ imports no agent: the file bus is the ground everything else stands on.
- No specialist (researcher, curator, trainer, critic) imports another: they talk through files.
- The search, the brain and the shared ground (common, models, recipes, tasks, example goals) import no
  specialist: a specialist may read them, never the other way round.
- Only the CLI imports export (a command's module).
- No import circle anywhere, counting imports inside functions too (a circle hidden behind a
  function-level import is still a circle).
A failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECIALISTS = ("researcher", "curator", "trainer", "critic")
GROUND = ("search", "brain", "common", "models", "recipes", "tasks", "example_goals")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str], name: str | None = None) -> list[tuple[int, str]]:
    """(line, module) for every import of a project module in `path` (module `name`), resolved to the longest known module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` is an edge to pkg.mod; `from pkg import name` an edge to pkg
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and (node.lineno, target) not in found:
                found.append((node.lineno, target))
    return found


def project_graph() -> tuple[dict[str, Path], dict[str, list[tuple[int, str]]]]:
    files = sorted([*ROOT.joinpath("agents").rglob("*.py"), *ROOT.joinpath("bus").rglob("*.py")])
    paths = {module_name(f): f for f in files}
    return paths, {name: imports_of(path, set(paths)) for name, path in paths.items()}


def room(module: str) -> str:
    """bus, or the first folder under agents (agents.critic.keep -> critic); loose agents modules are the loop."""
    parts = module.split(".")
    if parts[0] == "bus":
        return "bus"
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and _is_package(module)) else "loop"


def _is_package(module: str) -> bool:
    return ROOT.joinpath(*module.split("."), "__init__.py").exists()


def breaches(paths: dict[str, Path], graph: dict[str, list[tuple[int, str]]]) -> list[str]:
    """Every import across a wall, as 'file:line imports module (why)'."""
    out = []
    for module, edges in graph.items():
        here = room(module)
        for line, target in edges:
            there = room(target)
            if there == here:
                continue
            where = f"{paths[module].relative_to(ROOT)}:{line} imports {target}"
            if here == "bus" and target.startswith("agents"):
                out.append(f"{where} (bus/ imports no agent)")
            elif here in SPECIALISTS and there in SPECIALISTS:
                out.append(f"{where} (a specialist never imports another; they talk through files)")
            elif here in GROUND and there in SPECIALISTS:
                out.append(f"{where} ({here} is shared ground and imports no specialist)")
            elif there == "export" and module != "agents.cli":
                out.append(f"{where} (only the CLI imports export)")
    return out


def circles(graph: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """Each import circle once (Tarjan's strongly connected components of more than one module, or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for _, w in graph.get(v, []):
            if _is_package_init_edge(v, w):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _is_package_init_edge(source: str, target: str) -> bool:
    """A module of a package naming the package itself (`from agents.tasks import x` inside agents.tasks.y) is a
    reach for a sibling through the package, not an edge of the design: the package's __init__ is its front door."""
    return source.startswith(target + ".") and _is_package(target)


def test_no_import_crosses_a_wall():
    paths, graph = project_graph()
    found = breaches(paths, graph)
    assert not found, "imports across the walls:\n" + "\n".join(found)


def test_no_import_circle():
    _, graph = project_graph()
    found = circles(graph)
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize(
    ("module", "source", "wall"),
    [
        ("bus.fake", "from agents.common import state\n", "bus/ imports no agent"),
        ("agents.critic.fake", "from agents.trainer.trainer import trainer_step\n", "never imports another"),
        ("agents.search.fake", "def f():\n    from agents.critic import diagnose\n", "imports no specialist"),
        ("agents.critic.fake", "from agents.export.export import export_model\n", "only the CLI imports export"),
    ],
)
def test_each_wall_catches_a_deliberate_breach(module, source, wall, tmp_path):
    """The test above would fail on each kind of breach the layout had (and names the file and line)."""
    paths, graph = project_graph()
    fake = tmp_path / "fake.py"
    fake.write_text(source)
    edges = imports_of(fake, set(paths), module)
    paths = {**paths, module: ROOT / Path(*module.split(".")).with_suffix(".py")}
    found = breaches(paths, {**graph, module: edges})
    assert len(found) == 1 and wall in found[0] and f"{Path(*module.split('.'))}.py:" in found[0], found


def test_a_circle_is_found_even_behind_a_function_level_import():
    graph = {
        "agents.models.a": [(3, "agents.models.b")],
        "agents.models.b": [(9, "agents.models.a")],  # e.g. `def f(): from agents.models.a import x`
        "agents.models.c": [(1, "agents.models.a")],
    }
    assert circles(graph) == [["agents.models.a", "agents.models.b"]]
