"""ApiLibrary: lookup, ambiguity, filter, merge, JSON Lines round trip, source detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from executors import AmbiguousApiName, ApiLibrary, ApiSpec, PythonBinding, SpecError
from executors._library import detect_source_kind

from ..shared_data import shared

EMPTY = {"type": "object", "properties": {}}


def _spec(name: str, source: str, category: str = "general") -> ApiSpec:
    return ApiSpec.create(name=name, description=name, parameters=EMPTY, source=source,
                          category=category, binding=PythonBinding("m", name))  # fmt: skip


def test_lookup_ambiguity_filter_merge() -> None:
    a, b, c = _spec("search", "s1", "web"), _spec("search", "s2"), _spec("add", "s1", "math")
    library = ApiLibrary([a, b]).merge(ApiLibrary([c, c]))
    assert len(library) == 3 and list(library) == [a, b, c]
    assert library.get("add") is c and library.by_id("s2:search") is b
    with pytest.raises(AmbiguousApiName) as info:
        library.get("search")
    assert info.value.ids == ["s1:search", "s2:search"]
    assert library.get("s1:search") is a
    with pytest.raises(KeyError):
        library.get("nope")
    assert library.categories() == ["general", "math", "web"]
    assert list(library.filter(category="math")) == [c]
    assert list(library.filter(source="s2")) == [b]
    assert len(library.filter(binding="none")) == 0
    with pytest.raises(SpecError):
        library.merge(ApiLibrary([_spec("add", "s1", "other")]))


def test_save_load_round_trip(tmp_path: Path) -> None:
    library = ApiLibrary.from_sources(
        [
            shared("openapi/swagger-petstore_v3_openapi.yaml"),
            shared("xlam/xlam60k_sample.jsonl"),
        ]
    )
    assert len(library) == 19 + 8
    path = tmp_path / "lib.jsonl"
    library.save(path)
    assert ApiLibrary.load(path) == library
    assert detect_source_kind(path) == "spec"


@pytest.mark.parametrize(
    ("relative", "kind"),
    [
        ("openapi/oai_uspto.yaml", "openapi"),
        ("openapi/twilio_lookups_v2.json", "openapi"),
        ("toolbench/tools.jsonl", "toolbench"),
        ("toolbench/olato_quotes.tool.json", "toolbench"),
        ("bfcl/BFCL_v4_simple_python.json", "bfcl"),
        ("bfcl/exec/question/BFCL_v4_exec_simple.json", "bfcl"),
        ("xlam/xlam60k_sample.jsonl", "xlam"),
        ("glaive/glaive_toolcall_en_demo.json", "glaive"),
    ],
)
def test_detect_source_kind(relative: str, kind: str) -> None:
    assert detect_source_kind(shared(relative)) == kind


def test_mcp_listing_file(tmp_path: Path) -> None:
    path = tmp_path / "fs.json"
    path.write_text('{"tools": [{"name": "ls", "inputSchema": {"type": "object"}}]}')
    [spec] = ApiLibrary.from_sources([path])
    assert spec.id == "mcp:fs:ls"
