"""The ``[multi_turn]`` table: whether ``apigen run`` makes multi-turn trajectories (after
APIGen-MT, issue 18) instead of single-turn pairs, over which domains, with how large a
review committee, how many refinement rounds and how long a conversation may be (what the
stages do: :mod:`streamer.pipeline._multi_turn`).

Usage (TOML)::

    [multi_turn]
    enabled = true
    domains = ["retail", "airline"]
    reviewers = 3        # committee seats, filled from the judges in turn
    quorum = 2           # approvals needed (0 = a majority)
    max_rounds = 2       # refinement rounds per task
    max_turns = 10       # user turns per conversation
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from executors.environments import AIRLINE, RETAIL, Domain

from ._model_config import ConfigError, as_type

__all__ = ["DOMAINS", "MultiTurnConfig", "read_multi_turn"]

DOMAINS: dict[str, Domain] = {RETAIL.name: RETAIL, AIRLINE.name: AIRLINE}
"""The environment domains a multi-turn run may draw from, by name."""


@dataclass(frozen=True, slots=True)
class MultiTurnConfig:
    """The multi-turn pipeline's settings (see the module docstring).

    enabled: run the multi-turn pipeline (``apigen run --multi-turn``).
    domains: names of the environment domains tasks are drawn from, in alternation.
    reviewers: seats of the blueprint review committee, filled from the configured judges
      in turn (0: no review; a blueprint that replays is approved).
    quorum: approvals a blueprint needs; 0 = a majority of the seats.
    max_rounds: refinement rounds per task: a failing draft below it gets a refined task
      with the objections, so a task has at most ``max_rounds + 1`` drafts.
    max_turns: user turns a conversation may have before it is a ``turn_limit`` reject.
    tools_per_task: tools offered per task (None: all of the domain's).
    """

    enabled: bool = False
    domains: tuple[str, ...] = ("retail", "airline")
    reviewers: int = 3
    quorum: int = 0
    max_rounds: int = 2
    max_turns: int = 10
    tools_per_task: int | None = None

    def __post_init__(self) -> None:
        unknown = [d for d in self.domains if d not in DOMAINS]
        if unknown or not self.domains:
            raise ConfigError(
                f"multi_turn.domains: {list(self.domains)}: use one or more of {sorted(DOMAINS)}"
            )
        if self.reviewers < 0 or self.max_rounds < 0 or self.max_turns < 1:
            raise ConfigError("multi_turn: reviewers and max_rounds must be >= 0, max_turns >= 1")
        if not 0 <= self.quorum <= self.reviewers:
            raise ConfigError(
                f"multi_turn.quorum: {self.quorum} is not within 0..{self.reviewers} (reviewers)"
            )
        if self.tools_per_task is not None and self.tools_per_task < 1:
            raise ConfigError("multi_turn.tools_per_task must be at least 1")

    @property
    def chosen_domains(self) -> tuple[Domain, ...]:
        return tuple(DOMAINS[d] for d in self.domains)


_TYPES: dict[str, type] = {
    "enabled": bool,
    "reviewers": int,
    "quorum": int,
    "max_rounds": int,
    "max_turns": int,
    "tools_per_task": int,
}


def read_multi_turn(table: Any, path: Path) -> MultiTurnConfig:
    """The ``[multi_turn]`` table of config file ``path``; raises :class:`ConfigError`
    naming the field."""
    where = f"{path}: multi_turn"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table ([multi_turn]), got {table!r}")
    known = {f.name for f in fields(MultiTurnConfig)}
    if unknown := sorted(set(table) - known):
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for key, typ in _TYPES.items():
        if key in table:
            values[key] = as_type(table[key], typ, f"{where}.{key}")
    if "domains" in table:
        domains = table["domains"]
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise ConfigError(f"{where}.domains: expected a list of names, got {domains!r}")
        values["domains"] = tuple(domains)
    try:
        return MultiTurnConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
