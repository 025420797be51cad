"""MCP tools in a whole run: `apigen run --simulate --apis <listing>` against the real demo
server (executors/mcp_server.py) as a stdio subprocess and as a streamable-HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from executors import McpServerConfig
from executors.mcp_server import build_server
from streamer.dataset._store import DatasetRecord, DatasetStore
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._model_config import ConfigError, ModelConfig
from streamer.pipeline._run import run_pipeline

from .test_mcp_executor import http_demo

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "executors.mcp_server"]
SIMULATED = (ModelConfig(kind="simulated"),)

EXPECTED: dict[str, Any] = {
    "add": lambda a, b: a + b,
    "multiply": lambda a, b: a * b,
    "reverse_text": lambda text: text[::-1],
    "word_stats": lambda text: {"words": len(text.split()), "characters": len(text)},
}
"""What the server computes, for the tools whose results a test can recompute."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """The demo server serving streamable HTTP on a free port; yields its URL."""
    with http_demo(test_tools=False) as (url, _):
        yield url


async def write_listing(directory: Path, server: str) -> Path:
    """The demo server's own tools/list answer as a listing file ``<server>.json``."""
    tools = await build_server().list_tools()
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    listing = {"tools": dumped}
    path = directory / f"{server}.json"
    path.write_text(json.dumps(listing), encoding="utf-8")
    return path


def toml_config(tmp_path: Path, server: str, body: str) -> Path:
    path = tmp_path / "apigen.toml"
    path.write_text(f'[[mcp.servers]]\nname = "{server}"\n{body}\n', encoding="utf-8")
    return path


def reasons(out: Path) -> dict[str, int]:
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        found: dict[str, int] = {}
        for row in store.funnel():
            if row.stage != "semantic":
                found[row.reason] = found.get(row.reason, 0) + row.count
        return found
    finally:
        store.close()


def records(out: Path) -> list[DatasetRecord]:
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        return list(store.records())
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_run_executes_mcp_tools_and_verifies_pairs(
    tmp_path: Path, transport: str, request: pytest.FixtureRequest
) -> None:
    listing = await write_listing(tmp_path, "demo")
    if transport == "stdio":
        body = f"command = {json.dumps(SERVER)}\ncwd = {json.dumps(str(ROOT))}"
    else:
        url: str = request.getfixturevalue("http_server")
        port = url.split(":")[2].split("/")[0]
        body = f'url = "{url}"\n[executors]\nallow_hosts = ["127.0.0.1:{port}"]'
    config = toml_config(tmp_path, "demo", body)
    assert load_config(config).mcp_servers["demo"].transport == transport
    out = tmp_path / "out"
    apigen = Path(sys.executable).with_name("apigen")
    command = [str(apigen), "run", "--simulate", "--samples", "16", "--apis", str(listing),
               "--config", str(config), "--out", str(out)]  # fmt: skip
    done = await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rejected = reasons(out)
    assert "no_binding" not in rejected and "mcp_error" not in rejected, rejected
    kept = records(out)
    assert kept, rejected
    checked = 0
    for record in kept:
        for call, result in zip(record.calls, record.results, strict=True):
            compute = EXPECTED.get(call["name"])
            if compute is not None:
                assert result == compute(**call["arguments"]), (call, result)
                checked += 1
    assert checked >= 3, [r.calls for r in kept]


async def simulated_run(
    tmp_path: Path, listing: str, servers: dict[str, McpServerConfig], **settings: Any
) -> PipelineConfig:
    """A simulated run's config over the listing file ``<listing>.json``."""
    path = await write_listing(tmp_path, listing)
    return PipelineConfig(
        out=tmp_path / "out",
        api_sources=(str(path),),
        generators=SIMULATED,
        judges=SIMULATED,
        mcp_servers=servers,
        **settings,
    )


async def test_a_tool_naming_an_unconfigured_server_is_a_config_error(tmp_path: Path) -> None:
    servers = {"demo": McpServerConfig(SERVER[0], tuple(SERVER[1:]))}
    config = await simulated_run(tmp_path, "elsewhere", servers, samples=2)
    with pytest.raises(ConfigError, match=r"server\(s\) \['elsewhere'\].*configured: \['demo'\]"):
        await run_pipeline(config)


async def test_an_http_server_at_a_refused_address_is_a_config_error(tmp_path: Path) -> None:
    servers = {"web": McpServerConfig(url="http://127.0.0.1:9/mcp")}
    config = await simulated_run(tmp_path, "web", servers, samples=2)
    with pytest.raises(ConfigError, match=r"'web'.*loopback.*--allow-host 127\.0\.0\.1:9"):
        await run_pipeline(config)


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_dead_server_is_a_reject_with_a_reason(tmp_path: Path, transport: str) -> None:
    """A server that exits at once (stdio) or is not there (HTTP): every call is an
    execution reject ``mcp_error``, the run finishes every task."""
    server = (
        McpServerConfig(sys.executable, ("-c", "import sys; sys.exit(3)"))
        if transport == "stdio"
        else McpServerConfig(url="http://127.0.0.1:9/mcp")  # the discard port: refused
    )
    config = await simulated_run(
        tmp_path,
        "demo",
        {"demo": server},
        samples=6,
        allow_hosts=("127.0.0.1:9",),
        mcp_startup_timeout_s=10.0,
    )
    summary = await run_pipeline(config)
    assert summary.progress.completed == 6
    rejected = reasons(tmp_path / "out")
    assert rejected.get("mcp_error", 0) >= 1, rejected
    assert all(not record.calls for record in records(tmp_path / "out"))  # irrelevance only


def test_mcp_servers_from_the_config_name_their_fields(tmp_path: Path) -> None:
    def load(body: str) -> PipelineConfig:
        path = tmp_path / "c.toml"
        path.write_text(body, encoding="utf-8")
        return load_config(path)

    config = load(
        '[mcp]\ntimeout_s = 3\n[[mcp.servers]]\nname = "a"\ncommand = ["srv", "--x"]\n'
        'cwd = "sub"\nenv = {MODE = "1"}\npass_env = ["HOME"]\n'
        '[[mcp.servers]]\nname = "b"\nurl = "https://mcp.example.com/mcp"\n'
        'headers_env = {Authorization = "B_TOKEN"}\n'
    )
    a, b = config.mcp_servers["a"], config.mcp_servers["b"]
    assert (a.command, a.args, a.cwd) == ("srv", ("--x",), str(tmp_path / "sub"))
    assert a.environment() == {"MODE": "1", "HOME": os.environ["HOME"]}
    assert (b.transport, b.headers_env) == ("http", {"Authorization": "B_TOKEN"})
    assert config.mcp_timeout_s == 3.0
    server = '[[mcp.servers]]\nname = "a"\n'
    bad = {
        '[[mcp.servers]]\ncommand = ["x"]': r"mcp\.servers\[0\]\.name: required",
        server: r"mcp\.servers\[0\]: give either command",
        server + 'command = "x"': r"mcp\.servers\[0\]\.command: expected list",
        server + "command = []": r"mcp\.servers\[0\]\.command: expected the program",
        server + 'url = "ftp://x/"': r"mcp\.servers\[0\]: url 'ftp://x/'",
        server + 'url = "http://x/"\nenv = {A = "1"}': "for stdio servers",
        server + 'command = ["x"]\nport = 1': r"unknown field\(s\) \['port'\]",
        server + 'command = ["x"]\n' + server + 'command = ["y"]': r"\[1\]\.name: 'a' .* twice",
        "[mcp]\ntimeout_s = 0": r"mcp\.timeout_s: 0\.0 is not seconds > 0",
        "[mcp]\nservers = 1": r"mcp\.servers: expected an array of tables",
    }
    for body, message in bad.items():
        with pytest.raises(ConfigError, match=message):
            load(body)
