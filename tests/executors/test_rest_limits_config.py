"""REST limits from the config (`[executors.hosts."HOST"]`) against the real local service:
rates and concurrency as the server saw them, retries with Retry-After, metrics, bad fields.

aiolimiter schedules on the event loop's own clock, so rates are measured on the server's
arrival times with generous bounds; retry delays go through the executor's injectable sleep.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from prometheus_client import REGISTRY

from executors import ApiLibrary, NetworkPolicy, RateLimits, RestExecutor
from streamer.pipeline._build import open_execution
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._model_config import ConfigError

from .rest_server import RunningService
from .test_rest_executor import FakeSleep, Location, rest_spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def config_file(tmp_path: Path, body: str) -> PipelineConfig:
    path = tmp_path / "apigen.toml"
    path.write_text(body, encoding="utf-8")
    return load_config(path)


@asynccontextmanager
async def configured(config: PipelineConfig, **kwargs: Any) -> AsyncIterator[RestExecutor]:
    """A RestExecutor built as the pipeline builds it from ``config``."""
    executor = RestExecutor(
        limits=RateLimits(host_limits=config.host_limits),
        policy=NetworkPolicy.from_hosts(config.allow_hosts),
        **kwargs,
    )
    try:
        yield executor
    finally:
        await executor.aclose()


def arrivals(service: RunningService, prefix: str) -> list[float]:
    return sorted(r.time for r in service.log.matching(prefix))


def metric(name: str, **labels: str) -> float:
    """The sum of ``name``'s samples that have ``labels`` (over stages and versions)."""
    return sum(
        s.value
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


async def test_configured_rate_is_honoured_on_the_wire(
    tmp_path: Path, rest_service: RunningService
) -> None:
    config = config_file(
        tmp_path,
        '[executors]\nallow_hosts = ["127.0.0.1"]\n'
        '[executors.hosts."*"]\nrequests_per_s = 1000\n'
        '[executors.hosts."127.0.0.1"]\nrequests_per_s = 10\n',
    )
    k = uuid.uuid4().hex
    spec = rest_spec(rest_service.base_url, "GET", "/_test/echo/rate/{k}", {"k": "path"})
    waited = metric(
        "apigen_executor_rate_limit_wait_duration_seconds_count", kind="rest", host="127.0.0.1"
    )
    async with configured(config) as ex, anyio.create_task_group() as tg:
        for _ in range(11):
            tg.start_soon(ex.execute, spec, {"k": k})
    times = arrivals(rest_service, f"/_test/echo/rate/{k}")
    assert len(times) == 11
    # Ten gaps of 0.1 s: evenly spaced, no burst (a bucket of 10 would send 10 at once);
    # any five gaps span 0.5 s, less the scheduling jitter of one arrival.
    assert times[-1] - times[0] >= 0.9
    assert min(times[i + 5] - times[i] for i in range(len(times) - 5)) >= 0.4
    assert ex.rate_limit_wait_seconds_total >= 3.0  # 0.1 + 0.2 + ... + 1.0, summed
    after = metric(
        "apigen_executor_rate_limit_wait_duration_seconds_count", kind="rest", host="127.0.0.1"
    )
    assert after - waited == 11


async def test_configured_concurrency_is_honoured_by_the_server(
    tmp_path: Path, rest_service: RunningService
) -> None:
    config = config_file(
        tmp_path,
        '[executors]\nallow_hosts = ["127.0.0.1"]\n'
        '[executors.hosts."*"]\nmax_concurrency = 2\n',  # the default entry applies
    )
    k = uuid.uuid4().hex
    spec = rest_spec(
        rest_service.base_url, "GET", "/_test/slow", {"seconds": "query", "k": "query"}
    )
    async with configured(config) as ex, anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(ex.execute, spec, {"seconds": 0.3, "k": k})
    times = [r.time for r in rest_service.log.records if k in r.query]
    times.sort()
    assert len(times) == 6
    # A third request arrives only after one of the first two answered (0.3 s each).
    assert min(times[i + 2] - times[i] for i in range(4)) >= 0.25
    entry, limits = ex.limits.host("127.0.0.1", int(rest_service.base_url.rsplit(":", 1)[1]))
    assert (entry, limits.max_concurrency) == ("*", 2)


async def test_per_host_retries_honour_retry_after(
    tmp_path: Path, rest_service: RunningService
) -> None:
    port = rest_service.base_url.rsplit(":", 1)[1]
    config = config_file(
        tmp_path,
        f'[executors]\nallow_hosts = ["127.0.0.1", "localhost:{port}"]\n'
        '[executors.hosts."127.0.0.1"]\nretries = 2\nbackoff_s = 0.5\nbackoff_max_s = 5\n'
        f'[executors.hosts."localhost:{port}"]\nretries = 0\n',
    )
    params: dict[str, Location] = dict.fromkeys(
        ("key", "failures", "status", "retry_after"), "query"
    )
    flaky = rest_spec(rest_service.base_url, "GET", "/_test/flaky", params)
    other = rest_spec(f"http://localhost:{port}", "GET", "/_test/flaky", params)
    sleep = FakeSleep()
    retries_before = metric("apigen_executor_retries_total", kind="rest")
    requests_before = metric("apigen_executor_requests_total", kind="rest")
    async with configured(config, sleep=sleep, random=lambda: 1.0) as ex:
        limited = await ex.execute(
            flaky, {"key": uuid.uuid4().hex, "failures": 2, "status": 429, "retry_after": 3}
        )
        unavailable = await ex.execute(
            flaky, {"key": uuid.uuid4().hex, "failures": 1, "status": 503}
        )
        assert (limited.ok, limited.result["attempt"]) == (True, 3)
        assert unavailable.ok and unavailable.result["attempt"] == 2
        # Retry-After (3 s) wins over the backoff (0.5 s, then 1 s); a 503 without one
        # waits the backoff (full jitter at its maximum: 0.5 s).
        assert sleep.delays == [3.0, 3.0, 0.5]
        too_long = await ex.execute(
            flaky, {"key": uuid.uuid4().hex, "failures": 1, "status": 429, "retry_after": 9}
        )
        assert too_long.reason == "rate_limited"
        assert "Retry-After exceeds backoff_max_s=5.0" in too_long.message
        no_retry = await ex.execute(other, {"key": uuid.uuid4().hex, "failures": 1, "status": 503})
        assert no_retry.reason == "http_error" and "after 1 attempts" in no_retry.message
    assert sleep.delays == [3.0, 3.0, 0.5]
    assert metric("apigen_executor_retries_total", kind="rest") - retries_before == 3
    assert metric("apigen_executor_requests_total", kind="rest") - requests_before == 3 + 2 + 1 + 1


async def test_the_pipeline_builds_its_rest_executor_from_the_config(tmp_path: Path) -> None:
    config = config_file(
        tmp_path,
        f'out = "{tmp_path / "out"}"\n'
        '[executors.hosts."*"]\nrequests_per_s = 4\nretries = 1\n'
        '[executors.hosts."api.example.com:8443"]\nmax_concurrency = 3\nbackoff_s = 2\n',
    )
    async with AsyncExitStack() as stack:
        checker = await open_execution(config, stack, ApiLibrary.builtin(), use_cache=False)
        rest = checker.executor.executors["rest"]  # type: ignore[attr-defined]
        assert isinstance(rest, RestExecutor)
        entry, limits = rest.limits.host("API.example.com", 8443)
        assert entry == "api.example.com:8443"
        assert (limits.requests_per_s, limits.max_concurrency, limits.retries) == (4.0, 3, 1)
        assert limits.backoff_s == 2.0
        assert rest.limits.host("api.example.com", 443)[0] == "*"
        assert rest.limits.host_limiter("a.example", 443) is not rest.limits.host_limiter(
            "b.example", 443
        )  # the default limits each host apart


A = '[executors.hosts."a.example"]\n'
STAR = '[executors.hosts."*"]\n'
BAD_LIMITS = {
    A + 'requests_per_s = "fast"': r'hosts\."a\.example"\.requests_per_s: expected float',
    A + "requests_per_s = -1": r'"a\.example"\.requests_per_s: -1\.0 is not a number >= 0',
    STAR + "max_concurrency = 0": r'hosts\."\*"\.max_concurrency: 0 is not an integer >= 1',
    STAR + "max_concurrency = 1.5": r'hosts\."\*"\.max_concurrency: expected int',
    STAR + "retries = -1": r"retries: -1 is not an integer >= 0",
    STAR + "backoff_s = nan": r"backoff_s: nan is not seconds >= 0",
    STAR + "backoff_max_s = 0": r"backoff_max_s: 0\.0 is not seconds > 0",
    STAR + "rate = 5": r"hosts\.\"\*\": unknown field\(s\) \['rate'\]",
    '[executors.hosts."http://a.example"]\nretries = 1': r'"http://a\.example": .*no scheme',
    '[executors.hosts."a.example:99999"]\nretries = 1': r"port '99999' is not a TCP port",
    "[executors]\nhosts = 5": r"executors\.hosts: expected tables",
    '[executors.hosts]\n"a.example" = 5': r'"a\.example": expected a table of limits',
}


@pytest.mark.parametrize(("body", "message"), BAD_LIMITS.items())
def test_a_bad_limit_names_its_field(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        config_file(tmp_path, body)
    assert str(raised.value).startswith(str(tmp_path / "apigen.toml"))


def test_limits_merge_over_the_default_entry() -> None:
    from executors import HostLimits

    limits = RateLimits(
        host_limits={
            "*": HostLimits(requests_per_s=5, retries=1),
            "a.example": HostLimits(max_concurrency=2),
        }
    )
    entry, merged = limits.host("a.example", 443)
    assert entry == "a.example"
    assert (merged.requests_per_s, merged.max_concurrency, merged.retries) == (5, 2, 1)
    assert limits.host("b.example", 443)[1].max_concurrency == 16  # built-in default
    assert "hosts=1" in repr(limits)
    with pytest.raises(ValueError, match="requests_per_s"):
        HostLimits(requests_per_s=float("inf"))
