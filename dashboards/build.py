"""Build the Grafana dashboards of apigen-streamer as JSON (``python dashboards/build.py``).

The committed ``dashboards/*.json`` are this script's output; ``--check`` fails when they are
stale (the tests run it). Every panel queries the Prometheus data source chosen by the
``${datasource}`` variable and sets a unit. Stage, model and version filters are regex
matchers over multi-value variables whose "All" value is ``.*``.

Dashboards: pipeline overview (throughput, live funnel, pass rate per stage and per generator
model: the APIGen paper's filtering table, live), reject reasons, LLM endpoints, executors,
Kafka lag, a replay view comparing the versions of one stage side by side, the
processes and services (every scrape target, the simulated endpoint, the REST service), and
the multi-turn pipeline (issue 18: funnel, trajectories by domain, turns, refinement).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARDS", "Dashboard", "Panel", "Query", "Variable", "render"]

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
STAGE = 'stage=~"$stage"'
VERSION = 'version=~"$version"'
MODEL = 'model=~"$model"'


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL target. ``instant`` asks for the latest value only (tables, stats)."""

    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel. ``kind`` is a Grafana panel type; ``unit`` a Grafana unit id (required);
    ``width``/``height`` are grid units (24 columns); ``matrix`` turns an instant table
    into rows x columns (row label, column label)."""

    title: str
    kind: str
    unit: str
    queries: tuple[Query, ...]
    description: str = ""
    width: int = 12
    height: int = 8
    stacked: bool = False
    max_value: float | None = None
    matrix: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Variable:
    """A query variable over label values: ``label_values(metric, label)``."""

    name: str
    metric: str
    label: str
    multi: bool = True


@dataclass(frozen=True, slots=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = field(default=("apigen",))


def _target(query: Query, ref: str, table: bool) -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "refId": ref,
        "expr": query.expr,
        "legendFormat": query.legend or "__auto",
        "range": not query.instant,
        "instant": query.instant,
        "format": "table" if table else "time_series",
    }


def _panel(panel: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.max_value is not None:
        defaults["min"] = 0
        defaults["max"] = panel.max_value
    custom: dict[str, Any] = {}
    if panel.kind == "timeseries":
        custom = {"lineWidth": 1, "fillOpacity": 10 if panel.stacked else 0}
        if panel.stacked:
            custom["stacking"] = {"mode": "normal", "group": "A"}
    if custom:
        defaults["custom"] = custom
    out: dict[str, Any] = {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {},
        "targets": [
            _target(q, chr(ord("A") + i), panel.kind == "table")
            for i, q in enumerate(panel.queries)
        ],
    }
    if panel.kind == "timeseries":
        out["options"] = {"legend": {"displayMode": "table", "placement": "right"}}
    if panel.matrix is not None:
        row, column = panel.matrix
        out["transformations"] = [
            {
                "id": "groupingToMatrix",
                "options": {"rowField": row, "columnField": column, "valueField": "Value"},
            }
        ]
    return out


def _variable(var: Variable) -> dict[str, Any]:
    query = f"label_values({var.metric}, {var.label})"
    return {
        "name": var.name,
        "label": var.name,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query,
        "refresh": 2,
        "multi": var.multi,
        "includeAll": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def render(dashboard: Dashboard) -> dict[str, Any]:
    """The Grafana JSON model of ``dashboard`` (panels flow left to right, top to bottom)."""
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for pid, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(panel, pid, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    datasource_var = {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "refresh": 1,
    }
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [datasource_var, *(_variable(v) for v in dashboard.variables)]},
        "annotations": {"list": []},
        "links": [
            {"type": "dashboards", "tags": ["apigen"], "asDropdown": True, "title": "apigen"}
        ],
        "panels": panels,
    }


def _pass_rate_by_version(title: str) -> Panel:
    """Pass rate per stage and version over 5 minutes (overview, and replay side by side)."""
    return Panel(
        title,
        "timeseries",
        "percentunit",
        (
            Query(
                f"apigen:stage_pass_rate:ratio_rate5m{{{STAGE}, {VERSION}}}",
                "{{stage}} {{version}}",
            ),
        ),
        max_value=1,
    )


def _rejects_per_second(selector: str, *, width: int = 12) -> Panel:
    """Rejects per second by stage and reason of the stages ``selector`` matches."""
    return Panel(
        "Rejects per second by stage and reason",
        "timeseries",
        "ops",
        (
            Query(
                f"sum by (stage, reason) (rate(apigen_stage_rejects_total{{{selector}}}[{RATE}]))",
                "{{stage}} {{reason}}",
            ),
        ),
        width=width,
        stacked=True,
    )


STAGE_VARS = (
    Variable("stage", "apigen_stage_consumed_total", "stage"),
    Variable("version", 'apigen_stage_consumed_total{stage=~"$stage"}', "version"),
    Variable("model", "apigen_stage_outputs_total", "model"),
)

OVERVIEW = Dashboard(
    uid="apigen-overview",
    title="apigen: pipeline overview",
    description="Throughput per stage, the live funnel and pass rates per stage and model.",
    variables=STAGE_VARS,
    panels=(
        Panel(
            "Verified pairs in the dataset",
            "stat",
            "short",
            (Query("sum(apigen_dataset_verified_records)", "verified", instant=True),),
            "Pairs the sink stored (duplicates included; the export drops them).",
            width=6,
            height=5,
        ),
        Panel(
            "Verified pairs per second",
            "stat",
            "ops",
            (
                Query(
                    'sum(rate(apigen_stage_outputs_total{stage="semantic", outcome="pass"}'
                    f"[{RATE}]))",
                    "verified/s",
                ),
            ),
            width=6,
            height=5,
        ),
        Panel(
            "End-to-end pass rate per generator model (30m)",
            "bargauge",
            "percentunit",
            (Query(f"apigen:model_verified_ratio:ratio_rate30m{{{MODEL}}}", "{{model}}"),),
            "Verified pairs / pairs the format checker saw, per generator model.",
            width=12,
            height=5,
            max_value=1,
        ),
        Panel(
            "Input events per second by stage",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (stage) (rate(apigen_stage_consumed_total{{{STAGE}, {VERSION}}}"
                    f"[{RATE}]))",
                    "{{stage}}",
                ),
            ),
        ),
        Panel(
            "Output events per second by stage and outcome",
            "timeseries",
            "ops",
            (
                Query(
                    "sum by (stage, outcome) (rate(apigen_stage_outputs_total"
                    f"{{{STAGE}, {VERSION}, {MODEL}}}[{RATE}]))",
                    "{{stage}} {{outcome}}",
                ),
            ),
            stacked=True,
        ),
        Panel(
            "Live funnel (time range)",
            "bargauge",
            "short",
            (
                Query(
                    'sum(increase(apigen_stage_consumed_total{stage="generator"}[$__range]))',
                    "samples",
                    instant=True,
                ),
                Query(
                    'sum by (stage) (increase(apigen_stage_outputs_total{outcome="pass",'
                    f' stage=~"generator|format|execution|semantic", {MODEL}}}[$__range]))',
                    "{{stage}} pass",
                    instant=True,
                ),
            ),
            "Samples issued, then what passed each stage (format onwards counts pairs).",
        ),
        _pass_rate_by_version("Pass rate per stage (5m)"),
        Panel(
            "Pass rate per generator model and stage (30m): the filtering table",
            "table",
            "percentunit",
            (
                Query(
                    "max by (model, stage) (apigen:model_stage_pass_rate:ratio_rate30m"
                    f'{{{MODEL}, stage=~"format|execution|semantic"}})',
                    instant=True,
                ),
            ),
            "The APIGen paper's filtering table, live: rows are generator models, columns the"
            " checker stages, cells the share of pairs that passed.",
            width=24,
            matrix=("model", "stage"),
        ),
        Panel(
            "Pass rate per generator model over time (1h window)",
            "timeseries",
            "percentunit",
            (
                Query(
                    f"apigen:model_stage_pass_rate:ratio_rate1h{{{MODEL}, {STAGE}}}",
                    "{{model}} {{stage}}",
                ),
            ),
            max_value=1,
        ),
        Panel(
            "Events in flight by stage",
            "timeseries",
            "short",
            (Query(f"sum by (stage) (apigen_stage_in_flight_events{{{STAGE}}})", "{{stage}}"),),
        ),
        Panel(
            "Seconds since each stage last finished work",
            "table",
            "s",
            (
                Query(
                    "time() - max by (stage, version) "
                    f"(apigen_stage_last_processed_timestamp_seconds{{{STAGE}}})",
                    instant=True,
                ),
            ),
            width=12,
        ),
        Panel(
            "Running stage versions",
            "table",
            "none",
            (
                Query(
                    "count by (stage, version, apigen_version) (apigen_build_info)",
                    instant=True,
                ),
            ),
            "Replicas per stage and version (from apigen_build_info).",
            width=12,
        ),
    ),
)

REJECTS = Dashboard(
    uid="apigen-rejects",
    title="apigen: reject reasons",
    description="Why pairs fail: reject reason codes per stage, model and query style.",
    variables=STAGE_VARS,
    panels=(
        _rejects_per_second(f"{STAGE}, {VERSION}", width=24),
        Panel(
            "Top reasons (time range)",
            "bargauge",
            "short",
            (
                Query(
                    "topk(15, sum by (stage, reason) (increase(apigen_stage_rejects_total"
                    f"{{{STAGE}, {VERSION}}}[$__range])))",
                    "{{stage}} {{reason}}",
                    instant=True,
                ),
            ),
        ),
        Panel(
            "Reject share by stage (5m)",
            "timeseries",
            "percentunit",
            (
                Query(
                    f"1 - apigen:stage_pass_rate:ratio_rate5m{{{STAGE}, {VERSION}}}",
                    "{{stage}} {{version}}",
                ),
            ),
            max_value=1,
        ),
        Panel(
            "Rejects per second by generator model",
            "timeseries",
            "ops",
            (
                Query(
                    'sum by (model, stage) (rate(apigen_stage_outputs_total{outcome="reject",'
                    f" {STAGE}, {MODEL}}}[{RATE}]))",
                    "{{model}} {{stage}}",
                ),
            ),
        ),
        Panel(
            "Reject share by query style (30m)",
            "bargauge",
            "percentunit",
            (
                Query(
                    'sum by (style) (rate(apigen_stage_outputs_total{outcome="reject",'
                    f" {STAGE}, {MODEL}}}[30m])) / sum by (style) (rate("
                    f"apigen_stage_outputs_total{{{STAGE}, {MODEL}}}[30m]))",
                    "{{style}}",
                    instant=True,
                ),
            ),
            max_value=1,
        ),
        Panel(
            "Reject share by API category (30m)",
            "bargauge",
            "percentunit",
            (
                Query(
                    'sum by (category) (rate(apigen_stage_outputs_total{outcome="reject",'
                    f" {STAGE}, {MODEL}}}[30m])) / sum by (category) (rate("
                    f"apigen_stage_outputs_total{{{STAGE}, {MODEL}}}[30m]))",
                    "{{category}}",
                    instant=True,
                ),
            ),
            max_value=1,
            width=24,
        ),
    ),
)

LLM_FILTER = 'endpoint=~"$endpoint"'
LLM = Dashboard(
    uid="apigen-llm",
    title="apigen: LLM endpoints",
    description="Requests, latency, errors, tokens, cost and rate-limit waits per endpoint.",
    variables=(Variable("endpoint", "apigen_llm_requests_total", "endpoint"),),
    panels=(
        Panel(
            "Requests per second",
            "timeseries",
            "reqps",
            (
                Query(
                    f"sum by (endpoint) (rate(apigen_llm_requests_total{{{LLM_FILTER}}}[{RATE}]))",
                    "{{endpoint}}",
                ),
            ),
        ),
        Panel(
            "Requests per second by stage",
            "timeseries",
            "reqps",
            (
                Query(
                    "sum by (stage, endpoint) "
                    f"(rate(apigen_llm_requests_total{{{LLM_FILTER}}}[{RATE}]))",
                    "{{stage}} {{endpoint}}",
                ),
            ),
            "Which stage's calls load each endpoint (generator, semantic judge, virtual APIs "
            "under execution; 'none': calls made outside a stage, e.g. apigen check).",
        ),
        Panel(
            "Cost per hour by stage",
            "timeseries",
            "currencyUSD",
            (
                Query(
                    "sum by (stage) "
                    f"(rate(apigen_llm_cost_usd_total{{{LLM_FILTER}}}[{RATE}])) * 3600",
                    "{{stage}}",
                ),
            ),
        ),
        Panel(
            "Request latency p50 / p95 / p99",
            "timeseries",
            "s",
            tuple(
                Query(
                    f"histogram_quantile({q}, sum by (endpoint, le) (rate("
                    f"apigen_llm_request_duration_seconds_bucket{{{LLM_FILTER}}}[{RATE}])))",
                    f"{{{{endpoint}}}} p{int(q * 100)}",
                )
                for q in (0.5, 0.95, 0.99)
            ),
        ),
        Panel(
            "Failed requests per second by kind",
            "timeseries",
            "reqps",
            (
                Query(
                    "sum by (endpoint, reason) "
                    f"(rate(apigen_llm_request_errors_total{{{LLM_FILTER}}}[{RATE}]))",
                    "{{endpoint}} {{reason}}",
                ),
            ),
            stacked=True,
        ),
        Panel(
            "Request error ratio (5m)",
            "timeseries",
            "percentunit",
            (Query(f"apigen:llm_request_error_ratio:rate5m{{{LLM_FILTER}}}", "{{endpoint}}"),),
            max_value=1,
        ),
        Panel(
            "Calls failed after retries, per second",
            "timeseries",
            "ops",
            (
                Query(
                    "sum by (endpoint, reason) "
                    f"(rate(apigen_llm_call_failures_total{{{LLM_FILTER}}}[{RATE}]))",
                    "{{endpoint}} {{reason}}",
                ),
                Query(
                    f"sum by (endpoint) (rate(apigen_llm_retries_total{{{LLM_FILTER}}}[{RATE}]))",
                    "{{endpoint}} retries",
                ),
            ),
        ),
        Panel(
            "Tokens per second",
            "timeseries",
            "short",
            (
                Query(
                    "sum by (endpoint, kind) "
                    f"(rate(apigen_llm_tokens_total{{{LLM_FILTER}}}[{RATE}]))",
                    "{{endpoint}} {{kind}}",
                ),
            ),
            stacked=True,
        ),
        Panel(
            "Cost per hour",
            "timeseries",
            "currencyUSD",
            (
                Query(
                    "sum by (endpoint) "
                    f"(rate(apigen_llm_cost_usd_total{{{LLM_FILTER}}}[{RATE}])) * 3600",
                    "{{endpoint}}",
                ),
            ),
        ),
        Panel(
            "Rate-limit wait (seconds waited per second)",
            "timeseries",
            "s",
            (
                Query(
                    "sum by (endpoint) "
                    f"(rate(apigen_llm_rate_limit_wait_seconds_total{{{LLM_FILTER}}}[{RATE}]))",
                    "{{endpoint}}",
                ),
            ),
            "Above 0 means calls queue for the configured requests/tokens per minute.",
        ),
    ),
)

KIND = 'kind=~"$kind"'
EXECUTORS = Dashboard(
    uid="apigen-executors",
    title="apigen: executors",
    description="Executed calls: latency, outcomes, retries, cache and rate limits.",
    variables=(Variable("kind", "apigen_executor_calls_total", "kind"),),
    panels=(
        Panel(
            "Calls per second by kind and outcome",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (kind, outcome) (rate(apigen_executor_calls_total{{{KIND}}}[{RATE}]))",
                    "{{kind}} {{outcome}}",
                ),
            ),
            stacked=True,
        ),
        Panel(
            "Calls per second by stage",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (stage, kind) (rate(apigen_executor_calls_total{{{KIND}}}[{RATE}]))",
                    "{{stage}} {{kind}}",
                ),
            ),
            "The stage whose work made the calls ('none': outside a stage, e.g. apigen check).",
        ),
        Panel(
            "Call latency p50 / p95 / p99",
            "timeseries",
            "s",
            tuple(
                Query(
                    f"histogram_quantile({q}, sum by (kind, le) (rate("
                    f"apigen_executor_call_duration_seconds_bucket{{{KIND}}}[{RATE}])))",
                    f"{{{{kind}}}} p{int(q * 100)}",
                )
                for q in (0.5, 0.95, 0.99)
            ),
        ),
        Panel(
            "Failure ratio (5m and 1h)",
            "timeseries",
            "percentunit",
            (
                Query(f"apigen:executor_failure_ratio:rate5m{{{KIND}}}", "{{kind}} 5m"),
                Query(f"apigen:executor_failure_ratio:rate1h{{{KIND}}}", "{{kind}} 1h"),
            ),
            max_value=1,
        ),
        Panel(
            "Cache hit ratio",
            "timeseries",
            "percentunit",
            (
                Query(
                    'sum(rate(apigen_executor_cache_requests_total{result="hit"}'
                    f"[{RATE}])) / sum(rate(apigen_executor_cache_requests_total[{RATE}]))",
                    "hit ratio",
                ),
            ),
            max_value=1,
        ),
        Panel(
            "Retries per second",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (kind) (rate(apigen_executor_retries_total{{{KIND}}}[{RATE}]))",
                    "{{kind}}",
                ),
                Query(
                    "sum by (kind) "
                    f"(rate(apigen_executor_worker_restarts_total{{{KIND}}}[{RATE}]))",
                    "{{kind}} worker restarts",
                ),
            ),
        ),
        Panel(
            "Rate-limit wait (seconds waited per second)",
            "timeseries",
            "s",
            (
                Query(
                    "sum by (kind) "
                    f"(rate(apigen_executor_rate_limit_wait_seconds_total{{{KIND}}}[{RATE}]))",
                    "{{kind}}",
                ),
            ),
        ),
        Panel(
            "Rate-limit wait per attempt p50 / p95 by host entry",
            "timeseries",
            "s",
            tuple(
                Query(
                    f"histogram_quantile({q}, sum by (host, le) (rate("
                    "apigen_executor_rate_limit_wait_duration_seconds_bucket"
                    f"{{{KIND}}}[{RATE}])))",
                    f"{{{{host}}}} p{int(q * 100)}",
                )
                for q in (0.5, 0.95)
            ),
            description="Host entries are the config's [executors.hosts] keys; '*' is every "
            "other host. Only attempts a rate limit applied to are observed.",
        ),
        Panel(
            "Retried share of attempts",
            "timeseries",
            "percentunit",
            (
                Query(
                    f"sum by (kind) (rate(apigen_executor_retries_total{{{KIND}}}[{RATE}])) / "
                    f"sum by (kind) (rate(apigen_executor_requests_total{{{KIND}}}[{RATE}]))",
                    "{{kind}}",
                ),
            ),
            max_value=1,
        ),
    ),
)

KAFKA = Dashboard(
    uid="apigen-kafka",
    title="apigen: consumer lag",
    description="Records not yet committed per stage, topic and partition (Kafka or embedded).",
    variables=STAGE_VARS[:2],
    panels=(
        Panel(
            "Lag per topic (records)",
            "timeseries",
            "short",
            (
                Query(
                    f"sum by (stage, topic) (apigen_consumer_lag_records{{{STAGE}, {VERSION}}})",
                    "{{stage}} <- {{topic}}",
                ),
            ),
            width=24,
        ),
        Panel(
            "Lag per partition (records)",
            "timeseries",
            "short",
            (
                Query(
                    "max by (stage, topic, partition) "
                    f"(apigen_consumer_lag_records{{{STAGE}, {VERSION}}})",
                    "{{stage}} {{topic}}[{{partition}}]",
                ),
            ),
        ),
        Panel(
            "Lag growth (records per second, 10m)",
            "timeseries",
            "short",
            (
                Query(
                    "sum by (stage, topic) "
                    f"(deriv(apigen_consumer_lag_records{{{STAGE}, {VERSION}}}[10m]))",
                    "{{stage}} <- {{topic}}",
                ),
            ),
            "Positive for a while: the stage falls behind; add replicas or concurrency.",
        ),
        Panel(
            "Stalled stages (seconds without progress while behind)",
            "timeseries",
            "s",
            (Query(f"apigen:stage_stalled:seconds{{{STAGE}}}", "{{stage}} {{version}}"),),
        ),
        Panel(
            "Consumed per second by stage",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (stage) (rate(apigen_stage_consumed_total{{{STAGE}}}[{RATE}]))",
                    "{{stage}}",
                ),
            ),
        ),
    ),
)

REPLAY = Dashboard(
    uid="apigen-replay",
    title="apigen: replay (versions side by side)",
    description="One stage, every version that ran (e.g. `apigen replay` under a new version"
    " in its own consumer group): pass rate, throughput and reasons per version.",
    variables=(
        Variable("stage", "apigen_stage_consumed_total", "stage", multi=False),
        Variable("version", 'apigen_stage_consumed_total{stage=~"$stage"}', "version"),
    ),
    panels=(
        _pass_rate_by_version("Pass rate by version (5m)"),
        Panel(
            "Pass rate by version and generator model (time range)",
            "table",
            "percentunit",
            (
                Query(
                    "sum by (version, model) (increase(apigen_stage_outputs_total"
                    f'{{outcome="pass", {STAGE}, {VERSION}}}[$__range])) / sum by (version, model)'
                    f" (increase(apigen_stage_outputs_total{{{STAGE}, {VERSION}}}[$__range]))",
                    instant=True,
                ),
            ),
            matrix=("model", "version"),
        ),
        Panel(
            "Outputs per second by version",
            "timeseries",
            "ops",
            (
                Query(
                    "sum by (version, outcome) (rate(apigen_stage_outputs_total"
                    f"{{{STAGE}, {VERSION}}}[{RATE}]))",
                    "{{version}} {{outcome}}",
                ),
            ),
        ),
        Panel(
            "Reject reasons by version (time range)",
            "table",
            "short",
            (
                Query(
                    "sum by (reason, version) (increase(apigen_stage_rejects_total"
                    f"{{{STAGE}, {VERSION}}}[$__range]))",
                    instant=True,
                ),
            ),
            matrix=("reason", "version"),
        ),
        Panel(
            "Lag by version (records)",
            "timeseries",
            "short",
            (
                Query(
                    f"sum by (version) (apigen_consumer_lag_records{{{STAGE}, {VERSION}}})",
                    "{{version}}",
                ),
            ),
            width=24,
        ),
    ),
)

SERVICES_JOB = 'job=~"apigen.*"'
SERVICES = Dashboard(
    uid="apigen-services",
    title="apigen: processes and services",
    description="Every scraped apigen process (stage services, apigen run with the children of"
    " --processes merged into its /metrics, simulate-llm, rest-service): up, CPU and memory;"
    " the simulated endpoint's answers and the local REST service's requests.",
    panels=(
        Panel(
            "Scrape targets up",
            "timeseries",
            "short",
            (Query(f"up{{{SERVICES_JOB}}}", "{{job}} {{instance}}"),),
            "1 per process Prometheus reaches. The children of apigen run --processes are not "
            "targets: their series are in the run's own /metrics.",
            max_value=1,
        ),
        Panel(
            "CPU per process (cores)",
            "timeseries",
            "short",
            (
                Query(
                    f"rate(process_cpu_seconds_total{{{SERVICES_JOB}}}[{RATE}])",
                    "{{job}} {{instance}}",
                ),
            ),
            "The scraped process only (children of --processes are not included).",
        ),
        Panel(
            "Resident memory per process",
            "timeseries",
            "bytes",
            (
                Query(
                    f"process_resident_memory_bytes{{{SERVICES_JOB}}}",
                    "{{job}} {{instance}}",
                ),
            ),
        ),
        Panel(
            "Simulated endpoint: answers per second by outcome",
            "timeseries",
            "reqps",
            (
                Query(
                    f"sum by (outcome) (rate(apigen_simulator_responses_total[{RATE}]))",
                    "{{outcome}}",
                ),
                Query(
                    "sum(apigen_simulator_in_flight_requests)",
                    "in flight",
                ),
            ),
            stacked=False,
        ),
        Panel(
            "Simulated endpoint: requests and corruptions per second",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (kind) (rate(apigen_simulator_requests_total[{RATE}]))",
                    "{{kind}} requests",
                ),
                Query(
                    f"sum by (corruption) (rate(apigen_simulator_corruptions_total[{RATE}]))",
                    "{{corruption}} injected",
                ),
            ),
            "Corruptions injected should match the rejects they must cause (GET /stats: "
            "expected_rejects).",
        ),
        Panel(
            "REST service: requests per second by route and status",
            "timeseries",
            "reqps",
            (
                Query(
                    f"sum by (route, status) (rate(apigen_rest_service_requests_total[{RATE}]))",
                    "{{route}} {{status}}",
                ),
            ),
            stacked=True,
        ),
        Panel(
            "REST service: latency p95 by route",
            "timeseries",
            "s",
            (
                Query(
                    "histogram_quantile(0.95, sum by (route, le) (rate("
                    f"apigen_rest_service_request_duration_seconds_bucket[{RATE}])))",
                    "{{route}}",
                ),
            ),
        ),
    ),
)

_MT_PASSING = ("blueprint-writer", "blueprint-validator", "interplay", "trajectory-checker")
MT_STAGES = f'stage=~"{"|".join(_MT_PASSING)}"'
"""The multi-turn stages that pass events on (the trajectory sink only stores them)."""
MT_ALL = f'stage=~"{"|".join((*_MT_PASSING, "trajectory-sink"))}"'
"""Every multi-turn stage."""
DOMAIN = 'domain=~"$domain"'
MT_VERIFIED = "apigen_multi_turn_trajectories_verified_total"
MT_DRAFTS = "apigen_multi_turn_blueprint_drafts_total"
MT_ENDS = "apigen_multi_turn_conversations_ended_total"


def _mt_average(title: str, histogram: str, unit_note: str) -> Panel:
    """Average of a per-trajectory histogram by domain: over 5 minutes, and the range."""
    return Panel(
        title,
        "timeseries",
        "short",
        (
            Query(
                f"sum by (domain) (rate({histogram}_sum{{{DOMAIN}}}[5m])) / sum by (domain) "
                f"(rate({histogram}_count{{{DOMAIN}}}[5m]))",
                "{{domain}} (5m)",
            ),
            Query(
                f"sum by (domain) (increase({histogram}_sum{{{DOMAIN}}}[$__range])) / sum by"
                f" (domain) (increase({histogram}_count{{{DOMAIN}}}[$__range]))",
                "{{domain}} (time range)",
            ),
        ),
        unit_note,
        width=8,
    )


MULTI_TURN = Dashboard(
    uid="apigen-multi-turn",
    title="apigen: multi-turn trajectories",
    description="apigen run --multi-turn (after APIGen-MT): the funnel from blueprint tasks to"
    " stored trajectories, trajectories per domain and their length, blueprint refinement"
    " and why conversations end.",
    variables=(Variable("domain", MT_DRAFTS, "domain"),),
    panels=(
        Panel(
            "Verified trajectories (time range)",
            "stat",
            "short",
            (Query(f"sum(increase({MT_VERIFIED}{{{DOMAIN}}}[$__range]))", "stored", instant=True),),
            "Trajectories the trajectory sink newly stored (redeliveries not counted).",
            width=6,
            height=5,
        ),
        Panel(
            "Verified trajectories per second by domain",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (domain) (rate({MT_VERIFIED}{{{DOMAIN}}}[{RATE}]))",
                    "{{domain}}",
                ),
            ),
            width=10,
            height=5,
            stacked=True,
        ),
        Panel(
            "Refinement rate (5m)",
            "stat",
            "percentunit",
            (
                Query(
                    f'sum(rate({MT_DRAFTS}{{outcome="refined", {DOMAIN}}}[5m])) / '
                    f"sum(rate({MT_DRAFTS}{{{DOMAIN}}}[5m]))",
                    "refined",
                ),
            ),
            "Share of judged blueprint drafts the validator rejected and sent back as a"
            " refined task (with the reviewers' or checks' feedback).",
            width=8,
            height=5,
            max_value=1,
        ),
        Panel(
            "Funnel (time range)",
            "bargauge",
            "short",
            (
                Query(
                    "sum(increase(apigen_stage_consumed_total"
                    '{stage="blueprint-writer"}[$__range]))',
                    "tasks to draft (refinements included)",
                    instant=True,
                ),
                Query(
                    "sum by (stage) (increase(apigen_stage_outputs_total"
                    f'{{outcome="pass", {MT_STAGES}}}[$__range]))',
                    "{{stage}} pass",
                    instant=True,
                ),
                Query(
                    f"sum(increase({MT_VERIFIED}[$__range]))",
                    "stored trajectories",
                    instant=True,
                ),
            ),
            "Drafts asked for, what passed each stage (writer: drafts written; validator:"
            " blueprints; interplay: conversations; checker: verified), and what was stored."
            " Every domain (the stage counters carry none).",
        ),
        Panel(
            "Rejects by stage and reason (time range)",
            "table",
            "short",
            (
                Query(
                    "sum by (stage, reason) (increase(apigen_stage_rejects_total"
                    f"{{{MT_ALL}}}[$__range]))",
                    instant=True,
                ),
            ),
            "The funnel's losses: rows are reason codes, columns the multi-turn stages. A"
            " validator reject that was refined is counted here and tried again.",
            matrix=("reason", "stage"),
        ),
        _rejects_per_second(MT_ALL),
        Panel(
            "Pass rate per multi-turn stage (5m)",
            "timeseries",
            "percentunit",
            (
                Query(
                    f"apigen:stage_pass_rate:ratio_rate5m{{{MT_STAGES}}}",
                    "{{stage}} {{version}}",
                ),
            ),
            max_value=1,
        ),
        _mt_average(
            "Average user turns per verified trajectory",
            "apigen_multi_turn_trajectory_user_turns",
            "User turns of stored trajectories (the user's closing turn included); issue 18"
            " asks for at least three on average in each domain.",
        ),
        _mt_average(
            "Average actions per verified trajectory",
            "apigen_multi_turn_trajectory_actions",
            "Tool calls the agent made per stored trajectory.",
        ),
        Panel(
            "User turns per trajectory p50 / p90",
            "timeseries",
            "short",
            tuple(
                Query(
                    f"histogram_quantile({q}, sum by (domain, le) (rate("
                    f"apigen_multi_turn_trajectory_user_turns_bucket{{{DOMAIN}}}[5m])))",
                    f"{{{{domain}}}} p{int(q * 100)}",
                )
                for q in (0.5, 0.9)
            ),
            width=8,
        ),
        Panel(
            "Blueprint drafts per second by outcome",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (outcome) (rate({MT_DRAFTS}{{{DOMAIN}}}[{RATE}]))",
                    "{{outcome}}",
                ),
            ),
            "passed: a blueprint; refined: rejected and tried again with feedback; rejected:"
            " rejected for good (out of rounds, or an unknown domain).",
            stacked=True,
        ),
        Panel(
            "Drafts by refinement attempt and outcome (time range)",
            "table",
            "short",
            (
                Query(
                    f"sum by (attempt, outcome) (increase({MT_DRAFTS}{{{DOMAIN}}}[$__range]))",
                    instant=True,
                ),
            ),
            "Attempt 0 is a task's first draft; each refinement adds one.",
            matrix=("attempt", "outcome"),
        ),
        Panel(
            "Conversation ends per second by reason",
            "timeseries",
            "ops",
            (
                Query(
                    f"sum by (reason) (rate({MT_ENDS}{{{DOMAIN}}}[{RATE}]))",
                    "{{reason}}",
                ),
            ),
            "user_done: the simulated user stopped (the checker then compares actions and"
            " state); any other reason is the interplay's reject.",
            stacked=True,
        ),
        Panel(
            "Conversation ends by reason and domain (time range)",
            "bargauge",
            "percentunit",
            (
                Query(
                    f"sum by (domain, reason) (increase({MT_ENDS}{{{DOMAIN}}}[$__range]))"
                    f" / on (domain) group_left sum by (domain) (increase({MT_ENDS}"
                    f"{{{DOMAIN}}}[$__range]))",
                    "{{domain}} {{reason}}",
                    instant=True,
                ),
            ),
            "Share of each domain's conversations that ended so.",
            max_value=1,
        ),
        Panel(
            "LLM calls per verified trajectory by stage (time range)",
            "bargauge",
            "short",
            (
                Query(
                    "sum by (stage) (increase(apigen_llm_calls_total"
                    f"{{{MT_STAGES}}}[$__range])) / scalar(sum(increase({MT_VERIFIED}"
                    "[$__range])))",
                    "{{stage}}",
                    instant=True,
                ),
            ),
            "What one kept trajectory costs in calls: drafting, review, the user and the agent"
            " (refinements and rejected work included).",
            width=24,
            height=6,
        ),
    ),
)

DASHBOARDS: dict[str, Dashboard] = {
    "overview": OVERVIEW,
    "rejects": REJECTS,
    "llm": LLM,
    "executors": EXECUTORS,
    "kafka-lag": KAFKA,
    "replay": REPLAY,
    "services": SERVICES,
    "multi-turn": MULTI_TURN,
}
"""File stem -> dashboard (``dashboards/<stem>.json``)."""


def dump(dashboard: Dashboard) -> str:
    return json.dumps(render(dashboard), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSON files are stale")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory")
    args = parser.parse_args(argv)
    stale = []
    for stem, dashboard in DASHBOARDS.items():
        path = args.out / f"{stem}.json"
        text = dump(dashboard)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}; run python dashboards/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
