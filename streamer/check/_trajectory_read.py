"""A conversation's turns -> the :class:`~streamer.check.TrajectoryCase` that replays it.

Called by the chat readers after the per-turn cases, for a record that
:meth:`~streamer.check._environments.ReplaySettings.wanted` says is replayed. The domain and
seed are resolved as :mod:`streamer.check._environments` describes; the calls are paired
with the tool turns that follow their assistant turn, one output per call, in order (an
OpenAI ``tool_call_id`` is not consulted: exports write results in call order).

What reading decides already, as the case's ``problem`` (no environment is opened)::

    skip no_seed              the domain is known but no seed is (checked for format only)
    skip unknown_domain       the record's domain is not a built-in environment
    skip domain_mismatch      the record's domain is not --environment's (or, with no domain
                              field, its system prompt is another built-in domain's policy)
    fail invalid_environment  the record's domain is not a string, or env_seed not an
                              integer in 0..2**63-1
    fail invalid_call         a call has no string name or its arguments are not a JSON object
    fail unpaired_observation a call has no recorded output, or an output answers no call
    fail limit_exceeded       more calls than ReadLimits.max_conversation_calls
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from ._case import Item, ReadSettings, TrajectoryCase, TrajectoryStep
from ._decode import ReadLimits, loads_text
from ._environments import ENVIRONMENTS, MAX_SEED, ReplaySettings
from ._errors import BadRecord
from ._turn import Turn

__all__ = ["trajectory_items"]

_NO_SEED = (
    "checked for format only: no seed to reset {domain} to (give --environment "
    "{domain}:SEED or an env_seed field; seeds are not guessed)"
)


class _Unreplayable(Exception):
    def __init__(self, verdict: Literal["fail", "skip"], reason: str, message: str) -> None:
        super().__init__(message)
        self.problem: tuple[Literal["fail", "skip"], str, str] = (verdict, reason, message)


def _policy_domain(record: Mapping[str, Any], turns: Sequence[Turn]) -> str | None:
    """The built-in domain whose written policy the record's system prompt is, word for
    word (``apigen-mt.jsonl`` rows carry it as ``system``), else None."""
    texts = [t.text for t in turns if t.role == "system"]
    if isinstance(record.get("system"), str):
        texts.append(record["system"])
    for text in texts:
        for name, domain in ENVIRONMENTS.items():
            if text.strip() == domain.policy.strip():
                return name
    return None


def _domain(record: Mapping[str, Any], replay: ReplaySettings, turns: Sequence[Turn]) -> str:
    own = record.get("domain")
    if "domain" in record and not isinstance(own, str):
        raise _Unreplayable("fail", "invalid_environment", "the domain field is not a string")
    own_name = own.strip().lower() if isinstance(own, str) else None
    choice = replay.environment
    if choice is not None:
        if own_name is not None and own_name != choice.domain:
            shown = own_name[:40]
            message = f"the record's domain {shown!r} is not --environment's {choice.domain}"
            raise _Unreplayable("skip", "domain_mismatch", message)
        policy = _policy_domain(record, turns) if own_name is None else None
        if policy is not None and policy != choice.domain:
            message = f"the record's system prompt is the {policy} policy, not {choice.domain}'s"
            raise _Unreplayable("skip", "domain_mismatch", message)
        return choice.domain
    if own_name is None or own_name not in ENVIRONMENTS:
        known = ", ".join(sorted(ENVIRONMENTS))
        shown = (own_name or "")[:40]
        raise _Unreplayable(
            "skip", "unknown_domain", f"domain {shown!r} is not a built-in environment ({known})"
        )
    return own_name


def _seed(record: Mapping[str, Any], replay: ReplaySettings, domain: str) -> int:
    choice = replay.environment
    if choice is not None and choice.seed is not None:
        return choice.seed
    seed = record.get("env_seed")
    if seed is None:
        raise _Unreplayable("skip", "no_seed", _NO_SEED.format(domain=domain))
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise _Unreplayable(
            "fail", "invalid_environment", f"env_seed must be an integer in 0..{MAX_SEED}"
        )
    return seed


def _call(call: Any, at: str, limits: ReadLimits) -> tuple[str, dict[str, Any]]:
    if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
        raise _Unreplayable("fail", "invalid_call", f"{at}: a call needs a string name")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = loads_text(arguments, what=f"{at} arguments", reason="x", limits=limits)
        except BadRecord as exc:
            raise _Unreplayable("fail", "invalid_call", exc.message) from None
    if not isinstance(arguments, dict):
        message = f"{at}: {call['name'][:60]}: arguments are not a JSON object"
        raise _Unreplayable("fail", "invalid_call", message)
    return call["name"], arguments


def _steps(turns: Sequence[Turn], limits: ReadLimits) -> tuple[TrajectoryStep, ...]:
    steps: list[TrajectoryStep] = []
    pending: list[tuple[int, str, str, dict[str, Any]]] = []  # calls awaiting their output
    turn_no = 0
    for turn in turns:
        if turn.role == "tool":
            if not pending:
                raise _Unreplayable(
                    "fail", "unpaired_observation", f"{turn.at}: an output that answers no call"
                )
            k, at, name, arguments = pending.pop(0)
            steps.append(TrajectoryStep(k, at, name, arguments, turn.text))
            continue
        if pending:
            k, at, name, _ = pending[0]
            message = f"turn {k} ({at}): the call of {name[:60]!r} has no recorded output"
            raise _Unreplayable("fail", "unpaired_observation", message)
        if turn.role != "assistant" or turn.calls is None:
            continue
        turn_no += 1
        if not isinstance(turn.calls, list):
            message = f"turn {turn_no} ({turn.at}): {turn.calls.message}"
            raise _Unreplayable("fail", "invalid_call", message)
        if len(steps) + len(turn.calls) > limits.max_conversation_calls:
            message = f"more than {limits.max_conversation_calls} calls in the conversation"
            raise _Unreplayable("fail", "limit_exceeded", message)
        for call in turn.calls:
            pending.append((turn_no, turn.at, *_call(call, turn.at, limits)))
    if pending:
        k, at, name, _ = pending[0]
        message = f"turn {k} ({at}): the call of {name[:60]!r} has no recorded output"
        raise _Unreplayable("fail", "unpaired_observation", message)
    return tuple(steps)


def trajectory_items(
    record: Any, rid: str, where: str, turns: Sequence[Turn], settings: ReadSettings
) -> Iterator[Item]:
    """The record's :class:`TrajectoryCase` (id ``<rid>#trajectory``) when it is replayed;
    nothing otherwise."""
    replay = settings.replay
    if not isinstance(record, Mapping) or not replay.wanted(record):
        return
    tid = f"{rid}#trajectory"
    domain = replay.environment.domain if replay.environment is not None else ""
    try:
        domain = _domain(record, replay, turns)
        seed = _seed(record, replay, domain)
        steps = _steps(turns, settings.limits)
    except _Unreplayable as exc:
        yield TrajectoryCase(tid, where, domain, 0, problem=exc.problem)
        return
    yield TrajectoryCase(tid, where, domain, seed, steps)
