"""Prometheus metrics of the simulated endpoint, served at its own ``/metrics``.

``apigen simulate-llm`` is a process of its own (a compose service), so its counts are not
in any stage's ``/metrics``. :func:`add_metrics_route` serves them on the simulator's port,
read at scrape time from the same :class:`~streamer.llm._simulator.SimulatorStats` that
``GET /stats`` reports (no second bookkeeping), together with the process's own
``process_*`` and ``python_*`` metrics. Labels are bounded: ``kind`` is generation, judge
or other; ``outcome`` and ``corruption`` are the simulator's fixed fault and corruption
codes::

    apigen_simulator_requests_total{kind}               chat completions asked for
    apigen_simulator_responses_total{outcome}           answers by outcome (ok, 429, ...)
    apigen_simulator_corruptions_total{corruption}      corruptions injected, by kind
    apigen_simulator_pairs_total                        query-answer pairs generated
    apigen_simulator_in_flight_requests                 requests being answered now

Usage::

    app = create_app(config)
    add_metrics_route(app)          # GET /metrics
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aiohttp import web
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from ._simulator import STATS_KEY, SimulatorStats

__all__ = ["SimulatorCollector", "add_metrics_route"]


class SimulatorCollector:
    """The families above, read from ``stats`` at each scrape."""

    def __init__(self, stats: SimulatorStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        other = max(0, s.requests - s.generation_requests - s.judge_requests)
        yield _counters(
            "apigen_simulator_requests",
            "Chat completions asked of the simulated endpoint, by prompt kind.",
            "kind",
            {"generation": s.generation_requests, "judge": s.judge_requests, "other": other},
        )
        yield _counters(
            "apigen_simulator_responses",
            "Answers of the simulated endpoint by outcome (ok or the fault it injected).",
            "outcome",
            s.outcomes,
        )
        yield _counters(
            "apigen_simulator_corruptions",
            "Corruptions the simulated endpoint injected into its answers, by kind.",
            "corruption",
            s.corruptions,
        )
        yield CounterMetricFamily(
            "apigen_simulator_pairs", "Query-answer pairs the simulated endpoint generated.",
            value=s.pairs,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "apigen_simulator_in_flight_requests",
            "Requests the simulated endpoint is answering now.",
            value=s.in_flight,
        )


def _counters(name: str, doc: str, label: str, counts: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for value, n in sorted(counts.items()):
        family.add_metric([value], n)
    return family


def add_metrics_route(app: web.Application) -> CollectorRegistry:
    """Serve the simulator's metrics (and its process's) at ``GET /metrics`` of ``app``;
    returns the registry served."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SimulatorCollector(app[STATS_KEY]))
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    app.router.add_get("/metrics", make_aiohttp_handler(registry))
    return registry
