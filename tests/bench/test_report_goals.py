"""The report says plainly which of issue 16's goals a run met, from the measured figures."""

from __future__ import annotations

from typing import Any

from bench._report import _goals


def _case(name: str, latency_ms: float, **figures: Any) -> dict[str, Any]:
    base = {
        "case": name,
        "latency_ms": latency_ms,
        "verified_per_s": 100.0,
        "cpu_ms_per_verified": 3.0,
        "steady_cpu_ms_per_verified": 1.5,
        "pss_peak_mb": 200.0,
        "endpoint_utilization": 0.9,
        "endpoint_utilization_steady": 0.96,
        "samples": 1000,
    }
    return base | figures


def _line(lines: list[str], start: str) -> str:
    (line,) = [ln for ln in lines if ln.startswith(f"- {start}")]
    return line


def test_each_goal_is_called_met_or_not_met_from_its_figure() -> None:
    results = {
        "e2e": [
            _case("embedded-0ms", 0, verified_per_s=300.0),
            _case("kafka-0ms", 0, verified_per_s=250.0, pss_peak_mb=251.0),
            _case("embedded-200ms", 200, endpoint_utilization_steady=0.949),
        ],
        "long_run": _case("long-embedded-0ms", 0, steady_cpu_ms_per_verified=2.01),
        "curve": [
            _case("c1", 0, samples=1000, steady_cpu_ms_per_verified=1.0),
            _case("c2", 0, samples=10_000, steady_cpu_ms_per_verified=1.3),
        ],
        "stages": {"replay_format": {"events": 100_000, "events_per_s": 9999.0}},
    }
    distil = [{"case": "distilabel-1000-0ms-b50", "latency_ms": 0, "verified_per_s": 25.0}]
    lines = _goals(results, distil)
    assert "12.0x" in _line(lines, "embedded-0ms: verified/s")
    assert _line(lines, "embedded-0ms: verified/s").endswith("**met**")
    assert _line(lines, "kafka-0ms: verified/s").endswith("**met**")  # exactly 10x
    assert _line(lines, "embedded-200ms: endpoint").endswith("**not met**")
    assert "**not met**" in _line(lines, "kafka-0ms: steady CPU").split("peak PSS")[1]
    assert "**not met**" in _line(lines, "long-embedded-0ms: steady CPU").split("; peak")[0]
    assert "**met**" in _line(lines, "embedded-0ms: steady CPU").split("; peak")[0]
    assert "1.30" in _line(lines, "CPU-per-pair curve") and "**not met**" in _line(
        lines, "CPU-per-pair curve"
    )
    assert _line(lines, "replay of 100000").endswith("**not met**")
