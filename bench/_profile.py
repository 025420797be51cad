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

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")
_GROUPS = (
    ("site-packages/anyio", "anyio"),
    ("asyncio/", "asyncio event loop"),
    ("site-packages/openai", "openai SDK"),
    ("site-packages/httpx", "httpx"),
    ("site-packages/aiohttp", "aiohttp"),
    ("site-packages/httpcore", "httpx"),
    ("site-packages/pydantic", "pydantic"),
    ("site-packages/datasketch", "datasketch (MinHash)"),
    ("site-packages/numpy", "numpy"),
    ("site-packages/jsonschema", "jsonschema"),
    ("sqlite3", "sqlite3"),
    ("topics/", "topics (log, serde)"),
    ("streamer/llm/", "streamer.llm (client)"),
    ("streamer/stages/", "streamer.stages"),
    ("streamer/_runner", "streamer runner"),
    ("streamer/", "streamer (other)"),
    ("executors/", "executors"),
    ("<frozen importlib", "imports"),
    ("importlib", "imports"),
)


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
    spy = [binary, "record", "--format", "raw", "--rate", str(rate), "--subprocesses",
           "--nonblocking", "-o", str(raw), "--"]  # fmt: skip
    with (out / "profile.log").open("wb") as log:
        subprocess.run(spy + cmd, cwd=REPO, stdout=log, stderr=log, check=False)
    return raw if raw.exists() else None


def _group(file: str) -> str:
    for needle, name in _GROUPS:
        if needle in file:
            return name
    return "other"


def summarize(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self samples per function and inclusive samples per group, as shares of all."""
    self_time: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        leaf = _FRAME.match(frames[-1])
        where = leaf["file"].split("site-packages/")[-1] if leaf else ""
        name = f"{leaf['func']} ({where})" if leaf else frames[-1]
        self_time[name] += n
        # The group of the innermost frame that is not the event loop machinery.
        group = "other"
        for frame in reversed(frames):
            m = _FRAME.match(frame)
            if m is None:
                continue
            group = _group(m["file"])
            break
        groups[group] += n
    if not total:
        return {"samples": 0, "functions": [], "groups": []}
    return {
        "samples": total,
        "functions": [
            {"function": f, "share": round(n / total, 4)} for f, n in self_time.most_common(top)
        ],
        "groups": [{"group": g, "share": round(n / total, 4)} for g, n in groups.most_common()],
    }
