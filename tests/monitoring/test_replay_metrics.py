"""``apigen replay --metrics-port`` serves the replayed stage's metrics under its new version
while it runs, as the replay dashboard needs (a real run's log, the real CLI)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ._prometheus import free_port

pytestmark = pytest.mark.slow

APIGEN = Path(sys.executable).with_name("apigen")


def test_a_replay_serves_its_stage_under_the_new_version(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [str(APIGEN), "run", "--simulate", "--samples", "12", "--out", str(out)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    port = free_port()
    command = [str(APIGEN), "replay", "--log", str(out / "log.db"), "--stage", "format",
               "--version", "strict-v9", "--metrics-port", str(port)]  # fmt: skip
    seen = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as replay:
        deadline = time.monotonic() + 120
        while replay.poll() is None and time.monotonic() < deadline:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                text = ""
            if "apigen_build_info{" in text and 'version="strict-v9-' in text:
                seen = text
            time.sleep(0.05)
        stdout, stderr = replay.communicate(timeout=60)
    assert replay.returncode == 0, stderr.decode()[-2000:]
    assert b"strict-v9" in stdout
    # The version label is the name given plus the checker's config hash.
    lines = [line for line in seen.splitlines() if 'version="strict-v9-' in line]
    assert any(line.startswith("apigen_build_info{") and 'stage="format"' in line for line in lines)
    assert any(line.startswith("apigen_stage_consumed_total{") for line in lines), lines
