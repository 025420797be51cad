"""The verified dataset's durable store: records, duplicates and the funnel.

The store is a SQLite file (``dataset.db`` in the output directory). A record is keyed by its
event id, so a record re-delivered after a crash is never written twice; exported files
(:mod:`streamer.dataset._export`) are rendered from the store and can be re-rendered at any time.

Duplicates: a query whose normalized text equals a kept one is an exact duplicate; one whose
MinHash (word 3-shingles, Jaccard >= ``near_threshold``) matches a kept one is a near
duplicate. Both are recorded (with the kept record's id) but not exported.

The funnel counts every terminal outcome once (keyed by event id): passes from
``semantic-pass`` and rejects per stage and reason, per generator model and query style.

Each record also keeps how its calls were executed (:attr:`DatasetRecord.simulated`: True
where a virtual API answered, ``--virtual-apis``) and the API category of each call, so the
card can tell real executions from virtual ones per category. Stores written before this
column existed are upgraded in place; their records read as really executed.

A reject also keeps its ``detail`` (the outcomes' ``detail`` column, added in place to
older stores, where it reads as unknown): for ``contaminated``, the reference set matched,
so the card can count the pairs removed per reference set
(:meth:`DatasetStore.contaminated`). Rejects written before the event had the field name
the set at the end of their message, which is read instead.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from topics import Reject, SemanticPass

if TYPE_CHECKING:
    from datasketch import MinHash, MinHashLSH

__all__ = [
    "CONTAMINATED",
    "DatasetRecord",
    "DatasetStore",
    "FunnelRow",
    "contaminating_reference",
    "normalize_query",
    "query_shingles",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    sample_id TEXT NOT NULL,
    query TEXT NOT NULL,
    query_norm TEXT NOT NULL,
    style TEXT NOT NULL,
    model TEXT NOT NULL,
    categories TEXT NOT NULL,
    tools TEXT NOT NULL,
    calls TEXT NOT NULL,
    results TEXT NOT NULL,
    versions TEXT NOT NULL,
    duplicate_of TEXT,
    duplicate_kind TEXT
);
CREATE INDEX IF NOT EXISTS records_norm ON records(query_norm);
-- executions (a later column, added by ALTER TABLE to older stores): per call
-- [category, simulated], JSON.
-- Re-pointing a duplicate group (a smaller id arrived) looks rows up by duplicate_of;
-- without this index each such insert scanned the whole table (30 ms at 20,000 records).
CREATE INDEX IF NOT EXISTS records_dup ON records(duplicate_of);
CREATE TABLE IF NOT EXISTS outcomes (
    id TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    model TEXT NOT NULL,
    style TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    pair_index INTEGER NOT NULL
);
"""

_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_query(query: str) -> str:
    """Lower-cased words joined by single spaces: the exact-duplicate key."""
    return " ".join(_WORD.findall(query.lower()))


def query_shingles(query: str) -> set[str]:
    """The word 3-shingles of a query (lower-cased words, as :func:`normalize_query`): what
    near-duplicate MinHashes hash and Jaccard similarities compare."""
    words = _WORD.findall(query.lower())
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """A kept record as read back from the store (JSON fields decoded)."""

    id: str
    sample_id: str
    query: str
    style: str
    model: str
    categories: list[str]
    tools: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    results: list[Any]
    versions: list[list[str]]
    simulated: list[bool] = field(default_factory=list)
    """Per call: True when a virtual API made its result up (not a real execution)."""
    call_categories: list[str] = field(default_factory=list)
    """Per call: the API category of the tool it called ("" when unknown)."""

    @property
    def virtual_calls(self) -> int:
        """How many of the record's calls a virtual API answered."""
        return sum(self.simulated)


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """Outcome counts: ``stage`` is where the event ended (``semantic`` pass = verified)."""

    stage: str
    reason: str
    model: str
    style: str
    count: int


class DatasetStore:
    """SQLite-backed store of verified records and outcomes.

    near_threshold: Jaccard similarity at or above which two queries are near duplicates
    (0 disables near-duplicate removal). Thread-safe (one connection behind a lock).
    """

    def __init__(self, path: str | Path, *, near_threshold: float = 0.85, num_perm: int = 64):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Several processes (sink, funnel) may write one store: wait for locks, do not fail.
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=60.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        if "executions" not in columns:
            _add_column(self._db, "ALTER TABLE records ADD COLUMN executions TEXT")
        outcome_columns = {row[1] for row in self._db.execute("PRAGMA table_info(outcomes)")}
        if "detail" not in outcome_columns:
            _add_column(self._db, "ALTER TABLE outcomes ADD COLUMN detail TEXT")
        self._lock = threading.Lock()
        self._num_perm = num_perm
        self._near_threshold = near_threshold
        self._empty_minhash: MinHash | None = None
        self._lsh: MinHashLSH | None = None
        if near_threshold > 0:
            # datasketch pulls in scipy (seconds of import): only stores that dedup pay for it.
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=near_threshold, num_perm=num_perm)
            self._load_lsh()

    def _load_lsh(self) -> None:
        assert self._lsh is not None
        for rid, query in self._db.execute(
            "SELECT id, query FROM records WHERE duplicate_of IS NULL"
        ):
            self._lsh.insert(rid, self._minhash(query))

    def close(self) -> None:
        self._db.close()

    def _minhash(self, query: str) -> MinHash:
        shingles = query_shingles(query)
        if self._empty_minhash is None:
            from datasketch import MinHash

            self._empty_minhash = MinHash(num_perm=self._num_perm)
        # Copying an empty MinHash reuses its permutations (drawing them is most of the cost
        # of a new one: ~250 -> ~50 us per query); the hash values are the same.
        mh = self._empty_minhash.copy()
        mh.update_batch([s.encode() for s in shingles])
        return mh

    def add(self, event: SemanticPass) -> bool:
        """Store a verified pair; False when its id was already stored (idempotent)."""
        return self.add_many([event])[0]

    def add_many(self, events: Sequence[SemanticPass]) -> list[bool]:
        """Store verified pairs in one transaction (one commit for the batch): the same
        outcome as :meth:`add` on each in order; per event, False when already stored."""
        prepared = [
            (
                event,
                normalize_query(event.query),
                sorted({t.category for t in event.sample.tools if t.category}),
                [
                    {"name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in event.sample.tools
                ],
            )
            for event in events
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                added = [self._add_one(*p) for p in prepared]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                if self._lsh is not None:
                    # The index was updated as rows went in; rebuild it from what was kept.
                    self._lsh = type(self._lsh)(
                        threshold=self._near_threshold, num_perm=self._num_perm
                    )
                    self._load_lsh()
                raise
        return added

    def _add_one(
        self,
        event: SemanticPass,
        norm: str,
        categories: list[str],
        tools: list[dict[str, Any]],
    ) -> bool:
        """Inside the caller's transaction: dedup and insert one pair."""
        if self._db.execute("SELECT 1 FROM records WHERE id=?", (event.meta.id,)).fetchone():
            return False
        dup_of, dup_kind = None, None
        row = self._db.execute(
            "SELECT id FROM records WHERE query_norm=? AND duplicate_of IS NULL LIMIT 1",
            (norm,),
        ).fetchone()
        mh = None
        if row:
            dup_of, dup_kind = row[0], "exact"
        elif self._lsh is not None:
            mh = self._minhash(event.query)
            near = self._lsh.query(mh)
            if near:
                dup_of, dup_kind = min(near), "near"
        self._insert(event, norm, categories, tools, dup_of, dup_kind)
        if self._lsh is not None and self._kept(event.meta.id):
            self._lsh.insert(event.meta.id, mh or self._minhash(event.query))
        return True

    def _kept(self, rid: str) -> bool:
        row = self._db.execute("SELECT duplicate_of FROM records WHERE id=?", (rid,)).fetchone()
        return row is not None and row[0] is None

    def _insert(
        self,
        event: SemanticPass,
        norm: str,
        categories: list[str],
        tools: list[dict[str, Any]],
        dup_of: str | None,
        dup_kind: str | None,
    ) -> None:
        if dup_of is not None and event.meta.id < dup_of:
            # Keep the smallest id of a duplicate group, whatever the arrival order, so
            # equal inputs give equal datasets however events interleave.
            self._db.execute(
                "UPDATE records SET duplicate_of=?, duplicate_kind=? WHERE id=? OR duplicate_of=?",
                (event.meta.id, dup_kind, dup_of, dup_of),
            )
            if self._lsh is not None and dup_of in self._lsh:
                self._lsh.remove(dup_of)
            dup_of, dup_kind = None, None
        self._db.execute(
            "INSERT INTO records (id, sample_id, query, query_norm, style, model, categories,"
            " tools, calls, results, versions, duplicate_of, duplicate_kind, executions)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                event.meta.id,
                event.meta.sample_id,
                event.query,
                norm,
                str(event.sample.style),
                event.model,
                orjson.dumps(categories).decode(),
                orjson.dumps(tools).decode(),
                orjson.dumps(event.calls).decode(),
                orjson.dumps([r.result for r in event.results]).decode(),
                orjson.dumps(event.meta.versions).decode(),
                dup_of,
                dup_kind,
                orjson.dumps(_executions(event)).decode(),
            ),
        )
        self._db.execute(
            "INSERT OR IGNORE INTO outcomes (id, stage, reason, model, style, sample_id,"
            " pair_index) VALUES (?,?,?,?,?,?,?)",
            (
                event.meta.id,
                "semantic",
                "pass",
                event.model,
                str(event.sample.style),
                event.meta.sample_id,
                event.pair_index,
            ),
        )

    def add_reject(self, reject: Reject) -> bool:
        """Count a reject in the funnel; False when already counted."""
        return self.add_rejects([reject])[0]

    def add_rejects(self, rejects: Sequence[Reject]) -> list[bool]:
        """Count rejects in one transaction; per reject, False when already counted."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                added = [
                    self._db.execute(
                        "INSERT OR IGNORE INTO outcomes (id, stage, reason, model, style,"
                        " sample_id, pair_index, detail) VALUES (?,?,?,?,?,?,?,?)",
                        (
                            r.meta.id,
                            r.meta.stage,
                            r.reason,
                            r.model,
                            r.style,
                            r.meta.sample_id,
                            r.pair_index,
                            r.detail or contaminating_reference(r),
                        ),
                    ).rowcount
                    == 1
                    for r in rejects
                ]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def count(self, *, include_duplicates: bool = False) -> int:
        """Records kept (duplicates excluded unless asked)."""
        sql = "SELECT COUNT(*) FROM records"
        if not include_duplicates:
            sql += " WHERE duplicate_of IS NULL"
        with self._lock:
            return int(self._db.execute(sql).fetchone()[0])

    def duplicates(self) -> dict[str, int]:
        """Duplicate counts by kind (``exact``, ``near``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT duplicate_kind, COUNT(*) FROM records "
                "WHERE duplicate_of IS NOT NULL GROUP BY duplicate_kind"
            ).fetchall()
        return {kind: n for kind, n in rows}

    def records(self) -> Iterator[DatasetRecord]:
        """Kept records in a stable order (by id, so equal runs export equal files)."""
        last = ""
        while True:
            # Pages by key, so a big dataset is never held in memory at once.
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, sample_id, query, style, model, categories, tools, calls, "
                    "results, versions, executions FROM records "
                    "WHERE duplicate_of IS NULL AND id > ? "
                    "ORDER BY id LIMIT 1000",
                    (last,),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield from self._decode(rows)

    @staticmethod
    def _decode(rows: list[Any]) -> Iterator[DatasetRecord]:
        for r in rows:
            calls = orjson.loads(r[7])
            executions = _decode_executions(r[10], len(calls))
            yield DatasetRecord(
                id=r[0],
                sample_id=r[1],
                query=r[2],
                style=r[3],
                model=r[4],
                categories=orjson.loads(r[5]),
                tools=orjson.loads(r[6]),
                calls=calls,
                results=orjson.loads(r[8]),
                versions=orjson.loads(r[9]),
                simulated=[bool(e[1]) for e in executions],
                call_categories=[str(e[0]) for e in executions],
            )

    def terminal_outcomes(self) -> Iterator[tuple[str, int]]:
        """``(sample_id, pair_index)`` of every pass and reject stored (pair -1: whole task)."""
        with self._lock:
            rows = self._db.execute("SELECT sample_id, pair_index FROM outcomes").fetchall()
        yield from rows

    def funnel(self) -> list[FunnelRow]:
        """Outcome counts grouped by stage, reason, model and style."""
        with self._lock:
            rows = self._db.execute(
                "SELECT stage, reason, model, style, COUNT(*) FROM outcomes "
                "GROUP BY stage, reason, model, style ORDER BY stage, reason, model, style"
            ).fetchall()
        return [FunnelRow(*r) for r in rows]

    def contaminated(self) -> dict[str, int]:
        """Pairs rejected as ``contaminated`` per reference set (``unknown`` where the store
        predates the record of it, or the message named none)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT COALESCE(detail, ''), COUNT(*) FROM outcomes WHERE reason=? "
                "GROUP BY COALESCE(detail, '')",
                (CONTAMINATED,),
            ).fetchall()
        counts: dict[str, int] = {}
        for reference, n in rows:
            key = reference or "unknown"
            counts[key] = counts.get(key, 0) + int(n)
        return counts

    def __repr__(self) -> str:
        return f"<DatasetStore {self.path} records={self.count()}>"


CONTAMINATED = "contaminated"
"""The reject reason of a pair repeating a benchmark item (``streamer.stages``' own)."""

_REFERENCE_MARK = " of reference set "


def contaminating_reference(reject: Reject) -> str | None:
    """The reference set a ``contaminated`` reject written before :attr:`Reject.detail`
    names at the end of its message (``... of reference set <name>``), else None. Never
    raises on any message."""
    if reject.reason != CONTAMINATED or not isinstance(reject.message, str):
        return None
    _, mark, reference = reject.message.rpartition(_REFERENCE_MARK)
    reference = reference.strip()
    return reference[:1000] if mark and reference else None


def _add_column(db: sqlite3.Connection, statement: str) -> None:
    """An ``ALTER TABLE ... ADD COLUMN`` that another process may have run first."""
    try:
        db.execute(statement)
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):
            raise


def _executions(event: SemanticPass) -> list[list[Any]]:
    """Per call ``[category, simulated]`` (the category of the task's tool it names)."""
    categories = {t.name: t.category for t in event.sample.tools}
    flags = [r.simulated for r in event.results]
    flags += [False] * (len(event.calls) - len(flags))
    return [[categories.get(c.name, ""), s] for c, s in zip(event.calls, flags, strict=False)]


def _decode_executions(text: str | None, calls: int) -> list[list[Any]]:
    """The stored executions, or (records stored before the column) all real."""
    if text is not None:
        value = orjson.loads(text)
        if (
            isinstance(value, list)
            and len(value) == calls
            and all(isinstance(e, list) and len(e) == 2 for e in value)
        ):
            return value
    return [["", False]] * calls
