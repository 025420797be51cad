"""The SQLite file under the embedded log: schema, connections, topic metadata.

Each topic's partitions get consecutive global ids (``pid``); a record's rowid is
``pid << 40 | offset``, so a partition is one contiguous rowid range: appends and reads are
b-tree range operations, offsets stay dense from 0 and the end offset is one ``max(rowid)``.

Retention (:mod:`topics._retention`) deletes a prefix of a partition and records where the
partition now starts in ``log_starts`` (Kafka's log start offset). A partition whose every
record expired has no ``max(rowid)`` left, so its end offset is the larger of the two:
offsets are never reused.
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Literal, TypeVar

import anyio.to_thread

from ._errors import StorageFull, TopicNotFound, TransportError
from ._transport import TopicPartition

__all__ = [
    "OFFSET_BITS",
    "SPAN",
    "Connection",
    "LogFile",
    "bump",
    "end_offset",
    "expire",
    "log_start",
    "now_ms",
    "write",
]

T = TypeVar("T")

OFFSET_BITS = 40
SPAN = 1 << OFFSET_BITS

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS log_starts (
    pid INTEGER PRIMARY KEY, start_offset INTEGER NOT NULL) WITHOUT ROWID;
"""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Connection:
    """One SQLite connection, used from worker threads one call at a time."""

    def __init__(self, log: LogFile) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._log.connect()
        return self._conn

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._open()
            try:
                return fn(conn)
            except sqlite3.Error as exc:
                # SQLITE_FULL and I/O errors may roll the transaction back themselves.
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.rollback()
                raise self._log.translate(exc) from exc

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
def write(conn: sqlite3.Connection) -> Iterator[None]:
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


def bump(conn: sqlite3.Connection, group: str) -> None:
    conn.execute(
        "INSERT INTO groups (name, generation) VALUES (?, 1) "
        "ON CONFLICT (name) DO UPDATE SET generation = generation + 1",
        (group,),
    )


def end_offset(conn: sqlite3.Connection, pid: int) -> int:
    """The offset the next record of partition ``pid`` gets."""
    lo = pid << OFFSET_BITS
    (end,) = conn.execute(
        "SELECT max("
        "coalesce((SELECT max(id) FROM records WHERE id >= ? AND id < ?) - ? + 1, 0), "
        "coalesce((SELECT start_offset FROM log_starts WHERE pid = ?), 0))",
        (lo, lo + SPAN, lo, pid),
    ).fetchone()
    return int(end)


def log_start(conn: sqlite3.Connection, pid: int) -> int:
    """The first offset retention kept in partition ``pid`` (0 before anything expired)."""
    row = conn.execute("SELECT start_offset FROM log_starts WHERE pid = ?", (pid,)).fetchone()
    return 0 if row is None else int(row[0])


def expire(conn: sqlite3.Connection, group: str, timeout_ms: int) -> None:
    """Remove members whose heartbeat is older than the session timeout (inside a write)."""
    dead = [
        m
        for (m,) in conn.execute(
            "SELECT member FROM members WHERE grp = ? AND heartbeat_ms < ?",
            (group, now_ms() - timeout_ms),
        )
    ]
    if dead:
        conn.executemany(
            "DELETE FROM members WHERE grp = ? AND member = ?", [(group, m) for m in dead]
        )
        conn.executemany(
            "DELETE FROM owners WHERE grp = ? AND member = ?", [(group, m) for m in dead]
        )
        bump(conn, group)


class LogFile:
    """Settings of one database file, its schema, and a cache of topic metadata (topics are
    never deleted and keep their partition count, so the cache never goes stale)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        default_partitions: int | None,
        session_timeout_s: float,
        synchronous: Literal["NORMAL", "FULL"],
        max_db_bytes: int | None,
        busy_timeout_s: float,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be 'NORMAL' or 'FULL'")
        if default_partitions is not None and default_partitions < 1:
            raise ValueError("default_partitions must be >= 1 or None")
        self.path = os.fspath(path)
        self.session_timeout_s = session_timeout_s
        self.default_partitions = default_partitions
        self.synchronous = synchronous
        self.max_db_bytes = max_db_bytes
        self.busy_timeout_s = busy_timeout_s
        self.topics: dict[str, tuple[int, int]] = {}
        """name -> (partition count, first pid)"""
        self._schema_ready = False

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            if self.max_db_bytes is not None:
                (page_size,) = conn.execute("PRAGMA page_size").fetchone()
                conn.execute(f"PRAGMA max_page_count = {max(1, self.max_db_bytes // page_size)}")
            if not self._schema_ready:
                # executescript commits any open transaction first, so it brackets its own.
                conn.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
                self._schema_ready = True
        except sqlite3.Error as exc:
            conn.close()
            raise self.translate(exc) from exc
        return conn

    def translate(self, exc: sqlite3.Error) -> TransportError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and self._no_room()):
            return StorageFull(
                f"embedded log {self.path!r} is full ({exc}); the write was rolled back. "
                "Free disk space (or raise max_db_bytes) and retry."
            )
        return TransportError(f"embedded log {self.path!r}: {exc}")

    def _no_room(self) -> bool:
        """Whether a failed write was for want of space. SQLite reports ENOSPC as SQLITE_FULL
        but a quota or file size limit (EFBIG) as a plain I/O error; tell them apart here."""
        margin = 1 << 20
        with suppress(OSError):
            if shutil.disk_usage(os.path.dirname(os.path.abspath(self.path))).free < margin:
                return True
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft == resource.RLIM_INFINITY:
            return False
        sizes = [0]
        for suffix in ("", "-wal", "-journal"):
            with suppress(OSError):
                sizes.append(os.path.getsize(self.path + suffix))
        return max(sizes) + margin >= soft

    def load_topics(self, conn: sqlite3.Connection) -> None:
        for name, partitions, first in conn.execute(
            "SELECT name, partitions, first_pid FROM topics"
        ):
            self.topics[name] = (partitions, first)

    def create_topics(
        self, conn: sqlite3.Connection, topics: Sequence[str], partitions: int
    ) -> None:
        with write(conn):
            for topic in topics:
                conn.execute(
                    "INSERT OR IGNORE INTO topics (name, partitions, first_pid) VALUES (?, ?, "
                    "(SELECT coalesce(max(first_pid + partitions), 0) FROM topics))",
                    (topic, partitions),
                )
        self.load_topics(conn)

    def topic_meta(
        self, conn: sqlite3.Connection, topics: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        """Partition count and first pid of ``topics``, creating missing ones if allowed.
        Call outside a transaction."""
        missing = {t for t in topics if t not in self.topics}
        if missing:
            self.load_topics(conn)
            missing -= self.topics.keys()
        if missing:
            if self.default_partitions is None:
                raise TopicNotFound(f"topic {sorted(missing)[0]!r} does not exist")
            self.create_topics(conn, sorted(missing), self.default_partitions)
        return {t: self.topics[t] for t in topics}

    def pid(self, conn: sqlite3.Connection, tp: TopicPartition) -> int:
        """The global id of ``tp``."""
        meta = self.topics.get(tp.topic)
        if meta is None:
            self.load_topics(conn)
            meta = self.topics.get(tp.topic)
            if meta is None:
                raise TopicNotFound(f"topic {tp.topic!r} does not exist")
        partitions, first = meta
        if not 0 <= tp.partition < partitions:
            raise TransportError(f"topic {tp.topic!r} has no partition {tp.partition}")
        return first + tp.partition
