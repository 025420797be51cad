"""What a reader produces: records to check (:class:`CheckCase`) or records that could not
be read (:class:`InvalidRecord`), and the rules every reader shares for ids and styles.

No-call answers: a record is "no call expected" (style ``irrelevance``) only where it says
so: BFCL's irrelevance categories, a ``style``/``category`` field naming it, an assistant
turn that answers in text in a conversation whose shape the reader knows, or
``ReadSettings(allow_no_call=True)`` (``--allow-no-call``). Otherwise an empty answer keeps
the style the record's tools suggest (one tool: simple, several: multiple) and the format
stage rejects it for making no call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from topics import QueryStyle, Tool

from ..stages import FormatError
from ._decode import ReadLimits
from ._environments import ReplaySettings
from ._errors import BadRecord

__all__ = [
    "CheckCase",
    "Execution",
    "InvalidRecord",
    "Item",
    "ReadSettings",
    "TrajectoryCase",
    "TrajectoryStep",
    "case_style",
    "check_calls_limit",
    "declared_style",
    "infer_style",
    "record_id",
]

Execution = Literal["required", "none", "auto"]


@dataclass(frozen=True, slots=True)
class ReadSettings:
    """How records are read.

    limits: bounds on one record (bytes, depth, tools, calls); see :class:`ReadLimits`.
    allow_no_call: an answer with no call means "no call is wanted" in every record (the
      irrelevance style), as in datasets made only of irrelevance cases. Off, a record
      must say so itself (see the module docstring).
    replay: whether conversations that name an environment (or every conversation, with
      ``--environment``) are also replayed as one trajectory (:class:`ReplaySettings`).

    Example::

        ReadSettings(limits=ReadLimits(max_tools=512), allow_no_call=True)
    """

    limits: ReadLimits = field(default_factory=ReadLimits)
    allow_no_call: bool = False
    replay: ReplaySettings = field(default_factory=ReplaySettings)


@dataclass(frozen=True, slots=True)
class CheckCase:
    """One record (or one tool-calling assistant turn of a conversation) to check.

    id: the record's id; ``<id>#turn<k>`` for the k-th tool-calling turn of a conversation
      that has several.
    where: ``file:line`` (``#messages[i]`` appended for a conversation's turn).
    query: the user's words up to the answer (a conversation's user turns so far).
    answers: the answer as JSON call objects ``[{"name", "arguments"}]`` (arguments may be
      a JSON string, OpenAI style), or the :class:`FormatError` that reading it raised.
    execution: what the record's source says about running its calls: ``required`` (BFCL
      exec sets: calls that cannot run are ``not_executable``), ``none`` (BFCL's other
      sets document functions that are not implemented anywhere, whatever a same-named
      library function does), ``auto`` (run them when the library has the functions).
    observed: the tool outputs the record shows after this answer (ShareGPT
      ``observation``, OpenAI ``tool`` messages, Hermes ``<tool_response>``), in order;
      JSON values where they parse, else the text.
    """

    id: str
    where: str
    query: str
    tools: tuple[Tool, ...]
    answers: list[Any] | FormatError
    style: QueryStyle
    execution: Execution = "auto"
    observed: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record that could not be read; ``reason`` is from
    :data:`~streamer.check.READ_REASONS` (or ``stage_error`` for a reader bug)."""

    id: str
    where: str
    message: str
    reason: str = "invalid_record"


@dataclass(frozen=True, slots=True)
class TrajectoryStep:
    """One call of a conversation replayed as a trajectory.

    turn: the tool-calling turn it belongs to, counted from 1 (as ``#turn<k>`` ids are).
    at: where in the record (``messages[4]``, ``conversations[3]``).
    name, arguments: the call (arguments decoded to a JSON object).
    observed: the output the record shows for it (the tool message's or observation's
      text).
    """

    turn: int
    at: str
    name: str
    arguments: dict[str, Any]
    observed: str


@dataclass(frozen=True, slots=True)
class TrajectoryCase:
    """A whole conversation to replay on a built-in environment (see
    :mod:`streamer.check._trajectory`).

    id: the record's id with ``#trajectory``.
    domain, seed: the environment (a name of :data:`~streamer.check._environments.ENVIRONMENTS`)
      and the seed it is reset to.
    steps: every call, in order, with its recorded output.
    problem: when reading already decided the verdict: ``(verdict, reason, message)`` (a
      seed missing, a call that cannot be replayed); ``steps`` is then empty.
    """

    id: str
    where: str
    domain: str
    seed: int
    steps: tuple[TrajectoryStep, ...] = ()
    problem: tuple[Literal["fail", "skip"], str, str] | None = None


Item = CheckCase | InvalidRecord | TrajectoryCase


def record_id(record: Any, key: str) -> str:
    """The record's own ``id`` (a string or integer), else ``key`` (file and position)."""
    if isinstance(record, Mapping):
        rid = record.get("id")
        if isinstance(rid, str | int) and not isinstance(rid, bool) and str(rid).strip():
            return str(rid)[:200]
    return key


_STYLE_FIELDS = ("style", "query_style", "category")


def declared_style(record: Mapping[str, Any]) -> QueryStyle | None:
    """The style a record names in a ``style``, ``query_style`` or ``category`` field:
    one of the style names, or any value that says irrelevance (``live_irrelevance``)."""
    for key in _STYLE_FIELDS:
        value = record.get(key)
        if not isinstance(value, str):
            continue
        text = value.strip().lower().replace("-", "_").replace(" ", "_")
        if "irrelevan" in text:
            return QueryStyle.IRRELEVANCE
        if text in {style.value for style in QueryStyle}:
            return QueryStyle(text)
    return None


def _call_name(call: Any) -> str | None:
    if not isinstance(call, Mapping):
        return None
    function = call.get("function")
    name = function.get("name") if isinstance(function, Mapping) else call.get("name")
    return name if isinstance(name, str) else None


def infer_style(calls: Sequence[Any], tools: Sequence[Tool]) -> QueryStyle:
    """The style the calls fit; for no call, the style the tools suggest (never
    irrelevance: an empty answer is not evidence that no call was wanted)."""
    names = {_call_name(c) for c in calls}
    if len(calls) <= 1:
        return QueryStyle.SIMPLE if len(tools) <= 1 else QueryStyle.MULTIPLE
    return QueryStyle.PARALLEL if len(names) == 1 else QueryStyle.PARALLEL_MULTIPLE


def case_style(
    answers: list[Any] | FormatError,
    tools: Sequence[Tool],
    *,
    declared: QueryStyle | None,
    no_call_wanted: bool,
) -> QueryStyle:
    """The style to check a record against: what it declares, else irrelevance for an
    empty answer where no call is wanted, else :func:`infer_style`."""
    if declared is not None:
        return declared
    calls = answers if isinstance(answers, list) else []
    if not calls and no_call_wanted:
        return QueryStyle.IRRELEVANCE
    return infer_style(calls, tools)


def check_calls_limit(calls: Sequence[Any], limits: ReadLimits, what: str = "answer") -> None:
    """Raise ``limit_exceeded`` for an answer with more calls than allowed."""
    if len(calls) > limits.max_calls:
        raise BadRecord(
            "limit_exceeded",
            f"the {what} makes {len(calls)} calls; the limit is {limits.max_calls}",
        )
