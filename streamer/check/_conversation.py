"""Conversations (OpenAI chat, ShareGPT, Hermes) -> one case per tool-calling turn.

A reader maps its messages to :class:`Turn` values; :func:`conversation_cases` makes the
cases: every assistant turn that calls tools becomes a case whose query is the user turns
so far and whose ``observed`` outputs are the tool turns that follow it. Its id is the
record's, with ``#turn<k>`` for the k-th such turn when there are several. A conversation
with no tool-calling turn is one case with no call: "no call expected" (irrelevance) when
an assistant turn answered in text, otherwise (no assistant turn at all) an answer that
the format stage rejects unless ``--allow-no-call`` or a declared style says otherwise.

A conversation whose turns make more calls than ``ReadLimits.max_conversation_calls`` is
one ``limit_exceeded`` record (no per-turn cases). One that names an environment (or
every one, with ``--environment``) is also one trajectory to replay, after its per-turn
cases (:mod:`streamer.check._trajectory_read`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from topics import QueryStyle, Tool

from ._case import (
    CheckCase,
    InvalidRecord,
    Item,
    ReadSettings,
    case_style,
    check_calls_limit,
    declared_style,
)
from ._decode import ReadLimits
from ._errors import BadRecord
from ._tools import any_tool, read_tools, tools_field
from ._trajectory_read import trajectory_items
from ._turn import Role, Turn

__all__ = [
    "ChatReader",
    "Role",
    "Turn",
    "chat_reader",
    "check_conversation_limit",
    "conversation_cases",
    "json_values_in",
    "observed_value",
    "text_of",
]


def text_of(content: Any) -> str:
    """A message's text: a string, or the ``text`` parts of an OpenAI content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (p.get("text") for p in content if isinstance(p, dict))
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def observed_value(text: str) -> Any:
    """A tool output as JSON where it parses, else the text."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


_DECODER = json.JSONDecoder()
_MAX_FAILED_STARTS = 256


def json_values_in(text: str) -> Iterator[Any]:
    """The JSON objects and lists embedded in prose (a system prompt listing functions),
    in order. At most a few hundred false starts are tried, so prose full of braces stays
    cheap."""
    pos, failed = 0, 0
    while failed < _MAX_FAILED_STARTS:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0]
        if not starts:
            return
        start = min(starts)
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            failed += 1
            pos = start + 1
            continue
        yield value
        pos = end


ChatReader = Callable[[Any, str, str, ReadSettings], Iterator[Item]]
FromSettings = Callable[[Any, ReadSettings], Any]


def chat_reader(
    shape: str,
    messages_of: Callable[[Any], list[Any] | None],
    turns_of: FromSettings,
    system_tools: FromSettings,
) -> ChatReader:
    """A reader of chat records: ``messages_of`` finds the message list (None: not this
    shape, named ``shape`` in the error), ``turns_of(messages, settings)`` makes the turns,
    and the tools are a ``tools`` field, else ``system_tools(texts, settings)`` of the
    system prompt (a ``system`` field, then the system turns)."""

    def read(record: Any, where: str, rid: str, settings: ReadSettings) -> Iterator[Item]:
        messages = messages_of(record)
        if messages is None or not isinstance(record, Mapping):
            raise BadRecord("invalid_record", f"not a {shape}")
        turns: list[Turn] = turns_of(messages, settings)
        if record.get("tools") not in (None, "", []):
            entries = tools_field(record["tools"], settings.limits)
        else:
            system = [t.text for t in turns if t.role == "system"]
            if isinstance(record.get("system"), str):
                system.insert(0, record["system"])
            entries = system_tools(system, settings)
        tools = read_tools(entries, any_tool, settings.limits)
        yield from conversation_cases(rid, where, tools, turns, settings, declared_style(record))
        yield from trajectory_items(record, rid, where, turns, settings)

    return read


def check_conversation_limit(turns: Sequence[Turn], limits: ReadLimits) -> None:
    """Raise ``limit_exceeded`` for a conversation whose turns make more calls (a call
    that cannot be read counts as one) than ``limits.max_conversation_calls``."""
    calls = sum(
        len(t.calls) if isinstance(t.calls, list) else 1 for t in turns if t.calls is not None
    )
    if calls > limits.max_conversation_calls:
        raise BadRecord(
            "limit_exceeded",
            f"the conversation makes {calls} calls; the limit is {limits.max_conversation_calls}",
        )


def conversation_cases(
    rid: str,
    where: str,
    tools: tuple[Tool, ...],
    turns: Sequence[Turn],
    settings: ReadSettings,
    declared: QueryStyle | None = None,
) -> Iterator[Item]:
    """The cases of one conversation (see the module docstring); ``limit_exceeded`` for
    the whole record when its turns make more calls than ``max_conversation_calls``."""
    check_conversation_limit(turns, settings.limits)
    calling = [i for i, t in enumerate(turns) if t.role == "assistant" and t.calls is not None]
    if not calling:
        answered = any(t.role == "assistant" for t in turns)
        query = "\n".join(t.text for t in turns if t.role == "user" and t.text)
        style = case_style(
            [], tools, declared=declared, no_call_wanted=answered or settings.allow_no_call
        )
        yield CheckCase(rid, where, query, tools, [], style)
        return
    for k, index in enumerate(calling, 1):
        turn = turns[index]
        case_id = rid if len(calling) == 1 else f"{rid}#turn{k}"
        at = f"{where}#{turn.at}"
        calls = turn.calls
        assert calls is not None
        if isinstance(calls, list):
            try:
                check_calls_limit(calls, settings.limits, "turn")
            except BadRecord as exc:
                yield InvalidRecord(case_id, at, exc.message, exc.reason)
                continue
        query = "\n".join(t.text for t in turns[:index] if t.role == "user" and t.text)
        observed: list[Any] = []
        for later in turns[index + 1 :]:
            if later.role != "tool":
                break
            observed.append(observed_value(later.text))
        style = case_style(calls, tools, declared=declared, no_call_wanted=False)
        yield CheckCase(case_id, at, query, tools, calls, style, observed=tuple(observed))
