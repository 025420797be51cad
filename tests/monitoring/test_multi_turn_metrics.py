"""The multi-turn metric objects on a private registry: declared zeros, bounded labels,
and the exposition ``promtool check metrics`` accepts. The live counting is
``test_multi_turn_live``'s."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streamer.runtime._metrics import MAX_LABEL_VALUES
from streamer.runtime._multi_turn_metrics import DRAFT_OUTCOMES, MultiTurnMetrics

from ._scenario import lint

V = {"version": "v1"}


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_declared_series_are_zero_until_counted() -> None:
    registry = CollectorRegistry()
    validator = MultiTurnMetrics(registry).stage("blueprint-validator", "v1")
    validator.declare(["retail", "airline"], max_rounds=1)
    drafts = "apigen_multi_turn_blueprint_drafts_total"
    labels = {"stage": "blueprint-validator", **V}
    for domain in ("retail", "airline"):
        for attempt in ("0", "1"):
            for outcome in DRAFT_OUTCOMES:
                where = labels | {"domain": domain, "attempt": attempt, "outcome": outcome}
                assert _value(registry, drafts, **where) == 0, where
    assert (
        _value(registry, drafts, **labels, domain="retail", attempt="2", outcome="passed") is None
    )
    validator.draft("retail", 1, "refined")
    assert _value(registry, drafts, **labels, domain="retail", attempt="1", outcome="refined") == 1


def test_a_stored_trajectory_counts_once_with_its_turns_and_actions() -> None:
    registry = CollectorRegistry()
    sink = MultiTurnMetrics(registry).stage("trajectory-sink", "v1")
    sink.declare(["retail"], verified=True)
    labels = {"stage": "trajectory-sink", **V, "domain": "retail"}
    verified = "apigen_multi_turn_trajectories_verified_total"
    assert _value(registry, verified, **labels) == 0
    sink.trajectory_verified("retail", user_turns=4, actions=3)
    sink.trajectory_verified("retail", user_turns=2, actions=0)
    assert _value(registry, verified, **labels) == 2
    turns = "apigen_multi_turn_trajectory_user_turns"
    assert _value(registry, f"{turns}_sum", **labels) == 6
    assert _value(registry, f"{turns}_bucket", **labels, le="3.0") == 1
    actions = "apigen_multi_turn_trajectory_actions"
    assert _value(registry, f"{actions}_bucket", **labels, le="0.0") == 1
    assert _value(registry, f"{actions}_count", **labels) == 2


def test_labels_are_bounded() -> None:
    registry = CollectorRegistry()
    metrics = MultiTurnMetrics(registry)
    interplay = metrics.stage("interplay", "v1")
    for i in range(MAX_LABEL_VALUES + 5):
        interplay.conversation_ended(f"domain-{i}", "user_done")
    ends = "apigen_multi_turn_conversations_ended_total"
    other = {"stage": "interplay", **V, "domain": "other", "reason": "user_done"}
    assert _value(registry, ends, **other) == 5
    assert _value(registry, ends, **other | {"domain": f"domain-{MAX_LABEL_VALUES}"}) is None
    registry = CollectorRegistry()  # a fresh cap: the domains above used this one up
    validator = MultiTurnMetrics(registry).stage("blueprint-validator", "v1")
    validator.draft("retail", 12, "rejected")
    where = {"stage": "blueprint-validator", **V, "domain": "retail", "outcome": "rejected"}
    assert _value(registry, "apigen_multi_turn_blueprint_drafts_total", **where, attempt="10+") == 1
    with pytest.raises(ValueError, match="outcome"):
        validator.draft("retail", 0, "maybe")


def test_promtool_accepts_the_exposition(promtool: str) -> None:
    registry = CollectorRegistry()
    metrics = MultiTurnMetrics(registry)
    metrics.stage("trajectory-sink", "v1").declare(["retail"], verified=True)
    metrics.stage("interplay", "v1").conversation_ended("airline", "turn_limit")
    metrics.stage("blueprint-validator", "v1").draft("airline", 0, "passed")
    text = generate_latest(registry).decode()
    assert "apigen_multi_turn_trajectory_user_turns_bucket{" in text
    lint(promtool, text)
