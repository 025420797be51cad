"""Read existing function-calling datasets as records to check (``apigen check``).

Formats (detected per file from its first recognizable record, or forced)::

    xlam    xlam-function-calling-60k rows ``{id, query, answers, tools}``; ``answers`` and
            ``tools`` are JSON strings (or already decoded); tools are xLAM flat parameter
            maps or OpenAI-style function schemas (wrapped or bare), per tool
    openai  OpenAI chat records ``{messages, tools}``: the user messages are the query, the
            first assistant message's ``tool_calls`` the answer (none: no call expected)
    bfcl    BFCL question files ``{id, question, function}`` with their ``possible_answer``
            file (found beside them, or passed explicitly), or the answer file itself

Files are JSON Lines, or one JSON list of records. A record that cannot be read is an
:class:`InvalidRecord` naming the file and line (or list index); the others are still read.

BFCL gold answers list several acceptable values per argument. Checking one means checking
one acceptable combination: the **first** acceptable value of every argument, recursively
for the per-key option lists inside dict values; an argument whose first acceptable value is
``""`` (BFCL's "may be omitted") or whose list is empty is omitted. ``null`` is kept as JSON
null. The query style comes from the category in the id (``live_parallel_3-1-0`` is
parallel); ``irrelevance`` categories expect no call and need no answer file. Exec
categories' answers are Python call strings, parsed as data (:func:`parse_call_string`,
literals only: never evaluated); positional arguments take the documented parameters' order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from executors import ApiSpec, SpecError
from executors.converters import (
    spec_from_bfcl_function,
    spec_from_openai_tool,
    spec_from_xlam_tool,
)
from topics import QueryStyle, Tool

from .stages import FormatError, tool_from_spec

__all__ = [
    "FORMAT_NAMES",
    "CheckCase",
    "DatasetFormatError",
    "InvalidRecord",
    "RecordFormat",
    "parse_call_string",
    "read_dataset",
]

RecordFormat = Literal["xlam", "openai", "bfcl"]
Execution = Literal["required", "none", "auto"]
FORMAT_NAMES: tuple[RecordFormat, ...] = ("xlam", "openai", "bfcl")


class DatasetFormatError(Exception):
    """A whole file cannot be checked (unknown format, missing BFCL answers): a usage error."""

    reason = "invalid_dataset"


@dataclass(frozen=True, slots=True)
class CheckCase:
    """One record to check.

    answers: the answer as JSON call objects ``[{"name", "arguments"}]`` (arguments may be
      a JSON string, OpenAI style), or the :class:`FormatError` that reading it raised.
    execution: what the record's source says about running its calls: ``required`` (BFCL
      exec sets: calls that cannot run are ``not_executable``), ``none`` (BFCL's other
      sets document functions that are not implemented anywhere, whatever a same-named
      library function does), ``auto`` (run them when the library has the functions).
    """

    id: str
    where: str
    query: str
    tools: tuple[Tool, ...]
    answers: list[Any] | FormatError
    style: QueryStyle
    execution: Execution = "auto"


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record that could not be read; ``where`` is ``file:line`` (or ``file[index]``)."""

    id: str
    where: str
    message: str

    reason = "invalid_record"


Item = CheckCase | InvalidRecord


class _Bad(Exception):
    """A record-level problem (becomes an :class:`InvalidRecord`)."""


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for every record; undecodable lines yield a :class:`_Bad`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data.lstrip().startswith(b"["):
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, list):
            for index, record in enumerate(document):
                yield f"{path}[{index}]", record
            return
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield f"{path}:{number}", _Bad(f"not JSON: {exc}")


def detect_format(record: Any) -> RecordFormat | None:
    """The format a decoded record looks like, or None."""
    if not isinstance(record, dict):
        return None
    if ("question" in record and "function" in record) or "ground_truth" in record:
        return "bfcl"
    if isinstance(record.get("messages"), list):
        return "openai"
    if {"query", "answers", "tools"} <= set(record):
        return "xlam"
    return None


def read_dataset(
    path: str | Path, *, fmt: RecordFormat | None = None, answers: str | Path | None = None
) -> tuple[RecordFormat, Iterator[Item]]:
    """The file's format and its records; raises :class:`DatasetFormatError` when the file
    as a whole cannot be read (unreadable, no recognizable record, BFCL answers missing)."""
    path = Path(path)
    if fmt is None:
        fmt = next((f for _, r in _records(path) if (f := detect_format(r))), None)
        if fmt is None:
            raise DatasetFormatError(
                f"{path}: no record looks like xLAM ({{query, answers, tools}}), OpenAI chat "
                "({messages, tools}) or BFCL ({id, question, function}); pass --format"
            )
    if fmt == "bfcl":
        return fmt, _bfcl_items(path, Path(answers) if answers else None)
    reader = _xlam_case if fmt == "xlam" else _openai_case
    return fmt, _items(path, reader)


def _items(path: Path, reader: Any) -> Iterator[Item]:
    for where, record in _records(path):
        rid = _record_id(record, where)
        if isinstance(record, _Bad):
            yield InvalidRecord(rid, where, str(record))
            continue
        try:
            yield reader(record, where, rid)
        except (_Bad, SpecError) as exc:
            yield InvalidRecord(rid, where, str(exc))


def _record_id(record: Any, where: str) -> str:
    if isinstance(record, dict) and isinstance(record.get("id"), str | int):
        return str(record["id"])
    return where


def _tool(spec: ApiSpec) -> Tool:
    return tool_from_spec(spec)


def _infer_style(answers: Any, tools: Sequence[Tool]) -> QueryStyle:
    """The style a record's calls fit (xLAM and OpenAI records do not name one)."""
    calls = answers if isinstance(answers, list) else []
    names = {c.get("name") for c in calls if isinstance(c, dict)}
    if not calls:
        return QueryStyle.IRRELEVANCE
    if len(calls) == 1:
        return QueryStyle.SIMPLE if len(tools) <= 1 else QueryStyle.MULTIPLE
    return QueryStyle.PARALLEL if len(names) == 1 else QueryStyle.PARALLEL_MULTIPLE


def _json_field(record: Mapping[str, Any], field: str) -> Any:
    value = record.get(field)
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise _Bad(f"{field}: not a JSON string: {exc}") from None
    return value


def _schema_tool(entry: Any, where: str) -> Tool:
    """An xLAM flat-map tool or an OpenAI function schema (wrapped or bare)."""
    function = entry.get("function") if isinstance(entry, dict) else None
    params = (function if isinstance(function, dict) else entry or {}).get("parameters")
    if isinstance(function, dict) or (isinstance(params, dict) and "properties" in params):
        return _tool(spec_from_openai_tool(entry, where=where))
    return _tool(spec_from_xlam_tool(entry, where=where))


def _xlam_case(record: Any, where: str, rid: str) -> CheckCase:
    if not isinstance(record, dict) or not {"query", "answers", "tools"} <= set(record):
        raise _Bad("not an xLAM row: needs query, answers and tools")
    tools_raw = _json_field(record, "tools")
    if not isinstance(tools_raw, list):
        raise _Bad("tools: must be a list of tools")
    tools = tuple(_schema_tool(t, f"{where}#tools[{i}]") for i, t in enumerate(tools_raw))
    answers: list[Any] | FormatError
    raw = record["answers"]
    try:
        decoded: Any = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError as exc:
        decoded = FormatError("invalid_json", f"answers is not JSON: {exc}")
    if isinstance(decoded, list | FormatError):
        answers = decoded
    else:
        answers = FormatError("missing_field", "answers is not a list of calls")
    query = record["query"] if isinstance(record["query"], str) else ""
    return CheckCase(rid, where, query, tools, answers, _infer_style(answers, tools))


def _openai_case(record: Any, where: str, rid: str) -> CheckCase:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
        raise _Bad("not an OpenAI chat record: needs a messages list")
    tools_raw = record.get("tools") or []
    if not isinstance(tools_raw, list):
        raise _Bad("tools: must be a list of tool entries")
    tools = tuple(
        _tool(spec_from_openai_tool(t, where=f"{where}#tools[{i}]"))
        for i, t in enumerate(tools_raw)
    )
    query_parts: list[str] = []
    calls: list[Any] = []
    for i, message in enumerate(record["messages"]):
        if not isinstance(message, dict):
            raise _Bad(f"messages[{i}]: must be an object")
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            query_parts.append(message["content"])
        tool_calls = message.get("tool_calls")
        if message.get("role") == "assistant" and tool_calls:
            if not isinstance(tool_calls, list):
                raise _Bad(f"messages[{i}].tool_calls: must be a list")
            calls = [tc.get("function", tc) if isinstance(tc, dict) else tc for tc in tool_calls]
            break
    query = "\n".join(query_parts)
    return CheckCase(rid, where, query, tools, calls, _infer_style(calls, tools))


# --- BFCL -----------------------------------------------------------------------------------

_OMIT = object()


def _bfcl_style(category: str) -> QueryStyle | None:
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


def _category(rid: str) -> str:
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


def _ast_answer(ground_truth: Any) -> list[Any]:
    if not isinstance(ground_truth, list):
        raise _Bad("ground_truth: must be a list of calls")
    calls = []
    for i, entry in enumerate(ground_truth):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise _Bad(f"ground_truth[{i}]: must be one {{function: {{param: [values]}}}}")
        ((name, params),) = entry.items()
        if not isinstance(params, dict):
            raise _Bad(f"ground_truth[{i}].{name}: must map parameters to acceptable values")
        arguments = {k: v for k, v in ((k, _pick(o)) for k, o in params.items()) if v is not _OMIT}
        calls.append({"name": name, "arguments": arguments})
    return calls


def _literal(node: ast.expr, where: str) -> Any:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, str | int | float | bool)
    ):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Dict):
        out: dict[str, Any] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            key = _literal(k, where) if k is not None else None
            if not isinstance(key, str):
                raise ValueError(f"{where}: dict keys must be strings")
            out[key] = _literal(v, where)
        return out
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    raise ValueError(f"{where} is an expression ({type(node).__name__}), not a literal value")


def parse_call_string(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    """``"f(1, b=[2, -3])"`` -> ``("f", [1], {"b": [2, -3]})``, as JSON data.

    Only literals are accepted (strings, numbers, booleans, None, lists, tuples as lists,
    dicts with string keys, signed numbers); anything else, arithmetic included, raises
    ValueError. Nothing is evaluated.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not a Python call: {exc.msg}") from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise ValueError("not a function call")
    func = call.func
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        raise ValueError("the called function must be a (dotted) name")
    name = ".".join([func.id, *reversed(parts)])
    args = [_literal(a, f"positional argument {i}") for i, a in enumerate(call.args)]
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise ValueError("**kwargs is not a literal argument")
        kwargs[kw.arg] = _literal(kw.value, f"argument {kw.arg}")
    return name, args, kwargs


def _exec_answer(ground_truth: Any, tools: Sequence[Tool]) -> list[Any] | FormatError:
    if not isinstance(ground_truth, list) or not all(isinstance(g, str) for g in ground_truth):
        raise _Bad("ground_truth: must be a list of call strings")
    order = {t.name: list(t.parameters.get("properties", {})) for t in tools}
    calls = []
    for i, text in enumerate(ground_truth):
        try:
            name, args, kwargs = parse_call_string(text)
        except ValueError as exc:
            return FormatError("invalid_call", f"ground_truth[{i}] {text.strip()!r}: {exc}")
        params = order.get(name, [])
        if len(args) > len(params):
            return FormatError(
                "invalid_call",
                f"ground_truth[{i}] {text.strip()!r}: {len(args)} positional argument(s), "
                f"{name} documents {len(params)} parameter(s)",
            )
        calls.append({"name": name, "arguments": dict(zip(params, args, strict=False)) | kwargs})
    return calls


def _answer_paths(path: Path) -> list[Path]:
    return [
        path.parent / "possible_answer" / path.name,
        path.parent.parent / "possible_answer" / path.name,
    ]


def _question_paths(path: Path) -> list[Path]:
    return [path.parent.parent / path.name, path.parent.parent / "question" / path.name]


def _bfcl_items(path: Path, answers: Path | None) -> Iterator[Item]:
    first = next((r for _, r in _records(path) if isinstance(r, dict)), {})
    if "ground_truth" in first:  # the answer file was given: find its questions
        questions = next((p for p in _question_paths(path) if p.is_file()), None)
        if questions is None:
            looked = ", ".join(str(p) for p in _question_paths(path))
            raise DatasetFormatError(f"{path}: a BFCL answer file; no question file at {looked}")
        path, answers = questions, path
    if answers is None:
        answers = next((p for p in _answer_paths(path) if p.is_file()), None)
    if answers is None and _bfcl_style(_category(str(first.get("id", "")))) not in (
        QueryStyle.IRRELEVANCE,
    ):
        looked = ", ".join(str(p) for p in _answer_paths(path))
        raise DatasetFormatError(
            f"{path}: no BFCL possible_answer file (looked at {looked}); pass --answers"
        )
    gold: dict[str, Any] = {}
    bad_gold: list[InvalidRecord] = []
    if answers is not None:
        for where, record in _records(answers):
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                gold[record["id"]] = record.get("ground_truth")
            else:
                bad_gold.append(InvalidRecord(where, where, "not a BFCL answer {id, ground_truth}"))
    return _bfcl_cases(path, answers, gold, bad_gold)


def _bfcl_cases(
    path: Path, answers: Path | None, gold: dict[str, Any], bad_gold: list[InvalidRecord]
) -> Iterator[Item]:
    yield from bad_gold

    def read(record: Any, where: str, rid: str) -> CheckCase:
        return _bfcl_case(record, where, rid, answers, gold)

    yield from _items(path, read)


def _bfcl_case(
    record: Any, where: str, rid: str, answers: Path | None, gold: dict[str, Any]
) -> CheckCase:
    if not isinstance(record, dict) or not isinstance(record.get("function"), list):
        raise _Bad("not a BFCL question: needs id, question and a function list")
    turns = record.get("question")
    if not isinstance(turns, list) or not all(isinstance(t, list) for t in turns):
        raise _Bad("question: must be a list of turns (lists of messages)")
    query = "\n".join(
        m["content"]
        for turn in turns
        for m in turn
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str)
    )
    tools = tuple(
        _tool(spec_from_bfcl_function(doc, where=f"{where}#function[{i}]"))
        for i, doc in enumerate(record["function"])
    )
    category = _category(rid)
    style = _bfcl_style(category)
    calls: list[Any] | FormatError
    if rid in gold:
        ground_truth = gold[rid]
        is_exec = bool(ground_truth) and all(isinstance(g, str) for g in ground_truth)
        calls = _exec_answer(ground_truth, tools) if is_exec else _ast_answer(ground_truth)
    elif style is QueryStyle.IRRELEVANCE:
        calls = []
    else:
        raise _Bad(f"no ground truth for id {rid!r} in {answers or 'any possible_answer file'}")
    if style is None:
        style = _infer_style(calls, tools)
    execution: Execution = "required" if category.startswith("exec") else "none"
    return CheckCase(rid, where, query, tools, calls, style, execution)
