"""One run, one run's data: run ids, starting a run in a directory, and stages that only
take their own run's events.

Every ``apigen run`` has a run id (16 hex digits). Its sampler puts it in each task's meta
(``EventMeta.run_id``), every derived event keeps it, and the run's stages skip events of
any other run (:class:`RunScoped`): work an earlier run left on the same log or Kafka
topics is read past, never generated, checked or stored again. Event ids do not include
it, so two runs of one config still make the same data (reproducible across directories
and transports); the meta's run id is what tells their events apart.

The run's directory records it in ``<out>/run.json``. A new run there (the default)
starts clean: the previous run's dataset files move to ``<out>/runs/<its id>/`` (nothing
is deleted; the log, result cache and virtual-API answers stay, they are shared and keyed
by content). ``resume=True`` (``apigen run --resume``) continues the recorded run with the
same id, so its tasks are re-issued with the same ids and what finished is not redone; a
directory holding a dataset from before run ids resumes as the run ``""``.

Usage::

    start = begin_run(Path("out"), resume=False)
    config = config.with_overrides(run_id=start.run_id)
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..runtime._stage import Output, Stage
from ._model_config import ConfigError

__all__ = ["RUN_FILE", "NoRunToResume", "RunScoped", "RunStart", "begin_run", "recorded_run"]

log = logging.getLogger("apigen.runs")

RUN_FILE = "run.json"
"""The file in a run's directory naming its run (``{"run_id": ..., "started_at": ...}``)."""

_DATASET_FILES = (
    "dataset.db",
    "dataset.db-wal",
    "dataset.db-shm",
    "xlam.jsonl",
    "openai.jsonl",
    "sharegpt.jsonl",
    "dataset.parquet",
    "README.md",
    *("trajectories.db", "trajectories.db-wal", "trajectories.db-shm"),
    *("trajectories.sharegpt.jsonl", "trajectories.openai.jsonl", "apigen-mt.jsonl"),
)
"""What a run writes that is its own (moved aside when a new run starts in its place)."""

_LEGACY = "before-run-ids"
"""Where a dataset from before run ids is moved (its run id is empty)."""


class NoRunToResume(ConfigError):
    """``--resume`` in a directory that holds no run; reason ``no_run_to_resume``."""

    reason = "no_run_to_resume"


@dataclass(frozen=True, slots=True)
class RunStart:
    """How a run began: its id, whether it continues an earlier start (``resumed``), and
    where the previous run's dataset was moved (``archived``; None if there was none)."""

    run_id: str
    resumed: bool
    archived: Path | None = None

    def describe(self, out: Path) -> str:
        """One line for the console."""
        name = self.run_id or "(from before run ids)"
        if self.resumed:
            return f"resuming run {name} in {out}/"
        moved = f"; the previous run's dataset moved to {self.archived}/" if self.archived else ""
        return f"run {name} in {out}/{moved}"


def recorded_run(out: Path) -> str | None:
    """The run id ``out`` records; ``""`` for a dataset from before run ids; None when
    ``out`` holds no run."""
    path = out / RUN_FILE
    if path.exists():
        try:
            data = orjson.loads(path.read_bytes())
            run_id = data["run_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise ConfigError(f'{path}: not a run record (expected {{"run_id": ...}})') from None
        if not isinstance(run_id, str):
            raise ConfigError(f"{path}: run_id: expected a string, got {run_id!r}")
        return run_id
    return "" if (out / "dataset.db").exists() else None


def begin_run(out: Path, *, resume: bool) -> RunStart:
    """Start a run in ``out``: a new one (the previous run's dataset moved aside) or, with
    ``resume``, the one ``out`` records (:class:`NoRunToResume` if there is none)."""
    previous = recorded_run(out)
    if resume:
        if previous is None:
            raise NoRunToResume(
                f"--resume: {out}/ holds no run to resume (no {RUN_FILE}, no dataset); "
                "start one without --resume"
            )
        return RunStart(previous, resumed=True)
    archived = None
    if previous is not None:
        archived = out / "runs" / (previous or _LEGACY)
        archived.mkdir(parents=True, exist_ok=True)
        for name in _DATASET_FILES:
            if (out / name).exists():
                (out / name).replace(archived / name)
        if (out / RUN_FILE).exists():
            (out / RUN_FILE).replace(archived / RUN_FILE)
    run_id = uuid.uuid4().hex[:16]
    out.mkdir(parents=True, exist_ok=True)
    record = {"run_id": run_id, "started_at": time.time()}
    (out / RUN_FILE).write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    return RunStart(run_id, resumed=False, archived=archived)


class RunScoped:
    """A stage that processes only ``run_id``'s events and reads past any other run's
    (they are committed, produce nothing, and are counted in :attr:`skipped` by run).

    Rejects of input that could not be decoded belong to no task (no ``sample_id``) and
    pass, as before runs had ids: their run cannot be known."""

    def __init__(self, stage: Stage, run_id: str) -> None:
        self.stage = stage
        self.run_id = run_id
        self.skipped: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def version(self) -> str:
        return self.stage.version

    @property
    def input_topic(self) -> str:
        return self.stage.input_topic

    @property
    def input_type(self) -> type[Any]:
        return self.stage.input_type

    async def process(self, event: Any) -> Sequence[Output]:
        meta = event.meta
        if meta.run_id == self.run_id or not meta.sample_id:
            return await self.stage.process(event)
        if not self.skipped[meta.run_id]:
            log.warning(
                "%s: reading past events of run %r on %s (not this run, %r)",
                self.name,
                meta.run_id,
                self.input_topic,
                self.run_id,
            )
        self.skipped[meta.run_id] += 1
        return []

    def __repr__(self) -> str:
        return f"<RunScoped {self.name} run={self.run_id!r} skipped={dict(self.skipped)}>"
