"""The blueprint reviewer prompt: one committee member judges one replayed blueprint.

The blueprint travels in a ``<blueprint_review>`` block, one JSON object::

    {"blueprint_id", "domain", "policy", "user_record",
     "intent", "actions": [{"name", "arguments"}], "outputs", "ordered",
     "results": [<what each action returned on a fresh environment>]}

``results`` align with ``actions``; a long result is cut to a prefix as in the judge prompt
(:func:`~streamer.prompts._judge.result_json`). ``blueprint_id`` is a reference, not
something to judge: it tells apart two blueprints of equal text written for different
tasks. The answer is ``{"approved": bool, "feedback": str}``
(:func:`review_schema`). Every value is JSON in the block with ``<`` escaped
(:func:`~streamer.prompts._template.json_block`), so nothing in a record, a policy or a
result can forge or close a block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from topics import Blueprint, CallResult

from ._judge import result_json
from ._template import ChatMessage, PromptTemplate, json_block

__all__ = ["REVIEW", "REVIEW_TAG", "render_review", "review_payload", "review_schema"]

REVIEW_TAG = "blueprint_review"
"""The tag of the block the blueprint travels in (the simulated reviewer reads it)."""

REVIEW = PromptTemplate(
    id="blueprint-review",
    version="1",
    system=(
        "You review task blueprints for training customer-service agents. A blueprint is "
        "a user's intent, the ground-truth tool calls that fulfil it and the facts the "
        "agent must tell the user. You only answer with JSON."
    ),
    user=f"""\
Review the blueprint below. Approve it only if ALL of these hold:
- the intent is realistic and self-contained: a real user of this domain could have it, \
and it states every fact the agent needs (identifiers, choices, preferences) without \
naming tools;
- the actions fulfil the intent, nothing more and nothing less, with argument values that \
come from the intent or from earlier results, and they follow the domain policy;
- the outputs follow from the results (amounts, statuses, dates as returned).
The results are what each action returned, in order, when run on a fresh copy of the \
database.

<{REVIEW_TAG}>
{{review}}
</{REVIEW_TAG}>

Answer with JSON only: {{{{"approved": true|false, "feedback": "<what is wrong and how to \
fix it, or why it is good, in one to three sentences>"}}}}""",
)
"""The reviewer template. Placeholder: review (the block's JSON)."""


def review_payload(blueprint: Blueprint, results: Sequence[CallResult]) -> dict[str, Any]:
    """The block's JSON value for ``blueprint`` and its aligned replay ``results``."""
    task = blueprint.task
    return {
        "blueprint_id": blueprint.meta.id,
        "domain": task.domain,
        "policy": task.policy,
        "user_record": task.user_record,
        "intent": blueprint.intent,
        "actions": [{"name": c.name, "arguments": c.arguments} for c in blueprint.actions],
        "outputs": list(blueprint.outputs),
        "ordered": blueprint.ordered,
        "results": [result_json(r) for r in results],
    }


def render_review(
    blueprint: Blueprint,
    results: Sequence[CallResult],
    *,
    template: PromptTemplate = REVIEW,
) -> list[ChatMessage]:
    """The chat messages asking one reviewer for a verdict on ``blueprint``."""
    return template.render(review=json_block(review_payload(blueprint, results)))


def review_schema() -> dict[str, Any]:
    """JSON Schema of a reviewer's answer."""
    return {
        "type": "object",
        "properties": {
            "approved": {"type": "boolean"},
            "feedback": {"type": "string"},
        },
        "required": ["approved", "feedback"],
        "additionalProperties": False,
    }
