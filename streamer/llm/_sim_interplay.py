"""Simulated interplay roles of the multi-turn pipeline (see :mod:`._simroles`): the user
(``<user_intent>``) and the agent (``<agent_policy>``) of :mod:`streamer.prompts._interplay`.

**A test double's protocol, not something real models do.** The simulated agent must not
see the blueprint: it reads only the chat it is sent (the policy and tool schemas, the
user's messages, its tool results). So the simulated user states each fact in a form the
simulated agent can parse, a trailing hint on its turn:

- ``[conversation: <blueprint id>]`` — on the first turn only: names the conversation;
- ``[request: {"tool": <name>, "arguments": {...}}]`` — the next ground-truth action, one
  per user turn, in the blueprint's order (the user reads them from its block), last on
  its turn;
- ``[confirm]`` — "yes" to the change the agent proposed;

and the agent marks a proposed change with ``[confirm?]``. The conversation, for a
blueprint of ``n`` actions of which ``w`` write: the user greets and asks (hint 1); the
agent runs a read at once and reports its result, or proposes a write and waits; the user
confirms a write, then gives the next hint; when every action is done and reported the
user says ``###STOP###``. That is ``n + w + 1`` user turns, at least 3 for a blueprint with
a write (a blueprint needing more than the stage's ``max_turns`` is a real ``turn_limit``).
The agent reports results as ``key: value`` pairs of every value they hold, amounts in
cents also in dollars (``$31.50``), and for each list of payments the totals paid and
refunded, so the outputs the simulated writer computes (refunds, fees, a new reservation
id) are stated. Everything is deterministic in the request.

Faults, rates per conversation (the user's first message names the conversation, and both
roles draw the same number from it, so they agree without sharing state); at most one fault
per conversation, by this precedence (rates that sum past 1 cut the later kinds):

=======================  ==============================================================
``user_never_stops``     the user never says ``###STOP###`` (counted on the turn it would
                         have): ``interplay`` / ``turn_limit``
``agent_skip_action``    at the first confirmed write the agent says it is done but
                         calls nothing: ``trajectory-checker`` / ``action_mismatch``
``agent_wrong_argument`` at the first confirmed write the agent changes one argument
                         (another enum value, an integer +-1, a string with a suffix; the
                         call may still succeed): ``trajectory-checker`` /
                         ``action_mismatch`` — not ``state_mismatch``: the checker compares
                         writes before states, so a changed write is always an action
                         mismatch first, whether or not the state differs
=======================  ==============================================================

Counting: a fault is counted when the reply that carries it is made (the user's first
turn past the end, the agent's answer to the first confirmation), once per conversation
and simulator: the role remembers the (kind, first message) pairs it counted, so a retried
request (a truncated reply) or a redelivered blueprint replayed to the same point counts
nothing more, as the review role does. The first message holds the blueprint id, so two
blueprints with the same text are still two conversations. So the counts equal the rejects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..prompts import extract_block
from ..prompts._interplay import TOOL_RESULTS_TAG, USER_STOP
from ._sim_review import _Counted
from ._simrole import RoleRequest, SimRole

__all__ = [
    "FAULTS",
    "FAULT_PRECEDENCE",
    "ROLES",
    "answer_agent",
    "answer_user",
    "conversation_fault",
]

REQUEST = "[request: "
CONFIRM = "[confirm]"
CONFIRM_ASK = "[confirm?]"
_MORE = "Hmm, before we finish: could you go over that once more?"

FAULTS: dict[str, tuple[str, str]] = {
    "user_never_stops": ("interplay", "turn_limit"),
    "agent_skip_action": ("trajectory-checker", "action_mismatch"),
    "agent_wrong_argument": ("trajectory-checker", "action_mismatch"),
}
"""Every fault kind of the interplay roles and the ``(stage, reason)`` reject it causes."""

FAULT_PRECEDENCE = tuple(FAULTS)
"""The fault kinds in the order they are drawn (one per conversation at most)."""


_COUNTED = _Counted()


def _count(request: RoleRequest, kind: str, first_message: str) -> None:
    digest = hashlib.blake2b(f"{kind}:{first_message}".encode(), digest_size=16).digest()
    if _COUNTED.first_time(request.injected, digest):
        request.injected[kind] += 1


def conversation_fault(first_message: str, rates: Mapping[str, float]) -> str | None:
    """The fault of the conversation whose first user message is ``first_message``."""
    digest = hashlib.blake2b(f"interplay:{first_message}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    for kind in FAULT_PRECEDENCE:
        rate = rates.get(kind, 0.0)
        if u < rate:
            return kind
        u -= rate
    return None


def _hint(request: Mapping[str, Any]) -> str:
    call = {"tool": request["tool"], "arguments": request["arguments"]}
    return f"{REQUEST}{orjson.dumps(call).decode()}]"


def _read_hint(text: str) -> dict[str, Any] | None:
    start = text.rfind(REQUEST)
    if start < 0:
        return None
    body = text[start + len(REQUEST) :].rstrip()
    if body.endswith("]"):
        body = body[:-1]
    value = orjson.loads(body)
    if not isinstance(value, dict) or not isinstance(value.get("arguments"), dict):
        raise ValueError("a request hint is {tool, arguments}")
    return value


# --- the user ------------------------------------------------------------------------------

_GREETINGS = ("Hi!", "Hello there.", "Good day!")


def answer_user(request: RoleRequest) -> str:
    """The simulated user's next message (see the module docstring)."""
    block = orjson.loads(request.block)
    intent = str(block["intent"])
    requests: Sequence[Mapping[str, Any]] = block["requests"]
    conversation: Sequence[Mapping[str, str]] = block["conversation"]
    said = [str(c["content"]) for c in conversation if c["role"] == "user"]
    if not said:
        greeting, cid = request.rng.choice(_GREETINGS), block["conversation_id"]
        first = f"{greeting} {intent} [conversation: {cid}]"
        return f"{first} {_hint(requests[0])}" if requests else first
    last = conversation[-1]
    if last["role"] == "agent" and CONFIRM_ASK in str(last["content"]):
        return f"Yes, please go ahead. {CONFIRM}"
    revealed = sum(REQUEST in t for t in said)
    if revealed < len(requests):
        return f"Thanks. Here is what I need next. {_hint(requests[revealed])}"
    if conversation_fault(said[0], request.corruption) == "user_never_stops":
        _count(request, "user_never_stops", said[0])
        return _MORE
    return f"Thank you, that is everything I needed. {USER_STOP}"


# --- the agent -----------------------------------------------------------------------------


def _reply(content: str, calls: Sequence[Mapping[str, Any]] = ()) -> str:
    return orjson.dumps({"content": content, "tool_calls": list(calls)}).decode()


def _dollars(cents: int) -> str:
    return f"${abs(cents) / 100:.2f}"


def _leaves(value: Any, path: str = "") -> list[str]:
    """``key: value`` for every scalar in ``value``; cents also in dollars; totals of a list
    of payments."""
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in _leaves(v, f"{path}{k} ")]
    if isinstance(value, list):
        lines = [line for v in value for line in _leaves(v, path)]
        cents: list[int] = [
            v["amount_cents"]
            for v in value
            if isinstance(v, dict) and type(v.get("amount_cents")) is int
        ]
        if cents and len(cents) == len(value):
            paid = sum(a for a in cents if a > 0)
            refunded = -sum(a for a in cents if a < 0)
            lines.append(
                f"paid in total: {_dollars(paid)}, refunded in total: {_dollars(refunded)}"
            )
        return lines
    key = path.strip() or "value"
    if key.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
        return [f"{key}: {value} ({_dollars(value)})"]
    return [f"{key}: {value}"]


def _report(block: str) -> str:
    lines = []
    for item in orjson.loads(block):
        if item.get("ok"):
            lines.append(f"{item['name']} done. " + "; ".join(_leaves(item.get("result"))))
        else:
            lines.append(f"{item['name']} failed ({item.get('reason')}): {item.get('message')}")
    return "Here is what I found. " + " ".join(lines) + " Anything else?"


def _mutated(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """``arguments`` with one value changed to another of its type, preferring an enum,
    then an integer, then a string not named like an id, then any string; None if none."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    args = dict(arguments)

    def prefer(name: str) -> int:
        prop, value = properties.get(name, {}), args[name]
        if len(prop.get("enum", ())) > 1:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return 1
        if isinstance(value, str):
            return 3 if name.endswith(("id", "ids")) else 2
        return 4

    for name in sorted(args, key=lambda n: (prefer(n), n)):
        prop, value = properties.get(name, {}), args[name]
        choice: Any = None
        if len(prop.get("enum", ())) > 1:
            choice = next(v for v in prop["enum"] if v != value)
        elif isinstance(value, int) and not isinstance(value, bool):
            choice = value + 1 if value + 1 <= prop.get("maximum", value + 1) else value - 1
        elif isinstance(value, str):
            choice = f"{value[:-1]}{'0' if value[-1:] != '0' else '1'}" if value else "x"
        if choice is not None and choice != value:
            return {**args, name: choice}
    return None


def _confirmed(
    target: Mapping[str, Any], tool: Mapping[str, Any], first: str, request: RoleRequest, nth: int
) -> str:
    call = {"name": target["tool"], "arguments": target["arguments"]}
    fault = conversation_fault(first, request.corruption) if nth == 1 else None
    if fault == "agent_skip_action":
        _count(request, fault, first)
        return _reply("Done, that is taken care of. Anything else?")
    if fault == "agent_wrong_argument":
        changed = _mutated(call["arguments"], tool.get("parameters", {}))
        _count(request, fault, first)
        if changed is None:  # nothing to change: leaving the write out is the same mismatch
            return _reply("Done, that is taken care of. Anything else?")
        call = {"name": call["name"], "arguments": changed}
    return _reply("Making the change now.", [call])


def answer_agent(request: RoleRequest) -> str:
    """The simulated agent's reply, from the chat alone (see the module docstring)."""
    tools = {str(t["name"]): t for t in orjson.loads(request.block)["tools"]}
    chat = [m for m in request.messages if m.get("role") in ("user", "assistant")]
    if not chat or chat[-1].get("role") != "user":
        raise ValueError("the agent answers a user message or tool results")
    text = str(chat[-1].get("content") or "")
    results = extract_block(text, TOOL_RESULTS_TAG)
    if results is not None:
        return _reply(_report(results))
    said = [
        str(m.get("content") or "")
        for m in chat
        if m.get("role") == "user"
        and extract_block(str(m.get("content")), TOOL_RESULTS_TAG) is None
    ]
    hints = [h for h in map(_read_hint, said) if h is not None]
    if CONFIRM in text and hints:
        target = hints[-1]
        tool = tools.get(str(target["tool"]), {})
        return _confirmed(target, tool, said[0], request, sum(CONFIRM in t for t in said))
    hint = _read_hint(text)
    if hint is None:
        return _reply("How can I help you today?" if len(said) == 1 else "Anything else?")
    tool = tools.get(str(hint["tool"]))
    call = {"name": hint["tool"], "arguments": hint["arguments"]}
    if tool is not None and tool.get("writes"):
        change = orjson.dumps(call).decode()
        return _reply(f"I am about to make this change: {change}. Shall I proceed? {CONFIRM_ASK}")
    return _reply("Let me look that up.", [call])


ROLES: tuple[SimRole, ...] = (
    SimRole("user_intent", answer_user, {k: FAULTS[k] for k in ("user_never_stops",)}),
    SimRole(
        "agent_policy",
        answer_agent,
        {k: FAULTS[k] for k in ("agent_skip_action", "agent_wrong_argument")},
    ),
)
"""The interplay roles the simulated endpoint plays: the user, then the agent."""
