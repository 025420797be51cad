"""The verified multi-turn trajectories' durable store (issue 18, after APIGen-MT).

The store is a SQLite file (:data:`TRAJECTORY_DB`, ``trajectories.db`` in the output
directory, beside the single-turn ``dataset.db``; its tables are prefixed so it may also
share that file). Exports (:mod:`streamer.dataset._trajectory_export`) are rendered from it.

**What "the same trajectory" is.** A trajectory is keyed by the id of its
:class:`~topics.Trajectory` event, not of the :class:`~topics.TrajectoryPass` that carries
it: a redelivered pass has the same pass id, but a replay of the trajectory checker with
a new version wraps the *same* conversation in a pass with a *new* id, and both must store
it once. A different conversation for the same blueprint (the interplay stage run again
with another version, or several trials of one blueprint) is a new trajectory of the same
task: with ``one_per_blueprint`` (the default) only the smallest trajectory id of a
blueprint is kept and the others are recorded as its duplicates, so equal inputs give
equal datasets whatever the arrival order and a task is never counted twice.

**Validation.** A pass is turned into a row by :func:`trajectory_row` before it reaches
the database; one that cannot be a dataset row raises :class:`UnstorableTrajectory` with
a stable reason (:data:`MALFORMED`: a tool turn that answers no call, a call left without
its result, no user turn; :data:`UNENCODABLE`: text JSON cannot carry, such as a lone
UTF-16 surrogate, which the log's serde already refuses). The sink turns that into one
reject, so a bad event never fails the batch it was written with.

Several processes may write one store (WAL, a 60 s busy timeout, ``BEGIN IMMEDIATE``).

Usage::

    store = TrajectoryStore(out / TRAJECTORY_DB)
    store.add_many([trajectory_pass])          # [True]; [False] when delivered again
    for t in store.trajectories():             # by id, a page at a time
        print(t.domain, t.user_turns, t.action_count)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import orjson

from topics import CallResult, Role, TrajectoryPass, Turn

__all__ = [
    "MALFORMED",
    "TRAJECTORY_DB",
    "UNENCODABLE",
    "DomainCounts",
    "StoredTrajectory",
    "TrajectoryColumns",
    "TrajectoryRow",
    "TrajectoryStore",
    "UnstorableTrajectory",
    "observation_text",
    "trajectory_row",
]

TRAJECTORY_DB = "trajectories.db"
"""The store's file name in a run's output directory."""

MALFORMED = "trajectory_malformed"
"""Reject reason: the turns cannot form a conversation (see :func:`trajectory_row`)."""

UNENCODABLE = "trajectory_unencodable"
"""Reject reason: the trajectory holds text JSON cannot carry (a lone surrogate)."""

_PAGE = 200
"""Trajectories read per query by :meth:`TrajectoryStore.trajectories` (memory bound)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trajectories (
    id TEXT PRIMARY KEY,
    pass_id TEXT NOT NULL,
    blueprint_id TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    env_seed INTEGER NOT NULL,
    user_turns INTEGER NOT NULL,
    action_count INTEGER NOT NULL,
    user_model TEXT NOT NULL,
    agent_model TEXT NOT NULL,
    blueprint_model TEXT NOT NULL,
    ended TEXT NOT NULL,
    body TEXT NOT NULL,
    duplicate_of TEXT
);
CREATE INDEX IF NOT EXISTS trajectories_blueprint ON trajectories(blueprint_id);
CREATE INDEX IF NOT EXISTS trajectories_dup ON trajectories(duplicate_of);
"""
# body: JSON {"policy", "tools", "turns", "actions", "versions"}; the columns beside it are
# what the card counts and groups by, so counting never parses a conversation.


class UnstorableTrajectory(Exception):
    """A trajectory that cannot be a dataset row; ``reason`` is :data:`MALFORMED` or
    :data:`UNENCODABLE`, ``message`` says where."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class TrajectoryColumns:
    """What the store keeps of a trajectory beside its conversation: the key (``id``, the
    :class:`~topics.Trajectory` event's), the pass that carried it first, its blueprint,
    root sample, domain and environment seed, the number of user turns and of actions,
    the models that played the user and the agent and wrote the blueprint, and why the
    conversation ``ended``."""

    id: str
    pass_id: str
    blueprint_id: str
    sample_id: str
    domain: str
    env_seed: int
    user_turns: int
    action_count: int
    user_model: str
    agent_model: str
    blueprint_model: str
    ended: str


@dataclass(frozen=True, slots=True)
class TrajectoryRow(TrajectoryColumns):
    """A validated pass, ready to insert: its columns and the encoded ``body`` (JSON
    bytes of the policy, tools, turns, actions and versions). Made by
    :func:`trajectory_row`."""

    body: bytes


@dataclass(frozen=True, slots=True)
class StoredTrajectory(TrajectoryColumns):
    """A kept trajectory as read back (JSON decoded).

    ``turns`` is the conversation in the store's canonical form, a list of dicts:
    ``{"role": "user", "content"}``, ``{"role": "assistant", "content", "calls":
    [{"name", "arguments"}]}`` and ``{"role": "tool", "name", "content"}`` where a tool
    turn's ``content`` is the observation text (:func:`observation_text`) and the tool
    turns after an assistant turn answer its calls one by one, in order. ``actions`` are
    the trajectory's actions (``{"name", "arguments"}``), ``tools`` the offered tools
    (``{"name", "description", "parameters"}``), ``policy`` the domain's policy.
    """

    policy: str
    tools: list[dict[str, Any]]
    turns: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    versions: list[list[str]]


_COLUMNS = tuple(f.name for f in fields(TrajectoryColumns))
"""The columns in :class:`TrajectoryColumns`' order (the body holds the rest)."""

_TEXT_COLUMNS = tuple(f.name for f in fields(TrajectoryColumns) if f.type == "str")

_BODY_KEYS = frozenset(f.name for f in fields(StoredTrajectory)) - set(_COLUMNS)


@dataclass(frozen=True, slots=True)
class DomainCounts:
    """Kept trajectories of one domain: how many, their user turns and actions in total
    (averages are ``user_turns / trajectories``), and the models that made them."""

    domain: str
    trajectories: int
    user_turns: int
    actions: int
    user_models: tuple[str, ...]
    agent_models: tuple[str, ...]
    blueprint_models: tuple[str, ...]

    @property
    def avg_user_turns(self) -> float:
        return self.user_turns / self.trajectories if self.trajectories else 0.0

    @property
    def avg_actions(self) -> float:
        return self.actions / self.trajectories if self.trajectories else 0.0


def observation_text(result: CallResult | None, content: str) -> str:
    """What a tool turn shows the agent: a string result as it is, any other result as
    JSON text, a failure as ``{"error": reason, "message": message}``; ``content`` when
    the turn carries no result."""
    if result is None:
        return content
    if not result.ok:
        return orjson.dumps({"error": result.reason, "message": result.message}).decode()
    if isinstance(result.result, str):
        return result.result
    return orjson.dumps(result.result).decode()


def _call(name: str, arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def _canonical_turns(turns: Sequence[Turn]) -> tuple[list[dict[str, Any]], int]:
    """The turns in the canonical form (see :class:`StoredTrajectory`) and the number of
    user turns; :class:`UnstorableTrajectory` when they cannot form a conversation."""
    out: list[dict[str, Any]] = []
    waiting: list[str] = []  # names of the last assistant turn's calls not yet answered
    users = 0
    for index, turn in enumerate(turns):
        role = turn.role
        if role != Role.TOOL and waiting:
            raise UnstorableTrajectory(
                MALFORMED, f"turn {index} ({role}) comes before the result of {waiting[0]!r}"
            )
        if role == Role.USER:
            users += 1
            out.append({"role": "user", "content": turn.content})
        elif role == Role.ASSISTANT:
            if turn.calls and not users:
                raise UnstorableTrajectory(MALFORMED, f"turn {index}: a call before any user turn")
            calls = [_call(c.name, c.arguments) for c in turn.calls]
            out.append({"role": "assistant", "content": turn.content, "calls": calls})
            waiting = [c.name for c in turn.calls]
        elif role == Role.TOOL:
            if not waiting:
                raise UnstorableTrajectory(MALFORMED, f"turn {index}: a tool turn answers no call")
            expected = waiting.pop(0)
            if turn.name and turn.name != expected:
                raise UnstorableTrajectory(
                    MALFORMED,
                    f"turn {index}: result of {turn.name!r} where {expected!r} was called",
                )
            content = observation_text(turn.result, turn.content)
            out.append({"role": "tool", "name": expected, "content": content})
        else:  # pragma: no cover - Role is closed; decoded events cannot hold another
            raise UnstorableTrajectory(MALFORMED, f"turn {index}: unknown role {role!r}")
    if waiting:
        raise UnstorableTrajectory(MALFORMED, f"the call of {waiting[0]!r} has no result")
    if not users:
        raise UnstorableTrajectory(MALFORMED, "the conversation has no user turn")
    return out, users


def trajectory_row(event: TrajectoryPass) -> TrajectoryRow:
    """Validate and encode a pass for :meth:`TrajectoryStore.add_rows`; raises
    :class:`UnstorableTrajectory` (never anything else for a decoded event)."""
    trajectory = event.trajectory
    bp_pass = trajectory.blueprint
    blueprint = bp_pass.blueprint
    task = blueprint.task
    try:
        turns, users = _canonical_turns(trajectory.turns)
    except TypeError as exc:  # a result orjson cannot write (orjson.JSONEncodeError)
        raise UnstorableTrajectory(UNENCODABLE, f"a tool result cannot be JSON ({exc})") from None
    body = {
        "policy": task.policy,
        "tools": [
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in task.tools
        ],
        "turns": turns,
        "actions": [_call(c.name, c.arguments) for c in trajectory.actions],
        "versions": event.meta.versions,
    }
    try:
        encoded = orjson.dumps(body)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise UnstorableTrajectory(UNENCODABLE, f"cannot be stored as JSON text ({exc})") from None
    row = TrajectoryRow(
        id=trajectory.meta.id,
        pass_id=event.meta.id,
        blueprint_id=blueprint.meta.id,
        sample_id=event.meta.sample_id,
        domain=task.domain,
        env_seed=task.env_seed,
        user_turns=users,
        action_count=len(trajectory.actions),
        user_model=trajectory.user_model,
        agent_model=trajectory.agent_model,
        blueprint_model=blueprint.model,
        ended=trajectory.ended,
        body=encoded,
    )
    for name in _TEXT_COLUMNS:
        try:
            getattr(row, name).encode()
        except UnicodeEncodeError:  # SQLite stores UTF-8: a lone surrogate cannot go in
            raise UnstorableTrajectory(UNENCODABLE, f"its {name} is not valid text") from None
    if not -(2**63) <= row.env_seed < 2**63:
        raise UnstorableTrajectory(UNENCODABLE, "its environment seed exceeds 64 bits")
    return row


class TrajectoryStore:
    """SQLite-backed store of verified trajectories; see the module docstring.

    path: the database file (created with its directory).
    one_per_blueprint: keep only the smallest trajectory id of each blueprint (the others
      are counted as duplicates and not exported); False keeps every distinct trajectory.

    Thread-safe (one connection behind a lock); several processes may share the file.
    """

    def __init__(self, path: str | Path, *, one_per_blueprint: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.one_per_blueprint = one_per_blueprint
        # Several processes (sinks, an export) may open one store: wait for locks, never fail.
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=60.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def add(self, event: TrajectoryPass) -> bool:
        """Store a verified trajectory; False when it was already stored."""
        return self.add_many([event])[0]

    def add_many(self, events: Sequence[TrajectoryPass]) -> list[bool]:
        """:meth:`add_rows` of :func:`trajectory_row` of each (which may raise
        :class:`UnstorableTrajectory` before anything is written)."""
        return self.add_rows([trajectory_row(e) for e in events])

    def add_rows(self, rows: Sequence[TrajectoryRow]) -> list[bool]:
        """Store rows in one transaction; per row, False when its trajectory id was
        already stored (whatever pass carried it)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                added = [self._add_one(row) for row in rows]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def _add_one(self, row: TrajectoryRow) -> bool:
        if self._db.execute("SELECT 1 FROM trajectories WHERE id=?", (row.id,)).fetchone():
            return False
        duplicate_of: str | None = None
        if self.one_per_blueprint:
            kept = self._db.execute(
                "SELECT id FROM trajectories WHERE blueprint_id=? AND duplicate_of IS NULL",
                (row.blueprint_id,),
            ).fetchone()
            if kept is not None and row.id < kept[0]:
                # The smallest id of a blueprint is kept, whatever the arrival order.
                self._db.execute(
                    "UPDATE trajectories SET duplicate_of=? WHERE id=? OR duplicate_of=?",
                    (row.id, kept[0], kept[0]),
                )
            elif kept is not None:
                duplicate_of = kept[0]
        self._db.execute(
            "INSERT INTO trajectories (id, pass_id, blueprint_id, sample_id, domain, env_seed,"
            " user_turns, action_count, user_model, agent_model, blueprint_model, ended, body,"
            " duplicate_of) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.id, row.pass_id, row.blueprint_id, row.sample_id, row.domain, row.env_seed,
                row.user_turns, row.action_count, row.user_model, row.agent_model,
                row.blueprint_model, row.ended, row.body.decode(), duplicate_of,
            ),
        )  # fmt: skip
        return True

    def count(self, *, include_duplicates: bool = False) -> int:
        """Trajectories kept (duplicates of a blueprint excluded unless asked)."""
        sql = "SELECT COUNT(*) FROM trajectories"
        if not include_duplicates:
            sql += " WHERE duplicate_of IS NULL"
        with self._lock:
            return int(self._db.execute(sql).fetchone()[0])

    def duplicates(self) -> int:
        """Trajectories not kept because another of their blueprint was."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM trajectories WHERE duplicate_of IS NOT NULL"
            ).fetchone()
        return int(row[0])

    def domains(self) -> list[DomainCounts]:
        """Per domain (by name), the kept trajectories' counts and models."""
        with self._lock:
            totals = self._db.execute(
                "SELECT domain, COUNT(*), SUM(user_turns), SUM(action_count) FROM trajectories"
                " WHERE duplicate_of IS NULL GROUP BY domain ORDER BY domain"
            ).fetchall()
            models = self._db.execute(
                "SELECT DISTINCT domain, user_model, agent_model, blueprint_model"
                " FROM trajectories WHERE duplicate_of IS NULL"
            ).fetchall()
        out = []
        for domain, n, users, actions in totals:
            mine = [m for m in models if m[0] == domain]
            out.append(
                DomainCounts(
                    domain=domain,
                    trajectories=int(n),
                    user_turns=int(users),
                    actions=int(actions),
                    user_models=tuple(sorted({m[1] for m in mine})),
                    agent_models=tuple(sorted({m[2] for m in mine})),
                    blueprint_models=tuple(sorted({m[3] for m in mine})),
                )
            )
        return out

    def trajectories(self) -> Iterator[StoredTrajectory]:
        """Kept trajectories by id (a stable order: equal stores export equal files), read
        :data:`_PAGE` at a time so a large store is never held in memory."""
        last = ""
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {', '.join(_COLUMNS)}, body FROM trajectories"
                    " WHERE duplicate_of IS NULL AND id > ? ORDER BY id LIMIT ?",
                    (last, _PAGE),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for *columns, body in rows:
                yield StoredTrajectory(
                    **dict(zip(_COLUMNS, columns, strict=True)),
                    **{k: v for k, v in orjson.loads(body).items() if k in _BODY_KEYS},
                )

    def __repr__(self) -> str:
        return (
            f"<TrajectoryStore {self.path} trajectories={self.count()} "
            f"duplicates={self.duplicates()}>"
        )
