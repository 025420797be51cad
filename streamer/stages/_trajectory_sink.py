"""Trajectory sink: ``trajectory-pass`` -> the trajectory store (issue 18).

The multi-turn counterpart of :class:`~streamer.stages._sink.DatasetSink`: it writes each
verified trajectory to a :class:`~streamer.dataset._trajectory_store.TrajectoryStore`,
idempotently (keyed by the trajectory's id, so a redelivered or replayed pass changes
nothing), group-committed like the single-turn sink (one transaction for the passes that
arrive together; ``process`` returns once its pass is committed).

It produces nothing for a stored pass. A pass that cannot be a dataset row is validated
out *before* the batch is written, so it never fails the passes committed with it, and
becomes one reject (``trajectory_malformed`` or ``trajectory_unencodable``, see
:func:`~streamer.dataset._trajectory_store.trajectory_row`) on the shared rejects topic.

Usage::

    sink = TrajectorySink(TrajectoryStore(out / TRAJECTORY_DB))
    await sink.process(trajectory_pass)        # [] once committed
"""

from __future__ import annotations

from collections.abc import Callable

from executors.environments import AIRLINE, RETAIL
from topics import Topic, TrajectoryPass

from ..dataset._trajectory_store import (
    TrajectoryRow,
    TrajectoryStore,
    UnstorableTrajectory,
    trajectory_row,
)
from ..runtime._multi_turn_metrics import multi_turn_metrics
from ..runtime._stage import Output, make_reject, stage_version
from ._sink import GroupCommit

__all__ = ["TrajectorySink"]


class TrajectorySink:
    """Writes verified trajectories to ``store``; ``on_trajectory`` (if given) sees every
    newly stored pass (not one whose trajectory was already stored).

    store: where trajectories go (its ``one_per_blueprint`` setting is part of the version,
      since it changes what the dataset keeps).
    max_batch / linger_s: the group commit's bounds (see :class:`GroupCommit`): passes per
      transaction at most, and seconds the first pass of a batch waits for company.
    """

    name = "trajectory-sink"
    input_topic = Topic.TRAJECTORY_PASS
    input_type = TrajectoryPass

    def __init__(
        self,
        store: TrajectoryStore,
        on_trajectory: Callable[[TrajectoryPass], None] | None = None,
        *,
        max_batch: int = 256,
        linger_s: float = 0.002,
    ) -> None:
        self.store = store
        self.version = stage_version(
            "trajectory-sink-v1", {"one_per_blueprint": store.one_per_blueprint}
        )
        self._on_trajectory = on_trajectory
        self._commit = GroupCommit[TrajectoryRow](
            store.add_rows, max_batch=max_batch, linger_s=linger_s
        )
        self.rejected = 0
        self._metrics = multi_turn_metrics().stage(self.name, self.version)
        self._metrics.declare((RETAIL.name, AIRLINE.name), verified=True)  # the built-in ones

    def __repr__(self) -> str:
        return f"<TrajectorySink {self.version} rejected={self.rejected} commit={self._commit!r}>"

    async def process(self, event: TrajectoryPass) -> list[Output]:
        try:
            row = trajectory_row(event)
        except UnstorableTrajectory as exc:
            self.rejected += 1
            reject = make_reject(
                self.name,
                self.version,
                reason=exc.reason,
                message=exc.message,
                event=event,
                input_topic=self.input_topic,
                model=event.trajectory.agent_model,
            )
            return [reject]
        added = await self._commit.submit(row)
        if added:
            self._metrics.trajectory_verified(row.domain, row.user_turns, row.action_count)
        if added and self._on_trajectory is not None:
            self._on_trajectory(event)
        return []
