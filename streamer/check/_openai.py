"""OpenAI chat records: ``{messages, tools}`` (``functions`` for the legacy shape).

Every assistant message with ``tool_calls`` (or a legacy ``function_call``) is a case, in
order, with the user messages before it as its query and the ``tool`` messages after it as
its observed outputs (see :mod:`streamer.check._conversation`). Content may be a string or
a list of ``{"type": "text", "text"}`` parts. A record that names an environment is also
replayed as one trajectory (``domain``/``env_seed`` fields, or ``--environment``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..stages import FormatError
from ._case import Item, ReadSettings, declared_style
from ._conversation import Role, Turn, conversation_cases, text_of
from ._errors import BadRecord
from ._tools import any_tool, read_tools, tools_field
from ._trajectory_read import trajectory_items

__all__ = ["is_openai", "openai_cases"]

_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}


def is_openai(record: Any) -> bool:
    return isinstance(record, Mapping) and isinstance(record.get("messages"), list)


def _calls(message: Mapping[str, Any], at: str) -> list[Any] | FormatError | None:
    tool_calls = message.get("tool_calls")
    if tool_calls is None and isinstance(message.get("function_call"), Mapping):
        return [message["function_call"]]
    if tool_calls is None or tool_calls == []:
        return None
    if not isinstance(tool_calls, list):
        return FormatError("invalid_call", f"{at}.tool_calls must be a list of calls")
    return [
        tc["function"]
        if isinstance(tc, Mapping) and isinstance(tc.get("function"), Mapping)
        else tc
        for tc in tool_calls
    ]


def openai_turns(messages: list[Any]) -> list[Turn]:
    turns: list[Turn] = []
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise BadRecord("invalid_record", f"{at}: a message must be an object")
        role = _ROLES.get(str(message.get("role")))
        if role is None:
            continue
        calls = _calls(message, at) if role == "assistant" else None
        turns.append(Turn(role, text_of(message.get("content")), at, calls))
    return turns


def openai_cases(record: Any, where: str, rid: str, settings: ReadSettings) -> Iterator[Item]:
    if not is_openai(record):
        raise BadRecord("invalid_record", "not an OpenAI chat record: needs a messages list")
    raw_tools = record.get("tools") if record.get("tools") is not None else record.get("functions")
    tools = read_tools(tools_field(raw_tools, settings.limits), any_tool, settings.limits)
    turns = openai_turns(record["messages"])
    yield from conversation_cases(rid, where, tools, turns, settings, declared_style(record))
    yield from trajectory_items(record, rid, where, turns, settings)
