"""Decontamination in front of a check stage: benchmark items never reach the dataset.

:class:`Decontaminating` wraps the semantic checker (the last gate before ``semantic-pass``,
which feeds both the dataset sink and the seed pool): a pair that repeats an item of a
reference set is a ``contaminated`` reject naming the item, before any judge is paid for;
every other pair goes on to the checker. It has the checker's name, input and version, and
that version hashes the index's digest (:mod:`streamer.pipeline._versions`), so a replay
with another reference set is another version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from topics import ExecPass

from ..dataset._store import CONTAMINATED
from ..decontamination import ContaminationIndex
from ..runtime._stage import Output, Stage, make_reject

__all__ = ["CONTAMINATED", "Decontaminating"]

"""The reject reason of a pair that repeats a benchmark item."""


class Decontaminating:
    """``inner`` (a stage over ``exec-pass``) behind ``index``; see the module docstring."""

    def __init__(self, inner: Stage, index: ContaminationIndex) -> None:
        self.inner = inner
        self.index = index

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self) -> str:
        return self.inner.version

    @property
    def input_topic(self) -> str:
        return self.inner.input_topic

    @property
    def input_type(self) -> type[Any]:
        return self.inner.input_type

    async def process(self, event: ExecPass) -> Sequence[Output]:
        match = self.index.match(event.query, [(c.name, c.arguments) for c in event.calls])
        if match is None:
            return await self.inner.process(event)
        return [
            make_reject(
                self.name,
                self.version,
                reason=CONTAMINATED,
                message=match.message(),
                detail=match.reference,
                event=event,
                input_topic=self.input_topic,
            )
        ]
