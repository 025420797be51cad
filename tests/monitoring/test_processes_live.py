"""A real Prometheus scrapes ``apigen run --processes 3``: one target, every process's series.

The run spreads the stages over three processes (the generator in one child, the format
and execution checks in another, the rest in the run's own), over the embedded log, with
``apigen simulate-llm`` and ``apigen rest-service`` as processes of their own. The children
write their metrics to files the run's ``/metrics`` serves merged with its own; Prometheus
scrapes that one target and the two services every second.

After the run, the counts across the process boundary add up: the generator (a child)
consumed as many tasks as the run issued, the semantic stage (the run's process) consumed
what the execution check (a child) passed, and verified as many as the run counted; the
stopped children's live gauges are gone. Over the run's time range (range queries, as
Grafana draws a panel) every dashboard and rule expression has series, and so do the
children's own: their stages' build info and lag per partition, the generator's LLM
requests, the execution check's executor calls. ``promtool check metrics`` accepts the
merged exposition taken while the children ran.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import httpx
import pytest

from streamer.pipeline._run import RunSummary, run_pipeline
from streamer.runtime._child_metrics import serving_registry
from streamer.runtime._metrics import serve_metrics

from ._exprs import Expr
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

SAMPLES = 240
"""Tasks the run issues (it ends when every one is verified or rejected). Enough for the run
to span several of Prometheus's 1 s scrapes on an idle machine: with 60 it could end within
one, and the panels of rates and of the running stages had no series over the run."""

CHILD_STAGES = ("generator", "format", "execution")
"""The stages ``processes = 3`` moves to child processes."""

COUNTS: dict[str, tuple[str, dict[str, str]]] = {
    "generator consumed": ("apigen_stage_consumed_total", {"stage": "generator"}),
    "execution passed": ("apigen_stage_outputs_total", {"stage": "execution", "outcome": "pass"}),
    "semantic consumed": ("apigen_stage_consumed_total", {"stage": "semantic"}),
    "semantic passed": ("apigen_stage_outputs_total", {"stage": "semantic", "outcome": "pass"}),
}
"""Counters compared across the process boundary: (series, labels to sum over)."""


def _served_total(name: str, labels: dict[str, str]) -> float:
    """What the run's /metrics serves now for ``name`` summed over series with ``labels``
    (earlier runs in this test process count too: the baseline)."""
    return sum(
        sample.value
        for family in serving_registry().collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def _promql(name: str, labels: dict[str, str]) -> str:
    matchers = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"sum({name}{{{matchers}}})"


CHILD_SERIES = (
    *(f'apigen_build_info{{stage="{s}"}}' for s in CHILD_STAGES),
    *(f'count(apigen_consumer_lag_records{{stage="{s}"}}) == 2' for s in CHILD_STAGES),
    'sum(increase(apigen_llm_requests_total{stage="generator"}[15s])) > 0',
    'sum(increase(apigen_executor_calls_total{stage="execution", outcome="ok"}[15s])) > 0',
)
"""Series only the children have: their stages' build info and lag on both partitions, the
generator's LLM requests, the execution check's executor calls. Counts as increases, since
an earlier run of this test process may have left counts under the same labels."""


def test_a_multi_process_run_is_seen_whole_by_prometheus(
    live: tuple[Prometheus, int, Services], promtool: str, tmp_path: Path
) -> None:
    server, metrics_port, services = live
    exprs = [
        *every_expression(),
        *(Expr(f"child series {promql}", promql) for promql in CHILD_SERIES),
    ]
    config = pipeline_config(tmp_path / "out", services, processes=3, target=None, samples=SAMPLES)
    url = f"http://127.0.0.1:{metrics_port}/metrics"

    async def scenario() -> tuple[RunSummary, float, str]:
        await rest_calls_with_a_cache_hit(services.rest_url)
        await failed_llm_call()
        started = time.time()
        result: list[RunSummary] = []
        exposition = ""

        async def run() -> None:
            result.append(await run_pipeline(config))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            async with httpx.AsyncClient() as client:
                # The exposition with the children's live gauges in it, to lint below.
                while not result:
                    await anyio.sleep(0.5)
                    text = (await client.get(url, timeout=10)).text
                    info = [ln for ln in text.splitlines() if ln.startswith("apigen_build_info{")]
                    if all(any(f'stage="{s}"' in ln for ln in info) for s in CHILD_STAGES):
                        exposition = exposition or text
        return result[0], started, exposition

    with serve_metrics(metrics_port):
        before = {what: _served_total(*series) for what, series in COUNTS.items()}
        summary, started, exposition = anyio.run(scenario)
        progress = summary.progress
        assert progress.issued == SAMPLES and progress.completed == SAMPLES
        assert progress.verified > 0 and sum(progress.rejected.values()) > 0
        expected = {"generator consumed": progress.issued, "semantic passed": progress.verified}
        counted = _wait_for_counts(server, before, expected)
        check_rules(server)
        # As Grafana draws a panel: a range query over the run (after its last scrapes).
        ended = time.time()
        with ThreadPoolExecutor(4) as pool:
            had = list(pool.map(lambda e: server.had_series(e.promql, started, ended), exprs))
    assert counted["execution passed"] == counted["semantic consumed"] > 0
    assert counted["generator consumed"] == progress.issued
    assert counted["semantic passed"] == progress.verified
    missing = [e.where for e, ok in zip(exprs, had, strict=True) if not ok]
    assert missing == [], "expressions without series over the run:\n" + "\n".join(missing)
    assert exposition, "the run's /metrics never had the children's build info"
    info = [line for line in exposition.splitlines() if line.startswith("apigen_build_info{")]
    for stage in CHILD_STAGES:
        assert any(f'stage="{stage}"' in line for line in info), (stage, info)
    lint(promtool, exposition)


def _wait_for_counts(
    server: Prometheus, before: dict[str, float], expected: dict[str, int]
) -> dict[str, float]:
    """The counters' increase over the run as Prometheus scraped them, once they reach the
    expected values (execution's passes equal to semantic's inputs) and the stopped
    children's live gauges are gone; or as they are after 20 s."""
    deadline = time.monotonic() + 20
    while True:
        counted = {
            what: (server.value(_promql(*COUNTS[what])) or 0.0) - before[what] for what in COUNTS
        }
        settled = all(counted[k] == v for k, v in expected.items())
        settled = settled and counted["execution passed"] == counted["semantic consumed"]
        gone = all(server.series(f'apigen_build_info{{stage="{s}"}}') == 0 for s in CHILD_STAGES)
        if (settled and gone) or time.monotonic() > deadline:
            assert gone, "a stopped child's build info is still served"
            return counted
        time.sleep(0.5)
