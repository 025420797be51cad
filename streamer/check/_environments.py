"""Which built-in environment a conversation is replayed on (``apigen check --environment``).

A multi-turn conversation that names its environment is also checked as one trajectory
(:mod:`streamer.check._trajectory`): its calls run, in order, on a fresh database of a
built-in domain reset to a seed. Where the domain and seed come from:

- ``--environment DOMAIN[:SEED]`` (:func:`parse_environment`): every conversation is
  replayed on ``DOMAIN``; with ``SEED`` every one from that seed, else from the record's
  own ``env_seed``;
- otherwise the record's own ``domain`` and ``env_seed`` fields (as ``apigen run
  --multi-turn`` writes them into ``trajectories.openai.jsonl`` and
  ``trajectories.sharegpt.jsonl``);
- with neither, the conversation is checked turn by turn only, as any conversation.

What a record holds only *picks* among :data:`ENVIRONMENTS` (retail, airline); it never names a
file, a module or anything else to open. Seeds are never guessed: a domain without a seed
is checked for format only (a ``no_seed`` skip says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from executors.environments import AIRLINE, RETAIL, Domain

__all__ = [
    "ENVIRONMENTS",
    "MAX_SEED",
    "EnvironmentChoice",
    "ReplaySettings",
    "parse_environment",
]

ENVIRONMENTS: Mapping[str, Domain] = {AIRLINE.name: AIRLINE, RETAIL.name: RETAIL}
"""The built-in environments a conversation may be replayed on, by name."""

MAX_SEED = 2**63 - 1
"""The largest seed accepted (from the command line or a record's ``env_seed``)."""


@dataclass(frozen=True, slots=True)
class EnvironmentChoice:
    """``--environment``: a built-in ``domain`` and, optionally, the ``seed`` every
    conversation starts from (None: each record's ``env_seed``)."""

    domain: str
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.domain not in ENVIRONMENTS:
            raise ValueError(f"{self.domain!r}: choose an environment from {sorted(ENVIRONMENTS)}")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed {self.seed} is outside 0..{MAX_SEED}")


def parse_environment(text: str) -> EnvironmentChoice:
    """``"retail"`` or ``"airline:42"`` -> :class:`EnvironmentChoice`; ``ValueError``
    naming the choices otherwise."""
    name, sep, seed_text = text.strip().partition(":")
    seed: int | None = None
    if sep:
        if not seed_text.strip().isdigit():
            raise ValueError(f"{text!r}: the seed after ':' must be a non-negative integer")
        seed = int(seed_text)
    return EnvironmentChoice(name.strip().lower(), seed)


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """Whether and where conversations are replayed as trajectories.

    enabled: replay conversations that name an environment (off: per-turn verdicts only,
      as with ``--stages format``).
    environment: ``--environment`` (None: each record's ``domain``/``env_seed`` fields).

    Example::

        ReplaySettings(environment=parse_environment("retail:7"))
    """

    enabled: bool = True
    environment: EnvironmentChoice | None = None

    def wanted(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` is replayed: replay is on and an environment is given, or the
        record names one (a ``domain`` field, whatever it holds: a bad one is a verdict)."""
        return self.enabled and (self.environment is not None or "domain" in record)
