"""Build the multi-turn pipeline's stages by name from a config (issue 18), in one place.

``apigen run --multi-turn`` (:mod:`._multi_turn`), ``apigen serve <stage>`` and replays
build their stages here, so one config gives the same stages with the same versions
whether they run in one process or each in its own.

Versions: besides what each stage hashes itself, the writer and the interplay hash the
generators' identities and the validator its judges' (:func:`~._versions.model_identity`:
kind, model, seed, simulated faults...; never a credential), as the single-turn stages do,
so a changed model is a new version.

Models: the blueprint writer and the agent are the generators (by weight), the simulated
user is the first generator, and the review committee's seats are filled from the judges
in turn. Each distinct model configuration is opened once, and only when a stage needs
it, under the name it would have had in the full pipeline (role and index follow the
order generators, then judges), so a service that opens only the reviewers still names
them as the in-process run does and its validator has the same version.

Usage::

    async with AsyncExitStack() as stack:
        stage = await build_multi_turn_stage("trajectory-checker", config, stack)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

from topics import Reject, TrajectoryPass

from ..dataset._store import DatasetStore
from ..dataset._trajectory_store import TrajectoryStore
from ..llm import ChatModel
from ..runtime._stage import Stage
from ..stages import FunnelSink
from ..stages._blueprint_review import ReviewSettings
from ..stages._blueprint_sampler import BlueprintSampler, BlueprintSamplerConfig
from ..stages._blueprint_validator import BlueprintValidator, ValidatorSettings
from ..stages._blueprint_writer import BlueprintWriter
from ..stages._interplay import Interplay, InterplaySettings
from ..stages._trajectory_checker import TrajectoryChecker
from ..stages._trajectory_sink import TrajectorySink
from ._build import open_model
from ._config import PipelineConfig
from ._model_config import ConfigError, ModelConfig
from ._runs import RunScoped
from ._versions import generator_config, generator_models, judge_models, model_identity

__all__ = [
    "MULTI_TURN_STAGE_NAMES",
    "VERSION_NAMES",
    "MultiTurnModels",
    "build_multi_turn_stage",
    "build_multi_turn_stages",
    "make_blueprint_sampler",
]

MULTI_TURN_STAGE_NAMES = (
    "blueprint-writer",
    "blueprint-validator",
    "interplay",
    "trajectory-checker",
    "trajectory-sink",
    "funnel",
)
"""The multi-turn stages in flow order (``funnel`` counts their rejects in ``dataset.db``,
as the single-turn funnel does)."""

VERSION_NAMES = {
    "blueprint-validator": "blueprint-validator-v1",
    "trajectory-checker": "trajectory-checker-v1",
}
"""The live explicit version names of the checkers a replay can change."""

WeightedModel = tuple[ChatModel, float]


class MultiTurnModels:
    """The models of a multi-turn config, each distinct configuration opened once on
    ``stack`` when first asked for (see the module docstring for the parts and names)."""

    def __init__(self, config: PipelineConfig, stack: AsyncExitStack) -> None:
        self._config = config
        self._stack = stack
        self._plan: list[tuple[ModelConfig, str]] = []
        for cfg, role in [(m, "generator") for m in generator_models(config)] + [
            (m, "judge") for m in judge_models(config)
        ]:
            if all(seen != cfg for seen, _ in self._plan):
                self._plan.append((cfg, role))
        self._opened: dict[int, ChatModel] = {}

    def __repr__(self) -> str:
        return f"<MultiTurnModels planned={len(self._plan)} opened={sorted(self._opened)}>"

    async def _get(self, cfg: ModelConfig) -> ChatModel:
        index = next(i for i, (seen, _) in enumerate(self._plan) if seen == cfg)
        if index not in self._opened:
            role = self._plan[index][1]
            self._opened[index] = await self._stack.enter_async_context(
                open_model(cfg, role, index)
            )
        return self._opened[index]

    async def writers(self) -> list[WeightedModel]:
        """The generators with their weights: the blueprint writers and the agents."""
        return [(await self._get(m), m.weight) for m in generator_models(self._config)]

    async def user(self) -> ChatModel:
        """The simulated user: the first generator."""
        return await self._get(generator_models(self._config)[0])

    async def reviewers(self) -> list[ChatModel]:
        """One model per committee seat, filled from the judges in turn (no seats: no
        judge is opened)."""
        seats = self._config.multi_turn.reviewers
        judges = [await self._get(m) for m in judge_models(self._config)] if seats else []
        return [judges[i % len(judges)] for i in range(seats)]

    async def parts(self) -> dict[str, list[str]]:
        """The model names that play each part (for the card), by part."""
        writers = sorted({m.name for m, _ in await self.writers()})
        return {
            "writer": writers,
            "reviewers": sorted({m.name for m in await self.reviewers()}),
            "user": [(await self.user()).name],
            "agent": writers,
        }


def _reviewer_config(config: PipelineConfig) -> dict[str, Any]:
    """What decides the committee's verdicts beyond its seats' names (in the validator's
    version): each judge's identity (:func:`~._versions.model_identity`), as the semantic
    stage versions its judges; nothing without a committee."""
    if not config.multi_turn.reviewers:
        return {}
    return {"reviewers": [model_identity(m) for m in judge_models(config)]}


def make_blueprint_sampler(config: PipelineConfig) -> BlueprintSampler:
    """The run's blueprint sampler (same config, same task ids; the run id goes into the
    tasks' meta, not their ids)."""
    mt = config.multi_turn
    return BlueprintSampler(
        BlueprintSamplerConfig(seed=config.seed, tools_per_task=mt.tools_per_task),
        domains=mt.chosen_domains,
        run_id=config.run_id,
    )


async def build_multi_turn_stage(
    name: str,
    config: PipelineConfig,
    stack: AsyncExitStack,
    *,
    models: MultiTurnModels | None = None,
    on_trajectory: Callable[[TrajectoryPass], None] | None = None,
    on_reject: Callable[[Reject], None] | None = None,
    version_name: str | None = None,
) -> Stage:
    """Stage ``name`` of :data:`MULTI_TURN_STAGE_NAMES` with its resources (models,
    stores under ``config.out``) entered on ``stack``; with ``config.run_id`` it takes
    only that run's events. ``version_name`` replaces a checker's explicit version name
    (``blueprint-validator`` and ``trajectory-checker``, for replays); ``on_trajectory``
    and ``on_reject`` are the sink's and the funnel's callbacks."""
    if name not in MULTI_TURN_STAGE_NAMES:
        raise ConfigError(
            f"unknown multi-turn stage {name!r}; choose from {list(MULTI_TURN_STAGE_NAMES)}"
        )
    if version_name is not None and name not in VERSION_NAMES:
        raise ConfigError(f"{name}: only the checkers take a version name")
    models = models or MultiTurnModels(config, stack)
    mt = config.multi_turn
    stage: Stage
    if name == "blueprint-writer":
        stage = BlueprintWriter(await models.writers(), config=generator_config(config))
    elif name == "blueprint-validator":
        stage = BlueprintValidator(
            await models.reviewers(),
            settings=ValidatorSettings(max_rounds=mt.max_rounds),
            review=ReviewSettings(quorum=mt.quorum or None),
            domains={d.name: d for d in mt.chosen_domains},
            version_name=version_name or VERSION_NAMES[name],
            config=_reviewer_config(config),
        )
    elif name == "interplay":
        stage = Interplay(
            await models.user(),
            await models.writers(),
            settings=InterplaySettings(max_turns=mt.max_turns),
            domains=mt.chosen_domains,
            config=generator_config(config),
        )
    elif name == "trajectory-checker":
        stage = TrajectoryChecker(
            domains=mt.chosen_domains,
            version_name=version_name or VERSION_NAMES[name],
        )
    elif name == "trajectory-sink":
        trajectories = TrajectoryStore(config.out / "trajectories.db")
        stack.callback(trajectories.close)
        stage = TrajectorySink(trajectories, on_trajectory)
    else:
        funnel = DatasetStore(config.out / "dataset.db", near_threshold=0)
        stack.callback(funnel.close)
        stage = FunnelSink(funnel, on_reject)
    return RunScoped(stage, config.run_id) if config.run_id else stage


async def build_multi_turn_stages(
    config: PipelineConfig,
    stack: AsyncExitStack,
    names: Sequence[str] = MULTI_TURN_STAGE_NAMES,
    *,
    models: MultiTurnModels | None = None,
    on_trajectory: Callable[[TrajectoryPass], None] | None = None,
    on_reject: Callable[[Reject], None] | None = None,
) -> list[Stage]:
    """Stages ``names`` in order, sharing one set of opened models."""
    models = models or MultiTurnModels(config, stack)
    return [
        await build_multi_turn_stage(
            name, config, stack, models=models, on_trajectory=on_trajectory, on_reject=on_reject
        )
        for name in names
    ]
