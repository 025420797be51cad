"""Hermes function-calling transcripts (NousResearch's format, ChatML tool use).

The system message lists the tools inside ``<tools> ... </tools>``: a JSON list, JSON
objects one after another, or a Python list repr (single quotes, as the Hermes
function-calling datasets write it). An assistant message calls tools with
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks (JSON or a Python dict
repr, read as data by :mod:`streamer.check._literals`); every block of one message is one
answer. Tool messages (``from: tool`` or ``role: tool``, usually ``<tool_response>``
blocks) are the observed outputs. Records are ShareGPT-shaped (``conversations`` with
``from``/``value``) or OpenAI-shaped (``messages`` with ``role``/``content``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..stages import FormatError
from ._case import ReadSettings
from ._conversation import Turn, chat_reader, json_values_in, text_of
from ._decode import check_depth, loads_text
from ._errors import BadRecord
from ._literals import parse_literal
from ._sharegpt import conversation_of, role_of, speaker_of

__all__ = ["hermes_cases", "is_hermes"]

_TOOLS = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_RESPONSE = re.compile(r"<tool_response>(.*?)(?:</tool_response>|\Z)", re.DOTALL)


def _messages(record: Any) -> list[Any] | None:
    turns = conversation_of(record)
    if turns is None and isinstance(record, Mapping) and isinstance(record.get("messages"), list):
        turns = record["messages"]
    return turns


def _speaker_text(raw: Any, at: str) -> tuple[str, str]:
    speaker, value = speaker_of(raw, at)
    return speaker, text_of(value)


def is_hermes(record: Any) -> bool:
    """A conversation whose system turn lists ``<tools>`` or whose assistant calls with
    ``<tool_call>`` (the system prompt's own instructions mention the tag too)."""
    messages = _messages(record)
    for raw in messages or ():
        if isinstance(raw, Mapping):
            speaker = str(raw.get("from", raw.get("role", ""))).lower()
            text = text_of(raw.get("value", raw.get("content")))
            if speaker == "system" and "<tools>" in text:
                return True
            if speaker in ("gpt", "assistant") and "<tool_call>" in text:
                return True
    return False


def _value(text: str, what: str, settings: ReadSettings) -> Any:
    """JSON, else a Python literal; raises ValueError naming both failures."""
    try:
        return loads_text(text, what=what, reason="invalid_json", limits=settings.limits)
    except BadRecord as exc:
        if exc.reason != "invalid_json":
            raise
        json_problem = exc.message
    try:
        value = parse_literal(text, what)
    except ValueError as exc:
        raise ValueError(f"{json_problem}; nor a Python literal: {exc}") from None
    check_depth(value, settings.limits, what, text)
    return value


def _calls(text: str, at: str, settings: ReadSettings) -> list[Any] | FormatError | None:
    blocks = _CALL.findall(text)
    if not blocks:
        return None
    calls: list[Any] = []
    for k, block in enumerate(blocks):
        what = f"{at} <tool_call> {k}"
        try:
            value = _value(block.strip(), what, settings)
        except ValueError as exc:
            return FormatError("invalid_json", str(exc))
        calls.extend(value if isinstance(value, list) else [value])
    return calls


def _turns(messages: list[Any], settings: ReadSettings) -> list[Turn]:
    turns: list[Turn] = []
    for i, raw in enumerate(messages):
        at = f"{'messages' if isinstance(raw, Mapping) and 'role' in raw else 'conversations'}[{i}]"
        speaker, text = _speaker_text(raw, at)
        role = role_of(speaker, at) or "assistant"
        if role == "tool":
            for block in _RESPONSE.findall(text) or [text]:
                turns.append(Turn("tool", block.strip(), at))
            continue
        calls = _calls(text, at, settings) if role == "assistant" else None
        turns.append(Turn(role, text, at, calls))
    return turns


def _system_tools(texts: list[str], settings: ReadSettings) -> list[Any]:
    """The tools listed in ``<tools>`` blocks of the system prompt."""
    entries: list[Any] = []
    for text in texts:
        for block in _TOOLS.findall(text):
            try:
                value = _value(block.strip(), "<tools>", settings)
            except ValueError:
                value = list(json_values_in(block))
            if isinstance(value, Mapping):
                value = [value]
            if not isinstance(value, list):
                raise BadRecord("invalid_tools", "<tools> holds neither a list nor a tool object")
            entries.extend(value)
    return entries


hermes_cases = chat_reader(
    "Hermes record: needs conversations or messages", _messages, _turns, _system_tools
)
