"""Malformed configuration and API specs give errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from executors import ApiLibrary, ApiSpec, SpecError
from streamer.pipeline._config import load_config
from streamer.pipeline._model_config import ConfigError

CONFIGS = {
    "log = 5": "log",
    "[log]\nkafak = 'localhost:9092'": "log",
    "[log]\nnamespace = 'a/b'": "log.namespace",
    "[log]\nretention_hours = -1": "log.retention_hours",
    "[sampler]\nseed = 'seven'": "sampler.seed",
    "[sampler]\nfeedback = 1": "sampler.feedback",
    "[sampler]\nsead = 1": "sampler",
    "[runner]\nconcurrency = true": "runner.concurrency",
    "[runner]\nprocesses = 5": "runner.processes",
    "[executors]\nexec_timeout_s = 'fast'": "executors.exec_timeout_s",
    "generators = 3": "generators",
    "[[generators]]\nkind = 'gpt'": "generators[0].kind",
    "[[generators]]\nkind = 'openai'": "generators[0].base_url",
    "[[generators]]\nkind = 'simulated'\nweight = 'heavy'": "generators[0].weight",
    "[[judges]]\nkind = 'simulated'\nbogus = 1": "judges[0]",
    "[apis]\nsources = 'one.json'": "apis.sources",
    "partitions = 'four'": "partitions",
    "[metrics]\nport = 99999": "metrics.port",
    "samples = = 3": "not valid TOML",
    "[nope]\nx = 1": "nope",
}


@pytest.mark.parametrize("text", sorted(CONFIGS))
def test_a_malformed_config_names_the_file_and_field(tmp_path: Path, text: str) -> None:
    path = tmp_path / "apigen.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and CONFIGS[text] in message, message


SPECS: dict[str, tuple[object, str]] = {
    "not an object": ([1, 2], ""),
    "no name": ({"description": "d", "parameters": {"type": "object"}}, "name"),
    "no description": ({"name": "f", "parameters": {"type": "object"}}, "description"),
    "parameters not a schema": (
        {"name": "f", "description": "d", "parameters": {"type": "string"}},
        "parameters",
    ),
    "bad binding": (
        {
            "name": "f",
            "description": "d",
            "parameters": {"type": "object"},
            "binding": {"kind": "shell"},
        },
        "binding",
    ),
}


@pytest.mark.parametrize("case", sorted(SPECS))
def test_a_malformed_spec_names_the_document_and_field(case: str) -> None:
    data, field = SPECS[case]
    with pytest.raises(SpecError) as info:
        ApiSpec.from_dict(data, where="tools.json#3")
    assert info.value.document.startswith("tools.json#3") and field in info.value.field, info.value
    assert info.value.reason == "invalid_spec"


def test_a_malformed_catalogue_file_names_the_file_and_item(tmp_path: Path) -> None:
    path = tmp_path / "tools.json"
    good = {"type": "function", "function": {"name": "ok", "description": "d",
                                             "parameters": {"type": "object"}}}  # fmt: skip
    bad = {"type": "function", "function": {"name": "bad", "parameters": {"type": 5}}}
    path.write_bytes(orjson.dumps([good, bad]))
    with pytest.raises(SpecError) as info:
        ApiLibrary.from_sources([path], strict=True)
    assert str(path.name) in info.value.document and info.value.field, info.value
    assert [s.name for s in ApiLibrary.from_sources([path])] == ["ok"]  # lenient: skipped
