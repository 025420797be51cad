"""A replay whose requested start expired from retention says so, with counts."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from streamer.replay._replay import Bound, Window, expired_start, replay
from streamer.stages import FormatChecker
from topics import EmbeddedTransport, Message, Topic, TopicPartition, encode

from .test_replay import SETTINGS, STRICT_RULES, generation, produce_all

pytestmark = pytest.mark.anyio


def test_expired_start_counts_the_gap_up_to_the_stop() -> None:
    tp = TopicPartition("generations", 0)
    gap = expired_start(tp, 0, 30, 60)
    assert gap is not None and (gap.requested, gap.earliest, gap.missing) == (0, 30, 30)
    assert "generations[0]" in gap.message() and "30 events are not replayed" in gap.message()
    capped = expired_start(tp, 5, 40, 20)
    assert capped is not None and capped.missing == 15
    assert expired_start(tp, 30, 30, 60) is None


@pytest.mark.parametrize("start", ["earliest", "10"])
async def test_replay_from_an_expired_start_warns_and_runs_over_the_rest(
    tmp_path: Path, start: str
) -> None:
    transport = EmbeddedTransport(tmp_path / "log.db", retention_s=3600)
    try:
        await transport.create_topics(list(map(str, Topic)), 1)
        now = int(time.time() * 1000)
        old = now - 7200 * 1000
        await produce_all(
            transport,
            [
                Message(
                    Topic.GENERATIONS,
                    encode(generation(i)),
                    key=b"k",
                    timestamp_ms=old if i < 25 else now,
                )
                for i in range(40)
            ],
        )
        await transport.enforce_retention()  # a background run may have trimmed already
        stage = FormatChecker(STRICT_RULES, version_name=f"expired-{start}")
        result = await replay(
            transport, [stage], window=Window(Bound.parse(start)), settings=SETTINGS
        )
        s = result.stages[0]
        assert s.consumed == 15
        requested = 0 if start == "earliest" else 10
        assert [(g.topic, g.partition, g.requested, g.earliest, g.missing) for g in s.expired] == [
            ("generations", 0, requested, 25, 25 - requested)
        ]
        # From a retained offset, nothing is reported.
        fresh = FormatChecker(STRICT_RULES, version_name=f"fresh-{start}")
        ok = await replay(transport, [fresh], window=Window(Bound.parse("30")), settings=SETTINGS)
        assert ok.stages[0].consumed == 10 and ok.stages[0].expired == ()
    finally:
        await transport.aclose()


async def test_replay_from_earliest_finishes_with_an_empty_partition(tmp_path: Path) -> None:
    """An empty partition is covered from the start; the expiry check once skipped marking
    it so, and a replay (or export --version live) over it never finished."""
    transport = EmbeddedTransport(tmp_path / "log.db")
    try:
        await transport.create_topics(list(map(str, Topic)), 3)
        # One key, so two of the three partitions stay empty.
        await produce_all(
            transport,
            [Message(Topic.GENERATIONS, encode(generation(i)), key=b"k") for i in range(5)],
        )
        stage = FormatChecker(STRICT_RULES, version_name="empty-partitions")
        with anyio.fail_after(60):
            result = await replay(
                transport, [stage], window=Window(Bound.parse("earliest")), settings=SETTINGS
            )
        assert result.stages[0].consumed == 5 and result.stages[0].expired == ()
    finally:
        await transport.aclose()
