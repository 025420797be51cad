"""Each stage's versioned configuration, and the stages built from it, in one place.

A stage's version is its explicit name plus a hash of everything that decides its outputs
(:func:`streamer.runtime._stage.stage_version`). The live pipeline (``apigen run``/``serve``) and
replays (``apigen replay``) both build their checkers here, so one configuration gives one
version string whichever of them runs it, and a replay lineage never mixes with the live one
by accident.

What is versioned, per stage:

- sampler: :class:`~streamer.stages.SamplerConfig` (:func:`sampler_config`): seed, style
  mix, APIs and examples per task, seed pool size, the templates each style draws from
  (their text included), pairs per call and token cap; so also every task id.
- generator: each model's identity (:func:`model_identity`: kind, name, model, seed...; the
  endpoint URL when the model is named) and weight, the prompt template (every full
  template a task may name).
- format: :class:`~streamer.stages.FormatRules`.
- execution: the per-call timeout, the API sources and a digest of every spec's id, version
  and binding (:func:`library_digest`).
- semantic: :class:`~streamer.stages.SemanticRules`, each judge's identity, quorum, batch
  size, tokens per verdict, temperature and the prompt template (id, version, text hash).

Left out on purpose: secrets (an API key's environment variable is never read here, and not
even its name is hashed: it names a credential, not a model), and what changes speed or cost
but not outputs: concurrency, worker counts, rate limits, request timeouts of LLM calls,
prices, the log path, metrics settings, the simulator's latency. Fixed executor limits and
checker code are versioned by the explicit names (``execution-v1``...), bumped with the code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from executors import ApiLibrary, Executor
from topics import GenerationSettings, QueryStyle

from ..llm import ChatModel
from ..llm._local import DEFAULT_LOCAL_MODELS
from ..prompts import (
    COMPACT_GENERATION,
    COMPACT_JUDGING,
    FULL_GENERATION,
    FULL_GENERATIONS,
    FULL_JUDGING,
    GENERATOR_TEMPLATES,
    GenerationPrompt,
    JudgePrompt,
    PromptFileError,
    PromptTemplate,
    judge_prompt_from_file,
    named_judge_prompt,
)
from ..stages import ExecutionChecker, FormatChecker, Generator, SamplerConfig, SemanticChecker
from ..stages._decontaminate import Decontaminating
from ..stages._execution import Resolver
from ..stages._sampler import DEFAULT_API_RANGES, DEFAULT_MIX
from ._config import PipelineConfig
from ._decontamination import contamination_index
from ._local_run import LOCAL_RUN, all_local
from ._model_config import ConfigError, ModelConfig
from ._virtual_config import VirtualApisConfig, simulator_model

__all__ = [
    "VERSION_NAMES",
    "execution_config",
    "execution_stage",
    "format_stage",
    "generation_prompt",
    "generator_config",
    "generator_models",
    "generator_stage",
    "judge_models",
    "judge_prompt",
    "library_digest",
    "model_identity",
    "sampler_config",
    "semantic_config",
    "semantic_stage",
]

VERSION_NAMES = {
    "generator": "generator-v1",
    "format": "format-v2",
    "execution": "execution-v1",
    "semantic": "semantic-v1",
}
"""The live stages' explicit version names (bump one when its code changes behaviour)."""


def model_identity(cfg: ModelConfig) -> dict[str, Any]:
    """What decides a model's answers: kind, name, model, local file, seed, the simulator's
    corruption rates and, for a named model, its endpoint; never a credential.

    A ``name`` labels one deployment, so a different ``base_url`` behind the same name is a
    different judge or generator. Without a name the ``model`` string is the identity and
    the URL only says where it is served: the same model moved to another host or port (an
    ephemeral test endpoint, say) keeps its version."""
    return {
        "kind": cfg.kind,
        "name": cfg.name,
        "base_url": cfg.base_url if cfg.name else "",
        "model": cfg.model,
        "path": cfg.path,
        "seed": cfg.seed,
        "corrupt": dict(sorted(cfg.corrupt.items())),
    }


def virtual_identity(
    virtual: VirtualApisConfig, generators: tuple[ModelConfig, ...]
) -> dict[str, Any]:
    """What decides the virtual APIs' answers (for the execution stage's version); empty
    when they are off, so runs without them keep their versions."""
    if not virtual.enabled:
        return {}
    model = simulator_model(virtual, generators)
    return {
        "simulator": model_identity(model),
        "max_attempts": virtual.max_attempts,
        "temperature": virtual.temperature,
    }


def generator_models(config: PipelineConfig) -> tuple[ModelConfig, ...]:
    """The configured generators, or the default local model (named, so it is versioned)."""
    return config.generators or (
        ModelConfig(kind="local", model=DEFAULT_LOCAL_MODELS["generator"]),
    )


def judge_models(config: PipelineConfig) -> tuple[ModelConfig, ...]:
    """The configured judges, else the first generator, else the default local judge."""
    default = (ModelConfig(kind="local", model=DEFAULT_LOCAL_MODELS["judge"]),)
    return config.judges or (config.generators[:1] or default)


def generation_prompt(config: PipelineConfig) -> GenerationPrompt:
    """The compact prompt when every generator is local, else the full one."""
    return COMPACT_GENERATION if all_local(generator_models(config)) else FULL_GENERATION


def judge_prompt(config: PipelineConfig) -> JudgePrompt:
    """``config.judge_prompt`` by name or from its file; by default compact when every
    judge is local, else full."""
    chosen = config.judge_prompt
    if not chosen:
        return COMPACT_JUDGING if all_local(judge_models(config)) else FULL_JUDGING
    named = named_judge_prompt(chosen)
    if named is not None:
        return named
    try:
        return judge_prompt_from_file(Path(chosen))
    except PromptFileError as exc:
        raise ConfigError(f"judge.prompt: {exc} ({exc.reason})") from None


def library_digest(library: ApiLibrary) -> str:
    """16 hex digits of a hash over every spec's id, version and binding (how it runs);
    a changed endpoint, module or function re-versions the execution stage."""
    rows = sorted(
        (spec.id, spec.version, orjson.dumps(spec.binding, option=orjson.OPT_SORT_KEYS))
        for spec in library
    )
    h = hashlib.blake2b(digest_size=8)
    for spec_id, version, binding in rows:
        for part in (spec_id.encode(), version.encode(), binding):
            h.update(len(part).to_bytes(4, "big"))
            h.update(part)
    return h.hexdigest()


def sampler_config(config: PipelineConfig) -> SamplerConfig:
    """The sampler's settings: ``[sampler]`` over the code's defaults; a run on the local
    model defaults to :data:`LOCAL_RUN`'s styles and token cap and the compact prompt."""
    settings = config.sampler
    local = generation_prompt(config) is COMPACT_GENERATION
    mix = settings.style_mix or (LOCAL_RUN.styles if local else DEFAULT_MIX)
    templates: dict[QueryStyle, tuple[PromptTemplate, ...]]
    if local:
        templates = {style: (COMPACT_GENERATION.template,) for style in QueryStyle}
    else:
        templates = {
            style: tuple(GENERATOR_TEMPLATES[i] for i in ids)
            for style, ids in settings.templates.items()
        }
    defaults = SamplerConfig()
    generation = GenerationSettings(pairs=config.pairs)
    if local:
        generation = GenerationSettings(pairs=config.pairs, max_tokens=LOCAL_RUN.max_tokens)
    return SamplerConfig(
        style_mix=dict(mix),
        api_ranges={**DEFAULT_API_RANGES, **settings.apis_per_task},
        example_range=settings.examples_per_task or defaults.example_range,
        pool_capacity=settings.pool_capacity or defaults.pool_capacity,
        templates={**defaults.templates, **templates},
        settings=generation,
        seed=config.seed,
    )


def generator_config(config: PipelineConfig) -> dict[str, Any]:
    """The generator's versioned settings beyond model names, weights and prompt."""
    return {"models": [model_identity(m) for m in generator_models(config)]}


def execution_config(config: PipelineConfig, library: ApiLibrary) -> dict[str, Any]:
    """The execution stage's versioned settings."""
    virtual = virtual_identity(config.virtual_apis, generator_models(config))
    return {
        "exec_timeout_s": config.exec_timeout_s,
        "apis": list(config.api_sources),
        "library": library_digest(library),
    } | ({"virtual_apis": virtual} if virtual else {})


def semantic_config(config: PipelineConfig) -> dict[str, Any]:
    """The semantic stage's versioned settings beyond what the checker hashes itself
    (rules, judge names, quorum, batch size, tokens, temperature, prompt)."""
    settings: dict[str, Any] = {"judges": [model_identity(m) for m in judge_models(config)]}
    if (index := contamination_index(config.decontaminate)) is not None:
        settings["decontaminate"] = {
            "index": index.digest,
            "near_threshold": index.near_threshold,
            "ngram": index.ngram,
        }
    return settings


def generator_stage(
    config: PipelineConfig,
    models: Sequence[tuple[ChatModel, float]],
    *,
    version_name: str = VERSION_NAMES["generator"],
) -> Generator:
    """The generator over ``models`` (opened from :func:`generator_models`)."""
    prompt = generation_prompt(config)
    return Generator(
        models,
        prompt=prompt,
        templates=FULL_GENERATIONS if prompt is FULL_GENERATION else None,
        version_name=version_name,
        config=generator_config(config),
    )


def format_stage(
    config: PipelineConfig, *, version_name: str = VERSION_NAMES["format"]
) -> FormatChecker:
    """The format checker with the configured rules."""
    return FormatChecker(config.format_rules, version_name=version_name)


def execution_stage(
    config: PipelineConfig,
    library: ApiLibrary,
    executor: Executor,
    resolve: Resolver,
    *,
    version_name: str = VERSION_NAMES["execution"],
) -> ExecutionChecker:
    """The execution checker running ``library``'s specs through ``executor``."""
    return ExecutionChecker(
        executor,
        resolve,
        version_name=version_name,
        config=execution_config(config, library),
    )


def semantic_stage(
    config: PipelineConfig,
    judges: Sequence[ChatModel],
    *,
    version_name: str = VERSION_NAMES["semantic"],
) -> SemanticChecker | Decontaminating:
    """The semantic checker over ``judges`` (opened from :func:`judge_models`), behind the
    run's decontamination when it has reference sets."""
    checker = SemanticChecker(
        judges,
        rules=config.semantic_rules,
        quorum=config.judge_quorum or None,
        batch_size=config.judge_batch,
        max_tokens_per_verdict=config.judge_max_tokens,
        temperature=config.judge_temperature,
        prompt=judge_prompt(config),
        version_name=version_name,
        config=semantic_config(config),
    )
    index = contamination_index(config.decontaminate)
    return checker if index is None else Decontaminating(checker, index)
