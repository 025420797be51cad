"""The client's own HTTP path (no SDK in between) against a real local aiohttp server: the
request is OpenAI chat-completions JSON, error bodies and headers are read as an SDK would,
redirects are not followed (the key must not travel), and the key never shows in errors."""

from __future__ import annotations

import json
import socket
from typing import Any

import orjson
import pytest
from aiohttp import web

from streamer.llm import LlmClient, LlmEndpoint, LlmError
from streamer.prompts import generation_schema, render_generation
from topics import QueryStyle

from .http_server import serve_posts
from .llm_tools import TOOLS

pytestmark = pytest.mark.anyio

MESSAGES = render_generation(TOOLS[:1], [], QueryStyle.SIMPLE, 1)
SCHEMA = generation_schema(TOOLS[:1], QueryStyle.SIMPLE, 1)
KEY_ENV = "APIGEN_TEST_HTTP_KEY"


def _completion(content: str) -> web.Response:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "model": "served-model",
        "choices": [
            {"index": 0, "finish_reason": "length", "message": {"role": "assistant",
                                                              "content": content}}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }  # fmt: skip
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _endpoint(base_url: str, **kw: Any) -> LlmEndpoint:
    settings: dict[str, Any] = {"backoff_base_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 5.0}
    settings.update(kw)
    return LlmEndpoint("local", base_url, "asked-model", **settings)


async def test_request_is_chat_completions_json_and_reply_is_parsed() -> None:
    seen: list[tuple[dict[str, str], Any]] = []

    async def chat(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), orjson.loads(await request.read())))
        return _completion('{"pairs": []}')

    async with (
        serve_posts({"/v1/chat/completions": chat}) as url,
        LlmClient(_endpoint(f"{url}/v1/")) as client,
    ):
        completion = await client.complete_json(
            MESSAGES, SCHEMA, temperature=0.25, max_tokens=99, seed=42
        )
    headers, body = seen[0]
    assert "Authorization" not in headers  # no key configured: no placeholder key either
    assert headers["Content-Type"] == "application/json"
    assert body["model"] == "asked-model" and body["messages"] == MESSAGES
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.25, 99, 42)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert completion.parsed == {"pairs": []} and completion.model == "served-model"
    assert completion.finish_reason == "length"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 7)


async def test_json_object_mode_puts_the_schema_in_the_system_prompt() -> None:
    bodies: list[Any] = []

    async def chat(request: web.Request) -> web.Response:
        bodies.append(orjson.loads(await request.read()))
        return _completion("{}")

    async with (
        serve_posts({"/v1/chat/completions": chat}) as url,
        LlmClient(_endpoint(f"{url}/v1", supports_json_schema=False)) as client,
    ):
        await client.complete_json(MESSAGES, SCHEMA)
    body = bodies[0]
    assert body["response_format"] == {"type": "json_object"} and "seed" not in body
    system = body["messages"][0]
    assert system["role"] == "system" and orjson.dumps(SCHEMA).decode() in system["content"]


async def test_redirects_are_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-redirect-secret")
    hits: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere/chat/completions")

    async def elsewhere(request: web.Request) -> web.Response:
        hits.append(request.headers.get("Authorization", ""))
        return _completion("{}")

    routes = {"/v1/chat/completions": moved, "/elsewhere/chat/completions": elsewhere}
    async with (
        serve_posts(routes) as url,
        LlmClient(_endpoint(f"{url}/v1", api_key_env=KEY_ENV)) as client,
    ):
        with pytest.raises(LlmError) as info:
            await client.complete_json(MESSAGES, SCHEMA)
    assert info.value.reason == "bad_request" and info.value.status == 307
    assert hits == []


async def test_error_body_message_and_lowercase_retry_after() -> None:
    calls = 0

    async def busy(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        body = {"error": {"message": "engine overloaded", "type": "server_error"}}
        return web.Response(
            body=orjson.dumps(body), status=503, headers={"retry-after": "0.05"},
            content_type="application/json",
        )  # fmt: skip

    async with (
        serve_posts({"/v1/chat/completions": busy}) as url,
        LlmClient(_endpoint(f"{url}/v1", max_retries=1)) as client,
    ):
        with pytest.raises(LlmError) as info:
            await client.complete_json(MESSAGES, SCHEMA)
    err = info.value
    assert (err.reason, err.status, err.attempts, calls) == ("server_error", 503, 2, 2)
    assert err.message == "HTTP 503: engine overloaded" and err.retry_after == 0.05
    assert client.stats.retry_wait_s >= 0.05


async def test_non_json_error_body_is_quoted_and_not_retried() -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.Response(text="<html>no such model</html>", status=404)

    async with (
        serve_posts({"/v1/chat/completions": gone}) as url,
        LlmClient(_endpoint(f"{url}/v1")) as client,
    ):
        with pytest.raises(LlmError) as info:
            await client.complete_json(MESSAGES, SCHEMA)
    assert info.value.reason == "bad_request" and info.value.attempts == 1
    assert info.value.message == "HTTP 404: <html>no such model</html>"


async def test_format_fallback_reads_the_error_body() -> None:
    formats: list[str | None] = []

    async def chat(request: web.Request) -> web.Response:
        fmt = (orjson.loads(await request.read()).get("response_format") or {}).get("type")
        formats.append(fmt)
        if fmt == "json_schema":
            error = {"error": {"message": "response_format json_schema is not supported"}}
            return web.Response(body=orjson.dumps(error), status=422)
        return _completion("{}")

    async with (
        serve_posts({"/v1/chat/completions": chat}) as url,
        LlmClient(_endpoint(f"{url}/v1")) as client,
    ):
        completion = await client.complete_json(MESSAGES, SCHEMA)
    assert formats == ["json_schema", "json_object"] and completion.mode == "json_object"


async def test_connection_failure_names_the_problem_not_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-connection-secret-0123456789"
    monkeypatch.setenv(KEY_ENV, secret)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    endpoint = _endpoint(f"http://127.0.0.1:{port}/v1", api_key_env=KEY_ENV, max_retries=0)
    async with LlmClient(endpoint) as client:
        with pytest.raises(LlmError) as info:
            await client.complete_json(MESSAGES, SCHEMA)
    err = info.value
    assert err.reason == "connection_error" and str(port) in err.message
    assert secret not in f"{err} {err!r} {err.message} {client!r}"


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 2**70, "completion_tokens": 2**64},
        {"prompt_tokens": -5, "completion_tokens": "many"},
        {"prompt_tokens": True, "completion_tokens": [1]},
        "not an object",
        None,
    ],
)
async def test_a_hostile_usage_field_is_taken_as_not_reported(usage: Any) -> None:
    """Usage is the endpoint's word: a count past MAX_REPORTED_TOKENS, negative or not a
    number is 0, and the answer itself is kept (a run once died at its end writing 2**70
    tokens into the usage table)."""

    async def chat(request: web.Request) -> web.Response:
        reply = orjson.loads(_completion('{"pairs": []}').body)  # type: ignore[arg-type]
        reply["usage"] = usage
        # json, not orjson: orjson refuses integers past 64 bits, which is the point here
        return web.Response(text=json.dumps(reply), content_type="application/json")

    async with (
        serve_posts({"/v1/chat/completions": chat}) as url,
        LlmClient(_endpoint(f"{url}/v1/", tokens_per_minute=1e6)) as client,
    ):
        completion = await client.complete_json(MESSAGES, SCHEMA)
    assert completion.parsed == {"pairs": []}
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (0, 0)
    assert client.stats.prompt_tokens == client.stats.completion_tokens == 0
