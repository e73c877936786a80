"""The modules' imports point one way: no cycle among the imports a module makes when it is
loaded, the daemon imports nothing from the CLI, and the rooms below the daemon import neither."""

from __future__ import annotations

import ast
from pathlib import Path

from appliance.assistants.lint import strongly_connected

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("appliance", "tui")
# rooms below the daemon: none of them may import the daemon or the CLI
LOWER = (
    "appliance.call",
    "appliance.engine",
    "appliance.conversation",
    "appliance.sip",
    "appliance.speech",
    "appliance.brain",
    "appliance.assistants",
    "appliance.tools",
    "appliance.audio",
    "appliance.config",
    "appliance.store",
    "appliance.events",
    "appliance.call_events",
    "appliance.models",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def load_time_imports(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports when it is loaded: module-level statements only (not
    inside functions, not under `if TYPE_CHECKING`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in known else base)

    visit(tree.body)
    return {m for m in found if m in known and m != me}


def graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    known = {module_name(p) for p in files}
    return {module_name(p): load_time_imports(p, known) for p in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (the checker's Tarjan)."""
    return sorted(sorted(c) for c in strongly_connected(g) if len(c) > 1)


def _under(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_daemon_imports_nothing_from_the_cli() -> None:
    g = graph()
    bad = [
        (m, dep)
        for m, deps in g.items()
        if _under(m, "appliance.daemon")
        for dep in deps
        if _under(dep, "appliance.cli")
    ]
    assert bad == []


def test_the_rooms_below_the_daemon_import_neither_the_daemon_nor_the_cli() -> None:
    g = graph()
    bad = [
        (m, dep)
        for m, deps in g.items()
        if any(_under(m, room) for room in LOWER)
        for dep in deps
        if _under(dep, "appliance.daemon") or _under(dep, "appliance.cli")
    ]
    assert bad == []


def test_the_graph_sees_real_imports() -> None:
    g = graph()
    assert "appliance.engine" in g["appliance.call"]
    assert "appliance.daemon.call_session" in g["appliance.daemon.service"]
    assert "appliance.config.sip" in g["appliance.config"]
