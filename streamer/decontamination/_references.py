"""Reading reference sets: the benchmark items a released dataset must not contain.

A reference set is one file or directory the user names. Records are read in any of these
shapes (told apart per record, so one file may mix them):

- BFCL questions (``{"id", "question": [[{"role": "user", "content"}...]], ...}``), with the
  gold calls of ``possible_answer/<same file name>`` beside them when it exists
  (``{"id", "ground_truth": [{"<function>": {"<param>": [<acceptable values>]}}]}``);
- xLAM rows (``{"id", "query", "answers"}``; ``answers`` a list or a JSON string of one);
- OpenAI chat records (``{"messages": [...]}``: user contents, assistant ``tool_calls``);
- ShareGPT conversations (``{"conversations": [{"from": "human", "value"}...]}``);
- plain query lists: a ``.txt`` file (one query a line) or JSON strings.

A file is JSON Lines, or one JSON array of records. A record that fits none of the shapes,
or a line that is not JSON, is counted as skipped (never an error that stops the run): the
set is input like any other. A directory is read file by file (``*.json``, ``*.jsonl``,
``*.txt``), except its ``possible_answer/`` folder, which only supplies gold calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_REFERENCE_BYTES",
    "GoldCall",
    "ReferenceError",
    "ReferenceItem",
    "ReferenceSet",
    "read_reference_set",
]

MAX_REFERENCE_BYTES = 512 * 1024 * 1024
"""Largest reference file read, in bytes (a larger one is a :class:`ReferenceError`)."""

_SUFFIXES = (".json", ".jsonl", ".txt")


class ReferenceError(ValueError):
    """A reference set that cannot be read at all (missing, unreadable, too large)."""

    reason = "invalid_reference"


@dataclass(frozen=True, slots=True)
class GoldCall:
    """One gold call: the function name and, per argument, the values that count as it
    (BFCL lists several; ``""`` among them means the argument may be left out)."""

    name: str
    arguments: Mapping[str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class ReferenceItem:
    """One benchmark item: its id (the record's ``id``, else ``<file>:<line>``), the user
    text of its query and its gold calls (empty when the set has none)."""

    id: str
    query: str
    calls: tuple[GoldCall, ...] = ()


@dataclass(frozen=True, slots=True)
class ReferenceSet:
    """A named reference set: ``name`` is the path the user gave, ``skipped`` the records
    that fit no shape."""

    name: str
    items: tuple[ReferenceItem, ...]
    skipped: int = 0
    files: tuple[str, ...] = field(default=())


def read_reference_set(path: str | Path) -> ReferenceSet:
    """Read the file or directory ``path``; :class:`ReferenceError` when it cannot be read."""
    root = Path(path)
    if root.is_dir():
        try:
            files = sorted(
                p
                for p in root.rglob("*")
                if p.is_file() and p.suffix in _SUFFIXES and "possible_answer" not in p.parts
            )
        except OSError as exc:
            raise ReferenceError(f"reference set {str(path)!r}: cannot list: {exc}") from None
    elif root.is_file():
        files = [root]
    else:
        raise ReferenceError(f"reference set {str(path)!r}: no such file or directory")
    items: list[ReferenceItem] = []
    skipped = 0
    for file in files:
        answers = _gold_answers(file)
        for where, record in _records(file):
            item = _item(record, where, answers)
            if item is None:
                skipped += 1
            else:
                items.append(item)
    return ReferenceSet(str(path), tuple(items), skipped, tuple(str(f) for f in files))


def _read_text(file: Path) -> str:
    try:
        if file.stat().st_size > MAX_REFERENCE_BYTES:
            raise ReferenceError(
                f"reference file {str(file)!r} is larger than {MAX_REFERENCE_BYTES:,} bytes"
            )
        return file.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise ReferenceError(f"reference file {str(file)!r}: cannot read: {exc.strerror}") from None


def _records(file: Path) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` per record of ``file``; a line that is not JSON is a record that
    fits no shape (``None``), a ``.txt`` line a plain query."""
    text = _read_text(file)
    if file.suffix == ".txt":
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{file.name}:{n}", line.strip()
        return
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except (ValueError, RecursionError):
            records = None
        if isinstance(records, list):
            for n, record in enumerate(records):
                yield f"{file.name}:{n}", record
            return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{file.name}:{n}", json.loads(line)
        except (ValueError, RecursionError):
            yield f"{file.name}:{n}", None


def _gold_answers(file: Path) -> dict[str, tuple[GoldCall, ...]]:
    """BFCL gold calls by item id, from ``possible_answer/<file name>`` beside ``file``."""
    answers_file = file.parent / "possible_answer" / file.name
    if not answers_file.is_file():
        return {}
    gold: dict[str, tuple[GoldCall, ...]] = {}
    for _, record in _records(answers_file):
        if not isinstance(record, dict) or not isinstance(record.get("ground_truth"), list):
            continue
        calls = tuple(_bfcl_calls(record["ground_truth"]))
        if calls:
            gold[str(record.get("id"))] = calls
    return gold


def _bfcl_calls(ground_truth: Iterable[Any]) -> Iterator[GoldCall]:
    for entry in ground_truth:
        if not isinstance(entry, dict):
            continue
        for name, arguments in entry.items():
            if isinstance(name, str) and isinstance(arguments, dict):
                yield GoldCall(
                    name,
                    {
                        str(k): tuple(v) if isinstance(v, list) else (v,)
                        for k, v in arguments.items()
                    },
                )


def _exact_calls(calls: Any) -> tuple[GoldCall, ...]:
    """Calls written out (xLAM answers, OpenAI tool_calls) as gold calls of one value each."""
    if isinstance(calls, str):
        try:
            calls = json.loads(calls)
        except (ValueError, RecursionError):
            return ()
    out: list[GoldCall] = []
    for call in calls if isinstance(calls, list) else ():
        if not isinstance(call, dict):
            continue
        inner = call.get("function")
        function: dict[str, Any] = inner if isinstance(inner, dict) else call
        name, arguments = function.get("name"), function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except (ValueError, RecursionError):
                continue
        if isinstance(name, str) and isinstance(arguments, dict):
            out.append(GoldCall(name, {str(k): (v,) for k, v in arguments.items()}))
    return tuple(out)


def _user_text(messages: Any, role_key: str, content_key: str, user: str) -> str:
    if not isinstance(messages, list):
        return ""
    texts = [
        m[content_key]
        for m in messages
        if isinstance(m, dict) and m.get(role_key) == user and isinstance(m.get(content_key), str)
    ]
    return "\n".join(texts)


def _item(
    record: Any, where: str, answers: Mapping[str, tuple[GoldCall, ...]]
) -> ReferenceItem | None:
    if isinstance(record, str):
        return ReferenceItem(where, record) if record.strip() else None
    if not isinstance(record, dict):
        return None
    ident = str(record["id"]) if isinstance(record.get("id"), str | int) else where
    if isinstance(record.get("question"), list):  # BFCL
        turns = [t for t in record["question"] if isinstance(t, list)]
        query = "\n".join(_user_text(t, "role", "content", "user") for t in turns).strip()
        return ReferenceItem(ident, query, answers.get(ident, ())) if query else None
    if isinstance(record.get("query"), str):  # xLAM
        return ReferenceItem(ident, record["query"], _exact_calls(record.get("answers")))
    if isinstance(record.get("messages"), list):  # OpenAI chat
        messages = record["messages"]
        calls = tuple(
            c
            for m in messages
            if isinstance(m, dict) and m.get("role") == "assistant"
            for c in _exact_calls(m.get("tool_calls"))
        )
        query = _user_text(messages, "role", "content", "user")
        return ReferenceItem(ident, query, calls) if query else None
    if isinstance(record.get("conversations"), list):  # ShareGPT
        query = _user_text(record["conversations"], "from", "value", "human")
        return ReferenceItem(ident, query) if query else None
    return None
