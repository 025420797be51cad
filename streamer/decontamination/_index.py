"""The contamination index: does a pair repeat a benchmark item?

Built once per process from the reference sets, then asked per pair. A pair matches an item
when any of these holds (checked in this order; the first match is reported):

- ``exact``: the normalized queries are equal (lower-cased words, as the dataset's
  exact-duplicate key: :func:`streamer.dataset.normalize_query`);
- ``near``: the Jaccard similarity of their word 3-shingle sets is at least
  ``near_threshold`` (candidates from MinHash LSH, as the dataset's near-duplicate step,
  then confirmed on the exact sets, so the LSH's false positives never reject);
- ``ngram``: the pair's query contains a run of ``ngram`` consecutive words of a benchmark
  query at least that long (a benchmark item embedded in a longer query);
- ``calls``: its calls are the item's gold calls — the same functions, each argument a
  value the benchmark accepts (numbers compared by value, strings without case and outer
  spaces), nothing more, and at least one argument in all (a call without arguments says
  little about where a pair came from).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..dataset import normalize_query, query_shingles
from ._references import GoldCall, ReferenceItem, ReferenceSet

if TYPE_CHECKING:
    from datasketch import MinHash, MinHashLSH

__all__ = ["DEFAULT_NEAR_THRESHOLD", "DEFAULT_NGRAM", "ContaminationIndex", "Match"]

DEFAULT_NEAR_THRESHOLD = 0.8
"""Jaccard similarity of word 3-shingle sets at or above which a query is a near copy."""

DEFAULT_NGRAM = 13
"""Length, in words, of a benchmark query's run that a query must not contain."""

_WORD = re.compile(r"\w+", re.UNICODE)
MatchKind = Literal["exact", "near", "ngram", "calls"]


@dataclass(frozen=True, slots=True)
class Match:
    """The benchmark item a pair repeats: its reference set, id, how it matched, and the
    similarity (1.0 for exact, ngram and calls matches)."""

    reference: str
    item_id: str
    kind: MatchKind
    score: float = 1.0

    def message(self) -> str:
        """The reject message: which item of which set, and how."""
        how = {
            "exact": "the same query as",
            "near": f"a near copy (Jaccard {self.score:.2f}) of the query of",
            "ngram": "a query containing the query of",
            "calls": "the gold calls of",
        }[self.kind]
        return f"{how} benchmark item {self.item_id!r} of reference set {self.reference}"


def _canon(value: Any) -> Any:
    """A hashable form in which 5 == 5.0 and "Paris " == "paris"."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, list | tuple):
        return tuple(_canon(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _canon(v)) for k, v in value.items()))
    return repr(value)


@dataclass(frozen=True, slots=True)
class _Gold:
    reference: str
    item_id: str
    calls: tuple[tuple[str, dict[str, frozenset[Any]]], ...]
    """Per call: its name and the accepted values of each argument."""


def _gold(reference: str, item: ReferenceItem) -> _Gold | None:
    calls = []
    arguments = 0
    for call in item.calls:
        accepted: dict[str, frozenset[Any]] = {}
        for name, values in call.arguments.items():
            accepted[name] = frozenset(_canon(v) for v in values)
            arguments += 1
        calls.append((call.name, accepted))
    return _Gold(reference, item.id, tuple(calls)) if calls and arguments else None


def _call_matches(gold: tuple[str, dict[str, frozenset[Any]]], call: GoldCall) -> bool:
    name, accepted = gold
    if call.name != name or set(call.arguments) - set(accepted):
        return False
    for argument, values in accepted.items():
        given = call.arguments.get(argument)
        if given is None:
            if "" not in values and None not in values:
                return False
        elif _canon(given[0]) not in values:
            return False
    return True


class ContaminationIndex:
    """The reference sets, indexed for :meth:`match` (see the module docstring).

    near_threshold: Jaccard similarity (0..1] of word 3-shingles for a ``near`` match.
    ngram: words in a run a query must not share with a benchmark query (0 = off).
    num_perm: MinHash permutations (more: fewer missed candidates, slower to build).
    """

    def __init__(
        self,
        sets: Sequence[ReferenceSet],
        *,
        near_threshold: float = DEFAULT_NEAR_THRESHOLD,
        ngram: int = DEFAULT_NGRAM,
        num_perm: int = 64,
    ) -> None:
        from datasketch import MinHash, MinHashLSH

        if not 0 < near_threshold <= 1:
            raise ValueError(f"near_threshold must be within (0, 1], got {near_threshold}")
        self.sets = tuple(sets)
        self.near_threshold = near_threshold
        self.ngram = ngram
        self._empty = MinHash(num_perm=num_perm)
        self._lsh: MinHashLSH = MinHashLSH(threshold=near_threshold, num_perm=num_perm)
        self._exact: dict[str, tuple[str, str]] = {}
        self._shingled: dict[str, tuple[str, str, set[str]]] = {}
        self._ngrams: dict[str, tuple[str, str]] = {}
        self._gold: dict[tuple[str, ...], list[_Gold]] = {}
        digest = hashlib.sha256()
        for ref in self.sets:
            for item in ref.items:
                digest.update(f"{ref.name}\0{item.id}\0{item.query}\0".encode())
                self._add(ref.name, item)
        self.digest = digest.hexdigest()[:16]
        """Names what the index holds (for the stage version): sets, ids and queries."""

    @property
    def items(self) -> int:
        """Benchmark items indexed, over all sets."""
        return sum(len(s.items) for s in self.sets)

    def _minhash(self, shingles: set[str]) -> MinHash:
        mh = self._empty.copy()
        mh.update_batch([s.encode() for s in shingles])
        return mh

    def _add(self, reference: str, item: ReferenceItem) -> None:
        where = (reference, item.id)
        key = normalize_query(item.query)
        if key:
            self._exact.setdefault(key, where)
            words = key.split()
            shingles = query_shingles(key)
            lsh_key = f"{len(self._shingled)}"
            self._shingled[lsh_key] = (reference, item.id, shingles)
            self._lsh.insert(lsh_key, self._minhash(shingles))
            if self.ngram and len(words) >= self.ngram:
                for i in range(len(words) - self.ngram + 1):
                    self._ngrams.setdefault(" ".join(words[i : i + self.ngram]), where)
        gold = _gold(reference, item)
        if gold is not None:
            self._gold.setdefault(tuple(sorted(c[0] for c in gold.calls)), []).append(gold)

    def match(
        self, query: str, calls: Sequence[tuple[str, Mapping[str, Any]]] = ()
    ) -> Match | None:
        """The first benchmark item the pair (its query and calls) repeats, else None."""
        key = normalize_query(query)
        if key in self._exact:
            return Match(*self._exact[key], "exact")
        words = key.split()
        if words:
            shingles = query_shingles(key)
            best: tuple[float, str, str] | None = None
            for candidate in self._lsh.query(self._minhash(shingles)):
                reference, item_id, theirs = self._shingled[candidate]
                score = len(shingles & theirs) / len(shingles | theirs)
                if score >= self.near_threshold and (best is None or score > best[0]):
                    best = (score, reference, item_id)
            if best is not None:
                return Match(best[1], best[2], "near", round(best[0], 4))
            if self.ngram:
                for i in range(len(words) - self.ngram + 1):
                    hit = self._ngrams.get(" ".join(words[i : i + self.ngram]))
                    if hit is not None:
                        return Match(*hit, "ngram")
        return self._match_calls(calls)

    def _match_calls(self, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> Match | None:
        if not calls:
            return None
        given = [GoldCall(name, {k: (v,) for k, v in args.items()}) for name, args in calls]
        for gold in self._gold.get(tuple(sorted(c.name for c in given)), ()):
            unmatched = list(gold.calls)
            for call in given:
                hit = next((g for g in unmatched if _call_matches(g, call)), None)
                if hit is None:
                    break
                unmatched.remove(hit)
            else:
                return Match(gold.reference, gold.item_id, "calls")
        return None
