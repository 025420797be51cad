"""Log retention: the embedded log deletes expired records (Kafka's retention.ms semantics),
Kafka topics are created with ``retention.ms``, and ``[log] retention_hours`` reaches both."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streamer.pipeline._build import open_transport
from streamer.pipeline._config import load_config
from topics import EmbeddedTransport, KafkaTransport, Message, Record, TopicPartition

pytestmark = pytest.mark.anyio

HOUR_MS = 3_600_000
TP = TopicPartition("t", 0)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _old(n: int, tag: str = "old", topic: str = "t") -> list[Message]:
    """``n`` messages stamped two hours ago (older than the one-hour retention used here)."""
    stamp = _now_ms() - 2 * HOUR_MS
    return [Message(topic, f"{tag}{i}".encode(), timestamp_ms=stamp + i) for i in range(n)]


def _new(n: int, tag: str = "new", topic: str = "t") -> list[Message]:
    return [Message(topic, f"{tag}{i}".encode()) for i in range(n)]


async def _produce(transport: EmbeddedTransport, messages: list[Message]) -> None:
    async with transport.producer() as producer:
        await producer.produce(messages)


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[EmbeddedTransport]:
    """A one-hour retention, checked hourly. The first produce starts a background run; once
    it is over, the next is an hour away, so the tests trim on demand only."""
    t = EmbeddedTransport(tmp_path / "log.db", retention_s=3600.0, retention_check_s=3600.0)
    try:
        await _produce(t, [Message("warm-up", b"w")])
        await t.enforce_retention()
        yield t
    finally:
        await t.aclose()


async def _read_all(transport: EmbeddedTransport, group: str, count: int) -> list[Record]:
    got: list[Record] = []
    async with transport.consumer(["t"], group=group) as consumer:
        with anyio.fail_after(20):
            while len(got) < count:
                got.extend(await consumer.poll(max_records=100, timeout_s=0.2))
        assert await consumer.poll(max_records=100, timeout_s=0.05) == []
    return got


def _count(path: str, topic: str = "t") -> int:
    """Records of ``topic`` in the file, counted in SQL."""
    with closing(sqlite3.connect(path)) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM records r JOIN topics t ON r.id >= t.first_pid << 40 "
            "AND r.id < (t.first_pid + t.partitions) << 40 WHERE t.name = ?",
            (topic,),
        ).fetchone()
    return int(n)


async def _end(transport: EmbeddedTransport) -> int:
    async with transport.consumer(["t"], group=f"probe-{uuid.uuid4().hex}") as consumer:
        return (await consumer.end_offsets([TP]))[TP]


async def test_expired_records_are_deleted_and_recent_ones_stay(
    log: EmbeddedTransport,
) -> None:
    await _produce(log, _old(5) + _new(3))
    assert await log.enforce_retention() == 5
    assert _count(log.path) == 3
    got = await _read_all(log, "g", 3)
    assert [(r.offset, r.value) for r in got] == [(5, b"new0"), (6, b"new1"), (7, b"new2")]
    assert await _end(log) == 8


async def test_retention_deletes_a_prefix_like_kafka(log: EmbeddedTransport) -> None:
    """An old record after a recent one stays until the recent one expires: a partition
    stays one contiguous offset range, as Kafka's segment deletion keeps it."""
    await _produce(log, _old(2) + _new(1) + _old(1, "late"))
    assert await log.enforce_retention() == 2
    got = await _read_all(log, "g", 2)
    assert [(r.offset, r.value) for r in got] == [(2, b"new0"), (3, b"late0")]


async def test_offsets_continue_after_every_record_expired(log: EmbeddedTransport) -> None:
    await _produce(log, _old(3) + _old(2, topic="u"))
    assert await log.enforce_retention() == 5
    assert await log.enforce_retention() == 0
    assert _count(log.path) == _count(log.path, "u") == 0
    assert await _end(log) == 3
    await _produce(log, _new(1))
    got = await _read_all(log, "g", 1)
    assert [(r.offset, r.value) for r in got] == [(3, b"new0")]
    # The start is durable: another transport on the file gives the next record offset 4.
    other = EmbeddedTransport(log.path)
    try:
        await _produce(other, _new(1, "again"))
        assert await _end(other) == 5
    finally:
        await other.aclose()


async def test_a_group_whose_offset_expired_continues_at_the_first_retained_record(
    log: EmbeddedTransport,
) -> None:
    await _produce(log, _old(10) + _new(5))
    await log.enforce_retention()
    async with log.consumer(["t"], group="g") as consumer:
        await consumer.commit({TP: 2})  # committed before expiry, say
    assert await log.group_offsets("g") == {TP: 2}
    async with log.consumer(["t"], group="g") as consumer:
        assert consumer.position(TP) == 10
        records = await consumer.poll(max_records=100, timeout_s=1.0)
        assert [r.offset for r in records] == [10, 11, 12, 13, 14]

    async with log.consumer(["t"], group="h") as consumer:
        assert consumer.position(TP) == 10  # earliest = the first retained record
        await consumer.seek(TP, 0)
        await consumer.seek_to_beginning()
        assert consumer.position(TP) == 10
        records = await consumer.poll(max_records=1, timeout_s=1.0)
        assert [r.offset for r in records] == [10]
    async with log.consumer(["t"], group="late", auto_offset_reset="latest") as consumer:
        assert consumer.position(TP) == 15


async def test_a_producer_starts_retention_at_most_every_check_interval(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.db"
    t = EmbeddedTransport(path, retention_s=3600.0, retention_check_s=3600.0)
    try:
        await _produce(t, _old(4))
        # The first produce started a background run; it deletes all four.
        with anyio.fail_after(30):
            while _count(t.path):
                await anyio.sleep(0.02)
        await _produce(t, _old(3, "second"))
    finally:
        await t.aclose()  # joins a background run, had one started
    assert _count(str(path)) == 3  # the next check is an hour away
    plain = EmbeddedTransport(path)
    try:
        assert await _end(plain) == 7
    finally:
        await plain.aclose()


async def test_freed_pages_are_reused_without_vacuum(log: EmbeddedTransport) -> None:
    value = b"x" * 1000

    def batch() -> list[Message]:
        stamp = _now_ms() - 2 * HOUR_MS
        return [Message("t", value, timestamp_ms=stamp) for _ in range(2000)]

    def pages() -> tuple[int, int]:
        with closing(sqlite3.connect(log.path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (count,) = conn.execute("PRAGMA page_count").fetchone()
            (free,) = conn.execute("PRAGMA freelist_count").fetchone()
        return int(count), int(free)

    await log.enforce_retention()  # no-op; keeps the background run out of the way
    await _produce(log, batch())
    await log.enforce_retention()
    full, free = pages()
    assert free > full // 2  # the deleted records' pages are free now
    await _produce(log, batch())
    await log.enforce_retention()
    again, _ = pages()
    assert again <= full * 1.05, (full, again)


async def test_without_retention_nothing_is_deleted(tmp_path: Path) -> None:
    t = EmbeddedTransport(tmp_path / "log.db")
    try:
        assert t.retention_s is None
        await _produce(t, _old(3))
        assert await t.enforce_retention() == 0
        assert _count(t.path) == 3
    finally:
        await t.aclose()


@pytest.mark.parametrize(("retention_s", "check_s"), [(0.0, 60.0), (60.0, -1.0)])
def test_bad_retention_settings_are_rejected(
    tmp_path: Path, retention_s: float, check_s: float
) -> None:
    with pytest.raises(ValueError, match="retention"):
        EmbeddedTransport(tmp_path / "log.db", retention_s=retention_s, retention_check_s=check_s)


async def test_log_retention_hours_reaches_both_transports(tmp_path: Path) -> None:
    config = tmp_path / "apigen.toml"
    config.write_text(f'out = "{tmp_path / "out"}"\n[log]\nretention_hours = 1.5\n')
    loaded = load_config(config)
    assert loaded.retention_hours == 1.5
    embedded = open_transport(loaded)
    try:
        assert isinstance(embedded, EmbeddedTransport)
        assert embedded.retention_s == 5400.0
    finally:
        await embedded.aclose()
    kafka = open_transport(loaded.with_overrides(kafka="127.0.0.1:1"))
    assert isinstance(kafka, KafkaTransport) and kafka.retention_ms == 5_400_000
    await kafka.aclose()

    config.write_text("[log]\nretention_hours = 0\n")
    forever = open_transport(load_config(config).with_overrides(out=tmp_path / "o2"))
    try:
        assert isinstance(forever, EmbeddedTransport) and forever.retention_s is None
    finally:
        await forever.aclose()


async def _retention_ms(admin: AIOKafkaAdminClient, topic: str) -> str:
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})
    (response,) = await admin.describe_configs([resource])
    ((_code, _msg, _type, _name, entries),) = response.resources
    return str(next(e[1] for e in entries if e[0] == "retention.ms"))


@pytest.mark.kafka
async def test_kafka_topics_are_created_with_retention_ms(kafka_bootstrap: str) -> None:
    kept = f"kept-{uuid.uuid4().hex[:10]}"
    fresh = f"fresh-{uuid.uuid4().hex[:10]}"
    plain = KafkaTransport(kafka_bootstrap)
    timed = KafkaTransport(kafka_bootstrap, retention_ms=HOUR_MS)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await plain.create_topics([kept])
        default = await _retention_ms(admin, kept)
        assert default != str(HOUR_MS)
        await timed.create_topics([kept, fresh])
        assert await _retention_ms(admin, fresh) == str(HOUR_MS)
        assert await _retention_ms(admin, kept) == default  # existing topics are left alone
    finally:
        await admin.close()
        await plain.aclose()
        await timed.aclose()
