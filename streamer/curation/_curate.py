"""LLM docstring regeneration for API curation, and curation with a configured model.

:class:`LlmDocWriter` implements :class:`executors.curation.DocWriter` over any
:class:`~streamer.llm.ChatModel` (an endpoint, the local model, the simulator): the API
travels in an ``<api_doc>`` block (JSON, ``<`` escaped, so catalogue text cannot forge
blocks) with its schema, old text and a real sample response; the answer is JSON matching
:func:`docstring_schema` (titled ``api_docstring``). The model's text is only ever stored
as documentation, and the curation rules check it like any other description.

Usage::

    result = await curate_apis(["tools.jsonl"], model=ModelConfig(kind="simulated"))
    write_outputs(result, Path("curated.jsonl"))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from executors.curation import (
    CurationResult,
    CurationSettings,
    DocRequest,
    WrittenDocs,
    curate,
)

from ..llm import ChatModel
from ..pipeline._build import open_model as _open_model
from ..pipeline._model_config import ModelConfig
from ..prompts import PromptTemplate, json_block

__all__ = ["DOCSTRING", "LlmDocWriter", "curate_apis", "docstring_schema", "write_outputs"]

SAMPLE_CHARS = 600
"""How much of a sample response goes into the prompt (characters of JSON)."""

DOCSTRING = PromptTemplate(
    id="docstring",
    version="1",
    system=(
        "You write documentation for APIs in a function-calling library: clear, specific, "
        "in English. You only answer with JSON."
    ),
    user="""\
Write new documentation for the API below from its name, its parameter schema, its old \
description and, when given, a real response it returned. Say what the API does and what it \
returns in one or two sentences; do not invent features the schema does not show.
Problems with the old documentation:
<problems>
{problems}
</problems>

<api_doc>
{api}
</api_doc>

Answer with JSON only: {{"description": "<what it does and returns>", "parameters": \
{{"<parameter name>": "<one sentence>"}}}} with a description for each of: {parameters}.""",
)
"""The docstring template. Placeholders: problems, api, parameters."""


def docstring_schema(parameters: Sequence[str]) -> dict[str, Any]:
    """The answer's JSON Schema: a description and one text per named parameter."""
    return {
        "title": "api_docstring",
        "type": "object",
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "parameters": {
                "type": "object",
                "properties": {p: {"type": "string", "minLength": 1} for p in parameters},
                "required": list(parameters),
            },
        },
        "required": ["description", "parameters"],
    }


class LlmDocWriter:
    """Writes API descriptions with ``model``; raises ValueError on an unusable answer.

    ``temperature`` is low: documentation should be faithful, not varied.
    """

    def __init__(
        self, model: ChatModel, *, temperature: float = 0.2, max_tokens: int = 400
    ) -> None:
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.calls = 0

    def __repr__(self) -> str:
        return f"<LlmDocWriter model={self.model.name!r} calls={self.calls}>"

    @property
    def name(self) -> str:
        return self.model.name

    async def write_docs(self, request: DocRequest) -> WrittenDocs:
        spec = request.spec
        properties: dict[str, Any] = spec.parameters.get("properties", {})
        api = {
            "name": spec.name,
            "description": spec.description,
            "parameters": properties,
            "required": list(spec.required),
            "sample_response": request.sample_response[:SAMPLE_CHARS],
        }
        wanted = list(properties)
        messages = DOCSTRING.render(
            problems=json_block(list(request.problems)),
            api=json_block(api),
            parameters=", ".join(wanted) or "(none)",
        )
        self.calls += 1
        completion = await self.model.complete_json(
            messages,
            docstring_schema(wanted),
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=0,
        )
        parsed = completion.parsed
        if not isinstance(parsed, dict) or not isinstance(parsed.get("description"), str):
            raise ValueError(f"the answer is not the requested JSON: {completion.text[:200]!r}")
        params = parsed.get("parameters")
        texts = (
            {str(k): v for k, v in params.items() if isinstance(v, str)}
            if isinstance(params, dict)
            else {}
        )
        return WrittenDocs(parsed["description"], texts)


async def curate_apis(
    sources: Sequence[str | Path],
    settings: CurationSettings | None = None,
    *,
    model: ModelConfig | None = None,
    examples: dict[str, dict[str, Any]] | None = None,
    base_url: str | None = None,
) -> CurationResult:
    """:func:`executors.curation.curate` with documentation regenerated by ``model``
    (None: no regeneration; APIs with poor documentation are rejected)."""
    if model is None:
        return await curate(sources, settings, examples=examples, base_url=base_url)
    async with _open_model(model, "curator", 0) as chat:
        return await curate(
            sources,
            settings,
            writer=LlmDocWriter(chat),
            examples=examples,
            base_url=base_url,
        )


def write_outputs(result: CurationResult, out: Path) -> tuple[Path, Path]:
    """Save the library to ``out`` (JSON Lines) and the report beside it as
    ``<stem>.report.json`` and ``<stem>.report.md``; returns the report paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    result.library.save(out)
    json_path = out.with_name(f"{out.stem}.report.json")
    md_path = out.with_name(f"{out.stem}.report.md")
    result.report.write(json_path, md_path)
    return json_path, md_path
