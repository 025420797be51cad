"""McpExecutor against the real demo server (executors/mcp_server.py) as a subprocess,
over stdio and over streamable HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from prometheus_client import REGISTRY

from executors import (
    REDACTED,
    ApiSpec,
    ExecutionFailure,
    HostRefused,
    McpBinding,
    NetworkPolicy,
    Outcome,
    PythonBinding,
    default_redactor,
)
from executors._mcp import McpExecutor, McpServerConfig, _policy_client

pytestmark = pytest.mark.anyio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = McpServerConfig(
    sys.executable,
    ("-m", "executors.mcp_server"),
    env={"APIGEN_MCP_TEST_TOOLS": "1"},
    cwd=ROOT,
)


def spec(tool: str, server: str = "demo") -> ApiSpec:
    return ApiSpec(
        name=tool,
        description="",
        parameters={"type": "object"},
        binding=McpBinding(server=server, tool=tool),
        source="mcp:demo",
    )


@pytest.fixture(scope="module")
async def executor() -> AsyncIterator[McpExecutor]:
    """One executor (and so one server start, ~1-3 s of SDK imports) for the module."""
    async with McpExecutor({"demo": DEMO}, timeout_s=1.5) as ex:
        yield ex


async def call(ex: McpExecutor, tool: str, **arguments: Any) -> Outcome:
    return await ex.execute(spec(tool), arguments)


async def test_tools_run_and_results_are_json(executor: McpExecutor) -> None:
    assert (await call(executor, "add", a=2, b=3)).result == 5
    assert (await call(executor, "reverse_text", text="321")).result == "123"
    assert (await call(executor, "word_stats", text="a bc")).result == {
        "words": 2,
        "characters": 4,
    }
    assert (await call(executor, "days_between", start="2024-01-01", end="2024-03-01")).result == 60
    assert (await call(executor, "weekday", date="2024-07-04")).result == "Thursday"
    assert "servers=1/1" in repr(executor)


async def test_tool_failures_map_to_reasons(executor: McpExecutor) -> None:
    divide = await call(executor, "divide", numerator=1, denominator=0)
    assert (divide.reason, divide.message) == (
        "function_error",
        "Error executing tool divide: division by zero",
    )
    assert (await call(executor, "add", a=1)).reason == "invalid_arguments"
    assert (await call(executor, "no_such_tool")).reason == "unknown_api"
    assert (await executor.execute(spec("add", server="nowhere"), {})).reason == "mcp_error"
    python = ApiSpec(
        name="f", description="", parameters={"type": "object"}, binding=PythonBinding("m", "f")
    )
    assert (await executor.execute(python, {})).reason == "no_binding"


async def test_argument_values_stay_data(executor: McpExecutor) -> None:
    payload = "__import__('os').system('touch /tmp/apigen_pwned'); $(rm -rf /)"
    assert (await call(executor, "reverse_text", text=payload)).result == payload[::-1]


async def test_timeout(executor: McpExecutor) -> None:
    assert (await call(executor, "add", a=1, b=1)).ok  # the server is up
    start = time.monotonic()
    outcome = await call(executor, "sleep", seconds=3)
    assert outcome.reason == "timeout"
    assert time.monotonic() - start < 1.5 + 1.0


async def test_dead_server_is_restarted_once(executor: McpExecutor) -> None:
    restarts = executor.restarts_total
    labels = {"stage": "none", "version": "none", "kind": "mcp"}
    counted = REGISTRY.get_sample_value("apigen_executor_worker_restarts_total", labels) or 0
    pid = (await call(executor, "process_id")).result
    os.kill(pid, signal.SIGKILL)
    assert (await call(executor, "add", a=2, b=2)).result == 4
    assert (await call(executor, "process_id")).result != pid
    assert executor.restarts_total == restarts + 1
    assert REGISTRY.get_sample_value("apigen_executor_worker_restarts_total", labels) == counted + 1


async def test_list_tools(executor: McpExecutor) -> None:
    tools = {t["name"]: t for t in await executor.list_tools("demo")}
    assert {"add", "divide", "reverse_text", "days_between", "weekday"} <= set(tools)
    assert tools["add"]["inputSchema"]["required"] == ["a", "b"]
    assert tools["add"]["description"] == "Add two numbers."
    with pytest.raises(ExecutionFailure):
        await executor.list_tools("nowhere")


async def test_not_running_and_unstartable_servers_fail_cleanly() -> None:
    idle = McpExecutor({"demo": DEMO})
    assert "stopped servers=0/1" in repr(idle)  # servers start lazily, and only when running
    assert (await call(idle, "add", a=1, b=1)).reason == "mcp_error"
    broken = {"demo": McpServerConfig("/nonexistent/mcp-server")}
    async with McpExecutor(broken, startup_timeout_s=5) as ex:
        outcome = await call(ex, "add", a=1, b=1)
        assert outcome.reason == "mcp_error"
        assert "cannot start" in outcome.message


async def test_concurrent_calls_share_one_server(executor: McpExecutor) -> None:
    results: list[Any] = []

    async def one(n: int) -> None:
        results.append((await call(executor, "multiply", a=n, b=2)).result)

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(one, n)
    assert sorted(results) == [0, 2, 4, 6, 8]


@contextmanager
def http_demo(*, test_tools: bool = True) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The demo server serving streamable HTTP on a free port of 127.0.0.1: (URL, process)."""
    env = {**os.environ, "APIGEN_MCP_TEST_TOOLS": "1" if test_tools else "0"}
    command = [sys.executable, "-m", "executors.mcp_server", "--http", "127.0.0.1:0"]
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        try:
            yield line.split()[-1], proc
        finally:
            proc.kill()


LOOPBACK = NetworkPolicy.from_hosts(["127.0.0.1"])


async def test_http_server_tools_timeouts_and_a_dead_server() -> None:
    with http_demo() as (url, process):
        servers = {"demo": McpServerConfig(url=url)}
        async with McpExecutor(servers, timeout_s=1.5, policy=LOOPBACK) as ex:
            assert (await call(ex, "add", a=2, b=3)).result == 5
            assert (await call(ex, "word_stats", text="a bc")).result == {
                "words": 2,
                "characters": 4,
            }
            divide = await call(ex, "divide", numerator=1, denominator=0)
            assert divide.reason == "function_error" and "division by zero" in divide.message
            assert (await call(ex, "add", a=1)).reason == "invalid_arguments"
            assert (await call(ex, "sleep", seconds=3)).reason == "timeout"
            assert {"add", "weekday"} <= {t["name"] for t in await ex.list_tools("demo")}
            process.kill()
            process.wait()
            start = time.monotonic()
            dead = await call(ex, "add", a=2, b=2)
            assert dead.reason == "mcp_error" and "cannot connect" in dead.message
            assert time.monotonic() - start < 5
            assert (await call(ex, "add", a=2, b=2)).reason == "mcp_error"  # and again


async def test_http_servers_go_through_the_network_policy() -> None:
    with http_demo(test_tools=False) as (url, _):
        port = int(url.split(":")[2].split("/")[0])
        async with McpExecutor({"demo": McpServerConfig(url=url)}) as ex:
            refused = await call(ex, "add", a=1, b=1)
        assert refused.reason == "host_refused"
        assert f"--allow-host 127.0.0.1:{port}" in refused.message
        # A name is checked on what it resolves to, and the connection made to that address.
        named = url.replace("127.0.0.1", "localhost")
        async with _policy_client(NetworkPolicy(), {}, 5.0) as client:
            with pytest.raises(HostRefused, match="loopback"):
                await client.post(named, json={})
        async with _policy_client(LOOPBACK, {}, 5.0) as client:
            answer = await client.get(named)
        assert answer.status_code in (400, 405, 406)  # the MCP endpoint answered; no session


async def test_http_header_secrets_are_sent_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "mcp-token-" + os.urandom(6).hex()
    monkeypatch.setenv("APIGEN_TEST_MCP_TOKEN", secret)
    config = McpServerConfig(
        url="http://127.0.0.1:9/mcp", headers_env={"X-Token": "APIGEN_TEST_MCP_TOKEN"}
    )
    assert config.headers() == {"X-Token": secret} and secret in config.secrets()
    async with McpExecutor({"demo": config}, policy=LOOPBACK):
        assert default_redactor().redact(f"echoed {secret}") == f"echoed {REDACTED}"
    monkeypatch.delenv("APIGEN_TEST_MCP_TOKEN")
    with pytest.raises(ExecutionFailure, match="APIGEN_TEST_MCP_TOKEN"):
        config.headers()
    with pytest.raises(ValueError, match="either command"):
        McpServerConfig("srv", url="http://a.example/mcp")
