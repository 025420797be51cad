"""The interplay prompts (issue 18, phase 2): the simulated user and the agent under test.

The **user** model is asked once per user turn with one message holding a ``<user_intent>``
block, JSON ``{"conversation_id", "intent", "outputs", "requests", "conversation"}``: the
blueprint's id (bookkeeping, never to be said), its intent, the facts the user wants to be
told, the ground-truth actions (``{"tool", "arguments"}``, so the user knows every id and
value it may be asked for; it must never name tools) and the conversation so far as the
user saw it (``{"role": "user" | "agent", "content"}``; tool calls are the agent's
business and not shown). It answers with the next user message
as ``{"message": ...}`` (plain text or a JSON string is read too); :data:`USER_STOP` in it
ends the conversation.

The **agent** model gets a system prompt with an ``<agent_policy>`` block, JSON
``{"policy", "tools"}`` (each tool's name, description, JSON Schema ``parameters`` and
``writes``: whether it changes data), then the conversation as chat messages: user turns
as user messages, its own earlier replies as assistant messages, and the results of its
tool calls as a user message holding a ``<tool_results>`` block (a JSON list of
``{"name", "ok", "result"}`` or ``{"name", "ok", "reason", "message"}``). It answers JSON
``{"content": str, "tool_calls": [{"name", "arguments"}]}``; empty ``tool_calls`` is a
message to the user.

Every block is written with :func:`json_block`, so no text from a model or a tool result
can forge or close a tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from topics import Call, Role, Turn

from ._template import ChatMessage, PromptTemplate, json_block

__all__ = [
    "AGENT_PROMPT",
    "AGENT_SCHEMA",
    "TOOL_RESULTS_TAG",
    "USER_PROMPT",
    "USER_SCHEMA",
    "USER_STOP",
    "AgentReply",
    "AgentReplyError",
    "read_agent_reply",
    "read_user_reply",
    "render_agent",
    "render_user",
]

USER_STOP = "###STOP###"
"""The text by which the user says the conversation is over."""

TOOL_RESULTS_TAG = "tool_results"
"""The block that carries tool results back to the agent."""

USER_PROMPT = PromptTemplate(
    id="interplay-user",
    version="1",
    system=(
        "You play a customer talking to a customer-service agent in a chat. Stay in "
        "character: you are the customer, never the agent. Write only your next message."
    ),
    user="""\
Your goal, what you want to be told, and the exact values you may give when asked:

<user_intent>
{intent}
</user_intent>

Rules:
- Start with a short greeting and your request. Reveal a fact (an email, an order or \
reservation id, an item, a reason, a date) only when the agent asks for it or needs it \
for the current step; make one request at a time.
- Use exactly the values in "requests"; never mention tool or function names, nor the \
conversation_id (it is bookkeeping).
- Confirm a change the agent proposes only if it is what you want.
- When everything in your goal is done and you were told what you wanted to know, reply \
with {stop} alone.
Reply with your next message only.""",
)
"""The user template. Placeholders: intent (the JSON block), stop."""

AGENT_PROMPT = PromptTemplate(
    id="interplay-agent",
    version="1",
    system="""\
You are a customer-service agent. Follow the policy and use the tools below.

<agent_policy>
{policy}
</agent_policy>

Each reply is one JSON object: {{"content": "<your message>", "tool_calls": \
[{{"name": "<tool>", "arguments": {{...}}}}]}}. To call tools, list them in tool_calls \
(their results come back in a <tool_results> block, then you reply again); to talk to the \
customer, leave tool_calls empty. Never invent ids or values the customer or a tool did not \
give you.""",
    user="",
)
"""The agent's system prompt. Placeholder: policy (the JSON block)."""

USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}
"""What the user model is asked for: ``{"message": ...}`` (an object, as structured output
wants at the top level); plain text and a JSON string are read as well."""

AGENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "content": {"type": "string"},
        "tool_calls": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "arguments": {"type": "object"}},
                "required": ["name", "arguments"],
            },
        },
    },
    "required": ["content", "tool_calls"],
}
"""The agent's reply shape."""


def _conversation(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """What the user saw: user turns and the agent's messages (not its tool calls)."""
    out: list[dict[str, str]] = []
    for turn in turns:
        if turn.role is Role.USER:
            out.append({"role": "user", "content": turn.content})
        elif turn.role is Role.ASSISTANT and not turn.calls:
            out.append({"role": "agent", "content": turn.content})
    return out


def render_user(
    conversation_id: str,
    intent: str,
    outputs: Sequence[str],
    requests: Sequence[Call],
    turns: Sequence[Turn],
) -> list[ChatMessage]:
    """The user model's messages for its next turn after ``turns``."""
    block = json_block(
        {
            "conversation_id": conversation_id,
            "intent": intent,
            "outputs": list(outputs),
            "requests": [{"tool": c.name, "arguments": c.arguments} for c in requests],
            "conversation": _conversation(turns),
        }
    )
    return USER_PROMPT.render(intent=block, stop=USER_STOP)


def _tool_result(turn: Turn) -> dict[str, Any]:
    result = turn.result
    if result is None or not result.ok:
        reason = result.reason if result is not None else "missing"
        message = result.message if result is not None else ""
        return {"name": turn.name, "ok": False, "reason": reason, "message": message}
    return {"name": turn.name, "ok": True, "result": result.result}


def render_agent(
    policy: str, tools: Sequence[Mapping[str, Any]], turns: Sequence[Turn]
) -> list[ChatMessage]:
    """The agent model's messages after ``turns``; ``tools`` are ``{"name", "description",
    "parameters", "writes"}`` mappings."""
    block = json_block({"policy": policy, "tools": [dict(t) for t in tools]})
    messages: list[ChatMessage] = [
        {"role": "system", "content": AGENT_PROMPT.system.format(policy=block)}
    ]
    pending: list[dict[str, Any]] = []
    for turn in turns:
        if turn.role is Role.TOOL:
            pending.append(_tool_result(turn))
            continue
        if pending:
            messages.append(_results_message(pending))
            pending = []
        if turn.role is Role.USER:
            messages.append({"role": "user", "content": turn.content})
        else:
            calls = [{"name": c.name, "arguments": c.arguments} for c in turn.calls]
            reply = {"content": turn.content, "tool_calls": calls}
            messages.append({"role": "assistant", "content": orjson.dumps(reply).decode()})
    if pending:
        messages.append(_results_message(pending))
    return messages


def _results_message(results: list[dict[str, Any]]) -> ChatMessage:
    tag = TOOL_RESULTS_TAG
    return {"role": "user", "content": f"<{tag}>\n{json_block(results)}\n</{tag}>"}


def read_user_reply(text: str, parsed: Any) -> str:
    """The user's message from a reply: a JSON string, ``{"message": str}`` or the text."""
    if isinstance(parsed, str):
        return parsed
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])
    return text


@dataclass(frozen=True, slots=True)
class AgentReply:
    """The agent's answer: ``content`` for the user, ``calls`` to run (empty: a message)."""

    content: str
    calls: tuple[Call, ...]


class AgentReplyError(ValueError):
    """A reply that is not the agent's JSON shape; the message says what is wrong."""


def read_agent_reply(parsed: Any) -> AgentReply:
    """The reply in ``parsed`` (the JSON value of the content, None when it was not JSON),
    or :class:`AgentReplyError`. ``tool_calls`` may be missing (a message); a call needs a
    string ``name`` and an object ``arguments``."""
    if not isinstance(parsed, dict):
        raise AgentReplyError("the reply is not a JSON object")
    content = parsed.get("content", "")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise AgentReplyError("'content' is not a string")
    raw_calls = parsed.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise AgentReplyError("'tool_calls' is not a list")
    calls: list[Call] = []
    for i, raw in enumerate(raw_calls):
        if not isinstance(raw, dict):
            raise AgentReplyError(f"tool call {i} is not an object")
        name, arguments = raw.get("name"), raw.get("arguments", {})
        if not isinstance(name, str) or not name:
            raise AgentReplyError(f"tool call {i} has no string 'name'")
        if not isinstance(arguments, dict):
            raise AgentReplyError(f"tool call {i} ({name}) has arguments that are not an object")
        calls.append(Call(name, arguments))
    return AgentReply(content, tuple(calls))
