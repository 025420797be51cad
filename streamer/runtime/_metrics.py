"""Prometheus metrics of the pipeline: stages, consumer lag, the dataset, LLM endpoints.

One :class:`PipelineMetrics` object holds every family (the executors' live in
:mod:`executors._metrics`, on the same registry). Code that records uses pre-bound
children — :class:`StageMetrics` per stage and version, :class:`LlmMetrics` per endpoint —
so the hot path is a dictionary lookup and a counter increment, never a label dict.

Naming follows Prometheus' rules: the ``apigen_`` prefix, base units (seconds, US dollars),
counters end in ``_total`` and labels are bounded. Label values come from configuration
(stage names and versions, endpoint and model names), fixed code sets (reason codes,
query styles, outcomes) or the API library (categories); never ids or function names.
As a guard against a misbehaving producer, a label takes at most :data:`MAX_LABEL_VALUES`
distinct values per family; later ones are recorded as ``other``.

Families (every stage family carries ``stage`` and ``version``, the stage version string,
so a replay under a new version shows side by side with the old one; so does every LLM
family, with the stage that made the call — :func:`~executors._metric_scope.metric_scope`,
``none`` outside a stage)::

    apigen_build_info{apigen_version, python_version, stage, version}      1 per running stage
                                                          (gone when its runners stopped)
    apigen_stage_consumed_total{stage, version}           input events received
    apigen_stage_outputs_total{stage, version, outcome, model, style, category}
                                                          output events; outcome pass | reject
    apigen_stage_rejects_total{stage, version, reason}    rejects by reason code
    apigen_stage_in_flight_events{stage, version}         received, not yet finished
    apigen_stage_last_processed_timestamp_seconds{stage, version}
    apigen_consumer_lag_records{stage, version, topic, partition}
    apigen_dataset_verified_records                       unique pairs in the sink's store
    apigen_llm_calls_total{endpoint, model}               calls (retries not counted)
    apigen_llm_call_failures_total{endpoint, model, reason}
    apigen_llm_requests_total{endpoint, model}            HTTP attempts (retries counted)
    apigen_llm_request_errors_total{endpoint, model, reason}
    apigen_llm_request_duration_seconds{endpoint, model}  histogram of attempts
    apigen_llm_tokens_total{endpoint, model, kind}        kind prompt | completion
    apigen_llm_cost_usd_total{endpoint, model}
    apigen_llm_rate_limit_wait_seconds_total{endpoint, model}
    apigen_llm_retries_total{endpoint, model}

The gauges declare how the children of ``apigen run --processes`` add up when the run
serves their metrics with its own (:mod:`~streamer.runtime._child_metrics`): ``livesum``
for in-flight events and lag, ``livemax`` for the others; a stopped child's go with it.

Usage::

    with serve_metrics(9464):            # /metrics on port 9464 (0: off)
        ...
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server

from executors._metric_scope import SCOPE_LABELS, ScopedCounter, ScopedHistogram, ScopeGroup
from executors._metrics import ExecutorMetrics, executor_metrics
from topics import Reject, TopicPartition

from ._child_metrics import multiprocess_mode, serving_registry

__all__ = [
    "LLM_LATENCY_BUCKETS",
    "MAX_LABEL_VALUES",
    "LlmMetrics",
    "PipelineMetrics",
    "StageMetrics",
    "partitions_lag",
    "pipeline_metrics",
    "serve_metrics",
]

log = logging.getLogger("apigen.metrics")

MAX_LABEL_VALUES = 64
"""Distinct values one label of one family may take; more are recorded as ``other``."""

LLM_LATENCY_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip
"""Histogram buckets in seconds for LLM requests, which take from tens of ms to minutes."""

_STAGE = ["stage", "version"]
_LLM = [*SCOPE_LABELS, "endpoint", "model"]


def _package_version() -> str:
    try:
        return importlib.metadata.version("apigen-streamer")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class _Bounded:
    """Admits at most ``cap`` distinct values; later new ones become ``other``."""

    __slots__ = ("_cap", "_lock", "_seen")

    def __init__(self, cap: int = MAX_LABEL_VALUES) -> None:
        self._cap = cap
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        value = value or "unknown"
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self._cap:
                self._seen.add(value)
                return value
        return "other"


class StageMetrics:
    """The children of one stage at one version; made by :meth:`PipelineMetrics.stage`."""

    def __init__(self, families: PipelineMetrics, stage: str, version: str) -> None:
        self._f = families
        self.stage = stage
        self.version = version
        self.consumed = families.consumed.labels(stage, version)
        self.in_flight = families.in_flight.labels(stage, version)
        self.last_processed = families.last_processed.labels(stage, version)
        self._outputs: dict[tuple[str, str, str, str], Counter] = {}
        self._rejects: dict[str, Counter] = {}
        self._lag: dict[TopicPartition, Gauge] = {}
        self._info = (families.apigen_version, platform.python_version(), stage, version)
        self._runners = 0
        self._runners_lock = threading.Lock()
        families.build_info.labels(*self._info).set(1)

    def started(self) -> None:
        """A runner of this stage started: its build info is 1 (again)."""
        with self._runners_lock:
            self._runners += 1
            self._f.build_info.labels(*self._info).set(1)

    def stopped(self) -> None:
        """A runner stopped; with none left the build info goes, as it counts running
        stages (in a child process the series goes when the process does)."""
        with self._runners_lock:
            self._runners = max(0, self._runners - 1)
            if self._runners == 0 and not multiprocess_mode():
                with suppress(KeyError):
                    self._f.build_info.remove(*self._info)

    def output(self, outcome: str, model: str, style: str, category: str) -> None:
        """One output event (``outcome`` ``pass`` or ``reject``) of a pair of ``model``."""
        key = (outcome, model, style, category)
        child = self._outputs.get(key)
        if child is None:
            f = self._f
            child = f.outputs.labels(
                self.stage, self.version, outcome, f.models(model), f.styles(style),
                f.categories(category),
            )  # fmt: skip
            self._outputs[key] = child
        child.inc()

    def reject(self, reason: str) -> None:
        child = self._rejects.get(reason)
        if child is None:
            child = self._f.rejects.labels(self.stage, self.version, self._f.reasons(reason))
            self._rejects[reason] = child
        child.inc()

    def observe(self, input_event: Any, outputs: Iterable[Any]) -> None:
        """Count ``outputs`` (:class:`~streamer.Output` values) of one processed input.

        Style and category come from the input's sample; the model from the output (the
        generator's input has none yet). A sample whose tools span several categories counts
        as ``mixed``.
        """
        sample = getattr(input_event, "sample", input_event)
        style = str(getattr(sample, "style", "") or "")
        tools = getattr(sample, "tools", ())
        category = ""
        if tools:
            category = tools[0].category
            for tool in tools:
                if tool.category != category:
                    category = "mixed"
                    break
        for out in outputs:
            event = out.event
            model = getattr(event, "model", "") or getattr(input_event, "model", "")
            if isinstance(event, Reject):
                self.reject(event.reason)
                self.output("reject", model, style, category)
            else:
                self.output("pass", model, style, category)

    def set_lag(self, lags: dict[TopicPartition, int]) -> None:
        """Replace the lag series with ``lags`` (records behind, per assigned partition)."""
        for tp in set(self._lag) - set(lags):
            self.forget(tp)
        for tp, lag in lags.items():
            child = self._lag.get(tp)
            if child is None:
                child = self._f.lag.labels(self.stage, self.version, tp.topic, str(tp.partition))
                self._lag[tp] = child
            child.set(lag)

    def forget(self, tp: TopicPartition) -> None:
        """Drop the lag series of a partition this member no longer holds (in a child
        process, whose series cannot be removed, set it to 0)."""
        child = self._lag.pop(tp, None)
        if child is None:
            return
        if multiprocess_mode():
            child.set(0)
            return
        with suppress(KeyError):
            self._f.lag.remove(self.stage, self.version, tp.topic, str(tp.partition))


class LlmMetrics:
    """The children of one LLM endpoint; made by :meth:`PipelineMetrics.llm`. Each counts
    under the current :func:`~executors._metric_scope.metric_scope` (the calling stage)."""

    def __init__(self, families: PipelineMetrics, endpoint: str, model: str) -> None:
        self._f = families
        self._labels = (families.endpoints(endpoint), families.models(model))
        labels = self._labels
        # The first use in a scope binds them all there, so dashboards see the others at 0.
        g = ScopeGroup()
        self.calls = ScopedCounter(families.llm_calls, *labels, group=g)
        self.requests = ScopedCounter(families.llm_requests, *labels, group=g)
        self.duration = ScopedHistogram(families.llm_duration, *labels, group=g)
        self.prompt_tokens = ScopedCounter(families.llm_tokens, *labels, "prompt", group=g)
        self.completion_tokens = ScopedCounter(families.llm_tokens, *labels, "completion", group=g)
        self.cost = ScopedCounter(families.llm_cost, *labels, group=g)
        self.rate_limit_wait = ScopedCounter(families.llm_rate_limit_wait, *labels, group=g)
        self.retries = ScopedCounter(families.llm_retries, *labels, group=g)
        g.enter()
        self._errors: dict[str, ScopedCounter] = {}
        self._failures: dict[str, ScopedCounter] = {}

    def error(self, reason: str) -> None:
        """A failed attempt (``reason`` is an :data:`~streamer.llm.REASONS` code)."""
        child = self._errors.get(reason)
        if child is None:
            child = self._errors[reason] = ScopedCounter(self._f.llm_errors, *self._labels, reason)
        child.inc()

    def failure(self, reason: str) -> None:
        """A call that raised after its retries."""
        child = self._failures.get(reason)
        if child is None:
            child = ScopedCounter(self._f.llm_failures, *self._labels, reason)
            self._failures[reason] = child
        child.inc()


class PipelineMetrics:
    """Every pipeline metric family, on ``registry`` (see the module docstring)."""

    def __init__(
        self,
        registry: CollectorRegistry = REGISTRY,
        executors: ExecutorMetrics | None = None,
    ) -> None:
        self.registry = registry
        self.executors = executors or (
            executor_metrics() if registry is REGISTRY else ExecutorMetrics(registry)
        )
        self.apigen_version = _package_version()
        self.models = _Bounded()
        self.styles = _Bounded()
        self.categories = _Bounded()
        self.reasons = _Bounded()
        self.endpoints = _Bounded()
        r = registry
        self.build_info = Gauge(
            "apigen_build_info",
            "Always 1: the apigen and Python versions and each running stage's version.",
            ["apigen_version", "python_version", "stage", "version"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.consumed = Counter(
            "apigen_stage_consumed", "Input events received by a stage.", _STAGE, registry=r
        )
        self.outputs = Counter(
            "apigen_stage_outputs",
            "Output events of a stage: outcome pass (next topic) or reject, per generator"
            " model, query style and API category.",
            [*_STAGE, "outcome", "model", "style", "category"],
            registry=r,
        )
        self.rejects = Counter(
            "apigen_stage_rejects",
            "Rejects of a stage by reason code.",
            [*_STAGE, "reason"],
            registry=r,
        )
        self.in_flight = Gauge(
            "apigen_stage_in_flight_events",
            "Events received and not yet finished (produced and ready to commit).",
            _STAGE,
            registry=r,
            multiprocess_mode="livesum",
        )
        self.last_processed = Gauge(
            "apigen_stage_last_processed_timestamp_seconds",
            "Unix time in seconds when the stage last finished a batch of events.",
            _STAGE,
            registry=r,
            multiprocess_mode="livemax",
        )
        self.lag = Gauge(
            "apigen_consumer_lag_records",
            "Records of an assigned input partition not yet committed by the stage's group"
            " (end offset minus committed offset), sampled every few seconds.",
            [*_STAGE, "topic", "partition"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.dataset_records = Gauge(
            "apigen_dataset_verified_records",
            "Unique verified pairs in the dataset store (exact and near duplicates not counted).",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.llm_calls = Counter(
            "apigen_llm_calls", "LLM calls (one per completion asked for).", _LLM, registry=r
        )
        self.llm_failures = Counter(
            "apigen_llm_call_failures",
            "LLM calls that failed after their retries, by reason code.",
            [*_LLM, "reason"],
            registry=r,
        )
        self.llm_requests = Counter(
            "apigen_llm_requests", "HTTP requests to an LLM endpoint (retries included).",
            _LLM, registry=r,
        )  # fmt: skip
        self.llm_errors = Counter(
            "apigen_llm_request_errors",
            "Failed HTTP requests to an LLM endpoint, by reason code.",
            [*_LLM, "reason"],
            registry=r,
        )
        self.llm_duration = Histogram(
            "apigen_llm_request_duration_seconds",
            "Wall time of LLM HTTP requests in seconds (rate-limit waits excluded).",
            _LLM,
            buckets=LLM_LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_tokens = Counter(
            "apigen_llm_tokens", "Tokens reported by LLM endpoints, by kind.",
            [*_LLM, "kind"], registry=r,
        )  # fmt: skip
        self.llm_cost = Counter(
            "apigen_llm_cost_usd", "Cost of LLM calls in US dollars (configured prices).",
            _LLM, registry=r,
        )  # fmt: skip
        self.llm_rate_limit_wait = Counter(
            "apigen_llm_rate_limit_wait_seconds",
            "Seconds LLM requests waited for the endpoint's request and token rate limits.",
            _LLM,
            registry=r,
        )
        self.llm_retries = Counter(
            "apigen_llm_retries", "LLM requests retried after a transient failure.",
            _LLM, registry=r,
        )  # fmt: skip
        self._stages: dict[tuple[str, str], StageMetrics] = {}
        self._llms: dict[tuple[str, str], LlmMetrics] = {}
        self._lock = threading.Lock()

    def stage(self, stage: str, version: str) -> StageMetrics:
        """The (cached) children of ``stage`` at ``version``."""
        with self._lock:
            found = self._stages.get((stage, version))
            if found is None:
                found = self._stages[(stage, version)] = StageMetrics(self, stage, version)
            return found

    def llm(self, endpoint: str, model: str) -> LlmMetrics:
        """The (cached) children of the LLM ``endpoint`` serving ``model``."""
        with self._lock:
            found = self._llms.get((endpoint, model))
            if found is None:
                found = self._llms[(endpoint, model)] = LlmMetrics(self, endpoint, model)
            return found


_default: PipelineMetrics | None = None
_default_lock = threading.Lock()


def pipeline_metrics() -> PipelineMetrics:
    """The process-wide :class:`PipelineMetrics` on ``prometheus_client.REGISTRY``."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = PipelineMetrics()
    return _default


@contextmanager
def serve_metrics(
    port: int, *, host: str = "127.0.0.1", registry: CollectorRegistry = REGISTRY
) -> Iterator[int | None]:
    """Serve ``registry`` at ``http://host:port/metrics`` (a thread) while the block runs.

    ``port`` 0 turns the endpoint off (yields None); otherwise yields the bound port. Use
    ``host="0.0.0.0"`` in containers so Prometheus can reach it. The metrics of this
    process's children (``apigen run --processes``) are served with it, merged
    (:mod:`~streamer.runtime._child_metrics`).
    """
    if not port:
        yield None
        return
    pipeline_metrics()  # register every family before the first scrape
    server, thread = start_http_server(port, addr=host, registry=serving_registry(registry))
    log.info("metrics at http://%s:%d/metrics", host, server.server_port)
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def partitions_lag(
    ends: dict[TopicPartition, int], committed: Sequence[tuple[TopicPartition, int | None]]
) -> dict[TopicPartition, int]:
    """Lag per partition: end offset minus committed offset (0 when nothing committed)."""
    positions = dict(committed)
    return {tp: max(0, end - (positions.get(tp) or 0)) for tp, end in ends.items()}
