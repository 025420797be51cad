"""Replays and diffs: retained topics through new checker versions.

:func:`replay` runs format, execution or semantic stages (or a multi-turn checker) of
another version over a bounded window of a retained topic (:func:`run_bounded`), under
their own consumer groups and version names; :func:`diff_versions` compares two versions'
outcomes pair by pair.

May import ``pipeline`` and every part below it; not ``check`` or ``cli``.
"""

from ._diff import DiffReport, Flip, diff_versions, resolve_version
from ._replay import (
    MULTI_TURN_REPLAYABLE,
    REPLAYABLE,
    Bound,
    ReplayError,
    ReplayResult,
    StageReplay,
    Window,
    replay,
    run_bounded,
)

__all__ = [
    "MULTI_TURN_REPLAYABLE",
    "REPLAYABLE",
    "Bound",
    "DiffReport",
    "Flip",
    "ReplayError",
    "ReplayResult",
    "StageReplay",
    "Window",
    "diff_versions",
    "replay",
    "resolve_version",
    "run_bounded",
]
