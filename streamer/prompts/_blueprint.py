"""The blueprint writer's prompt (multi-turn pipeline, issue 18) and the schema of its answer.

The task travels in a ``<blueprint_task>`` block, one JSON object::

    {"domain", "env_seed", "user_id", "user_record", "tools": [{name, description,
     parameters}], "policy", "attempt", "feedback": [str], "previous": blueprint | null}

``user_record`` is the user's data as the tools show it (parsed when it is JSON text);
``previous`` is the rejected draft a refinement round answers (:func:`blueprint_payload`).
The answer is ``{"intent": str, "actions": [{"name", "arguments"}], "outputs": [str],
"ordered": bool}``.

Usage::

    messages = render_blueprint_task(task)
    schema = blueprint_schema(task.tools)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from topics import Blueprint, BlueprintTask, Tool

from ._generator import _call_schema
from ._template import ChatMessage, PromptTemplate, json_block

__all__ = [
    "BLUEPRINT_TASK_TAG",
    "BLUEPRINT_WRITER",
    "blueprint_payload",
    "blueprint_schema",
    "blueprint_task_payload",
    "render_blueprint_task",
]

BLUEPRINT_TASK_TAG = "blueprint_task"
"""The tag of the block that carries the task (the simulated writer answers on it)."""

BLUEPRINT_WRITER = PromptTemplate(
    id="blueprint-writer",
    version="1",
    system="""\
You write task blueprints for training customer-service agents that use tools. \
A blueprint has four parts:
- intent: the user's goal, written as instructions to the person who will play the user, \
in the second person ("You are ... You want ..."). It must carry every fact the agent \
needs: who the user is (name, email or zip code, user id where the policy asks for it), \
the order or reservation ids, the items and options, dates, reasons and which payment \
method to use. The agent knows nothing but what the user tells it; the user reveals these \
facts one at a time, as the agent asks.
- actions: the ground-truth tool calls that fulfil the intent, in order, using only the \
offered tools, with arguments that fit their schemas and the user's real data. Include the \
lookups the agent needs (such as authenticating the user) and every change. Every change \
must be allowed by the policy and must actually change the data.
- outputs: the facts the agent must tell the user (such as a refund amount or a new \
reservation id), as short strings; empty when there is nothing to report.
- ordered: false when the changes may happen in any order, else true.
You only answer with JSON.""",
    user="""\
Write one blueprint for the task below: the domain, its environment seed, the user \
(user_id, and user_record: the user's data as the tools show it), the tools offered (name, \
description, JSON Schema parameters) and the domain's policy.{refinement}

<blueprint_task>
{task}
</blueprint_task>

Answer with JSON only: {{"intent": "<the user's goal and facts>", "actions": \
[{{"name": "<tool>", "arguments": {{...}}}}], "outputs": ["<fact>"], "ordered": true|false}}.""",
)
"""The writer template. Placeholders: refinement (empty on a first draft), task."""

_REFINEMENT = (
    "\nThis is attempt {attempt}: the earlier draft in `previous` was rejected for the "
    "reasons in `feedback`. Write a corrected blueprint that answers every objection."
)


def blueprint_payload(blueprint: Blueprint) -> dict[str, Any]:
    """A blueprint as the prompts show it: intent, actions, outputs, ordered."""
    return {
        "intent": blueprint.intent,
        "actions": [{"name": c.name, "arguments": c.arguments} for c in blueprint.actions],
        "outputs": list(blueprint.outputs),
        "ordered": blueprint.ordered,
    }


def _record(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text  # shown as the text it is


def blueprint_task_payload(task: BlueprintTask) -> dict[str, Any]:
    """The ``<blueprint_task>`` block's JSON object for ``task``."""
    return {
        "domain": task.domain,
        "env_seed": task.env_seed,
        "user_id": task.user_id,
        "user_record": _record(task.user_record),
        "tools": [
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in task.tools
        ],
        "policy": task.policy,
        "attempt": task.attempt,
        "feedback": list(task.feedback),
        "previous": None if task.previous is None else blueprint_payload(task.previous),
    }


def render_blueprint_task(
    task: BlueprintTask, *, template: PromptTemplate = BLUEPRINT_WRITER
) -> list[ChatMessage]:
    """The chat messages asking for one blueprint for ``task``; a refinement round
    (``attempt`` > 0) also points at the feedback and the previous draft."""
    refinement = _REFINEMENT.format(attempt=task.attempt) if task.attempt > 0 else ""
    # json_block escapes "<", so no user record, feedback or draft can close the block.
    return template.render(refinement=refinement, task=json_block(blueprint_task_payload(task)))


def blueprint_schema(tools: Sequence[Tool]) -> dict[str, Any]:
    """JSON Schema of the writer's answer, for structured output: ``actions`` items are
    one ``anyOf`` branch per offered tool (its name a const, its parameter schema). The
    writer stage checks the structure itself; the validator checks tools and arguments."""
    action: dict[str, Any] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "arguments": {"type": "object"}},
        "required": ["name", "arguments"],
    }
    branches = [_call_schema(t) for t in tools]
    if branches:
        action = branches[0] if len(branches) == 1 else {"anyOf": branches}
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "minLength": 1},
            "actions": {"type": "array", "minItems": 1, "items": action},
            "outputs": {"type": "array", "items": {"type": "string"}},
            "ordered": {"type": "boolean"},
        },
        "required": ["intent", "actions", "outputs", "ordered"],
        "additionalProperties": False,
    }
