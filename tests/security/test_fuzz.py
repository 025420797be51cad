"""Property-based fuzzing of every parser, converter and checker that reads outside input:
whatever arrives, the answer is a value, a verdict or the module's own named error — never
an unexpected exception."""

from __future__ import annotations

import contextlib
import string
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executors import ApiSpec, SpecError
from executors.converters import (
    parse_xlam_type,
    spec_from_bfcl_function,
    spec_from_mcp_tool,
    spec_from_openai_tool,
    spec_from_xlam_tool,
    specs_from_openapi,
    specs_from_toolbench_tool,
)
from streamer.pipeline._config import TOP_LEVEL_KEYS, load_config
from streamer.pipeline._model_config import ConfigError
from streamer.stages import (
    FormatChecker,
    FormatError,
    FormatRules,
    SemanticRules,
    check_calls,
    parse_pairs,
    rule_check,
)
from topics import (
    Call,
    CallResult,
    EventMeta,
    ExecPass,
    FormatPass,
    Generation,
    MalformedEvent,
    QueryStyle,
    Reject,
    Sample,
    SemanticPass,
    Tool,
    decode,
    encode,
)

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Keys the parsers look for, so the fuzzer reaches past the first type check.
KEYS = [
    "type",
    "function",
    "name",
    "description",
    "parameters",
    "properties",
    "required",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "format",
    "arguments",
    "answers",
    "query",
    "pairs",
    "meta",
    "id",
    "sample_id",
    "stage",
    "schema_version",
    "tools",
    "openapi",
    "paths",
    "servers",
    "url",
    "get",
    "post",
    "in",
    "schema",
    "$ref",
    "components",
    "schemas",
    "api_list",
    "tool_name",
    "api_name",
    "method",
    "required_parameters",
    "optional_parameters",
    "inputSchema",
    "binding",
    "module",
    "base_url",
    "path",
    "kind",
    "source",
    "category",
    "anyOf",
    "oneOf",
    "allOf",
    "additionalProperties",
    "nullable",
    "style",
    "calls",
    "results",
    "ok",
    "result",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "object",
            "string",
            "integer",
            "number",
            "array",
            "boolean",
            "null",
            "#/components/schemas/A",
            "List[int]",
            "Optional[str]",
            "GET",
            "python",
            "rest",
            "http://127.0.0.1:1",
            "simple",
            "parallel",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
json_objects = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), json_values, max_size=6)


def _tool(name: str = "f") -> Tool:
    params = {
        "type": "object",
        "properties": {
            "x": {"type": "integer", "minimum": 0, "maximum": 10},
            "s": {"type": "string", "enum": ["a", "b"]},
            "l": {"type": "array", "items": {"type": "number"}, "maxItems": 3},
        },
        "required": ["x"],
    }
    return Tool(name, "Does f.", params, api_id=f"python:t:{name}")


def _sample(style: QueryStyle = QueryStyle.SIMPLE) -> Sample:
    meta = EventMeta(id="s", parent_id=None, sample_id="s", stage="sampler", stage_version="v")
    return Sample(meta=meta, style=style, tools=(_tool("f"), _tool("g")))


# --- topics -----------------------------------------------------------------------------

EVENT_TYPES = [Sample, Generation, FormatPass, ExecPass, SemanticPass, Reject]


@FUZZ
@given(data=st.binary(max_size=200), cls=st.sampled_from(EVENT_TYPES))
def test_decode_of_any_bytes_is_an_event_or_malformed(data: bytes, cls: type[Any]) -> None:
    try:
        event = decode(data, cls)
    except MalformedEvent as exc:
        assert exc.reason == "malformed_event" and exc.message
    else:
        assert isinstance(event, cls)


@FUZZ
@given(value=json_values, cls=st.sampled_from(EVENT_TYPES))
def test_decode_of_any_json_is_an_event_or_malformed(value: Any, cls: type[Any]) -> None:
    try:
        data = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return  # not expressible as JSON bytes (huge ints): nothing to decode
    try:
        event = decode(data, cls)
    except MalformedEvent as exc:
        assert exc.message
    else:
        assert decode(encode(event), cls) == event  # what decodes re-encodes


@FUZZ
@given(
    mutation=json_values,
    field=st.sampled_from(["meta", "style", "tools", "settings", "examples", "id", "sample_id"]),
)
def test_a_valid_sample_with_one_field_replaced_decodes_or_is_malformed(
    mutation: Any, field: str
) -> None:
    data = orjson.loads(encode(_sample()))
    target = data["meta"] if field in ("id", "sample_id") else data
    target[field] = mutation
    try:
        raw = orjson.dumps(data)
    except orjson.JSONEncodeError:
        return
    with contextlib.suppress(MalformedEvent):
        decode(raw, Sample)


# --- converters and specs -----------------------------------------------------------------


def _converts(fn: Any, value: Any) -> None:
    try:
        result = fn(value)
    except SpecError as exc:
        assert exc.reason in ("invalid_spec", "invalid_schema") and exc.document and exc.field
    else:
        specs = result if isinstance(result, list) else [result]
        for spec in specs:
            assert isinstance(spec, ApiSpec)
            assert ApiSpec.from_dict(spec.to_dict()) == spec  # what converts round-trips


CONVERTERS = {
    "openai_tools": spec_from_openai_tool,
    "xlam": spec_from_xlam_tool,
    "bfcl": spec_from_bfcl_function,
    "toolbench": specs_from_toolbench_tool,
    "mcp": lambda v: spec_from_mcp_tool(v, server="fuzz"),
    "spec_from_dict": ApiSpec.from_dict,
    "openapi": specs_from_openapi,
}


@FUZZ
@given(value=json_values | json_objects, name=st.sampled_from(sorted(CONVERTERS)))
def test_converters_give_a_spec_or_a_spec_error(value: Any, name: str) -> None:
    _converts(CONVERTERS[name], value)


@FUZZ
@given(
    name=st.text(alphabet=string.ascii_letters + "_. -/$", max_size=12),
    params=json_objects,
    description=st.text(max_size=10) | st.none(),
    wrap=st.booleans(),
)
def test_openai_style_tools_with_fuzzed_parameters(
    name: str, params: dict[str, Any], description: str | None, wrap: bool
) -> None:
    fn = {"name": name, "description": description, "parameters": {"type": "object", **params}}
    _converts(spec_from_openai_tool, {"type": "function", "function": fn} if wrap else fn)
    _converts(spec_from_bfcl_function, fn)


@FUZZ
@given(text=st.text(alphabet="ListDicOpnaUorstribgfl[], ", max_size=30) | st.text(max_size=15))
def test_xlam_type_strings_parse_or_raise_spec_error(text: str) -> None:
    try:
        parse_xlam_type(text)
    except SpecError as exc:
        assert exc.field


@FUZZ
@given(paths=st.dictionaries(st.text(max_size=10), json_objects, max_size=3), extra=json_objects)
def test_openapi_documents_convert_or_raise_spec_error(
    paths: dict[str, Any], extra: dict[str, Any]
) -> None:
    document = {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:1"}],
        "paths": paths,
        **extra,
    }
    _converts(specs_from_openapi, document)


# --- the format checker ---------------------------------------------------------------------


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:
        return str(value)


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


@FUZZ
@given(raw=st.text(max_size=200) | json_values.map(_json_text))
def test_parse_pairs_gives_pairs_or_a_format_error(raw: str) -> None:
    try:
        pairs = parse_pairs(raw)
    except FormatError as exc:
        assert exc.reason in ("invalid_json", "missing_field")
    except orjson.JSONEncodeError:
        pass
    else:
        assert isinstance(pairs, list) and pairs


@FUZZ
@given(
    calls=st.lists(
        st.builds(
            Call,
            st.sampled_from(["f", "g", "h", "os.system", ""]),
            st.dictionaries(st.sampled_from(["x", "s", "l", "y"]), json_values, max_size=4),
        ),
        max_size=4,
    ),
    style=st.sampled_from(list(QueryStyle)),
)
def test_check_calls_passes_or_gives_a_format_error(calls: list[Call], style: QueryStyle) -> None:
    try:
        check_calls(calls, (_tool("f"), _tool("g")), style, FormatRules())
    except FormatError as exc:
        assert exc.reason and exc.message


@FUZZ
@given(pairs=json_values, style=st.sampled_from(list(QueryStyle)))
def test_the_format_stage_gives_one_verdict_per_pair(pairs: Any, style: QueryStyle) -> None:
    sample = _sample(style)
    raw = _json_text({"pairs": pairs})
    event = Generation(
        meta=sample.meta.child("generator", "g", "0"), sample=sample, model="m", raw=raw
    )
    outputs = anyio.run(FormatChecker().process, event)
    assert outputs
    for out in outputs:
        assert isinstance(out.event, FormatPass | Reject)
    if isinstance(pairs, list) and pairs and _is_json(raw):
        assert len(outputs) >= len(pairs)  # every pair has its own verdict


# --- semantic rules -------------------------------------------------------------------------


@FUZZ
@given(
    query=st.text(max_size=60),
    arguments=st.dictionaries(st.sampled_from(["x", "s", "l", "zz"]), json_values, max_size=4),
    result=json_values,
    ok=st.booleans(),
    style=st.sampled_from(list(QueryStyle)),
)
def test_rule_check_gives_a_verdict(
    query: str, arguments: dict[str, Any], result: Any, ok: bool, style: QueryStyle
) -> None:
    s = _sample(style)
    event = ExecPass(
        meta=s.meta.child("execution", "v"),
        sample=s,
        model="m",
        pair_index=0,
        query=query,
        calls=(Call("f", arguments),),
        results=(CallResult(ok=ok, result=result),),
    )
    verdict = rule_check(event, SemanticRules())
    assert verdict is None or (isinstance(verdict[0], str) and isinstance(verdict[1], str))


# --- the config loader ----------------------------------------------------------------------

toml_scalars = st.integers(-5, 5) | st.text(max_size=8) | st.booleans() | st.floats(0, 2)
toml_tables = st.dictionaries(
    st.sampled_from(
        ["kind", "base_url", "model", "weight", "seed", "path", "kafka", "sources", "name", "bogus"]
    ),
    toml_scalars | st.lists(toml_scalars, max_size=2),
    max_size=4,
)
CONFIG_KEYS = [*sorted(TOP_LEVEL_KEYS), "bogus"]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


@FUZZ
@given(
    top=st.dictionaries(st.sampled_from(CONFIG_KEYS), toml_scalars, max_size=4),
    tables=st.dictionaries(st.sampled_from(CONFIG_KEYS), toml_tables, max_size=3),
    arrays=st.dictionaries(
        st.sampled_from(["generators", "judges"]), st.lists(toml_tables, max_size=2), max_size=2
    ),
    junk=st.text(max_size=30),
    use_junk=st.booleans(),
)
def test_config_files_load_or_give_a_config_error_naming_the_file(
    tmp_path: Path,
    top: dict[str, Any],
    tables: dict[str, dict[str, Any]],
    arrays: dict[str, list[dict[str, Any]]],
    junk: str,
    use_junk: bool,
) -> None:
    lines = [f"{k} = {_toml_value(v)}" for k, v in top.items()]
    for name, table in tables.items():
        if name in top or name in arrays:
            continue
        lines += [f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    for name, items in arrays.items():
        if name in top:
            continue
        for item in items:
            lines += [f"[[{name}]]", *(f"{k} = {_toml_value(v)}" for k, v in item.items())]
    path = tmp_path / "apigen.toml"
    path.write_text(junk if use_junk else "\n".join(lines))
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


def test_the_fuzzed_event_types_cover_every_topic() -> None:
    assert {c.__name__ for c in EVENT_TYPES} == {
        "Sample",
        "Generation",
        "FormatPass",
        "ExecPass",
        "SemanticPass",
        "Reject",
    }


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
