"""`apigen check --allow-host`: a dataset whose tools bind to a REST API at a loopback
address is refused there (host_refused, no request reaches the server) unless allowed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from .net_servers import recording_server, weather_spec

pytestmark = pytest.mark.anyio


async def _check(tmp_path: Path, *extra: str) -> list[dict[str, object]]:
    tool = {"name": "get_weather", "description": "Current weather for a city.",
            "parameters": {"city": {"type": "str", "description": "City name."}}}  # fmt: skip
    call = {"name": "get_weather", "arguments": {"city": "Oslo"}}
    row = {"id": 1, "query": "What is the weather in Oslo?", "tools": json.dumps([tool]),
           "answers": json.dumps([call])}  # fmt: skip
    dataset = tmp_path / "rows.jsonl"
    dataset.write_text(json.dumps(row) + "\n", encoding="utf-8")
    done = await anyio.run_process(
        [sys.executable, "-m", "streamer", "check", str(dataset), "--apis",
         str(tmp_path / "specs.jsonl"), *extra],
        check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr.decode()[-2000:]
    return [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]


async def test_a_loopback_rest_api_is_refused_unless_allowed(tmp_path: Path) -> None:
    async with recording_server() as server:
        spec = weather_spec(server.base_url)
        (tmp_path / "specs.jsonl").write_text(json.dumps(spec.to_dict()) + "\n")
        [refused] = await _check(tmp_path)
        assert (refused["verdict"], refused["reason"]) == ("fail", "host_refused"), refused
        assert server.requests == []
        [allowed] = await _check(tmp_path, "--allow-host", f"127.0.0.1:{server.port}")
        assert allowed["verdict"] == "pass", allowed
        assert len(server.requests) == 1
