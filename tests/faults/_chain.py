"""Shared helpers of the fault tests: real stages built like ``apigen serve`` builds them, and
one valid input event per stage obtained by running a sample through the real chain."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from streamer.pipeline._build import STAGE_NAMES, build_stage, load_library, make_sampler
from streamer.pipeline._config import PipelineConfig
from streamer.pipeline._model_config import ModelConfig
from streamer.runtime._stage import Stage, make_reject
from topics import Event, Reject

SIMULATED = (ModelConfig(kind="simulated"),)
JUDGE = (ModelConfig(kind="simulated", seed=1),)


def pipeline_config(out: Path, *, samples: int | None = None, kafka: str | None = None,
                    partitions: int = 4, seed: int = 0) -> PipelineConfig:  # fmt: skip
    """The simulated pipeline with feedback off, so equal configs give equal datasets."""
    return PipelineConfig(
        out=out,
        samples=samples,
        kafka=kafka,
        feedback=False,
        generators=SIMULATED,
        judges=JUDGE,
        partitions=partitions,
        seed=seed,
    )


@dataclass(frozen=True, slots=True)
class Chain:
    """Every real stage by name, and a valid input event for each (a reject for the funnel)."""

    stages: dict[str, Stage]
    inputs: dict[str, Event]


async def build_chain(config: PipelineConfig, stack: AsyncExitStack) -> Chain:
    """Build every stage and walk samples through them until one reaches the sink."""
    stages = {name: await build_stage(name, config, stack) for name in STAGE_NAMES}
    sampler = make_sampler(config, load_library(config))
    for _ in range(200):
        inputs: dict[str, Event] = {}
        event: Event = sampler.next_sample()
        for name in ("generator", "format", "execution", "semantic"):
            inputs[name] = event
            outs = await stages[name].process(event)
            passed = [o.event for o in outs if not isinstance(o.event, Reject)]
            rejects = [o.event for o in outs if isinstance(o.event, Reject)]
            if rejects and "funnel" not in inputs:
                inputs["funnel"] = rejects[0]
            if not passed:
                break
            event = passed[0]
        else:
            inputs["sink"] = event
            if "funnel" not in inputs:
                made = make_reject("test", "test-v1", reason="test", message="a valid reject",
                                   event=inputs["generator"], input_topic="samples")  # fmt: skip
                inputs["funnel"] = made.event
            return Chain(stages, inputs)
    raise AssertionError("no sample made it through the chain")
