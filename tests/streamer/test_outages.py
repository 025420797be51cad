"""Failures of the infrastructure are not verdicts on the data (issue 21).

Against real local HTTP servers: one that answers 401, one that answers 500 for a while and
then recovers (by passing requests on to the simulated endpoint), and one that never
answers. The generator and the semantic stage pause through an outage and resume; a refused
credential stops the stage (and ``apigen check``, exit 3) naming the endpoint, never the
key; ``apigen check`` reports records it could not judge as ``not_judged`` (exit 4).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from streamer.check import CheckSettings, open_checker, run_check
from streamer.check._case import CheckCase
from streamer.llm import LlmClient, LlmEndpoint, LlmError, SimulatorConfig, run_simulator
from streamer.llm._outage import EndpointGate
from streamer.pipeline._model_config import ModelConfig
from streamer.runtime._runner import RunnerSettings, StageRunner
from streamer.runtime._stage import StageHalted
from streamer.stages import Generator, SemanticChecker
from streamer.stages._semantic import JudgeUnavailable
from topics import (
    Call,
    CallResult,
    ExecPass,
    Generation,
    MemoryTransport,
    Message,
    QueryStyle,
    SemanticPass,
    TopicPartition,
    encode,
)

from .factories import sample
from .http_server import serve_posts
from .llm_tools import TOOLS

pytestmark = pytest.mark.anyio

KEY = "sk-test-outage-0123456789abcdef"
KEY_ENV = "APIGEN_TEST_OUTAGE_KEY"


class Flaky:
    """A chat endpoint that answers 500 to its first ``failures`` requests, then passes
    requests on to ``upstream`` (the simulated endpoint)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests = 0
        self.upstream = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        if self.requests <= self.failures:
            return web.json_response({"error": {"message": "overloaded"}}, status=500)
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.upstream}/chat/completions", data=body) as reply,
        ):
            return web.Response(body=await reply.read(), content_type="application/json")


async def _refuse(request: web.Request) -> web.Response:
    # Echoes the key, as some endpoints do: the client must redact it.
    auth = request.headers.get("Authorization", "")
    return web.json_response({"error": {"message": f"Incorrect API key {auth}"}}, status=401)


class Silent:
    """Never answers (until the test ends)."""

    def __init__(self) -> None:
        self.requests = 0
        self.released = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        await self.released.wait()
        return web.json_response({}, status=503)


@asynccontextmanager
async def _flaky(failures: int) -> AsyncIterator[tuple[str, Flaky]]:
    flaky = Flaky(failures)
    async with run_simulator(SimulatorConfig(seed=4)) as sim:
        flaky.upstream = sim.base_url
        async with serve_posts({"/v1/chat/completions": flaky.handle}) as url:
            yield f"{url}/v1", flaky


def _endpoint(base_url: str, **kw: Any) -> LlmEndpoint:
    settings: dict[str, Any] = {
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.02,
        "timeout_s": 5.0,
    }
    return LlmEndpoint("test-llm", base_url, "simulated-test", **(settings | kw))


def _quick_gates(gates: dict[str, EndpointGate]) -> None:
    for name in gates:
        gates[name] = EndpointGate(name, first_delay_s=0.02, max_delay_s=0.05)


def _exec_pass(sid: str = "s1") -> ExecPass:
    s = sample(QueryStyle.SIMPLE, TOOLS[0], sid=sid)
    call = Call("get_weather", {"city": "Paris", "days": 3})
    return ExecPass(
        meta=s.meta.child("execution", "v"), sample=s, model="m", pair_index=0,
        query="What is the weather in Paris for the next 3 days?", calls=(call,),
        results=(CallResult(ok=True, result={"temperature_c": 21}),),
    )  # fmt: skip


async def test_a_refused_key_is_fatal_not_retried_and_names_the_endpoint_not_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    async with (
        serve_posts({"/v1/chat/completions": _refuse}) as url,
        LlmClient(_endpoint(f"{url}/v1", api_key_env=KEY_ENV)) as client,
    ):
        with pytest.raises(LlmError) as info:
            await client.complete_json([{"role": "user", "content": "hi"}], {})
    err = info.value
    assert err.fatal and not err.outage and err.attempts == 1
    assert err.endpoint == f"test-llm ({url}/v1)"
    assert KEY not in f"{err} {err!r} {err.message} {err.endpoint}"


async def test_an_unset_key_variable_names_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(LlmError) as info:
        LlmClient(_endpoint("http://user:secret@127.0.0.1:9/v1?token=t", api_key_env=KEY_ENV))
    assert info.value.fatal and KEY_ENV in info.value.message
    assert info.value.endpoint == "test-llm (http://127.0.0.1:9/v1)"  # no user:secret, no query


async def test_the_generator_pauses_through_500s_and_resumes_without_rejecting() -> None:
    async with _flaky(failures=12) as (url, flaky), LlmClient(_endpoint(url)) as client:
        gen = Generator([(client, 1.0)])
        _quick_gates(gen.gates)
        outputs: list[Any] = []

        async def one(i: int) -> None:
            outputs.extend(await gen.process(sample(QueryStyle.SIMPLE, *TOOLS[:2], sid=f"s{i}")))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for i in range(4):
                    tg.start_soon(one, i)
    assert len(outputs) == 4 and all(isinstance(o.event, Generation) for o in outputs)
    gate = gen.gates[client.name]
    assert gate.outages >= 1 and gate.probes >= 1 and not gate.closed
    # 4 calls of 3 attempts each met the outage; then only the probe asked until it ended
    assert flaky.requests <= 12 + 3 + 4, flaky.requests


async def test_the_generator_waits_on_an_endpoint_that_never_answers() -> None:
    silent = Silent()
    async with serve_posts({"/v1/chat/completions": silent.handle}) as url:
        endpoint = _endpoint(f"{url}/v1", timeout_s=0.2, max_retries=1)
        async with LlmClient(endpoint) as client:
            gen = Generator([(client, 1.0)])
            _quick_gates(gen.gates)
            with anyio.move_on_after(1.5) as waited:
                await gen.process(sample(QueryStyle.SIMPLE, *TOOLS[:2]))
            gate = gen.gates[client.name]
            assert waited.cancelled_caught, "no outcome while the endpoint is silent"
            assert gate.outages == 1 and gate.probes >= 2 and not gate.closed
        silent.released.set()
    assert silent.requests >= 4  # 2 attempts, then probes of 2 attempts each


async def test_a_refused_key_stops_the_generator_runner_and_commits_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    transport = MemoryTransport()
    await transport.create_topics(["samples", "generations", "rejects"], 1)
    async with transport.producer() as producer:
        await producer.produce(
            [Message("samples", encode(sample(QueryStyle.SIMPLE, *TOOLS[:2], sid=f"s{i}")))
             for i in range(3)]
        )  # fmt: skip
    async with (
        serve_posts({"/v1/chat/completions": _refuse}) as url,
        LlmClient(_endpoint(f"{url}/v1", api_key_env=KEY_ENV)) as client,
    ):
        runner = StageRunner(
            Generator([(client, 1.0)]), transport, settings=RunnerSettings(concurrency=2)
        )
        with anyio.fail_after(10), pytest.raises(BaseExceptionGroup) as info:
            await runner.run()
    halted, _ = info.value.split(StageHalted)
    assert halted is not None
    leaf = halted.exceptions[0]
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, StageHalted) and leaf.reason == "llm_auth_error"
    assert f"{url}/v1" in leaf.message and KEY not in str(leaf)
    async with transport.consumer(["samples"], "generator") as consumer:
        assert await consumer.committed(TopicPartition("samples", 0)) is None
    async with transport.consumer(["rejects"], "probe") as probe:
        assert await probe.poll(100, 0.1) == []  # no reject: the tasks are not at fault


async def test_the_judge_pauses_through_500s_and_passes_the_pair() -> None:
    async with _flaky(failures=5) as (url, flaky), LlmClient(_endpoint(url)) as client:
        checker = SemanticChecker([client], batch_linger_s=0)
        for batcher in checker._batchers:
            batcher.gate = EndpointGate(client.name, first_delay_s=0.02, max_delay_s=0.05)
        with anyio.fail_after(20):
            [out] = await checker.process(_exec_pass())
    assert isinstance(out.event, SemanticPass), out.event
    assert flaky.requests > 5


async def test_check_reports_a_pair_the_unavailable_judge_left_undecided() -> None:
    async with _flaky(failures=1000) as (url, _):
        judge = ModelConfig(kind="openai", base_url=url, model="simulated-j", name="j")
        settings = CheckSettings(stages=("format", "semantic"), judge=judge)
        async with open_checker(settings) as checker:
            with pytest.raises(JudgeUnavailable):
                await checker.semantic.process(_exec_pass())


def _chat_record() -> dict[str, Any]:
    return {
        "id": "weather",
        "messages": [
            {"role": "user", "content": "What is the weather in Paris for the next 3 days?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c0",
             "type": "function", "function": {"name": "get_weather",
             "arguments": '{"city": "Paris", "days": 3}'}}]},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather",
                   "description": "Current weather for a city.", "parameters": {
                   "type": "object", "properties": {"city": {"type": "string"},
                   "days": {"type": "integer"}}, "required": ["city", "days"]}}}],
    }  # fmt: skip


async def _apigen_check(data: Path, url: str, *extra: str) -> tuple[int, str, str]:
    result = await anyio.run_process(
        [
            sys.executable, "-m", "streamer", "check", str(data), "--stages", "format,semantic",
            "--judge-endpoint", url, "--judge-model", "m", "--summary-json", *extra,
        ],
        env={**os.environ, KEY_ENV: KEY},
        check=False,
    )  # fmt: skip
    return result.returncode, result.stdout.decode(), result.stderr.decode()


@pytest.mark.slow
async def test_apigen_check_stops_on_a_refused_key_and_reports_outages_apart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "chat.jsonl"
    data.write_text("\n".join(json.dumps(_chat_record() | {"id": f"r{i}"}) for i in range(3)))
    async with serve_posts({"/v1/chat/completions": _refuse}) as url:
        code, out, err = await _apigen_check(data, f"{url}/v1", "--judge-api-key-env", KEY_ENV)
    assert code == 3, (code, out, err)
    assert f"{url}/v1" in err and "refused" not in out and KEY not in out + err
    assert '"verdict":"fail"' not in out

    async with _flaky(failures=10_000) as (url, _):
        code, out, err = await _apigen_check(data, url)
    assert code == 4, (code, out, err)
    lines = [json.loads(line) for line in out.splitlines()]
    records, summary = lines[:-1], lines[-1]["summary"]
    assert [r["verdict"] for r in records] == ["not_judged"] * 3
    assert {r["reason"] for r in records} == {"judge_server_error"}
    assert (summary["not_judged"], summary["fail"], summary["pass"]) == (3, 0, 0)


async def test_run_check_lets_a_refused_key_stop_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    async with serve_posts({"/v1/chat/completions": _refuse}) as url:
        judge = ModelConfig(
            kind="openai", base_url=f"{url}/v1", model="m", name="j", api_key_env=KEY_ENV
        )
        settings = CheckSettings(stages=("format", "semantic"), judge=judge)
        async with open_checker(settings) as checker:
            item = CheckCase(
                id="x", where="t:1", query=_exec_pass().query, tools=(TOOLS[0],),
                answers=[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}],
                style=QueryStyle.SIMPLE,
            )  # fmt: skip
            emitted: list[Any] = []
            with pytest.raises(BaseExceptionGroup) as info:
                await run_check(checker, [item], emitted.append)
    assert info.value.split(StageHalted)[0] is not None and emitted == []


@pytest.mark.slow
async def test_apigen_run_stops_on_a_refused_key_with_exit_3(tmp_path: Path) -> None:
    async with serve_posts({"/v1/chat/completions": _refuse}) as url:
        result = await anyio.run_process(
            [
                sys.executable, "-m", "streamer", "run", "--endpoint", f"{url}/v1",
                "--model", "m", "--api-key-env", KEY_ENV, "--samples", "2",
                "--out", str(tmp_path / "out"),
            ],
            env={**os.environ, KEY_ENV: KEY},
            check=False,
        )  # fmt: skip
    text = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 3, text
    assert "llm_auth_error" in text and f"{url}/v1" in text and KEY not in text
