"""Configured secrets never leave: an LLM API key (``api_key_env``) and a REST credential
(``auth_env``) reach their endpoints, and when those endpoints echo them back — in error
bodies, in results, in the completion itself, in response headers — no form of them
(raw, ``Bearer``, percent-encoded, base64, or a piece) appears in an exception, a log
record at DEBUG, a topic's bytes, the dataset, the card, the curation report, the
``/metrics`` exposition, or a process's stdout/stderr."""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import httpx
import orjson
import pytest
from aiohttp import web
from aiohttp.typedefs import Middleware

from executors import ApiLibrary, ApiSpec, NetworkPolicy, RestExecutor
from executors.curation import AccessSettings, LoadedSource, curate_sources
from streamer.curation._curate import write_outputs
from streamer.llm import LlmClient, LlmEndpoint, LlmError, SimulatorConfig, create_app
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.runtime._metrics import serve_metrics

from .net_servers import recording_server, weather_spec

LLM_ENV = "APIGEN_TEST_SECRET_KEY"
REST_ENV = "APIGEN_TEST_REST_SECRET"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

pytestmark = pytest.mark.anyio


def _key(prefix: str) -> str:
    # '+', '/' and '=' make the percent-encoded and base64 forms differ from the raw one
    return f"{prefix}+{secrets.token_hex(12)}/{secrets.token_hex(12)}="


def _forms(key: str) -> list[str]:
    """Every form of ``key`` an output must not hold, pieces included."""
    raw = key.encode()
    b64 = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return [key, quote(key, safe=""), quote_plus(key), *b64, key[8:24], key[-16:]]


def _echo(key: str) -> str:
    """How a careless server quotes a key back: in every form at once."""
    b64 = base64.b64encode(key.encode()).decode()
    return f"key {key} (Bearer {key}; url {quote(key, safe='')}; b64 {b64})"


def _echo_headers(key: str) -> dict[str, str]:
    return {"X-Echo-Key": key, "WWW-Authenticate": f'Bearer error="invalid_token" key="{key}"'}


def _leaks(keys: Iterable[str], texts: dict[str, str | bytes]) -> list[tuple[str, str]]:
    """(where, form) for every form of every key found in ``texts``."""
    found = []
    for key in keys:
        for form in _forms(key):
            for where, text in texts.items():
                needle: str | bytes = form.encode() if isinstance(text, bytes) else form
                if needle in text:  # type: ignore[operator]
                    found.append((where, form))
    return found


def _files(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (relative name -> bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _weather_spec(base_url: str) -> ApiSpec:
    return weather_spec(base_url, auth_env=REST_ENV, auth_header="X-RapidAPI-Key")


def _echoing_rest(deny_every: int = 0) -> Handler:
    """A REST API that answers with the key it was sent, and refuses every
    ``deny_every``-th request (or the city ``deny``) with a 401 that quotes it."""
    counter = itertools.count(1)

    async def handle(request: web.Request) -> web.StreamResponse:
        key = request.headers.get("X-RapidAPI-Key", "")
        n = next(counter)
        if request.query.get("city") == "deny" or (deny_every and n % deny_every == 0):
            refusal = {"message": f"invalid {_echo(key)}"}
            return web.json_response(refusal, status=401, headers=_echo_headers(key))
        body: dict[str, Any] = {
            "city": request.query.get("city", ""),
            "temperature_c": 21,
            "note": _echo(key),
            "request_headers": dict(request.headers),
        }
        return web.json_response(body, headers=_echo_headers(key))

    return handle


@pytest.mark.parametrize("transport", ["default", "httpx-native"])
async def test_a_rest_api_echoing_its_key_in_bodies_and_headers_stores_none_of_it(
    transport: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = _key("rk-rest")
    monkeypatch.setenv(REST_ENV, key)
    caplog.set_level(logging.DEBUG)
    # httpx's own transport logs every response header at DEBUG (httpcore's trace)
    client = httpx.AsyncClient(trust_env=False) if transport == "httpx-native" else None
    async with recording_server(_echoing_rest()) as server:
        spec = _weather_spec(server.base_url)
        executor = RestExecutor(client=client, policy=_loopback(server.port), retries=0)
        try:
            ok = await executor.execute(spec, {"city": "Oslo"})
            denied = await executor.execute(spec, {"city": "deny"})
        finally:
            await executor.aclose()
            if client is not None:
                await client.aclose()
    if client is not None:
        assert "(b'X-Echo-Key', b'[REDACTED]')" in caplog.text
    assert ok.ok and denied.reason == "http_error" and "401" in denied.message
    assert ok.result["temperature_c"] == 21 and "[REDACTED]" in ok.result["note"]
    sent = {k.lower(): v for k, v in ok.result["request_headers"].items()}
    assert sent["x-rapidapi-key"] == "[REDACTED]"
    texts: dict[str, str | bytes] = {
        "result": json.dumps(ok.result),
        "error": denied.message + repr(denied),
        "logs": caplog.text,
    }
    assert _leaks([key], texts) == []


def _loopback(port: int) -> NetworkPolicy:
    return NetworkPolicy.from_hosts([f"127.0.0.1:{port}"])


async def _echoing_llm_401(request: web.Request) -> web.StreamResponse:
    auth = request.headers.get("Authorization", "")
    key = auth.removeprefix("Bearer ")
    body = {"error": {"message": f"Incorrect API key provided: {_echo(key)}", "code": 401}}
    return web.json_response(body, status=401, headers={**_echo_headers(key), "X-Auth": auth})


async def test_an_llm_endpoint_echoing_the_key_in_a_401_leaks_it_nowhere(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = _key("sk-test")
    monkeypatch.setenv(LLM_ENV, key)
    caplog.set_level(logging.DEBUG)
    async with recording_server(_echoing_llm_401) as server:
        endpoint = LlmEndpoint("echo", f"{server.base_url}/v1", "m", api_key_env=LLM_ENV)
        async with LlmClient(endpoint) as client:
            with pytest.raises(LlmError) as info:
                await client.complete_json([{"role": "user", "content": "hi"}], {})
    err = info.value
    assert err.reason == "auth_error" and err.status == 401
    assert "Incorrect API key provided: key [REDACTED] (Bearer [REDACTED]" in err.message
    texts: dict[str, str | bytes] = {
        "error": f"{err} {err!r} {err.message}",
        "logs": caplog.text,
    }
    assert _leaks([key], texts) == []


@pytest.mark.slow
async def test_apigen_check_with_a_judge_echoing_its_key_prints_none_of_it(
    tmp_path: Path,
) -> None:
    """The judge's refusal stops the check with a message on stderr: redacted (a real
    subprocess, so nothing is shared with this process's redactor)."""
    import os

    key = _key("sk-judge")
    record = {
        "id": "gcd",
        "messages": [
            {"role": "user", "content": "What is the greatest common divisor of 36 and 48?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c0",
             "type": "function", "function": {"name": "math_gcd",
             "arguments": '{"a": 36, "b": 48}'}}]},
        ],
        "tools": [{"type": "function", "function": {"name": "math_gcd",
                   "description": "Greatest common divisor.", "parameters": {"type": "object",
                   "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}],
    }  # fmt: skip
    data = tmp_path / "chat.jsonl"
    data.write_text(json.dumps(record) + "\n")
    async with recording_server(_echoing_llm_401) as server:
        result = await anyio.run_process(
            [
                sys.executable, "-m", "streamer", "check", str(data),
                "--judge-endpoint", f"{server.base_url}/v1", "--judge-model", "m",
                "--judge-api-key-env", LLM_ENV, "--summary-json",
            ],
            env={**os.environ, LLM_ENV: key},
            check=False,
        )  # fmt: skip
        assert server.requests, "the judge was called"
    out, err = result.stdout.decode(), result.stderr.decode()
    # A refused key stops the check (exit 3) with the endpoint's redacted answer on stderr.
    assert result.returncode == 3 and "401" in err, (out, err)
    assert "[REDACTED]" in err
    assert _leaks([key], {"stdout": out, "stderr": err}) == []


@pytest.mark.slow
async def test_curation_of_an_api_echoing_its_key_reports_none_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _key("rk-curate")
    monkeypatch.setenv(REST_ENV, key)
    async with recording_server(_echoing_rest()) as server:
        good = _weather_spec(server.base_url)
        denied = ApiSpec.create(
            name="get_weather_denied", description=good.description,
            parameters={**good.parameters, "properties": {"city": {
                **good.parameters["properties"]["city"], "examples": ["deny"]}}},
            source="data:weather", binding=good.binding,
        )  # fmt: skip
        settings = AccessSettings(timeout_s=2.0, allow_hosts=(f"127.0.0.1:{server.port}",))
        from executors.curation import CurationSettings

        result = await curate_sources(
            [LoadedSource("weather.jsonl", (good, denied))], CurationSettings(access=settings)
        )
    paths = write_outputs(result, tmp_path / "curated.jsonl")
    records = {r.api: r for r in result.report.records}
    assert records["data:weather:get_weather_denied"].reason == "http_error"
    files: dict[str, str | bytes] = {**_files(tmp_path)}
    assert len(files) == 3 and all(p.name in files for p in paths)
    assert _leaks([key], files) == []


def _echoing_llm(keys_seen: list[str]) -> Middleware:
    """Echo the key on every reply's headers; every 5th request is a 400 quoting it (a
    refused key, 401, stops the run: test_an_llm_endpoint_echoing_the_key_in_a_401...);
    every 3rd completion carries it inside the generated query (so it reaches the
    dataset)."""
    counter = itertools.count(1)

    @web.middleware
    async def echo(request: web.Request, handler: Handler) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        keys_seen.append(auth)
        key = auth.removeprefix("Bearer ")
        n = next(counter)
        if n % 5 == 0:
            body = {"error": {"message": f"Request refused for key {_echo(key)}"}}
            return web.json_response(body, status=400, headers=_echo_headers(key))
        response = await handler(request)
        raw = response.body if isinstance(response, web.Response) else None
        if n % 3 == 0 and isinstance(raw, bytes) and raw.startswith(b'{"id"'):
            data = orjson.loads(raw)  # a completion (not one of the simulated broken ones)
            message = data["choices"][0]["message"]
            message["content"] = message["content"].replace('"query":"', f'"query":"{key} ', 1)
            response = web.Response(body=orjson.dumps(data), content_type="application/json")
        response.headers.update(_echo_headers(key))
        return response

    return echo


@pytest.mark.slow
async def test_a_run_against_key_echoing_endpoints_leaks_the_keys_nowhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    llm_key, rest_key = _key("sk-test"), _key("rk-test")
    monkeypatch.setenv(LLM_ENV, llm_key)
    monkeypatch.setenv(REST_ENV, rest_key)
    seen: list[str] = []
    app = create_app(SimulatorConfig(seed=3, error_rate_500=0.05, error_rate_non_json=0.05))
    app.middlewares.append(_echoing_llm(seen))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    model = ModelConfig(kind="openai", name="keyed", base_url=f"http://{host}:{port}/v1",
                        model="simulated-keyed", api_key_env=LLM_ENV, timeout_s=5.0)  # fmt: skip
    metrics_port = _free_port()
    caplog.set_level(logging.DEBUG)
    try:
        async with recording_server(_echoing_rest(deny_every=4)) as api:
            apis = tmp_path / "apis.jsonl"
            ApiLibrary([_weather_spec(api.base_url)]).save(apis)
            config = PipelineConfig(
                out=tmp_path / "out", samples=30, feedback=False, generators=(model,),
                judges=(model,), partitions=2, api_sources=(str(apis),),
                allow_hosts=(f"127.0.0.1:{api.port}",),
            )  # fmt: skip
            with serve_metrics(metrics_port) as bound:
                summary = await run_pipeline(config)
                async with httpx.AsyncClient() as client:
                    exposition = (await client.get(f"http://127.0.0.1:{bound}/metrics")).text
    finally:
        await runner.cleanup()
    captured = capfd.readouterr()

    assert summary.progress.completed == 30 and summary.records > 0
    assert seen and set(seen) == {f"Bearer {llm_key}"}  # it was used, every time
    assert api.requests, "the REST API was called"
    rejected = dict(summary.progress.rejected)
    assert rejected.get(("generator", "llm_bad_request")), rejected  # the LLM 400s
    assert rejected.get(("execution", "http_error")), rejected  # the REST 401s
    assert "apigen_" in exposition
    files = _files(tmp_path / "out")
    assert any(name.startswith("log.db") for name in files)  # every topic's bytes
    assert "README.md" in files  # the card
    dataset = b"".join(data for name, data in files.items() if name.endswith(".jsonl"))
    assert b"[REDACTED]" in dataset  # the echoed keys were there, and were redacted
    texts: dict[str, str | bytes] = {**files}
    texts |= {
        "caplog": caplog.text,
        "records": "".join(f"{r.msg}{r.args}{r.exc_text or ''}" for r in caplog.records),
        "metrics": exposition,
        "stdout": captured.out,
        "stderr": captured.err,
    }
    assert _leaks([llm_key, rest_key], texts) == []


_LEAKY_MCP_SERVER = """
import os
import sys
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("leaky", version="1", log_level="WARNING")


@server.tool()
def whoami() -> dict:
    \"\"\"Tell the caller its credentials (a careless server), and on stderr.\"\"\"
    print("debug: key", os.environ["LEAKY_API_KEY"], file=sys.stderr, flush=True)
    return {"key": os.environ["LEAKY_API_KEY"], "note": "value " + os.environ["LEAKY_VALUE"]}


@server.tool()
def fail() -> str:
    \"\"\"Fail, quoting the credential.\"\"\"
    raise ToolError("refused: token " + os.environ["LEAKY_API_KEY"])


server.run("stdio")
"""


@pytest.mark.slow
async def test_an_mcp_server_quoting_its_env_secrets_leaks_none_of_them(tmp_path: Path) -> None:
    """Secret-looking names (``*_API_KEY``) are secrets by name, others by ``secret_env``;
    a name that says nothing (``LEAKY_MODE``) is not redacted."""
    from executors import McpBinding, McpExecutor, McpServerConfig

    key, value = _key("mk-mcp"), _key("mv-mcp")
    script = tmp_path / "leaky_server.py"
    script.write_text(_LEAKY_MCP_SERVER)
    config = McpServerConfig(
        sys.executable, (str(script),),
        env={"LEAKY_API_KEY": key, "LEAKY_VALUE": value, "LEAKY_MODE": "verbose"},
        secret_env=("LEAKY_VALUE",),
    )  # fmt: skip

    def spec(tool: str) -> ApiSpec:
        binding = McpBinding(server="leaky", tool=tool)
        return ApiSpec(tool, "", {"type": "object"}, binding=binding, source="mcp:leaky")

    errlog = io.StringIO()
    async with McpExecutor({"leaky": config}, timeout_s=10, errlog=errlog) as executor:
        told = await executor.execute(spec("whoami"), {})
        failed = await executor.execute(spec("fail"), {})
    assert "debug: key [REDACTED]" in errlog.getvalue()  # the server's stderr, relayed
    assert told.ok and told.result == {"key": "[REDACTED]", "note": "value [REDACTED]"}
    assert failed.reason == "function_error"
    assert failed.message.endswith("refused: token [REDACTED]")
    assert config.secrets() == [key, value]
    assert (
        _leaks([key, value], {"outcomes": repr((told, failed)), "stderr": errlog.getvalue()}) == []
    )


async def test_a_missing_key_is_a_clear_error_that_names_the_variable_not_a_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(LLM_ENV, raising=False)
    with pytest.raises(LlmError) as info:
        LlmClient(LlmEndpoint("keyed", "http://127.0.0.1:9/v1", "m", api_key_env=LLM_ENV))
    assert info.value.reason == "auth_error" and LLM_ENV in str(info.value)
