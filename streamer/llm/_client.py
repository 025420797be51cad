"""An OpenAI-compatible chat endpoint behind rate limits, retries and accounting.

:class:`LlmEndpoint` says where and how hard to call; :class:`LlmClient` does the calling
by posting the OpenAI chat-completions JSON itself (serialised and parsed with orjson, sent
through :mod:`._http`): the ``openai`` SDK's typed request building and response parsing
cost ~1.5 ms of CPU per request, as much as the rest of the pipeline per verified pair.
The loop retries 429, 5xx, timeouts, connection errors and bodies that are not a chat
completion (a proxy's HTML error page, a cut-off body) with exponential backoff and full
jitter, honours ``Retry-After``, and counts every attempt so metrics see the real load. A
failure says which endpoint failed (:attr:`LlmError.endpoint`: name and base URL, never the
key) so a refused credential or an outage can be reported where it belongs.

The API key is registered with the process's :class:`~executors.Redactor` when the client
is made, and every reply body is redacted of every configured secret before anything reads
it: an endpoint that echoes the key (in a 401 body, in the completion) cannot put it into an
error message, an event, a log line or the dataset.
"""

from __future__ import annotations

import os
import random
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import orjson
from aiolimiter import AsyncLimiter

from executors import default_redactor
from topics import Usage

from ..prompts import ChatMessage
from ..runtime._metrics import pipeline_metrics
from ._errors import LlmError, LlmReason
from ._http import AiohttpPoster, HttpxPoster, Poster, PostFailed, PostTimeout
from ._model import Completion, OutputMode, parse_json_content

if TYPE_CHECKING:
    import httpx2

__all__ = ["LlmClient", "LlmEndpoint", "LlmStats"]


@dataclass(frozen=True, slots=True)
class LlmEndpoint:
    """Where and how to call one OpenAI-compatible chat completions endpoint.

    ``api_key_env`` names the environment variable holding the key (read when the client is
    made; never stored here, never logged); empty means the endpoint needs no key.
    ``timeout_s`` bounds one HTTP attempt as a whole (connect, wait, read), in seconds;
    ``max_concurrency`` caps requests in flight (and the connection pool).
    ``requests_per_minute`` / ``tokens_per_minute`` of 0 mean unlimited; the request bucket
    bursts at most one second's worth, the token bucket ``token_window_s`` seconds'
    worth (it must hold the largest request: a request estimated above the bucket waits
    for a full bucket). Tokens are estimated as prompt characters / 4 + ``max_tokens``
    and corrected by the reported usage on the next request. Prices are US dollars per
    million input / output tokens.
    ``supports_json_schema``: True sends ``response_format`` json_schema and never falls
    back; False starts at json_object; None (auto) tries json_schema and on a 400 that
    mentions ``response_format`` falls back to json_object, then to plain prompting —
    sticky for the life of the client.

    Usage::

        LlmEndpoint(
            name="openai",
            base_url="https://api.openai.com/v1",
            model="gpt-4o-mini",
            api_key_env="OPENAI_API_KEY",
            requests_per_minute=500,
            tokens_per_minute=200_000,
            price_input_per_mtok=0.15,
            price_output_per_mtok=0.60,
        )
    """

    name: str
    base_url: str
    model: str
    api_key_env: str = ""
    requests_per_minute: float = 0.0
    tokens_per_minute: float = 0.0
    token_window_s: float = 10.0
    max_concurrency: int = 16
    timeout_s: float = 60.0
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 120.0
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    supports_json_schema: bool | None = None

    def cost_usd(self, usage: Usage) -> float:
        return (
            usage.prompt_tokens * self.price_input_per_mtok
            + usage.completion_tokens * self.price_output_per_mtok
        ) / 1e6


@dataclass(slots=True)
class LlmStats:
    """Counters of one client since it was made (monotonic; for Prometheus counters).

    ``requests`` counts HTTP attempts (retries included), ``calls`` calls of
    :meth:`LlmClient.complete_json`; ``attempt_errors`` failed attempts by reason and
    ``failures`` calls that raised, by reason.
    """

    calls: int = 0
    requests: int = 0
    retries: int = 0
    format_fallbacks: int = 0
    attempt_errors: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    rate_limit_wait_s: float = 0.0
    retry_wait_s: float = 0.0


_FALLBACK: dict[OutputMode, OutputMode] = {"json_schema": "json_object", "json_object": "prompt"}


class _FormatUnsupported(Exception):
    pass


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The server's ``Retry-After`` (or ``retry-after-ms``) in seconds; None when absent.

    ``headers`` must look names up case-insensitively (aiohttp's and httpx's do)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


MAX_REPORTED_TOKENS = 10_000_000
"""Most tokens one reply may report per field; a count past it (or negative, or not a
number) is taken as not reported (0): the endpoint's word, not ours, and a hostile one must
not overflow the rate limiter, the metrics or the run's usage table."""


def _reported_tokens(value: object) -> int:
    """A usage field as a token count: an integer 0..:data:`MAX_REPORTED_TOKENS`, else 0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_REPORTED_TOKENS:
        return value
    return 0


def _error_message(status: int, body: bytes) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the start of the body."""
    try:
        data = orjson.loads(body)
        message = data["error"]["message"]
        if isinstance(message, str) and message:
            return f"HTTP {status}: {message}"[:300]
    except (orjson.JSONDecodeError, LookupError, TypeError):
        pass
    text = body[:240].decode(errors="replace").strip()
    return f"HTTP {status}: {text or '(empty body)'}"[:300]


def describe_endpoint(name: str, base_url: str) -> str:
    """``name (base URL)`` with any ``user:password@``, query and fragment removed."""
    try:
        parts = urllib.parse.urlsplit(base_url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        url = urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        url = "(unparsable URL)"
    return f"{name} ({url})"


def _status_reason(status: int) -> LlmReason:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth_error"
    if status == 408:
        return "timeout"
    if status == 409 or status >= 500:
        return "server_error"
    return "bad_request"


class LlmClient:
    """Calls one :class:`LlmEndpoint`; implements :class:`~streamer.llm.ChatModel`.

    ``http_client`` (an ``httpx2.AsyncClient``, e.g. with a test transport) replaces the
    default pooled aiohttp session; the caller then owns and closes it. ``rng``
    drives the backoff jitter (inject a seeded one for reproducible tests).

    Usage::

        async with LlmClient(endpoint) as llm:
            completion = await llm.complete_json(messages, schema, max_tokens=512)
            completion.parsed   # the JSON value, or None when the content was not JSON
    """

    def __init__(
        self,
        endpoint: LlmEndpoint,
        *,
        http_client: httpx2.AsyncClient | None = None,
        rng: random.Random | None = None,
    ) -> None:
        key = ""
        self._redactor = default_redactor()
        self._where = describe_endpoint(endpoint.name, endpoint.base_url)
        if endpoint.api_key_env:
            key = os.environ.get(endpoint.api_key_env, "")
            self._redactor.add(key)
            if not key:
                err = LlmError(
                    "auth_error", f"environment variable {endpoint.api_key_env} is not set"
                )
                err.endpoint = self._where
                raise err
        self.endpoint = endpoint
        self.stats = LlmStats()
        self._metrics = pipeline_metrics().llm(endpoint.name, endpoint.model)
        self._poster: Poster = (
            HttpxPoster(http_client)
            if http_client is not None
            else AiohttpPoster(
                timeout_s=endpoint.timeout_s, max_connections=max(1, endpoint.max_concurrency)
            )
        )
        self._url = endpoint.base_url.rstrip("/") + "/chat/completions"
        # The key lives only in this header map; no message or repr includes it.
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._rng = rng or random.Random()
        self._capacity = anyio.CapacityLimiter(max(1, endpoint.max_concurrency))
        rpm, tpm = endpoint.requests_per_minute, endpoint.tokens_per_minute
        self._requests = AsyncLimiter(max(1.0, rpm / 60), 1.0) if rpm > 0 else None
        self._tokens = (
            AsyncLimiter(max(1.0, tpm * endpoint.token_window_s / 60), endpoint.token_window_s)
            if tpm > 0
            else None
        )
        self._token_credit = 0.0
        self._mode: OutputMode = (
            "json_object" if endpoint.supports_json_schema is False else ("json_schema")
        )
        self._in_flight = 0

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def mode(self) -> OutputMode:
        """The structured-output mode the next request will use."""
        return self._mode

    async def aclose(self) -> None:
        await self._poster.aclose()

    async def __aenter__(self) -> LlmClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        e = self.endpoint
        limits = []
        if self._requests is not None:
            level = getattr(self._requests, "_level", 0.0)
            limits.append(f"requests={level:.1f}/{self._requests.max_rate:g}")
        if self._tokens is not None:
            level = getattr(self._tokens, "_level", 0.0)
            limits.append(f"tokens={level:.0f}/{self._tokens.max_rate:g}")
        return (
            f"<LlmClient {e.name!r} model={e.model!r} url={e.base_url!r} mode={self._mode}"
            f" in_flight={self._in_flight}/{self._capacity.total_tokens:g}"
            f" waiting={self._capacity.statistics().tasks_waiting}"
            f" {' '.join(limits) or 'unlimited'} requests={self.stats.requests}"
            f" retries={self.stats.retries} failures={sum(self.stats.failures.values())}>"
        )

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int | None = None,
    ) -> Completion:
        """One chat completion asking for JSON that matches ``schema``.

        Raises :class:`LlmError` (and nothing else, cancellation aside) when the call fails
        after the allowed retries.
        """
        self.stats.calls += 1
        self._metrics.calls.inc()
        started = time.perf_counter()
        estimate = sum(len(m["content"]) for m in messages) / 4 + max_tokens
        attempt = 0
        while True:
            mode = self._mode
            try:
                payload = self._request_body(messages, schema, mode, temperature, max_tokens, seed)
                body = await self._attempt(payload, mode, estimate)
                return self._completion(body, estimate, mode, started, attempt + 1)
            except _FormatUnsupported as exc:
                fallback: OutputMode | None = None
                if self.endpoint.supports_json_schema is not True:
                    fallback = _FALLBACK.get(mode)
                if fallback is None:
                    self._fail(LlmError("bad_request", str(exc), status=400, attempts=attempt + 1))
                if self._mode == mode:
                    self._mode = fallback
                    self.stats.format_fallbacks += 1
                continue
            except LlmError as exc:
                exc.attempts = attempt + 1
                retry_after = exc.retry_after
                if not exc.retryable or attempt >= self.endpoint.max_retries:
                    self._fail(exc)
                if retry_after is not None and retry_after > self.endpoint.max_retry_after_s:
                    self._fail(exc)
                cap = min(self.endpoint.backoff_max_s, self.endpoint.backoff_base_s * 2**attempt)
                delay = self._rng.uniform(0, cap)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                attempt += 1
                self.stats.retries += 1
                self._metrics.retries.inc()
                self.stats.retry_wait_s += delay
                await anyio.sleep(delay)

    def _fail(self, exc: LlmError) -> NoReturn:
        exc.endpoint = self._where
        self.stats.failures[exc.reason] += 1
        self._metrics.failure(exc.reason)
        raise exc

    def _request_body(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        mode: OutputMode,
        temperature: float,
        max_tokens: int,
        seed: int | None,
    ) -> bytes:
        msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
        body: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": msgs,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            body["seed"] = seed
        if mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema, "strict": False},
            }
            return orjson.dumps(body)
        note = (
            "\n\nYour answer must be a single JSON value that validates against this JSON "
            "Schema:\n" + orjson.dumps(schema).decode()
        )
        if msgs and msgs[0]["role"] == "system":
            msgs[0] = {"role": "system", "content": msgs[0]["content"] + note}
        else:
            msgs.insert(0, {"role": "system", "content": note.strip()})
        if mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return orjson.dumps(body)

    async def _acquire_rate(self, estimate: float) -> None:
        t0 = time.perf_counter()
        if self._requests is not None:
            await self._requests.acquire()
        if self._tokens is not None:
            amount = estimate - self._token_credit
            self._token_credit = 0.0
            if amount > 0:
                await self._tokens.acquire(min(amount, self._tokens.max_rate))
            else:
                self._token_credit = -amount
        waited = time.perf_counter() - t0
        self.stats.rate_limit_wait_s += waited
        self._metrics.rate_limit_wait.inc(waited)

    async def _attempt(self, payload: bytes, mode: OutputMode, estimate: float) -> bytes:
        """One request; the reply body, or a (retryable or not) :class:`LlmError`."""
        async with self._capacity:
            await self._acquire_rate(estimate)
            self._in_flight += 1
            self.stats.requests += 1
            self._metrics.requests.inc()
            sent = time.perf_counter()
            try:
                reply = await self._poster.post(self._url, payload, self._headers)
            except PostTimeout:
                raise self._attempt_error(
                    "timeout", f"no answer within {self.endpoint.timeout_s:g} s"
                ) from None
            except PostFailed as exc:
                raise self._attempt_error("connection_error", str(exc)) from None
            finally:
                self._in_flight -= 1
                self._metrics.duration.observe(time.perf_counter() - sent)
        body = self._redactor.redact_bytes(reply.body)
        if 200 <= reply.status < 300:
            return body
        message = _error_message(reply.status, body)
        if reply.status in (400, 422) and mode != "prompt" and b"response_format" in body:
            raise _FormatUnsupported(message)
        err = self._attempt_error(_status_reason(reply.status), message, status=reply.status)
        err.retry_after = _retry_after_s(reply.headers)
        raise err

    def _attempt_error(
        self, reason: LlmReason, message: str, *, status: int | None = None
    ) -> LlmError:
        self.stats.attempt_errors[reason] += 1
        self._metrics.error(reason)
        return LlmError(reason, message, status=status)

    def _completion(
        self, body: bytes, estimate: float, mode: OutputMode, started: float, attempts: int
    ) -> Completion:
        try:
            data = orjson.loads(body)
            choice = data["choices"][0]
            message = choice["message"]
            text = message.get("content")
            if not isinstance(text, str):
                refusal = message.get("refusal")
                # The model's own answer: asking the same again would get the same.
                self.stats.attempt_errors["bad_response"] += 1
                self._metrics.error("bad_response")
                no_content = f"no content{f' (refusal: {refusal})' if refusal else ''}"
                raise LlmError("bad_response", no_content, attempts=attempts, retryable=False)
            finish_reason = str(choice.get("finish_reason") or "stop")
            raw_usage = data.get("usage")
            raw_usage = raw_usage if isinstance(raw_usage, dict) else {}
            usage = Usage(
                prompt_tokens=_reported_tokens(raw_usage.get("prompt_tokens")),
                completion_tokens=_reported_tokens(raw_usage.get("completion_tokens")),
            )
            model = str(data.get("model") or self.endpoint.model)
        except (orjson.JSONDecodeError, LookupError, TypeError, ValueError, AttributeError) as exc:
            self.stats.attempt_errors["bad_response"] += 1
            self._metrics.error("bad_response")
            snippet = body[:120].decode(errors="replace")
            raise LlmError(
                "bad_response",
                f"not a chat completion ({type(exc).__name__}: {exc}): {snippet!r}",
                attempts=attempts,
            ) from None
        if self._tokens is not None and (usage.prompt_tokens or usage.completion_tokens):
            actual = usage.prompt_tokens + usage.completion_tokens
            # Positive credit: we reserved too much; negative: the next caller pays the overrun.
            bound = self._tokens.max_rate
            self._token_credit = max(-bound, min(bound, self._token_credit + estimate - actual))
        cost = self.endpoint.cost_usd(usage)
        self.stats.prompt_tokens += usage.prompt_tokens
        self.stats.completion_tokens += usage.completion_tokens
        self.stats.cost_usd += cost
        m = self._metrics
        m.prompt_tokens.inc(usage.prompt_tokens)
        m.completion_tokens.inc(usage.completion_tokens)
        m.cost.inc(cost)
        return Completion(
            text=text,
            parsed=parse_json_content(text),
            usage=usage,
            latency_s=time.perf_counter() - started,
            cost_usd=cost,
            model=model,
            finish_reason=finish_reason,
            mode=mode,
            attempts=attempts,
        )
