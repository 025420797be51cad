"""OpenAPI converter against the real specs in ../shared/data/openapi and ToolAlpaca."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from executors import SpecError
from executors._spec import WHOLE_BODY, RestBinding
from executors.converters import convert_openapi, sanitize_name, specs_from_openapi

from ..shared_data import SHARED_DATA, needs_shared, shared, shared_glob

OPENAPI = shared_glob("openapi", "*.y*ml", "*.json")
_TOOLALPACA = SHARED_DATA / "toolalpaca" / "eval_real.json"
TOOLALPACA: list[dict[str, Any]] = (
    json.loads(_TOOLALPACA.read_text(encoding="utf-8")) if _TOOLALPACA.is_file() else []
)

EXPECTED = {
    "oai_petstore-expanded.yaml": 4,
    "oai_uspto.yaml": 3,
    "pokeapi_openapi.yml": 100,
    "spotify_fixed-spotify-open-api.yml": 96,
    "swagger-petstore_v3_openapi.yaml": 19,
    "twilio_lookups_v2.json": 10,
}


def _rest(binding: object) -> RestBinding:
    assert isinstance(binding, RestBinding)
    return binding


@needs_shared("openapi")
@pytest.mark.parametrize("path", OPENAPI, ids=lambda p: p.name)
def test_every_real_spec_converts(path: Path) -> None:
    report = convert_openapi(path)
    assert len(report.specs) == EXPECTED[path.name]
    for spec in report.specs:
        binding = _rest(spec.binding)
        assert binding.base_url.startswith("https://")
        assert binding.path.startswith("/")
        located = {p.name for p in binding.parameters}
        assert located == set(spec.parameters["properties"])
        for p in binding.parameters:
            if p.location == "path":
                assert "{" + p.name + "}" in binding.path
    if path.name.startswith("spotify"):
        # the one operation with an image/jpeg-only body is reported, not dropped silently
        [error] = report.errors
        assert error.field == "paths./playlists/{playlist_id}/images.put.requestBody.content"
        assert error.document == path.name
    else:
        assert report.errors == ()


def test_petstore_details() -> None:
    specs = {
        s.name: s for s in specs_from_openapi(shared("openapi/swagger-petstore_v3_openapi.yaml"))
    }
    add = specs["addPet"]
    props = add.parameters["properties"]
    assert add.required == ("name", "photoUrls")
    assert props["status"]["enum"] == ["available", "pending", "sold"]
    assert props["photoUrls"] == {"type": "array", "items": {"type": "string"}}
    assert props["category"]["properties"]["name"]["type"] == "string"  # $ref resolved
    assert {p.location for p in _rest(add.binding).parameters} == {"body"}
    assert add.category == "pet"

    get = _rest(specs["getPetById"].binding)
    assert get.auth_header == "api_key"
    assert get.auth_env == "SWAGGER_PETSTORE_OPENAPI_3_0_API_KEY"
    assert get.path == "/pet/{petId}"
    assert specs["findPetsByStatus"].parameters["properties"]["status"]["default"] == "available"

    whole = _rest(specs["createUsersWithListInput"].binding).parameters
    assert [(p.name, p.location, p.wire_name) for p in whole] == [("body", "body", WHOLE_BODY)]
    assert specs["createUsersWithListInput"].parameters["properties"]["body"]["type"] == "array"

    renamed = _rest(specs["updateUser"].binding).parameters
    assert ("body_username", "body", "username") in {
        (p.name, p.location, p.wire_name) for p in renamed
    }


def test_allof_server_variables_and_auth_env_argument() -> None:
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "T"},
        "servers": [{"url": "{scheme}://x.test/{v}", "variables": {
            "scheme": {"default": "https"}, "v": {"default": "v2"}}}],
        "components": {
            "schemas": {
                "Base": {"type": "object", "properties": {"a": {"type": "integer", "minimum": 1}},
                         "required": ["a"]},
                "Node": {"type": "object",
                         "properties": {"child": {"$ref": "#/components/schemas/Node"}}},
            },
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
        },
        "security": [{"key": []}],
        "paths": {"/things/{thing-id}": {
            "parameters": [{"name": "thing-id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "post": {"requestBody": {"required": True, "content": {"application/json": {"schema": {
                "allOf": [{"$ref": "#/components/schemas/Base"},
                          {"properties": {"tree": {"$ref": "#/components/schemas/Node"},
                                          "kind": {"type": "string", "enum": ["x", "y"],
                                                   "nullable": True}}}]}}}}},
        }},
    }  # fmt: skip
    [spec] = specs_from_openapi(doc, auth_env="MY_KEY")
    assert spec.name == "post_things_thing_id"
    props = spec.parameters["properties"]
    assert set(props) == {"thing_id", "a", "tree", "kind"}
    assert spec.required == ("thing_id", "a")
    assert props["a"] == {"type": "integer", "minimum": 1}
    assert props["kind"]["type"] == ["string", "null"]
    assert "recursive Node" in props["tree"]["properties"]["child"]["description"]
    binding = _rest(spec.binding)
    assert binding.base_url == "https://x.test/v2"
    assert binding.path == "/things/{thing_id}"
    assert (binding.auth_env, binding.auth_header) == ("MY_KEY", "X-Key")


def test_relative_server_needs_base_url() -> None:
    doc: dict[str, Any] = {"openapi": "3.1.0", "servers": [{"url": "/api"}],
                           "paths": {"/a": {"get": {"operationId": "get a!"}}}}  # fmt: skip
    with pytest.raises(SpecError) as info:
        specs_from_openapi(doc)
    assert info.value.field == "servers[0].url"
    [spec] = specs_from_openapi(doc, base_url="https://h.test/root/")
    assert spec.name == "get_a"
    assert _rest(spec.binding).base_url == "https://h.test/root/api"


def test_bad_documents_name_the_field() -> None:
    with pytest.raises(SpecError) as info:
        convert_openapi({"swagger": "2.0", "paths": {}}, where="old.json")
    assert (info.value.document, info.value.field) == ("old.json", "openapi")
    doc: dict[str, Any] = {"openapi": "3.0.0", "servers": [{"url": "https://h.test"}], "paths": {
        "/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}]}},
        "/b": {"get": {}}}}  # fmt: skip
    report = convert_openapi(doc, where="doc.yaml")
    assert [s.name for s in report.specs] == ["get_b"]
    [error] = report.errors
    assert error.field == "paths./a.get.parameters[0].$ref"


@needs_shared("toolalpaca/eval_real.json")
@pytest.mark.parametrize("api", TOOLALPACA, ids=lambda a: str(a["Name"]))
def test_toolalpaca_names_and_gold_calls_match(api: dict[str, Any]) -> None:
    report = convert_openapi(
        json.loads(api["Documentation"]), naming="path_method", where=api["Name"]
    )
    assert report.errors == ()
    specs = {s.name: s for s in report.specs}
    for function, (path, method) in api["Function_Projection"].items():
        spec = specs[sanitize_name(function)]
        binding = _rest(spec.binding)
        assert binding.method == method.upper()
        assert binding.path.strip("/") == path.strip("/")
    # Upstream label noise (unparseable Action_Input; AviationAPI's gold calls operations
    # its malformed document nests inside another path) is counted, not special-cased.
    checked = noise = 0
    for answers in api["Golden_Answers"]:
        for answer in answers:
            try:
                arguments = json.loads(answer["Action_Input"] or "{}")
            except json.JSONDecodeError:
                noise += 1
                continue
            if answer["Action"] not in api["Function_Projection"]:
                noise += 1
                continue
            spec = specs[sanitize_name(answer["Action"])]
            assert {sanitize_name(k) for k in arguments} <= set(spec.parameters["properties"])
            checked += 1
    assert checked > noise
