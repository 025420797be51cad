"""`apigen serve --allow-host`: a stage run as a service reaches the loopback/private hosts
the user names, like `apigen run`, and a malformed entry is refused before it starts."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import streamer.cli._pipeline as pipeline_cli
from streamer.cli._app import app

runner = CliRunner()


def test_a_malformed_allow_host_is_refused_by_name() -> None:
    result = runner.invoke(app, ["serve", "execution", "--allow-host", "http://127.0.0.1:8080"])
    assert result.exit_code == 2
    assert "--allow-host" in result.output and "no scheme" in result.output


def test_allowed_hosts_reach_the_service_config(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    async def serve(stage: str, config: Any, group: str | None) -> None:
        seen.append((stage, config.allow_hosts))

    monkeypatch.setattr(pipeline_cli, "_serve", serve)
    argv = ["serve", "execution", "--allow-host", "127.0.0.1:8080", "--allow-host", "10.0.0.5"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    [(stage, hosts)] = seen
    assert stage == "execution" and hosts[-2:] == ("127.0.0.1:8080", "10.0.0.5")
