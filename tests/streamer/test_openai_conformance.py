"""The LLM client speaks OpenAI chat completions as the official ``openai`` SDK defines them.

The client posts JSON itself (the SDK cost ~2 ms of CPU per request, see
``streamer/llm/_http.py``), so the SDK's own types are the reference here: every request
body the client sends validates against ``CompletionCreateParamsNonStreaming``, replies the
SDK's ``ChatCompletion`` model produces parse, and the simulated endpoint serves the SDK's
client. Real local HTTP servers throughout."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
from aiohttp import web
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter

from streamer.llm import LlmClient, LlmEndpoint, SimulatorConfig, run_simulator
from streamer.prompts import generation_schema, render_generation
from topics import QueryStyle

from .http_server import Handler, serve_posts
from .llm_tools import TOOLS

pytestmark = pytest.mark.anyio

MESSAGES = render_generation(TOOLS[:2], [], QueryStyle.MULTIPLE, 2)
SCHEMA = generation_schema(TOOLS[:2], QueryStyle.MULTIPLE, 2)
REQUEST = TypeAdapter(CompletionCreateParamsNonStreaming)
MESSAGE = TypeAdapter(ChatCompletionMessageParam)
REQUEST_KEYS = (
    CompletionCreateParamsNonStreaming.__required_keys__
    | CompletionCreateParamsNonStreaming.__optional_keys__
)


def _check_request(body: dict[str, Any]) -> None:
    """Raise unless the SDK could have sent ``body``: known keys only, each value of the
    declared type (messages one by one: pydantic checks an ``Iterable`` field lazily)."""
    assert set(body) <= REQUEST_KEYS, set(body) - REQUEST_KEYS
    REQUEST.validate_python(body)
    for message in body["messages"]:
        MESSAGE.validate_python(message)


def _sdk_reply(content: str) -> bytes:
    """A reply as the SDK's own model serializes it, with the optional fields real servers
    send (system_fingerprint, refusal, logprobs, usage details)."""
    reply = ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "served-model",
            "system_fingerprint": "fp_1",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                }
            ],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 30,
                "total_tokens": 150,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }
    )
    return reply.model_dump_json().encode()


def _recording(bodies: list[Any], content: str) -> Handler:
    """A chat-completions handler that records each request body and answers ``content``."""

    async def chat(request: web.Request) -> web.Response:
        bodies.append(orjson.loads(await request.read()))
        return web.Response(body=_sdk_reply(content), content_type="application/json")

    return chat


@pytest.mark.parametrize("json_schema", [True, False])
async def test_request_bodies_validate_against_the_sdk_params_and_sdk_replies_parse(
    json_schema: bool,
) -> None:
    bodies: list[Any] = []
    pairs = {"pairs": [{"query": "Weather in Paris?", "answers": []}]}
    chat = _recording(bodies, orjson.dumps(pairs).decode())
    async with serve_posts({"/v1/chat/completions": chat}) as base:
        endpoint = LlmEndpoint(
            "local", f"{base}/v1", "asked-model", supports_json_schema=json_schema
        )
        async with LlmClient(endpoint) as client:
            completion = await client.complete_json(MESSAGES, SCHEMA, max_tokens=64, seed=3)
    (body,) = bodies
    _check_request(body)
    assert body["response_format"]["type"] == ("json_schema" if json_schema else "json_object")
    assert completion.parsed == pairs and completion.model == "served-model"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (120, 30)


def test_the_request_check_rejects_what_the_sdk_would_not_send() -> None:
    good = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    _check_request(good)
    for bad in (
        {**good, "messages": [{"role": "robot", "content": "hi"}]},
        {**good, "response_format": {"type": "json_schema"}},
        {**good, "max_token": 5},
    ):
        with pytest.raises((AssertionError, ValueError)):
            _check_request(bad)


async def test_the_simulated_endpoint_serves_the_official_sdk_client() -> None:
    async with run_simulator(SimulatorConfig(seed=4)) as sim:
        sdk = openai.AsyncOpenAI(base_url=sim.base_url, api_key="unused", max_retries=0)
        try:
            request: dict[str, Any] = {
                "model": sim.config.model,
                "messages": MESSAGES,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": SCHEMA},
                },
                "max_tokens": 512,
                "seed": 11,
            }
            reply = await sdk.chat.completions.create(**request)
        finally:
            await sdk.close()
    content = reply.choices[0].message.content
    assert content is not None and reply.usage is not None and reply.usage.total_tokens > 0
    pairs = orjson.loads(content)["pairs"]
    offered = {t.name for t in TOOLS[:2]}
    assert len(pairs) == 2
    assert all(call["name"] in offered for pair in pairs for call in pair["answers"])
