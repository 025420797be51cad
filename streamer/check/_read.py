"""Files -> items to check: format detection, and each record in its own error boundary.

Formats (detected per file from its first recognizable record, or forced)::

    xlam      xlam-function-calling-60k rows {id, query, answers, tools}
    openai    OpenAI chat records {messages, tools}: each assistant turn with tool_calls
    sharegpt  ShareGPT conversations (glaive): function_call / observation turns
    hermes    Hermes transcripts: <tools> in the system turn, <tool_call> blocks
    bfcl      BFCL question files with their possible_answer files

Whatever one record holds, it becomes one item or, for conversations, one per
tool-calling turn; a record the reader cannot use is an :class:`InvalidRecord` with the
file and line, and reading goes on. Only a file that cannot be checked at all raises
:class:`DatasetFormatError` (a usage error).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from ._bfcl import is_bfcl, open_bfcl
from ._case import InvalidRecord, Item, ReadSettings, record_id
from ._decode import RawRecord, decode_file
from ._errors import BadRecord, DatasetFormatError
from ._hermes import hermes_cases, is_hermes
from ._openai import is_openai, openai_cases
from ._sharegpt import is_sharegpt, sharegpt_cases
from ._xlam import is_xlam, xlam_cases

__all__ = ["FORMAT_NAMES", "RecordFormat", "detect_format", "read_dataset", "read_items"]

RecordFormat = Literal["xlam", "openai", "sharegpt", "hermes", "bfcl"]
FORMAT_NAMES: tuple[RecordFormat, ...] = ("xlam", "openai", "sharegpt", "hermes", "bfcl")

Reader = Callable[[Any, str, str, ReadSettings], Iterable[Item]]

_READERS: dict[RecordFormat, Reader] = {
    "xlam": xlam_cases,
    "openai": openai_cases,
    "sharegpt": sharegpt_cases,
    "hermes": hermes_cases,
}


def detect_format(record: Any) -> RecordFormat | None:
    """The format a decoded record looks like, or None."""
    if is_bfcl(record):
        return "bfcl"
    if is_hermes(record):
        return "hermes"
    if is_openai(record):
        return "openai"
    if is_sharegpt(record):
        return "sharegpt"
    if is_xlam(record):
        return "xlam"
    return None


_SHAPES = (
    "xLAM ({query, answers, tools}), OpenAI chat ({messages, tools}), ShareGPT "
    "({conversations}), Hermes (<tools>/<tool_call>) or BFCL ({id, question, function})"
)


def _one(raw: RawRecord, reader: Reader, settings: ReadSettings) -> list[Item]:
    """One record's items; nothing it holds can raise out of here."""
    value = raw.value
    rid = record_id(value.record if isinstance(value, BadRecord) else value, raw.key)
    if isinstance(raw.value, BadRecord):
        return [InvalidRecord(rid, raw.where, raw.value.message, raw.value.reason)]
    try:
        return list(reader(raw.value, raw.where, rid, settings))
    except BadRecord as exc:
        return [InvalidRecord(rid, raw.where, exc.message, exc.reason)]
    except Exception as exc:  # a reader bug must cost one record, not the whole check
        return [InvalidRecord(rid, raw.where, f"{type(exc).__name__}: {exc}", "stage_error")]


def _items(records: Iterable[RawRecord], reader: Reader, settings: ReadSettings) -> Iterator[Item]:
    for raw in records:
        yield from _one(raw, reader, settings)


def read_dataset(
    path: str | Path,
    *,
    fmt: RecordFormat | None = None,
    answers: str | Path | None = None,
    settings: ReadSettings | None = None,
) -> tuple[RecordFormat, Iterator[Item]]:
    """The file's format and its items; raises :class:`DatasetFormatError` when the file
    as a whole cannot be read (unreadable, no recognizable record, BFCL answers missing)."""
    path = Path(path)
    settings = settings or ReadSettings()
    records = decode_file(path, settings.limits)
    seen: list[RawRecord] = []
    first: Any = None
    for raw in records:
        seen.append(raw)
        if not isinstance(raw.value, BadRecord) and (fmt is None or fmt == "bfcl"):
            found = detect_format(raw.value)
            if found is not None:
                fmt = fmt or found
                first = raw.value
                break
        elif fmt is not None:
            break
    if fmt is None:
        problems = [f"{r.where}: {r.value.message}" for r in seen if isinstance(r.value, BadRecord)]
        hint = f" (first problem: {problems[0]})" if problems else ""
        raise DatasetFormatError(f"{path}: no record looks like {_SHAPES}{hint}; pass --format")
    rest: Iterator[RawRecord] = itertools.chain(seen, records)
    if fmt == "bfcl":
        source = open_bfcl(path, Path(answers) if answers else None, first, settings)
        if source.questions != path:
            rest = decode_file(source.questions, settings.limits)
        return fmt, itertools.chain(source.bad_gold, _items(rest, source.cases, settings))
    return fmt, _items(rest, _READERS[fmt], settings)


def _guarded(path: Path, items: Iterator[Item]) -> Iterator[Item]:
    """A failure of the reading machinery itself (a bug) ends this file with one
    ``stage_error`` item instead of the whole check."""
    try:
        yield from items
    except Exception as exc:
        yield InvalidRecord(
            str(path), str(path), f"reading stopped: {type(exc).__name__}: {exc}", "stage_error"
        )


def read_items(
    paths: Sequence[Path],
    *,
    fmt: RecordFormat | None = None,
    answers: Path | None = None,
    settings: ReadSettings | None = None,
) -> Iterator[Item]:
    """Every item of every file, in order. Files are opened (and their format detected)
    now, so a :class:`DatasetFormatError` comes before any record is checked."""
    opened = [
        _guarded(p, read_dataset(p, fmt=fmt, answers=answers, settings=settings)[1]) for p in paths
    ]
    return itertools.chain.from_iterable(opened)
