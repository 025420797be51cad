"""Replay retained events through a new version of a checker, beside the live pipeline.

A replay runs one changed stage (``format``, ``execution`` or ``semantic``; of the multi-turn
pipeline ``blueprint-validator`` or ``trajectory-checker``, :data:`MULTI_TURN_REPLAYABLE`)
over the live input topic it reads, from a start to an end position, and writes what it produces to
versioned topics (``format-pass.<version>``, ``rejects.<version>``, see
:meth:`topics.Topic.versioned`); ``downstream`` continues through the later checkers, which
then read and write the versioned topics. Nothing the live pipeline reads or writes changes:
the replay has its own consumer groups (:func:`replay_group`) and only produces to versioned
topics. Generation tokens are never spent: the generator is never replayed.

The ``version`` is the changed stage's full version (its explicit name plus the hash of its
configuration and prompts, :func:`streamer.runtime._stage.stage_version`), so one name used with two
configurations gives two separate lineages instead of mixing them.

Idempotent and resumable. The consumer groups are derived from stage and version, so a
second run of the same replay resumes where the first committed: after a completed run it
finds nothing left and produces nothing; after a kill it redoes at most the uncommitted tail,
whose outputs carry the same ids (stage versions and inputs are equal), and every reader
(:mod:`streamer.replay._diff`, the dataset store) deduplicates by id.

Bounds. A replay processes the input records present when its stage starts (the end offsets
then), narrowed by a :class:`Window`: ``start`` (earliest, an offset, or a timestamp) and
``until`` (an offset, exclusive, or a timestamp, inclusive). Replayed stages run through the
ordinary :class:`~streamer.StageRunner`, so they export the same metrics as live ones, with
the replayed version as their ``version`` label.

Usage::

    stage = FormatChecker(FormatRules(min_parallel_calls=3), version_name="strict-v2")
    result = await replay(transport, [stage, execution, semantic])
    print(result.version, [s.produced for s in result.stages])
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from topics import (
    Topic,
    Transport,
)

from ..dataset._export import export_dataset
from ..dataset._store import DatasetStore
from ..llm._local import default_model_path
from ..pipeline._build import load_library, open_execution, open_semantic
from ..pipeline._config import PipelineConfig
from ..pipeline._multi_turn_stages import build_multi_turn_stage
from ..pipeline._runs import RunScoped
from ..pipeline._versions import VERSION_NAMES, format_stage, judge_models
from ..runtime._runner import RunnerSettings
from ..runtime._stage import Stage
from ..stages import DatasetSink, FunnelSink
from ._bounded import Bound, StageReplay, Window, run_bounded
from ._errors import ReplayError
from ._expired import ExpiredStart, expired_start

__all__ = [
    "MULTI_TURN_REPLAYABLE",
    "REPLAYABLE",
    "Bound",
    "ExpiredStart",
    "ReplayError",
    "ReplayResult",
    "StageReplay",
    "Window",
    "build_replay_stages",
    "expired_start",
    "materialize",
    "replay",
    "replay_group",
    "run_bounded",
]

log = logging.getLogger("apigen.replay")

REPLAYABLE = ("format", "execution", "semantic")
"""The stages a replay can change, in pipeline order."""

MULTI_TURN_REPLAYABLE = ("blueprint-validator", "trajectory-checker")
"""The multi-turn checkers a replay can change, each alone: what follows the validator is
the interplay, a generator (never replayed), and the trajectory checker is the last."""

_CHAINS: tuple[tuple[str, ...], ...] = (REPLAYABLE, *((n,) for n in MULTI_TURN_REPLAYABLE))
"""Runs of stages one replay may cover, in order."""

_OUTPUTS: dict[str, tuple[Topic, ...]] = {
    "format": (Topic.FORMAT_PASS, Topic.REJECTS),
    "execution": (Topic.EXEC_PASS, Topic.REJECTS),
    "semantic": (Topic.SEMANTIC_PASS, Topic.REJECTS),
    # The validator's refined tasks too: on the live topic the live writer would draft them.
    "blueprint-validator": (Topic.BLUEPRINT_PASS, Topic.REJECTS, Topic.BLUEPRINT_TASKS),
    "trajectory-checker": (Topic.TRAJECTORY_PASS, Topic.REJECTS),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$")


def check_version_name(name: str) -> str:
    """``name`` if it can be a version name (letters, digits, ``-``, ``_``; no dots, which
    separate a topic from its version)."""
    if not _NAME.match(name):
        raise ReplayError(
            "invalid_version",
            f"{name!r}: a version name is letters, digits, '-' and '_' (at most 101)",
        )
    return name


def replay_group(stage: str, version: str) -> str:
    """The consumer group of ``stage`` in the replay lineage ``version`` (stable, so a rerun
    resumes; never a live group, which are named after the stage alone)."""
    return f"replay.{stage}.{version}"


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """A replay lineage: ``version`` (the topics' suffix) and each stage's run, in order."""

    version: str
    stages: tuple[StageReplay, ...]


async def replay(
    transport: Transport,
    stages: Sequence[Stage],
    *,
    window: Window | None = None,
    settings: RunnerSettings | None = None,
) -> ReplayResult:
    """Replay ``stages[0]`` (the changed stage) over its live input topic within ``window``,
    then each later stage over its predecessor's versioned output, in order."""
    if not stages:
        raise ReplayError("unknown_stage", "nothing to replay")
    names = [s.name for s in stages]
    chain = next((c for c in _CHAINS if names[0] in c), ())
    if not chain or names != list(chain[chain.index(names[0]) :][: len(names)]):
        raise ReplayError(
            "unknown_stage",
            f"{names}: expected consecutive stages of {REPLAYABLE}, or one of "
            f"{MULTI_TURN_REPLAYABLE}",
        )
    version = stages[0].version
    check_version_name(version)
    live = await transport.list_topics()
    first_input = str(stages[0].input_topic)
    if first_input not in live:
        raise ReplayError("no_input", f"topic {first_input!r} does not exist")
    outputs = {Topic.versioned(t, version) for s in stages for t in _OUTPUTS[s.name]}
    await transport.create_topics(sorted(outputs), live[first_input])
    done: list[StageReplay] = []
    for i, stage in enumerate(stages):
        renames = {str(t): Topic.versioned(t, version) for t in _OUTPUTS[stage.name]}
        source = str(stage.input_topic)
        done.append(
            await run_bounded(
                stage,
                transport,
                group=replay_group(stage.name, version),
                input_topic=source if i == 0 else Topic.versioned(source, version),
                output_topic=renames,
                window=window if i == 0 else None,
                settings=settings,
            )
        )
    return ReplayResult(version, tuple(done))


def _directory_key(path: Path) -> str:
    return hashlib.blake2b(os.path.abspath(path).encode(), digest_size=4).hexdigest()


async def materialize(
    transport: Transport,
    version: str | None,
    out: Path,
    *,
    settings: RunnerSettings | None = None,
) -> dict[str, Path]:
    """Write the dataset of replay lineage ``version`` (None: the live topics) to ``out``:
    the sink and funnel stages over its ``semantic-pass``/``rejects`` topics into
    ``out/dataset.db``, then the exported files. Resumable like a replay (groups keyed by
    version and output directory) and idempotent (the store is keyed by event id)."""
    label = version or "live"
    where = _directory_key(out)
    store = DatasetStore(out / "dataset.db")
    try:
        for stage in (DatasetSink(store), FunnelSink(store)):
            topic = str(stage.input_topic)
            await run_bounded(
                stage,
                transport,
                group=f"export.{stage.name}.{label}.{where}",
                input_topic=topic if version is None else Topic.versioned(topic, version),
                settings=settings,
            )
        return export_dataset(store, out)
    finally:
        store.close()


async def build_replay_stages(
    config: PipelineConfig,
    stack: AsyncExitStack,
    stage: str,
    version_name: str,
    *,
    downstream: bool = False,
    use_cache: bool = True,
) -> list[Stage]:
    """The changed ``stage`` named ``version_name`` from ``config`` (its rules, judges and
    prompt), then, with ``downstream``, the later checkers as ``config`` has them. Resources
    (executors, judge clients) are entered on ``stack``. With ``config.run_id`` they read
    only that run's events (:class:`~streamer.pipeline._runs.RunScoped`). A multi-turn
    checker is built as ``apigen run --multi-turn`` builds it, from ``config.multi_turn``
    (:mod:`streamer.pipeline._multi_turn_stages`)."""
    if stage in MULTI_TURN_REPLAYABLE:
        return [await _multi_turn_stage(config, stack, stage, version_name, downstream)]
    if stage not in REPLAYABLE:
        known = list(REPLAYABLE) + list(MULTI_TURN_REPLAYABLE)
        raise ReplayError("unknown_stage", f"{stage!r}: choose one of {known}")
    check_version_name(version_name)
    chosen = REPLAYABLE[REPLAYABLE.index(stage) :] if downstream else (stage,)
    built: list[Stage] = []
    for name in chosen:
        # A later stage keeps the live name, so with an unchanged config it is the live
        # version exactly (the same function builds both, see streamer.pipeline._versions).
        explicit = version_name if name == stage else VERSION_NAMES[name]
        if name == "format":
            built.append(format_stage(config, version_name=explicit))
        elif name == "execution":
            library = load_library(config)
            built.append(
                await open_execution(
                    config, stack, library, version_name=explicit, use_cache=use_cache
                )
            )
        else:
            _check_judges(config)
            built.append(await open_semantic(config, stack, version_name=explicit))
    if config.run_id:
        return [RunScoped(s, config.run_id) for s in built]
    return built


async def _multi_turn_stage(
    config: PipelineConfig, stack: AsyncExitStack, stage: str, version_name: str, downstream: bool
) -> Stage:
    """The changed multi-turn checker ``stage`` named ``version_name``."""
    if downstream:
        raise ReplayError(
            "no_downstream",
            f"{stage}: no later checker to continue through (after the validator comes the "
            "interplay, a generator, which is never replayed; replay trajectory-checker over "
            "the live trajectories instead)",
        )
    check_version_name(version_name)
    if stage == "blueprint-validator" and config.multi_turn.reviewers:
        _check_judges(config)
    return await build_multi_turn_stage(stage, config, stack, version_name=version_name)


def _check_judges(config: PipelineConfig) -> None:
    """A semantic replay without ``[[judges]]`` (or generators) judges with the local
    model; say so before anything runs when that model is not installed."""
    if any(m.kind != "local" or m.path for m in judge_models(config)):
        return
    problem = ""
    try:
        default_model_path()
    except FileNotFoundError as exc:
        problem = str(exc)
    if not problem and importlib.util.find_spec("llama_cpp") is None:
        problem = "llama-cpp-python is not installed"
    if problem:
        raise ReplayError(
            "no_judge",
            "replaying the semantic stage needs its judges: the config has no [[judges]] "
            "(nor generators), so the judge would be the local model, which is not "
            f"installed ({problem}); add [[judges]] to --config or run scripts/install --local",
        )
