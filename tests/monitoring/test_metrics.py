"""The metric objects on a private registry: names, bounded labels, per-event counting."""

from __future__ import annotations

import platform
import subprocess

from prometheus_client import CollectorRegistry, generate_latest

from streamer.runtime._metrics import MAX_LABEL_VALUES, PipelineMetrics, partitions_lag
from streamer.runtime._stage import Output, make_reject
from tests.streamer.factories import sample
from topics import Generation, Topic, TopicPartition


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
    assert (
        _value(registry, "apigen_executor_calls_total", kind="rest", outcome="executor_error") == 1
    )
