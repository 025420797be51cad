"""Replaying a conversation as one trajectory on a built-in environment.

A :class:`~streamer.check.TrajectoryCase` holds every call of a conversation with the
output the record shows for it. :func:`replay` resets a fresh
:class:`~executors.environments.Environment` of the case's domain to its seed, runs the
calls in order, and compares each result with the recorded output. The first call that
disagrees decides (stage ``trajectory``)::

    fail unknown_tool          the call names a tool the domain does not have
    fail action_failed         the environment refused the call (its reason is in the
                               message) where the record shows it succeeded
    fail observation_mismatch  the result is not the recorded output (a different value,
                               a success where the record shows an error, or another error)
    pass                       every call's result equals its recorded output

The result is written as the multi-turn exports write an observation (a string as it is,
anything else as JSON, a refusal as ``{"error": reason, "message": message}``); the two
texts are then compared as canonical JSON (parsed where they parse, keys sorted), so key
order and spacing do not matter but ``1`` differs from ``1.0``. A recorded output is a
refusal when it is a JSON object with an ``error`` key.

Since each call's result depends on the calls before it, a changed write shows up at the
write (its result differs, or it is refused) or at the first read after it. The work a
record can cause is bounded by reading: at most ``max_conversation_calls`` calls, each on
an in-memory database, with arguments validated against the tool's schema before it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import orjson

from executors.environments import Environment, ToolResult

from ._case import TrajectoryCase, TrajectoryStep
from ._environments import ENVIRONMENTS

__all__ = ["TRAJECTORY_REASONS", "TrajectoryOutcome", "replay"]

TRAJECTORY_REASONS: dict[str, str] = {
    "unknown_tool": "a call names a tool the environment's domain does not have",
    "action_failed": "the environment refused a call the record shows succeeding",
    "observation_mismatch": "a call's result is not the output the record shows",
    "invalid_call": "a call has no string name or its arguments are not a JSON object",
    "unpaired_observation": "a call has no recorded output, or an output answers no call",
    "invalid_environment": "the record's domain is not a string or env_seed not an integer",
    "limit_exceeded": "the conversation makes more calls than --max-conversation-calls",
    "no_seed": "skip: no seed is known (format only; seeds are not guessed)",
    "unknown_domain": "skip: the record's domain is not a built-in environment",
    "domain_mismatch": "skip: the record's domain (or policy) is not --environment's domain",
}
"""Reason code -> meaning, for ``#trajectory`` verdicts (stage ``trajectory``)."""

_SHOWN = 160


@dataclass(frozen=True, slots=True)
class TrajectoryOutcome:
    """A replay's verdict: ``reason`` empty for a pass; ``message`` names the turn."""

    verdict: Literal["pass", "fail", "skip"]
    reason: str = ""
    message: str = ""


def _result_text(result: ToolResult) -> str:
    """The observation text the exports write for ``result``."""
    if not result.ok:
        return orjson.dumps({"error": result.reason, "message": result.message}).decode()
    if isinstance(result.value, str):
        return result.value
    return orjson.dumps(result.value).decode()


def _canonical(text: str) -> bytes:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return orjson.dumps(text)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _shows_error(text: str) -> bool:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, Mapping) and "error" in value


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _judge(step: TrajectoryStep, result: ToolResult, index: int) -> TrajectoryOutcome | None:
    """The failure ``result`` makes of ``step``, or None when it agrees."""
    where = f"turn {step.turn} ({step.at}), call #{index + 1} {step.name[:60]}"
    if not result.ok and result.reason == "unknown_tool":
        return TrajectoryOutcome("fail", "unknown_tool", f"{where}: {result.message}")
    got = _result_text(result)
    if _canonical(got) == _canonical(step.observed):
        return None
    if not result.ok and not _shows_error(step.observed):
        refused = f"{result.reason}: {_clip(result.message)}"
        message = f"{where}: refused ({refused}) where the record shows success"
        return TrajectoryOutcome("fail", "action_failed", message)
    shown = _clip(step.observed)
    message = f"{where}: the record shows {shown}, the environment gave {_clip(got)}"
    return TrajectoryOutcome("fail", "observation_mismatch", message)


def replay(case: TrajectoryCase) -> TrajectoryOutcome:
    """The case's verdict (see the module docstring); blocking (SQLite), never raises for
    any data the case holds."""
    if case.problem is not None:
        verdict, reason, message = case.problem
        return TrajectoryOutcome(verdict, reason, message)
    env = Environment(ENVIRONMENTS[case.domain])
    try:
        env.reset(case.seed)
        for index, step in enumerate(case.steps):
            failed = _judge(step, env.call(step.name, step.arguments), index)
            if failed is not None:
                return failed
    finally:
        env.close()
    calls = len(case.steps)
    return TrajectoryOutcome(
        "pass", message=f"{calls} calls replayed on {case.domain} (seed {case.seed})"
    )
