"""xLAM rows: ``{id, query, answers, tools}`` (xlam-function-calling-60k).

``answers`` and ``tools`` are JSON strings or already decoded lists. A tool is an xLAM flat
parameter map or an OpenAI-style function schema (wrapped or bare), decided per tool. An
empty ``answers`` means "no call expected" only when the row declares the irrelevance style
(a ``style``/``category`` field) or ``--allow-no-call`` is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from ..stages import FormatError
from ._case import CheckCase, Item, ReadSettings, case_style, check_calls_limit, declared_style
from ._decode import check_depth
from ._errors import BadRecord
from ._tools import any_tool, read_tools, tools_field

__all__ = ["is_xlam", "xlam_cases"]


def is_xlam(record: Any) -> bool:
    return isinstance(record, Mapping) and {"query", "answers", "tools"} <= set(record)


def _answers(raw: Any, settings: ReadSettings) -> list[Any] | FormatError:
    try:
        decoded: Any = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError as exc:
        return FormatError("invalid_json", f"answers is not JSON: {exc}")
    if not isinstance(decoded, list):
        return FormatError("missing_field", "answers is not a list of calls")
    check_depth(decoded, settings.limits, "answers", raw if isinstance(raw, str) else None)
    check_calls_limit(decoded, settings.limits)
    return decoded


def xlam_cases(record: Any, where: str, rid: str, settings: ReadSettings) -> Iterator[Item]:
    if not is_xlam(record):
        raise BadRecord("invalid_record", "not an xLAM row: needs query, answers and tools")
    entries = tools_field(record["tools"], settings.limits)
    tools = read_tools(entries, any_tool, settings.limits)
    answers = _answers(record["answers"], settings)
    query = record["query"] if isinstance(record["query"], str) else ""
    style = case_style(
        answers, tools, declared=declared_style(record), no_call_wanted=settings.allow_no_call
    )
    yield CheckCase(rid, where, query, tools, answers, style)
