"""The embedded log: one SQLite database file in WAL mode, shared by processes on one machine.

Layout (:mod:`topics._sqlite`): a partition is one contiguous rowid range of the records
table; groups keep a generation counter, members (with heartbeats), partition owners and
committed offsets in small tables; rebalancing is the cooperative protocol of
:mod:`topics._group`, membership across processes is :mod:`topics._embedded_group`.

Durability. ``produce`` writes a whole batch in one transaction and returns after COMMIT. In
WAL mode COMMIT appends the transaction's pages to the ``-wal`` file with ``write(2)``; with
``synchronous=NORMAL`` there is no fsync then, but the bytes are in the kernel's page cache,
which outlives the process: an acknowledged batch survives SIGKILL of any process (readers
and the next checkpoint see it). Only an OS crash or power loss can drop the last commits;
pass ``synchronous="FULL"`` to fsync the WAL on every commit if that matters.

Membership. A consumer heartbeats from a small thread; a member silent for
``session_timeout_s`` (say, SIGKILLed) leaves the group and the survivors take over its
partitions from the last committed offsets.

Waiting. An idle ``poll`` re-reads the database with a backoff of 5 ms doubling to 50 ms;
a producer of the same transport wakes at once the consumers subscribed to the topics it
wrote (only those: waking every consumer on every produce cost each of them a fruitless
read per batch), and a group change wakes all of them.

Retention. With ``retention_s`` set, records older than that are deleted whatever the groups
have read (Kafka's ``retention.ms``; details in :mod:`topics._retention`): a producer
starts a trim in a background thread after a produce, at most every ``retention_check_s``,
so no produce waits for it beyond one chunk's deletion; :meth:`EmbeddedTransport.enforce_retention`
trims on demand. A group whose committed offset expired continues at the first retained record.

Full disk. SQLite reports both a full disk and ``max_db_bytes`` as SQLITE_FULL; the
transaction is rolled back whole and :class:`~topics.StorageFull` is raised.

Usage::

    transport = EmbeddedTransport("/var/lib/apigen/log.db", session_timeout_s=3.0)
    await transport.create_topics(["samples"], partitions=4)
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import uuid
import weakref
from collections.abc import Iterable, Sequence
from typing import Literal, Self

from ._embedded_group import EmbeddedSession
from ._errors import TransportError
from ._group import GroupConsumer, Wakeup
from ._partitioning import partition_for_key
from ._retention import RetentionSchedule
from ._sqlite import OFFSET_BITS, Connection, LogFile, end_offset, expire, now_ms, write
from ._transport import Message, PartitionListener, TopicPartition

__all__ = ["EmbeddedTransport"]


class EmbeddedTransport:
    """A :class:`~topics.Transport` on one SQLite file (see the module docstring).

    ``default_partitions``: producing to or subscribing to a missing topic creates it with
    this many partitions (None: raise :class:`~topics.TopicNotFound`).
    ``session_timeout_s``: a consumer silent this long leaves its group.
    ``max_db_bytes``: cap the database size; reaching it raises :class:`~topics.StorageFull`.
    ``busy_timeout_s``: how long a writer waits for another's transaction.
    ``retention_s``: delete records older than this many seconds (None: keep them forever).
    ``retention_check_s``: seconds between two retention runs started by producers.

    Use one instance per event loop (its wake-ups are loop-bound); several processes, or
    several instances, may share one file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        default_partitions: int | None = 1,
        session_timeout_s: float = 3.0,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        max_db_bytes: int | None = None,
        busy_timeout_s: float = 30.0,
        retention_s: float | None = None,
        retention_check_s: float = 60.0,
    ) -> None:
        self._log = LogFile(
            path,
            default_partitions=default_partitions,
            session_timeout_s=session_timeout_s,
            synchronous=synchronous,
            max_db_bytes=max_db_bytes,
            busy_timeout_s=busy_timeout_s,
        )
        self._admin = Connection(self._log)
        self._wakeups = _Wakeups()
        self._retention = (
            None
            if retention_s is None
            else RetentionSchedule(self._log, retention_s, retention_check_s)
        )

    @property
    def path(self) -> str:
        return self._log.path

    @property
    def retention_s(self) -> float | None:
        """Age in seconds after which records are deleted (None: kept forever)."""
        return None if self._retention is None else self._retention.retention_s

    def __repr__(self) -> str:
        return f"<EmbeddedTransport path={self.path!r} topics={sorted(self._log.topics)}>"

    # -- topics -------------------------------------------------------------------------------

    async def create_topics(self, topics: Sequence[str], partitions: int = 1) -> None:
        if partitions < 1:
            raise ValueError("partitions must be >= 1")
        await self._admin.run(lambda conn: self._log.create_topics(conn, list(topics), partitions))

    async def list_topics(self) -> dict[str, int]:
        def run(conn: sqlite3.Connection) -> dict[str, int]:
            self._log.load_topics(conn)
            return {name: parts for name, (parts, _) in self._log.topics.items()}

        return await self._admin.run(run)

    # -- groups -------------------------------------------------------------------------------

    async def list_groups(self) -> list[str]:
        """Groups with members or committed offsets."""

        def run(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT grp FROM members UNION SELECT grp FROM offsets ORDER BY 1"
            ).fetchall()
            return [g for (g,) in rows]

        return await self._admin.run(run)

    async def group_offsets(self, group: str) -> dict[TopicPartition, int]:
        def run(conn: sqlite3.Connection) -> dict[TopicPartition, int]:
            rows = conn.execute(
                "SELECT t.name, o.pid - t.first_pid, o.next_offset FROM offsets o "
                "JOIN topics t ON o.pid >= t.first_pid AND o.pid < t.first_pid + t.partitions "
                "WHERE o.grp = ?",
                (group,),
            ).fetchall()
            return {TopicPartition(name, p): offset for name, p, offset in rows}

        return await self._admin.run(run)

    async def delete_group(self, group: str) -> None:
        """Forget ``group``'s committed offsets (say, before a replay). Raises
        :class:`~topics.TransportError` while it has live members."""
        timeout_ms = int(self._log.session_timeout_s * 1000)

        def run(conn: sqlite3.Connection) -> None:
            with write(conn):
                expire(conn, group, timeout_ms)
                if conn.execute("SELECT 1 FROM members WHERE grp = ?", (group,)).fetchone():
                    raise TransportError(f"group {group!r} still has members")
                for table in ("offsets", "owners"):
                    conn.execute(f"DELETE FROM {table} WHERE grp = ?", (group,))

        await self._admin.run(run)

    # -- retention ----------------------------------------------------------------------------

    async def enforce_retention(self) -> int:
        """Delete the records older than ``retention_s`` now, after a background run in
        progress has finished (see the module docstring); returns how many this call deleted
        (0 when records are kept forever)."""
        retention = self._retention
        if retention is None:
            return 0
        await retention.idle()
        return await self._admin.run(retention.run_sync)

    # -- factories ----------------------------------------------------------------------------

    def producer(self) -> _EmbeddedProducer:
        return _EmbeddedProducer(self)

    def consumer(
        self,
        topics: Sequence[str],
        group: str,
        *,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        on_assign: PartitionListener | None = None,
        on_revoke: PartitionListener | None = None,
    ) -> GroupConsumer:
        member = uuid.uuid4().hex
        subscribed = sorted(set(topics))
        wakeup = self._wakeups.register(subscribed)
        session = EmbeddedSession(self._log, wakeup, group, member, subscribed, auto_offset_reset)
        return GroupConsumer(
            session,
            kind="EmbeddedConsumer",
            group=group,
            member=member,
            on_assign=on_assign,
            on_revoke=on_revoke,
        )

    async def aclose(self) -> None:
        self._wakeups.notify_all()
        if self._retention is not None:
            await self._retention.close()
        await self._admin.close()


class _ConsumerWakeup(Wakeup):
    """One consumer's wake-up. Its session calls :meth:`notify` after a group change, which
    concerns every consumer of the transport, so that wakes them all."""

    def __init__(self, hub: _Wakeups, topics: Iterable[str]) -> None:
        super().__init__()
        self.topics = frozenset(topics)
        self._hub = hub

    def notify(self) -> None:
        self._hub.notify_all()

    def wake(self) -> None:
        super().notify()


class _Wakeups:
    """The wake-ups of one transport's consumers (held weakly: a dropped consumer is gone)."""

    def __init__(self) -> None:
        self._consumers: weakref.WeakSet[_ConsumerWakeup] = weakref.WeakSet()

    def register(self, topics: Iterable[str]) -> _ConsumerWakeup:
        wakeup = _ConsumerWakeup(self, topics)
        self._consumers.add(wakeup)
        return wakeup

    def produced(self, topics: set[str]) -> None:
        for wakeup in list(self._consumers):
            if not wakeup.topics.isdisjoint(topics):
                wakeup.wake()

    def notify_all(self) -> None:
        for wakeup in list(self._consumers):
            wakeup.wake()


class _EmbeddedProducer:
    def __init__(self, transport: EmbeddedTransport) -> None:
        self._transport = transport
        self._db = Connection(transport._log)
        self._round_robin: dict[str, itertools.count[int]] = {}
        self._produced = 0

    def __repr__(self) -> str:
        return f"<EmbeddedProducer path={self._transport.path!r} produced={self._produced}>"

    async def __aenter__(self) -> Self:
        await self._db.run(lambda conn: None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._db.close()

    async def produce(self, messages: Sequence[Message]) -> None:
        """Append ``messages`` in one transaction; returns after COMMIT (see durability)."""
        if not messages:
            return
        await self._db.run(lambda conn: self._produce_sync(conn, messages))
        self._produced += len(messages)
        self._transport._wakeups.produced({m.topic for m in messages})
        if self._transport._retention is not None:
            self._transport._retention.produced()

    def _produce_sync(self, conn: sqlite3.Connection, messages: Sequence[Message]) -> None:
        meta = self._transport._log.topic_meta(conn, list({m.topic: None for m in messages}))
        now = now_ms()
        batches: dict[int, list[tuple[int, bytes | None, bytes]]] = {}
        for m in messages:
            partitions, first = meta[m.topic]
            if m.key is None:
                p = next(self._round_robin.setdefault(m.topic, itertools.count())) % partitions
            else:
                p = partition_for_key(m.key, partitions)
            ts = now if m.timestamp_ms is None else m.timestamp_ms
            batches.setdefault(first + p, []).append((ts, m.key, m.value))
        with write(conn):
            for pid, batch in batches.items():
                base = (pid << OFFSET_BITS) + end_offset(conn, pid)
                conn.executemany(
                    "INSERT INTO records (id, ts, key, value) VALUES (?, ?, ?, ?)",
                    [(base + i, ts, key, value) for i, (ts, key, value) in enumerate(batch)],
                )
