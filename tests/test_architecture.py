"""The architecture, computed from the source: no import circles, layers that point down.

Every import counts, also one inside a function or under ``TYPE_CHECKING``: a circle that
only runs late still ties two modules together. The layers are the parts of the README's
diagram, lowest first; a module may import its own part and the parts of lower layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("topics", "executors", "streamer")

LAYERS: tuple[tuple[str, ...], ...] = (
    ("topics", "executors"),  # event contracts and transports; APIs and executors
    ("streamer.runtime", "streamer.broker"),  # the stage runner; a local Kafka broker
    ("streamer.prompts",),
    ("streamer.grounding",),
    ("streamer.llm",),
    ("streamer.dataset",),
    ("streamer.decontamination",),
    ("streamer.stages",),
    ("streamer.pipeline",),
    ("streamer.replay", "streamer.check", "streamer.curation"),
    ("streamer.cli",),
    ("streamer.__main__",),
)
"""The parts, lowest first; parts in one layer do not import each other."""

MAX_LINES = 600
"""Longest module, in lines; split longer ones by responsibility."""

DATA_MODULES = ("executors/builtin/",)
"""Modules that are data (the built-in function library), exempt from :data:`MAX_LINES`."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imported(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The project modules ``module`` imports (the closest known module of each name)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                yield target


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {m: set(_imported(m, p, known)) for m, p in sources.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "streamer" else parts[0]


def _layer(part: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if part in layer:
            return rank
    raise AssertionError(f"{part} is in no layer of LAYERS: add it where it belongs")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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


def test_the_graph_sees_imports() -> None:
    graph = _graph()
    assert "streamer.runtime._stage" in graph["streamer.stages._format"]
    assert "topics" in {_part(m) for m in graph["streamer.runtime._runner"]}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_no_import_circles_between_parts() -> None:
    parts: dict[str, set[str]] = {}
    for module, imports in _graph().items():
        parts.setdefault(_part(module), set()).update(
            _part(i) for i in imports if _part(i) != _part(module)
        )
    assert _cycles(parts) == []


def test_layers_only_point_down() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, imports in _graph().items()
        for target in imports
        if _part(target) != _part(module) and _layer(_part(target)) >= _layer(_part(module))
    )
    assert upward == []


@pytest.mark.parametrize("lower", ["topics", "executors"])
def test_the_foundations_import_nothing_of_streamer(lower: str) -> None:
    graph = _graph()
    assert not [
        (m, i)
        for m, imports in graph.items()
        if _part(m) == lower
        for i in imports
        if i.startswith("streamer")
    ]


def test_modules_stay_readable_in_size() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in _sources().values()
        if not str(path.relative_to(ROOT)).startswith(DATA_MODULES)
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_part_says_its_job() -> None:
    missing = [
        str(init.relative_to(ROOT))
        for pkg in PACKAGES
        for init in (ROOT / pkg).rglob("__init__.py")
        if not ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    ]
    assert missing == []
