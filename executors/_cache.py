"""A result cache for executor outcomes: TTL, LRU bound, optional SQLite persistence.

Keys are ``(api id, api version, canonical arguments)``, the arguments canonicalized with
orjson's ``OPT_SORT_KEYS`` so ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` share an entry
(``1`` and ``1.0`` do not: a function may tell them apart). Bumping a spec's ``version``
therefore invalidates its entries.

Successful outcomes are cached, and so are failures whose reason is in
``cache_failures`` — by default the deterministic ones (``invalid_arguments``,
``function_error``): the same call fails the same way. Timeouts, crashes, rate limits and
connection errors are never cached by default. Hits come back with ``cached=True`` and
``latency_s=0``.

Without ``path`` the cache lives in memory. With ``path`` it is a SQLite file (WAL mode) and
is the only store, so other processes replaying the same calls hit it too; the file is
bounded by ``max_entries`` as well, least recently used first. Operations are synchronous
and local (tens of microseconds), so the executors call them inline.

Usage::

    cache = ResultCache(ttl_s=24 * 3600, max_entries=100_000, path="results.sqlite")
    dispatcher = Dispatcher(python=PythonExecutor(...), cache=cache)
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Protocol

import orjson

from ._metrics import executor_metrics
from ._outcome import Outcome
from ._spec import ApiSpec

__all__ = ["DETERMINISTIC_FAILURES", "ResultCache"]

logger = logging.getLogger(__name__)

DETERMINISTIC_FAILURES: frozenset[str] = frozenset({"invalid_arguments", "function_error"})
"""Failure reasons cached by default: the same call would fail the same way again."""

_Entry = tuple[float, bytes]
"""(expires_at, orjson-encoded outcome fields)."""


class _Store(Protocol):
    def get(self, key: str, now: float) -> bytes | None: ...
    def put(self, key: str, entry: _Entry, now: float) -> None: ...
    def __len__(self) -> int: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...


class _MemoryStore:
    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._data: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, key: str, now: float) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return entry[1]

    def put(self, key: str, entry: _Entry, now: float) -> None:
        self._data[key] = entry
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()

    def close(self) -> None:
        pass


class _SqliteStore:
    def __init__(self, path: Path, max_entries: int) -> None:
        self._max = max_entries
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS results ("
            " key TEXT PRIMARY KEY, expires_at REAL NOT NULL, used_at REAL NOT NULL,"
            " outcome BLOB NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS results_used_at ON results (used_at)")
        self._approx_len = len(self)

    def get(self, key: str, now: float) -> bytes | None:
        row = self._db.execute(
            "SELECT expires_at, outcome FROM results WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        if row[0] <= now:
            self._db.execute("DELETE FROM results WHERE key = ?", (key,))
            return None
        self._db.execute("UPDATE results SET used_at = ? WHERE key = ?", (now, key))
        return bytes(row[1])

    def put(self, key: str, entry: _Entry, now: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO results (key, expires_at, used_at, outcome) VALUES (?,?,?,?)",
            (key, entry[0], now, entry[1]),
        )
        self._approx_len += 1
        if self._approx_len > self._max:
            self._trim(now)

    def _trim(self, now: float) -> None:
        self._db.execute("DELETE FROM results WHERE expires_at <= ?", (now,))
        self._db.execute(
            "DELETE FROM results WHERE key IN"
            " (SELECT key FROM results ORDER BY used_at DESC LIMIT -1 OFFSET ?)",
            (self._max,),
        )
        self._approx_len = len(self)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM results").fetchone()[0])

    def clear(self) -> None:
        self._db.execute("DELETE FROM results")
        self._approx_len = 0

    def close(self) -> None:
        self._db.close()


class ResultCache:
    """Caches outcomes by (api id, version, canonical arguments); see the module docstring.

    ``ttl_s`` is the lifetime of an entry in seconds (None: forever); ``clock`` returns
    wall-clock seconds (inject a fake one in tests; it must agree across processes sharing
    ``path``).
    """

    def __init__(
        self,
        *,
        ttl_s: float | None = 3600.0,
        max_entries: int = 10_000,
        path: str | Path | None = None,
        cache_failures: Collection[str] = DETERMINISTIC_FAILURES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.path = Path(path) if path is not None else None
        self.cache_failures = frozenset(cache_failures)
        self._clock = clock
        self._store: _Store = (
            _SqliteStore(self.path, max_entries) if self.path else _MemoryStore(max_entries)
        )
        self.hits = 0
        self.misses = 0
        metrics = executor_metrics()
        self._hit, self._miss = metrics.cache_hit, metrics.cache_miss

    def __repr__(self) -> str:
        where = f" path={str(self.path)!r}" if self.path else ""
        return (
            f"<ResultCache entries={len(self)}/{self.max_entries} hits={self.hits} "
            f"misses={self.misses} ttl_s={self.ttl_s}{where}>"
        )

    def __len__(self) -> int:
        return len(self._store)

    @staticmethod
    def key(spec: ApiSpec, arguments: dict[str, Any]) -> str | None:
        """The entry key, or None when the arguments are not JSON data (never cached)."""
        try:
            canonical = orjson.dumps(
                [spec.id, spec.version, arguments], option=orjson.OPT_SORT_KEYS
            )
        except orjson.JSONEncodeError:
            return None
        return hashlib.sha256(canonical).hexdigest()

    def get(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome | None:
        """The cached outcome (``cached=True``, ``latency_s=0``) or None."""
        key = self.key(spec, arguments)
        data = None
        if key is not None:
            try:
                data = self._store.get(key, self._clock())
            except sqlite3.Error as exc:
                logger.warning("result cache read failed: %s", exc)
        if data is None:
            self.misses += 1
            self._miss.inc()
            return None
        self.hits += 1
        self._hit.inc()
        ok, result, reason, message = orjson.loads(data)
        return Outcome(ok=ok, result=result, reason=reason, message=message, cached=True)

    def cacheable(self, outcome: Outcome) -> bool:
        return not outcome.cached and (outcome.ok or outcome.reason in self.cache_failures)

    def put(self, spec: ApiSpec, arguments: dict[str, Any], outcome: Outcome) -> None:
        """Store ``outcome`` if it is cacheable; otherwise do nothing."""
        if not self.cacheable(outcome):
            return
        key = self.key(spec, arguments)
        if key is None:
            return
        try:
            data = orjson.dumps([outcome.ok, outcome.result, outcome.reason, outcome.message])
        except orjson.JSONEncodeError:
            return
        now = self._clock()
        expires_at = now + self.ttl_s if self.ttl_s is not None else float("inf")
        try:
            self._store.put(key, (expires_at, data), now)
        except sqlite3.Error as exc:
            logger.warning("result cache write failed: %s", exc)

    def clear(self) -> None:
        self._store.clear()

    def close(self) -> None:
        """Close the SQLite file, if any. The cache must not be used afterwards."""
        self._store.close()
