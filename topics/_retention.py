"""Time-based retention of the embedded log, with Kafka's ``retention.ms`` semantics.

A record is deleted once its timestamp is older than the retention, whatever the consumer
groups have read, and so is every record before it in its partition: like Kafka, which
deletes whole segments from the start of a log, retention removes a *prefix* of each
partition, so the log stays one contiguous offset range. A record whose timestamp is still
recent therefore keeps the records after it (timestamps are the producer's and need not
increase; the pipeline's stamp the time they are produced, so they do).

Where a partition now starts is kept in ``log_starts`` (Kafka's log start offset): a
partition whose every record expired still knows its end offset, so offsets are never
reused, and a group whose committed offset was deleted continues at the first retained
record (as Kafka's ``auto.offset.reset=earliest`` does on an out-of-range offset).

Cost. Each partition is trimmed in write transactions of at most ``chunk`` records, so a
producer waits for at most one chunk's deletion to take the write lock (about 15 ms for 2,000
records); finding what expired reads only the expired records (a range scan from the
partition's start, outside any write transaction), so a check with nothing to delete is a
few index lookups. The runs happen in a background thread rather than inside a produce: on
a backlog of 200,000 expired 500-byte records, trimming inline stalled the produce that
started it for about 2 s, while in the background the produce latency's maximum stayed at
that of a run without retention. Deleted records free pages that SQLite reuses for new
ones; the file does not shrink, since VACUUM would rewrite the whole database under the
write lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import anyio.to_thread

from ._errors import TransportError
from ._sqlite import OFFSET_BITS, SPAN, Connection, LogFile, now_ms, write

__all__ = ["CHUNK_RECORDS", "RetentionSchedule", "trim"]

log = logging.getLogger(__name__)

CHUNK_RECORDS = 2000
"""Records deleted per write transaction."""


def trim(
    conn: sqlite3.Connection,
    log_file: LogFile,
    cutoff_ms: int,
    *,
    chunk: int = CHUNK_RECORDS,
    stop: threading.Event | None = None,
) -> int:
    """Delete, in every partition, the prefix of records with timestamps below ``cutoff_ms``
    (milliseconds since the epoch); returns how many were deleted. Call outside a
    transaction; ``stop`` ends the work between two chunks."""
    log_file.load_topics(conn)
    deleted = 0
    for partitions, first_pid in list(log_file.topics.values()):
        for pid in range(first_pid, first_pid + partitions):
            if stop is not None and stop.is_set():
                return deleted
            deleted += _trim_partition(conn, pid, cutoff_ms, chunk, stop)
    return deleted


def _trim_partition(
    conn: sqlite3.Connection,
    pid: int,
    cutoff_ms: int,
    chunk: int,
    stop: threading.Event | None,
) -> int:
    lo = pid << OFFSET_BITS
    # Read outside a write transaction: producers only append above these ids and never
    # change a timestamp, so the boundary found here stays valid while they write.
    (first,) = conn.execute(
        "SELECT min(id) FROM records WHERE id >= ? AND id < ?", (lo, lo + SPAN)
    ).fetchone()
    if first is None:
        return 0
    kept = conn.execute(
        "SELECT id FROM records WHERE id >= ? AND id < ? AND ts >= ? ORDER BY id LIMIT 1",
        (first, lo + SPAN, cutoff_ms),
    ).fetchone()
    if kept is not None:
        end = int(kept[0])
    else:
        (top,) = conn.execute(
            "SELECT max(id) FROM records WHERE id >= ? AND id < ?", (lo, lo + SPAN)
        ).fetchone()
        end = int(top) + 1
    deleted = 0
    while first < end:
        if stop is not None and stop.is_set():
            break
        upto = min(end, first + chunk)
        with write(conn):
            deleted += conn.execute(
                "DELETE FROM records WHERE id >= ? AND id < ?", (first, upto)
            ).rowcount
            conn.execute(
                "INSERT INTO log_starts (pid, start_offset) VALUES (?, ?) ON CONFLICT (pid) "
                "DO UPDATE SET start_offset = max(start_offset, excluded.start_offset)",
                (pid, upto - lo),
            )
        first = upto
    return deleted


class RetentionSchedule:
    """Runs :func:`trim` for one transport: in a background thread, started from the write
    path at most every ``check_s`` seconds, or on demand.

    ``retention_s``: age in seconds after which a record is deleted.
    ``check_s``: the least interval in seconds between two background runs; the first runs
    after the transport's first produce.
    """

    def __init__(
        self, log_file: LogFile, retention_s: float, check_s: float, chunk: int = CHUNK_RECORDS
    ) -> None:
        if not retention_s > 0:
            raise ValueError("retention_s must be > 0 (None keeps records forever)")
        if not check_s > 0:
            raise ValueError("retention_check_s must be > 0")
        self.retention_s = retention_s
        self.check_s = check_s
        self._log = log_file
        self._chunk = chunk
        self._next_check = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def cutoff_ms(self) -> int:
        return now_ms() - int(self.retention_s * 1000)

    def run_sync(self, conn: sqlite3.Connection) -> int:
        """Trim now; returns the records deleted."""
        deleted = trim(conn, self._log, self.cutoff_ms(), chunk=self._chunk, stop=self._stop)
        if deleted:
            log.info("embedded log %s: retention deleted %d records", self._log.path, deleted)
        return deleted

    def produced(self) -> None:
        """Start a background run if one is due (called after each produce; cheap)."""
        now = time.monotonic()
        if now < self._next_check or self._stop.is_set():
            return
        with self._lock:
            if now < self._next_check or (self._thread is not None and self._thread.is_alive()):
                return
            self._next_check = now + self.check_s
            self._thread = threading.Thread(
                target=self._run_in_background, name="log-retention", daemon=True
            )
            self._thread.start()

    def _run_in_background(self) -> None:
        db = Connection(self._log)
        try:
            db.run_sync(self.run_sync)
        except TransportError as exc:
            # The next due check retries; a failed trim loses nothing.
            log.warning("embedded log %s: retention run failed: %s", self._log.path, exc)
        finally:
            db.close_sync()

    async def idle(self) -> None:
        """Wait for a background run in progress to finish."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            await anyio.to_thread.run_sync(thread.join)

    async def close(self) -> None:
        """Stop a background run between two chunks and wait for it."""
        self._stop.set()
        await self.idle()
