"""The embedded log: one SQLite database file in WAL mode, shared by processes on one machine.

Layout. Each topic's partitions get consecutive global ids (``pid``); a record's rowid is
``pid << 40 | offset``, so a partition is one contiguous rowid range: appends and reads are
b-tree range operations, offsets stay dense from 0 and the end offset is one ``max(rowid)``.
Groups keep a generation counter, members (with heartbeats), partition owners and committed
offsets in small tables; rebalancing is the cooperative protocol of :mod:`topics._group`.

Durability. ``produce`` writes a whole batch in one transaction and returns after COMMIT. In
WAL mode COMMIT appends the transaction's pages to the ``-wal`` file with ``write(2)``; with
``synchronous=NORMAL`` there is no fsync then, but the bytes are in the kernel's page cache,
which outlives the process: an acknowledged batch survives SIGKILL of any process (readers
and the next checkpoint see it). Only an OS crash or power loss can drop the last commits;
pass ``synchronous="FULL"`` to fsync the WAL on every commit if that matters.

Membership across processes. A consumer heartbeats from a small thread every
``session_timeout_s / 3``; a member silent for ``session_timeout_s`` (say, SIGKILLed) is
removed by any other member's heartbeat or join, which bumps the generation so the survivors
take over its partitions from the last committed offsets.

Waiting. An idle ``poll`` re-reads the database with a backoff of 5 ms doubling to 50 ms;
a producer of the same transport wakes its consumers at once.

Full disk. SQLite reports both a full disk and ``max_db_bytes`` as SQLITE_FULL; the
transaction is rolled back whole and :class:`~topics.StorageFull` is raised.

Usage::

    transport = EmbeddedTransport("/var/lib/apigen/log.db", session_timeout_s=3.0)
    await transport.create_topics(["samples"], partitions=4)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Literal, Self, TypeVar

import anyio
import anyio.to_thread

from ._errors import StorageFull, TopicNotFound, TransportError
from ._group import GroupConsumer, SyncResult
from ._partitioning import assign, partition_for_key
from ._transport import Message, PartitionListener, Record, TopicPartition

__all__ = ["EmbeddedTransport"]

T = TypeVar("T")

_OFFSET_BITS = 40
_SPAN = 1 << _OFFSET_BITS
_MIN_BACKOFF_S = 0.005
_MAX_BACKOFF_S = 0.05

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY, partitions INTEGER NOT NULL, first_pid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, key BLOB, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    grp TEXT NOT NULL, member TEXT NOT NULL, topics TEXT NOT NULL,
    heartbeat_ms INTEGER NOT NULL, PRIMARY KEY (grp, member)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owners (
    grp TEXT NOT NULL, pid INTEGER NOT NULL, member TEXT NOT NULL,
    PRIMARY KEY (grp, pid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
    grp TEXT NOT NULL, pid INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (grp, pid)) WITHOUT ROWID;
"""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Db:
    """One SQLite connection, used from worker threads one call at a time."""

    def __init__(self, transport: EmbeddedTransport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._transport._connect()
        return self._conn

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._open()
            try:
                return fn(conn)
            except sqlite3.Error as exc:
                # SQLITE_FULL and I/O errors may roll the transaction back themselves.
                if conn.in_transaction:
                    conn.rollback()
                raise self._transport._translate(exc) from exc

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(self.run_sync, fn)

    def close_sync(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.close_sync)


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction; IMMEDIATE takes the write lock up front (waiting up to the busy
    timeout) so two writers cannot deadlock upgrading read locks."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def _bump(conn: sqlite3.Connection, group: str) -> None:
    conn.execute(
        "INSERT INTO groups (name, generation) VALUES (?, 1) "
        "ON CONFLICT (name) DO UPDATE SET generation = generation + 1",
        (group,),
    )


def _end_offset(conn: sqlite3.Connection, pid: int) -> int:
    lo = pid << _OFFSET_BITS
    (top,) = conn.execute(
        "SELECT max(id) FROM records WHERE id >= ? AND id < ?", (lo, lo + _SPAN)
    ).fetchone()
    return 0 if top is None else top - lo + 1


def _expire(conn: sqlite3.Connection, group: str, timeout_ms: int) -> None:
    """Remove members whose heartbeat is older than the session timeout (inside a write)."""
    dead = [
        m
        for (m,) in conn.execute(
            "SELECT member FROM members WHERE grp = ? AND heartbeat_ms < ?",
            (group, _now_ms() - timeout_ms),
        )
    ]
    if dead:
        conn.executemany(
            "DELETE FROM members WHERE grp = ? AND member = ?", [(group, m) for m in dead]
        )
        conn.executemany(
            "DELETE FROM owners WHERE grp = ? AND member = ?", [(group, m) for m in dead]
        )
        _bump(conn, group)


class EmbeddedTransport:
    """A :class:`~topics.Transport` on one SQLite file (see the module docstring).

    ``default_partitions``: producing to or subscribing to a missing topic creates it with
    this many partitions (None: raise :class:`~topics.TopicNotFound`).
    ``session_timeout_s``: a consumer silent this long leaves its group.
    ``max_db_bytes``: cap the database size; reaching it raises :class:`~topics.StorageFull`.
    ``busy_timeout_s``: how long a writer waits for another's transaction.
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
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be 'NORMAL' or 'FULL'")
        self.path = os.fspath(path)
        self.session_timeout_s = session_timeout_s
        self._default_partitions = default_partitions
        self._synchronous = synchronous
        self._max_db_bytes = max_db_bytes
        self._busy_timeout_s = busy_timeout_s
        self._schema_ready = False
        self._topics: dict[str, tuple[int, int]] = {}  # name -> (partitions, first pid)
        self._admin = _Db(self)
        self._changed: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"<EmbeddedTransport path={self.path!r} topics={len(self._topics)} cached>"

    # -- connections ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            if self._max_db_bytes is not None:
                (page_size,) = conn.execute("PRAGMA page_size").fetchone()
                conn.execute(f"PRAGMA max_page_count = {max(1, self._max_db_bytes // page_size)}")
            if not self._schema_ready:
                # executescript commits any open transaction first, so it brackets its own.
                conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
                self._schema_ready = True
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        return conn

    def _translate(self, exc: sqlite3.Error) -> TransportError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            return StorageFull(
                f"embedded log {self.path!r} is full ({exc}); the write was rolled back. "
                "Free disk space (or raise max_db_bytes) and retry."
            )
        return TransportError(f"embedded log {self.path!r}: {exc}")

    # -- topics -------------------------------------------------------------------------------

    def _topic_meta(
        self, conn: sqlite3.Connection, topics: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        """Partition count and first pid of ``topics``, creating missing ones if allowed.
        Runs in a worker thread outside any transaction."""
        missing = {t for t in topics if t not in self._topics}
        if missing:
            self._load_topics(conn)
            missing -= self._topics.keys()
        if missing:
            if self._default_partitions is None:
                raise TopicNotFound(f"topic {sorted(missing)[0]!r} does not exist")
            self._create_sync(conn, sorted(missing), self._default_partitions)
        return {t: self._topics[t] for t in topics}

    def _load_topics(self, conn: sqlite3.Connection) -> None:
        for name, partitions, first in conn.execute(
            "SELECT name, partitions, first_pid FROM topics"
        ):
            self._topics[name] = (partitions, first)

    def _create_sync(
        self, conn: sqlite3.Connection, topics: Sequence[str], partitions: int
    ) -> None:
        with _write(conn):
            for topic in topics:
                conn.execute(
                    "INSERT OR IGNORE INTO topics (name, partitions, first_pid) VALUES (?, ?, "
                    "(SELECT coalesce(max(first_pid + partitions), 0) FROM topics))",
                    (topic, partitions),
                )
        self._load_topics(conn)

    async def create_topics(self, topics: Sequence[str], partitions: int = 1) -> None:
        if partitions < 1:
            raise ValueError("partitions must be >= 1")
        await self._admin.run(lambda conn: self._create_sync(conn, list(topics), partitions))

    async def list_topics(self) -> dict[str, int]:
        def run(conn: sqlite3.Connection) -> dict[str, int]:
            self._load_topics(conn)
            return {name: parts for name, (parts, _) in self._topics.items()}

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

    async def delete_group(self, group: str) -> None:
        """Forget ``group``'s committed offsets (say, before a replay). Raises
        :class:`~topics.TransportError` while it has live members."""
        timeout_ms = int(self.session_timeout_s * 1000)

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                _expire(conn, group, timeout_ms)
                if conn.execute("SELECT 1 FROM members WHERE grp = ?", (group,)).fetchone():
                    raise TransportError(f"group {group!r} still has members")
                for table in ("offsets", "owners"):
                    conn.execute(f"DELETE FROM {table} WHERE grp = ?", (group,))

        await self._admin.run(run)

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
        session = _EmbeddedSession(self, group, member, sorted(set(topics)), auto_offset_reset)
        return GroupConsumer(
            session,
            kind="EmbeddedConsumer",
            group=group,
            member=member,
            on_assign=on_assign,
            on_revoke=on_revoke,
        )

    async def aclose(self) -> None:
        self._notify()
        await self._admin.close()

    # -- in-process wake-ups ------------------------------------------------------------------

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait(self, timeout_s: float) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        with anyio.move_on_after(timeout_s):
            await self._changed.wait()


class _EmbeddedProducer:
    def __init__(self, transport: EmbeddedTransport) -> None:
        self._transport = transport
        self._db = _Db(transport)
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
        self._transport._notify()

    def _produce_sync(self, conn: sqlite3.Connection, messages: Sequence[Message]) -> None:
        meta = self._transport._topic_meta(conn, list({m.topic: None for m in messages}))
        now_ms = _now_ms()
        batches: dict[int, list[tuple[int, bytes | None, bytes]]] = {}
        for m in messages:
            partitions, first = meta[m.topic]
            if m.key is None:
                p = next(self._round_robin.setdefault(m.topic, itertools.count())) % partitions
            else:
                p = partition_for_key(m.key, partitions)
            ts = now_ms if m.timestamp_ms is None else m.timestamp_ms
            batches.setdefault(first + p, []).append((ts, m.key, m.value))
        with _write(conn):
            for pid, batch in batches.items():
                base = (pid << _OFFSET_BITS) + _end_offset(conn, pid)
                conn.executemany(
                    "INSERT INTO records (id, ts, key, value) VALUES (?, ?, ?, ?)",
                    [(base + i, ts, key, value) for i, (ts, key, value) in enumerate(batch)],
                )


class _EmbeddedSession:
    """One consumer's storage operations, on its own connection; plus its heartbeat thread."""

    def __init__(
        self,
        transport: EmbeddedTransport,
        group: str,
        member: str,
        topics: list[str],
        reset: Literal["earliest", "latest"],
    ) -> None:
        self._t = transport
        self._group = group
        self._member = member
        self._topics = topics
        self._reset = reset
        self._db = _Db(transport)
        self._timeout_ms = int(transport.session_timeout_s * 1000)
        self._expired = threading.Event()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._backoff_s = _MIN_BACKOFF_S

    def _pid(self, conn: sqlite3.Connection, tp: TopicPartition) -> int:
        meta = self._t._topics.get(tp.topic)
        if meta is None:
            self._t._load_topics(conn)
            meta = self._t._topics.get(tp.topic)
            if meta is None:
                raise TopicNotFound(f"topic {tp.topic!r} does not exist")
        partitions, first = meta
        if not 0 <= tp.partition < partitions:
            raise TransportError(f"{tp.topic!r} has no partition {tp.partition}")
        return first + tp.partition

    # -- membership ---------------------------------------------------------------------------

    def _register(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO members (grp, member, topics, heartbeat_ms) VALUES (?,?,?,?)",
            (self._group, self._member, json.dumps(self._topics), _now_ms()),
        )
        _bump(conn, self._group)
        self._expired.clear()

    async def join(self) -> None:
        def run(conn: sqlite3.Connection) -> None:
            self._t._topic_meta(conn, self._topics)
            with _write(conn):
                _expire(conn, self._group, self._timeout_ms)
                self._register(conn)

        await self._db.run(run)
        self._heartbeat = threading.Thread(
            target=self._heartbeat_loop, name=f"heartbeat-{self._member[:8]}", daemon=True
        )
        self._heartbeat.start()

    def _heartbeat_loop(self) -> None:
        db = _Db(self._t)
        try:
            while not self._stop.wait(self._t.session_timeout_s / 3):
                # A busy or full database: try again next beat; expiry is the backstop.
                with contextlib.suppress(TransportError):
                    db.run_sync(self._beat)
        finally:
            db.close_sync()

    def _beat(self, conn: sqlite3.Connection) -> None:
        with _write(conn):
            alive = conn.execute(
                "UPDATE members SET heartbeat_ms = ? WHERE grp = ? AND member = ?",
                (_now_ms(), self._group, self._member),
            ).rowcount
            if not alive:
                self._expired.set()
            _expire(conn, self._group, self._timeout_ms)

    async def leave(self, owned: frozenset[TopicPartition]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.execute(
                    "DELETE FROM owners WHERE grp = ? AND member = ?", (self._group, self._member)
                )
                conn.execute(
                    "DELETE FROM members WHERE grp = ? AND member = ?", (self._group, self._member)
                )
                _bump(conn, self._group)

        await self._db.run(run)
        self._t._notify()

    async def close(self) -> None:
        self._stop.set()
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            await anyio.to_thread.run_sync(heartbeat.join)
        await self._db.close()

    # -- rebalancing --------------------------------------------------------------------------

    async def sync(self, owned: frozenset[TopicPartition]) -> SyncResult:
        return await self._db.run(lambda conn: self._sync(conn, owned))

    def _sync(self, conn: sqlite3.Connection, owned: frozenset[TopicPartition]) -> SyncResult:
        with _write(conn):
            alive = conn.execute(
                "UPDATE members SET heartbeat_ms = ? WHERE grp = ? AND member = ?",
                (_now_ms(), self._group, self._member),
            ).rowcount
            if not alive:
                self._register(conn)
            (generation,) = conn.execute(
                "SELECT generation FROM groups WHERE name = ?", (self._group,)
            ).fetchone()
            members = {
                m: json.loads(topics)
                for m, topics in conn.execute(
                    "SELECT member, topics FROM members WHERE grp = ?", (self._group,)
                )
            }
            self._t._load_topics(conn)
            counts = {name: parts for name, (parts, _) in self._t._topics.items()}
            target = assign(members, counts)[self._member]
            owners = dict(
                conn.execute("SELECT pid, member FROM owners WHERE grp = ?", (self._group,))
            )
            mine = {tp for tp in target | owned if owners.get(self._pid(conn, tp)) == self._member}
            claimed: dict[TopicPartition, int] = {}
            for tp in sorted(target - mine):
                pid = self._pid(conn, tp)
                if pid in owners:
                    continue
                conn.execute(
                    "INSERT INTO owners (grp, pid, member) VALUES (?, ?, ?)",
                    (self._group, pid, self._member),
                )
                claimed[tp] = self._start_offset(conn, pid)
        lost = owned - (target & mine)
        pending = frozenset(target - mine - claimed.keys())
        return SyncResult(generation, claimed, frozenset(lost), pending)

    def _start_offset(self, conn: sqlite3.Connection, pid: int) -> int:
        row = conn.execute(
            "SELECT next_offset FROM offsets WHERE grp = ? AND pid = ?", (self._group, pid)
        ).fetchone()
        if row is not None:
            return int(row[0])
        return 0 if self._reset == "earliest" else _end_offset(conn, pid)

    async def release(self, tps: frozenset[TopicPartition]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.executemany(
                    "DELETE FROM owners WHERE grp = ? AND pid = ? AND member = ?",
                    [(self._group, self._pid(conn, tp), self._member) for tp in tps],
                )

        await self._db.run(run)
        self._t._notify()

    # -- reading ------------------------------------------------------------------------------

    async def fetch(
        self,
        generation: int,
        pending: frozenset[TopicPartition],
        positions: Mapping[TopicPartition, int],
        max_records: int,
    ) -> list[Record] | None:
        records = await self._db.run(
            lambda conn: self._fetch(conn, generation, pending, positions, max_records)
        )
        if records:
            self._backoff_s = _MIN_BACKOFF_S
        return records

    def _fetch(
        self,
        conn: sqlite3.Connection,
        generation: int,
        pending: frozenset[TopicPartition],
        positions: Mapping[TopicPartition, int],
        max_records: int,
    ) -> list[Record] | None:
        if self._expired.is_set():
            return None
        row = conn.execute(
            "SELECT generation FROM groups WHERE name = ?", (self._group,)
        ).fetchone()
        if row is None or row[0] != generation:
            return None
        if pending:
            pids = [self._pid(conn, tp) for tp in pending]
            marks = ",".join("?" * len(pids))
            held = conn.execute(
                f"SELECT count(*) FROM owners WHERE grp = ? AND pid IN ({marks})",
                (self._group, *pids),
            ).fetchone()[0]
            if held < len(pids):
                return None
        out: list[Record] = []
        for tp, position in positions.items():
            room = max_records - len(out)
            if room <= 0:
                break
            lo = self._pid(conn, tp) << _OFFSET_BITS
            rows = conn.execute(
                "SELECT id, ts, key, value FROM records "
                "WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                (lo + position, lo + _SPAN, room),
            )
            topic, partition = tp.topic, tp.partition
            out.extend(
                Record(topic, partition, rid - lo, key, value, ts) for rid, ts, key, value in rows
            )
        return out

    async def wait(self, timeout_s: float) -> None:
        # Another process's writes are only seen by re-reading; this transport's own
        # producers and group changes wake the waiter at once.
        await self._t._wait(min(timeout_s, self._backoff_s))
        self._backoff_s = min(self._backoff_s * 2, _MAX_BACKOFF_S)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            rows = [(self._group, self._pid(conn, tp), off) for tp, off in offsets.items()]
            with _write(conn):
                for _, pid, _ in rows:
                    owner = conn.execute(
                        "SELECT member FROM owners WHERE grp = ? AND pid = ?", (self._group, pid)
                    ).fetchone()
                    if owner is not None and owner[0] != self._member:
                        raise TransportError(
                            f"commit failed in group {self._group!r}: partition is now owned "
                            "by another member"
                        )
                conn.executemany(
                    "INSERT INTO offsets (grp, pid, next_offset) VALUES (?, ?, ?) "
                    "ON CONFLICT (grp, pid) DO UPDATE SET next_offset = excluded.next_offset",
                    rows,
                )

        await self._db.run(run)

    async def committed(self, tp: TopicPartition) -> int | None:
        def run(conn: sqlite3.Connection) -> int | None:
            self._t._topic_meta(conn, [tp.topic])
            row = conn.execute(
                "SELECT next_offset FROM offsets WHERE grp = ? AND pid = ?",
                (self._group, self._pid(conn, tp)),
            ).fetchone()
            return None if row is None else int(row[0])

        return await self._db.run(run)

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        def run(conn: sqlite3.Connection) -> dict[TopicPartition, int]:
            self._t._topic_meta(conn, list({tp.topic: None for tp in tps}))
            return {tp: _end_offset(conn, self._pid(conn, tp)) for tp in tps}

        return await self._db.run(run)

    async def offset_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            pid = self._pid(conn, tp)
            lo = pid << _OFFSET_BITS
            # A scan of the partition: timestamps need not be monotonic, and an index on them
            # would slow every append for a rare operation.
            (first,) = conn.execute(
                "SELECT min(id) FROM records WHERE id >= ? AND id < ? AND ts >= ?",
                (lo, lo + _SPAN, timestamp_ms),
            ).fetchone()
            return _end_offset(conn, pid) if first is None else first - lo

        return await self._db.run(run)
