"""The metric objects on a private registry: names, bounded labels, per-event counting."""

from __future__ import annotations

import platform
import subprocess
import sys

from prometheus_client import CollectorRegistry, generate_latest

from executors._metric_scope import MAX_SCOPES, current_scope, metric_scope
from streamer.runtime._metrics import MAX_LABEL_VALUES, PipelineMetrics, partitions_lag
from streamer.runtime._stage import Output, make_reject
from tests.streamer.factories import sample
from topics import Generation, Topic, TopicPartition

from .conftest import REPO


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, (name, labels)
    return value


def test_outputs_and_rejects_are_counted_per_stage_version_model_and_reason() -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    stage = metrics.stage("format", "format-v1-abc")
    task = sample()
    event = Generation(task.meta.child("generator", "g1"), task, model="m-1", raw="{}")
    reject = make_reject("format", "format-v1-abc", reason="invalid_json", message="x", event=event)
    stage.observe(event, [reject, Output(Topic.FORMAT_PASS, event)])
    stage.observe(None, [reject])  # undecodable input: no sample, no model
    common = {"stage": "format", "version": "format-v1-abc"}
    assert _value(registry, "apigen_stage_rejects_total", **common, reason="invalid_json") == 2
    style = str(event.sample.style)
    category = event.sample.tools[0].category
    labels = common | {"model": event.model, "style": style, "category": category}
    assert _value(registry, "apigen_stage_outputs_total", **labels, outcome="pass") == 1
    assert _value(registry, "apigen_stage_outputs_total", **labels, outcome="reject") == 1
    info = {"apigen_version": metrics.apigen_version, "python_version": platform.python_version()}
    assert _value(registry, "apigen_build_info", **info, **common) == 1


def test_labels_are_bounded() -> None:
    registry = CollectorRegistry()
    stage = PipelineMetrics(registry).stage("format", "v1")
    for i in range(MAX_LABEL_VALUES + 10):
        stage.output("pass", f"model-{i}", "simple", "maths")
    text = generate_latest(registry).decode()
    models = {
        line.split('model="')[1].split('"')[0] for line in text.splitlines() if "model=" in line
    }
    assert len(models) == MAX_LABEL_VALUES + 1
    assert "other" in models
    labels = {"stage": "format", "version": "v1", "style": "simple", "category": "maths"}
    assert (
        _value(registry, "apigen_stage_outputs_total", **labels, outcome="pass", model="other")
        == 10
    )


def test_lag_series_follow_the_assignment() -> None:
    registry = CollectorRegistry()
    stage = PipelineMetrics(registry).stage("format", "v1")
    a, b = TopicPartition("generations", 0), TopicPartition("generations", 1)
    stage.set_lag(partitions_lag({a: 10, b: 5}, [(a, 4), (b, None)]))
    labels = {"stage": "format", "version": "v1", "topic": "generations"}
    assert _value(registry, "apigen_consumer_lag_records", **labels, partition="0") == 6
    assert _value(registry, "apigen_consumer_lag_records", **labels, partition="1") == 5
    stage.set_lag({a: 0})
    assert (
        registry.get_sample_value("apigen_consumer_lag_records", labels | {"partition": "1"})
        is None
    )


def test_exposition_passes_promtool_lint(promtool: str) -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    metrics.stage("format", "v1").output("pass", "m", "simple", "maths")
    llm = metrics.llm("endpoint", "model")
    llm.error("timeout")
    llm.failure("timeout")
    llm.duration.observe(1.5)
    metrics.executors.for_kind("rest").observe(False, "http_error", 0.01)
    metrics.executors.for_kind("rest").observe(False, "not-a-reason", 0.01)
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=generate_latest(registry).decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outside = {"stage": "none", "version": "none", "kind": "rest"}
    assert _value(registry, "apigen_executor_calls_total", **outside, outcome="executor_error") == 1


def test_executor_and_llm_metrics_count_under_the_stage_that_called() -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    rest = metrics.executors.for_kind("rest")
    llm = metrics.llm("judge-endpoint", "m")
    rest.observe(True, "", 0.01)  # outside any stage
    with metric_scope("execution", "execution-v2"):
        rest.observe(True, "", 0.01)
        rest.observe(False, "timeout", 0.01)
        rest.wait_duration("*").observe(0.5)
        metrics.executors.cache_hit.inc()
    with metric_scope("semantic", "semantic-v1"):
        llm.calls.inc()
        llm.error("timeout")
        with metric_scope("generator", "generator-v1"):  # nested: the inner stage counts
            llm.calls.inc()
        llm.calls.inc()
    assert current_scope() == ("none", "none")

    def calls(**labels: str) -> float:
        return _value(registry, "apigen_executor_calls_total", kind="rest", **labels)

    execution = {"stage": "execution", "version": "execution-v2"}
    assert calls(stage="none", version="none", outcome="ok") == 1
    assert calls(**execution, outcome="ok") == 1
    assert calls(**execution, outcome="timeout") == 1
    # A scope's first call binds every outcome, so dashboards see the others at 0.
    assert calls(**execution, outcome="http_error") == 0
    assert _value(registry, "apigen_executor_retries_total", **execution, kind="rest") == 0
    wait = "apigen_executor_rate_limit_wait_duration_seconds_count"
    assert _value(registry, wait, **execution, kind="rest", host="*") == 1
    assert _value(registry, "apigen_executor_cache_requests_total", **execution, result="hit") == 1
    endpoint = {"endpoint": "judge-endpoint", "model": "m"}
    semantic = {"stage": "semantic", "version": "semantic-v1"} | endpoint
    assert _value(registry, "apigen_llm_calls_total", **semantic) == 2
    assert _value(registry, "apigen_llm_request_errors_total", **semantic, reason="timeout") == 1
    generator = {"stage": "generator", "version": "generator-v1"} | endpoint
    assert _value(registry, "apigen_llm_calls_total", **generator) == 1


_MANY_SCOPES = """
from prometheus_client import CollectorRegistry, generate_latest
from executors._metric_scope import MAX_SCOPES, metric_scope
from streamer.runtime._metrics import PipelineMetrics
registry = CollectorRegistry()
retries = PipelineMetrics(registry).executors.for_kind("python").retries
for i in range(MAX_SCOPES + 5):
    with metric_scope(f"stage-{i}", "v1"):
        retries.inc()
print(generate_latest(registry).decode())
"""


def test_metric_scopes_are_bounded() -> None:
    # In a fresh interpreter: the admitted scopes are per process, and using them up here
    # would label the later tests' stages "other".
    result = subprocess.run(
        [sys.executable, "-c", _MANY_SCOPES], capture_output=True, text=True, timeout=60,
        check=True, cwd=REPO,
    )  # fmt: skip
    samples = {
        line.split('stage="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in result.stdout.splitlines()
        if line.startswith("apigen_executor_retries_total{")
    }
    # "none" is admitted from the start (its series made at 0 with the family's children),
    # so MAX_SCOPES - 1 stages get a scope of their own.
    assert len(samples) == MAX_SCOPES + 1
    assert samples["none"] == 0
    assert samples["other"] == 6
    assert all(samples[f"stage-{i}"] == 1 for i in range(MAX_SCOPES - 1))


def test_build_info_counts_running_stages() -> None:
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    stage = metrics.stage("format", "v1")
    info = {"apigen_version": metrics.apigen_version, "python_version": platform.python_version(),
            "stage": "format", "version": "v1"}  # fmt: skip
    stage.started()
    stage.started()  # two runners of one stage in one process
    stage.stopped()
    assert _value(registry, "apigen_build_info", **info) == 1
    stage.stopped()
    assert registry.get_sample_value("apigen_build_info", info) is None
    # A later runner of the same stage and version (the metrics are cached) shows it again.
    assert metrics.stage("format", "v1") is stage
    stage.started()
    assert _value(registry, "apigen_build_info", **info) == 1
