"""Prometheus metrics of the executors: calls, latency, cache, attempts, retries, waits.

One :class:`ExecutorMetrics` object holds the families; the executors use the process-wide
one from :func:`executor_metrics` (on ``prometheus_client.REGISTRY``, which ``apigen``
serves at ``/metrics``). Children are bound once per executor kind (:meth:`for_kind`) and
metric scope, so a call costs a context-variable read, a few counter increments and one
histogram observation.

Every family carries ``stage`` and ``version``: the stage (name and version string) whose
work made the call, taken from the :func:`metric_scope` the stage runner enters around a
stage's run. Calls made outside any stage (``apigen check``, scripts, tests) are
``stage="none", version="none"``. Names and versions come from the configuration, and at
most :data:`MAX_SCOPES` distinct pairs are kept per process (later ones are ``other``), so
the labels stay bounded. Usage::

    with metric_scope("execution", "execution-v1-3f2a"):
        await dispatcher.execute(spec, arguments)   # counted under stage="execution"

Families (labels are bounded: ``kind`` is ``python``/``rest``/``mcp``, ``outcome`` is
``ok`` or a reason code of :data:`executors.REASONS`, ``result`` is ``hit``/``miss``,
``host`` is a host entry of the configured limits — ``[executors.hosts."..."]``, as many
as the config has — or ``*`` for every other host; ``stage, version`` on all of them)::

    apigen_executor_calls_total{kind, outcome}              calls executed (cache hits excluded)
    apigen_executor_call_duration_seconds{kind}             wall time of executed calls
    apigen_executor_cache_requests_total{result}            result-cache lookups
    apigen_executor_requests_total{kind}                    attempts sent (first tries + retries)
    apigen_executor_retries_total{kind}                     retried attempts
    apigen_executor_rate_limit_wait_seconds_total{kind}     time spent waiting for rate limits
    apigen_executor_rate_limit_wait_duration_seconds{kind, host}
                                                            wait of each rate-limited attempt
    apigen_executor_worker_restarts_total{kind}             worker processes (python) or MCP
                                                            servers (mcp) restarted

``retries / requests`` is the share of attempts that were repeats; the wait histogram
observes only attempts that a rate limit applied to (an unlimited host adds nothing).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from ._errors import REASONS
from ._metric_scope import (
    MAX_SCOPES,
    SCOPE_LABELS,
    ScopedCounter,
    ScopedCounters,
    ScopedHistogram,
    ScopeGroup,
    current_scope,
    metric_scope,
)

__all__ = [
    "EXECUTOR_LATENCY_BUCKETS",
    "MAX_SCOPES",
    "ExecutorMetrics",
    "KindMetrics",
    "current_scope",
    "executor_metrics",
    "metric_scope",
]

EXECUTOR_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""Histogram buckets in seconds: in-process calls take ~0.2 ms, remote ones up to timeouts."""

_OUTCOMES = ("ok", *REASONS)
_S = list(SCOPE_LABELS)


@dataclass(frozen=True, slots=True)
class KindMetrics:
    """The children of one executor kind, bound once; each resolves the current
    :func:`metric_scope` when it counts, and the first use in a scope binds all of them
    there (``group``), so a dashboard shows the others at 0."""

    kind: str
    calls: ScopedCounters
    duration: ScopedHistogram
    requests: ScopedCounter
    retries: ScopedCounter
    rate_limit_wait: ScopedCounter
    worker_restarts: ScopedCounter
    wait_durations: Histogram
    group: ScopeGroup

    def observe(self, ok: bool, reason: str, seconds: float) -> None:
        """One executed call: its outcome (``ok`` or ``reason``) and wall time in seconds."""
        outcome = "ok" if ok else reason
        child = self.calls.get(outcome) or self.calls["executor_error"]
        child.inc()
        self.duration.observe(seconds)

    def wait_duration(self, host: str) -> ScopedHistogram:
        """The wait histogram of the host entry ``host`` (bind once per entry, not per call)."""
        return ScopedHistogram(self.wait_durations, self.kind, host, group=self.group)


class ExecutorMetrics:
    """The executor metric families on ``registry``.

    Usage::

        rest = executor_metrics().for_kind("rest")
        rest.observe(outcome.ok, outcome.reason, seconds)
        rest.retries.inc()
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.calls = Counter(
            "apigen_executor_calls",
            "Calls executed, by stage, executor kind and outcome (ok or a failure reason code).",
            [*_S, "kind", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "apigen_executor_call_duration_seconds",
            "Wall time of executed calls in seconds (cache hits excluded).",
            [*_S, "kind"],
            buckets=EXECUTOR_LATENCY_BUCKETS,
            registry=registry,
        )
        self.cache_requests = Counter(
            "apigen_executor_cache_requests",
            "Result-cache lookups by result (hit or miss).",
            [*_S, "result"],
            registry=registry,
        )
        self.requests = Counter(
            "apigen_executor_requests",
            "Attempts sent to a remote API, first tries and retries alike.",
            [*_S, "kind"],
            registry=registry,
        )
        self.retries = Counter(
            "apigen_executor_retries",
            "Attempts retried after a transient failure (429, 5xx, timeout, connection).",
            [*_S, "kind"],
            registry=registry,
        )
        self.rate_limit_wait = Counter(
            "apigen_executor_rate_limit_wait_seconds",
            "Seconds calls spent waiting for host and API rate limits.",
            [*_S, "kind"],
            registry=registry,
        )
        self.rate_limit_wait_duration = Histogram(
            "apigen_executor_rate_limit_wait_duration_seconds",
            "Seconds each rate-limited attempt waited for its host and API rate limits, by "
            "configured host entry ('*': hosts without one).",
            [*_S, "kind", "host"],
            buckets=EXECUTOR_LATENCY_BUCKETS,
            registry=registry,
        )
        self.worker_restarts = Counter(
            "apigen_executor_worker_restarts",
            "Worker processes discarded and replaced (timeouts, crashes); MCP servers "
            "restarted or reconnected after their connection was lost.",
            [*_S, "kind"],
            registry=registry,
        )
        cache = ScopeGroup()
        self.cache_hit = ScopedCounter(self.cache_requests, "hit", group=cache)
        self.cache_miss = ScopedCounter(self.cache_requests, "miss", group=cache)
        cache.enter()
        self._kinds: dict[str, KindMetrics] = {}
        self._lock = threading.Lock()

    def for_kind(self, kind: str) -> KindMetrics:
        """The pre-bound children of ``kind`` (python, rest or mcp)."""
        found = self._kinds.get(kind)
        if found is not None:
            return found
        with self._lock:
            if kind not in self._kinds:
                g = ScopeGroup()
                self._kinds[kind] = KindMetrics(
                    kind=kind,
                    calls=ScopedCounters(self.calls, (kind,), _OUTCOMES, group=g),
                    duration=ScopedHistogram(self.duration, kind, group=g),
                    requests=ScopedCounter(self.requests, kind, group=g),
                    retries=ScopedCounter(self.retries, kind, group=g),
                    rate_limit_wait=ScopedCounter(self.rate_limit_wait, kind, group=g),
                    worker_restarts=ScopedCounter(self.worker_restarts, kind, group=g),
                    wait_durations=self.rate_limit_wait_duration,
                    group=g,
                )
                # The default host entry's wait series, like the rest, exists from the start.
                ScopedHistogram(self.rate_limit_wait_duration, kind, "*", group=g)
                g.enter()  # the scope this kind is first asked for in
            return self._kinds[kind]


_default: ExecutorMetrics | None = None
_default_lock = threading.Lock()


def executor_metrics() -> ExecutorMetrics:
    """The process-wide :class:`ExecutorMetrics` on ``prometheus_client.REGISTRY``."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = ExecutorMetrics()
    return _default
