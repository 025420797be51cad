"""The generator templates a task samples among (the APIGen paper varies its prompt
templates to diversify queries), by id.

Each template is a :class:`PromptTemplate` with an id and a version, rendered by
:func:`~streamer.prompts.render_generation` with the placeholders ``pairs``, ``style``,
``style_guide`` (the style's own explanation, so every template serves every style),
``examples`` and ``tools``. They differ in how they ask for the queries: the plain rules,
a user persona per query, or a concrete situation per query. Every one carries the
machine-readable blocks ``<examples>``, ``<tools>``, ``<style>`` and ``<pairs>`` that the
simulated endpoint and other tools read back, and asks for the same JSON answer.

The sampler draws one per task with its own seeded stream and records it in the task
(``Sample.template_id``, ``Sample.template_version``); the generator renders the one named.
"""

from __future__ import annotations

from collections.abc import Mapping

from topics import QueryStyle

from ._generator import ANSWER_BLOCKS, CALL_RULES, GENERATOR
from ._template import PromptTemplate

__all__ = [
    "GENERATOR_PERSONA",
    "GENERATOR_SCENARIO",
    "GENERATOR_TEMPLATES",
    "STYLE_TEMPLATES",
    "generator_template",
]

GENERATOR_PERSONA = PromptTemplate(
    id="generator-persona",
    version="1",
    system=GENERATOR.system,
    user=f"""\
Write {{pairs}} query/answer pair(s) for the tools below, in the style "{{style}}".

Style: {{style_guide}}

First picture who is asking: for each query a different person (a student, a nurse, a \
shop owner, a developer, a retiree, ...) with their own reason to ask. Then write the query \
in their words and tone, without naming the person's role unless they would.

Rules:
- The query states every argument value the calls use (names, numbers, dates), so the \
calls follow from the query alone.
{CALL_RULES}
- No two queries share their wording, values or length; none copies an example.

{ANSWER_BLOCKS}""",
)
"""Queries written in the voice of a different user each."""

GENERATOR_SCENARIO = PromptTemplate(
    id="generator-scenario",
    version="1",
    system=GENERATOR.system,
    user=f"""\
Write {{pairs}} query/answer pair(s) for the tools below, in the style "{{style}}".

Style: {{style_guide}}

For each pair, think of a concrete situation in which someone needs these tools (planning \
a trip, checking a bill, preparing a report, ...). The query describes that situation \
briefly and asks for what is needed; it may be one sentence or a few.

Rules:
- Every argument value the calls use (names, numbers, dates) appears in the query as the \
person would write it, so the calls follow from the query alone.
{CALL_RULES}
- Use a different situation and different values for every query.

{ANSWER_BLOCKS}""",
)
"""Queries set in a concrete situation each."""

GENERATOR_TEMPLATES: Mapping[str, PromptTemplate] = {
    t.id: t for t in (GENERATOR, GENERATOR_PERSONA, GENERATOR_SCENARIO)
}
"""The full generator templates by id."""

STYLE_TEMPLATES: Mapping[QueryStyle, tuple[str, ...]] = {
    style: tuple(GENERATOR_TEMPLATES) for style in QueryStyle
}
"""The template ids each style samples among by default (all of them: each template
explains the style it is rendered for)."""


def generator_template(template_id: str) -> PromptTemplate | None:
    """The full generator template called ``template_id``, or None."""
    return GENERATOR_TEMPLATES.get(template_id)
