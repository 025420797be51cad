"""Duplicate APIs and copied descriptions across a whole catalogue.

Two findings, both in source order (the first occurrence wins):

- ``duplicate``: the same name and the same parameter schema as an earlier API (one API
  listed by two catalogues). Rejected.
- ``near_duplicate``: the same parameter schema and a description whose estimated Jaccard
  similarity (MinHash over word unigrams and bigrams) reaches ``threshold``. Rejected.
- ``copied_description``: a near-identical description on an API with a *different*
  schema (ToolBench fills empty API descriptions with the tool's). Fixable by
  regeneration, so it is an issue, not a rejection by itself.

Descriptions under ``min_words`` words are not compared (the short-description rule
handles them, and MinHash on two words is noise).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from .._spec import ApiSpec
from ._rules import Issue, words

__all__ = ["DuplicateSettings", "find_duplicates"]


@dataclass(frozen=True, slots=True)
class DuplicateSettings:
    """threshold: estimated Jaccard similarity (0-1) from which two descriptions count as
    near-identical. num_perm: MinHash permutations (accuracy vs. time). min_words:
    descriptions with fewer words are not compared."""

    threshold: float = 0.9
    num_perm: int = 128
    min_words: int = 4


def _schema_key(spec: ApiSpec) -> str:
    return json.dumps(spec.parameters, sort_keys=True, default=str)


def _shingles(text: str) -> list[bytes]:
    tokens = words(text)
    grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    return [g.encode() for g in dict.fromkeys(grams)]


def find_duplicates(specs: Sequence[ApiSpec], settings: DuplicateSettings) -> list[Issue | None]:
    """One entry per spec: a ``duplicate``/``near_duplicate`` rejection, a fixable
    ``copied_description`` issue, or None."""
    found: list[Issue | None] = [None] * len(specs)
    schemas = [_schema_key(s) for s in specs]
    first_exact: dict[tuple[str, str], int] = {}
    for i, spec in enumerate(specs):
        key = (spec.name, schemas[i])
        if key in first_exact:
            found[i] = Issue(
                "duplicates",
                "duplicate",
                f"same name and parameters as {specs[first_exact[key]].id}",
            )
        else:
            first_exact[key] = i

    from datasketch import MinHash, MinHashLSH  # imports scipy: only when curating

    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
    hashes: dict[int, MinHash] = {}
    for i, spec in enumerate(specs):
        if found[i] is not None or len(words(spec.description)) < settings.min_words:
            continue
        minhash = MinHash(num_perm=settings.num_perm, seed=1)
        minhash.update_batch(_shingles(spec.description))
        hashes[i] = minhash
        lsh.insert(str(i), minhash)
    for i, minhash in hashes.items():
        similar = sorted(
            j
            for j in (int(k) for k in lsh.query(minhash))
            if j != i and minhash.jaccard(hashes[j]) >= settings.threshold
        )
        earlier_same = [j for j in similar if j < i and schemas[j] == schemas[i]]
        if earlier_same:
            found[i] = Issue(
                "duplicates",
                "near_duplicate",
                f"same parameters and a near-identical description as {specs[earlier_same[0]].id}",
            )
        elif any(schemas[j] != schemas[i] for j in similar):
            other = next(j for j in similar if schemas[j] != schemas[i])
            found[i] = Issue(
                "documentation",
                "copied_description",
                f"description is near-identical to {specs[other].id}'s",
                True,
            )
    return found
