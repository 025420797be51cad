"""Metrics and live counts of the virtual-API executor (:mod:`executors._virtual`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from ._metric_scope import (
    SCOPE_LABELS,
    ScopedCounter,
    ScopedCounters,
    ScopedHistogram,
    ScopeGroup,
)
from ._metrics import EXECUTOR_LATENCY_BUCKETS

__all__ = ["VIRTUAL_OUTCOMES", "VirtualMetrics", "VirtualStats", "virtual_metrics"]

VIRTUAL_OUTCOMES = ("ok", "invalid_arguments", "virtual_api_error", "virtual_bad_response",
                    "simulator_error")  # fmt: skip
"""The ``outcome`` label values of ``apigen_virtual_api_calls_total``."""

_S = list(SCOPE_LABELS)


class VirtualMetrics:
    """The virtual-API metric families on ``registry`` (labels are bounded; every family
    starts with ``stage, version``, the :func:`~executors._metric_scope.metric_scope` of the
    stage whose call it was, ``none`` outside a stage)::

        apigen_virtual_api_calls_total{outcome}            calls answered (hits included):
                                                           ok or a failure reason code
        apigen_virtual_api_cache_requests_total{result}    answer-store lookups: hit, miss
        apigen_virtual_api_simulator_requests_total        replies asked of the simulator
        apigen_virtual_api_simulator_failures_total{cause} requests without a usable reply:
                                                           bad_reply or error
        apigen_virtual_api_simulator_duration_seconds      wall time of each request

    The simulator's tokens and cost are the LLM client's metrics (``apigen_llm_*``).
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        calls = Counter(
            "apigen_virtual_api_calls",
            "Calls answered by virtual APIs (cache hits included), by outcome: ok or a "
            "failure reason code.",
            [*_S, "outcome"],
            registry=registry,
        )
        cache = Counter(
            "apigen_virtual_api_cache_requests",
            "Virtual-API answer-store lookups by result (hit or miss).",
            [*_S, "result"],
            registry=registry,
        )
        requests = Counter(
            "apigen_virtual_api_simulator_requests",
            "Replies asked of the virtual APIs' simulator model (repeats included).",
            _S,
            registry=registry,
        )
        failures = Counter(
            "apigen_virtual_api_simulator_failures",
            "Simulator requests that gave no usable reply, by cause (bad_reply or error).",
            [*_S, "cause"],
            registry=registry,
        )
        duration = Histogram(
            "apigen_virtual_api_simulator_duration_seconds",
            "Wall time of each simulator request in seconds.",
            _S,
            buckets=EXECUTOR_LATENCY_BUCKETS,
            registry=registry,
        )
        g = ScopeGroup()  # a scope's first use binds every series there, at 0
        self.calls = ScopedCounters(calls, (), VIRTUAL_OUTCOMES, group=g)
        self.cache_hit = ScopedCounter(cache, "hit", group=g)
        self.cache_miss = ScopedCounter(cache, "miss", group=g)
        self.simulator_requests = ScopedCounter(requests, group=g)
        self.bad_reply = ScopedCounter(failures, "bad_reply", group=g)
        self.simulator_error = ScopedCounter(failures, "error", group=g)
        self.simulator_duration = ScopedHistogram(duration, group=g)
        g.enter()


_default: VirtualMetrics | None = None
_default_lock = threading.Lock()


def virtual_metrics() -> VirtualMetrics:
    """The process-wide :class:`VirtualMetrics` on ``prometheus_client.REGISTRY``."""
    global _default
    with _default_lock:
        if _default is None:
            _default = VirtualMetrics()
    return _default


@dataclass(slots=True)
class VirtualStats:
    """Counts since the executor was made: ``simulated`` calls answered by the simulator,
    ``simulator_requests`` replies asked (repeats included), ``bad_replies`` unusable ones,
    ``cost_usd`` the simulator's price in US dollars, tokens as the simulator reported."""

    calls: int = 0
    cache_hits: int = 0
    simulated: int = 0
    invalid_arguments: int = 0
    simulator_requests: int = 0
    bad_replies: int = 0
    simulator_errors: int = 0
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
