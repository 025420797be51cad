"""Where the CPU goes in ``apigen run``: py-spy samples, folded into a table.

``py-spy record --format raw`` writes one line per distinct stack (``frame;frame;... count``).
:func:`profile_run` records a whole run (workers included) and :func:`summarize` folds it
into self time per function and total time per module group, for the report.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ._endpoint import REPO

__all__ = ["profile_run", "summarize"]

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]+?)(?::\d+)?\)$")
_OURS = ("streamer/", "topics/", "executors/")


def py_spy() -> str | None:
    """The py-spy binary next to this interpreter, or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def profile_run(cmd: list[str], out: Path, rate: int = 200) -> Path | None:
    """Run ``cmd`` under py-spy (``rate`` samples/s, idle stacks dropped); the raw file."""
    binary = py_spy()
    if binary is None:
        return None
    raw = out / "profile.raw.txt"
    # --gil: only the thread holding the GIL is sampled, so shares approximate Python CPU
    # time rather than wall time of every thread.
    spy = [binary, "record", "--format", "raw", "--rate", str(rate), "--subprocesses",
           "--gil", "-o", str(raw), "--"]  # fmt: skip
    with (out / "profile.log").open("wb") as log:
        subprocess.run(spy + cmd, cwd=REPO, stdout=log, stderr=log, check=False)
    return raw if raw.exists() else None


def _package(file: str) -> str:
    """``anyio``, ``asyncio``, ``threading``... from py-spy's shortened file names."""
    head = file.split("/", 1)[0]
    return head.removesuffix(".py") if not head.startswith("<") else "importlib"


_ONE_OFF = ("<frozen importlib", "export_dataset", "_load_lsh")
"""Frames that mark a sample as start-up or the final export, not the steady state."""


def summarize(raw: Path, top: int = 25, *, steady: bool = False) -> dict[str, Any]:
    """Shares of all samples: by our innermost module (``ours``: the streamer/topics/
    executors function a sample is under, libraries it calls included), by the package of
    the leaf frame (``leaf``), and self time per function (``functions``). Samples without
    a Python frame (native code, GIL waits) count as ``(native)``.

    ``steady``: leave out samples under an import or the final export (:data:`_ONE_OFF`),
    so the shares are of the steady state; ``one_off`` then says what share was left out.
    """
    ours: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    one_off = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        if steady and any(marker in stack for marker in _ONE_OFF):
            one_off += n
            continue
        total += n
        frames = [m for m in map(_FRAME.match, stack.split(";")[1:]) if m is not None]
        if not frames:
            ours["(native)"] += n
            leaf["(native)"] += n
            continue
        last = frames[-1]
        leaf[_package(last["file"])] += n
        self_time[f"{last['func']} ({last['file']})"] += n
        own = next((m for m in reversed(frames) if m["file"].startswith(_OURS)), None)
        ours[f"{own['file']}:{own['func']}" if own else "(no project frame)"] += n

    def shares(counter: Counter[str], key: str) -> list[dict[str, Any]]:
        return [{key: k, "share": round(v / total, 4)} for k, v in counter.most_common(top)]

    if not total:
        return {"samples": 0, "ours": [], "leaf": [], "functions": []}
    return {
        "samples": total,
        **({"one_off_share": round(one_off / (total + one_off), 4)} if steady else {}),
        "ours": shares(ours, "where"),
        "leaf": shares(leaf, "package"),
        "functions": shares(self_time, "function"),
    }
