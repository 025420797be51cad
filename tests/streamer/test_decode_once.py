"""Decode once: a process's own events reach its consumers without a decode, and a run's
dataset is the same with the cache as without it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamer.runtime._decoded import DecodedEvents, shared_decoded, use_decoded
from tests.streamer import test_multi_turn_run as multi_turn
from tests.streamer.test_acceptance import Outcome, _check, _run
from topics import FormatPass, Generation, Sample, decode, encode
from topics._events import EventMeta, GenerationSettings, QueryStyle, Tool

SAMPLES = 150
MULTI_TURN_SAMPLES = 120  # as test_multi_turn_run: enough for every fault to be injected


def _sample(n: int) -> Sample:
    meta = EventMeta(id=f"s{n}", parent_id=None, sample_id=f"s{n}", stage="sampler",
                     stage_version="v1", created_at=1.5)  # fmt: skip
    tool = Tool("get_weather", "Weather of a city.", {"type": "object", "properties": {}})
    return Sample(meta, QueryStyle.SIMPLE, (tool,), settings=GenerationSettings(pairs=2))


def test_take_returns_the_event_put_for_a_read_topic() -> None:
    cache = DecodedEvents()
    event = _sample(1)
    data = encode(event)
    with cache.reading("samples", "generator"):
        cache.put("samples", data, event)
        assert cache.take(bytes(data), Sample) is event  # equal bytes, another object
    assert (cache.hits, cache.misses, len(cache), cache.nbytes) == (1, 0, 0, 0)


def test_topics_no_local_group_reads_are_not_held() -> None:
    cache = DecodedEvents()
    event = _sample(1)
    with cache.reading("samples", "generator"):
        pass
    cache.put("samples", encode(event), event)
    assert len(cache) == 0
    assert cache.take(encode(event), Sample) is None
    assert cache.misses == 1


def test_an_entry_stays_until_every_local_group_took_it() -> None:
    cache = DecodedEvents()
    event = _sample(1)
    data = encode(event)
    with cache.reading("samples", "generator"), cache.reading("samples", "audit"):
        with cache.reading("samples", "generator"):  # a replica: same group, still one taker
            cache.put("samples", data, event)
        assert cache.take(data, Sample) is event
        assert len(cache) == 1
        assert cache.take(data, Sample) is event
        assert len(cache) == 0
        assert cache.take(data, Sample) is None


def test_another_type_is_a_miss() -> None:
    cache = DecodedEvents()
    event = _sample(1)
    with cache.reading("samples", "generator"):
        cache.put("samples", encode(event), event)
        assert cache.take(encode(event), Generation) is None
        assert cache.take(encode(event), Sample) is event


def test_bounds_evict_the_oldest_entries() -> None:
    events = [_sample(n) for n in range(10)]
    size = len(encode(events[0]))
    by_entries = DecodedEvents(max_entries=3)
    by_bytes = DecodedEvents(max_bytes=size * 4 + size // 2)
    for cache, kept in ((by_entries, 3), (by_bytes, 4)):
        with cache.reading("samples", "generator"):
            for event in events:
                cache.put("samples", encode(event), event)
            assert len(cache) == kept
            assert cache.evictions == len(events) - kept
            assert cache.nbytes == sum(len(encode(e)) for e in events[-kept:])
            assert cache.take(encode(events[0]), Sample) is None
            assert cache.take(encode(events[-1]), Sample) is events[-1]


def test_max_entries_zero_turns_it_off() -> None:
    cache = DecodedEvents(max_entries=0)
    event = _sample(1)
    with cache.reading("samples", "generator"):
        cache.put("samples", encode(event), event)
        assert cache.take(encode(event), Sample) is None
    assert len(cache) == 0


class _Recording(DecodedEvents):
    """The real cache, keeping every hit's bytes and event for the checks below."""

    def __init__(self) -> None:
        super().__init__()
        self.taken: list[tuple[bytes, Any]] = []

    def take(self, data: bytes, cls: type[Any]) -> Any | None:
        event = super().take(data, cls)
        if event is not None:
            self.taken.append((data, event))
        return event


def _same(a: Any, b: Any, where: str = "") -> None:
    """``a`` and ``b`` are equal and of the same types all the way down (``==`` would
    take 1 for 1.0 and a tuple for a list's equal)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        raise AssertionError(f"{where}: NaN does not survive encoding")
    else:
        assert a == b, where


@pytest.fixture
def recording() -> Iterator[_Recording]:
    cache = _Recording()
    previous = use_decoded(cache)
    try:
        yield cache
    finally:
        use_decoded(previous)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_run_takes_its_own_events_and_verifies_the_same_dataset(
    tmp_path: Path, recording: _Recording
) -> None:
    shared: Outcome = await _run(tmp_path / "shared", SAMPLES)
    use_decoded(DecodedEvents(max_entries=0))
    decoded: Outcome = await _run(tmp_path / "decoded", SAMPLES)
    _check(shared, SAMPLES)
    _check(decoded, SAMPLES)
    assert shared.records == decoded.records  # ids, queries, calls and results
    assert shared.rejects == decoded.rejects
    assert shared.summary.progress.verified == decoded.summary.progress.verified
    # Every hop after the generator's input was taken, not decoded: generations, format
    # and exec passes, semantic passes; rejects are decoded (they hold their input as JSON).
    verified = shared.summary.progress.verified
    assert recording.hits >= SAMPLES + 3 * verified, recording
    kinds = {type(event).__name__ for _, event in recording.taken}
    assert kinds == {"Generation", "FormatPass", "ExecPass", "SemanticPass"}
    _check_shared(recording)


def _check_shared(recording: _Recording) -> None:
    """No stage mutated an event it shared, and each is what decoding its bytes yields."""
    assert recording.taken
    for data, event in recording.taken:
        assert encode(event) == data, type(event).__name__
        _same(decode(data, type(event)), event, type(event).__name__)
    assert len(recording) < 64, recording  # taken events leave; what stays is in transit


def test_runners_use_the_process_wide_cache_by_default() -> None:
    assert isinstance(shared_decoded(), DecodedEvents)
    assert shared_decoded().max_entries > 0
    assert FormatPass.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_multi_turn_run_keeps_its_trajectories(
    tmp_path: Path, recording: _Recording
) -> None:
    shared = await multi_turn._run(tmp_path / "shared", MULTI_TURN_SAMPLES)
    use_decoded(DecodedEvents(max_entries=0))
    decoded = await multi_turn._run(tmp_path / "decoded", MULTI_TURN_SAMPLES)
    multi_turn._check(shared, MULTI_TURN_SAMPLES)
    multi_turn._check(decoded, MULTI_TURN_SAMPLES)
    assert shared.trajectories == decoded.trajectories
    assert shared.rejects == decoded.rejects
    _check_shared(recording)
