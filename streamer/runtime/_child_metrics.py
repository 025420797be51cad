"""Metrics of child processes, served by their parent (prometheus-client's multiprocess mode).

``apigen run --processes N`` moves stages to child processes. Rather than a ``/metrics``
port per child, the children write their metrics to memory-mapped files in one directory
(:func:`children_dir`, a temporary directory of the parent, removed at its exit) and the
parent's ``/metrics`` serves its own registry merged with theirs (:class:`MergedCollector`),
so one scrape target shows every process's series.

How a child gets there: prometheus-client picks multiprocess mode when it is imported, from
``PROMETHEUS_MULTIPROC_DIR``; the parent imported it long before, so it stays in-process,
and :func:`child_environment` sets the variable only while a child is being spawned (the
child inherits the environment at that moment and imports prometheus-client afresh).

Limits of the mode, and what this project does about them:

- Gauges are merged by their ``multiprocess_mode``: the pipeline's gauges use the ``live*``
  modes, so a child that stops (:func:`mark_child_dead`) takes its gauges with it.
- A child's series cannot be removed (``Gauge.remove`` only warns); the runner sets a
  forgotten lag series to 0 instead (:func:`multiprocess_mode`).
- Counters of children that stopped stay counted, as the parent's own counters do.
- Process metrics (``process_*``) and ``_created`` samples are the parent's only.

Usage (what :class:`~streamer.pipeline._processes.StageProcess` does)::

    with child_environment():
        process.start()
    ...
    process.join()
    mark_child_dead(process.pid)
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "MergedCollector",
    "child_environment",
    "children_dir",
    "mark_child_dead",
    "multiprocess_mode",
    "serving_registry",
]

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""What prometheus-client reads at import to write metrics to files in that directory."""

_lock = threading.Lock()
_dir: Path | None = None


def multiprocess_mode() -> bool:
    """True in a process whose metrics go to files (a child of ``--processes``)."""
    return ENVIRONMENT_VARIABLE in os.environ


def children_dir() -> Path:
    """The directory this process's children write their metrics to (made on first use,
    removed when this process exits)."""
    global _dir
    with _lock:
        if _dir is None:
            _dir = Path(tempfile.mkdtemp(prefix="apigen-metrics-"))
            atexit.register(shutil.rmtree, _dir, True)
        return _dir


@contextmanager
def child_environment() -> Iterator[Path]:
    """Set :data:`ENVIRONMENT_VARIABLE` to :func:`children_dir` while the block spawns a
    child; the parent's own environment is restored after it."""
    path = children_dir()
    with _lock:
        previous = os.environ.get(ENVIRONMENT_VARIABLE)
        os.environ[ENVIRONMENT_VARIABLE] = str(path)
        try:
            yield path
        finally:
            if previous is None:
                del os.environ[ENVIRONMENT_VARIABLE]
            else:
                os.environ[ENVIRONMENT_VARIABLE] = previous


def mark_child_dead(pid: int | None) -> None:
    """Drop the live gauges of the stopped child ``pid`` (its counters stay)."""
    if pid is not None and _dir is not None:
        mark_process_dead(pid, str(_dir))  # type: ignore[no-untyped-call]


class MergedCollector:
    """``registry``'s families merged with the children's, family by family: samples with
    the same name and labels are added (counters, histograms) or the larger kept (gauges).

    Stage families never collide (a stage runs in one process); executor and LLM series
    only do for work outside any stage (``stage="none"``), which adds up.
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        own = list(self.registry.collect())
        path = _dir
        files = sorted(str(p) for p in path.glob("*.db")) if path is not None else []
        if not files:
            return own
        merged: dict[str, Metric] = {}
        values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        merge = MultiProcessCollector.merge
        children: list[Metric] = list(merge(files, accumulate=True))  # type: ignore[no-untyped-call]
        for family in [*own, *children]:
            found = merged.get(family.name)
            if found is None:
                found = merged[family.name] = Metric(
                    family.name, family.documentation, family.type, family.unit
                )
                values[family.name] = {}
            seen = values[family.name]
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key not in seen:
                    seen[key] = sample.value
                elif family.type == "gauge":
                    seen[key] = max(seen[key], sample.value)
                else:
                    seen[key] += sample.value
        for name, family in merged.items():
            for (sample_name, labels), value in values[name].items():
                family.add_sample(sample_name, dict(labels), value)
        return list(merged.values())


def serving_registry(registry: CollectorRegistry = REGISTRY) -> CollectorRegistry:
    """A registry that serves ``registry`` merged with this process's children."""
    served = CollectorRegistry(auto_describe=False)
    served.register(MergedCollector(registry))
    return served
