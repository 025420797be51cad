"""API curation: every ToolBench API accounted for offline; the local REST service and a
Python library curated through the real executors, broken APIs rejected for the right
reason; renaming, duplicates, taxonomy and report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from executors import REASONS, ApiLibrary, ApiSpec, PythonBinding, RestBinding, RestParameter
from executors.curation import (
    REJECT_REASONS,
    AccessSettings,
    CurationError,
    CurationReport,
    CurationSettings,
    DuplicateSettings,
    LoadedSource,
    RuleSettings,
    Taxonomy,
    curate,
    curate_sources,
    find_duplicates,
    fix_names,
    load_curation_source,
    load_examples,
    probe_host,
    spec_issues,
)

from ..shared_data import shared
from .rest_server import RunningService


def _toolbench() -> Path:
    return shared("toolbench/tools.jsonl")


def _olato() -> Path:
    return shared("toolbench/olato_quotes.tool.json")


HERE = Path(__file__).resolve().parent
FIXTURE_MODULE = "python:tests.executors.curation_fixture_module"
FIXTURE_OPENAPI = HERE / "curation_fixture_openapi.yaml"
REST_EXAMPLES = HERE / "curation_rest_examples.json"

pytestmark = pytest.mark.anyio


def by_api(report: CurationReport) -> dict[str, dict[str, Any]]:
    return {r["api"]: r for r in report.to_dict()["apis"]}


@pytest.mark.slow
async def test_toolbench_offline_accounts_for_every_api() -> None:
    result = await curate([_toolbench(), _olato()])
    report = result.report
    data = report.to_dict()
    assert data["apis_in"] == 2490 + 3
    known = set(REJECT_REASONS) | set(REASONS)
    statuses = Counter(r.status for r in report.records)
    assert statuses["kept"] + statuses["rejected"] == 2493
    for record in report.records:
        assert record.status == "kept" or (record.reason in known and record.message), record
    rejects = data["rejects"]
    total_rejected = sum(n for reasons in rejects.values() for n in reasons.values())
    assert total_rejected == statuses["rejected"]
    # The paper excluded APIs without parameters; StableToolBench's lines name no host.
    assert rejects["parameters"]["no_parameters"] == 615
    assert rejects["accessibility"]["no_binding"] > 1500
    # The one tool file with a host: probed, unreachable offline, reported as such.
    olato = [r for r in report.records if r.source == str(_olato()) and r.rule == "accessibility"]
    assert olato and all(r.reason == "unreachable_host" for r in olato)
    assert "olato-quotes.p.rapidapi.com" in olato[0].message
    # 47 RapidAPI categories (+ olato's) become at most 21; Finance and Financial merge.
    assert len(data["categories_before"]) == 48
    mapped = data["categories_mapped"]
    assert set(mapped) <= set(Taxonomy.default().categories)
    assert len(Taxonomy.default().categories) == 21
    finance = sum(1 for r in report.records if r.category_from in ("Finance", "Financial"))
    assert finance == 176 + 33
    assert all(r.category_to == "Finance" for r in report.records if r.category_from == "Financial")


async def test_one_probe_reports_every_api_of_a_dead_host() -> None:
    specs = [
        ApiSpec.create(
            name=f"lookup_{i}",
            description=f"Looks up record number {i} in the remote register of records.",
            parameters={
                "type": "object",
                "properties": {
                    "key": {"type": "string", "description": "The key.", "default": "a"}
                },
            },
            binding=RestBinding("http://apigen-curation-test.invalid", "GET", f"/r/{i}"),
            source="openapi:dead",
        )
        for i in range(200)
    ]
    result = await curate_sources([LoadedSource("dead", tuple(specs))])
    reasons = Counter(r.reason for r in result.report.records)
    assert reasons == {"unreachable_host": 200}
    assert len({r.message for r in result.report.records}) == 1
    assert await probe_host("apigen-curation-test.invalid", 80, 3.0) != ""


def _bad_name_specs(base_url: str) -> list[ApiSpec]:
    param = {"type": "string", "description": "Who the greeting is from.", "examples": ["ada"]}
    return [
        ApiSpec.create(  # healthy once renamed: echo_v2(is_from=...) sends ?from=...
            name="echo.v2-hello",
            description="Echoes the request back as JSON, with its path and query string.",
            parameters={"type": "object", "properties": {"from": param}, "required": ["from"]},
            binding=RestBinding(
                base_url, "GET", "/_test/echo/v2", (RestParameter("from", "query"),)
            ),
            source="spec:names",
        ),
        ApiSpec.create(  # a Python binding cannot map a renamed parameter: invalid_name
            name="python_keyword_param",
            description="Takes a parameter whose name is a Python keyword, so it cannot run.",
            parameters={"type": "object", "properties": {"class": param}},
            binding=PythonBinding("tests.executors.curation_fixture_module", "repeat_text"),
            source="spec:names",
        ),
    ]


@pytest.mark.slow
async def test_rest_service_and_python_library(
    rest_service: RunningService, tmp_path: Path
) -> None:
    names_file = tmp_path / "names.jsonl"
    ApiLibrary(_bad_name_specs(rest_service.base_url)).save(names_file)
    settings = CurationSettings(access=AccessSettings(timeout_s=1.0, rate_per_host=50.0))
    result = await curate(
        [f"{rest_service.base_url}/openapi.json", FIXTURE_OPENAPI, FIXTURE_MODULE, names_file],
        settings,
        examples=load_examples(REST_EXAMPLES),
        base_url=rest_service.base_url,
    )
    records = by_api(result.report)

    service = [r for r in records.values() if r["source"].endswith("/openapi.json")]
    assert len(service) == 36
    assert all(r["status"] == "kept" and r["tested"] for r in service), [
        r for r in service if r["status"] != "kept"
    ]

    fixture = "openapi:curation_fixture"
    module = "python:tests.executors.curation_fixture_module"
    expected = {
        f"{fixture}:echo_hello_v2": "kept",
        f"{fixture}:echo_copy": "near_duplicate",
        f"{fixture}:slow_answer": "timeout",
        f"{fixture}:server_error": "http_error",
        f"{fixture}:takes_nothing": "no_parameters",
        f"{fixture}:empty_doc": "empty_description",
        f"{fixture}:untyped_param": "untyped_parameter",
        f"{module}:add_numbers": "kept",
        f"{module}:repeat_text": "kept",
        f"{module}:always_raises": "function_error",
        f"{module}:sleeps_too_long": "timeout",
        f"{module}:no_arguments": "no_parameters",
        f"{module}:add_numbers_again": "near_duplicate",
        f"{module}:needs_input": "no_example",
        f"{module}:tiny": "short_description",
        "spec:names:echo.v2-hello": "kept",
        "spec:names:python_keyword_param": "invalid_name",
    }
    got = {
        api: records[api]["reason"] if records[api]["status"] == "rejected" else "kept"
        for api in expected
    }
    assert got == expected
    undocumented = [
        r
        for r in records.values()
        if r["reason" if "reason" in r else "status"] == "unparseable_doc"
    ]
    assert len(undocumented) == 1 and "undocumented" in undocumented[0]["message"]
    assert result.report.total_in == 36 + 7 + 9 + 2

    # Categories come from the taxonomy: the module's "Financial" is Finance.
    library = result.library
    assert library.get("add_numbers").category == "Finance"
    assert library.get("get_element_by_symbol").category == "Science"
    assert set(library.categories()) <= set(Taxonomy.default().categories)

    # The renamed API keeps its wire name, and runs under its new names.
    renamed = records["spec:names:echo.v2-hello"]
    assert renamed["kept_id"] == "spec:names:echo_v2_hello"
    assert {"field": "parameters.is_from", "original": "from", "name": "is_from"} in renamed[
        "renames"
    ]
    spec = library.get("echo_v2_hello")
    assert isinstance(spec.binding, RestBinding)
    assert spec.binding.parameters == (RestParameter("is_from", "query", "from"),)
    # What the curation call sent, as the server saw it: the original wire name.
    assert any("from=ada" in r.query for r in rest_service.log.matching("/_test/echo/v2"))


@pytest.mark.slow
async def test_curated_library_and_report_files(
    rest_service: RunningService, tmp_path: Path
) -> None:
    from streamer.curation._curate import write_outputs

    result = await curate([FIXTURE_MODULE], CurationSettings(access=AccessSettings(timeout_s=1.0)))
    json_path, md_path = write_outputs(result, tmp_path / "curated.jsonl")
    assert ApiLibrary.load(tmp_path / "curated.jsonl") == result.library
    assert [s.name for s in result.library] == ["add_numbers", "repeat_text"]
    data = json.loads(json_path.read_text())
    assert data["apis_in"] == 9 and data["apis_kept"] == 2
    assert data["rejects"]["accessibility"] == {"function_error": 1, "timeout": 1, "no_example": 1}
    assert data["paper"]["apis_kept"] == 3539
    markdown = md_path.read_text()
    assert "| accessibility | `timeout` | 1 |" in markdown
    assert "| Finance | 2 | Financial |" in markdown


def test_fix_names_renames_rest_parameters_and_refuses_python_ones() -> None:
    rest, python = _bad_name_specs("http://127.0.0.1:1")
    fixed, changes, problem = fix_names(rest, {"echo.v2-hello", "echo_v2_hello"})
    assert problem is None
    assert fixed.name == "echo_v2_hello_2"  # the sanitized name was taken in its source
    assert fixed.parameters["properties"]["is_from"]["title"] == "from"
    assert fixed.required == ("is_from",)
    assert [c.field for c in changes] == ["name", "parameters.is_from"]
    _, _, problem = fix_names(python, set())
    assert problem is not None and problem.reason == "invalid_name"


def test_rules_and_duplicates() -> None:
    spec = ApiSpec.create(
        name="get_user",
        description="Get user",
        parameters={"type": "object", "properties": {"is_id": {"type": "string"}}},
    )
    reasons = [i.reason for i in spec_issues(spec, RuleSettings())]
    assert reasons == ["boilerplate_description", "undocumented_parameter"]
    cyrillic = ApiSpec.create(
        name="get_weather",
        description="Получить прогноз погоды для города",
        parameters=spec.parameters,
    )
    assert spec_issues(cyrillic, RuleSettings())[0].reason == "non_english_description"
    assert [
        i.reason
        for i in spec_issues(
            ApiSpec.create(
                name="x", description="Returns the time now.", parameters={"type": "object"}
            ),
            RuleSettings(),
        )
    ] == ["no_parameters"]
    text = "Returns the current weather of a city, with temperature and wind speed."
    a = ApiSpec.create(name="weather", description=text, parameters=spec.parameters)
    other = ApiSpec.create(
        name="forecast",
        description=text,
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    found = find_duplicates([a, a, other], DuplicateSettings())
    assert found[0] is not None and found[0].reason == "copied_description"
    assert found[1] is not None and found[1].reason == "duplicate"
    assert found[2] is not None and found[2].reason == "copied_description" and found[2].fixable


def test_bad_taxonomy_and_examples_name_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "taxonomy.toml"
    bad.write_text('[categories]\nFinance = ["finance"]\nMoney = ["FINANCE"]\n')
    with pytest.raises(CurationError) as info:
        Taxonomy.load(bad)
    assert info.value.where == str(bad) and info.value.field == "categories.Money"
    bad.write_text('[categories]\nFinance = "finance"\n')
    with pytest.raises(CurationError, match=r"categories\.Finance: must be a list"):
        Taxonomy.load(bad)
    examples = tmp_path / "examples.json"
    examples.write_text('{"add_numbers": [1, 2]}')
    with pytest.raises(CurationError, match="add_numbers: example arguments must be an object"):
        load_examples(examples)
    with pytest.raises(CurationError, match="no such file"):
        load_curation_source(tmp_path / "missing.jsonl")
