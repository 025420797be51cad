"""Decontamination in the pipeline: a pair repeating a benchmark item reaches neither the
dataset nor the seed pool (whose only source is ``semantic-pass``), and the semantic
stage's version names the reference sets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from streamer.pipeline._build import open_transport
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._decontamination import DecontaminationConfig
from streamer.pipeline._model_config import ConfigError, ModelConfig
from streamer.pipeline._run import run_pipeline
from streamer.pipeline._versions import semantic_stage
from tests.streamer.test_replay import end_offsets

pytestmark = pytest.mark.anyio


def _config(out: Path, references: tuple[Path, ...] = ()) -> PipelineConfig:
    return PipelineConfig(
        out=out,
        samples=12,
        partitions=1,
        seed=5,
        feedback=False,
        generators=(ModelConfig(kind="simulated"),),
        judges=(ModelConfig(kind="simulated", seed=1),),
        decontaminate=DecontaminationConfig(references=references),
    )


async def test_a_run_repeating_benchmark_items_keeps_none_of_them(tmp_path: Path) -> None:
    clean = await run_pipeline(_config(tmp_path / "clean"))
    assert clean.records > 0
    benchmark = tmp_path / "clean" / "xlam.jsonl"  # what the same run writes is the benchmark

    config = _config(tmp_path / "again", (benchmark,))
    again = await run_pipeline(config)
    contaminated = again.progress.rejected[("semantic", "contaminated")]
    assert again.records == 0
    assert contaminated >= clean.progress.verified
    transport = open_transport(config)
    try:
        ends = await end_offsets(transport)
    finally:
        await transport.aclose()
    assert ends["semantic-pass"] == 0  # nothing for the sink, nothing for the seed pool
    card = (tmp_path / "again" / "README.md").read_text()
    assert "contaminated" in card
    assert "## Decontamination: removed per reference set" in card
    assert f"| `{benchmark}` | {contaminated} |" in card


async def test_other_queries_pass_and_the_version_names_the_reference(tmp_path: Path) -> None:
    unrelated = tmp_path / "queries.txt"
    unrelated.write_text("What is the capital of Mongolia?\nTranslate 'cat' into Welsh.\n")
    base = _config(tmp_path / "base")
    checked = replace(base, decontaminate=DecontaminationConfig(references=(unrelated,)))
    plain = await run_pipeline(base)
    kept = await run_pipeline(replace(checked, out=tmp_path / "checked"))
    assert kept.records == plain.records > 0
    assert ("semantic", "contaminated") not in kept.progress.rejected
    assert semantic_stage(base, []).version != semantic_stage(checked, []).version


def test_the_decontaminate_table_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "apigen.toml"
    path.write_text('[decontaminate]\nreferences = ["bench.jsonl"]\nnear_threshold = 0.9\n')
    config = load_config(path).decontaminate
    assert config.references == (tmp_path / "bench.jsonl",) and config.near_threshold == 0.9
    path.write_text("[decontaminate]\nnear_threshold = 1.5\n")
    with pytest.raises(ConfigError, match="near_threshold"):
        load_config(path)
    path.write_text('[decontaminate]\nrefs = ["x"]\n')
    with pytest.raises(ConfigError, match="unknown field"):
        load_config(path)


def test_a_reference_set_that_is_missing_names_itself(tmp_path: Path) -> None:
    config = _config(tmp_path / "out", (tmp_path / "missing.jsonl",))
    with pytest.raises(ConfigError, match=r"missing\.jsonl"):
        semantic_stage(config, [])
