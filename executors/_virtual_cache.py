"""The store of virtual-API answers: the first answer to a call is its answer for good.

A virtual API must answer the same call the same way within a run, across runs and in
replays, or the execution verdicts of a replay would drift. So unlike
:class:`~executors.ResultCache` (TTL, LRU eviction, last writer wins) entries never expire
and are never evicted, and the **first writer wins**: :meth:`VirtualCache.put_first`
inserts only if the key is new and returns whatever is stored, so two processes simulating
the same call at once both return the one answer that was kept.

Keys (:func:`virtual_key`) are the API id and version, a hash of its documentation
(description, parameters, returns: a changed document is another API) and the arguments
canonicalized: keys sorted, and an integral float written as the integer (``1.0`` and ``1``
are one call; a virtual API has no Python code that could tell them apart).

Without ``path`` the store lives in memory; with ``path`` it is a SQLite file in WAL mode
shared by every process using it (a few hundred bytes to a few KB per distinct call; the
file grows with the distinct calls simulated). A read or write that fails is logged and
treated as a miss; the call is then simulated again, so the cost is money, not a crash.

Usage::

    cache = VirtualCache(path="out/virtual-apis.db")
    stored = cache.put_first(key, spec.id, VirtualAnswer(ok=True, result={...}))
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ._spec import ApiSpec

__all__ = ["VirtualAnswer", "VirtualCache", "normalize_arguments", "virtual_key"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VirtualAnswer:
    """One stored answer: ``ok`` with the API's ``result``, or a failure ``reason`` and
    ``message``; ``simulator`` names the model that wrote it and ``prompt`` the prompt
    version; ``created_at`` is Unix seconds."""

    ok: bool
    result: Any = None
    reason: str = ""
    message: str = ""
    simulator: str = ""
    prompt: str = ""
    created_at: float = 0.0

    def encode(self) -> bytes:
        return orjson.dumps(
            [self.ok, self.result, self.reason, self.message, self.simulator, self.prompt,
             self.created_at]
        )  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> VirtualAnswer | None:
        """The answer in ``data``, or None when it is not one (a damaged row)."""
        try:
            ok, result, reason, message, simulator, prompt, created_at = orjson.loads(data)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return None
        if not isinstance(ok, bool) or not all(
            isinstance(s, str) for s in (reason, message, simulator, prompt)
        ):
            return None
        created = float(created_at) if isinstance(created_at, int | float) else 0.0
        return cls(ok, result, reason, message, simulator, prompt, created)


def normalize_arguments(value: Any) -> Any:
    """``value`` with integral floats as integers (keys are sorted when encoding)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize_arguments(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_arguments(v) for v in value]
    return value


def virtual_key(spec: ApiSpec, arguments: dict[str, Any]) -> str | None:
    """The cache key of a call (see the module docstring), or None when the arguments are
    not JSON data (such a call is never cached)."""
    try:
        doc = orjson.dumps(
            [spec.description, spec.parameters, spec.returns], option=orjson.OPT_SORT_KEYS
        )
        canonical = orjson.dumps(
            [
                spec.id,
                spec.version,
                hashlib.sha256(doc).hexdigest(),
                normalize_arguments(arguments),
            ],
            option=orjson.OPT_SORT_KEYS,
        )
    except (orjson.JSONEncodeError, RecursionError):
        return None
    return hashlib.sha256(canonical).hexdigest()


class VirtualCache:
    """Virtual-API answers by :func:`virtual_key`; see the module docstring.

    ``clock`` returns Unix seconds (the entries' ``created_at``). Thread-safe.
    """

    def __init__(self, path: str | Path | None = None, *, clock: Any = time.time) -> None:
        self.path = Path(path) if path is not None else None
        self._clock = clock
        self._lock = threading.Lock()
        self._memory: dict[str, bytes] = {}
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, api_id TEXT NOT NULL,"
                " answer BLOB NOT NULL, created_at REAL NOT NULL)"
            )
            self._db = db
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        where = f" path={str(self.path)!r}" if self.path else " memory"
        return f"<VirtualCache entries={len(self)} hits={self.hits} misses={self.misses}{where}>"

    def __len__(self) -> int:
        with self._lock:
            if self._db is None:
                return len(self._memory)
            return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def get(self, key: str) -> VirtualAnswer | None:
        """The stored answer of ``key``, or None (counted as a hit or a miss)."""
        try:
            with self._lock:
                data = self._read(key)
        except sqlite3.Error as exc:
            logger.warning("virtual-API cache read failed: %s", exc)
            data = None
        answer = VirtualAnswer.decode(data) if data is not None else None
        if answer is None:
            self.misses += 1
        else:
            self.hits += 1
        return answer

    def _read(self, key: str) -> bytes | None:
        if self._db is None:
            return self._memory.get(key)
        row = self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row is not None else None

    def put_first(self, key: str, api_id: str, answer: VirtualAnswer) -> VirtualAnswer:
        """Store ``answer`` unless ``key`` has one; return the stored one (the first)."""
        data = answer.encode()
        try:
            with self._lock:
                if self._db is None:
                    stored = self._memory.setdefault(key, data)
                else:
                    stored = self._insert_first(key, api_id, data)
        except sqlite3.Error as exc:
            logger.warning("virtual-API cache write failed: %s", exc)
            return answer
        return VirtualAnswer.decode(stored) or answer

    def _insert_first(self, key: str, api_id: str, data: bytes) -> bytes:
        assert self._db is not None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            existing = self._db.execute(
                "SELECT answer FROM answers WHERE key = ?", (key,)
            ).fetchone()
            if existing is not None and VirtualAnswer.decode(bytes(existing[0])) is not None:
                self._db.execute("COMMIT")
                return bytes(existing[0])
            # A damaged row is replaced: it answers nothing.
            self._db.execute(
                "INSERT OR REPLACE INTO answers (key, api_id, answer, created_at) VALUES (?,?,?,?)",
                (key, api_id, data, self._clock()),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return data

    def close(self) -> None:
        """Close the SQLite file, if any (idempotent); afterwards the cache is empty and
        keeps answers in memory only."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
