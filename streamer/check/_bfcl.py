"""BFCL question files ``{id, question, function}`` with their ``possible_answer`` files.

The answer file is found beside the questions (``possible_answer/<name>`` next to them or
one level up), or passed explicitly; the answer file itself may be given and its question
file is found the same way. BFCL gold answers list several acceptable values per argument.
Checking one means checking one acceptable combination: the **first** acceptable value of
every argument, recursively for the per-key option lists inside dict values; an argument
whose first acceptable value is ``""`` (BFCL's "may be omitted") or whose list is empty is
omitted, except that a required parameter takes its first acceptable value other than
``""`` when it has one (omitting a required parameter is not acceptable). ``null`` is kept
as JSON null. The query style comes from the category in the id (``live_parallel_3-1-0``
is parallel); ``irrelevance`` categories expect no call and need no answer file. Exec
categories' answers are Python call strings, parsed as data
(:func:`~streamer.check.parse_call_string`, literals only: never evaluated); positional
arguments take the documented parameters' order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from executors import ApiSpec
from executors.converters import spec_from_bfcl_function
from topics import QueryStyle, Tool

from ..stages import FormatError
from ._case import (
    CheckCase,
    Execution,
    InvalidRecord,
    Item,
    ReadSettings,
    check_calls_limit,
    infer_style,
)
from ._decode import RawRecord, decode_file
from ._errors import BadRecord, DatasetFormatError
from ._literals import parse_call_string
from ._tools import read_tools

__all__ = ["BfclSource", "bfcl_category", "bfcl_style", "is_bfcl", "open_bfcl"]

_OMIT = object()


def is_bfcl(record: Any) -> bool:
    return isinstance(record, Mapping) and (
        ("question" in record and "function" in record) or "ground_truth" in record
    )


def bfcl_style(category: str) -> QueryStyle | None:
    """The style a BFCL category fixes. ``parallel_multiple`` fixes none: BFCL lets its
    answers call any of the offered functions "zero or more times", so its style is
    inferred from the calls (several calls of one function are parallel)."""
    if category.endswith("parallel_multiple"):
        return None
    for suffix, style in (
        ("irrelevance", QueryStyle.IRRELEVANCE),
        ("parallel", QueryStyle.PARALLEL),
        ("multiple", QueryStyle.MULTIPLE),
        ("simple", QueryStyle.SIMPLE),
        ("simple_python", QueryStyle.SIMPLE),
    ):
        if category.endswith(suffix):
            return style
    return None


def bfcl_category(rid: str) -> str:
    """``live_parallel_3-1-0`` -> ``live_parallel``; ``exec_simple_7`` -> ``exec_simple``."""
    return rid.rsplit("_", 1)[0] if "_" in rid else rid


def _pick(options: Any) -> Any:
    """One acceptable value: the first, ``_OMIT`` for ``""`` or an empty option list."""
    if not isinstance(options, list):
        return _choose(options)
    if not options or options[0] == "":
        return _OMIT
    return _choose(options[0])


def _choose(value: Any) -> Any:
    if isinstance(value, dict):
        picked = {k: _pick(v) for k, v in value.items()}
        return {k: v for k, v in picked.items() if v is not _OMIT}
    if isinstance(value, list):
        return [_choose(v) for v in value]
    return value


def _required_pick(options: Any) -> Any:
    """For a required parameter: the first acceptable value that does not omit it (BFCL
    lists ``""`` first for some required parameters; omitting one is not acceptable)."""
    if isinstance(options, list):
        present = [o for o in options if o != ""]
        if present:
            return _choose(present[0])
    return _pick(options)


def _ast_answer(ground_truth: Any, tools: Sequence[Tool]) -> list[Any]:
    required = {t.name: set(t.parameters.get("required", ())) for t in tools}
    if not isinstance(ground_truth, list):
        raise BadRecord("invalid_record", "ground_truth: must be a list of calls")
    calls = []
    for i, entry in enumerate(ground_truth):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise BadRecord(
                "invalid_record",
                f"ground_truth[{i}]: must be one {{function: {{param: [values]}}}}",
            )
        ((name, params),) = entry.items()
        if not isinstance(params, dict):
            raise BadRecord(
                "invalid_record", f"ground_truth[{i}].{name}: must map parameters to values"
            )
        needed = required.get(name, set())
        picked = ((k, _required_pick(o) if k in needed else _pick(o)) for k, o in params.items())
        arguments = {k: v for k, v in picked if v is not _OMIT}
        calls.append({"name": name, "arguments": arguments})
    return calls


def _exec_answer(ground_truth: list[str], tools: Sequence[Tool]) -> list[Any] | FormatError:
    order = {t.name: list(t.parameters.get("properties", {})) for t in tools}
    calls = []
    for i, text in enumerate(ground_truth):
        shown = text.strip()[:200]
        try:
            name, args, kwargs = parse_call_string(text)
        except ValueError as exc:
            return FormatError("invalid_call", f"ground_truth[{i}] {shown!r}: {exc}")
        params = order.get(name, [])
        if len(args) > len(params):
            return FormatError(
                "invalid_call",
                f"ground_truth[{i}] {shown!r}: {len(args)} positional argument(s), "
                f"{name} documents {len(params)} parameter(s)",
            )
        calls.append({"name": name, "arguments": dict(zip(params, args, strict=False)) | kwargs})
    return calls


def _query(turns: Any) -> str:
    if isinstance(turns, str):
        return turns
    if not isinstance(turns, list):
        raise BadRecord("invalid_record", "question: must be a list of turns (lists of messages)")
    messages = [m for t in turns for m in (t if isinstance(t, list) else [t])]
    return "\n".join(
        m["content"]
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str)
    )


def _function(doc: Any, where: str) -> ApiSpec:
    return spec_from_bfcl_function(doc, where=where)


@dataclass(slots=True)
class BfclSource:
    """A BFCL question file with its gold answers (id -> ground truth)."""

    questions: Path
    answers: Path | None
    gold: dict[str, Any] = field(default_factory=dict)
    bad_gold: list[InvalidRecord] = field(default_factory=list)

    def cases(self, record: Any, where: str, rid: str, settings: ReadSettings) -> Iterator[Item]:
        if not isinstance(record, Mapping) or not isinstance(record.get("function"), list):
            raise BadRecord(
                "invalid_record", "not a BFCL question: needs id, question and a function list"
            )
        query = _query(record.get("question"))
        tools = read_tools(record["function"], _function, settings.limits, label="function")
        category = bfcl_category(rid)
        style = bfcl_style(category)
        calls: list[Any] | FormatError
        if rid in self.gold:
            ground_truth = self.gold[rid]
            is_exec = (
                isinstance(ground_truth, list)
                and bool(ground_truth)
                and all(isinstance(g, str) for g in ground_truth)
            )
            calls = (
                _exec_answer(ground_truth, tools) if is_exec else _ast_answer(ground_truth, tools)
            )
        elif style is QueryStyle.IRRELEVANCE:
            calls = []
        else:
            raise BadRecord(
                "invalid_record",
                f"no ground truth for id {rid!r} in {self.answers or 'any possible_answer file'}",
            )
        if isinstance(calls, list):
            check_calls_limit(calls, settings.limits)
        if style is None:
            style = infer_style(calls if isinstance(calls, list) else [], tools)
        execution: Execution = "required" if category.startswith("exec") else "none"
        yield CheckCase(rid, where, query, tools, calls, style, execution)


def _answer_paths(path: Path) -> list[Path]:
    return [
        path.parent / "possible_answer" / path.name,
        path.parent.parent / "possible_answer" / path.name,
    ]


def _question_paths(path: Path) -> list[Path]:
    return [path.parent.parent / path.name, path.parent.parent / "question" / path.name]


def open_bfcl(
    path: Path,
    answers: Path | None,
    first: Any,
    settings: ReadSettings,
    read: Callable[[Path], Iterator[RawRecord]] | None = None,
) -> BfclSource:
    """The question file and gold answers for ``path`` (a question or an answer file,
    ``first`` its first record); raises :class:`DatasetFormatError` when they are missing."""
    records = read or (lambda p: decode_file(p, settings.limits))
    if isinstance(first, Mapping) and "ground_truth" in first:
        questions = next((p for p in _question_paths(path) if p.is_file()), None)
        if questions is None:
            looked = ", ".join(str(p) for p in _question_paths(path))
            raise DatasetFormatError(f"{path}: a BFCL answer file; no question file at {looked}")
        path, answers = questions, path
        first = next((r.value for r in records(path) if isinstance(r.value, Mapping)), {})
    if answers is None:
        answers = next((p for p in _answer_paths(path) if p.is_file()), None)
    rid = first.get("id") if isinstance(first, Mapping) else None
    if answers is None and bfcl_style(bfcl_category(str(rid or ""))) is not QueryStyle.IRRELEVANCE:
        looked = ", ".join(str(p) for p in _answer_paths(path))
        raise DatasetFormatError(
            f"{path}: no BFCL possible_answer file (looked at {looked}); pass --answers"
        )
    source = BfclSource(path, answers)
    for raw in records(answers) if answers is not None else ():
        value = raw.value
        if isinstance(value, Mapping) and isinstance(value.get("id"), str):
            source.gold[value["id"]] = value.get("ground_truth")
        else:
            message = value.message if isinstance(value, BadRecord) else ""
            source.bad_gold.append(
                InvalidRecord(
                    raw.key,
                    raw.where,
                    message or "not a BFCL answer {id, ground_truth}",
                    value.reason if isinstance(value, BadRecord) else "invalid_record",
                )
            )
    return source
