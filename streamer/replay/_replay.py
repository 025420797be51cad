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

import datetime as dt
import hashlib
import importlib.util
import logging
import os
import re
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

import anyio

from topics import (
    Consumer,
    PartitionListener,
    Producer,
    Record,
    Topic,
    TopicPartition,
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
from ..runtime._runner import RunnerSettings, StageRunner
from ..runtime._stage import Stage
from ..stages import DatasetSink, FunnelSink
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


class ReplayError(ValueError):
    """A replay that cannot run as asked; ``reason`` is a stable code:

    ``invalid_version`` (a version name Kafka cannot carry in a topic name),
    ``invalid_position`` (a ``--from``/``--until`` that is no offset or timestamp),
    ``unknown_stage``, ``no_input`` (the input topic does not exist),
    ``unknown_version`` / ``ambiguous_version`` (a version reference matches no / several
    replays), ``no_judge`` (the semantic stage or the blueprint validator's committee would
    judge with the local model, which is not installed), ``no_downstream`` (a multi-turn
    checker has no later checker to continue through).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


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
class Bound:
    """A position in every partition: an ``offset`` or a ``timestamp_ms`` (milliseconds since
    the Unix epoch); neither means the open end (earliest for a start, the end for an until).

    >>> Bound.parse("earliest"), Bound.parse("120").offset
    (Bound(offset=None, timestamp_ms=None), 120)
    >>> Bound.parse("2024-05-01T00:00:00Z").timestamp_ms
    1714521600000
    """

    offset: int | None = None
    timestamp_ms: int | None = None

    @classmethod
    def parse(cls, text: str, *, option: str = "--from") -> Self:
        """``earliest``/``end``, an offset (non-negative integer) or an ISO 8601 timestamp
        (UTC unless it names a zone)."""
        text = text.strip()
        if text in ("earliest", "end", ""):
            return cls()
        if text.isdigit():
            return cls(offset=int(text))
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ReplayError(
                "invalid_position",
                f"{option} {text!r}: expected earliest/end, an offset or an ISO 8601 timestamp",
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return cls(timestamp_ms=int(when.timestamp() * 1000))


@dataclass(frozen=True, slots=True)
class Window:
    """Which input records a replay processes: from ``start`` (inclusive) to ``until``
    (offsets exclusive, timestamps inclusive), and never past the end offsets that held when
    the stage started."""

    start: Bound = field(default_factory=Bound)
    until: Bound = field(default_factory=Bound)

    def admits(self, record: Record) -> bool:
        s, u = self.start, self.until
        if s.offset is not None and record.offset < s.offset:
            return False
        if s.timestamp_ms is not None and record.timestamp_ms < s.timestamp_ms:
            return False
        return u.timestamp_ms is None or record.timestamp_ms <= u.timestamp_ms


class _Progress:
    """What a bounded consumer has covered, per partition; ``done`` once every partition of
    the input is covered up to its stop offset and everything kept below it is committed."""

    def __init__(self, partitions: frozenset[TopicPartition], window: Window) -> None:
        self.partitions = partitions
        self.window = window
        self.stop: dict[TopicPartition, int] = {}
        self.frontier: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.last_kept: dict[TopicPartition, int] = {}
        self.expected_first: dict[TopicPartition, int] = {}
        self.expired: list[ExpiredStart] = []
        self.done = anyio.Event()

    def first_record(self, tp: TopicPartition, offset: int) -> None:
        """Note the first record read from ``tp``: if it is past the requested start,
        retention deleted the records in between (see :func:`expired_start`)."""
        requested = self.expected_first.pop(tp, None)
        if requested is None:
            return
        gap = expired_start(tp, requested, offset, self.stop.get(tp, offset))
        if gap is not None:
            log.warning("%s", gap.message())
            self.expired.append(gap)

    def covered(self, tp: TopicPartition) -> bool:
        stop = self.stop.get(tp)
        if stop is None:
            return False
        committed = self.committed.get(tp, -1)
        if max(self.frontier.get(tp, -1), committed) < stop:
            return False
        kept = self.last_kept.get(tp)
        return kept is None or committed > kept

    def check(self) -> None:
        if not self.done.is_set() and all(self.covered(tp) for tp in self.partitions):
            self.done.set()

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{tp.partition}: {self.committed.get(tp)}/{self.stop.get(tp)}"
            for tp in sorted(self.partitions)
        )
        return f"<replay progress done={self.done.is_set()} committed/stop {{{parts}}}>"


class _BoundedConsumer:
    """A consumer that hands the runner only the window's records below the stop offsets,
    and reports through :class:`_Progress` when the runner has committed all of them."""

    def __init__(
        self,
        transport: Transport,
        topics: Sequence[str],
        group: str,
        progress: _Progress,
        on_assign: PartitionListener | None,
        on_revoke: PartitionListener | None,
    ) -> None:
        self._progress = progress
        self._on_assign = on_assign
        self._finished: set[TopicPartition] = set()
        self._inner = transport.consumer(
            topics, group, on_assign=self._assigned, on_revoke=on_revoke
        )

    async def _assigned(self, tps: frozenset[TopicPartition]) -> None:
        p, inner = self._progress, self._inner
        new = sorted(tp for tp in tps if tp not in p.stop)
        ends = await inner.end_offsets(new) if new else {}
        start = p.window.start.offset
        until = p.window.until.offset
        for tp in new:
            p.stop[tp] = ends[tp] if until is None else min(ends[tp], until)
            committed = await inner.committed(tp)
            if committed is not None:
                p.committed[tp] = committed
            elif start is not None:
                await inner.seek(tp, start)
                p.frontier[tp] = start
                p.expected_first[tp] = start
            else:
                if p.window.start.timestamp_ms is None:
                    p.expected_first[tp] = 0
                if ends[tp] == 0:
                    p.frontier[tp] = 0
        for tp in tps:
            if p.covered(tp):
                self._finish(tp)
        if self._on_assign is not None:
            await self._on_assign(tps)
        p.check()

    def _finish(self, tp: TopicPartition) -> None:
        self._finished.add(tp)
        if tp in self._inner.assignment():
            self._inner.pause([tp])

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        p = self._progress
        records = await self._inner.poll(max_records, timeout_s)
        kept: list[Record] = []
        for r in records:
            tp = r.tp
            p.first_record(tp, r.offset)
            p.frontier[tp] = max(p.frontier.get(tp, 0), r.offset + 1)
            stop = p.stop.get(tp)
            if stop is None or r.offset >= stop:
                self._finish(tp)
                continue
            if p.window.admits(r):
                kept.append(r)
                p.last_kept[tp] = r.offset
        for tp in {r.tp for r in records}:
            if tp not in self._finished and p.covered(tp):
                self._finish(tp)
        p.check()
        return kept

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        await self._inner.commit(offsets)
        p = self._progress
        for tp, offset in offsets.items():
            p.committed[tp] = max(p.committed.get(tp, 0), offset)
        p.check()

    async def committed(self, tp: TopicPartition) -> int | None:
        return await self._inner.committed(tp)

    def assignment(self) -> frozenset[TopicPartition]:
        return self._inner.assignment()

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        await self._inner.seek(tp, offset)

    async def seek_to_beginning(self, tps: Sequence[TopicPartition] = ()) -> None:
        await self._inner.seek_to_beginning(tps)

    async def seek_to_timestamp(
        self, timestamp_ms: int, tps: Sequence[TopicPartition] = ()
    ) -> None:
        await self._inner.seek_to_timestamp(timestamp_ms, tps)

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        self._inner.pause(tps)

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        self._inner.resume([tp for tp in tps if tp not in self._finished])

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        return await self._inner.end_offsets(tps)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    def __repr__(self) -> str:
        return f"<BoundedConsumer {self._progress!r} inner={self._inner!r}>"


class _BoundedTransport:
    """The transport a replayed runner sees: its consumers are bounded (one per run)."""

    def __init__(self, inner: Transport, progress: _Progress) -> None:
        self._inner = inner
        self._progress = progress

    async def create_topics(self, topics: Sequence[str], partitions: int = 1) -> None:
        await self._inner.create_topics(topics, partitions)

    async def list_topics(self) -> dict[str, int]:
        return await self._inner.list_topics()

    async def group_offsets(self, group: str) -> dict[TopicPartition, int]:
        return await self._inner.group_offsets(group)

    def producer(self) -> Producer:
        return self._inner.producer()

    def consumer(
        self,
        topics: Sequence[str],
        group: str,
        *,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        on_assign: PartitionListener | None = None,
        on_revoke: PartitionListener | None = None,
    ) -> Consumer:
        return _BoundedConsumer(self._inner, topics, group, self._progress, on_assign, on_revoke)

    async def aclose(self) -> None:
        """The wrapped transport belongs to the caller: nothing to release here."""


@dataclass(frozen=True, slots=True)
class StageReplay:
    """What one replayed runner did: events consumed, outputs produced, rejects among them."""

    stage: str
    stage_version: str
    group: str
    input_topic: str
    consumed: int
    produced: int
    rejected: int
    expired: tuple[ExpiredStart, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """A replay lineage: ``version`` (the topics' suffix) and each stage's run, in order."""

    version: str
    stages: tuple[StageReplay, ...]


async def run_bounded(
    stage: Stage,
    transport: Transport,
    *,
    group: str,
    input_topic: str,
    output_topic: Mapping[str, str] | None = None,
    window: Window | None = None,
    settings: RunnerSettings | None = None,
) -> StageReplay:
    """Run ``stage`` in ``group`` over ``input_topic`` until every record of the window that
    was there at the start is processed and committed; ``output_topic`` renames outputs."""
    topics = await transport.list_topics()
    if input_topic not in topics:
        raise ReplayError("no_input", f"topic {input_topic!r} does not exist")
    partitions = frozenset(TopicPartition(input_topic, p) for p in range(topics[input_topic]))
    progress = _Progress(partitions, window or Window())
    renames = dict(output_topic or {})
    runner = StageRunner(
        stage,
        _BoundedTransport(transport, progress),
        group=group,
        settings=settings or RunnerSettings(commit_interval_s=0.2),
        input_topic=input_topic,
        output_topic=lambda topic: renames.get(topic, topic),
    )

    async def stop_when_done() -> None:
        await progress.done.wait()
        runner.stop()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_when_done)
        await runner.run()
        tg.cancel_scope.cancel()
    log.info("%s@%s over %s: %r", stage.name, stage.version, input_topic, progress)
    s = runner.stats
    return StageReplay(
        stage.name,
        stage.version,
        group,
        input_topic,
        s.consumed,
        s.produced,
        s.rejected,
        tuple(progress.expired),
    )


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
