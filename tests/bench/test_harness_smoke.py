"""The benchmark harness must not rot: its quick mode, our side only, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_mode_writes_sane_results_and_a_report(tmp_path: Path) -> None:
    out, work = tmp_path / "results", tmp_path / "work"
    cmd = [sys.executable, "-m", "bench", "--quick", "--no-kafka", "--no-distilabel",
           "--no-profile", "--out", str(out), "--work", str(work)]  # fmt: skip
    subprocess.run(cmd, cwd=REPO, check=True, timeout=600)
    results = json.loads((out / "pipeline.json").read_text())
    assert {"machine_before", "machine_after", "plan", "e2e", "long_run", "stages"} <= set(results)
    cases = {r["case"]: r for r in results["e2e"]}
    assert set(cases) == {"embedded-0ms", "embedded-200ms"}
    for r in [*cases.values(), results["long_run"]]:
        # Every task of the simulated run ends verified or rejected, nothing is lost.
        assert (
            r["verified"]
            + sum(n for k, n in r["funnel"].items() if not k.startswith("semantic:pass"))
            == r["samples"]
        )
        assert r["verified"] > 0.5 * r["samples"]
        assert 0 < r["verified_per_s"] < 100_000
        assert 0 < r["cpu_ms_per_verified"] < 10_000
        assert 20 < r["pss_peak_mb"] < 4096
        assert r["series"] and r["series"][-1]["verified"] == r["verified"]
    slow = cases["embedded-200ms"]
    assert slow["endpoint_requests"] >= slow["samples"]
    assert 0 < slow["endpoint_mean_in_flight"] <= slow["endpoint_limit"]
    assert 0 < slow["endpoint_utilization"] <= 1
    stages = results["stages"]
    assert set(stages) == {
        "format", "execution_python", "semantic_rules", "execution_rest", "replay_format"
    }  # fmt: skip
    for name, s in stages.items():
        assert s["events"] > 0 and s["events_per_s"] > 0, name
        assert s["produced"] >= s["events"] - s["rejected"], name
    assert stages["replay_format"]["events"] == results["plan"]["replay_events"]
    report = (out / "report.md").read_text()
    assert "## End to end" in report and "embedded-200ms" in report
    for png in ("verified_per_s.png", "cpu_per_verified.png", "stages.png", "memory.png"):
        assert (out / png).read_bytes().startswith(b"\x89PNG"), png
