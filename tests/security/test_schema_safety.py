"""JSON Schemas from data cannot make the checker open a socket or a file, hang, or crash
(issue 14, parts 1 and 2): every hostile or malformed schema is ``invalid_schema``.

The proofs are real: a listening HTTP server that counts connections (and would answer with
a schema that flips the verdict), a marker file whose content would flip it too, and a FIFO
that blocks whoever opens it for reading.
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from executors import (
    ApiSpec,
    InvalidSchema,
    SpecError,
    compile_schema,
    validate_parameters_schema,
)
from executors._schema import _CACHE, MAX_CACHED_SCHEMAS
from executors._schema_engine import KNOWN_KEYWORDS, METASCHEMA_VALIDATOR, plainly_valid
from executors.converters import convert_openapi
from streamer.stages import FormatChecker, FormatError, FormatRules, check_calls
from topics import Call, EventMeta, Generation, QueryStyle, Reject, Sample, Tool

RULES = FormatRules()
FLIPPING_SCHEMA = b'{"type": "integer"}'
"""What the server and the marker file hold: with it, the call's integer argument passes."""


@dataclass
class Listener:
    port: int
    connections: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(FLIPPING_SCHEMA)))
        self.end_headers()
        self.wfile.write(FLIPPING_SCHEMA)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    connections: list[str] = []

    class Server(http.server.ThreadingHTTPServer):
        def verify_request(self, request: Any, client_address: Any) -> bool:
            connections.append(str(client_address))
            return True

    server = Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Listener(server.server_address[1], connections)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "s.json"
    path.write_bytes(FLIPPING_SCHEMA)
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def assert_fifo_never_opened(path: Path) -> None:
    """A writer opening without blocking fails with ENXIO exactly when no reader has the
    FIFO open; a reader stuck in ``open`` (no writer ever comes) would be found here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        assert exc.errno == errno.ENXIO
        return
    os.close(fd)  # releases the stuck reader
    pytest.fail(f"something opened {path} for reading")


def within(seconds: float, fn: Callable[[], Any], fifo: Path) -> Any:
    """``fn()`` in a thread; if it is still running after ``seconds`` (stuck on the FIFO or
    a socket) the test fails instead of hanging."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(("ok", fn()))
        except BaseException as exc:
            box.append(("raised", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        assert_fifo_never_opened(fifo)
        pytest.fail(f"still running after {seconds} s")
    kind, value = box[0]
    if kind == "raised":
        raise value
    return value


def _hostile_schemas(port: int, marker: Path, fifo: Path) -> dict[str, tuple[Any, str]]:
    """name -> (parameter schema, the reference the error must name)."""
    url = f"http://127.0.0.1:{port}/s.json"
    return {
        "http ref": ({"$ref": url}, url),
        "http ref with a pointer": ({"$ref": f"{url}#/definitions/x"}, f"{url}#/definitions/x"),
        "file ref": ({"$ref": marker.as_uri()}, marker.as_uri()),
        "relative file ref": ({"$ref": marker.name}, marker.name),
        "fifo ref": ({"$ref": fifo.as_uri()}, fifo.as_uri()),
        "relative ref under a remote $id": (
            {"$id": f"http://127.0.0.1:{port}/", "$ref": "s.json"},
            "s.json",
        ),
        "ref in a $defs target": (
            {
                "$ref": "#/properties/x/$defs/a",
                "$defs": {"a": {"properties": {"b": {"$ref": url}}}},
            },
            url,
        ),
        "dynamic ref": ({"$dynamicRef": url}, url),
    }


def _tool(param: dict[str, Any]) -> Tool:
    return Tool("f", "d", {"type": "object", "properties": {"x": param}, "required": ["x"]})


def test_references_outside_the_schema_never_reach_the_network_or_files(
    listener: Listener, marker: Path, fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a relative reference would be looked for
    for name, (param, ref) in _hostile_schemas(listener.port, marker, fifo).items():
        tool = _tool(param)
        with pytest.raises(InvalidSchema) as info:
            within(10, partial(validate_parameters_schema, tool.parameters, where="t"), fifo)
        assert info.value.reason == "invalid_schema", name
        assert info.value.document == "t" and info.value.field.startswith("parameters."), name

        def check(tool: Tool = tool) -> None:
            check_calls([Call("f", {"x": 5})], [tool], QueryStyle.SIMPLE, RULES)

        with pytest.raises(FormatError) as caught:
            within(10, check, fifo)
        assert caught.value.reason == "invalid_schema", (name, caught.value)
        assert repr(ref) in caught.value.message and repr(ref) in str(info.value), name
    assert listener.connections == []
    assert_fifo_never_opened(fifo)


@pytest.mark.anyio
async def test_the_format_stage_rejects_them_per_pair(
    listener: Listener, marker: Path, fifo: Path
) -> None:
    hostile = _hostile_schemas(listener.port, marker, fifo)
    tools = tuple(
        Tool(f"f{i}", "d", {"type": "object", "properties": {"x": p}})
        for i, (p, _) in enumerate(hostile.values())
    )
    good = Tool("g", "d", {"type": "object", "properties": {"x": {"type": "integer"}}})
    pairs = [{"query": "q", "answers": [{"name": t.name, "arguments": {"x": 5}}]} for t in tools]
    pairs.append({"query": "q", "answers": [{"name": "g", "arguments": {"x": 5}}]})
    meta = EventMeta(id="s", parent_id=None, sample_id="s", stage="sampler", stage_version="v")
    sample = Sample(meta=meta, style=QueryStyle.SIMPLE, tools=(*tools, good))
    event = Generation(
        meta=meta.child("generator", "g1", "0"),
        sample=sample,
        model="m",
        raw=orjson.dumps({"pairs": pairs}).decode(),
    )
    outputs = await FormatChecker().process(event)
    reasons = [o.event.reason if isinstance(o.event, Reject) else "pass" for o in outputs]
    assert reasons == ["invalid_schema"] * len(tools) + ["pass"]
    assert listener.connections == []
    assert_fifo_never_opened(fifo)


def test_apigen_check_judges_a_hostile_dataset_without_any_access(
    listener: Listener, marker: Path, fifo: Path, tmp_path: Path
) -> None:
    hostile = _hostile_schemas(listener.port, marker, fifo)
    rows = []
    for name, (param, _) in [*hostile.items(), ("good", ({"type": "integer"}, ""))]:
        tool = {"name": "f", "description": "d", "parameters": _tool(param).parameters}
        rows.append(
            {
                "id": name,
                "query": "Call f with 5.",
                "answers": orjson.dumps([{"name": "f", "arguments": {"x": 5}}]).decode(),
                "tools": orjson.dumps([tool]).decode(),
            }
        )
    dataset = tmp_path / "rows.jsonl"
    dataset.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    apigen = Path(sys.executable).with_name("apigen")
    try:
        result = subprocess.run(
            [str(apigen), "check", str(dataset), "--stages", "format", "--summary-json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        assert_fifo_never_opened(fifo)
        raise
    out = [orjson.loads(line) for line in result.stdout.splitlines()]
    summary = out.pop()["summary"]
    verdicts = {r["id"]: r for r in out}
    assert verdicts["good"]["verdict"] == "pass", verdicts["good"]
    for name in hostile:
        assert verdicts[name]["verdict"] == "fail", verdicts[name]
        assert verdicts[name]["reason"] == "invalid_schema", verdicts[name]
    assert summary["records"] == len(rows) and "Traceback" not in result.stderr
    assert listener.connections == []
    assert_fifo_never_opened(fifo)


# -- malformed schemas ------------------------------------------------------------------


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


MALFORMED: dict[str, Any] = {
    "type list holding an object": {"type": ["string", {"type": "x"}]},
    "unknown type": {"type": "strin"},
    "anyOf not a list": {"anyOf": {"type": "string"}},
    "properties not schemas": {"type": "object", "properties": {"a": 3}},
    "properties not an object": {"type": "object", "properties": ["a"]},
    "required not a list": {"type": "object", "required": "a"},
    "required holding a number": {"type": "object", "required": [1]},
    "enum not a list": {"enum": "abc"},
    "items as a list (old tuple form)": {"type": "array", "items": [{"type": "string"}]},
    "1000 levels deep": _deep(1000),
    "past the depth bound": _deep(33),
    "reference loop": {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}},
    "loop through allOf": {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
    "unresolvable pointer": {"$ref": "#/$defs/missing"},
    "reference not a string": {"$ref": 5},
    "reference to a string": {"type": "object", "$ref": "#/properties/x/type"},
    "reference to a malformed target": {"x-ext": {"anyOf": 5}, "$ref": "#/properties/x/x-ext"},
    "lookahead regex": {"type": "string", "pattern": "^(?=.*[A-Z]).+$"},
    "backreference regex": {"type": "string", "pattern": r"(a)\1"},
    "invalid regex": {"type": "string", "pattern": "("},
    "huge repetition": {"type": "string", "pattern": "a{100000}"},
    "long regex": {"type": "string", "pattern": "a" * 1001},
    "lookahead pattern property": {"type": "object", "patternProperties": {"(?!x)": {}}},
    "unevaluated with pattern properties": {
        "type": "object",
        "patternProperties": {"^a": {}},
        "unevaluatedProperties": False,
    },
    "NaN minimum": {"type": "number", "minimum": float("nan")},
    "Infinity maximum": {"type": "number", "maximum": float("inf")},
    "NaN in an enum": {"enum": [1.0, float("nan")]},
    "integer beyond 64 bits": {"type": "integer", "maximum": 2**70},
    "zero multipleOf": {"type": "number", "multipleOf": 0},
    "negative minLength": {"type": "string", "minLength": -1},
    "boolean minimum": {"type": "number", "minimum": True},
    "non-string key": {"type": "object", "properties": {1: {"type": "string"}}},
    "not JSON data": {"enum": [{1, 2}]},
    "too many values": {"enum": list(range(60_000))},
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_schema_is_that_tools_error(case: str) -> None:
    tool = _tool(MALFORMED[case])
    with pytest.raises(InvalidSchema) as info:
        validate_parameters_schema(tool.parameters, where="tools.json#3")
    assert info.value.reason == "invalid_schema" and isinstance(info.value, SpecError)
    assert info.value.document == "tools.json#3" and info.value.field.startswith("parameters")
    assert len(str(info.value)) < 600, str(info.value)
    with pytest.raises(FormatError) as caught:
        check_calls([Call("f", {"x": "a"})], [tool], QueryStyle.SIMPLE, RULES)
    assert caught.value.reason == "invalid_schema", caught.value
    with pytest.raises(SpecError):
        ApiSpec.from_dict({"name": "f", "description": "d", "parameters": tool.parameters})


def test_within_the_bounds_deep_and_defs_heavy_schemas_still_work() -> None:
    tool = _tool(_deep(30))
    value: Any = "leaf"
    for _ in range(30):
        value = {"a": value}
    check_calls([Call("f", {"x": value})], [tool], QueryStyle.SIMPLE, RULES)
    node = {
        "type": "object",
        "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
    }
    tree = Tool("f", "d", {"type": "object", "$defs": {"node": node},
                           "properties": {"x": {"$ref": "#/$defs/node"}}})  # fmt: skip
    check_calls([Call("f", {"x": {"kids": [{"kids": []}]}})], [tree], QueryStyle.SIMPLE, RULES)
    with pytest.raises(FormatError) as info:
        check_calls([Call("f", {"x": {"kids": [{"kids": 3}]}})], [tree], QueryStyle.SIMPLE, RULES)
    assert info.value.reason == "type_mismatch" and "x.kids[0].kids" in info.value.message


# -- abusable features ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"^(a+)+$", "a" * 100_000 + "!"),
        (r"^(a|a)*$", "a" * 100_000 + "!"),
        (r"^(\w+\s?)*$", "word " * 20_000 + "!"),
        (r"(x+x+)+y", "x" * 50_000),
        (r"^\d*\d*\d*\d*\d*x$", "1" * 50_000),
    ],
)
def test_catastrophic_regexes_run_in_linear_time(pattern: str, text: str) -> None:
    tool = _tool({"type": "string", "pattern": pattern})
    started = time.perf_counter()
    with pytest.raises(FormatError) as info:
        check_calls([Call("f", {"x": text})], [tool], QueryStyle.SIMPLE, RULES)
    assert time.perf_counter() - started < 2.0
    assert info.value.reason == "schema_violation" and "does not match" in info.value.message
    assert len(info.value.message) < 300  # the value is quoted, not copied


def test_pattern_properties_and_additional_properties_run_on_the_safe_engine() -> None:
    tool = _tool(
        {
            "type": "object",
            "patternProperties": {"^(a+)+$": {"type": "integer"}},
            "additionalProperties": False,
        }
    )
    started = time.perf_counter()
    with pytest.raises(FormatError) as info:
        check_calls([Call("f", {"x": {"a" * 50_000 + "!": 1}})], [tool], QueryStyle.SIMPLE, RULES)
    assert time.perf_counter() - started < 2.0 and info.value.reason == "unknown_argument"
    check_calls([Call("f", {"x": {"aaa": 1}})], [tool], QueryStyle.SIMPLE, RULES)


def _nested_list(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("schema", "value", "reason"),
    [
        ({"type": "number", "multipleOf": 1e-300}, 1e300, "schema_violation"),
        ({"type": "number", "multipleOf": 1e-300}, 2.0, None),
        ({"type": "integer", "multipleOf": 3}, 2**63, "schema_violation"),
        ({"type": "number", "multipleOf": 0.1}, 1.7976931348623157e308, "schema_violation"),
        ({"type": "number", "maximum": 1e308}, 1.7976931348623157e308, "out_of_range"),
        ({"type": "number"}, float("nan"), "type_mismatch"),
        ({"type": "number"}, float("-inf"), "type_mismatch"),
        ({"type": "integer"}, 2**70, "out_of_range"),
        ({"type": "array"}, (1, 2), "type_mismatch"),
        ({"type": "array"}, {1, 2}, "type_mismatch"),
        ({}, _nested_list(40), "out_of_range"),
        ({}, _nested_list(30), None),
    ],
)
def test_number_and_value_edges_are_verdicts(schema: Any, value: Any, reason: str | None) -> None:
    started = time.perf_counter()
    try:
        check_calls([Call("f", {"x": value})], [_tool(schema)], QueryStyle.SIMPLE, RULES)
    except FormatError as exc:
        assert exc.reason == reason, exc
    else:
        assert reason is None
    assert time.perf_counter() - started < 1.0


SCHEMA_KEYS = st.sampled_from([*sorted(KNOWN_KEYWORDS), "x", "optional"])
"""Every keyword the metaschema constrains, and two it does not."""
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(["string", "object", "#", "#/$defs/a", "http://127.0.0.1:9/", "(a+)+$"])
    | st.text(max_size=6)
)
SCHEMAS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SCHEMA_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, value=SCHEMAS)
def test_any_schema_gives_a_validator_or_invalid_schema(schema: Any, value: Any) -> None:
    try:
        validator = compile_schema(schema, close_objects=True)
    except InvalidSchema:
        return
    with contextlib.suppress(InvalidSchema):
        validator.errors(value)
    tool = Tool("f", "d", schema) if isinstance(schema, dict) else Tool("f", "d", {})
    with contextlib.suppress(FormatError):
        check_calls([Call("f", {"x": value})], [tool], QueryStyle.SIMPLE, RULES)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS)
def test_the_bundled_metaschema_gives_the_official_verdict(schema: Any) -> None:
    official = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    try:
        expected = best_match(official.iter_errors(schema))
    except Exception:  # the official walk itself trips on some garbage (e.g. NaN keys)
        return
    got = best_match(METASCHEMA_VALIDATOR.iter_errors(schema))
    assert (got is None) == (expected is None), (schema, expected, got)


NEAR_VALID: st.SearchStrategy[Any] = st.sampled_from(
    ["string", "integer", "object", "strin", "", "#", 0, -1, 1, 3.0, 2.5, True, False, None,
     [], ["a"], ["a", "a"], ["string", "null"], ["string", "string"], [1], {}, {"a": {}}]
)  # fmt: skip
PLAIN_KEYS = st.sampled_from(
    ["type", "description", "title", "format", "pattern", "$comment", "$ref", "default",
     "const", "enum", "examples", "required", "minimum", "maximum", "exclusiveMinimum",
     "minLength", "maxItems", "minProperties", "uniqueItems", "items", "additionalProperties",
     "properties", "$defs", "definitions", "anyOf", "oneOf", "allOf", "deprecated", "x"]
)  # fmt: skip
PLAIN_SCHEMAS = st.recursive(
    NEAR_VALID,
    lambda inner: (
        st.dictionaries(PLAIN_KEYS, inner, max_size=5)
        | st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)
    ),
    max_leaves=14,
)
"""Schemas in the fast path's vocabulary with values on both sides of valid."""


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS | PLAIN_SCHEMAS)
def test_the_fast_path_accepts_only_what_the_metaschema_accepts(schema: Any) -> None:
    if plainly_valid(schema):
        official = Draft202012Validator(Draft202012Validator.META_SCHEMA)
        assert best_match(official.iter_errors(schema)) is None, schema


def test_the_validator_cache_is_bounded() -> None:
    for i in range(MAX_CACHED_SCHEMAS + 50):
        compile_schema({"type": "object", "properties": {f"p{i}": {"type": "string"}}})
    assert len(_CACHE._items) <= MAX_CACHED_SCHEMAS


def test_a_cached_validator_is_immune_to_later_mutation() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}
    validator = compile_schema(schema)
    schema["properties"]["n"]["type"] = "string"
    assert validator.errors({"n": 1}) == []


# -- OpenAPI references -----------------------------------------------------------------


def _spec(body_ref: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/pets": {
                "post": {
                    "operationId": "addPet",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": body_ref}}},
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }


def _write_spec(directory: Path, body_ref: str) -> Path:
    path = directory / "api.json"
    path.write_bytes(orjson.dumps(_spec(body_ref)))
    return path


def test_openapi_follows_references_into_files_beside_the_spec(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "pet.yaml").write_text(
        "Pet:\n  type: object\n  required: [name]\n  properties:\n"
        "    name: {type: string}\n    tag: {$ref: '#/Tag'}\n"
        "    owner: {$ref: '../common.json#/Owner'}\n"
        "Tag:\n  type: string\n"
    )
    (tmp_path / "common.json").write_text(
        '{"Owner": {"type": "object", "properties": {"id": {"type": "integer"}}}}'
    )
    report = convert_openapi(_write_spec(tmp_path, "schemas/pet.yaml#/Pet"))
    assert not report.errors, report.errors
    [spec] = report.specs
    assert spec.parameters["properties"]["tag"] == {"type": "string"}  # resolved in pet.yaml
    assert spec.parameters["properties"]["owner"]["properties"]["id"] == {"type": "integer"}
    assert spec.required == ("name",)


def test_openapi_refuses_files_outside_the_spec_directory(tmp_path: Path, fifo: Path) -> None:
    inside = tmp_path / "spec"
    inside.mkdir()
    (tmp_path / "secret.json").write_text('{"type": "object"}')
    (inside / "link.json").symlink_to(tmp_path / "secret.json")
    for ref in ("../secret.json", "link.json", (tmp_path / "secret.json").as_uri(),
                "/etc/hostname", fifo.as_uri()):  # fmt: skip
        report = within(10, partial(convert_openapi, _write_spec(inside, ref)), fifo)
        [error] = report.errors
        assert "outside the spec's directory" in error.problem and repr(ref) in error.problem
        assert error.field.endswith("$ref"), error
    os.mkfifo(inside / "pipe.json")  # inside, but no regular file: never opened
    report = within(10, lambda: convert_openapi(_write_spec(inside, "pipe.json")), fifo)
    assert "not a regular file" in report.errors[0].problem
    assert_fifo_never_opened(fifo)
    assert_fifo_never_opened(inside / "pipe.json")


def test_openapi_remote_references_only_with_fetch(listener: Listener, tmp_path: Path) -> None:
    ref = f"http://127.0.0.1:{listener.port}/pet.json"
    [error] = convert_openapi(_write_spec(tmp_path, ref)).errors
    assert "remote reference" in error.problem and repr(ref) in error.problem
    [error] = convert_openapi(_spec(ref)).errors  # a document given as data: the same
    assert listener.connections == []

    def fetch(url: str) -> bytes:
        import httpx

        return httpx.get(url, timeout=5).content

    report = convert_openapi(_write_spec(tmp_path, ref), fetch=fetch)
    assert not report.errors, report.errors
    assert report.specs[0].parameters["properties"]["body"]["type"] == "integer"
    assert len(listener.connections) == 1


def test_openapi_document_as_data_refuses_other_files(tmp_path: Path) -> None:
    (tmp_path / "pet.json").write_text('{"type": "object"}')
    [error] = convert_openapi(_spec("pet.json"), where="upload").errors
    assert "another document" in error.problem


def test_openapi_yaml_alias_bomb_is_bounded(tmp_path: Path) -> None:
    lines = [
        "components:",
        "  schemas:",
        "    L0: &l0 {type: object, properties: {a: {type: string}}}",
    ]
    for level in range(1, 10):
        props = ", ".join(f"p{i}: *l{level - 1}" for i in range(9))
        lines.append(f"    L{level}: &l{level} {{type: object, properties: {{{props}}}}}")
    spec = _spec("#/components/schemas/L9")
    path = tmp_path / "bomb.yaml"
    text = (
        "\n".join(lines)
        + "\n"
        + "\n".join(f"{k}: {orjson.dumps(v).decode()}" for k, v in spec.items())
    )
    path.write_text(text)
    started = time.perf_counter()
    [error] = convert_openapi(path).errors
    assert time.perf_counter() - started < 5.0
    assert "expands to over" in error.problem
