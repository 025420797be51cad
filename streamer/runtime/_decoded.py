"""Decode once: events this process encoded, handed to its own consumers undecoded.

When one process produces an event and also consumes it from the next topic (every stage
of ``apigen run`` in one process, the default), decoding the record rebuilds an object equal
to the one the producer just encoded: each pair crosses five topics, and parsing and
validating it at every hop was the largest single cost of the steady state. The runner
therefore remembers, for the topics a runner of this process consumes, the encoded bytes of
each output and the frozen event they encode; a consumer whose record value is exactly those
bytes takes the event instead of decoding them.

Nothing about the log changes: the bytes are produced, offsets committed and groups
consumed exactly as before, so restarts and exactly-once are untouched. A record that is not
here (evicted, written before a restart, by another process, or read by a group of another
process) is decoded as always; equality of the whole value, not a hash, decides a hit.

Sharing one object between stages is safe because events are frozen dataclasses and stages
do not mutate their inputs (``tests/streamer/test_decode_once.py`` checks, over a real run,
that every shared event still encodes to its bytes and equals, type for type, what decoding
them yields). The contract that makes the two paths identical: an event's JSON fields hold
JSON data as ``orjson`` reads it (dicts, lists, str, int, float, bool, None; no tuples, no
NaN or infinities, which ``orjson`` writes as ``null``) and typed fields hold their exact
types.

Usage::

    cache = shared_decoded()
    with cache.reading("format-pass", "execution"):  # a runner consumes format-pass
        cache.put("format-pass", data, event)        # where a runner encodes an output
        event = cache.take(record.value, FormatPass) # None: decode as usual
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["DecodedEvents", "shared_decoded", "use_decoded"]

DEFAULT_MAX_ENTRIES = 2048
"""Events held at most by the process-wide cache. A 3,000-task run at 0 ms held 353 at
most: only events between a produce and their consumer's poll are here."""

DEFAULT_MAX_BYTES = 8 * 2**20
"""Encoded bytes held at most by the process-wide cache (8 MiB). The events themselves take
about 3.5 times their encoding (measured: ~2.6 KB encode to ~9-10 KB of objects), less
where the events of one pair share their ``Sample``: 2,048 full entries are ~25 MB."""


@dataclass(slots=True)
class _Entry:
    event: Any
    readers: int  # local consumer groups that have yet to take it


class DecodedEvents:
    """A bounded map from encoded event bytes to the event they encode.

    max_entries: events held at most; 0 turns the cache off (every record is decoded).
    max_bytes: encoded bytes held at most, summed over the entries.

    Only topics that a runner of this process consumes are remembered (:meth:`reading`), and
    an entry leaves as soon as every local group consuming its topic took it; entries that
    nobody takes (a group's partitions assigned to another process, a runner that stopped)
    are evicted oldest first once a bound is reached. Not thread-safe: the runners of a
    process share one event loop, and so does their cache.
    """

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("max_entries and max_bytes must be >= 0")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._bytes = 0
        self._groups: dict[str, Counter[str]] = {}

    def __repr__(self) -> str:
        return (
            f"<DecodedEvents {len(self._entries)}/{self.max_entries} entries "
            f"{self._bytes}/{self.max_bytes} bytes hits={self.hits} misses={self.misses} "
            f"evictions={self.evictions} topics={sorted(self._groups)}>"
        )

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Encoded bytes held now."""
        return self._bytes

    @contextmanager
    def reading(self, topic: str, group: str) -> Iterator[None]:
        """While inside, a runner of ``group`` consumes ``topic`` in this process, so events
        produced to it are remembered until each local group took them."""
        groups = self._groups.setdefault(topic, Counter())
        groups[group] += 1
        try:
            yield
        finally:
            groups[group] -= 1
            if groups[group] <= 0:
                del groups[group]
            if not groups:
                self._groups.pop(topic, None)

    def put(self, topic: str, data: bytes, event: Any) -> None:
        """Remember that ``data``, produced to ``topic``, encodes ``event``."""
        groups = self._groups.get(topic)
        if not groups or self.max_entries == 0 or len(data) > self.max_bytes:
            return
        old = self._entries.pop(data, None)
        if old is not None:
            self._bytes -= len(data)
        self._entries[data] = _Entry(event, len(groups))
        self._bytes += len(data)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            key, _ = self._entries.popitem(last=False)
            self._bytes -= len(key)
            self.evictions += 1

    def take(self, data: bytes, cls: type[Any]) -> Any | None:
        """The event ``data`` encodes if this process produced it as a ``cls``, else None."""
        entry = self._entries.get(data)
        if entry is None or type(entry.event) is not cls:
            self.misses += 1
            return None
        self.hits += 1
        entry.readers -= 1
        if entry.readers <= 0:
            del self._entries[data]
            self._bytes -= len(data)
        return entry.event


_shared = DecodedEvents()


def shared_decoded() -> DecodedEvents:
    """The process-wide cache every :class:`~streamer.runtime.StageRunner` uses."""
    return _shared


def use_decoded(cache: DecodedEvents) -> DecodedEvents:
    """Make ``cache`` the process-wide one for runners started from now on; returns the
    previous one (e.g. ``use_decoded(DecodedEvents(max_entries=0))`` turns decode-once off)."""
    global _shared
    previous, _shared = _shared, cache
    return previous
