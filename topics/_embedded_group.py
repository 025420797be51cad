"""One embedded-log consumer's group membership and reads (a :class:`GroupSession`).

Membership across processes: the member heartbeats from a small thread every
``session_timeout_s / 3``; a member silent for ``session_timeout_s`` (say, SIGKILLed) is
removed by any other member's heartbeat or join, which bumps the generation so the survivors
take over its partitions from the last committed offsets. The heartbeat runs as long as the
consumer is open, even while the caller is busy between polls; a process that stays alive
keeps its partitions.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from typing import Literal

import anyio.to_thread

from ._errors import TransportError
from ._group import SyncResult, Wakeup
from ._partitioning import assign
from ._sqlite import (
    OFFSET_BITS,
    SPAN,
    Connection,
    LogFile,
    bump,
    end_offset,
    expire,
    log_start,
    now_ms,
    write,
)
from ._transport import Record, TopicPartition

__all__ = ["EmbeddedSession"]

_MIN_BACKOFF_S = 0.005
_MAX_BACKOFF_S = 0.05


class EmbeddedSession:
    """One consumer's storage operations, on its own connection; plus its heartbeat thread."""

    def __init__(
        self,
        log: LogFile,
        wakeup: Wakeup,
        group: str,
        member: str,
        topics: list[str],
        reset: Literal["earliest", "latest"],
    ) -> None:
        self._log = log
        self._wakeup = wakeup
        self._group = group
        self._member = member
        self._topics = topics
        self._reset = reset
        self._db = Connection(log)
        self._timeout_ms = int(log.session_timeout_s * 1000)
        self._expired = threading.Event()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._backoff_s = _MIN_BACKOFF_S

    # -- membership ---------------------------------------------------------------------------

    def _register(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO members (grp, member, topics, heartbeat_ms) VALUES (?,?,?,?)",
            (self._group, self._member, json.dumps(self._topics), now_ms()),
        )
        bump(conn, self._group)
        self._expired.clear()

    async def join(self) -> None:
        def run(conn: sqlite3.Connection) -> None:
            self._log.topic_meta(conn, self._topics)
            with write(conn):
                expire(conn, self._group, self._timeout_ms)
                self._register(conn)

        await self._db.run(run)
        self._heartbeat = threading.Thread(
            target=self._heartbeat_loop, name=f"heartbeat-{self._member[:8]}", daemon=True
        )
        self._heartbeat.start()

    def _heartbeat_loop(self) -> None:
        db = Connection(self._log)
        try:
            while not self._stop.wait(self._log.session_timeout_s / 3):
                # A busy or full database: try again next beat; expiry is the backstop.
                with contextlib.suppress(TransportError):
                    db.run_sync(self._beat)
        finally:
            db.close_sync()

    def _beat(self, conn: sqlite3.Connection) -> None:
        with write(conn):
            alive = conn.execute(
                "UPDATE members SET heartbeat_ms = ? WHERE grp = ? AND member = ?",
                (now_ms(), self._group, self._member),
            ).rowcount
            if not alive:
                self._expired.set()
            expire(conn, self._group, self._timeout_ms)

    async def leave(self, owned: frozenset[TopicPartition]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with write(conn):
                conn.execute(
                    "DELETE FROM owners WHERE grp = ? AND member = ?", (self._group, self._member)
                )
                conn.execute(
                    "DELETE FROM members WHERE grp = ? AND member = ?", (self._group, self._member)
                )
                bump(conn, self._group)

        await self._db.run(run)
        self._wakeup.notify()

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
        with write(conn):
            alive = conn.execute(
                "UPDATE members SET heartbeat_ms = ? WHERE grp = ? AND member = ?",
                (now_ms(), self._group, self._member),
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
            self._log.load_topics(conn)
            counts = {name: parts for name, (parts, _) in self._log.topics.items()}
            target = assign(members, counts)[self._member]
            owners = dict(
                conn.execute("SELECT pid, member FROM owners WHERE grp = ?", (self._group,))
            )
            mine = {
                tp for tp in target | owned if owners.get(self._log.pid(conn, tp)) == self._member
            }
            claimed: dict[TopicPartition, int] = {}
            # A partition this member held but lost (it expired) is revoked before it is
            # claimed again, so the new position comes from what on_revoke commits.
            for tp in sorted(target - mine - owned):
                pid = self._log.pid(conn, tp)
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
            # A committed offset that retention deleted continues at the first retained
            # record, as Kafka's auto.offset.reset=earliest does on an out-of-range offset.
            return max(int(row[0]), log_start(conn, pid))
        if self._reset == "earliest":
            return log_start(conn, pid)
        return end_offset(conn, pid)

    async def release(self, tps: frozenset[TopicPartition]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with write(conn):
                conn.executemany(
                    "DELETE FROM owners WHERE grp = ? AND pid = ? AND member = ?",
                    [(self._group, self._log.pid(conn, tp), self._member) for tp in tps],
                )

        await self._db.run(run)
        self._wakeup.notify()

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
            pids = [self._log.pid(conn, tp) for tp in pending]
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
            lo = self._log.pid(conn, tp) << OFFSET_BITS
            rows = conn.execute(
                "SELECT id, ts, key, value FROM records "
                "WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                (lo + position, lo + SPAN, room),
            )
            topic, partition = tp.topic, tp.partition
            out.extend(
                Record(topic, partition, rid - lo, key, value, ts) for rid, ts, key, value in rows
            )
        return out

    async def wait(self, timeout_s: float) -> None:
        # Another process's writes are only seen by re-reading; this transport's own
        # producers and group changes wake the waiter at once.
        await self._wakeup.wait(min(timeout_s, self._backoff_s))
        self._backoff_s = min(self._backoff_s * 2, _MAX_BACKOFF_S)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            rows = [(self._group, self._log.pid(conn, tp), off) for tp, off in offsets.items()]
            with write(conn):
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
            self._log.topic_meta(conn, [tp.topic])
            row = conn.execute(
                "SELECT next_offset FROM offsets WHERE grp = ? AND pid = ?",
                (self._group, self._log.pid(conn, tp)),
            ).fetchone()
            return None if row is None else int(row[0])

        return await self._db.run(run)

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        def run(conn: sqlite3.Connection) -> dict[TopicPartition, int]:
            self._log.topic_meta(conn, list({tp.topic: None for tp in tps}))
            return {tp: end_offset(conn, self._log.pid(conn, tp)) for tp in tps}

        return await self._db.run(run)

    async def offset_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            pid = self._log.pid(conn, tp)
            lo = pid << OFFSET_BITS
            # A scan of the partition up to the first match: timestamps need not be
            # monotonic, and an index on them would slow every append for a rare operation.
            row = conn.execute(
                "SELECT id FROM records WHERE id >= ? AND id < ? AND ts >= ? ORDER BY id LIMIT 1",
                (lo, lo + SPAN, timestamp_ms),
            ).fetchone()
            return end_offset(conn, pid) if row is None else int(row[0]) - lo

        return await self._db.run(run)
