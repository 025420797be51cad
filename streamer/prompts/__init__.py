"""The project's prompts and the JSON Schemas of their answers, versioned like code.

Each :class:`PromptTemplate` has an ``id``, a ``version`` and a ``content_hash``; stages put
:attr:`PromptTemplate.stage_version` into their own version so a prompt change re-keys
their output.
"""

from __future__ import annotations

from ._generator import GENERATOR, STYLE_GUIDE, generation_schema, openai_tool, render_generation
from ._judge import JUDGE, JudgeItem, judge_schema, render_judge
from ._template import ChatMessage, PromptTemplate, extract_block, json_block

__all__ = [
    "GENERATOR",
    "JUDGE",
    "STYLE_GUIDE",
    "ChatMessage",
    "JudgeItem",
    "PromptTemplate",
    "extract_block",
    "generation_schema",
    "json_block",
    "judge_schema",
    "openai_tool",
    "render_generation",
    "render_judge",
]
