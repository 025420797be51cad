"""The stage runtime: what every service runs on.

A :class:`Stage` turns one input event into output events and rejects; a
:class:`StageRunner` consumes its input topic, runs it with bounded concurrency, produces its
outputs and commits offsets only after they were acknowledged (:class:`OffsetTracker`);
:mod:`._metrics` is every stage's Prometheus metrics.

May import ``topics`` and ``executors``; nothing else of ``streamer``.
"""

from ._metrics import LlmMetrics, PipelineMetrics, StageMetrics, pipeline_metrics, serve_metrics
from ._offsets import OffsetTracker
from ._runner import RunnerSettings, RunnerStats, StageRunner
from ._stage import MAX_EVENT_BYTES, Output, Stage, UnencodableOutput, make_reject, stage_version

__all__ = [
    "MAX_EVENT_BYTES",
    "LlmMetrics",
    "OffsetTracker",
    "Output",
    "PipelineMetrics",
    "RunnerSettings",
    "RunnerStats",
    "Stage",
    "StageMetrics",
    "StageRunner",
    "UnencodableOutput",
    "make_reject",
    "pipeline_metrics",
    "serve_metrics",
    "stage_version",
]
