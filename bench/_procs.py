"""Run a command as a measured process tree: CPU seconds, PSS over time, wall time.

CPU: ``os.wait4`` returns the user+system seconds of the process *and of every descendant it
reaped* (Python executor workers, distilabel's step processes), so the total is exact
without sampling. While it runs, a sampler thread reads every live process of the tree
every ``interval_s`` seconds: PSS from ``/proc/PID/smaps_rollup`` (proportional set size:
shared pages split between the processes sharing them, so the sum over a tree counts each
page once) and CPU from ``/proc/PID/stat`` (own plus reaped children), for the time series
the report plots and for steady-state slopes.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sample", "TreeRun", "pss_bytes", "run_tree", "tree_cpu_s"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the tree: seconds since start, summed PSS in bytes, CPU seconds so far
    (live processes and what they reaped), and the caller's progress value."""

    t_s: float
    pss_bytes: int
    cpu_s: float
    progress: float
    processes: int


@dataclass(slots=True)
class TreeRun:
    """The outcome of :func:`run_tree`."""

    returncode: int
    wall_s: float
    cpu_s: float
    samples: list[Sample] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""

    @property
    def pss_peak_bytes(self) -> int:
        return max((s.pss_bytes for s in self.samples), default=0)


def pss_bytes(pid: int) -> int:
    """PSS of one process in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # utime, stime, cutime, cstime (fields 14-17 of stat(5))
    return sum(int(x) for x in fields[11:15]) / _TICK


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    parents[int(entry.name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
    return parents


def _tree(pid: int, exclude: set[int]) -> list[int]:
    """``pid`` and its live descendants (from ``/proc``), less ``exclude``."""
    parents = _parents()
    if pid not in parents:
        return []
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in exclude:
            tree.append(p)
        todo.extend(children.get(p, ()))
    return tree


def tree_cpu_s(pid: int, exclude: set[int] | None = None) -> float:
    """CPU seconds of ``pid`` and its live descendants (each with what it reaped)."""
    return sum(_cpu_of(p) for p in _tree(pid, exclude or set()))


def run_tree(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 1800.0,
    interval_s: float = 0.25,
    progress: Callable[[], float] | None = None,
    exclude: Callable[[], set[int]] | None = None,
    logs: Path | None = None,
) -> TreeRun:
    """Run ``cmd`` to completion, sampling its process tree. ``exclude`` names pids not to
    count (say, an endpoint the command starts itself); ``logs`` is a directory for the
    command's stdout and stderr files (kept for post-mortems)."""
    out_dir = logs or Path("/tmp")
    out_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = out_dir / "stdout.txt"
    stderr_path = out_dir / "stderr.txt"
    samples: list[Sample] = []
    done = threading.Event()
    with stdout_path.open("wb") as so, stderr_path.open("wb") as se:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=so, stderr=se)

        def sample() -> None:
            while not done.wait(interval_s):
                skip = exclude() if exclude is not None else set()
                pids = _tree(proc.pid, skip)
                if not pids:
                    continue
                samples.append(
                    Sample(
                        t_s=time.perf_counter() - started,
                        pss_bytes=sum(pss_bytes(p) for p in pids),
                        cpu_s=sum(_cpu_of(p) for p in pids),
                        progress=progress() if progress is not None else 0.0,
                        processes=len(pids),
                    )
                )

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = started + timeout_s
        status, usage = 0, None
        while usage is None:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                usage = ru
            elif time.perf_counter() > deadline:
                proc.kill()
            else:
                time.sleep(0.05)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    return TreeRun(
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        samples=samples,
        stdout=stdout_path.read_text(errors="replace"),
        stderr=stderr_path.read_text(errors="replace"),
    )
