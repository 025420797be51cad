"""ResultCache (memory and SQLite) with a fake clock, and the Dispatcher in front of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from executors import REASONS, ApiSpec, McpBinding, Outcome, PythonBinding
from executors._cache import ResultCache
from executors._dispatch import Dispatcher


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def spec(name: str = "f", version: str = "1") -> ApiSpec:
    return ApiSpec(
        name=name,
        description="",
        parameters={"type": "object"},
        binding=PythonBinding(module="m", function=name),
        source="python:test",
        version=version,
    )


@pytest.fixture(params=["memory", "sqlite"])
def make_cache(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    def make(**kwargs: Any) -> ResultCache:
        path = tmp_path / "cache.sqlite" if request.param == "sqlite" else None
        return ResultCache(path=path, **kwargs)

    return make


def test_hit_is_marked_cached_with_zero_latency(make_cache: Any) -> None:
    cache = make_cache()
    assert cache.get(spec(), {"a": 1}) is None
    cache.put(spec(), {"a": 1}, Outcome.success({"x": [1, 2]}, latency_s=0.5))
    hit = cache.get(spec(), {"a": 1})
    assert hit == Outcome(ok=True, result={"x": [1, 2]}, latency_s=0.0, cached=True)
    assert (cache.hits, cache.misses) == (1, 1)
    assert "entries=1/" in repr(cache)


def test_key_is_canonical_and_versioned(make_cache: Any) -> None:
    cache = make_cache()
    cache.put(spec(), {"a": 1, "b": {"y": 2, "x": 1}}, Outcome.success(3))
    assert cache.get(spec(), {"b": {"x": 1, "y": 2}, "a": 1}) is not None
    assert cache.get(spec(version="2"), {"a": 1, "b": {"y": 2, "x": 1}}) is None
    assert cache.get(spec("g"), {"a": 1, "b": {"y": 2, "x": 1}}) is None
    assert cache.get(spec(), {"a": 2, "b": {"y": 2, "x": 1}}) is None


def test_ttl_expires_entries(make_cache: Any) -> None:
    clock = FakeClock()
    cache = make_cache(ttl_s=10, clock=clock)
    cache.put(spec(), {}, Outcome.success(1))
    clock.now += 9.9
    assert cache.get(spec(), {}) is not None
    clock.now += 0.1
    assert cache.get(spec(), {}) is None
    assert len(cache) == 0


def test_lru_evicts_least_recently_used(make_cache: Any) -> None:
    clock = FakeClock()
    cache = make_cache(max_entries=2, clock=clock)
    for n in (1, 2):
        clock.now += 1
        cache.put(spec(), {"n": n}, Outcome.success(n))
    clock.now += 1
    assert cache.get(spec(), {"n": 1}) is not None  # 1 is now more recent than 2
    clock.now += 1
    cache.put(spec(), {"n": 3}, Outcome.success(3))
    assert len(cache) == 2
    assert cache.get(spec(), {"n": 2}) is None
    assert cache.get(spec(), {"n": 1}) is not None
    assert cache.get(spec(), {"n": 3}) is not None


@pytest.mark.parametrize(
    ("reason", "cached"),
    [("function_error", True), ("invalid_arguments", True), ("timeout", False)],
)
def test_only_deterministic_failures_are_cached(make_cache: Any, reason: str, cached: bool) -> None:
    cache = make_cache()
    cache.put(spec(), {}, Outcome.failure(reason, "boom", latency_s=1.0))
    hit = cache.get(spec(), {})
    assert (hit is not None) is cached
    if hit is not None:
        assert (hit.ok, hit.reason, hit.message, hit.cached) == (False, reason, "boom", True)


def test_failure_caching_is_configurable(make_cache: Any) -> None:
    cache = make_cache(cache_failures=())
    cache.put(spec(), {}, Outcome.failure("function_error", "boom"))
    assert cache.get(spec(), {}) is None


def test_sqlite_cache_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    writer = ResultCache(path=path)
    writer.put(spec(), {"q": "x"}, Outcome.success("answer"))
    writer.close()
    reader = ResultCache(path=path)
    hit = reader.get(spec(), {"q": "x"})
    assert hit is not None and hit.result == "answer" and hit.cached
    reader.close()


class CountingExecutor:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.calls = 0
        self.closed = False

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        self.calls += 1
        return self.outcome

    async def aclose(self) -> None:
        self.closed = True


class RaisingExecutor(CountingExecutor):
    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        raise RuntimeError("bug")


@pytest.mark.anyio
async def test_dispatcher_routes_by_kind_and_consults_the_cache() -> None:
    python = CountingExecutor(Outcome.success(42, latency_s=0.1))
    async with Dispatcher(python=python, cache=ResultCache()) as dispatcher:
        first = await dispatcher.execute(spec(), {"a": 1})
        second = await dispatcher.execute(spec(), {"a": 1})
        assert (first.result, first.cached, second.result, second.cached) == (42, False, 42, True)
        assert python.calls == 1
        mcp_spec = ApiSpec(
            name="t", description="", parameters={"type": "object"}, binding=McpBinding("s", "t")
        )
        assert (await dispatcher.execute(mcp_spec, {})).reason == "no_binding"
        unbound = ApiSpec(name="u", description="", parameters={"type": "object"})
        assert (await dispatcher.execute(unbound, {})).reason == "no_binding"
    assert python.closed


@pytest.mark.anyio
async def test_dispatcher_contains_a_raising_executor() -> None:
    dispatcher = Dispatcher(python=RaisingExecutor(Outcome.success(1)))
    outcome = await dispatcher.execute(spec(), {})
    assert (outcome.reason, outcome.message) == ("executor_error", "RuntimeError: bug")
    assert outcome.reason in REASONS
    await dispatcher.aclose()
