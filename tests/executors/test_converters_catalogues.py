"""ToolBench, BFCL, xLAM, glaive and MCP converters on the real data, and round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp.types
import pytest

from executors import ApiSpec, McpBinding, RestBinding, SpecError
from executors._xlam_types import json_schema_to_xlam_type
from executors.converters import (
    convert_bfcl_file,
    convert_glaive_file,
    convert_mcp_listing,
    convert_openapi,
    convert_toolbench_file,
    convert_xlam_file,
    parse_xlam_type,
    spec_from_bfcl_function,
    spec_from_openai_tool,
    spec_from_xlam_tool,
    specs_from_toolbench_tool,
)

from ..shared_data import SHARED_DATA, needs_shared, shared, shared_glob

BFCL = shared_glob("bfcl", "BFCL_v4_*.json") + sorted(
    (SHARED_DATA / "bfcl/exec/question").glob("*.json")
)


@pytest.fixture(scope="module")
def toolbench() -> list[ApiSpec]:
    report = convert_toolbench_file(shared("toolbench/tools.jsonl"))
    assert report.errors == ()
    return list(report.specs)


def test_all_toolbench_tools_convert(toolbench: list[ApiSpec]) -> None:
    assert len(toolbench) == 2490
    assert len({s.source for s in toolbench}) == 814
    assert len({s.category for s in toolbench}) == 47
    assert len({s.id for s in toolbench}) == 2490
    assert all(s.binding is None for s in toolbench)  # StableToolBench lines name no host


def test_toolbench_names_types_and_examples(toolbench: list[ApiSpec]) -> None:
    by_name = {s.name: s for s in toolbench}
    user = by_name["user_by_id_for_reqres_dont_change"]
    props = user.parameters["properties"]
    assert props["is_id"] == {"type": "string", "title": "id", "examples": ["1"]}
    assert props["array"]["type"] == "array"  # "array[]" listed twice: the first one wins
    assert props["array"]["examples"] == [["asd", "dsa"]]
    assert user.required == ("is_id",)
    order = by_name["getorderbyid_for_petstoreratelimit"].parameters["properties"]["orderid"]
    assert order["type"] == "number" and "default" not in order
    types = {
        json.dumps({k: v for k, v in p.items() if k in ("type", "format")}, sort_keys=True)
        for s in toolbench
        for p in s.parameters["properties"].values()
    }
    assert '{"format": "date", "type": "string"}' in types
    assert all(len(s.name) <= 64 and s.name.isidentifier() for s in toolbench)


def test_original_toolbench_file_has_a_rapidapi_binding() -> None:
    report = convert_toolbench_file(shared("toolbench/olato_quotes.tool.json"))
    assert [s.name for s in report.specs] == [
        "love_quote_for_olato_quotes",
        "success_quote_for_olato_quotes",
        "motivation_quote_for_olato_quotes",
    ]
    binding = report.specs[0].binding
    assert isinstance(binding, RestBinding)
    assert binding.base_url == "https://olato-quotes.p.rapidapi.com"
    assert (binding.path, binding.auth_env, binding.auth_header) == (
        "/love",
        "RAPIDAPI_KEY",
        "X-RapidAPI-Key",
    )


def test_toolbench_errors_name_document_and_field() -> None:
    tool = {"tool_name": "T", "api_list": [
        {"api_name": "ok", "required_parameters": [], "optional_parameters": []},
        {"api_name": "bad", "required_parameters": [{"name": "x", "type": "WEIRD"}]}]}  # fmt: skip
    with pytest.raises(SpecError) as info:
        specs_from_toolbench_tool(tool, where="t.json")
    assert info.value.document == "t.json#api_list[1]"
    assert info.value.field == "required_parameters[0].type"


@needs_shared("bfcl")
@pytest.mark.parametrize("path", BFCL, ids=lambda p: p.name)
def test_every_bfcl_function_converts(path: Path) -> None:
    docs = [
        doc
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for doc in json.loads(line)["function"]
    ]
    distinct = {json.dumps(d, sort_keys=True) for d in docs}
    report = convert_bfcl_file(path)
    assert report.errors == ()
    # docs that differ only in what conversion drops (BFCL's "optional" flag) merge
    assert len({d["name"] for d in docs}) <= len(report.specs) <= len(distinct)
    assert {s.name for s in report.specs} == {d["name"] for d in docs}
    assert len({s.id for s in report.specs}) == len(report.specs)
    for spec in report.specs:
        assert _types(spec.parameters) <= {"string", "integer", "number", "boolean", "array",
                                           "object", "null"}  # fmt: skip


def _types(schema: Any) -> set[str]:
    """Every ``type`` value in a schema tree."""
    found: set[str] = set()
    if isinstance(schema, dict):
        typ = schema.get("type")
        found |= set(typ) if isinstance(typ, list) else {typ} if isinstance(typ, str) else set()
        for key in ("items", "additionalProperties"):
            found |= _types(schema.get(key))
        for sub in (schema.get("properties") or {}).values():
            found |= _types(sub)
    return found


def test_bfcl_type_mapping() -> None:
    doc = {"name": "math_toolkit.f", "description": "d", "parameters": {
        "type": "dict", "required": ["x"], "properties": {
            "x": {"type": "float", "default": 1.5},
            "pair": {"type": "tuple", "items": {"type": "integer"}},
            "opts": {"type": "dict", "properties": {"k": {"type": "string", "enum": ["a"]}}},
            "anything": {"type": "any", "optional": True}}}}  # fmt: skip
    spec = spec_from_bfcl_function(doc)
    assert spec.name == "math_toolkit.f"
    assert spec.parameters == {"type": "object", "required": ["x"], "properties": {
        "x": {"type": "number", "default": 1.5},
        "pair": {"type": "array", "items": {"type": "integer"}},
        "opts": {"type": "object", "properties": {"k": {"type": "string", "enum": ["a"]}}},
        "anything": {}}}  # fmt: skip
    with pytest.raises(SpecError) as info:
        spec_from_bfcl_function({"name": "g", "parameters": {"type": "dict", "properties": {
            "y": {"type": "complex"}}}}, where="q.json")  # fmt: skip
    assert info.value.field == "parameters.properties.y.type"


def test_xlam_sample_converts() -> None:
    report = convert_xlam_file(shared("xlam/xlam60k_sample.jsonl"))
    assert report.errors == ()
    assert len(report.specs) == 8
    cities = next(s for s in report.specs if s.name == "country_region_cities")
    assert cities.required == ("countryid", "regioncode")
    assert cities.parameters["properties"]["countryid"]["examples"] == ["US"]
    assert cities.parameters["properties"]["limit"]["type"] == "integer"


@pytest.mark.parametrize(
    ("text", "schema", "optional"),
    [
        ("str", {"type": "string"}, False),
        ("int, optional", {"type": "integer"}, True),
        ("List[int]", {"type": "array", "items": {"type": "integer"}}, False),
        ("List[List[float]], optional", {"type": "array", "items": {
            "type": "array", "items": {"type": "number"}}}, True),
        ("Dict[str, int]", {"type": "object", "additionalProperties": {"type": "integer"}}, False),
        ("Dict[str, Any]", {"type": "object"}, False),
        ("Union[int, float]", {"type": ["integer", "number"]}, False),
        ("Optional[str]", {"type": ["string", "null"]}, False),
        ("typing.Any", {}, False),
        ("Set[str]", {"type": "array", "uniqueItems": True, "items": {"type": "string"}}, False),
    ],
)  # fmt: skip
def test_parse_xlam_type(text: str, schema: dict[str, Any], optional: bool) -> None:
    parsed = parse_xlam_type(text)
    assert (parsed.schema, parsed.optional) == (schema, optional)


@pytest.mark.parametrize("text", ["", "List[int", "callable", "List[]"])
def test_parse_xlam_type_rejects(text: str) -> None:
    with pytest.raises(SpecError):
        parse_xlam_type(text, where="doc", field="parameters.x.type")


def test_glaive_converts() -> None:
    report = convert_glaive_file(shared("glaive/glaive_toolcall_en_demo.json"))
    assert report.errors == ()
    assert len(report.specs) >= 150
    assert len({s.id for s in report.specs}) == len(report.specs)


def test_mcp_listing_dicts_and_sdk_tools() -> None:
    listing = mcp.types.ListToolsResult(
        tools=[
            mcp.types.Tool(
                name="read/file",
                description="Read a file",
                input_schema={"type": "object", "properties": {"path": {"type": "string"}},
                             "required": ["path"]},
            )
        ]
    )  # fmt: skip
    report = convert_mcp_listing(listing, server="fs")
    [spec] = report.specs
    assert spec.name == "read_file" and spec.required == ("path",)
    assert spec.binding == McpBinding(server="fs", tool="read/file")
    report = convert_mcp_listing({"tools": [{"name": "x", "inputSchema": {"type": "array"}}]},
                                 server="s")  # fmt: skip
    [error] = report.errors
    assert error.field == "parameters.type"


def _all_real_specs() -> list[ApiSpec]:
    specs: list[ApiSpec] = []
    for path in BFCL:
        specs += convert_bfcl_file(path).specs
    for path in sorted((shared("openapi")).glob("*.*")):
        if path.is_file():
            specs += convert_openapi(path).specs
    specs += convert_toolbench_file(shared("toolbench/tools.jsonl")).specs
    specs += convert_glaive_file(shared("glaive/glaive_toolcall_en_demo.json")).specs
    specs += convert_xlam_file(shared("xlam/xlam60k_sample.jsonl")).specs
    return specs


@pytest.fixture(scope="module")
def real_specs() -> list[ApiSpec]:
    return _all_real_specs()


def test_openai_round_trip(real_specs: list[ApiSpec]) -> None:
    for spec in real_specs:
        back = spec_from_openai_tool(spec.to_openai_tool())
        assert (back.name, back.parameters) == (spec.name, spec.parameters)


def test_xlam_round_trip_keeps_names_types_required_enums(real_specs: list[ApiSpec]) -> None:
    assert len(real_specs) > 7000
    for spec in real_specs:
        back = spec_from_xlam_tool(spec.to_xlam_tool(), where=spec.id)
        assert back.name == spec.name
        assert set(back.required) == set(spec.required)
        props, back_props = spec.parameters["properties"], back.parameters["properties"]
        assert list(back_props) == list(props)
        for pname, schema in props.items():
            assert json_schema_to_xlam_type(back_props[pname]) == json_schema_to_xlam_type(schema)
            assert back_props[pname].get("type") == _without_null(schema.get("type"))
            assert back_props[pname].get("enum") == schema.get("enum")


def _without_null(typ: Any) -> Any:
    if isinstance(typ, list):
        rest = [t for t in typ if t != "null"]
        return rest[0] if len(rest) == 1 else rest
    return typ
