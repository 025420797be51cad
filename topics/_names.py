"""Topic names."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MULTI_TURN", "PIPELINE", "Topic"]


class Topic(StrEnum):
    """The pipeline's topics. Replays write to ``<topic>.<version>`` beside the live ones."""

    SAMPLES = "samples"
    GENERATIONS = "generations"
    FORMAT_PASS = "format-pass"
    EXEC_PASS = "exec-pass"
    SEMANTIC_PASS = "semantic-pass"
    REJECTS = "rejects"
    BLUEPRINT_TASKS = "blueprint-tasks"
    BLUEPRINTS = "blueprints"
    BLUEPRINT_PASS = "blueprint-pass"
    TRAJECTORIES = "trajectories"
    TRAJECTORY_PASS = "trajectory-pass"

    @staticmethod
    def base(name: str) -> str:
        """The live topic a (possibly versioned) topic name belongs to."""
        return name.split(".", 1)[0]

    @staticmethod
    def versioned(topic: str, version: str) -> str:
        """The name of ``topic``'s replay copy for stage version ``version``."""
        return f"{topic}.{version}"


PIPELINE: tuple[Topic, ...] = (
    Topic.SAMPLES,
    Topic.GENERATIONS,
    Topic.FORMAT_PASS,
    Topic.EXEC_PASS,
    Topic.SEMANTIC_PASS,
    Topic.REJECTS,
)
"""Every topic the pipeline needs, in flow order."""

MULTI_TURN: tuple[Topic, ...] = (
    Topic.BLUEPRINT_TASKS,
    Topic.BLUEPRINTS,
    Topic.BLUEPRINT_PASS,
    Topic.TRAJECTORIES,
    Topic.TRAJECTORY_PASS,
    Topic.REJECTS,
)
"""Every topic the multi-turn pipeline (issue 18) needs, in flow order."""
