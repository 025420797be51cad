"""RestExecutor against the real local REST service (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import unquote

import httpx
import pytest

from executors import (
    REDACTED,
    ApiSpec,
    NetworkPolicy,
    Rate,
    RateLimits,
    RestBinding,
    RestExecutor,
    RestParameter,
)
from executors._rest import default_client, parse_retry_after

from .rest_server import RunningService

Location = Literal["path", "query", "header", "body"]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def rest_spec(
    base_url: str,
    method: str,
    path: str,
    params: dict[str, Location] | None = None,
    *,
    wire: dict[str, str] | None = None,
    auth_env: str = "",
    auth_header: str = "",
    name: str = "call",
) -> ApiSpec:
    params = params or {}
    wire = wire or {}
    return ApiSpec.create(
        name=name,
        description="test API",
        parameters={"type": "object", "properties": {p: {} for p in params}},
        source="test",
        binding=RestBinding(
            base_url=base_url,
            method=method,
            path=path,
            parameters=tuple(RestParameter(p, loc, wire.get(p, "")) for p, loc in params.items()),
            auth_env=auth_env,
            auth_header=auth_header,
        ),
    )


class FakeSleep:
    """Records requested delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# The local service is on loopback, which hosts from data may not reach: these tests allow it
# as a user would (--allow-host 127.0.0.1); tests/security/test_network_policy.py holds the
# refusals.
LOOPBACK = NetworkPolicy.from_hosts(["127.0.0.1"])

ClientFactory = Callable[[], httpx.AsyncClient]
CLIENTS: dict[str, ClientFactory] = {
    "httpx-aiohttp": lambda: default_client(policy=LOOPBACK),
    "httpx-native": lambda: httpx.AsyncClient(trust_env=False),
}


@asynccontextmanager
async def executor(
    client: httpx.AsyncClient | None = None, **kwargs: Any
) -> AsyncIterator[RestExecutor]:
    ex = RestExecutor(client=client, **{"policy": LOOPBACK, **kwargs})
    try:
        yield ex
    finally:
        await ex.aclose()
        if client is not None:
            await client.aclose()


def key() -> str:
    return uuid.uuid4().hex


@pytest.mark.parametrize("transport", sorted(CLIENTS))
async def test_get_with_path_and_query(rest_service: RunningService, transport: str) -> None:
    base = rest_service.base_url
    async with executor(CLIENTS[transport]()) as ex:
        by_symbol = await ex.execute(
            rest_spec(base, "GET", "/elements/{symbol}", {"symbol": "path"}), {"symbol": "Fe"}
        )
        countries = await ex.execute(
            rest_spec(base, "GET", "/countries", {"continent": "query"}), {"continent": "Oceania"}
        )
    assert by_symbol.ok, by_symbol
    assert by_symbol.result["name"] == "Iron"
    assert by_symbol.latency_s > 0
    assert {c["alpha2"] for c in countries.result} == {"AU", "NZ"}


async def test_post_json_body(rest_service: RunningService) -> None:
    spec = rest_spec(rest_service.base_url, "POST", "/chemistry/molar-mass", {"formula": "body"})
    async with executor() as ex:
        outcome = await ex.execute(spec, {"formula": "H2O"})
    assert outcome.ok, outcome
    assert outcome.result["molar_mass_g_mol"] == pytest.approx(18.015, abs=1e-3)


async def test_every_placement_reaches_the_server(rest_service: RunningService) -> None:
    spec = rest_spec(
        rest_service.base_url,
        "POST",
        "/_test/echo/{item}/detail",
        {"item": "path", "tags": "query", "flag": "query", "trace": "header", "n": "body"},
        wire={"item": "item", "trace": "X-Trace-Id", "n": "count"},
    )
    async with executor() as ex:
        outcome = await ex.execute(
            spec, {"item": "a b", "tags": ["x", "y"], "flag": True, "trace": "t-1", "n": 3}
        )
    assert outcome.ok, outcome
    echo = outcome.result
    assert echo["raw_path"] == "/_test/echo/a%20b/detail"
    assert echo["query"] == [["tags", "x"], ["tags", "y"], ["flag", "true"]]
    assert echo["headers"]["x-trace-id"] == "t-1"
    assert json.loads(echo["body"]) == {"count": 3}


async def test_whole_body_parameter(rest_service: RunningService) -> None:
    spec = rest_spec(
        rest_service.base_url, "POST", "/_test/echo/raw", {"items": "body"}, wire={"items": "*"}
    )
    async with executor() as ex:
        outcome = await ex.execute(spec, {"items": [1, 2, 3]})
    assert json.loads(outcome.result["body"]) == [1, 2, 3]


async def test_404_is_http_error_without_retry(rest_service: RunningService) -> None:
    marker = f"Q{key()[:2]}"
    spec = rest_spec(rest_service.base_url, "GET", "/elements/{symbol}", {"symbol": "path"})
    sleep = FakeSleep()
    async with executor(sleep=sleep) as ex:
        outcome = await ex.execute(spec, {"symbol": marker})
    assert (outcome.ok, outcome.reason) == (False, "http_error")
    assert outcome.message.startswith("HTTP 404 Not Found:")
    assert "no element with symbol" in outcome.message
    assert sleep.delays == [] and ex.retries_total == 0
    assert len(rest_service.log.matching(f"/elements/{marker}")) == 1


async def test_5xx_is_retried_then_http_error(rest_service: RunningService) -> None:
    spec = rest_spec(
        rest_service.base_url, "GET", "/_test/status/{code}", {"code": "path", "k": "query"}
    )
    sleep = FakeSleep()
    k = key()
    async with executor(sleep=sleep, retries=2, backoff_base_s=0.5, random=lambda: 1.0) as ex:
        outcome = await ex.execute(spec, {"code": 503, "k": k})
    assert (outcome.reason, ex.retries_total, ex.requests_total) == ("http_error", 2, 3)
    assert "HTTP 503" in outcome.message and "after 3 attempts" in outcome.message
    assert sleep.delays == [0.5, 1.0]  # exponential, full jitter at its maximum
    assert sum(k in r.query for r in rest_service.log.records) == 3


async def test_5xx_then_success(rest_service: RunningService) -> None:
    spec = rest_spec(
        rest_service.base_url,
        "GET",
        "/_test/flaky",
        {"key": "query", "failures": "query", "status": "query"},
    )
    async with executor(sleep=FakeSleep()) as ex:
        outcome = await ex.execute(spec, {"key": key(), "failures": 2, "status": 502})
    assert outcome.ok and outcome.result["attempt"] == 3


async def test_429_retry_after_seconds_is_honoured(rest_service: RunningService) -> None:
    spec = rest_spec(
        rest_service.base_url, "GET", "/_test/flaky", {"key": "query", "retry_after": "query"}
    )
    k = key()
    async with executor(backoff_max_s=5) as ex:
        started = time.monotonic()
        outcome = await ex.execute(spec, {"key": k, "retry_after": 1})
        elapsed = time.monotonic() - started
    assert outcome.ok, outcome
    assert elapsed >= 1.0
    hits = [r.time for r in rest_service.log.records if k in r.query]
    assert len(hits) == 2 and hits[1] - hits[0] >= 1.0


async def test_429_retry_after_http_date(rest_service: RunningService) -> None:
    spec = rest_spec(
        rest_service.base_url,
        "GET",
        "/_test/flaky",
        {"key": "query", "retry_after": "query", "http_date": "query"},
    )
    sleep = FakeSleep()
    async with executor(sleep=sleep, random=lambda: 0.0) as ex:
        outcome = await ex.execute(spec, {"key": key(), "retry_after": 3, "http_date": True})
    assert outcome.ok
    assert len(sleep.delays) == 1 and 1.0 < sleep.delays[0] <= 3.0


async def test_429_persisting_is_rate_limited(rest_service: RunningService) -> None:
    spec = rest_spec(rest_service.base_url, "GET", "/_test/status/429")
    sleep = FakeSleep()
    async with executor(sleep=sleep, retries=2) as ex:
        outcome = await ex.execute(spec, {})
    assert outcome.reason == "rate_limited" and len(sleep.delays) == 2


async def test_retry_after_beyond_backoff_max_gives_up(rest_service: RunningService) -> None:
    spec = rest_spec(rest_service.base_url, "GET", "/_test/status/429", {"retry_after": "query"})
    sleep = FakeSleep()
    async with executor(sleep=sleep, backoff_max_s=10) as ex:
        outcome = await ex.execute(spec, {"retry_after": "120"})
    assert outcome.reason == "rate_limited"
    assert "backoff_max_s" in outcome.message
    assert sleep.delays == [] and ex.requests_total == 1


@pytest.mark.parametrize("transport", sorted(CLIENTS))
async def test_slow_response_times_out(rest_service: RunningService, transport: str) -> None:
    spec = rest_spec(rest_service.base_url, "GET", "/_test/slow", {"seconds": "query"})
    async with executor(CLIENTS[transport](), timeout_s=0.3, retries=0) as ex:
        outcome = await ex.execute(spec, {"seconds": 2})
    assert outcome.reason == "timeout", outcome
    assert outcome.latency_s < 1.5


async def test_trickling_body_hits_the_total_deadline(rest_service: RunningService) -> None:
    # Each chunk arrives well within a per-read timeout; only a total deadline stops it.
    spec = rest_spec(
        rest_service.base_url, "GET", "/_test/trickle", {"chunks": "query", "interval": "query"}
    )
    async with executor(timeout_s=0.5, retries=0) as ex:
        outcome = await ex.execute(spec, {"chunks": 20, "interval": 0.1})
    assert outcome.reason == "timeout"


@pytest.mark.parametrize("declare_length", [False, True])
async def test_huge_response_is_result_too_large(
    rest_service: RunningService, declare_length: bool
) -> None:
    spec = rest_spec(
        rest_service.base_url, "GET", "/_test/huge", {"size": "query", "declare_length": "query"}
    )
    async with executor(max_response_bytes=1 << 20) as ex:
        outcome = await ex.execute(spec, {"size": 3 << 20, "declare_length": declare_length})
        small = await ex.execute(spec, {"size": 1000, "declare_length": declare_length})
    assert outcome.reason == "result_too_large"
    assert small.ok and small.result == "a" * 1000


@pytest.mark.parametrize("transport", sorted(CLIENTS))
async def test_unreachable_host_is_connection_error(transport: str) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleep = FakeSleep()
    async with executor(CLIENTS[transport](), sleep=sleep, retries=1) as ex:
        outcome = await ex.execute(rest_spec(f"http://127.0.0.1:{port}", "GET", "/x"), {})
    assert outcome.reason == "connection_error", outcome
    assert len(sleep.delays) == 1


async def test_redirect_is_not_followed(rest_service: RunningService) -> None:
    async with executor() as ex:
        outcome = await ex.execute(rest_spec(rest_service.base_url, "GET", "/_test/redirect"), {})
    assert outcome.reason == "http_error" and "302" in outcome.message


async def test_argument_errors_send_nothing(rest_service: RunningService) -> None:
    spec = rest_spec(rest_service.base_url, "GET", "/elements/{symbol}", {"symbol": "path"})
    async with executor() as ex:
        unknown = await ex.execute(spec, {"symbol": "Fe", "evil": 1})
        missing = await ex.execute(spec, {})
        dots = [await ex.execute(spec, {"symbol": v}) for v in (".", "..", "")]
        listed = await ex.execute(spec, {"symbol": ["Fe"]})
    assert unknown.reason == "invalid_arguments" and "evil" in unknown.message
    assert missing.reason == "invalid_arguments" and "symbol" in missing.message
    assert [o.reason for o in dots] == ["invalid_arguments"] * 3
    assert listed.reason == "invalid_arguments"
    assert ex.requests_total == 0


async def test_bindings_that_are_not_allowed() -> None:
    plain = ApiSpec.create(name="f", description="", parameters={"type": "object"})
    async with executor() as ex:
        no_binding = await ex.execute(plain, {})
        ftp = await ex.execute(rest_spec("ftp://127.0.0.1", "GET", "/x"), {})
        host_header = await ex.execute(
            rest_spec("http://127.0.0.1:9", "GET", "/x", {"h": "header"}, wire={"h": "Host"}),
            {"h": "evil.example"},
        )
    assert no_binding.reason == "no_binding"
    assert ftp.reason == "host_not_allowed"
    assert host_header.reason == "host_not_allowed"


INJECTIONS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f",
    "%2e%2e",
    "/absolute",
    "http://evil.example/",
    "//evil.example/x",
    "@evil.example",
    "user:pass@evil.example",
    "evil.example:80",
    "?x=1#frag",
    "#fragment",
    "a;b",
    "; rm -rf / #",
    "$(id)",
    "`id`",
    "a|b&c>d<e",
    "..\\..\\windows\\system32",
    "a\r\nHost: evil.example",
    "\x00nul",
    "ünïcødé/\u2215",
    "%00",
    "...",
]


@pytest.mark.parametrize("transport", sorted(CLIENTS))
async def test_injection_corpus_never_changes_host_or_path_shape(
    rest_service: RunningService, transport: str
) -> None:
    base = rest_service.base_url
    spec = rest_spec(
        base, "GET", "/_test/echo/{id}/tail", {"id": "path", "q": "query", "h": "header"}
    )
    netloc = base.removeprefix("http://")
    async with executor(CLIENTS[transport]()) as ex:
        for value in INJECTIONS:
            k = key()
            outcome = await ex.execute(spec, {"id": value, "q": value + k})
            # Starlette's {rest:path} does not match a decoded newline: the route 404s, but
            # the request log below still shows what arrived.
            newline = "\n" in value or "\r" in value
            assert outcome.ok or (newline and "404" in outcome.message), (value, outcome)
            got = [r for r in rest_service.log.records if k in unquote(r.query)]
            assert len(got) == 1, value
            record = got[0]
            assert record.headers["host"] == netloc
            segments = record.raw_path.split("/")
            assert segments[:3] == ["", "_test", "echo"] and segments[4:] == ["tail"], value
            assert unquote(segments[3]) == value
            assert unquote(record.query.replace("+", " ")).endswith(f"q={value}{k}")
            if not newline:
                assert dict(outcome.result["query"])["q"] == value + k

            header = await ex.execute(spec, {"id": "x", "h": value})
            if any(c in value for c in "\r\n\x00"):
                assert header.reason == "invalid_arguments", value
            elif value.isascii():
                assert header.ok and header.result["headers"]["h"] == value


async def test_credential_is_sent_but_never_in_outcomes(
    rest_service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"sk-{key()}"
    env = "APIGEN_TEST_REST_KEY"
    monkeypatch.setenv(env, secret)
    base = rest_service.base_url
    echo = rest_spec(
        base, "GET", "/_test/echo/{x}", {"x": "path"}, auth_env=env, auth_header="X-Api-Key"
    )
    error = rest_spec(
        base, "GET", "/elements/{symbol}", {"symbol": "path"}, auth_env=env, auth_header="X-Api-Key"
    )
    async with executor() as ex:
        outcomes = [
            await ex.execute(echo, {"x": "1"}),
            await ex.execute(echo, {"x": secret}),
            await ex.execute(error, {"symbol": secret[:3]}),
            await ex.execute(error, {"symbol": secret}),
        ]
        monkeypatch.delenv("APIGEN_TEST_REST_KEY")
        unset = await ex.execute(echo, {"x": "1"})
    assert outcomes[0].ok and outcomes[0].result["headers"]["x-api-key"] == REDACTED
    for outcome in outcomes:
        dumped = json.dumps([outcome.result, outcome.message, repr(outcome)])
        assert secret not in dumped
    assert unset.reason == "no_binding" and "APIGEN_TEST_REST_KEY" in unset.message
    assert secret not in repr(ex)
    assert any(r.headers.get("x-api-key") == secret for r in rest_service.log.records)


async def test_host_rate_limit_is_respected(rest_service: RunningService) -> None:
    import anyio

    limits = RateLimits.from_mapping({"hosts": {"127.0.0.1": {"max_rate": 5, "time_period": 1}}})
    spec = rest_spec(rest_service.base_url, "GET", "/_test/echo/rate/{k}", {"k": "path"})
    k = key()
    async with executor(limits=limits) as ex, anyio.create_task_group() as tg:
        for _ in range(15):
            tg.start_soon(ex.execute, spec, {"k": k})
    times = sorted(r.time for r in rest_service.log.matching(f"/_test/echo/rate/{k}"))
    assert len(times) == 15
    # No window of (1 s - slack) holds more than 5 requests.
    assert min(times[i + 5] - times[i] for i in range(len(times) - 5)) >= 0.95
    assert ex.rate_limit_wait_seconds_total > 2.0


async def test_api_rate_limit_and_concurrency_bound(rest_service: RunningService) -> None:
    import anyio

    spec = rest_spec(rest_service.base_url, "GET", "/_test/slow", {"seconds": "query"})
    limits = RateLimits(apis={spec.id: Rate(20, 1.0)}, concurrency_per_host=2)
    peak = 0
    async with executor(limits=limits) as ex:

        async def call() -> None:
            nonlocal peak
            await ex.execute(spec, {"seconds": 0.1})

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, ex.in_flight)
                await anyio.sleep(0.01)

        async with anyio.create_task_group() as outer:
            outer.start_soon(watch)
            async with anyio.create_task_group() as tg:
                for _ in range(6):
                    tg.start_soon(call)
            outer.cancel_scope.cancel()
    assert peak == 2
    assert ex.requests_total == 6 and "requests=6" in repr(ex)


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("5", now=now) == 5.0
    assert parse_retry_after(" 0 ", now=now) == 0.0
    assert parse_retry_after("-1", now=now) is None
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now=now) == pytest.approx(10.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now=now) == 0.0


def test_rate_limits_from_mapping() -> None:
    from executors import SpecError

    limits = RateLimits.from_mapping(
        {"hosts": {"a.example": [2, 1]}, "apis": {"x": 3}, "default_host": {"max_rate": 9}}
    )
    assert limits.host_limiter("a.example", 443) is limits.host_limiter("a.example", 443)
    assert limits.host_limiter("b.example", None) is not None
    assert limits.api_limiter("x") is not None and limits.api_limiter("y") is None
    assert RateLimits().host_limiter("a.example", None) is None
    with pytest.raises(SpecError):
        RateLimits.from_mapping({"hosts": {"a": "fast"}})
    with pytest.raises(SpecError):
        RateLimits.from_mapping({"per_host": {}})
    with pytest.raises(ValueError):
        Rate(0)


async def test_specs_converted_from_the_services_openapi_document(
    rest_service: RunningService,
) -> None:
    from executors.converters.openapi import specs_from_openapi

    async with httpx.AsyncClient(trust_env=False) as client:
        document = (await client.get(f"{rest_service.base_url}/openapi.json")).json()
    specs = {s.name: s for s in specs_from_openapi(document, base_url=rest_service.base_url)}
    assert len(specs) >= 30
    async with executor() as ex:
        weight = await ex.execute(specs["planet_surface_weight"], {"name": "Mars", "mass_kg": 70})
        molar = await ex.execute(specs["compute_molar_mass"], {"formula": "C6H12O6"})
        missing = await ex.execute(specs["get_country"], {"code": "XX"})
    assert weight.ok and weight.result["weight_newtons"] == pytest.approx(259.0)
    assert molar.ok and molar.result["molar_mass_g_mol"] == pytest.approx(180.156, abs=1e-3)
    assert missing.reason == "http_error" and "404" in missing.message


def test_nan_and_infinity_in_a_json_body_read_as_null() -> None:
    """They are not JSON; the log writes them as null, so the executor reads them so too
    (a stage taking the event from memory must see what one decoding the log sees)."""
    import httpx

    from executors._rest import _decode

    body = b'{"x": NaN, "y": [Infinity, -Infinity, 1.5]}'
    response = httpx.Response(200, headers={"content-type": "application/json"}, content=body)
    assert _decode(response, body) == {"x": None, "y": [None, None, 1.5]}
