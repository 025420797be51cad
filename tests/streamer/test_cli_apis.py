"""`apigen apis` with typer's CliRunner on the real catalogues."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from executors import ApiLibrary
from streamer.cli import app

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
