"""The LLM endpoint misbehaves (429s, 500s, hangs, truncated and non-JSON bodies): the
generator stage, on the real simulated endpoint over HTTP, still ends every task in exactly
one terminal outcome — a generation, after retries (and, through an outage, a pause) where
needed, or an ``llm_bad_response`` reject when the body stayed broken on every attempt. An
outage is no verdict on the task, so no task is rejected for one (issue 21)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import anyio
import pytest

from streamer.llm import LlmClient, LlmEndpoint, SimulatorConfig, run_simulator
from streamer.llm._outage import EndpointGate
from streamer.pipeline._build import load_library, make_sampler
from streamer.runtime._runner import RunnerSettings, StageRunner
from streamer.stages import FormatChecker, Generator
from topics import FormatPass, Generation, MemoryTransport, Message, Reject, decode, encode

from ._chain import pipeline_config

N = 120
FAULTS = SimulatorConfig(
    seed=11,
    error_rate_429=0.12,
    retry_after_s=0.01,
    error_rate_500=0.12,
    error_rate_timeout=0.06,
    hang_s=30.0,
    error_rate_truncated=0.08,
    error_rate_non_json=0.08,
)
FINAL = {"llm_bad_response"}


@pytest.mark.slow
@pytest.mark.anyio
async def test_every_task_ends_in_one_outcome_despite_endpoint_faults(tmp_path: Path) -> None:
    config = pipeline_config(tmp_path)
    sampler = make_sampler(config, load_library(config))
    sample_ids = set()
    transport = MemoryTransport()
    async with run_simulator(FAULTS) as sim:
        endpoint = LlmEndpoint(
            name="faulty",
            base_url=sim.base_url,
            model=sim.config.model,
            timeout_s=0.5,
            max_retries=2,
            backoff_base_s=0.01,
            backoff_max_s=0.05,
        )
        async with LlmClient(endpoint, rng=random.Random(3)) as client:
            stage = Generator([(client, 1.0)])
            for name in stage.gates:  # probe a paused endpoint quickly
                stage.gates[name] = EndpointGate(name, first_delay_s=0.01, max_delay_s=0.05)
            async with transport.producer() as producer:
                batch = [sampler.next_sample() for _ in range(N)]
                sample_ids = {s.meta.sample_id for s in batch}
                await producer.produce([Message("samples", encode(s)) for s in batch])
            runner = StageRunner(stage, transport, settings=RunnerSettings(concurrency=32))
            outcomes: Counter[str] = Counter()
            per_sample: Counter[str] = Counter()
            generations: list[Generation] = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(runner.run)
                async with transport.consumer(["generations", "rejects"], "probe") as probe:
                    with anyio.fail_after(120):
                        while sum(per_sample.values()) < N:
                            for r in await probe.poll(500, 0.2):
                                if r.topic == "rejects":
                                    reject = decode(r.value, Reject)
                                    outcomes[reject.reason] += 1
                                    per_sample[reject.meta.sample_id] += 1
                                    assert reject.model == "faulty" and reject.message
                                else:
                                    generation = decode(r.value, Generation)
                                    generations.append(generation)
                                    outcomes["generation"] += 1
                                    per_sample[generation.meta.sample_id] += 1
                runner.stop()
            stats = client.stats
            simulated = dict(sim.stats.outcomes)
    assert set(per_sample) == sample_ids and set(per_sample.values()) == {1}
    assert set(outcomes) <= {"generation"} | FINAL, outcomes
    # the faults really happened and retries rescued tasks, broken bodies included
    assert simulated["rate_limited"] and simulated["server_error"] and simulated["timeout"]
    broken = simulated["truncated"] + simulated["non_json"]
    assert broken == stats.attempt_errors["bad_response"] > outcomes["llm_bad_response"]
    assert stats.retries > 0
    first_try_ok = N - sum(stats.attempt_errors.values())
    assert outcomes["generation"] > max(0, first_try_ok)
    assert outcomes["generation"] >= N - 2, outcomes
    # the generations that got through are well-formed for the next stage
    checker = FormatChecker(config.format_rules)
    for generation in generations[:30]:
        outs = await checker.process(generation)
        assert outs and all(isinstance(o.event, FormatPass) for o in outs), outs
