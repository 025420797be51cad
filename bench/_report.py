"""``report.md`` and its PNG plots from the harness's results (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_report"]

GOALS = {
    "speedup_at_0ms": 10.0,
    "utilization_at_200ms": 0.95,
    "cpu_ms_per_verified": 2.0,
    "pss_peak_mb": 300.0,
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bar(path: Path, title: str, ylabel: str, labels: list[str], values: list[float]) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    colors = ["#888888" if lab.startswith("distilabel") else "#2a7ab9" for lab in labels]
    ax.bar(labels, values, color=colors)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=30)
    for i, v in enumerate(values):
        ax.annotate(f"{v:g}", (i, v), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _memory_plot(path: Path, run: dict[str, Any]) -> None:
    plt = _plt()
    series = run["series"]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([s["t_s"] for s in series], [s["pss_mb"] for s in series], label="summed PSS (MiB)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MiB")
    ax2 = ax.twinx()
    ax2.plot([s["t_s"] for s in series], [s["verified"] for s in series], color="#d08a1a",
             label="verified pairs")  # fmt: skip
    ax2.set_ylabel("verified pairs")
    ax.set_title(f"apigen run memory over {run['samples']} tasks ({run['case']})")
    fig.legend(loc="center right", bbox_to_anchor=(0.88, 0.45))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _in_flight_plot(path: Path, runs: list[dict[str, Any]]) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    for r in runs:
        pts = r.get("in_flight_series") or []
        ax.plot([t for t, _ in pts], [n for _, n in pts], label=r["case"])
        ax.axhline(r["endpoint_limit"], color="#999999", linestyle="--", linewidth=0.8)
    ax.set_xlabel("seconds")
    ax.set_ylabel("requests in flight at the endpoint")
    ax.set_title("Endpoint utilization at 200 ms (dashed: the endpoint's limit)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def write_report(results: dict[str, Any], out: Path) -> None:
    """Write ``report.md`` and the PNGs it links into ``out``."""
    e2e: list[dict[str, Any]] = results["e2e"]
    long_run: dict[str, Any] = results["long_run"]
    stages: dict[str, Any] = results["stages"]
    distil: list[dict[str, Any]] = results.get("distilabel") or []
    lines = ["# apigen-streamer benchmark", ""]
    mb, ma = results["machine_before"], results["machine_after"]
    lines += [
        f"Python {mb['python']}, {mb['cpus']} CPUs, {mb['platform']}. Load average (1 min) "
        f"{mb['load_average_1m']} before, {ma['load_average_1m']} after: wall-time numbers "
        "on a loaded machine are pessimistic; CPU seconds are less sensitive to load.",
        "",
        "CPU is the `apigen run` process tree (the run and its Python executor workers); the "
        "simulated endpoint runs as its own process and is not counted. 'steady' is the slope "
        "of CPU seconds over verified pairs between 20 % and 90 % of the run (start-up imports "
        "and the final export excluded). PSS is summed over the tree.",
        "",
        "## End to end (simulated endpoint)",
        "",
        "| case | tasks | verified | verified/s | CPU ms/verified | steady CPU ms/verified "
        "| peak PSS MiB | endpoint utilization |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in [*e2e, long_run]:
        util = f"{r['endpoint_utilization']:.1%} (steady {r['endpoint_utilization_steady']:.1%})"
        lines.append(
            f"| {r['case']} | {r['samples']} | {r['verified']} | {r['verified_per_s']} | "
            f"{_fmt(r['cpu_ms_per_verified'])} | {_fmt(r['steady_cpu_ms_per_verified'])} | "
            f"{r['pss_peak_mb']} | {util if r['latency_ms'] else 'n/a at 0 ms'} |"
        )
    lines += ["", "![verified/s](verified_per_s.png)", "", "![CPU](cpu_per_verified.png)", ""]
    if any(r["latency_ms"] >= 200 for r in e2e):
        lines += ["![in flight](in_flight.png)", ""]
    series = long_run["series"]
    final = max((x["verified"] for x in series), default=0)
    # Processing ends when the last pair is verified; the export that follows is reported
    # apart, because it is a one-off peak, not growth.
    processing = [x for x in series if x["verified"] < final] or series
    half = processing[len(processing) // 2 :]
    growth = None
    if len(half) > 2 and half[-1]["verified"] > half[0]["verified"]:
        growth = (half[-1]["pss_mb"] - half[0]["pss_mb"]) / (
            (half[-1]["verified"] - half[0]["verified"]) / 1000
        )
    peak_processing = max((x["pss_mb"] for x in processing), default=0.0)
    lines += [
        "## Memory over a long run",
        "",
        f"{long_run['case']} ({long_run['samples']} tasks, up to {long_run['processes']} "
        f"processes): peak {peak_processing} MiB while processing, {long_run['pss_peak_mb']} "
        "MiB overall (the final export); second-half growth while processing "
        f"{_fmt(round(growth, 2) if growth is not None else None)} MiB per 1,000 verified "
        "pairs.",
        "",
        "![memory](memory.png)",
        "",
        "## Per stage (embedded log, one runner, fresh group over retained events)",
        "",
        "| measurement | events | events/s | CPU ms/event | rejected |",
        "|---|---|---|---|---|",
    ]
    for name, s in stages.items():
        lines.append(
            f"| {name} | {s['events']} | {s['events_per_s']} | {s['cpu_ms_per_event']} | "
            f"{s['rejected']} |"
        )
    lines += ["", "![stages](stages.png)", ""]
    if distil:
        lines += _distilabel_section(e2e, distil)
    profile = results.get("profile")
    if profile and profile.get("samples"):
        lines += [
            "## Where the CPU goes (py-spy over a whole run, executor workers included)",
            "",
            "Shares of samples. 'our code' is the innermost project function a sample is "
            "under (the libraries it calls included); 'leaf package' is where the CPU "
            "actually was.",
            "",
            "| our code | share |",
            "|---|---|",
        ]
        lines += [f"| `{o['where']}` | {o['share']:.1%} |" for o in profile["ours"]]
        lines += ["", "| leaf package | share |", "|---|---|"]
        lines += [f"| {o['package']} | {o['share']:.1%} |" for o in profile["leaf"]]
        lines += ["", "| function (self time) | share |", "|---|---|"]
        lines += [f"| `{f['function']}` | {f['share']:.1%} |" for f in profile["functions"]]
        lines.append("")
    lines += _goals(e2e, long_run, distil)
    (out / "report.md").write_text("\n".join(lines) + "\n")
    _plots(out, e2e, long_run, stages, distil)


def _distilabel_section(e2e: list[dict[str, Any]], distil: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Side by side: distilabel 1.5.3 APIGen (same endpoint, same functions)",
        "",
        "| case | rows | verified | verified/s | CPU ms/verified | peak PSS MiB | processes |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in distil:
        lines.append(
            f"| {d['case']} | {d['rows']} | {d['verified']} | {d['verified_per_s']} | "
            f"{_fmt(d['cpu_ms_per_verified'])} | {d['pss_peak_mb']} | {d['processes']} |"
        )
    lines.append("")
    for ours in e2e:
        theirs = [d for d in distil if d["latency_ms"] == ours["latency_ms"]]
        if not theirs:
            continue
        best = max(theirs, key=lambda d: d["verified_per_s"])
        cpu_ratio = (
            best["cpu_ms_per_verified"] / ours["cpu_ms_per_verified"]
            if best["cpu_ms_per_verified"] and ours["cpu_ms_per_verified"]
            else None
        )
        lines.append(
            f"- {ours['case']} vs {best['case']}: verified/s ratio "
            f"{ours['verified_per_s'] / max(best['verified_per_s'], 1e-9):.1f}x, CPU per verified "
            f"{_fmt(round(cpu_ratio, 1) if cpu_ratio else None)}x less, peak memory "
            f"{best['pss_peak_mb'] / max(ours['pss_peak_mb'], 1e-9):.1f}x less."
        )
    return [*lines, ""]


def _goals(
    e2e: list[dict[str, Any]], long_run: dict[str, Any], distil: list[dict[str, Any]]
) -> list[str]:
    lines = ["## Goals", ""]
    zero = next((r for r in e2e if r["case"] == "embedded-0ms"), None)
    d0 = [d for d in distil if d["latency_ms"] == 0]
    if zero and d0:
        best = max(d["verified_per_s"] for d in d0)
        ratio = zero["verified_per_s"] / best
        lines.append(f"- 0 ms, verified/s vs distilabel: {ratio:.1f}x (goal >= 10x)")
    for r in e2e:
        if r["latency_ms"] >= 200:
            lines.append(
                f"- {r['case']}: endpoint utilization {r['endpoint_utilization']:.1%} over the "
                f"busy window, {r['endpoint_utilization_steady']:.1%} in its middle 80 % "
                "(goal >= 95 %)"
            )
    for r in [*e2e, long_run]:
        lines.append(
            f"- {r['case']}: CPU per verified pair {_fmt(r['cpu_ms_per_verified'])} ms total, "
            f"{_fmt(r['steady_cpu_ms_per_verified'])} ms steady (goal <= 2 ms); peak PSS "
            f"{r['pss_peak_mb']} MiB (goal < 300 MiB)"
        )
    return [*lines, ""]


def _plots(
    out: Path,
    e2e: list[dict[str, Any]],
    long_run: dict[str, Any],
    stages: dict[str, Any],
    distil: list[dict[str, Any]],
) -> None:
    labels = [r["case"] for r in e2e] + [f"distilabel {d['case'][11:]}" for d in distil]
    _bar(out / "verified_per_s.png", "Verified pairs per second (wall)", "verified/s", labels,
         [r["verified_per_s"] for r in e2e] + [d["verified_per_s"] for d in distil])  # fmt: skip
    _bar(out / "cpu_per_verified.png", "CPU ms per verified pair (total, endpoint excluded)",
         "ms", labels,
         [r["cpu_ms_per_verified"] or 0 for r in e2e]
         + [d["cpu_ms_per_verified"] or 0 for d in distil])  # fmt: skip
    _bar(out / "stages.png", "Per-stage throughput (events/s)", "events/s", list(stages),
         [s["events_per_s"] for s in stages.values()])  # fmt: skip
    _memory_plot(out / "memory.png", long_run)
    slow = [r for r in e2e if r["latency_ms"] >= 200]
    if slow:
        _in_flight_plot(out / "in_flight.png", slow)
