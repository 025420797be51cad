"""The embedded log across processes: crash durability, shared groups, expiry, full disk."""

from __future__ import annotations

import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import anyio
import pytest

from topics import EmbeddedTransport, Message, Record, StorageFull, TopicPartition

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 30.0


class Child:
    """A worker process (tests/topics/_embedded_worker.py) whose stdout lines we collect."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.topics._embedded_worker", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.assignment: set[int] = set()
        self.records: list[tuple[int, int]] = []
        self.acked: list[tuple[int, int]] = []

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def drain(self) -> None:
        """Apply every line received so far to the state attributes."""
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            kind, _, rest = line.partition(" ")
            if kind == "assignment":
                self.assignment = {int(p) for p in rest.split(",") if p}
            elif kind == "record":
                p, o = rest.split()
                self.records.append((int(p), int(o)))
            elif kind == "acked":
                first, last = rest.split()
                self.acked.append((int(first), int(last)))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no cleanup runs in the child
        self.proc.wait(timeout=DEADLINE_S)
        self._reader.join(timeout=DEADLINE_S)
        self.drain()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()
        if child.proc.stdout is not None:
            child.proc.stdout.close()


def wait_for(children: list[Child], done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        for child in children:
            child.drain()
        if done():
            return
        for child in children:
            assert child.proc.poll() is None, f"worker exited with {child.proc.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def setup_topic(path: Path, topic: str, partitions: int, values: range) -> None:
    async def run() -> None:
        transport = EmbeddedTransport(path)
        await transport.create_topics([topic], partitions=partitions)
        await produce(transport, topic, values)
        await transport.aclose()

    anyio.run(run)


async def produce(transport: EmbeddedTransport, topic: str, values: range) -> None:
    async with transport.producer() as producer:
        await producer.produce(
            [Message(topic, str(i).encode(), key=str(i).encode()) for i in values]
        )


def read_all(path: Path, topic: str) -> list[Record]:
    """Every record of ``topic``, read by a fresh group up to the end offsets."""

    async def run() -> list[Record]:
        transport = EmbeddedTransport(path)
        partitions = (await transport.list_topics())[topic]
        records: list[Record] = []
        async with transport.consumer([topic], f"reader-{time.time_ns()}") as consumer:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            total = sum((await consumer.end_offsets(tps)).values())
            with anyio.fail_after(DEADLINE_S):
                while len(records) < total:
                    records += await consumer.poll(max_records=1000, timeout_s=1.0)
        await transport.aclose()
        return records

    return anyio.run(run)


def test_acknowledged_messages_survive_sigkill_of_the_producer(
    tmp_path: Path, children: list[Child]
) -> None:
    path, topic, batch = tmp_path / "log.db", "crash", 50
    setup_topic(path, topic, 3, range(0))
    producer = Child("produce", str(path), topic, str(batch))
    children.append(producer)
    wait_for(children, lambda: len(producer.acked) >= 20, "20 acknowledged batches")
    producer.kill()
    acked = {i for first, last in producer.acked for i in range(first, last + 1)}

    records = read_all(path, topic)
    values = {int(r.value) for r in records}
    assert acked <= values
    # Batches are atomic: the one in flight at the kill is either whole or absent.
    assert len(records) == len(values) and len(values) % batch == 0
    assert values == set(range(len(values)))
    for p in range(3):
        offsets = sorted(r.offset for r in records if r.partition == p)
        assert offsets == list(range(len(offsets)))
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _split(a: Child, b: Child, partitions: int) -> bool:
    return bool(
        a.assignment
        and b.assignment
        and not a.assignment & b.assignment
        and a.assignment | b.assignment == set(range(partitions))
    )


def test_two_processes_split_a_group_and_read_each_record_once(
    tmp_path: Path, children: list[Child]
) -> None:
    path, topic = tmp_path / "log.db", "split"
    setup_topic(path, topic, 4, range(40))
    a = Child("consume", str(path), topic, "g", "3.0")
    children.append(a)
    wait_for(children, lambda: a.assignment == {0, 1, 2, 3}, "the first member's assignment")
    b = Child("consume", str(path), topic, "g", "3.0")
    children.append(b)
    wait_for(children, lambda: _split(a, b, 4), "both members to share the partitions")

    setup_topic(path, topic, 4, range(40, 80))
    wait_for(children, lambda: len(a.records) + len(b.records) >= 80, "all 80 records")
    seen = a.records + b.records
    assert len(seen) == len(set(seen)) == 80
    assert {p for p, _ in b.records} <= b.assignment


def test_a_killed_member_is_expired_and_its_partitions_taken_over(
    tmp_path: Path, children: list[Child]
) -> None:
    path, topic, session_timeout_s = tmp_path / "log.db", "expiry", 1.0
    setup_topic(path, topic, 4, range(20))
    a = Child("consume", str(path), topic, "g", str(session_timeout_s))
    b = Child("consume", str(path), topic, "g", str(session_timeout_s))
    children += [a, b]
    wait_for(children, lambda: _split(a, b, 4), "both members to share the partitions")
    wait_for(children, lambda: len(set(a.records + b.records)) >= 20, "the first 20 records")

    b.kill()
    killed_at = time.monotonic()
    children.remove(b)
    wait_for(children, lambda: a.assignment == {0, 1, 2, 3}, "the survivor to take over")
    took_over_s = time.monotonic() - killed_at
    assert took_over_s < session_timeout_s + 5.0

    setup_topic(path, topic, 4, range(20, 40))
    wait_for(children, lambda: len(set(a.records + b.records)) >= 40, "all 40 records")
    assert {p for p, _ in a.records[-20:]} == {0, 1, 2, 3}


@pytest.mark.anyio
async def test_full_disk_raises_storage_full_and_keeps_the_log_consistent(
    tmp_path: Path,
) -> None:
    # max_db_bytes sets PRAGMA max_page_count on every connection; SQLite then fails the
    # write with SQLITE_FULL ("database or disk is full"), the same result code and the
    # same rollback path as a write that hits ENOSPC, without filling a real disk.
    path, topic = tmp_path / "log.db", "full"
    capped = EmbeddedTransport(path, max_db_bytes=256 * 1024)
    await capped.create_topics([topic], partitions=2)
    value = b"x" * 1000
    acked = 0
    async with capped.producer() as producer:
        with pytest.raises(StorageFull) as info:
            for _ in range(1000):
                await producer.produce([Message(topic, value) for _ in range(20)])
                acked += 20
    await capped.aclose()
    assert info.value.reason == "storage_full"
    assert "full" in str(info.value)
    assert 0 < acked < 20_000

    uncapped = EmbeddedTransport(path)
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    async with uncapped.consumer([topic], "g") as consumer:
        assert sum((await consumer.end_offsets(tps)).values()) == acked
        await produce(uncapped, topic, range(2))
        assert sum((await consumer.end_offsets(tps)).values()) == acked + 2
    await uncapped.aclose()
    records = await anyio.to_thread.run_sync(read_all, path, topic)
    assert len(records) == acked + 2
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
