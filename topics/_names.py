"""Topic names."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PIPELINE", "Topic"]


class Topic(StrEnum):
    """The pipeline's topics. Replays write to ``<topic>.<version>`` beside the live ones."""

    SAMPLES = "samples"
    GENERATIONS = "generations"
    FORMAT_PASS = "format-pass"
    EXEC_PASS = "exec-pass"
    SEMANTIC_PASS = "semantic-pass"
    REJECTS = "rejects"

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
