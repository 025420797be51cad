"""A real Prometheus scrapes ``run_multi_turn``: every query of the multi-turn dashboard
returns series, and the multi-turn counts match what the run stored and rejected.

The run (embedded log, the simulated endpoint in this process playing writer, reviewers,
user and agent, with faults at every stage) serves its ``/metrics`` on a free port that
Prometheus scrapes every second, with the repository's rules. Faults at every stage fill
every reject panel; ``max_rounds = 1`` makes some tasks fail twice, so drafts are refined
and rejected for good. The metrics live in this process's registry, which other tests of
the session may have counted into under the same labels, so every exact check compares an
increase over the run (Prometheus' value now minus what the registry served before the run)
with the stores: trajectories verified and user turns / actions per domain against the
trajectory store, conversation ends and draft outcomes against the funnel and the stage
counters, turn limits against the simulator's injected faults. ``promtool check metrics``
accepts the exposition.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client import REGISTRY

from streamer.dataset._store import DatasetStore
from streamer.dataset._trajectory_store import DomainCounts, TrajectoryStore
from streamer.llm import SimulatorConfig, run_simulator
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.pipeline._multi_turn import MultiTurnSummary, run_multi_turn
from streamer.pipeline._multi_turn_config import MultiTurnConfig
from streamer.runtime._metrics import serve_metrics

from ._prometheus import Prometheus, free_port, running_prometheus
from ._scenario import lint, multi_turn_expressions

pytestmark = pytest.mark.slow

SAMPLES = 60
FAULTS = {
    "blueprint_invalid_json": 0.05,
    "blueprint_failing_action": 0.1,
    "blueprint_unknown_tool": 0.1,
    "review_reject": 0.1,
    "agent_wrong_argument": 0.05,
    "agent_skip_action": 0.05,
    "user_never_stops": 0.08,
}
"""A fault for every stage that rejects (writer, validator, interplay, checker)."""

STAGES = {"blueprint-writer", "blueprint-validator", "interplay", "trajectory-checker"}

VERIFIED = "apigen_multi_turn_trajectories_verified_total"
USER_TURNS = "apigen_multi_turn_trajectory_user_turns_sum"
ACTIONS = "apigen_multi_turn_trajectory_actions_sum"
DRAFTS = "apigen_multi_turn_blueprint_drafts_total"
ENDS = "apigen_multi_turn_conversations_ended_total"


@dataclass(frozen=True)
class Outcome:
    summary: MultiTurnSummary
    expected: Counter[tuple[str, str]]
    rejects: Counter[tuple[str, str]]
    domains: dict[str, DomainCounts]
    stored: int


def _served(name: str, labels: Mapping[str, str] | None = None) -> float:
    """What this process's registry serves for ``name``, summed over series with ``labels``."""
    wanted = (labels or {}).items()
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name and wanted <= sample.labels.items()
    )


def _promql(name: str, labels: Mapping[str, str] | None = None) -> str:
    matchers = ", ".join(f'{k}="{v}"' for k, v in (labels or {}).items())
    return f"sum({name}{{{matchers}}})"


class Increases:
    """Counters' increases over the run, as Prometheus has scraped them."""

    def __init__(self, server: Prometheus) -> None:
        self.server = server
        self._before: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def watch(self, name: str, **labels: str) -> None:
        self._before[(name, tuple(sorted(labels.items())))] = _served(name, labels)

    def __call__(self, name: str, **labels: str) -> float:
        """The increase since :meth:`watch`, once Prometheus has scraped the registry's
        current value (10 s at most)."""
        before = self._before[(name, tuple(sorted(labels.items())))]
        now = _served(name, labels)
        deadline = time.monotonic() + 10
        while True:
            value = self.server.value(_promql(name, labels)) or 0.0
            if value == now or time.monotonic() > deadline:
                return value - before
            time.sleep(0.5)


def _config(out: Path, base_url: str) -> PipelineConfig:
    model = ModelConfig(kind="openai", base_url=base_url, model="simulated-multi-turn")
    return PipelineConfig(
        out=out,
        samples=SAMPLES,
        generators=(model,),
        judges=(model,),
        partitions=2,
        multi_turn=MultiTurnConfig(enabled=True, max_rounds=1),
    )


async def _run(out: Path) -> Outcome:
    async with run_simulator(SimulatorConfig(seed=5, corruption=FAULTS)) as sim:
        summary = await run_multi_turn(_config(out, sim.base_url))
        expected = sim.stats.expected_rejects()
    funnel = DatasetStore(out / "dataset.db", near_threshold=0)
    store = TrajectoryStore(out / "trajectories.db")
    try:
        rejects: Counter[tuple[str, str]] = Counter()
        for row in funnel.funnel():
            rejects[(row.stage, row.reason)] += row.count
        domains = {d.domain: d for d in store.domains()}
        stored = store.count(include_duplicates=True)
    finally:
        funnel.close()
        store.close()
    return Outcome(summary, expected, rejects, domains, stored)


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def _without_series(server: Prometheus, seconds: float = 60) -> list[str]:
    """The dashboard's expressions still without series after ``seconds`` of polling."""
    exprs = multi_turn_expressions()
    assert len(exprs) >= 18  # every panel's queries and the domain variable
    deadline = time.monotonic() + seconds
    while True:
        missing = [f"{e.where}: {e.promql}" for e in exprs if server.series(e.promql) == 0]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(1)


def _watch(increases: Increases) -> None:
    for domain in ("retail", "airline"):
        for name in (VERIFIED, USER_TURNS, ACTIONS):
            increases.watch(name, domain=domain)
    increases.watch(VERIFIED)
    for outcome in ("passed", "rejected", "refined"):
        increases.watch(DRAFTS, outcome=outcome)
    for reason in ("user_done", "turn_limit"):
        increases.watch(ENDS, reason=reason)
    increases.watch(ENDS)
    increases.watch("apigen_stage_consumed_total", stage="interplay")
    increases.watch("apigen_stage_consumed_total", stage="blueprint-validator")
    increases.watch("apigen_stage_outputs_total", stage="interplay", outcome="pass")


def _check_counts(server: Prometheus, increases: Increases, outcome: Outcome) -> None:
    # Trajectories: the counter is the store, per domain too, with the turns and actions.
    assert outcome.summary.trajectories == outcome.stored > SAMPLES // 3
    assert increases(VERIFIED) == outcome.stored
    assert set(outcome.domains) == {"retail", "airline"}
    for domain, counts in outcome.domains.items():
        assert increases(VERIFIED, domain=domain) == counts.trajectories, domain
        assert increases(USER_TURNS, domain=domain) == counts.user_turns, domain
        assert increases(ACTIONS, domain=domain) == counts.actions, domain
    assert (server.value(f"sum(increase({VERIFIED}[5m]))") or 0) > 0  # grew while scraped
    # Conversations: one end per blueprint the interplay took; a non-user_done end is its
    # reject; the turn limits are the simulator's never-stopping users.
    assert increases(ENDS) == increases("apigen_stage_consumed_total", stage="interplay")
    passed = increases("apigen_stage_outputs_total", stage="interplay", outcome="pass")
    assert increases(ENDS, reason="user_done") == passed
    turn_limits = outcome.rejects[("interplay", "turn_limit")]
    assert increases(ENDS, reason="turn_limit") == turn_limits
    assert turn_limits == outcome.expected[("interplay", "turn_limit")] > 0
    # Drafts: one outcome per blueprint the validator judged; failing ones are its rejects.
    drafts = {o: increases(DRAFTS, outcome=o) for o in ("passed", "rejected", "refined")}
    assert sum(drafts.values()) == increases(
        "apigen_stage_consumed_total", stage="blueprint-validator"
    )
    validator_rejects = sum(
        n for (stage, _), n in outcome.rejects.items() if stage == "blueprint-validator"
    )
    assert drafts["rejected"] + drafts["refined"] == validator_rejects
    assert drafts["refined"] > 0 and drafts["rejected"] > 0, drafts
    assert drafts["passed"] == increases("apigen_stage_consumed_total", stage="interplay")
    # Every multi-turn stage that rejects has rejects on the dashboard's panels.
    rejecting = "sum by (stage) (apigen_stage_rejects_total) > 0"
    assert server.labels(rejecting, "stage") >= STAGES
    assert outcome.rejects == outcome.expected, (outcome.rejects, outcome.expected)


def test_every_multi_turn_panel_has_data_and_the_counts_match_the_stores(
    prometheus_bin: str, promtool: str, tmp_path: Path
) -> None:
    port = free_port()
    jobs = {"apigen": [f"127.0.0.1:{port}"]}
    with serve_metrics(port), running_prometheus(prometheus_bin, tmp_path, jobs) as server:
        _wait_until(lambda: server.series('up{job="apigen"} == 1') == 1, "not scraped")
        increases = Increases(server)
        _watch(increases)
        outcome = anyio.run(_run, tmp_path / "out")
        missing = _without_series(server)
        assert missing == [], "expressions without series:\n" + "\n".join(missing)
        _check_counts(server, increases, outcome)
        lint(promtool, httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
