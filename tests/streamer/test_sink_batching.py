"""Group-committed sink writes: one transaction per batch, the same outcome as one by one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest
from prometheus_client import Gauge

from streamer.dataset._store import DatasetStore
from streamer.runtime._metrics import pipeline_metrics
from streamer.stages import DatasetSink, FunnelSink
from streamer.stages._sink import GroupCommit
from topics import EventMeta, Reject, SemanticPass

from .factories import verified

QUERIES = [
    "Convert 100 dollars to euros using today's exchange rate",
    "convert 100 DOLLARS to euros, using today's exchange rate!",
    "Please convert 100 dollars to euros using today's exchange rate",
    "How tall is Mount Everest in feet?",
    "How tall is Mount Everest in feet?",
]


def _events() -> list[SemanticPass]:
    return [verified(q, sid=f"s{i}") for i, q in enumerate(QUERIES)]


def _reject(rid: str) -> Reject:
    meta = EventMeta(id=rid, parent_id="p", sample_id="s", stage="format", stage_version="v")
    return Reject(meta=meta, reason="type_mismatch", message="x", rejected={}, model="m")


def _state(store: DatasetStore) -> tuple[object, ...]:
    return (
        [r.id for r in store.records()],
        store.count(include_duplicates=True),
        store.duplicates(),
    )


def test_a_batch_equals_one_by_one_including_duplicates_within_it(tmp_path: Path) -> None:
    one = DatasetStore(tmp_path / "one.db", near_threshold=0.6)
    many = DatasetStore(tmp_path / "many.db", near_threshold=0.6)
    events = _events()
    singles = [one.add(e) for e in events]
    batch = many.add_many([*events, events[0]])
    assert batch == [*singles, False]
    assert _state(one) == _state(many)
    assert many.duplicates() == {"exact": 2, "near": 1}
    assert many.add_rejects([_reject("r1"), _reject("r2"), _reject("r1")]) == [True, True, False]
    assert not many.add_reject(_reject("r2"))


def test_a_failed_batch_writes_nothing_and_the_store_keeps_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0.6)
    events = _events()
    assert store.add(events[3])

    class Boom(RuntimeError):
        pass

    original = store._insert
    calls = 0

    def failing(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Boom
        original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_insert", failing)
    with pytest.raises(Boom):
        store.add_many(events[:3])
    monkeypatch.setattr(store, "_insert", original)
    assert store.count(include_duplicates=True) == 1
    # The near-duplicate index was rebuilt: the first query is not a phantom duplicate.
    assert store.add_many(events[:3]) == [True, True, True]
    assert store.count() == 2 and store.duplicates() == {"exact": 1, "near": 1}


@pytest.mark.anyio
async def test_concurrent_submits_share_transactions_and_get_their_own_answer() -> None:
    batches: list[list[int]] = []

    def write(items: Sequence[int]) -> list[bool]:
        batches.append(list(items))
        return [i % 2 == 0 for i in items]

    commit = GroupCommit[int](write, max_batch=8, linger_s=0.01)
    answers: dict[int, bool] = {}

    async def submit(i: int) -> None:
        answers[i] = await commit.submit(i)

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(submit, i)
    assert answers == {i: i % 2 == 0 for i in range(20)}
    assert sorted(i for b in batches for i in b) == list(range(20))
    assert len(batches) < 20 and max(len(b) for b in batches) <= 8
    assert commit.items == 20 and commit.batches == len(batches)


@pytest.mark.anyio
async def test_a_write_error_reaches_every_submitter_of_that_batch_only() -> None:
    def write(items: Sequence[int]) -> list[bool]:
        if 3 in items:
            raise ValueError("disk full")
        return [True] * len(items)

    commit = GroupCommit[int](write, max_batch=4, linger_s=0.01)
    outcomes: dict[int, str] = {}

    async def submit(i: int) -> None:
        try:
            outcomes[i] = str(await commit.submit(i))
        except ValueError as exc:
            outcomes[i] = str(exc)

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(submit, i)
    assert {i for i, o in outcomes.items() if o == "disk full"} == {0, 1, 2, 3}
    assert all(outcomes[i] == "True" for i in range(4, 8))


@pytest.mark.anyio
async def test_sinks_report_each_new_event_once(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0)
    seen: list[str] = []
    rejected: list[str] = []
    sink = DatasetSink(store, lambda e: seen.append(e.meta.id))
    funnel = FunnelSink(store, lambda r: rejected.append(r.meta.id))
    events = _events()
    async with anyio.create_task_group() as tg:
        for e in [*events, *events]:
            tg.start_soon(sink.process, e)
        for rid in ("r1", "r2", "r1"):
            tg.start_soon(funnel.process, _reject(rid))
    assert sorted(seen) == sorted(e.meta.id for e in events)
    assert sorted(rejected) == ["r1", "r2"]
    assert store.count(include_duplicates=True) == len(events)


def _scraped(gauge: Gauge) -> float:
    return float(next(iter(gauge.collect())).samples[0].value)


@pytest.mark.anyio
async def test_the_dataset_size_gauge_counts_unique_records(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db")
    sink = DatasetSink(store)
    gauge = pipeline_metrics().dataset_records
    for event in _events():  # 5 pairs: 2 unique queries, the rest exact or near duplicates
        await sink.process(event)
    assert store.count(include_duplicates=True) == 5
    assert _scraped(gauge) == store.count() == 2
    store.close()
    assert _scraped(gauge) == 2  # a closed store keeps its last count, never an error


def test_minhashes_equal_freshly_drawn_ones(tmp_path: Path) -> None:
    from datasketch import MinHash

    store = DatasetStore(tmp_path / "d.db")
    for query in QUERIES:
        fresh = MinHash(num_perm=64)
        words = re.findall(r"\w+", query.lower())
        for s in {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}:
            fresh.update(s.encode())
        assert (store._minhash(query).hashvalues == fresh.hashvalues).all(), query
