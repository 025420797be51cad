"""The project's prompts and the JSON Schemas of their answers, versioned like code.

Each :class:`PromptTemplate` has an ``id``, a ``version`` and a ``content_hash``; stages put
:attr:`PromptTemplate.stage_version` into their own version so a prompt change re-keys
their output. The full generator has several templates (:data:`GENERATOR_TEMPLATES`), one
drawn per task; the local model's compact prompts are one each.
"""

from __future__ import annotations

from ._compact import (
    GENERATOR_COMPACT,
    JUDGE_COMPACT,
    compact_generation_schema,
    compact_judge_schema,
    compact_tool,
    render_compact_generation,
    render_compact_judge,
)
from ._custom import JUDGE_PROMPTS, PromptFileError, judge_prompt_from_file, named_judge_prompt
from ._generator import GENERATOR, STYLE_GUIDE, generation_schema, openai_tool, render_generation
from ._generator_templates import (
    GENERATOR_PERSONA,
    GENERATOR_SCENARIO,
    GENERATOR_TEMPLATES,
    STYLE_TEMPLATES,
    generator_template,
)
from ._judge import JUDGE, JudgeItem, judge_schema, render_judge
from ._template import ChatMessage, PromptTemplate, extract_block, json_block
from ._variants import (
    COMPACT_GENERATION,
    COMPACT_JUDGING,
    FULL_GENERATION,
    FULL_GENERATIONS,
    FULL_JUDGING,
    GenerationPrompt,
    JudgePrompt,
)

__all__ = [
    "COMPACT_GENERATION",
    "COMPACT_JUDGING",
    "FULL_GENERATION",
    "FULL_GENERATIONS",
    "FULL_JUDGING",
    "GENERATOR",
    "GENERATOR_COMPACT",
    "GENERATOR_PERSONA",
    "GENERATOR_SCENARIO",
    "GENERATOR_TEMPLATES",
    "JUDGE",
    "JUDGE_COMPACT",
    "JUDGE_PROMPTS",
    "STYLE_GUIDE",
    "STYLE_TEMPLATES",
    "ChatMessage",
    "GenerationPrompt",
    "JudgeItem",
    "JudgePrompt",
    "PromptFileError",
    "PromptTemplate",
    "compact_generation_schema",
    "compact_judge_schema",
    "compact_tool",
    "extract_block",
    "generation_schema",
    "generator_template",
    "json_block",
    "judge_prompt_from_file",
    "judge_schema",
    "named_judge_prompt",
    "openai_tool",
    "render_compact_generation",
    "render_compact_judge",
    "render_generation",
    "render_judge",
]
