"""The map in README.md's Development section holds: every module of posewarp/ sits in one of its rooms, imports
(lazy ones inside functions included) run only within a room or down to a lower layer, and none closes a circle."""

import ast
import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "posewarp"


def read_map(readme: str) -> list[tuple[int, list[list[str]]]]:
    """``[(layer, [room patterns, ...]), ...]`` from the README's ``layer  rooms`` table."""
    block = re.search(r"```text\nlayer  rooms[^\n]*\n(.*?)```", readme, re.S)
    assert block, "README.md's Development section has no `layer  rooms` table"
    layers = []
    for line in block.group(1).splitlines():
        number, rooms = line.split(maxsplit=1)
        layers.append((int(number), [room.split() for room in rooms.split("|")]))
    return layers


LAYERS = read_map((ROOT / "README.md").read_text(encoding="utf-8"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def room_of(path: Path) -> tuple[int, str]:
    """``(layer, room)`` of a module: a room that names the file (or a glob of it) wins over a room of its folder."""
    rel = path.relative_to(PACKAGE).as_posix()
    files, folders = [], []
    for layer, rooms in LAYERS:
        for room in rooms:
            for pattern in room:
                if pattern.endswith("/") and rel.startswith(pattern):
                    folders.append((layer, " ".join(room)))
                elif fnmatch.fnmatchcase(rel, pattern):
                    files.append((layer, " ".join(room)))
    found = files or folders
    assert len(found) == 1, f"posewarp/{rel} is in {len(found)} rooms of the README's map: {found}"
    return found[0]


def imports(name: str, path: Path) -> set[str]:
    """The posewarp modules ``name`` imports anywhere in its file: ``from a import b`` is ``a.b`` when that is a
    module, else ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name, path) for name, path in MODULES.items()}


def test_every_module_sits_in_one_room():
    for path in MODULES.values():
        room_of(path)


def test_imports_stay_in_their_room_or_run_down_a_layer():
    wrong = []
    for name, targets in GRAPH.items():
        layer, room = room_of(MODULES[name])
        for target in sorted(targets):
            to_layer, to_room = room_of(MODULES[target])
            if to_room != room and to_layer >= layer:
                wrong.append(f"{name} (layer {layer}: {room}) imports {target} (layer {to_layer}: {to_room})")
    assert not wrong, "imports against the README's map:\n" + "\n".join(wrong)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or a module importing itself (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_closes_a_circle():
    assert circles(GRAPH) == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])  # fmt: skip
def test_the_circle_check_finds_a_circle(graph, expected):
    assert circles(graph) == expected


def test_the_checks_see_lazy_imports_and_would_refuse_an_upward_one():
    """config.validate once imported config_ranges inside the function; that import is seen, and an import of the
    trainer from a network module would be refused."""
    assert "posewarp.config_ranges" in GRAPH["posewarp.config"]
    assert "posewarp.models" in GRAPH["posewarp.snapshots"]  # imported inside build()
    nn_layer, training_layer = room_of(MODULES["posewarp.nn.grids"])[0], room_of(MODULES["posewarp.training.loop"])[0]
    assert nn_layer < training_layer
