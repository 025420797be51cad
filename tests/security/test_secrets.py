"""A secret in the environment (an LLM API key through ``api_key_env``) never appears in a
log line at DEBUG, in any topic's bytes, in the dataset files, or in the ``/metrics``
exposition — while the endpoint is really called with it."""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from streamer._config import ModelConfig, PipelineConfig
from streamer._metrics import serve_metrics
from streamer._pipeline import run_pipeline
from streamer.llm import LlmClient, LlmEndpoint, LlmError, SimulatorConfig, create_app

ENV = "APIGEN_TEST_SECRET_KEY"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_api_key_reaches_the_endpoint_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"sk-test-{secrets.token_hex(16)}"
    monkeypatch.setenv(ENV, secret)
    seen: list[str] = []

    @web.middleware
    async def record_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request.headers.get("Authorization", ""))
        response: web.StreamResponse = await handler(request)
        return response

    app = create_app(SimulatorConfig(seed=3, error_rate_500=0.05, error_rate_non_json=0.05))
    app.middlewares.append(record_auth)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base_url = f"http://{host}:{port}/v1"
    model = ModelConfig(kind="openai", name="keyed", base_url=base_url, model="simulated-keyed",
                        api_key_env=ENV, timeout_s=5.0)  # fmt: skip
    config = PipelineConfig(out=tmp_path / "out", samples=40, feedback=False,
                            generators=(model,), judges=(model,), partitions=2)  # fmt: skip
    metrics_port = _free_port()
    caplog.set_level(logging.DEBUG)
    try:
        with serve_metrics(metrics_port) as bound:
            summary = await run_pipeline(config)
            async with httpx.AsyncClient() as client:
                exposition = (await client.get(f"http://127.0.0.1:{bound}/metrics")).text
    finally:
        await runner.cleanup()

    assert summary.progress.completed == 40 and summary.records > 0
    assert seen and set(seen) == {f"Bearer {secret}"}  # it was used, every time
    assert "apigen_" in exposition
    lines = [caplog.text, *(r.getMessage() for r in caplog.records)]
    lines += [str(r.args) for r in caplog.records]
    assert not [line for line in lines if secret in line]
    assert secret not in exposition
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name.startswith("log.db") for p in files)  # every topic's bytes
    assert any(p.suffix == ".jsonl" for p in files)
    leaks = [p.name for p in files if secret.encode() in p.read_bytes()]
    assert leaks == []
    for token in (secret[8:24], secret[-16:]):  # no partial copy either
        assert not [p.name for p in files if token.encode() in p.read_bytes()]


@pytest.mark.anyio
async def test_a_missing_key_is_a_clear_error_that_names_the_variable_not_a_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(LlmError) as info:
        LlmClient(LlmEndpoint("keyed", "http://127.0.0.1:9/v1", "m", api_key_env=ENV))
    assert info.value.reason == "auth_error" and ENV in str(info.value)
