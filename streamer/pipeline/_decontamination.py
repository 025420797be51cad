"""The ``[decontaminate]`` table: which benchmark reference sets a run keeps out.

Example::

    [decontaminate]
    references = ["../shared/data/bfcl", "held-out.jsonl"]  # or: --decontaminate PATH
    # near_threshold = 0.8   # Jaccard of word 3-shingles for a near copy, within (0, 1]
    # ngram = 13             # words of a benchmark query a query must not contain; 0 = off

Paths are relative to the config file. With references, the semantic stage rejects a pair
that repeats a benchmark item as ``contaminated`` (:mod:`streamer.stages._decontaminate`),
and the stage's version hashes what the index holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..decontamination import (
    DEFAULT_NEAR_THRESHOLD,
    DEFAULT_NGRAM,
    ContaminationIndex,
    ReferenceError,
    read_reference_set,
)
from ._model_config import ConfigError, as_type

__all__ = ["DecontaminationConfig", "contamination_index", "read_decontamination"]


@dataclass(frozen=True, slots=True)
class DecontaminationConfig:
    """references: reference sets (files or folders); empty = no decontamination.
    near_threshold: Jaccard similarity of word 3-shingles at or above which a query is a
      near copy of a benchmark query.
    ngram: length in words of a benchmark query's run that a query must not contain
      (0 = off)."""

    references: tuple[Path, ...] = ()
    near_threshold: float = DEFAULT_NEAR_THRESHOLD
    ngram: int = DEFAULT_NGRAM


def read_decontamination(table: Any, path: Path) -> DecontaminationConfig:
    """The ``[decontaminate]`` table of config file ``path``; :class:`ConfigError` naming
    the field."""
    where = f"{path}: decontaminate"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table ([decontaminate]), got {table!r}")
    known = {"references", "near_threshold", "ngram"}
    if unknown := sorted(set(table) - known):
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    references = as_type(table.get("references", []), list, f"{where}.references")
    if not all(isinstance(r, str) and r for r in references):
        raise ConfigError(f"{where}.references: expected a list of paths, got {references!r}")
    config = DecontaminationConfig(
        references=tuple(path.parent / r for r in references),
        near_threshold=as_type(
            table.get("near_threshold", DEFAULT_NEAR_THRESHOLD), float, f"{where}.near_threshold"
        ),
        ngram=as_type(table.get("ngram", DEFAULT_NGRAM), int, f"{where}.ngram"),
    )
    if not 0 < config.near_threshold <= 1 or config.ngram < 0:
        raise ConfigError(f"{where}: near_threshold must be within (0, 1] and ngram >= 0")
    return config


@cache
def contamination_index(config: DecontaminationConfig) -> ContaminationIndex | None:
    """The index over ``config``'s reference sets, built once per process (None without
    references); a set that cannot be read, or holds no record of a known shape (a wrong
    file, another encoding), is a :class:`ConfigError` naming it."""
    if not config.references:
        return None
    try:
        sets = [read_reference_set(p) for p in config.references]
    except ReferenceError as exc:
        raise ConfigError(f"decontaminate: {exc}") from None
    for ref in sets:
        if not ref.items:
            raise ConfigError(
                f"decontaminate: reference set {ref.name!r} holds no record of a known shape "
                f"({ref.skipped} skipped; expected BFCL questions, xLAM/OpenAI/ShareGPT "
                "records or a query list, in UTF-8)"
            )
    return ContaminationIndex(sets, near_threshold=config.near_threshold, ngram=config.ngram)
