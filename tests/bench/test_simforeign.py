"""The simulated endpoint answers distilabel 1.5.3's APIGen prompts (the text below is what
its ``APIGenGenerator`` and ``APIGenSemanticChecker`` render), over real HTTP."""

from __future__ import annotations

import json
import random

import httpx
import pytest

from streamer.llm import SimulatorConfig, run_simulator
from streamer.llm._simdata import SIMULATED_JUDGE
from streamer.llm._simforeign import answer_distilabel

TOOL = {
    "type": "function",
    "function": {
        "name": "circle_area",
        "description": "Area of a circle.",
        "parameters": {
            "type": "object",
            "properties": {"radius": {"type": "number", "minimum": 0}},
            "required": ["radius"],
        },
    },
}
GENERATOR_PROMPT = (
    "Here are examples of queries and the corresponding answers for similar functions:\n"
    "QUERY:\nWhat is 1+1?\nANSWER:\n[]\n\n"
    "Note that the query could be interpreted as a combination of several independent requests."
    "\n\nBased on these examples, generate 2 diverse query and answer pairs for the function "
    "`circle_area`.\nThe detailed function description is the following:\nArea of a circle.\n\n"
    "This is the available tool to guide you (respect the order of the parameters):\n"
    f"{json.dumps([TOOL])}\n\nThe output MUST strictly adhere to the following JSON format, "
    'and NO other text MUST be included:\n```\n[\n   {\n       "query": "The generated query."'
    "\n   }\n]\n```\n\nNow please generate 2 diverse query and answer pairs following the above "
    "format."
)


def _judge_prompt(query: str, calls: str) -> str:
    return (
        "Given Information:\n- All Available Functions:\nArea of a circle.\n"
        f"- User Query: {query}\n- Generated Function Calls: {calls}\n"
        "- Execution Results: ['12.566370614359172']\n\nNote: ..."
    )


def test_generator_prompt_gets_the_pairs_it_asks_for() -> None:
    answer = answer_distilabel(GENERATOR_PROMPT, random.Random(1))
    assert answer is not None
    kind, content = answer
    pairs = json.loads(content)
    assert kind == "generation" and len(pairs) == 2
    for pair in pairs:
        assert [c["name"] for c in pair["answers"]] == ["circle_area"]
        assert isinstance(pair["answers"][0]["arguments"]["radius"], int | float)


@pytest.mark.parametrize(
    ("query", "calls", "passes"),
    [
        ("Area of a circle with radius 2?", '[{"name": "circle_area", "arguments": {"radius": 2}}]',
         "yes"),
        ("Area of a circle with radius 3?", '[{"name": "circle_area", "arguments": {"radius": 2}}]',
         "no"),
        ("Area of a circle?", "not json", "no"),
        ("Area of a circle?", "[null]", "no"),
    ],
)  # fmt: skip
def test_semantic_prompt_passes_iff_every_call_is_grounded(
    query: str, calls: str, passes: str
) -> None:
    answer = answer_distilabel(_judge_prompt(query, calls), random.Random(1))
    assert answer is not None
    kind, content = answer
    assert kind == "judge" and json.loads(content)["passes"] == passes
    assert json.loads(content)["thought"].startswith(SIMULATED_JUDGE)


def test_other_prompts_are_not_recognized() -> None:
    assert answer_distilabel("Tell me a joke.", random.Random(1)) is None


@pytest.mark.anyio
async def test_simulator_serves_distilabel_prompts_over_http() -> None:
    async with run_simulator(SimulatorConfig()) as sim, httpx.AsyncClient() as client:
        for prompt in (GENERATOR_PROMPT, _judge_prompt("radius 2", "[]")):
            r = await client.post(
                f"{sim.base_url}/chat/completions",
                json={"model": "simulated-x", "messages": [{"role": "user", "content": prompt}]},
            )
            assert r.status_code == 200, r.text
            json.loads(r.json()["choices"][0]["message"]["content"])
        stats = (await client.get(f"{sim.base_url.removesuffix('/v1')}/stats")).json()
    assert stats["generation_requests"] == 1 and stats["judge_requests"] == 1
