"""A SIMULATED OpenAI-compatible chat endpoint for tests and benchmarks — not a model.

It reads the project's prompts back (the ``<tools>``, ``<style>`` and ``<pairs>`` blocks
of the generator prompt, the ``<samples>`` block of the judge prompt) and answers with
schema-valid pairs or rule-based verdicts, plus faults on demand: latency, 429s with
``Retry-After``, 500s, hangs past the client's timeout, truncated and non-JSON bodies,
endpoints that reject ``response_format``, and corruptions (per pair, per response, per
judged sample) whose counts ``GET /stats`` reports, with the reject counts per stage and
reason they must cause (``expected_rejects``), so tests can compare them with a run's.

Everything is labelled: model names start with ``simulated-``, every response carries
``x-simulated: true``, and every verdict's reasoning begins with
:data:`~streamer.llm._simdata.SIMULATED_JUDGE` ("[simulated judge: a rule-based test
double, ...]"), so a verdict that reaches a dataset or a report is never mistaken for a
judgement. The verdicts ground argument values the way the semantic rules do
(:mod:`streamer.grounding._grounding`: "$200,000" states 200000).

Reproducibility: each request draws its *answer* from an RNG seeded by (seed, the request's
``seed``, a hash of the messages) — without a request ``seed``, also how many times those
messages were seen before — and its *latency and fault* from an RNG seeded by (seed, the
request's ``seed``, the messages, the attempt: how many times this same request came before).
So the same requests give the same answers whatever order concurrent clients send them in,
and a retry of a faulted request meets a fault of its own, drawn afresh at the configured
rates, while a retry that succeeds gets the answer the first attempt would have had.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import orjson
from aiohttp import web

from executors._virtual_prompt import reference_reply
from topics import QueryStyle

from ..prompts import extract_block
from ._simdata import (
    CORRUPTIONS,
    PAIR_CORRUPTIONS,
    expected_rejects,
    generate_pairs,
    judge_samples,
    write_api_doc,
)
from ._simforeign import answer_distilabel
from ._simroles import answer_role, role_corruptions, role_expected_rejects

__all__ = [
    "Latency",
    "RunningSimulator",
    "SimulatorConfig",
    "SimulatorStats",
    "create_app",
    "run_simulator",
]

SEEN_CAP = 1_000_000
"""How many distinct prompts the occurrence counter remembers before it starts over."""


@dataclass(frozen=True, slots=True)
class Latency:
    """Simulated response latency in milliseconds.

    ``fixed``: always ``ms``; ``uniform``: between ``ms`` and ``max_ms``; ``lognormal``:
    median ``ms`` with shape ``sigma``. :meth:`parse` reads ``"50"``, ``"fixed:50"``,
    ``"uniform:10:200"`` or ``"lognormal:80:0.6"``.
    """

    kind: Literal["fixed", "uniform", "lognormal"] = "fixed"
    ms: float = 0.0
    max_ms: float = 0.0
    sigma: float = 0.5

    @classmethod
    def parse(cls, text: str) -> Latency:
        parts = text.split(":")
        try:
            if len(parts) == 1:
                return cls("fixed", float(parts[0]))
            if parts[0] == "fixed" and len(parts) == 2:
                return cls("fixed", float(parts[1]))
            if parts[0] == "uniform" and len(parts) == 3:
                return cls("uniform", float(parts[1]), float(parts[2]))
            if parts[0] == "lognormal" and len(parts) == 3:
                return cls("lognormal", float(parts[1]), sigma=float(parts[2]))
        except ValueError:
            pass
        raise ValueError(
            f"bad latency {text!r}: expected MS, fixed:MS, uniform:MIN:MAX"
            " or lognormal:MEDIAN:SIGMA"
        )

    def sample_s(self, rng: random.Random) -> float:
        if self.kind == "uniform":
            ms = rng.uniform(self.ms, max(self.ms, self.max_ms))
        elif self.kind == "lognormal":
            ms = rng.lognormvariate(math.log(self.ms), self.sigma) if self.ms > 0 else 0.0
        else:
            ms = self.ms
        return ms / 1000


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How the simulated endpoint behaves. Rates are probabilities per request (errors) or
    per pair (corruptions, except ``invalid_json``: per response, and ``judge_reject``: per
    judged sample); error rates and the per-pair corruption rates each must sum to at most 1.

    ``exec_failures`` maps function names to argument values their executor rejects at run
    time (for the built-ins: ``executors.builtin.failing_arguments()``); when given,
    ``exec_failure`` corrupts only calls of listed functions, with those values.

    Usage::

        SimulatorConfig(
            seed=7,
            latency=Latency("lognormal", 80, sigma=0.5),
            error_rate_429=0.05, retry_after_s=0.5,
            corruption={"wrong_type": 0.1, "query_mismatch": 0.05},
        )
    """

    seed: int = 0
    model: str = "simulated-apigen"
    latency: Latency = field(default_factory=Latency)
    max_concurrency: int = 0
    error_rate_429: float = 0.0
    retry_after_s: float = 1.0
    error_rate_500: float = 0.0
    error_rate_timeout: float = 0.0
    hang_s: float = 600.0
    error_rate_truncated: float = 0.0
    error_rate_non_json: float = 0.0
    corruption: Mapping[str, float] = field(default_factory=dict)
    exec_failures: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    accept_json_schema: bool = True
    accept_json_object: bool = True

    def __post_init__(self) -> None:
        if not self.model.startswith("simulated-"):
            raise ValueError(f"simulated model names must start with 'simulated-': {self.model!r}")
        known = (*CORRUPTIONS, *role_corruptions())
        unknown = set(self.corruption) - set(known)
        if unknown:
            raise ValueError(f"unknown corruption kinds {sorted(unknown)}; known: {known}")
        rates = [
            self.error_rate_429,
            self.error_rate_500,
            self.error_rate_timeout,
            self.error_rate_truncated,
            self.error_rate_non_json,
            *self.corruption.values(),
        ]
        if any(not 0 <= r <= 1 for r in rates):
            raise ValueError("rates must be between 0 and 1")
        if sum(rates[:5]) > 1:
            raise ValueError("error rates sum to more than 1")
        if sum(r for k, r in self.corruption.items() if k in PAIR_CORRUPTIONS) > 1:
            raise ValueError("per-pair corruption rates sum to more than 1")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimulatorConfig:
        """From a config file's mapping; ``latency`` may be a string for :meth:`Latency.parse`
        or a mapping of its fields."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown simulator settings {sorted(unknown)}")
        values = dict(data)
        latency = values.get("latency")
        if isinstance(latency, str | int | float):
            values["latency"] = Latency.parse(str(latency))
        elif isinstance(latency, Mapping):
            values["latency"] = Latency(**latency)
        return cls(**values)


@dataclass(slots=True)
class SimulatorStats:
    """What the simulator did, for ``GET /stats`` and tests (``corruptions`` by kind)."""

    requests: int = 0
    generation_requests: int = 0
    judge_requests: int = 0
    pairs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    corruptions: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "simulated": True,
            "requests": self.requests,
            "generation_requests": self.generation_requests,
            "judge_requests": self.judge_requests,
            "pairs": self.pairs,
            "outcomes": dict(self.outcomes),
            "corruptions": {
                k: self.corruptions.get(k, 0) for k in (*CORRUPTIONS, *role_corruptions())
            },
            "expected_rejects": {
                f"{stage}/{reason}": n for (stage, reason), n in self.expected_rejects().items()
            },
            "verdicts": dict(self.verdicts),
            "in_flight": self.in_flight,
        }

    def expected_rejects(self) -> Counter[tuple[str, str]]:
        """Reject counts per ``(stage, reason)`` the injected corruptions must cause."""
        multi_turn = role_corruptions()
        single = Counter({k: n for k, n in self.corruptions.items() if k not in multi_turn})
        return expected_rejects(single) + role_expected_rejects(self.corruptions)


CONFIG_KEY = web.AppKey("config", SimulatorConfig)
STATS_KEY = web.AppKey("stats", SimulatorStats)


def _error(status: int, message: str, kind: str, **headers: str) -> web.Response:
    body = {"error": {"message": f"(simulated) {message}", "type": kind, "code": None}}
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


class _Handler:
    def __init__(self, config: SimulatorConfig, stats: SimulatorStats) -> None:
        self.config = config
        self.stats = stats
        self.seen: dict[bytes, int] = {}
        self.slots = asyncio.Semaphore(config.max_concurrency) if config.max_concurrency else None
        c = config
        self.thresholds = [
            (c.error_rate_429, "rate_limited"),
            (c.error_rate_500, "server_error"),
            (c.error_rate_timeout, "timeout"),
            (c.error_rate_truncated, "truncated"),
            (c.error_rate_non_json, "non_json"),
        ]

    def _digest(self, messages: list[Any], seed: int | None) -> bytes:
        h = hashlib.blake2b(f"{seed}".encode(), digest_size=16)
        for m in messages:
            content = m.get("content") if isinstance(m, dict) else None
            h.update(str(content).encode())
            h.update(b"\x00")
        return h.digest()

    def _attempt(self, digest: bytes) -> int:
        """How many times this same request came before (0 on the first attempt)."""
        if len(self.seen) >= SEEN_CAP:
            self.seen.clear()
        attempt = self.seen.get(digest, 0)
        self.seen[digest] = attempt + 1
        return attempt

    def _draw(self, *parts: object) -> random.Random:
        key = ":".join(str(p) for p in (self.config.seed, *parts)).encode()
        return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))

    def _seeded(self, messages: list[Any], seed: int) -> random.Random:
        """A request's own ``seed``: the answer depends on it and the prompt, not on order."""
        h = hashlib.blake2b(f"{self.config.seed}:{seed}".encode(), digest_size=8)
        for m in messages:
            content = m.get("content") if isinstance(m, dict) else None
            h.update(str(content).encode())
        return random.Random(int.from_bytes(h.digest(), "big"))

    def _rngs(self, messages: list[Any], seed: object) -> tuple[random.Random, random.Random]:
        """(answer RNG, fault RNG) of one request; see the module's reproducibility note."""
        request_seed = seed if isinstance(seed, int) else None
        digest = self._digest(messages, request_seed)
        attempt = self._attempt(digest)
        faults = self._draw("fault", attempt, digest.hex())
        if request_seed is not None:
            return self._seeded(messages, request_seed), faults
        return self._draw(attempt, digest.hex()), faults

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        try:
            body = orjson.loads(await request.read())
            messages = body["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return self._count(
                _error(400, "expected a JSON body with messages", "invalid_request_error"),
                "bad_request",
            )
        fmt = (body.get("response_format") or {}).get("type")
        if (fmt == "json_schema" and not self.config.accept_json_schema) or (
            fmt == "json_object" and not self.config.accept_json_object
        ):
            return self._count(
                _error(
                    400,
                    f"Invalid parameter: 'response_format' of type '{fmt}' is not supported"
                    " by this model.",
                    "invalid_request_error",
                ),
                "bad_request",
            )
        rng, faults = self._rngs(messages, body.get("seed"))
        if self.slots is None:
            return await self._answer(body, messages, rng, faults)
        async with self.slots:
            return await self._answer(body, messages, rng, faults)

    def _count(self, response: web.Response, outcome: str) -> web.Response:
        self.stats.outcomes[outcome] += 1
        return response

    async def _answer(
        self,
        body: dict[str, Any],
        messages: list[Any],
        rng: random.Random,
        faults: random.Random,
    ) -> web.Response:
        """``rng`` draws the answer, ``faults`` this attempt's latency and fault."""
        self.stats.in_flight += 1
        try:
            delay = self.config.latency.sample_s(faults)
            if delay > 0:
                await asyncio.sleep(delay)
            u = faults.random()
            fault = None
            for rate, kind in self.thresholds:
                if u < rate:
                    fault = kind
                    break
                u -= rate
            if fault == "rate_limited":
                return self._count(
                    _error(
                        429,
                        "Rate limit reached",
                        "rate_limit_error",
                        **{"Retry-After": f"{self.config.retry_after_s:g}"},
                    ),
                    "rate_limited",
                )
            if fault == "server_error":
                return self._count(
                    _error(500, "The server had an error", "server_error"), "server_error"
                )
            if fault == "timeout":
                self.stats.outcomes["timeout"] += 1
                await asyncio.sleep(self.config.hang_s)
                return _error(504, "gave up hanging", "server_error")
            if fault == "non_json":
                return self._count(
                    web.Response(
                        text="<html><body>502 Bad Gateway (simulated)</body></html>",
                        content_type="text/html",
                    ),
                    "non_json",
                )
            result = self._completion(body, messages, rng)
            if isinstance(result, web.Response):
                return result
            if fault == "truncated":
                result = result[: len(result) // 2]
            return self._count(
                web.Response(body=result, content_type="application/json"), fault or "ok"
            )
        finally:
            self.stats.in_flight -= 1

    def _completion(
        self, body: dict[str, Any], messages: list[Any], rng: random.Random
    ) -> bytes | web.Response:
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        user = next(
            (
                str(m.get("content", ""))
                for m in reversed(messages)
                if isinstance(m, dict) and m.get("role") == "user"
            ),
            prompt,
        )
        tools_block = extract_block(user, "tools")
        samples_block = extract_block(user, "samples")
        try:
            # The multi-turn roles first: their prompts may quote tools in other blocks.
            role = answer_role(messages, rng, self.config.corruption, self.stats.corruptions)
            if role is not None:  # blueprint writer and reviewer, simulated user and agent
                content = role
            elif tools_block is not None:
                tools = [t.get("function", t) for t in orjson.loads(tools_block)]
                style = QueryStyle(extract_block(user, "style") or "simple")
                n = int(extract_block(user, "pairs") or "1")
                self.stats.generation_requests += 1
                injected: Counter[str] = Counter()
                pairs = generate_pairs(
                    tools,
                    style,
                    n,
                    rng,
                    self.config.corruption,
                    injected,
                    self.config.exec_failures,
                )
                self.stats.pairs += len(pairs)
                content = orjson.dumps({"pairs": pairs}).decode()
                if rng.random() < self.config.corruption.get("invalid_json", 0.0):
                    # The broken body hides its pairs' own corruptions: count only this one.
                    injected = Counter(invalid_json=1)
                    content = content[: max(1, int(len(content) * rng.uniform(0.3, 0.9)))]
                self.stats.corruptions.update(injected)
            elif samples_block is not None:
                self.stats.judge_requests += 1
                verdicts = judge_samples(
                    orjson.loads(samples_block),
                    self.config.corruption.get("judge_reject", 0.0),
                    self.config.seed,
                    self.stats.corruptions,
                )
                for v in verdicts:
                    self.stats.verdicts["passed" if v["passed"] else "failed"] += 1
                content = orjson.dumps({"verdicts": verdicts}).decode()
            elif (api_doc := extract_block(user, "api_doc")) is not None:
                content = orjson.dumps(write_api_doc(orjson.loads(api_doc))).decode()
            elif (virtual := reference_reply(user)) is not None:  # a virtual API's call
                content = orjson.dumps(virtual).decode()
            elif (foreign := answer_distilabel(user, rng)) is not None:
                kind, content = foreign  # the distilabel side-by-side benchmark
                self.stats.generation_requests += kind == "generation"
                self.stats.judge_requests += kind == "judge"
            else:
                raise ValueError("no <tools> or <samples> block")
        except (ValueError, TypeError, KeyError, AttributeError, orjson.JSONDecodeError) as exc:
            return self._count(
                _error(
                    400,
                    f"the simulated endpoint only answers apigen prompts: {exc}",
                    "invalid_request_error",
                ),
                "bad_request",
            )
        requested = str(body.get("model") or self.config.model)
        model = requested if requested.startswith("simulated-") else f"simulated-{requested}"
        prompt_tokens = len(prompt) // 4 + 1
        completion_tokens = len(content) // 4 + 1
        return orjson.dumps(
            {
                "id": f"chatcmpl-simulated-{rng.getrandbits(64):016x}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "simulated",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def models(self, request: web.Request) -> web.Response:
        data = {
            "object": "list",
            "data": [
                {"id": self.config.model, "object": "model", "created": 0, "owned_by": "simulated"}
            ],
        }
        return web.Response(body=orjson.dumps(data), content_type="application/json")

    async def stats_view(self, request: web.Request) -> web.Response:
        return web.Response(
            body=orjson.dumps(self.stats.to_dict()), content_type="application/json"
        )


async def _label(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["x-simulated"] = "true"


def create_app(config: SimulatorConfig | None = None) -> web.Application:
    """The aiohttp application. Serve it with ``handler_cancellation=True`` so hung
    requests end when the client gives up (:func:`run_simulator` does)."""
    config = config or SimulatorConfig()
    stats = SimulatorStats()
    handler = _Handler(config, stats)
    app = web.Application()
    app[CONFIG_KEY] = config
    app[STATS_KEY] = stats
    app.on_response_prepare.append(_label)
    app.router.add_post("/v1/chat/completions", handler.chat)
    app.router.add_get("/v1/models", handler.models)
    app.router.add_get("/stats", handler.stats_view)
    return app


@dataclass(frozen=True, slots=True)
class RunningSimulator:
    """A simulator serving in this process: ``base_url`` ends in ``/v1``."""

    base_url: str
    config: SimulatorConfig
    stats: SimulatorStats


@asynccontextmanager
async def run_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator on ``host:port`` (0: a free port) for the duration of the block.

    Usage::

        async with run_simulator(SimulatorConfig(error_rate_429=0.1)) as sim:
            endpoint = LlmEndpoint("sim", sim.base_url, sim.config.model)
    """
    app = create_app(config)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        yield RunningSimulator(
            f"http://{bound_host}:{bound_port}/v1", app[CONFIG_KEY], app[STATS_KEY]
        )
    finally:
        await runner.cleanup()
