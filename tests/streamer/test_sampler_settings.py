"""The sampler's task shape from ``[sampler]`` and ``apigen run`` options: read, validated by
key, versioned, and followed by the tasks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streamer.cli import app
from streamer.pipeline._build import load_library, make_sampler
from streamer.pipeline._config import PipelineConfig, load_config
from streamer.pipeline._model_config import ConfigError, ModelConfig
from streamer.pipeline._sampler_config import (
    parse_style_range,
    parse_style_template,
    parse_style_weight,
)
from topics import QueryStyle

SIMULATED = (ModelConfig(kind="simulated"),)


def _load(tmp_path: Path, sampler: str) -> PipelineConfig:
    path = tmp_path / "apigen.toml"
    path.write_text(f"[sampler]\n{sampler}\n[[generators]]\nkind = 'simulated'\n")
    return load_config(path)


def test_sampler_table_sets_the_task_shape(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "style_mix = {simple = 3, parallel = 1}\n"
        "apis_per_task = {simple = [2, 3], parallel = [3, 3]}\n"
        "examples_per_task = [0, 0]\n"
        "pool_capacity = 7\n"
        "templates = {simple = 'generator-persona',"
        " parallel = ['generator', 'generator-scenario']}\n",
    )
    sampler = make_sampler(config, load_library(config))
    assert sampler.pool.capacity == 7
    samples = [sampler.next_sample() for _ in range(200)]
    styles = Counter(s.style for s in samples)
    assert set(styles) == {QueryStyle.SIMPLE, QueryStyle.PARALLEL}
    assert abs(styles[QueryStyle.SIMPLE] - 150) <= 2
    for s in samples:
        assert len(s.tools) == (3 if s.style is QueryStyle.PARALLEL else len(s.tools))
        assert s.style is QueryStyle.PARALLEL or 2 <= len(s.tools) <= 3
        assert s.examples == ()
    simple = {s.template_id for s in samples if s.style is QueryStyle.SIMPLE}
    parallel = {s.template_id for s in samples if s.style is QueryStyle.PARALLEL}
    assert simple == {"generator-persona"}
    assert parallel == {"generator", "generator-scenario"}


@pytest.mark.parametrize(
    ("sampler", "named"),
    [
        ("style_mix = {chatty = 1}", "sampler.style_mix: 'chatty' is not a query style"),
        ("style_mix = {simple = -1}", "sampler.style_mix.simple: -1.0: a weight is a number >= 0"),
        ("style_mix = {simple = 0}", "sampler.style_mix: needs at least one style"),
        ("style_mix = {simple = 'x'}", "sampler.style_mix.simple: expected float"),
        ("style_mix = 3", "sampler.style_mix: expected a table by style"),
        ("apis_per_task = {simple = [3, 1]}", "sampler.apis_per_task.simple: [3, 1]"),
        ("apis_per_task = {simple = [0, 1]}", "sampler.apis_per_task.simple: [0, 1]"),
        ("apis_per_task = {simple = 2}", "sampler.apis_per_task.simple: expected [min, max]"),
        ("apis_per_task = {multiple = [1, 3]}", "multiple offers at least 2 APIs"),
        ("apis_per_task = {simple = [1, 99]}", "use 1 <= min <= max <= 32"),
        ("examples_per_task = [2, 1]", "sampler.examples_per_task: [2, 1]"),
        ("examples_per_task = [0, 1.5]", "sampler.examples_per_task: expected int"),
        ("pool_capacity = 0", "sampler.pool_capacity: 0: keep at least 1"),
        ("templates = {simple = 'nope'}", "sampler.templates.simple: 'nope' is not a template"),
        ("templates = {simple = []}", "sampler.templates.simple: expected template ids"),
        ("style = 1", "sampler: unknown field(s) ['style']"),
    ],
)
def test_bad_sampler_settings_name_the_key(tmp_path: Path, sampler: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, sampler)
    assert named in str(caught.value)
    assert str(tmp_path / "apigen.toml") in str(caught.value)
    assert caught.value.reason == "invalid_config"


def test_unset_settings_keep_the_version_and_set_ones_change_it(tmp_path: Path) -> None:
    def version(sampler: str) -> str:
        config = _load(tmp_path, sampler)
        return make_sampler(config, load_library(config)).version

    base = version("")
    assert version("seed = 0") == base
    assert version("examples_per_task = [0, 3]") == base  # the default, spelt out
    changed = [
        version("style_mix = {simple = 1}"),
        version("apis_per_task = {multiple = [2, 5]}"),
        version("examples_per_task = [1, 3]"),
        version("pool_capacity = 50"),
        version("templates = {simple = 'generator'}"),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_the_option_parsers_name_the_option() -> None:
    assert parse_style_weight("parallel=2.5") == (QueryStyle.PARALLEL, 2.5)
    assert parse_style_range("multiple=2-5") == (QueryStyle.MULTIPLE, (2, 5))
    assert parse_style_range("simple=1") == (QueryStyle.SIMPLE, (1, 1))
    assert parse_style_template("simple=generator-persona") == (
        QueryStyle.SIMPLE,
        "generator-persona",
    )
    for parse, item, message in [
        (parse_style_weight, "simple", "--style: 'simple': expected STYLE=WEIGHT"),
        (parse_style_weight, "simple=x", "'x' is not a number"),
        (parse_style_weight, "odd=1", "'odd' is not a query style"),
        (parse_style_range, "multiple=1-2", "multiple offers at least 2 APIs"),
        (parse_style_range, "simple=a-b", "expected MIN-MAX"),
        (parse_style_template, "simple=nope", "'nope' is not a template"),
    ]:
        with pytest.raises(ConfigError, match=r"^--"):
            parse(item)
        with pytest.raises(ConfigError) as caught:
            parse(item)
        assert message in str(caught.value)


def test_apigen_run_takes_the_sampler_options(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run", "--simulate", "--samples", "12", "--out", str(out), "--no-feedback",
            "--style", "parallel=1", "--apis-per-task", "parallel=2-2",
            "--examples-per-task", "0-0", "--template", "parallel=generator-scenario",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    from streamer.dataset._store import DatasetStore

    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        records = list(store.records())
    finally:
        store.close()
    assert records and {r.style for r in records} == {"parallel"}
    assert all(len(r.tools) == 2 for r in records)


def test_a_bad_option_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "--simulate", "--samples", "1", "--out", str(tmp_path), "--style", "x=1"]
    )
    assert result.exit_code == 2
    assert "'x' is not a query style" in result.output
