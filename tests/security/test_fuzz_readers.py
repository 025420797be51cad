"""Property-based fuzzing of every reader of outside records: catalogue converters (xLAM,
OpenAI tools, BFCL, ToolBench, OpenAPI documents, MCP listings, Python callables) and the
format checker.

Two sources of records: real ones from ``../shared/data`` mutated by the benchmark's own
mutator (``bench/fuzz_readers.py``: type swaps, deletions, insertions, deep nesting, huge
strings, wrong encodings, truncations, NaN and huge numbers, ``$ref`` injections at a
listening socket and a FIFO), and records hypothesis builds from nothing. Whatever arrives,
each record gets exactly one verdict (a value or the reader's documented error), nothing
else escapes, and no ``$ref`` opens a connection or a file.
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal, Optional, Union

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_readers import (
    DATA_OF,
    KEYS,
    READERS,
    CheckReader,
    Mutator,
    Reader,
    Watchers,
    _check_batch,
    _dumps,
    _Raw,
    converter,
    fuzz_check,
    readers,
)
from executors import ApiSpec, SpecError
from executors._library import load_source
from executors.converters import (
    convert_mcp_listing,
    spec_from_bfcl_function,
    spec_from_callable,
    spec_from_mcp_tool,
    spec_from_openai_tool,
    spec_from_xlam_tool,
    specs_from_openapi,
    specs_from_toolbench_tool,
)
from streamer.runtime._stage import UnencodableOutput, encode_bounded
from streamer.stages import FormatChecker
from topics import (
    EventMeta,
    FormatPass,
    Generation,
    GenerationSettings,
    QueryStyle,
    Reject,
    Sample,
    Tool,
)

from ..shared_data import shared

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


@pytest.fixture(scope="module")
def watchers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watchers]:
    """The socket and FIFO ``$ref`` injections point at; nothing may touch them."""
    watching = Watchers(tmp_path_factory.mktemp("refs"))
    yield watching
    watching.close()
    assert (watching.connections, watching.fifo_opens) == (0, 0)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scratch") / "record.jsonl"


@cache
def _reader(name: str, scratch: Path) -> Reader:
    return readers(scratch)[name]()


# --- mutated real records --------------------------------------------------------------------


OPEN_CRASHES: dict[str, pytest.MarkDecorator] = {}
"""Readers with a crash found and not fixed yet, each ``xfail(raises=<that exception>)``
(the OpenAPI converter's TypeError on a ``required`` list holding an object was one, until
a95787f); the regression case itself lives in test_fuzz_regressions.py."""


ONE_BY_ONE = [n for n in READERS if not n.startswith("check_")]
FROM_FILES = [n for n in READERS if n.startswith("check_")]


@FUZZ
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=OPEN_CRASHES.get(n, ())) for n in ONE_BY_ONE]
)
@given(rng=st.randoms(use_true_random=False))
def test_mutated_real_records_get_one_verdict_each(
    name: str, rng: random.Random, watchers: Watchers, scratch: Path
) -> None:
    shared(DATA_OF[name])
    reader = _reader(name, scratch)
    record, context = rng.choice(reader.seeds)
    kind, data = Mutator(rng, watchers.refs).mutate(record)
    verdict = reader.run(data, context)  # any exception fails the test
    assert isinstance(verdict, str) and verdict, kind


@settings(FUZZ, max_examples=8)
@pytest.mark.parametrize("name", FROM_FILES)
@given(rng=st.randoms(use_true_random=False))
def test_mutated_real_records_in_a_dataset_file_get_one_verdict_each(
    name: str, rng: random.Random, watchers: Watchers, scratch: Path
) -> None:
    """``apigen check`` reads a file of 30 mutated records with the format stage: every
    record gets its verdicts, none is lost, no ``stage_error`` (a caught bug)."""
    shared(DATA_OF[name])
    reader = _reader(name, scratch)
    assert isinstance(reader, CheckReader)
    before = sum(reader.results.values())
    fuzz_check(reader, 30, Mutator(rng, watchers.refs), rng, scratch.parent)
    assert sum(reader.results.values()) - before == 30
    assert not reader.results["CRASH"], reader.crashes


def test_unmutated_real_records_convert(scratch: Path) -> None:
    """The seeds are good data: mutations start from records that pass (all but Spotify's
    OpenAPI document, which has an operation the converter refuses)."""
    for name in READERS:
        shared(DATA_OF[name])
        reader = _reader(name, scratch)
        if isinstance(reader, CheckReader):
            lines = [_dumps(r).encode() for r, _ in reader.seeds[:51]]
            fresh = CheckReader(
                name, reader.seeds, reader.run, fmt=reader.fmt, answers=reader.answers
            )
            _check_batch(fresh, lines, ["none"] * len(lines), scratch.parent)
            verdicts = list(fresh.results.elements())
        else:
            verdicts = [reader.run(_dumps(r).encode(), c) for r, c in reader.seeds[:50]]
        good = sum(v in ("spec", "pass") for v in verdicts)
        assert good >= 0.8 * len(verdicts), (name, verdicts)


# --- records built from nothing ---------------------------------------------------------------

odd_text = st.text(
    st.characters(codec=None, categories=("L", "N", "P", "S", "Z", "Cc", "Cs")), max_size=12
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | odd_text
    | st.sampled_from(["object", "string", "integer", "array", "dict", "List[int]", "#/$defs/a"])
    | st.sampled_from([_Raw("9" * 5000), _Raw("1e400"), _Raw("[" * 1500 + "]" * 1500)])
)
hostile = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | odd_text, children, max_size=5)
    ),
    max_leaves=25,
)


def _nest(value: Any, depth: int) -> Any:
    return _Raw('{"a":' * depth + _dumps(value) + "}" * depth) if depth else value


def _as_bytes(value: Any) -> bytes:
    try:
        return _dumps(value).encode("utf-8", errors="surrogatepass")
    except (ValueError, TypeError):
        return repr(value).encode("utf-8", errors="surrogatepass")


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "xlam": spec_from_xlam_tool,
    "openai_tools": spec_from_openai_tool,
    "bfcl": spec_from_bfcl_function,
    "toolbench": specs_from_toolbench_tool,
    "mcp": lambda v: spec_from_mcp_tool(v, server="fuzz"),
    "mcp_listing": lambda v: convert_mcp_listing(v, server="fuzz").specs,
    "spec": ApiSpec.from_dict,
}
WRAPS: dict[str, Callable[[Any], Any]] = {
    "xlam": lambda p: {"name": "f", "description": "d", "parameters": p},
    "openai_tools": lambda p: {"type": "function", "function": {"name": "f", "parameters": p}},
    "bfcl": lambda p: {"name": "f", "description": "d", "parameters": {"type": "dict", **p}},
    "toolbench": lambda p: {"tool_name": "T", "api_list": [{"api_name": "a", **p}]},
    "mcp": lambda p: {"name": "f", "inputSchema": {"type": "object", **p}},
    "mcp_listing": lambda p: {"tools": [{"name": "f", "inputSchema": p}, p, {"name": "g"}]},
    "spec": lambda p: {"name": "f", "description": "d", "parameters": p, "binding": p},
}


@FUZZ
@given(
    name=st.sampled_from(sorted(CONVERTERS)),
    value=hostile,
    wrap=st.booleans(),
    depth=st.sampled_from([0, 0, 0, 200, 990, 3000]),
)
def test_hostile_records_give_a_spec_or_a_spec_error(
    name: str, value: Any, wrap: bool, depth: int, scratch: Path
) -> None:
    if wrap and isinstance(value, dict):
        value = WRAPS[name](value)
    verdict = converter(CONVERTERS[name], scratch)(_as_bytes(_nest(value, depth)), None)
    assert verdict.startswith(("spec", "no_spec", "unreadable:")), verdict


@FUZZ
@given(
    paths=st.dictionaries(st.text(max_size=8), hostile, max_size=3),
    components=hostile,
    extra=st.dictionaries(st.sampled_from(KEYS), hostile, max_size=3),
)
def test_openapi_documents_give_specs_or_a_spec_error(
    paths: dict[str, Any], components: Any, extra: dict[str, Any], scratch: Path
) -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        "components": {"schemas": components},
        **extra,
    }
    run = converter(specs_from_openapi, scratch, documents=True)
    assert run(_as_bytes(document), None).startswith(("spec", "no_spec", "unreadable:"))


# --- python callables with odd signatures ---------------------------------------------------

HINTS: list[Any] = [
    int, float, str, bool, list, dict, tuple, type(None), Any, list[int], dict[str, int],
    tuple[int, str], tuple[int, ...], Optional[int], Union[int, str], int | None,  # noqa: UP007, UP045
    Literal["a", 1], Literal[None], Callable, Iterator[int], object, "int", "Nope[",
    "undefined_name", 5, None, inspect.Parameter.empty, set[int], type, bytes,
]  # fmt: skip
KINDS = [
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.VAR_POSITIONAL,
    inspect.Parameter.VAR_KEYWORD,
]
DEFAULTS: list[Any] = [
    inspect.Parameter.empty,
    None,
    1,
    "x",
    [1],
    (1, 2),
    {"a": 1},
    {1: 2},
    object(),
    float("nan"),
    2**70,
]


@st.composite
def callables(draw: st.DrawFn) -> Callable[..., Any]:
    def fn(*args: Any, **kwargs: Any) -> Any:
        return None

    names = draw(st.lists(st.sampled_from(["a", "b", "self", "x_1"]), unique=True, max_size=4))
    params = []
    for pname in names:
        kind = draw(st.sampled_from(KINDS))
        default = draw(st.sampled_from(DEFAULTS))
        if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            default = inspect.Parameter.empty
        params.append(inspect.Parameter(pname, kind, default=default))
    try:
        fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    except ValueError:  # an order Python itself refuses
        fn.__signature__ = inspect.Signature([])  # type: ignore[attr-defined]
    fn.__annotations__ = {p: draw(st.sampled_from(HINTS)) for p in names if draw(st.booleans())}
    described = "\n".join(f"    {p}: The {p}." for p in names if draw(st.booleans()))
    fn.__doc__ = draw(
        st.sampled_from(
            [None, "", "Does it.", f"Does it.\n\nArgs:\n{described}\n", "Args:\n  :::\n", "\x00"]
        )
        | st.text(max_size=40)
    )
    fn.__name__ = draw(st.sampled_from(["fn", "", "9x", "class", "a b"]))
    return fn


@FUZZ
@given(fn=callables() | st.sampled_from([len, print, dict, int.__add__, object(), lambda: 1]))
def test_odd_python_callables_give_a_spec_or_a_spec_error(fn: Any) -> None:
    try:
        spec = spec_from_callable(fn, category="fuzz")
    except SpecError as exc:
        assert exc.document and exc.field
    else:
        assert ApiSpec.from_dict(spec.to_dict()) == spec


# --- the format checker: hostile tool schemas and hostile outputs -----------------------------


@st.composite
def tools(draw: st.DrawFn) -> Tool:
    """A tool whose schema some converter accepted (what a task can offer)."""
    params = draw(st.dictionaries(st.sampled_from(KEYS), hostile, max_size=4))
    props = draw(st.dictionaries(st.sampled_from(["x", "y"]), hostile, max_size=2))
    schema = {**params, "type": "object", "properties": props}
    try:
        spec = spec_from_openai_tool({"name": "f", "parameters": schema})
    except SpecError:
        spec = spec_from_openai_tool({"name": "f"})
    return Tool(spec.name, spec.description, spec.parameters, api_id="fuzz:f")


@FUZZ
@given(
    tool=tools(),
    answers=st.lists(hostile, max_size=3),
    arguments=hostile,
    asked=st.integers(1, 3),
    style=st.sampled_from(list(QueryStyle)),
)
def test_the_format_stage_gives_one_verdict_per_pair_whatever_the_schema(
    tool: Tool, answers: list[Any], arguments: Any, asked: int, style: QueryStyle
) -> None:
    pairs = [
        {"query": "Do f", "answers": [{"name": "f", "arguments": arguments}]},
        {"query": "Do f", "answers": answers},
    ]
    meta = EventMeta(id="s", parent_id=None, sample_id="s", stage="sampler", stage_version="v")
    settings_ = GenerationSettings(pairs=asked)
    sample = Sample(meta=meta, style=style, tools=(tool,), settings=settings_)
    raw = _as_bytes({"pairs": pairs}).decode("utf-8", errors="replace")
    event = Generation(meta=meta.child("generator", "g", "0"), sample=sample, model="m", raw=raw)
    outputs = anyio.run(FormatChecker().process, event)
    indices = sorted(getattr(o.event, "pair_index", -1) for o in outputs)
    assert indices == [-1] or indices == list(range(max(asked, len(pairs))))
    for out in outputs:
        assert isinstance(out.event, FormatPass | Reject)
        try:
            encode_bounded(out.event)
        except UnencodableOutput as exc:  # the runner makes it that pair's reject
            assert exc.reason in ("unencodable_output", "output_too_large")


# --- batch loaders: the file's verdicts are the records' verdicts -----------------------------


@FUZZ
@given(rng=st.randoms(use_true_random=False), n=st.integers(1, 8))
def test_a_catalogue_file_has_one_error_for_each_bad_line_and_keeps_the_rest(
    rng: random.Random, n: int, tmp_path: Path, watchers: Watchers, scratch: Path
) -> None:
    shared("toolbench/tools.jsonl")
    reader = _reader("toolbench", scratch)
    mutator = Mutator(rng, watchers.refs)
    lines = [mutator.mutate(rng.choice(reader.seeds)[0])[1] for _ in range(n)]
    # Mutations never leave a raw newline (JSON escapes it), so one record is one line.
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    expected_bad = {
        i + 1
        for i, line in enumerate(lines)
        if reader.run(line, None) not in ("spec", "no_spec", "unreadable:empty")
    }
    path = tmp_path / "tools.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _, errors = load_source(path, kind="toolbench")
    bad = {int(e.document.split(":")[1].split("#")[0]) for e in errors if e.document[:5] == "tools"}
    assert bad == expected_bad
    assert json.dumps([str(e) for e in errors])  # every error is printable
