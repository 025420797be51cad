"""The REST executor: calls an API described by a :class:`RestBinding` over HTTP.

Safety comes from building every request from the spec alone. The URL is ``base_url`` +
the binding's path template; argument values fill ``{placeholders}`` percent-encoded with
``safe=""``, so ``../../etc/passwd`` or ``@evil.example`` stay text inside one path segment.
After building, the URL's scheme, host and port must equal ``base_url``'s and its segment
count must equal the template's, or the call fails with ``host_not_allowed`` /
``invalid_arguments`` before anything is sent. Redirects are never followed and proxies
from the environment are ignored, so the spec's host is the only host ever contacted.

That host must pass the :class:`~executors.NetworkPolicy` (``policy``; the default refuses
loopback, link-local, private and other non-public addresses except the built-in REST
service): an IP literal is checked before anything is sent, a name on the addresses it
resolves to when the default client connects (:func:`default_client` gets the policy's
resolver; a caller's ``client`` is checked with one resolution before each call, which a
name that re-resolves differently can outrun: give such clients only to allowed hosts).
A refused call fails with ``host_refused`` and is not retried.

A credential named by ``auth_env`` is read from the environment at call time, sent in
``auth_header`` and registered with the process's :class:`~executors.Redactor`: every
outcome (message and result, response bodies included) is redacted of every configured
secret, so an API that echoes the key stores ``[REDACTED]``.

Transient failures (429, 5xx, timeouts, connection errors) are retried ``retries`` times
with exponential backoff and full jitter; a ``Retry-After`` header (seconds or HTTP date) is
honoured, and when it asks for more than ``backoff_max_s`` the executor gives up instead of
retrying early. A host's :class:`~executors.HostLimits` (in ``limits``) may set its own
``retries``, ``backoff_s`` and ``backoff_max_s``, which win over the executor's. Every
method is retried, POST included: the APIs this executes are lookups and computations, and
a lost response is worse for a dataset than a repeated request; give an executor with
``retries=0`` (or the host ``retries = 0``) to APIs with side effects. Bodies are streamed
and abandoned at ``max_response_bytes`` (decoded bytes, so a compressed bomb stops at the
cap too).

Usage::

    limits = RateLimits.from_mapping({"hosts": {"api.example.com": [5, 1.0]}})
    executor = RestExecutor(limits=limits, timeout_s=5.0)
    outcome = await executor.execute(spec, {"city": "Oslo"})
    await executor.aclose()
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from ._errors import ExecutionFailure
from ._metric_scope import ScopedHistogram
from ._metrics import executor_metrics
from ._network import NetworkPolicy
from ._outcome import Outcome
from ._rate_limits import RateLimits
from ._redact import Redactor, default_redactor
from ._spec import WHOLE_BODY, ApiSpec, RestBinding

__all__ = ["RestExecutor", "default_client", "parse_retry_after"]

_PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_EXCERPT_CHARS = 200


def default_client(
    *,
    timeout_s: float = 10.0,
    max_connections: int = 100,
    policy: NetworkPolicy | None = None,
) -> httpx.AsyncClient:
    """The client the executor builds when none is given.

    httpx's API on aiohttp's transport (``httpx-aiohttp``): measured on the local service
    (bench/executors_rest.py) it costs several times less client CPU per request than
    httpx's own transport at 50 requests in flight. ``trust_env=False`` keeps proxy
    variables from routing requests through another host. Names are resolved by
    ``policy``'s resolver (default :class:`NetworkPolicy`), which refuses the connection
    when an address is refused and connects only to the addresses it checked.
    """
    import aiohttp
    from httpx_aiohttp import HttpxAiohttpClient
    from httpx_aiohttp.transport import AiohttpTransport

    checked_by = policy if policy is not None else NetworkPolicy()
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
    ssl_context = httpx.create_ssl_context()

    def session() -> aiohttp.ClientSession:
        # Called on the first request, inside the event loop the session binds to.
        connector = aiohttp.TCPConnector(
            limit=max_connections,
            keepalive_timeout=limits.keepalive_expiry or 5.0,
            ssl=ssl_context,
            resolver=checked_by.aiohttp_resolver(),
        )
        return aiohttp.ClientSession(connector=connector)

    return HttpxAiohttpClient(
        timeout=timeout_s,
        trust_env=False,
        follow_redirects=False,
        limits=limits,
        transport=AiohttpTransport(limits=limits, trust_env=False, client=session),
    )


def parse_retry_after(value: str, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or HTTP date), else None.

    ``now`` is the wall-clock epoch time an HTTP date is measured against.
    """
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        return max(0.0, moment.timestamp() - now)
    return seconds if seconds >= 0 and seconds == seconds else None


@dataclass(slots=True)
class _Request:
    method: str
    url: httpx.URL
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    api_id: str
    secret: str = ""


@dataclass(slots=True)
class _Attempt:
    """One attempt's end: a final outcome, or a retryable failure."""

    outcome: Outcome
    retryable: bool = False
    retry_after: float | None = None


class RestExecutor:
    """Executes :class:`RestBinding` APIs; implements :class:`~executors.Executor`.

    ``client`` is used as given (tests pass ``httpx.AsyncClient(transport=...)``) and is not
    closed by :meth:`aclose`; without one the executor owns a :func:`default_client`.
    ``clock`` (monotonic seconds), ``sleep``, ``wall_clock`` (epoch seconds, for HTTP-date
    ``Retry-After``) and ``random`` (jitter in [0, 1)) are injectable for tests.
    ``policy`` says which hosts may be reached (default :class:`NetworkPolicy`: public
    addresses and the built-in REST service); ``redactor`` the secrets redacted from
    outcomes (default: the process-wide one).

    Counters for metrics, updated live: ``requests_total`` (attempts put on the wire),
    ``retries_total``, ``rate_limit_wait_seconds_total``, ``in_flight``; the same go to
    :func:`~executors._metrics.executor_metrics` (kind ``rest``), the waits also as a
    histogram by host entry of ``limits``.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        limits: RateLimits | None = None,
        timeout_s: float = 10.0,
        max_response_bytes: int = 1 << 20,
        retries: int = 3,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        wall_clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random.random,
        policy: NetworkPolicy | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        if retries < 0 or timeout_s <= 0 or max_response_bytes < 0:
            raise ValueError("retries, timeout_s and max_response_bytes must be non-negative")
        self.policy = policy if policy is not None else NetworkPolicy()
        self._redactor = redactor if redactor is not None else default_redactor()
        self._owns_client = client is None
        self._client = (
            client
            if client is not None
            else default_client(timeout_s=timeout_s, policy=self.policy)
        )
        self.limits = limits if limits is not None else RateLimits()
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self.retries = retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._random = random
        self.requests_total = 0
        self.retries_total = 0
        self.rate_limit_wait_seconds_total = 0.0
        self.in_flight = 0
        self._metrics = executor_metrics().for_kind("rest")
        # The default entry's series exists from the start, so dashboards show it at 0.
        self._wait_histograms: dict[str, ScopedHistogram] = {"*": self._metrics.wait_duration("*")}

    def __repr__(self) -> str:
        return (
            f"<RestExecutor in_flight={self.in_flight} requests={self.requests_total} "
            f"retries={self.retries_total} "
            f"rate_limit_wait={self.rate_limit_wait_seconds_total:.3f}s limits={self.limits!r}>"
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        start = self._clock()
        redactor = self._redactor
        try:
            request = _build_request(spec, arguments)
            if request.secret:
                redactor.add(request.secret)
            await self._check_destination(request.url)
            outcome = await self._send(request)
        except ExecutionFailure as exc:
            outcome = Outcome.failure(exc.reason, exc.message)
        except Exception as exc:  # never raise into the pipeline
            outcome = Outcome.failure(
                "connection_error", redactor.redact(f"unexpected {type(exc).__name__}: {exc}")[:300]
            )
        return Outcome(
            ok=outcome.ok,
            result=redactor.redact_value(outcome.result),
            reason=outcome.reason,
            message=redactor.redact(outcome.message),
            latency_s=self._clock() - start,
        )

    async def _check_destination(self, url: httpx.URL) -> None:
        """Refuse before sending what the policy refuses: IP literals always; names here
        only for a caller's client (the default client checks them as it connects)."""
        port = _port(url)
        if self.policy.allows(url.host, port):
            return
        self.policy.check_host(url.host, port)
        if not self._owns_client:
            with contextlib.suppress(OSError):  # unresolvable: the client's attempt says so
                await self.policy.resolve(url.host, port)

    async def _send(self, request: _Request) -> Outcome:
        _, host = self.limits.host(request.url.host, _port(request.url))
        retries = self.retries if host.retries is None else host.retries
        base = self.backoff_base_s if host.backoff_s is None else host.backoff_s
        cap = self.backoff_max_s if host.backoff_max_s is None else host.backoff_max_s
        attempt = await self._attempt(request)
        for n in range(retries):
            if not attempt.retryable:
                break
            delay = self._backoff(n, attempt.retry_after, base, cap)
            if delay is None:
                return _give_up(attempt, f"Retry-After exceeds backoff_max_s={cap}")
            self.retries_total += 1
            self._metrics.retries.inc()
            await self._sleep(delay)
            attempt = await self._attempt(request)
        if attempt.retryable:
            return _give_up(attempt, f"after {retries + 1} attempts")
        return attempt.outcome

    def _backoff(self, n: int, retry_after: float | None, base: float, cap: float) -> float | None:
        jitter = self._random() * min(cap, base * 2.0**n)
        if retry_after is None:
            return jitter
        if retry_after > cap:
            return None
        return max(retry_after, jitter)

    async def _attempt(self, request: _Request) -> _Attempt:
        host, port = request.url.host, _port(request.url)
        async with self.limits.semaphore(host, port):
            waited_from = self._clock()
            limited = False
            for limiter in (
                self.limits.host_limiter(host, port),
                self.limits.api_limiter(request.api_id),
            ):
                if limiter is not None:
                    limited = True
                    await limiter.acquire()
            if limited:
                self._observe_wait(host, port, max(0.0, self._clock() - waited_from))
            self.requests_total += 1
            self._metrics.requests.inc()
            self.in_flight += 1
            try:
                with anyio.fail_after(self.timeout_s):
                    return await self._exchange(request)
            except TimeoutError:
                return _Attempt(
                    _fail("timeout", f"no complete response in {self.timeout_s}s"), True
                )
            except httpx.TransportError as exc:
                reason = _classify(exc)
                message = self._redactor.redact(f"{type(exc).__name__}: {exc}")[:300]
                return _Attempt(_fail(reason, message), True)
            finally:
                self.in_flight -= 1

    def _observe_wait(self, host: str, port: int, waited: float) -> None:
        self.rate_limit_wait_seconds_total += waited
        self._metrics.rate_limit_wait.inc(waited)
        entry, _ = self.limits.host(host, port)
        histogram = self._wait_histograms.get(entry)
        if histogram is None:
            histogram = self._wait_histograms[entry] = self._metrics.wait_duration(entry)
        histogram.observe(waited)

    async def _exchange(self, request: _Request) -> _Attempt:
        async with self._client.stream(
            request.method,
            request.url,
            params=tuple(request.params),
            headers=request.headers,
            json=request.body,
            timeout=self.timeout_s,
            follow_redirects=False,
        ) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                return _Attempt(_too_large(int(declared), self.max_response_bytes))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    return _Attempt(_too_large(size, self.max_response_bytes))
                chunks.append(chunk)
            body = b"".join(chunks)
        return self._judge(response, body)

    def _judge(self, response: httpx.Response, body: bytes) -> _Attempt:
        status = response.status_code
        if 200 <= status < 300:
            return _Attempt(Outcome.success(_decode(response, body)))
        # Redacted before it is cut: a cut through a secret would leave a piece of it.
        text = self._redactor.redact(_text(response, body))
        excerpt = " ".join(text[: _EXCERPT_CHARS * 2].split())[:_EXCERPT_CHARS]
        message = f"HTTP {status} {response.reason_phrase}: {excerpt}".rstrip(": ")
        if 300 <= status < 400:
            return _Attempt(_fail("http_error", f"{message} (redirects are not followed)"))
        if status == 429 or status >= 500:
            header = response.headers.get("retry-after")
            retry_after = (
                None if header is None else parse_retry_after(header, now=self._wall_clock())
            )
            reason = "rate_limited" if status == 429 else "http_error"
            return _Attempt(_fail(reason, message), True, retry_after)
        return _Attempt(_fail("http_error", message))


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _fail(reason: str, message: str) -> Outcome:
    return Outcome.failure(reason, message)


def _too_large(size: int, cap: int) -> Outcome:
    return _fail("result_too_large", f"response body of {size}+ bytes exceeds {cap} bytes")


def _give_up(attempt: _Attempt, why: str) -> Outcome:
    return _fail(attempt.outcome.reason, f"{attempt.outcome.message} ({why})")


def _classify(exc: BaseException) -> str:
    """``timeout`` or ``connection_error``, looking through the transport's own exceptions:
    httpx-aiohttp maps connection refusals and read timeouts alike to ``ConnectTimeout``."""
    cause: BaseException | None = exc
    while cause is not None:
        name = type(cause).__name__
        if name in {"ClientConnectorError", "ConnectionRefusedError", "ConnectError"}:
            return "connection_error"
        if name in {"ServerTimeoutError", "SocketTimeoutError", "ReadTimeout", "TimeoutError"}:
            return "timeout"
        cause = cause.__cause__
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return "timeout"
    return "connection_error"


def _decode(response: httpx.Response, body: bytes) -> Any:
    if not body:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            # NaN and Infinity are not JSON: read as null, which is what the result is on
            # the log (orjson writes them so), so a stage that takes the event from the
            # process's memory sees what one that decodes it from the log sees.
            return json.loads(body, parse_constant=_null)
        except ValueError:
            pass
    return _text(response, body)


def _null(_: str) -> None:
    return None


def _text(response: httpx.Response, body: bytes) -> str:
    return body.decode(response.charset_encoding or "utf-8", errors="replace")


def _wire_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _path_segment(name: str, value: Any) -> str:
    if value is None or isinstance(value, list | dict):
        raise ExecutionFailure("invalid_arguments", f"path parameter {name!r} must be a scalar")
    text = _wire_text(value)
    # Some transports (aiohttp's yarl) decode %2E and resolve dot segments: refuse them.
    if text in {"", ".", ".."}:
        raise ExecutionFailure("invalid_arguments", f"path parameter {name!r} is {text!r}")
    return quote(text, safe="")


def _header_value(name: str, value: Any) -> str:
    text = _wire_text(value)
    if any(c in text for c in "\r\n\0"):
        raise ExecutionFailure("invalid_arguments", f"header parameter {name!r} has CR/LF/NUL")
    # HTTP clients encode header values as ASCII and refuse control characters; catch both
    # here so the model's bad value is invalid_arguments, not a misleading transport error.
    if not all(c == "\t" or " " <= c <= "~" for c in text):
        raise ExecutionFailure(
            "invalid_arguments", f"header parameter {name!r} is not printable ASCII"
        )
    return text


def _build_request(spec: ApiSpec, arguments: dict[str, Any]) -> _Request:
    binding = spec.binding
    if not isinstance(binding, RestBinding):
        kind = "no binding" if binding is None else f"a {binding.kind} binding"
        raise ExecutionFailure("no_binding", f"{spec.name} has {kind}, not a REST binding")
    if not isinstance(arguments, dict):
        raise ExecutionFailure("invalid_arguments", "arguments must be an object")
    try:
        base = httpx.URL(binding.base_url)
    except httpx.InvalidURL as exc:
        raise ExecutionFailure("host_not_allowed", f"invalid base_url: {exc}") from None
    if base.scheme not in {"http", "https"} or not base.host:
        raise ExecutionFailure("host_not_allowed", "base_url must be an absolute http(s) URL")

    by_name = {p.name: p for p in binding.parameters}
    unknown = sorted(set(arguments) - set(by_name))
    if unknown:
        raise ExecutionFailure(
            "invalid_arguments", f"unknown arguments {unknown}; expected some of {sorted(by_name)}"
        )
    segments: dict[str, str] = {}
    params: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    fields: dict[str, Any] = {}
    whole_body: Any = None
    has_whole_body = False
    for name, value in arguments.items():
        param = by_name[name]
        wire = param.wire_name or param.name
        if param.location == "path":
            segments[wire] = _path_segment(name, value)
        elif param.location == "query":
            if value is not None:
                values = value if isinstance(value, list) else [value]
                params.extend((wire, _wire_text(v)) for v in values)
        elif param.location == "header":
            if wire.lower() in _FORBIDDEN_HEADERS:
                raise ExecutionFailure("host_not_allowed", f"spec header {wire!r} is not allowed")
            if value is not None:
                headers[wire] = _header_value(name, value)
        elif wire == WHOLE_BODY:
            whole_body, has_whole_body = value, True
        else:
            fields[wire] = value

    if has_whole_body and fields:
        raise ExecutionFailure("invalid_arguments", "a whole-body argument excludes body fields")
    body = whole_body if has_whole_body else fields or None

    missing = [p for p in _PLACEHOLDER.findall(binding.path) if p not in segments]
    if missing:
        raise ExecutionFailure("invalid_arguments", f"missing path parameters {missing}")
    path = _PLACEHOLDER.sub(lambda m: segments[m.group(1)], binding.path)
    base_path = base.raw_path.split(b"?", 1)[0].decode("ascii").rstrip("/")
    try:
        url = base.copy_with(raw_path=f"{base_path}/{path.lstrip('/')}".encode("ascii"))
    except (httpx.InvalidURL, UnicodeEncodeError) as exc:
        raise ExecutionFailure("invalid_arguments", f"cannot build the URL: {exc}") from None
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        raise ExecutionFailure("host_not_allowed", f"request would go to {url.host!r}")
    expected = base_path.count("/") + 1 + binding.path.lstrip("/").count("/")
    if url.raw_path.split(b"?", 1)[0].count(b"/") != expected:
        raise ExecutionFailure("invalid_arguments", "arguments would change the URL path")

    secret = ""
    if binding.auth_env:
        secret = os.environ.get(binding.auth_env, "")
        if not secret:
            raise ExecutionFailure(
                "no_binding", f"credential variable {binding.auth_env} is not set"
            )
        headers[binding.auth_header or "Authorization"] = secret
    return _Request(
        method=binding.method.upper(),
        url=url,
        params=params,
        headers=headers,
        body=body,
        api_id=spec.id,
        secret=secret,
    )
