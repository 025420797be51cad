"""What the live tests do besides the pipeline, and what they check on every run.

The simulated run alone does not exercise everything the dashboards show: a REST call
through the dispatcher to the local REST service (twice: the second is a cache hit) and an
LLM call to a closed port (request errors and a failed call) fill those panels.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

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

from ._exprs import Expr, alert_lhs, alerts, dashboard_exprs, recordings
from ._prometheus import Prometheus, free_port
from ._services import Services
from .conftest import DASHBOARDS, RULES

__all__ = [
    "MULTI_TURN_DASHBOARDS",
    "check_rules",
    "every_expression",
    "failed_llm_call",
    "lint",
    "multi_turn_expressions",
    "pipeline_config",
    "rest_calls_with_a_cache_hit",
]


def pipeline_config(out: Path, services: Services, **overrides: Any) -> PipelineConfig:
    """A simulated run: the generator asks the ``simulate-llm`` process (which corrupts
    some answers), the judge an in-process simulated endpoint."""
    generator = ModelConfig(
        kind="simulated", name="simulate-llm", base_url=services.simulator_url,
        model="simulated-apigen",
    )  # fmt: skip
    settings: dict[str, Any] = {
        "out": out,
        "target": 10**9,  # runs until stopped
        "partitions": 2,
        "feedback": False,
        "max_outstanding": 16,
        "concurrency": 8,
        "python_workers": 1,
        "generators": (generator,),
        "judges": (ModelConfig(kind="simulated", seed=1),),
    }
    return PipelineConfig(**(settings | overrides))


async def rest_calls_with_a_cache_hit(base_url: str) -> None:
    spec = ApiSpec.create(
        name="element",
        description="an element by symbol",
        parameters={"type": "object", "properties": {"symbol": {"type": "string"}}},
        source="monitoring-test",
        binding=RestBinding(
            base_url=base_url,
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


async def failed_llm_call() -> None:
    endpoint = LlmEndpoint(
        name="unreachable",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        model="simulated-unreachable",
        max_retries=0,
        timeout_s=5,
    )
    async with LlmClient(endpoint) as client:
        with pytest.raises(LlmError):
            await client.complete_json([{"role": "user", "content": "hi"}], {"type": "object"})


MULTI_TURN_DASHBOARDS = ("multi-turn.json",)
"""Dashboards of the multi-turn pipeline: a single-turn run leaves them empty, so
:func:`every_expression` leaves them to ``test_multi_turn_live``."""


def every_expression() -> list[Expr]:
    """Every dashboard query and variable (but the multi-turn dashboards'), recording rule
    (and its series) and alert's left-hand side."""
    exprs = dashboard_exprs(DASHBOARDS, exclude=MULTI_TURN_DASHBOARDS)
    for name, expr in recordings(RULES):
        exprs.append(expr)
        exprs.append(Expr(f"recorded series {name}", name))
    for name, expr in alerts(RULES):
        exprs.append(Expr(f"alert {name} (left-hand side)", alert_lhs(expr.promql)))
    return exprs


def multi_turn_expressions() -> list[Expr]:
    """Every query and variable of the multi-turn dashboards."""
    return dashboard_exprs(DASHBOARDS, only=MULTI_TURN_DASHBOARDS)


def check_rules(server: Prometheus) -> None:
    """Every alert's full expression parses and evaluates (firing or not), and every rule
    evaluated without error (e.g. no many-to-many matching)."""
    for name, expr in alerts(RULES):
        assert server.query(expr.promql)["status"] == "success", name
    groups = httpx.get(f"{server.base_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == len(recordings(RULES)) + len(alerts(RULES))
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []


def lint(promtool: str, exposition: str) -> None:
    """``promtool check metrics`` accepts ``exposition``."""
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
