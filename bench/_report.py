"""``report.md`` and its PNG plots from the harness's results (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_report"]

GOALS = {
    "speedup_at_0ms": 10.0,
    "utilization_at_200ms": 0.95,
    "cpu_ms_per_verified": 2.0,
    "pss_peak_mb": 250.0,
    "replay_events_per_s": 10_000.0,
}
"""Issue 16's goals: verified/s ratio to distilabel at 0 ms, endpoint utilization at 200 ms
(middle 80 % of the busy window), steady CPU ms per verified pair, summed peak PSS in MiB,
replayed events per second."""


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    _save(plt, fig, path)


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
    _save(plt, fig, path)


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
    _save(plt, fig, path)


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
        "Cases named `-p3` run with `[runner] processes = 3` (the generator, and the format "
        "and execution checks, each in a process of their own); the others with the default "
        "(one process). Figures of repeated cases are medians over the runs ('runs').",
        "",
        "| case | processes | runs | tasks | verified | verified/s | CPU ms/verified "
        "| steady CPU ms/verified | peak PSS MiB | endpoint utilization |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [*e2e, long_run]:
        util = f"{r['endpoint_utilization']:.1%} (steady {r['endpoint_utilization_steady']:.1%})"
        lines.append(
            f"| {r['case']} | {r.get('layout_processes', 1)} | {r.get('repeats', 1)} | "
            f"{r['samples']} | {r['verified']} | {r['verified_per_s']} | "
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
    lines += _scale_section(results.get("scale_out") or [])
    lines += _curve_section(results.get("curve") or [])
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
        steady = profile.get("steady")
        if steady and steady.get("samples"):
            lines += [
                "### What remains in the steady state",
                "",
                f"The same samples without those under an import or the final export "
                f"({steady['one_off_share']:.1%} of the run's samples were start-up and "
                "export).",
                "",
                "| our code | share | | function (self time) | share |",
                "|---|---|---|---|---|",
            ]
            for o, f in zip(steady["ours"], steady["functions"], strict=False):
                lines.append(
                    f"| `{o['where']}` | {o['share']:.1%} | | `{f['function']}` | "
                    f"{f['share']:.1%} |"
                )
            lines.append("")
    lines += _goals(results, distil)
    (out / "report.md").write_text("\n".join(lines) + "\n")
    _plots(out, e2e, long_run, stages, distil)
    if results.get("scale_out"):
        _scale_plot(out / "scale_out.png", results["scale_out"])
    if results.get("curve"):
        _curve_plot(out / "cpu_curve.png", results["curve"])


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


def _scale_section(points: list[dict[str, Any]]) -> list[str]:
    if not points:
        return []
    lines = [
        "## Scale-out: processes and partitions",
        "",
        "One run per point. processes = `[runner] processes` (1: everything in one event "
        "loop; 2: the generator apart; 3: also format and execution apart); partitions = of "
        "every topic. On these 2 cores the endpoint process and the run share the CPU.",
        "",
        "| transport | latency ms | processes | partitions | verified/s | steady CPU "
        "ms/verified | peak PSS MiB | steady utilization |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        util = f"{p['endpoint_utilization_steady']:.1%}" if p["latency_ms"] else "-"
        lines.append(
            f"| {p['transport']} | {p['latency_ms']:g} | {p['layout_processes']} | "
            f"{p['partitions']} | {p['verified_per_s']} | "
            f"{_fmt(p['steady_cpu_ms_per_verified'])} | {p['pss_peak_mb']} | {util} |"
        )
    return [*lines, "", "![scale-out](scale_out.png)", ""]


def _curve_section(curve: list[dict[str, Any]]) -> list[str]:
    if not curve:
        return []
    lines = [
        "## CPU per verified pair against run length (embedded, 0 ms, one process)",
        "",
        "| tasks | verified/s | CPU ms/verified (total) | steady CPU ms/verified | peak PSS MiB |",
        "|---|---|---|---|---|",
    ]
    for r in curve:
        lines.append(
            f"| {r['samples']} | {r['verified_per_s']} | {_fmt(r['cpu_ms_per_verified'])} | "
            f"{_fmt(r['steady_cpu_ms_per_verified'])} | {r['pss_peak_mb']} |"
        )
    return [*lines, "", "![CPU curve](cpu_curve.png)", ""]


def _goals(results: dict[str, Any], distil: list[dict[str, Any]]) -> list[str]:
    """Each goal of issue 16 with the measured figure and whether it is met."""
    e2e: list[dict[str, Any]] = results["e2e"]
    long_run: dict[str, Any] = results["long_run"]
    lines = ["## Goals", ""]
    d0 = [d for d in distil if d["latency_ms"] == 0]
    if d0:
        peer = max(d0, key=lambda d: d["verified_per_s"])
        for r in (r for r in e2e if r["latency_ms"] == 0):
            ratio = r["verified_per_s"] / max(peer["verified_per_s"], 1e-9)
            lines.append(
                f"- {r['case']}: verified/s {ratio:.1f}x distilabel's ({r['verified_per_s']} vs "
                f"{peer['verified_per_s']}, {peer['case']}; goal >= "
                f"{GOALS['speedup_at_0ms']:g}x): {_met(ratio >= GOALS['speedup_at_0ms'])}"
            )
    for r in (r for r in e2e if r["latency_ms"] >= 200):
        util = r["endpoint_utilization_steady"]
        lines.append(
            f"- {r['case']}: endpoint utilization {util:.1%} in the middle 80 % of the busy "
            f"window ({r['endpoint_utilization']:.1%} over all of it; goal >= 95 %): "
            f"{_met(util >= GOALS['utilization_at_200ms'])}"
        )
    for r in [*e2e, long_run]:
        steady = r["steady_cpu_ms_per_verified"]
        lines.append(
            f"- {r['case']}: steady CPU per verified pair {_fmt(steady)} ms (total "
            f"{_fmt(r['cpu_ms_per_verified'])} ms; goal <= 2 ms): "
            f"{_met(steady is not None and steady <= GOALS['cpu_ms_per_verified'])}; peak PSS "
            f"{r['pss_peak_mb']} MiB (goal <= 250): "
            f"{_met(r['pss_peak_mb'] <= GOALS['pss_peak_mb'])}"
        )
    curve = results.get("curve") or []
    steadies = [c["steady_cpu_ms_per_verified"] for c in curve if c["steady_cpu_ms_per_verified"]]
    if len(steadies) > 1:
        spread = max(steadies) / min(steadies)
        sizes = ", ".join(str(c["samples"]) for c in curve)
        lines.append(
            f"- CPU-per-pair curve over {sizes} tasks: steady {min(steadies):g}-"
            f"{max(steadies):g} ms, largest/smallest {spread:.2f} (flat: within 1.25): "
            f"{_met(spread <= 1.25)}"
        )
    replay = (results.get("stages") or {}).get("replay_format")
    if replay:
        rate = replay["events_per_s"]
        lines.append(
            f"- replay of {replay['events']} retained events: {rate} events/s through the "
            "format stage alone (the goal is format and execution; execution replay is not "
            f"measured by this harness yet; goal >= 10,000/s): "
            f"{_met(rate >= GOALS['replay_events_per_s'])}"
        )
    return [*lines, ""]


def _scale_plot(path: Path, points: list[dict[str, Any]]) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    keys = sorted({(p["transport"], p["latency_ms"], p["partitions"]) for p in points})
    for key in keys:
        transport, latency, partitions = key
        pts = sorted(
            (p["layout_processes"], p["verified_per_s"])
            for p in points
            if (p["transport"], p["latency_ms"], p["partitions"]) == key
        )
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o",
                label=f"{transport} {latency:g} ms, {partitions} partitions")  # fmt: skip
    ax.set_xlabel("processes of apigen run")
    ax.set_ylabel("verified pairs/s")
    ax.set_xticks([1, 2, 3])
    ax.set_title("Scale-out on 2 cores (the endpoint shares them)")
    ax.legend(fontsize=7)
    _save(plt, fig, path)


def _curve_plot(path: Path, curve: list[dict[str, Any]]) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = [c["samples"] for c in curve]
    ax.plot(xs, [c["cpu_ms_per_verified"] or 0 for c in curve], marker="o", label="total")
    ax.plot(xs, [c["steady_cpu_ms_per_verified"] or 0 for c in curve], marker="o",
            label="steady")  # fmt: skip
    ax.axhline(GOALS["cpu_ms_per_verified"], color="#999999", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("tasks")
    ax.set_ylabel("CPU ms per verified pair")
    ax.set_title("CPU per verified pair against run length (dashed: the goal)")
    ax.legend()
    _save(plt, fig, path)


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
