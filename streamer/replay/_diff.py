"""Compare two versions of the checkers: which pairs flip from pass to fail and back.

A *version reference* names a lineage of outcomes: ``live`` (the pipeline's own topics) or a
replay version (:mod:`streamer.replay._replay`), given in full (``strict-v2-1a2b3c4d``) or by its
explicit name (``strict-v2``) when only one configuration was replayed under it.

Per checker stage, the outcome of a pair is ``pass`` (its event on the stage's pass topic)
or the reason code of its reject. Pairs are matched across versions by lineage: the root
sample id and the pair index (a format reject of a whole output, pair index -1, stands for
every pair of that output). The multi-turn checkers (``blueprint-validator``,
``trajectory-checker``) have no pairs: their outcomes are matched by the root task id and
the draft's attempt (a task refined after a rejected draft has one outcome per draft), which
stands in the pair index's place. A stage is compared when both versions hold outcomes of it;
pairs only one version has (say, what a stricter format check let through to execution) are
counted apart. Outcomes are deduplicated by event id, so re-delivered events count once.

Usage::

    report = await diff_versions(transport, "live", "strict-v2")
    for stage in report.stages:
        print(stage.stage, stage.pass_to_fail, stage.fail_to_pass)
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from topics import Record, Topic, TopicPartition, Transport

from ._replay import MULTI_TURN_REPLAYABLE, REPLAYABLE, ReplayError

__all__ = [
    "DiffReport",
    "Flip",
    "Outcome",
    "StageDiff",
    "diff_versions",
    "read_outcomes",
    "resolve_version",
]

PASS = "pass"

_PASS_TOPIC = {
    "format": Topic.FORMAT_PASS,
    "execution": Topic.EXEC_PASS,
    "semantic": Topic.SEMANTIC_PASS,
    "blueprint-validator": Topic.BLUEPRINT_PASS,
    "trajectory-checker": Topic.TRAJECTORY_PASS,
}

_TASK_PATH: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "blueprint-validator": (("blueprint",), ()),
    "trajectory-checker": (("trajectory", "blueprint", "blueprint"), ("blueprint", "blueprint")),
}
"""Per multi-turn checker: where the blueprint sits in its pass event and in the event
its rejects carry (``rejected``), whose task's ``attempt`` is the outcome's index."""
_HASH_SUFFIX = re.compile(r"-[0-9a-f]{8}$")

Key = tuple[str, int]
"""A pair across versions: (root sample id, pair index)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One pair's outcome at one stage: ``reason`` is ``pass`` or the reject's reason code."""

    reason: str
    stage_version: str
    query: str = ""
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.reason == PASS


@dataclass(frozen=True, slots=True)
class Flip:
    """An example of a changed outcome."""

    sample_id: str
    pair_index: int
    before: str
    after: str
    query: str
    message: str


@dataclass(slots=True)
class StageDiff:
    """One stage's comparison. ``pass_to_fail`` counts by the new reject reason,
    ``fail_to_pass`` by the old one, ``reason_changed`` fails whose reason changed
    (``"old->new"``); ``only_a``/``only_b`` pairs only one version has at this stage."""

    stage: str
    versions_a: tuple[str, ...]
    versions_b: tuple[str, ...]
    compared: int = 0
    unchanged_pass: int = 0
    unchanged_fail: int = 0
    pass_to_fail: Counter[str] = field(default_factory=Counter)
    fail_to_pass: Counter[str] = field(default_factory=Counter)
    reason_changed: Counter[str] = field(default_factory=Counter)
    only_a: int = 0
    only_b: int = 0
    examples: list[Flip] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "versions_a": list(self.versions_a),
            "versions_b": list(self.versions_b),
            "compared": self.compared,
            "unchanged_pass": self.unchanged_pass,
            "unchanged_fail": self.unchanged_fail,
            "pass_to_fail": dict(sorted(self.pass_to_fail.items())),
            "fail_to_pass": dict(sorted(self.fail_to_pass.items())),
            "reason_changed": dict(sorted(self.reason_changed.items())),
            "only_a": self.only_a,
            "only_b": self.only_b,
            "examples": [
                {
                    "sample_id": f.sample_id,
                    "pair_index": f.pair_index,
                    "before": f.before,
                    "after": f.after,
                    "query": f.query,
                    "message": f.message,
                }
                for f in self.examples
            ],
        }


@dataclass(frozen=True, slots=True)
class DiffReport:
    """``a`` and ``b`` as resolved (``live`` or a full replay version), and per-stage diffs
    for the stages both versions hold outcomes of, in pipeline order."""

    a: str
    b: str
    stages: tuple[StageDiff, ...]

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "stages": [s.to_json() for s in self.stages]}


async def resolve_version(transport: Transport, ref: str) -> str | None:
    """None for ``live``; else the full replay version ``ref`` names (raises
    :class:`~streamer.replay._replay.ReplayError` ``unknown_version``/``ambiguous_version``)."""
    if ref == "live":
        return None
    suffixes = {
        name.split(".", 1)[1]
        for name in await transport.list_topics()
        if "." in name and Topic.base(name) in {str(t) for t in Topic}
    }
    if ref in suffixes:
        return ref
    named = sorted(s for s in suffixes if _HASH_SUFFIX.sub("", s) == ref)
    if not named:
        known = sorted(suffixes) or ["(none)"]
        raise ReplayError("unknown_version", f"{ref!r}: no replay of that version; known: {known}")
    if len(named) > 1:
        raise ReplayError(
            "ambiguous_version", f"{ref!r} was replayed with several configurations: {named}"
        )
    return named[0]


async def _read_topic(transport: Transport, topic: str) -> list[Record]:
    """Every record of ``topic`` up to its end offsets now, read by a throwaway group that
    never commits (the live and replay groups are untouched)."""
    partitions = (await transport.list_topics()).get(topic)
    if partitions is None:
        return []
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    records: list[Record] = []
    async with transport.consumer([topic], f"diff.{uuid.uuid4().hex}") as consumer:
        ends = await consumer.end_offsets(tps)
        seen = {tp: 0 for tp in tps}
        deadline = time.monotonic() + 120.0
        while any(seen[tp] < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise ReplayError("no_input", f"{topic}: could not read to its end in 120 s")
            for r in await consumer.poll(5000, 0.5):
                if r.offset < ends[r.tp]:
                    records.append(r)
                seen[r.tp] = max(seen[r.tp], r.offset + 1)
    return records


def _outcome(data: Any, stage: str) -> tuple[str, Key, Outcome] | None:
    """(event id, pair key, outcome) of a decoded pass or reject event of ``stage``."""
    if not isinstance(data, dict) or not isinstance(data.get("meta"), dict):
        return None
    meta = data["meta"]
    if meta.get("stage") != stage:
        return None
    event_id, sample_id = str(meta.get("id", "")), str(meta.get("sample_id", ""))
    pair_index = _attempt(data, stage) if stage in _TASK_PATH else data.get("pair_index", -1)
    if not sample_id or not isinstance(pair_index, int):
        return None
    version = str(meta.get("stage_version", ""))
    if "reason" in data:
        rejected = data.get("rejected")
        query = rejected.get("query", "") if isinstance(rejected, dict) else ""
        outcome = Outcome(str(data["reason"]), version, str(query), str(data.get("message", "")))
    else:
        outcome = Outcome(PASS, version, str(data.get("query", "")))
    return event_id, (sample_id, pair_index), outcome


def _attempt(data: dict[str, Any], stage: str) -> int:
    """The attempt of the draft a multi-turn outcome is about (-1 when it cannot be read)."""
    in_pass, in_reject = _TASK_PATH[stage]
    node: Any = data
    for key in ("rejected", *in_reject) if "reason" in data else in_pass:
        node = node.get(key) if isinstance(node, dict) else None
    task = node.get("task") if isinstance(node, dict) else None
    attempt = task.get("attempt", 0) if isinstance(task, dict) else -1
    return attempt if isinstance(attempt, int) else -1


async def read_outcomes(
    transport: Transport, version: str | None, stage: str
) -> dict[Key, Outcome]:
    """Every pair outcome of ``stage`` in lineage ``version`` (None: live), deduplicated by
    event id; undecodable records are skipped (the funnel counts those)."""
    by_id: dict[str, tuple[Key, Outcome]] = {}
    for base in (_PASS_TOPIC[stage], Topic.REJECTS):
        topic = str(base) if version is None else Topic.versioned(base, version)
        for record in await _read_topic(transport, topic):
            try:
                data = orjson.loads(record.value)
            except orjson.JSONDecodeError:
                continue
            found = _outcome(data, stage)
            if found is not None:
                by_id.setdefault(found[0], (found[1], found[2]))
    return dict(by_id.values())


def _expand_whole(side: dict[Key, Outcome], other: Iterable[Key]) -> dict[Key, Outcome]:
    """Let a whole-output outcome (pair -1) stand for each pair the other side has."""
    pairs_by_sample: dict[str, list[int]] = {}
    for sample_id, index in other:
        if index >= 0:
            pairs_by_sample.setdefault(sample_id, []).append(index)
    out = dict(side)
    for (sample_id, index), outcome in side.items():
        if index < 0 and sample_id in pairs_by_sample:
            del out[(sample_id, index)]
            for i in pairs_by_sample[sample_id]:
                out.setdefault((sample_id, i), outcome)
    return out


def compare(
    stage: str,
    a: dict[Key, Outcome],
    b: dict[Key, Outcome],
    *,
    examples_per_kind: int = 3,
) -> StageDiff:
    """The diff of one stage's outcomes in two versions."""
    a, b = _expand_whole(a, b.keys()), _expand_whole(b, a.keys())
    result = StageDiff(
        stage,
        tuple(sorted({o.stage_version for o in a.values()})),
        tuple(sorted({o.stage_version for o in b.values()})),
    )
    shown: Counter[str] = Counter()
    for key in sorted(a.keys() | b.keys()):
        old, new = a.get(key), b.get(key)
        if old is None:
            result.only_b += 1
            continue
        if new is None:
            result.only_a += 1
            continue
        result.compared += 1
        if old.reason == new.reason:
            if old.passed:
                result.unchanged_pass += 1
            else:
                result.unchanged_fail += 1
            continue
        if old.passed:
            kind = f"pass->{new.reason}"
            result.pass_to_fail[new.reason] += 1
        elif new.passed:
            kind = f"{old.reason}->pass"
            result.fail_to_pass[old.reason] += 1
        else:
            kind = f"{old.reason}->{new.reason}"
            result.reason_changed[kind] += 1
        if shown[kind] < examples_per_kind:
            shown[kind] += 1
            result.examples.append(
                Flip(
                    key[0],
                    key[1],
                    old.reason,
                    new.reason,
                    new.query or old.query,
                    new.message or old.message,
                )
            )
    return result


async def diff_versions(
    transport: Transport,
    a: str,
    b: str,
    *,
    stages: Sequence[str] = REPLAYABLE + MULTI_TURN_REPLAYABLE,
    examples_per_kind: int = 3,
) -> DiffReport:
    """Per stage, how outcomes differ between version references ``a`` and ``b``. A
    multi-turn checker is compared only when ``b`` has its pass topic (reading ``rejects``
    again for a pipeline that never ran would find nothing)."""
    va, vb = await resolve_version(transport, a), await resolve_version(transport, b)
    topics = await transport.list_topics()
    diffs: list[StageDiff] = []
    for stage in stages:
        passes = str(_PASS_TOPIC[stage]) if vb is None else Topic.versioned(_PASS_TOPIC[stage], vb)
        if stage in MULTI_TURN_REPLAYABLE and passes not in topics:
            continue
        outcomes_b = await read_outcomes(transport, vb, stage)
        if not outcomes_b:
            continue
        outcomes_a = await read_outcomes(transport, va, stage)
        if outcomes_a:
            diffs.append(
                compare(stage, outcomes_a, outcomes_b, examples_per_kind=examples_per_kind)
            )
    return DiffReport(va or "live", vb or "live", tuple(diffs))
