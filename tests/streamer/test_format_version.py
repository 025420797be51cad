"""The format stage's version name: its judgments changed (no-call answers, nested
arguments, integer/boolean rules, BFCL conventions), so replays and datasets must tell
format-v2 verdicts from format-v1 ones."""

from __future__ import annotations

from streamer.pipeline._versions import VERSION_NAMES
from streamer.stages import FormatChecker


def test_format_stage_is_v2_live_and_by_default() -> None:
    assert VERSION_NAMES["format"] == "format-v2"
    assert FormatChecker().version.startswith("format-v2-")
