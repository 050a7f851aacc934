"""Layers that show (issue 19): the shared runtime imports no service, entry points sit above
the services, and no module imports itself back round a circle.

Read from the source, not from what happens to be imported: every ``import`` and ``from``
statement, at module level or inside a function, and every ``"services.x.y:Class"`` string
(a class named by path is an import that runs later)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cp247", "events", "services")
# Above the services: they start, seed or describe the whole product.
ENTRY_POINTS = frozenset({
    "cp247.bootstrap", "cp247.cli", "cp247.demo", "cp247.distributed", "cp247.embedded",
    "cp247.retention", "cp247.security_doc",
})  # fmt: skip
CLASS_PATH = re.compile(r"""["']((?:cp247|events|services)(?:\.\w+)+):\w+["']""")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()

    def module_of(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        text = path.read_text(encoding="utf-8")
        targets: list[str] = CLASS_PATH.findall(text)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets += [f"{node.module}.{alias.name}" for alias in node.names]
        for target in targets:
            found = module_of(target)
            if found and found != name:
                graph[name].add(found)
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_shared_runtime_reaches_no_service() -> None:
    graph = import_graph()
    assert "cp247.nameko_support" in graph and "services.intake.app" in graph
    runtime = [name for name in graph if name.startswith("cp247") and name not in ENTRY_POINTS]
    leaks = {
        name: sorted(target for target in reachable(graph, name) if target.startswith("services"))
        for name in runtime
    }
    assert {name: found for name, found in leaks.items() if found} == {}


def test_the_event_contract_reaches_no_service() -> None:
    graph = import_graph()
    for name in (name for name in graph if name.startswith("events")):
        assert not {t for t in reachable(graph, name) if t.startswith("services")}, name


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = import_graph()
    circles = sorted(name for name in graph if name in reachable(graph, name))
    assert circles == []


def test_the_graph_sees_a_class_named_by_path() -> None:
    # The list of services names each application class: an import too, or the check is blind.
    assert "services.intake.app" in import_graph()["services.catalogue"]
