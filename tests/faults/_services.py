"""Stages as ``apigen serve`` subprocesses, and reading a run's outcome from its store."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from streamer.dataset._store import DatasetStore
from streamer.pipeline._build import load_library, make_sampler, open_transport
from streamer.pipeline._config import PipelineConfig
from topics import PIPELINE, Message, encode

STAGES = ("generator", "format", "execution", "semantic", "sink", "funnel")


class Services:
    """One ``apigen serve`` process per stage; logs go to ``<out>/<stage>-<n>.log``."""

    def __init__(
        self, out: Path, kafka: str | None = None, args: tuple[str, ...] = ("--simulate",)
    ) -> None:
        """``args``: what each ``apigen serve STAGE`` gets besides ``--out`` and ``--kafka``."""
        self.out = out
        self.kafka = kafka
        self.args = args
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.dead: list[subprocess.Popen[bytes]] = []
        self.logs_of: dict[str, Path] = {}

    def start(self, stage: str) -> None:
        args = [sys.executable, "-m", "streamer", "serve", stage, "--out", str(self.out),
                *self.args] + (["--kafka", self.kafka] if self.kafka else [])  # fmt: skip
        self.out.mkdir(parents=True, exist_ok=True)
        n = len(list(self.out.glob(f"{stage}-*.log")))
        self.logs_of[stage] = self.out / f"{stage}-{n}.log"
        with self.logs_of[stage].open("wb") as log:
            self.procs[stage] = subprocess.Popen(args, stderr=log, stdout=subprocess.DEVNULL)

    def kill(self, stage: str) -> None:
        """SIGKILL the stage (no drain, no commit) and start a fresh one."""
        proc = self.procs[stage]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.dead.append(proc)
        self.start(stage)

    def stop(self) -> dict[str, int]:
        """SIGTERM every stage once it is up; their exit codes. A stage restarted late may
        still be importing: SIGTERM's default action would end it before it can drain."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            "started" in self.logs_of[stage].read_text() for stage in self.procs
        ):
            time.sleep(0.2)
        time.sleep(0.5)  # the runner's signal watcher starts right after it logs "started"
        for p in self.procs.values():
            p.send_signal(signal.SIGTERM)
        return {stage: p.wait(timeout=90) for stage, p in self.procs.items()}

    def close(self) -> None:
        for p in [*self.procs.values(), *self.dead]:
            if p.poll() is None:
                p.kill()
            p.wait()

    def exited(self) -> str | None:
        """The log of a live stage's process that exited on its own, if any did."""
        for stage, proc in self.procs.items():
            if proc.poll() is not None:
                return f"{stage} exited with {proc.returncode}:\n{self.logs_of[stage].read_text()}"
        return None

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.out.glob("*.log"))


def records(out: Path) -> dict[str, str]:
    """Verified records of a run: id -> query."""
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        return {r.id: r.query for r in store.records()}
    finally:
        store.close()


def verified(out: Path) -> dict[str, tuple[str, str | None]]:
    """Every verified pair of a run, duplicates included: id -> (query, duplicate kind or
    None when kept)."""
    db = sqlite3.connect(f"file:{out / 'dataset.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id, query, duplicate_kind FROM records").fetchall()
    finally:
        db.close()
    return {rid: (query, kind) for rid, query, kind in rows}


def assert_same_dataset(out: Path, reference: Path) -> None:
    """The run at ``out`` verified exactly the reference's pairs (nothing lost, nothing
    twice) and kept the same records, except where near-duplicate removal chose another
    member of a chain (A ~ B ~ C with A not ~ C keeps A and C, or B, by arrival order):
    each record kept by one run and not the other is a near duplicate in the other."""
    got, want = verified(out), verified(reference)
    assert {i: q for i, (q, _) in got.items()} == {i: q for i, (q, _) in want.items()}
    differ = {i for i in got if (got[i][1] is None) != (want[i][1] is None)}
    assert all("near" in (got[i][1], want[i][1]) for i in differ), sorted(differ)
    assert len(differ) <= max(2, len(got) // 200), sorted(differ)  # rare, never wholesale


def terminal(out: Path) -> Counter[str]:
    """Terminal outcomes per sample id."""
    if not (out / "dataset.db").exists():
        return Counter()
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    try:
        return Counter(sample_id for sample_id, _ in store.terminal_outcomes())
    finally:
        store.close()


async def feed_samples(config: PipelineConfig) -> int:
    """Produce the run's ``samples`` tasks to the ``samples`` topic, as ``apigen run`` would."""
    sampler = make_sampler(config, load_library(config))
    transport = open_transport(config)
    try:
        await transport.create_topics(list(PIPELINE), config.partitions)
        assert config.samples is not None
        samples = [sampler.next_sample() for _ in range(config.samples)]
        async with transport.producer() as producer:
            for i in range(0, len(samples), 500):
                await producer.produce([Message("samples", encode(s), key=s.meta.sample_id.encode())
                                        for s in samples[i : i + 500]])  # fmt: skip
    finally:
        await transport.aclose()
    return len(samples)


def done(out: Path, expected: int) -> bool:
    return sum(terminal(out).values()) >= expected


def wait_for(out: Path, expected: int, timeout_s: float, services: Services) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done(out, expected):
            return
        if (exited := services.exited()) is not None:
            raise AssertionError(exited)
        time.sleep(0.2)
    got = sum(terminal(out).values())
    raise AssertionError(f"only {got} of {expected} outcomes arrived\n{services.logs()}")
