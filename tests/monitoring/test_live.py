"""A real Prometheus scrapes a running pipeline and the services beside it; every dashboard
and rule expression returns series, and ``promtool check metrics`` accepts the exposition.

The pipeline runs in this process (embedded log, two partitions) with its ``/metrics`` on a
free port; ``apigen simulate-llm`` (the generator's endpoint) and ``apigen rest-service``
run as processes of their own, as compose runs them, each scraped at its ``/metrics``. The
REST calls and the failed LLM call of :mod:`._scenario` fill the panels the run alone does
not. Prometheus scrapes every second and evaluates the rules every second; the test waits
until every expression returns series (see ``_exprs`` for alerts: their left-hand side).
The same with the stages spread over processes: ``test_processes_live``.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest

from streamer.pipeline._run import run_pipeline
from streamer.runtime._metrics import serve_metrics

from ._prometheus import Prometheus
from ._scenario import (
    check_rules,
    every_expression,
    failed_llm_call,
    lint,
    pipeline_config,
    rest_calls_with_a_cache_hit,
)
from ._services import Services

pytestmark = pytest.mark.slow


def _check_live(server: Prometheus, promtool: str, exposition: str) -> None:
    """Checks on the live data (while the pipeline runs: stopped runners drop lag series)."""
    check_rules(server)
    # The funnel is live: checkers rejected corrupted pairs and verified others.
    assert server.series("sum(apigen_stage_rejects_total) > 0") == 1
    assert server.series('apigen_stage_outputs_total{stage="semantic", outcome="pass"} > 0') > 0
    # The test's own REST calls ran outside any stage; the execution stage's are its own.
    hits = 'apigen_executor_cache_requests_total{result="hit", stage="none"} > 0'
    assert server.series(hits) == 1
    assert server.labels('apigen_executor_calls_total{outcome="ok"} > 0', "stage") >= {
        "none",
        "execution",
    }
    assert server.labels("apigen_llm_requests_total > 0", "stage") >= {"generator", "semantic"}
    assert server.series('apigen_llm_request_errors_total{reason="connection_error"} > 0') >= 1
    assert server.series('apigen_consumer_lag_records{stage="format"}') == 2  # per partition
    # Both services are up and count what they answered.
    assert server.series('up{job="apigen-services"} == 1') == 2
    assert server.series('apigen_simulator_requests_total{kind="generation"} > 0') == 1
    assert server.series('apigen_rest_service_requests_total{route="/elements/{symbol}"}') == 1
    lint(promtool, exposition)
    assert "apigen_stage_outputs_total{" in exposition


def test_every_dashboard_and_rule_expression_returns_series(
    live: tuple[Prometheus, int, Services], promtool: str, tmp_path: Path
) -> None:
    server, metrics_port, services = live
    exprs = every_expression()
    assert len(exprs) > 60

    async def scenario() -> list[str]:
        """Run the pipeline until every expression has series (or a deadline); check the
        live data; return the expressions still without series."""
        await rest_calls_with_a_cache_hit(services.rest_url)
        await failed_llm_call()
        stop = anyio.Event()
        missing: list[str] = []

        async def run() -> None:
            await run_pipeline(pipeline_config(tmp_path / "out", services), stop=stop)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            deadline = time.monotonic() + 120
            while True:
                await anyio.sleep(1.0)
                missing = await anyio.to_thread.run_sync(
                    lambda: [e.where for e in exprs if server.series(e.promql) == 0]
                )
                if not missing or time.monotonic() > deadline:
                    break
            try:
                if not missing:
                    async with httpx.AsyncClient() as client:
                        url = f"http://127.0.0.1:{metrics_port}/metrics"
                        exposition = (await client.get(url)).text
                    await anyio.to_thread.run_sync(_check_live, server, promtool, exposition)
            finally:
                stop.set()
        return missing

    with serve_metrics(metrics_port):
        missing = anyio.run(scenario)
    assert missing == [], "expressions without series:\n" + "\n".join(missing)
