"""Prompt variants: a template with the functions rendering it and giving its answer schema.

The stages take a variant, so a run can pair a small local model with the compact prompts
while large models keep the full ones. A variant's template versions the stage using it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from topics import Example, QueryStyle, Tool

from ._compact import (
    GENERATOR_COMPACT,
    JUDGE_COMPACT,
    compact_generation_schema,
    compact_judge_schema,
    render_compact_generation,
    render_compact_judge,
)
from ._generator import GENERATOR, generation_schema, render_generation
from ._generator_templates import GENERATOR_TEMPLATES
from ._judge import JUDGE, JudgeItem, judge_schema, render_judge
from ._template import ChatMessage, PromptTemplate

__all__ = [
    "COMPACT_GENERATION",
    "COMPACT_JUDGING",
    "FULL_GENERATION",
    "FULL_GENERATIONS",
    "FULL_JUDGING",
    "GenerationPrompt",
    "JudgePrompt",
]


@dataclass(frozen=True, slots=True)
class GenerationPrompt:
    """How the generator asks: ``render(tools, examples, style, pairs)`` gives the messages,
    ``schema(tools, style, pairs)`` the JSON Schema of the answer."""

    template: PromptTemplate
    render: Callable[[Sequence[Tool], Sequence[Example], QueryStyle, int], list[ChatMessage]]
    schema: Callable[[Sequence[Tool], QueryStyle, int], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class JudgePrompt:
    """How the judge asks: ``render(items)`` gives the messages, ``schema(n)`` the JSON
    Schema of an answer with ``n`` verdicts."""

    template: PromptTemplate
    render: Callable[[Sequence[JudgeItem]], list[ChatMessage]]
    schema: Callable[[int], dict[str, Any]]


def _full(template: PromptTemplate) -> GenerationPrompt:
    def render(
        tools: Sequence[Tool], examples: Sequence[Example], style: QueryStyle, pairs: int
    ) -> list[ChatMessage]:
        return render_generation(tools, examples, style, pairs, template=template)

    return GenerationPrompt(template, render, generation_schema)


FULL_GENERATION = GenerationPrompt(GENERATOR, render_generation, generation_schema)
"""The full generator prompt: style guide, rules, seed examples (for capable models)."""

FULL_GENERATIONS: dict[str, GenerationPrompt] = {
    template_id: FULL_GENERATION if template is GENERATOR else _full(template)
    for template_id, template in GENERATOR_TEMPLATES.items()
}
"""Every full generator template as a variant, by template id (what a task's
``template_id`` names)."""

COMPACT_GENERATION = GenerationPrompt(
    GENERATOR_COMPACT, render_compact_generation, compact_generation_schema
)
"""The compact generator prompt for small local models (see ``_compact``)."""

FULL_JUDGING = JudgePrompt(JUDGE, render_judge, judge_schema)
"""The full judge prompt."""

COMPACT_JUDGING = JudgePrompt(JUDGE_COMPACT, render_compact_judge, compact_judge_schema)
"""The compact judge prompt for small local models."""
