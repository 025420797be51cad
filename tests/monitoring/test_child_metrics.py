"""The children's metrics, merged into the parent's: a real spawned child in multiprocess
mode, the parent in-process, one exposition (no Prometheus needed)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from streamer.runtime._child_metrics import (
    child_environment,
    mark_child_dead,
    multiprocess_mode,
    serving_registry,
)

from ._scenario import lint


def _child(done: Connection, release: Connection) -> None:
    """A child: counts 3 events under stage="child", 2 under the stage the parent also
    counts, and holds a live gauge of 7 until released."""
    from prometheus_client import REGISTRY, Counter, Gauge

    assert multiprocess_mode()
    events = Counter("apigen_test_child_events", "Test events.", ["stage"], registry=REGISTRY)
    events.labels("child").inc(3)
    events.labels("both").inc(2)
    live = Gauge(
        "apigen_test_child_live", "Test gauge.", ["stage"], registry=REGISTRY,
        multiprocess_mode="livesum",
    )  # fmt: skip
    live.labels("child").set(7)
    done.send(True)
    release.recv()


def _samples(registry: CollectorRegistry, name: str) -> dict[str, float]:
    return {
        s.labels["stage"]: s.value
        for family in serving_registry(registry).collect()
        for s in family.samples
        if s.name == name
    }


def test_a_childs_series_are_served_with_the_parents_and_its_gauges_go_with_it(
    promtool: str,
) -> None:
    registry = CollectorRegistry()
    Counter("apigen_test_child_events", "Test events.", ["stage"], registry=registry).labels(
        "both"
    ).inc(5)
    Gauge("apigen_test_child_live", "Test gauge.", ["stage"], registry=registry).labels(
        "parent"
    ).set(1)
    context = multiprocessing.get_context("spawn")
    (done_recv, done_send), (release_recv, release_send) = context.Pipe(False), context.Pipe(False)
    process = context.Process(target=_child, args=(done_send, release_recv))
    with child_environment():
        process.start()
    assert not multiprocess_mode()  # the parent's environment is restored
    try:
        assert done_recv.poll(60), "the child did not count"
        done_recv.recv()
        events = _samples(registry, "apigen_test_child_events_total")
        # The run's own count and the child's add up for a series both have.
        assert events["both"] == 5 + 2 and events["child"] == 3
        assert _samples(registry, "apigen_test_child_live") == {"parent": 1, "child": 7}
        lint(promtool, generate_latest(serving_registry(registry)).decode())
    finally:
        release_send.send(True)
        process.join(30)
    mark_child_dead(process.pid)
    assert _samples(registry, "apigen_test_child_live") == {"parent": 1}
    assert _samples(registry, "apigen_test_child_events_total")["child"] == 3  # counts stay
