"""LlmClient against the simulated endpoint over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2
import pytest

import streamer.llm
import streamer.prompts
from streamer.llm import (
    LlmClient,
    LlmEndpoint,
    LlmError,
    RunningSimulator,
    SimulatorConfig,
    run_simulator,
)
from streamer.llm._client import _retry_after_s
from streamer.prompts import generation_schema, render_generation
from topics import QueryStyle

from .llm_tools import TOOLS

pytestmark = pytest.mark.anyio

MESSAGES = render_generation(TOOLS[:2], [], QueryStyle.SIMPLE, 1)
SCHEMA = generation_schema(TOOLS[:2], QueryStyle.SIMPLE, 1)


def _endpoint(sim: RunningSimulator, **kw: Any) -> LlmEndpoint:
    settings: dict[str, Any] = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5.0}
    settings.update(kw)
    return LlmEndpoint("sim", sim.base_url, "simulated-test", **settings)


def _messages(i: int) -> list[streamer.prompts.ChatMessage]:
    """Distinct prompts (the simulator draws per distinct prompt)."""
    msgs = render_generation(TOOLS[:2], [], QueryStyle.SIMPLE, 1)
    msgs[0]["content"] += f" Request {i}."
    return msgs


async def _many(client: LlmClient, n: int) -> list[streamer.llm.Completion]:
    out: list[streamer.llm.Completion] = []

    async def one(i: int) -> None:
        out.append(await client.complete_json(_messages(i), SCHEMA, max_tokens=64))

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return out


def test_exported_members() -> None:
    assert set(streamer.llm.__all__) == {
        "CORRUPTIONS", "REASONS", "SIMULATED_EXEC_FAILURE", "ChatModel", "Completion",
        "Latency", "LlmClient", "LlmEndpoint", "LlmError", "LlmReason", "LlmStats",
        "LocalModel", "OutputMode", "RunningSimulator", "SimulatorConfig", "SimulatorStats",
        "create_app", "default_model_path", "parse_json_content", "run_simulator",
    }  # fmt: skip
    assert set(streamer.prompts.__all__) == {
        "GENERATOR", "JUDGE", "STYLE_GUIDE", "ChatMessage", "JudgeItem", "PromptTemplate",
        "extract_block", "generation_schema", "json_block", "judge_schema", "openai_tool",
        "render_generation", "render_judge",
        # prompt variants: full and compact (local model), judge prompts by name or file
        "COMPACT_GENERATION", "COMPACT_JUDGING", "FULL_GENERATION", "FULL_JUDGING",
        "GENERATOR_COMPACT", "JUDGE_COMPACT", "JUDGE_PROMPTS", "GenerationPrompt",
        "JudgePrompt", "PromptFileError", "compact_generation_schema", "compact_judge_schema",
        "compact_tool", "judge_prompt_from_file", "named_judge_prompt",
        "render_compact_generation", "render_compact_judge",
        # the full generator's templates, one drawn per task
        "FULL_GENERATIONS", "GENERATOR_PERSONA", "GENERATOR_SCENARIO", "GENERATOR_TEMPLATES",
        "STYLE_TEMPLATES", "generator_template",
    }  # fmt: skip
    for name in (*streamer.llm.__all__, *streamer.prompts.__all__):
        assert hasattr(streamer.llm, name) or hasattr(streamer.prompts, name)


async def test_completion_parses_and_accounts() -> None:
    async with (
        run_simulator(SimulatorConfig(seed=3)) as sim,
        LlmClient(_endpoint(sim, price_input_per_mtok=1.0, price_output_per_mtok=2.0)) as client,
    ):
        c = await client.complete_json(MESSAGES, SCHEMA, max_tokens=64)
    assert c.parsed is not None and len(c.parsed["pairs"]) == 1
    assert c.model.startswith("simulated-")
    assert c.mode == "json_schema" and c.attempts == 1 and c.finish_reason == "stop"
    assert c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0
    expected = (c.usage.prompt_tokens * 1.0 + c.usage.completion_tokens * 2.0) / 1e6
    assert c.cost_usd == pytest.approx(expected)
    s = client.stats
    assert (s.calls, s.requests, s.retries) == (1, 1, 0)
    assert s.prompt_tokens == c.usage.prompt_tokens and s.cost_usd == pytest.approx(expected)


async def test_request_rate_limit_is_respected() -> None:
    async with (
        run_simulator(SimulatorConfig()) as sim,
        LlmClient(_endpoint(sim, requests_per_minute=600, max_concurrency=50)) as c,
    ):
        started = time.perf_counter()
        await _many(c, 30)
        elapsed = time.perf_counter() - started
    # A bucket of one second's worth (10) bursts; the other 20 leak at 10/s.
    assert elapsed >= 1.9
    assert c.stats.rate_limit_wait_s > 0


async def test_token_rate_limit_is_respected() -> None:
    # 60000 tokens/min = 1000/s with a 1 s bucket of 1000; each call uses ~550.
    async with (
        run_simulator(SimulatorConfig()) as sim,
        LlmClient(_endpoint(sim, tokens_per_minute=60000, token_window_s=1.0)) as c,
    ):
        started = time.perf_counter()
        await _many(c, 6)
        elapsed = time.perf_counter() - started
    used = c.stats.prompt_tokens + c.stats.completion_tokens
    assert used > 3000
    # All but the last call's overrun must have leaked out of the bucket.
    assert elapsed >= (used - 1000 - 600) / 1000


async def test_429_with_retry_after_is_retried() -> None:
    config = SimulatorConfig(seed=5, error_rate_429=0.4, retry_after_s=0.2)
    async with run_simulator(config) as sim, LlmClient(_endpoint(sim, max_retries=10)) as c:
        started = time.perf_counter()
        results = await _many(c, 12)
        elapsed = time.perf_counter() - started
    assert len(results) == 12
    assert sim.stats.outcomes["rate_limited"] > 0
    assert c.stats.retries == sim.stats.outcomes["rate_limited"]
    assert c.stats.attempt_errors["rate_limited"] == c.stats.retries
    assert c.stats.retry_wait_s >= 0.2 * c.stats.retries - 1e-9
    assert elapsed >= 0.2


async def test_500s_are_retried() -> None:
    async with (
        run_simulator(SimulatorConfig(seed=2, error_rate_500=0.3)) as sim,
        LlmClient(_endpoint(sim, max_retries=10)) as c,
    ):
        results = await _many(c, 20)
    assert len(results) == 20 and all(r.parsed is not None for r in results)
    assert c.stats.retries == sim.stats.outcomes["server_error"] > 0


async def test_retries_are_bounded() -> None:
    async with (
        run_simulator(SimulatorConfig(error_rate_429=1.0, retry_after_s=0.01)) as sim,
        LlmClient(_endpoint(sim, max_retries=2)) as c,
    ):
        with pytest.raises(LlmError) as info:
            await c.complete_json(MESSAGES, SCHEMA)
    assert info.value.reason == "rate_limited" and info.value.status == 429
    assert info.value.attempts == 3 and sim.stats.requests == 3
    assert c.stats.failures == {"rate_limited": 1}


async def test_retry_after_beyond_bound_fails_at_once() -> None:
    config = SimulatorConfig(error_rate_429=1.0, retry_after_s=500)
    async with run_simulator(config) as sim, LlmClient(_endpoint(sim)) as c:
        with pytest.raises(LlmError) as info:
            await c.complete_json(MESSAGES, SCHEMA)
    assert info.value.reason == "rate_limited" and info.value.attempts == 1
    assert info.value.retry_after == 500


async def test_timeout_becomes_typed_failure() -> None:
    config = SimulatorConfig(error_rate_timeout=1.0, hang_s=30)
    async with (
        run_simulator(config) as sim,
        LlmClient(_endpoint(sim, timeout_s=0.3, max_retries=1)) as c,
    ):
        started = time.perf_counter()
        with pytest.raises(LlmError) as info:
            await c.complete_json(MESSAGES, SCHEMA)
        assert time.perf_counter() - started < 5
    assert info.value.reason == "timeout" and info.value.attempts == 2


@pytest.mark.parametrize("fault", ["error_rate_truncated", "error_rate_non_json"])
async def test_garbage_bodies_are_bad_responses(fault: str) -> None:
    config = SimulatorConfig(**{fault: 1.0})  # type: ignore[arg-type]
    async with run_simulator(config) as sim, LlmClient(_endpoint(sim)) as c:
        with pytest.raises(LlmError) as info:
            await c.complete_json(MESSAGES, SCHEMA)
    assert info.value.reason == "bad_response"
    assert c.stats.failures == {"bad_response": 1}


async def test_invalid_json_content_is_not_an_error() -> None:
    config = SimulatorConfig(corruption={"invalid_json": 1.0})
    async with run_simulator(config) as sim, LlmClient(_endpoint(sim)) as c:
        completion = await c.complete_json(MESSAGES, SCHEMA)
    assert completion.parsed is None and completion.text
    assert sim.stats.corruptions["invalid_json"] == 1


async def test_connection_error_after_retries() -> None:
    with anyio.fail_after(10):
        async with run_simulator() as sim:
            base_url = sim.base_url  # the port is free again once the block ends
        endpoint = LlmEndpoint("gone", base_url, "simulated-x", max_retries=1, backoff_base_s=0.01)
        async with LlmClient(endpoint) as c:
            with pytest.raises(LlmError) as info:
                await c.complete_json(MESSAGES, SCHEMA)
    assert info.value.reason == "connection_error" and info.value.attempts == 2


async def test_json_schema_falls_back_to_json_object_then_prompt() -> None:
    async with run_simulator(SimulatorConfig(accept_json_schema=False)) as sim:
        async with LlmClient(_endpoint(sim)) as c:
            first = await c.complete_json(MESSAGES, SCHEMA)
            second = await c.complete_json(MESSAGES, SCHEMA)
        assert (first.mode, second.mode, c.mode) == ("json_object", "json_object", "json_object")
        assert c.stats.format_fallbacks == 1 and c.stats.failures == {}
        assert first.parsed is not None
    config = SimulatorConfig(accept_json_schema=False, accept_json_object=False)
    async with run_simulator(config) as sim, LlmClient(_endpoint(sim)) as c:
        completion = await c.complete_json(MESSAGES, SCHEMA)
    assert completion.mode == "prompt" and completion.parsed is not None
    assert c.stats.format_fallbacks == 2


async def test_pinned_json_schema_does_not_fall_back() -> None:
    async with (
        run_simulator(SimulatorConfig(accept_json_schema=False)) as sim,
        LlmClient(_endpoint(sim, supports_json_schema=True)) as c,
    ):
        with pytest.raises(LlmError) as info:
            await c.complete_json(MESSAGES, SCHEMA)
    assert info.value.reason == "bad_request"


async def test_bad_request_is_not_retried() -> None:
    async with run_simulator() as sim, LlmClient(_endpoint(sim)) as c:
        with pytest.raises(LlmError) as info:
            await c.complete_json([{"role": "user", "content": "hello"}], SCHEMA)
    assert info.value.reason == "bad_request" and info.value.status == 400
    assert sim.stats.requests == 1


async def test_key_comes_from_env_and_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIGEN_TEST_KEY", raising=False)
    endpoint = LlmEndpoint("x", "http://127.0.0.1:9/v1", "m", api_key_env="APIGEN_TEST_KEY")
    with pytest.raises(LlmError) as info:
        LlmClient(endpoint)
    assert info.value.reason == "auth_error" and "APIGEN_TEST_KEY" in info.value.message
    monkeypatch.setenv("APIGEN_TEST_KEY", "sk-very-secret")
    async with LlmClient(endpoint) as client:
        assert "sk-very-secret" not in repr(client) + repr(endpoint) + repr(client.stats)
        assert "in_flight=0/16" in repr(client)


async def test_injected_http_client_is_used_and_not_closed() -> None:
    async with run_simulator() as sim, httpx2.AsyncClient(timeout=5) as http:
        async with LlmClient(_endpoint(sim), http_client=http) as c:
            assert (await c.complete_json(MESSAGES, SCHEMA)).parsed is not None
        assert not http.is_closed


def test_retry_after_parsing() -> None:
    assert _retry_after_s(httpx2.Headers({"retry-after": "2"})) == 2.0
    assert _retry_after_s(httpx2.Headers({"retry-after-ms": "150"})) == 0.15
    assert _retry_after_s(httpx2.Headers({"retry-after": "soon"})) is None
    date = httpx2.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert _retry_after_s(date) == 0.0
    assert _retry_after_s(httpx2.Headers()) is None
