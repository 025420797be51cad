"""`apigen apis` with typer's CliRunner on the real catalogues."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from executors import ApiLibrary
from streamer.cli._app import app

from ..shared_data import shared


def _petstore() -> str:
    return str(shared("openapi/swagger-petstore_v3_openapi.yaml"))


runner = CliRunner()


def test_list_json_and_table() -> None:
    result = runner.invoke(app, ["apis", "list", "--source", _petstore(), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 19
    assert {"name", "category", "binding", "id", "description"} <= set(rows[0])
    assert rows[0]["binding"] == "rest"
    result = runner.invoke(app, ["apis", "list", "-s", _petstore(), "--category", "store"])
    assert result.exit_code == 0 and "getInventory" in result.stdout


def test_show() -> None:
    result = runner.invoke(app, ["apis", "show", "addPet", "-s", _petstore()])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["binding"]["method"] == "POST"
    result = runner.invoke(app, ["apis", "show", "nope", "-s", _petstore()])
    assert result.exit_code == 1


def test_convert_to_each_format(tmp_path: Path) -> None:
    out = tmp_path / "specs.jsonl"
    tools = str(shared("toolbench/tools.jsonl"))
    result = runner.invoke(
        app, ["apis", "convert", tools, "--from", "toolbench", "--out", str(out)]
    )
    assert result.exit_code == 0
    assert len(ApiLibrary.load(out)) == 2490
    xlam = str(shared("xlam/xlam60k_sample.jsonl"))
    result = runner.invoke(app, ["apis", "convert", xlam, "--from", "xlam", "--to", "openai"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["type"] == "function"
    result = runner.invoke(
        app, ["apis", "convert", _petstore(), "--from", "openapi", "--to", "xlam"]
    )
    assert len(json.loads(result.stdout)) == 19


def test_convert_the_local_services_own_openapi_document(tmp_path: Path) -> None:
    """The local REST service's /openapi.json names no server: --base-url gives it one,
    and the converted specs execute against the running service."""
    import anyio
    import httpx

    from executors import NetworkPolicy, RestExecutor
    from tests.executors.rest_server import run_service

    with run_service(testing=False) as service:
        document = tmp_path / "openapi.json"
        document.write_bytes(httpx.get(f"{service.base_url}/openapi.json", trust_env=False).content)
        bare = runner.invoke(app, ["apis", "convert", str(document), "--from", "openapi"])
        assert bare.exit_code == 0
        assert "converted 0 APIs" in bare.stderr and "--base-url URL" in bare.stderr
        out = tmp_path / "specs.jsonl"
        args = ["apis", "convert", str(document), "--from", "openapi", "--out", str(out)]
        result = runner.invoke(app, [*args, "--base-url", service.base_url])
        assert result.exit_code == 0, result.output
        assert "0 errors" in result.stderr and "hint" not in result.stderr
        library = ApiLibrary.load(out)
        assert len(library) >= 30
        spec = library.get("compute_molar_mass")
        assert spec.binding is not None and spec.binding.base_url == service.base_url  # type: ignore[union-attr]

        async def call() -> object:
            executor = RestExecutor(policy=NetworkPolicy.from_hosts(["127.0.0.1"]))
            try:
                return (await executor.execute(spec, {"formula": "H2O"})).result
            finally:
                await executor.aclose()

        result_value = anyio.run(call)
    assert isinstance(result_value, dict)
    assert abs(result_value["molar_mass_g_mol"] - 18.015) < 1e-3


def test_convert_base_url_must_be_an_http_url_for_openapi(tmp_path: Path) -> None:
    document = str(tmp_path / "any.json")  # checked before anything is read
    bad = runner.invoke(app, ["apis", "convert", document, "--from", "openapi", "--base-url", "x"])
    assert bad.exit_code == 2 and "not an absolute http(s) URL" in bad.output
    args = ["apis", "convert", document, "--from", "toolbench", "--base-url", "http://a.example"]
    wrong = runner.invoke(app, args)
    assert wrong.exit_code == 2 and "only OpenAPI documents" in wrong.output
