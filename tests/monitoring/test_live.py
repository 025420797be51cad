"""A real Prometheus scrapes a running pipeline; every dashboard and rule expression returns
series, and ``promtool check metrics`` accepts the exposition.

The pipeline runs in this process (simulated LLM, embedded log, two partitions) with its
``/metrics`` endpoint on a free port, next to what the simulated run alone does not
exercise: a REST call through the dispatcher to the local REST service (twice: the second
is a cache hit) and an LLM call to a closed port (request errors and a failed call).
Prometheus scrapes every second and evaluates the rules every second; the test waits until
every expression returns series (see ``_exprs`` for alerts: their left-hand side).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml

from executors import (
    ApiSpec,
    Dispatcher,
    NetworkPolicy,
    RestBinding,
    RestExecutor,
    RestParameter,
    ResultCache,
)
from streamer.llm import LlmClient, LlmEndpoint, LlmError
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.runtime._metrics import serve_metrics
from tests.executors.rest_server import run_service

from ._exprs import Expr, alert_lhs, alerts, dashboard_exprs, recordings
from .conftest import DASHBOARDS, RULES

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def query(self, promql: str) -> dict[str, Any]:
        response = httpx.get(f"{self.base_url}/api/v1/query", params={"query": promql}, timeout=10)
        body: dict[str, Any] = response.json()
        return body

    def series(self, promql: str) -> int:
        body = self.query(promql)
        assert body["status"] == "success", f"{promql}: {body}"
        return len(body["data"]["result"])


@pytest.fixture
def prometheus(prometheus_bin: str, tmp_path: Path) -> Iterator[tuple[Prometheus, int]]:
    """A real Prometheus scraping 127.0.0.1:<metrics port> (yielded with it) every second."""
    metrics_port, web_port = _free_port(), _free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "apigen", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}
        ],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={path}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web_port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{web_port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.base_url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        yield server, metrics_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _config(out: Path) -> PipelineConfig:
    simulated = ModelConfig(
        kind="simulated",
        latency_ms=20,
        corrupt={"wrong_type": 0.15, "unknown_function": 0.1, "invalid_json": 0.05},
    )
    return PipelineConfig(
        out=out,
        target=10**9,  # runs until stopped
        partitions=2,
        feedback=False,
        max_outstanding=16,
        concurrency=8,
        python_workers=1,
        generators=(simulated,),
        judges=(ModelConfig(kind="simulated", seed=1),),
    )


async def _rest_calls_with_a_cache_hit() -> None:
    with run_service(testing=False) as service:
        spec = ApiSpec.create(
            name="element",
            description="an element by symbol",
            parameters={"type": "object", "properties": {"symbol": {"type": "string"}}},
            source="monitoring-test",
            binding=RestBinding(
                base_url=service.base_url,
                method="GET",
                path="/elements/{symbol}",
                parameters=(RestParameter("symbol", "path"),),
            ),
        )
        loopback = NetworkPolicy.from_hosts(["127.0.0.1"])  # the local service (allowed)
        rest = RestExecutor(policy=loopback)
        async with Dispatcher(rest=rest, cache=ResultCache()) as dispatcher:
            first = await dispatcher.execute(spec, {"symbol": "Fe"})
            second = await dispatcher.execute(spec, {"symbol": "Fe"})
    assert first.ok and not first.cached, first
    assert second.cached


async def _failed_llm_call() -> None:
    endpoint = LlmEndpoint(
        name="unreachable",
        base_url=f"http://127.0.0.1:{_free_port()}/v1",
        model="simulated-unreachable",
        max_retries=0,
        timeout_s=5,
    )
    async with LlmClient(endpoint) as client:
        with pytest.raises(LlmError):
            await client.complete_json([{"role": "user", "content": "hi"}], {"type": "object"})


def _every_expression() -> list[Expr]:
    exprs = dashboard_exprs(DASHBOARDS)
    for name, expr in recordings(RULES):
        exprs.append(expr)
        exprs.append(Expr(f"recorded series {name}", name))
    for name, expr in alerts(RULES):
        exprs.append(Expr(f"alert {name} (left-hand side)", alert_lhs(expr.promql)))
    return exprs


def _check_live(server: Prometheus, promtool: str, exposition: str) -> None:
    """Checks on the live data (while the pipeline runs: stopped runners drop lag series)."""
    # Every alert's full expression parses and evaluates (firing or not).
    for name, expr in alerts(RULES):
        assert server.query(expr.promql)["status"] == "success", name
    # Every rule evaluated without error (e.g. no many-to-many matching).
    groups = httpx.get(f"{server.base_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == len(recordings(RULES)) + len(alerts(RULES))
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
    # The funnel is live: checkers rejected corrupted pairs and verified others.
    assert server.series("sum(apigen_stage_rejects_total) > 0") == 1
    assert server.series('apigen_stage_outputs_total{stage="semantic", outcome="pass"} > 0') > 0
    assert server.series('apigen_executor_cache_requests_total{result="hit"} > 0') == 1
    assert server.series('apigen_llm_request_errors_total{reason="connection_error"} > 0') >= 1
    assert server.series('apigen_consumer_lag_records{stage="format"}') == 2  # per partition
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "apigen_stage_outputs_total{" in exposition


def test_every_dashboard_and_rule_expression_returns_series(
    prometheus: tuple[Prometheus, int], promtool: str, tmp_path: Path
) -> None:
    server, metrics_port = prometheus
    exprs = _every_expression()
    assert len(exprs) > 60

    async def scenario() -> list[str]:
        """Run the pipeline until every expression has series (or a deadline); check the
        live data; return the expressions still without series."""
        await _rest_calls_with_a_cache_hit()
        await _failed_llm_call()
        stop = anyio.Event()
        missing: list[str] = []

        async def run() -> None:
            await run_pipeline(_config(tmp_path / "out"), stop=stop)

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
