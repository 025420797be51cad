"""Render a :class:`~streamer.dataset._store.DatasetStore` into dataset files and a card.

Formats (``FORMATS``):

- ``xlam``      ``xlam.jsonl``: the xlam-function-calling-60k schema ``id, query, tools,
                answers`` with ``tools`` and ``answers`` as JSON strings;
- ``openai``    ``openai.jsonl``: chat records with ``tools``, an assistant ``tool_calls``
                message and one ``tool`` message per result;
- ``sharegpt``  ``sharegpt.jsonl``: ShareGPT/Hermes conversations (``<tool_call>`` tags);
- ``parquet``   ``dataset.parquet``: the xLAM columns plus style, model, categories and
                ``virtual_calls`` (how many of the record's calls a virtual API answered).

Records with virtual executions (``--virtual-apis``) say so outside the xLAM file, whose
schema stays the released one: ``openai`` and ``sharegpt`` records get ``virtual_calls``
(only when it is not 0), parquet has the column, and the card counts real and virtual
executions per API category.

The card (``README.md``) starts with the YAML header the Hugging Face Hub reads
(:mod:`streamer.dataset._hub`): one config per export file present, tags, size category.

Every file is written to a temporary name and renamed, so readers never see half a file.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from executors import ApiSpec

from ._hub import hub_header
from ._store import DatasetRecord, DatasetStore, FunnelRow
from ._usage import read_usage

__all__ = ["FORMATS", "export_dataset", "funnel_table", "xlam_row"]

FORMATS = ("xlam", "openai", "sharegpt", "parquet")

_STAGES = ("generator", "format", "execution", "semantic")


def _xlam_tools(tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        ApiSpec(
            name=t["name"], description=t["description"], parameters=t["parameters"]
        ).to_xlam_tool()
        for t in tools
    ]


def xlam_row(index: int, record: DatasetRecord) -> dict[str, Any]:
    """One row in the xlam-function-calling-60k schema."""
    return {
        "id": index,
        "query": record.query,
        "answers": orjson.dumps(record.calls).decode(),
        "tools": orjson.dumps(_xlam_tools(record.tools)).decode(),
    }


def _openai_record(record: DatasetRecord) -> dict[str, Any]:
    calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": c["name"], "arguments": orjson.dumps(c["arguments"]).decode()},
        }
        for i, c in enumerate(record.calls)
    ]
    messages: list[dict[str, Any]] = [{"role": "user", "content": record.query}]
    messages.append({"role": "assistant", "content": None, "tool_calls": calls})
    for i, result in enumerate(record.results):
        messages.append(
            {"role": "tool", "tool_call_id": f"call_{i}", "content": orjson.dumps(result).decode()}
        )
    tools = [
        {"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters")}}
        for t in record.tools
    ]
    return _marked({"id": record.id, "messages": messages, "tools": tools}, record)


def _marked(row: dict[str, Any], record: DatasetRecord) -> dict[str, Any]:
    """``row`` with ``virtual_calls`` when a virtual API answered any of its calls."""
    if record.virtual_calls:
        row["virtual_calls"] = record.virtual_calls
    return row


def _sharegpt_record(record: DatasetRecord) -> dict[str, Any]:
    tools_json = orjson.dumps(record.tools).decode()
    system = (
        "You are a function calling AI model. You may call one or more functions to assist "
        f"with the user query. Here are the available tools: <tools>{tools_json}</tools>"
    )
    conv: list[dict[str, str]] = [
        {"from": "system", "value": system},
        {"from": "human", "value": record.query},
    ]
    if record.calls:
        calls = "\n".join(
            f"<tool_call>\n{orjson.dumps(c).decode()}\n</tool_call>" for c in record.calls
        )
        conv.append({"from": "gpt", "value": calls})
        results = "\n".join(
            f"<tool_response>\n{orjson.dumps(r).decode()}\n</tool_response>" for r in record.results
        )
        conv.append({"from": "tool", "value": results})
    return _marked({"id": record.id, "conversations": conv, "tools": tools_json}, record)


class _AtomicLines:
    """A JSON Lines file written under a temporary name and renamed when complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._fh = self._tmp.open("wb")

    def write(self, line: bytes) -> None:
        self._fh.write(line)
        self._fh.write(b"\n")

    def commit(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


def _write_atomic(path: Path, lines: Iterable[bytes]) -> None:
    out = _AtomicLines(path)
    try:
        for line in lines:
            out.write(line)
    except BaseException:
        out.abort()
        raise
    out.commit()


class _ParquetRows:
    """``dataset.parquet`` written in row groups of ``batch`` records, so memory stays flat."""

    def __init__(self, path: Path, batch: int = 2048) -> None:
        import pyarrow as pa

        self.path = path
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._batch = batch
        self._rows: dict[str, list[Any]] = {name: [] for name in _PARQUET_COLUMNS}
        self._schema = pa.schema(
            [
                ("id", pa.int64()),
                *((name, pa.string()) for name in ("query", "answers", "tools", "style", "model")),
                ("categories", pa.list_(pa.string())),
                ("event_id", pa.string()),
                ("virtual_calls", pa.int64()),
            ]
        )
        self._writer: Any = None

    def add(self, row: dict[str, Any], record: DatasetRecord) -> None:
        values = {
            "id": row["id"],
            "query": row["query"],
            "answers": row["answers"],
            "tools": row["tools"],
            "style": record.style,
            "model": record.model,
            "categories": list(record.categories),
            "event_id": record.id,
            "virtual_calls": record.virtual_calls,
        }
        for name in _PARQUET_COLUMNS:
            self._rows[name].append(values[name])
        if len(self._rows["id"]) >= self._batch:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, self._schema)
        self._writer.write_table(pa.table(self._rows, schema=self._schema))
        self._rows = {name: [] for name in _PARQUET_COLUMNS}

    def commit(self) -> None:
        if self._rows["id"] or self._writer is None:
            self._flush()
        self._writer.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._tmp.unlink(missing_ok=True)


_PARQUET_COLUMNS = (
    *("id", "query", "answers", "tools", "style", "model", "categories", "event_id"),
    "virtual_calls",
)


@dataclass(slots=True)
class _Counts:
    """What the card reports about the kept records, accumulated while exporting."""

    records: int = 0
    by_style: Counter[str] = field(default_factory=Counter)
    by_model: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    executions: Counter[tuple[str, bool]] = field(default_factory=Counter)
    """Calls of the kept records by (API category, simulated)."""

    def add(self, record: DatasetRecord) -> None:
        self.records += 1
        self.by_style[record.style] += 1
        self.by_model[record.model] += 1
        self.by_category.update(record.categories or ["uncategorized"])
        categories = record.call_categories or [""] * len(record.calls)
        simulated = record.simulated or [False] * len(record.calls)
        for category, virtual in zip(categories, simulated, strict=False):
            self.executions[(category or "uncategorized", virtual)] += 1


def funnel_table(rows: Sequence[FunnelRow]) -> list[dict[str, Any]]:
    """Per generator model (and ``all``): pairs in, rejected per stage, verified, pass rate.

    Every pair ends exactly once: rejected at a stage, or verified (``semantic``/``pass``).
    """
    per_model: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        for model in (row.model or "unknown", "all"):
            key = "verified" if row.reason == "pass" else f"fail_{row.stage}"
            per_model[model][key] += row.count
            per_model[model]["total"] += row.count
    table = []
    for model in sorted(per_model, key=lambda m: (m == "all", m)):
        c = per_model[model]
        total = c["total"]
        entry: dict[str, Any] = {"model": model, "total": total, "verified": c["verified"]}
        for stage in _STAGES:
            entry[f"fail_{stage}"] = c[f"fail_{stage}"]
        entry["pass_rate"] = c["verified"] / total if total else 0.0
        table.append(entry)
    return table


def _card(store: DatasetStore, counts: _Counts, out_dir: Path, judges: Sequence[str] = ()) -> str:
    by_style, by_model, by_category = counts.by_style, counts.by_model, counts.by_category
    funnel = store.funnel()
    reasons: Counter[tuple[str, str]] = Counter()
    for row in funnel:
        if row.reason != "pass":
            reasons[(row.stage, row.reason)] += row.count
    dups = store.duplicates()
    virtual = sum(n for (_, v), n in counts.executions.items() if v)
    calls = sum(counts.executions.values())
    lines = [
        hub_header(out_dir, counts.records, virtual=virtual > 0),
        "# Verified function-calling dataset",
        "",
        "Generated by apigen-streamer: every record passed the format, execution and semantic",
        "checkers. Models whose name starts with `simulated` are the simulated endpoint, not a",
        "real LLM.",
        "",
        f"- Records: **{counts.records}**",
        f"- Generated by: {', '.join(sorted(by_model)) or 'none'}",
        f"- Judged by: {', '.join(judges) or 'not recorded'}",
        f"- Duplicates removed: {dups.get('exact', 0)} exact, {dups.get('near', 0)} near",
        *(
            [
                f"- **Virtual executions: {virtual} of {calls} calls were answered by virtual "
                "APIs** (a simulator model writing the API's response from its documentation), "
                "not really executed; see below"
            ]
            if virtual
            else []
        ),
        "",
        "## Filtering funnel (the APIGen paper's table, for this run)",
        "",
        "LLM failed: the generator's call failed for the task (`llm_*` reasons), so no pair was",
        "written to check; the other columns are the checkers' verdicts.",
        "",
        "| Model | Pairs | LLM failed | Fail format | Fail execution | Fail semantic | Verified "
        "| Pass rate |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in funnel_table(funnel):
        lines.append(
            f"| {e['model']} | {e['total']} | {e['fail_generator']} | {e['fail_format']} | "
            f"{e['fail_execution']} | {e['fail_semantic']} | {e['verified']} "
            f"| {e['pass_rate']:.2%} |"
        )
    lines += _usage_section(store.path)
    lines += ["", "## Reject reasons", ""]
    if reasons:
        lines += ["| Stage | Reason | Count |", "|---|---|---:|"]
        lines += [f"| {s} | `{r}` | {n} |" for (s, r), n in sorted(reasons.items())]
    else:
        lines += ["None: no pair was rejected."]
    lines += _contamination_section(store.contaminated())
    for title, counter in (("query style", by_style), ("model", by_model)):
        lines += ["", f"## Records per {title}", "", "| | Count |", "|---|---:|"]
        lines += [f"| {k} | {n} |" for k, n in sorted(counter.items())]
    lines += ["", "## Records per API category", "", "| Category | Count |", "|---|---:|"]
    lines += [f"| {k} | {n} |" for k, n in sorted(by_category.items())]
    lines += _executions_section(counts.executions, reasons)
    lines += [
        "",
        "## Files",
        "",
        "- `xlam.jsonl`: xlam-function-calling-60k schema (`id, query, tools, answers`)",
        "- `openai.jsonl`: OpenAI chat format with `tools` and `tool_calls`",
        "- `sharegpt.jsonl`: ShareGPT/Hermes conversations",
        "- `dataset.parquet`: the xLAM columns plus style, model and categories",
        "",
    ]
    return "\n".join(lines)


def _contamination_section(removed: dict[str, int]) -> list[str]:
    """The card's table of pairs rejected as ``contaminated``, per reference set."""
    lines = [
        "",
        "## Decontamination: removed per reference set",
        "",
        "Pairs that repeated an item of a benchmark reference set (`--decontaminate`): the",
        "same or a near-copy query, a query containing a benchmark query, or the same gold",
        "calls. None of them is in the dataset or the seed pool.",
        "",
    ]
    if not removed:
        return [*lines, "None: no pair was removed as contaminated."]
    lines += ["| Reference set | Removed |", "|---|---:|"]
    lines += [f"| `{_cell(ref)}` | {n} |" for ref, n in sorted(removed.items())]
    lines.append(f"| **all** | {sum(removed.values())} |")
    return lines


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell and code span (one line, no pipes or
    backticks)."""
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")


def _usage_section(db: Path) -> list[str]:
    """Tokens and cost per role and model, as the LLM clients accounted them."""
    lines = ["", "## LLM usage and cost", ""]
    usage = read_usage(db)
    if not usage:
        return [*lines, "Not recorded."]
    lines += [
        "Tokens as the endpoints reported them; cost in US dollars from the configured prices",
        "(0 where no price is configured, and for local and simulated models).",
        "",
        "| Role | Model | Calls | Prompt tokens | Completion tokens | Cost (USD) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for u in usage:
        lines.append(
            f"| {u.role} | {u.model} | {u.calls} | {u.prompt_tokens} | "
            f"{u.completion_tokens} | {u.cost_usd:.4f} |"
        )
    total = sum(u.cost_usd for u in usage)
    tokens = sum(u.prompt_tokens + u.completion_tokens for u in usage)
    lines.append(f"| **all** | | {sum(u.calls for u in usage)} | | {tokens} total | {total:.4f} |")
    return lines


_VIRTUAL_REASONS = ("virtual_api_error", "virtual_bad_response", "simulator_error")


def _executions_section(
    executions: Counter[tuple[str, bool]], reasons: Counter[tuple[str, str]]
) -> list[str]:
    """The card's real-vs-virtual table: calls of the kept records per API category."""
    lines = [
        "",
        "## Real and virtual executions",
        "",
        "Calls of the kept records by API category: **real** ones ran on an executor",
        "(Python, REST, MCP); **virtual** ones were answered by a simulator model from the",
        "API's documentation (`--virtual-apis`), not executed.",
        "",
    ]
    if not executions:
        return [*lines, "None: no record was kept."]
    lines += ["| Category | Real | Virtual |", "|---|---:|---:|"]
    categories = sorted({c for c, _ in executions})
    for category in categories:
        real, virtual = executions[(category, False)], executions[(category, True)]
        lines.append(f"| {category} | {real} | {virtual} |")
    total_real = sum(n for (_, v), n in executions.items() if not v)
    total_virtual = sum(n for (_, v), n in executions.items() if v)
    lines.append(f"| **all** | {total_real} | {total_virtual} |")
    failed = {r: reasons[("execution", r)] for r in _VIRTUAL_REASONS if reasons[("execution", r)]}
    if failed:
        listed = ", ".join(f"`{r}` {n}" for r, n in failed.items())
        lines += ["", f"Pairs rejected because a virtual API failed: {listed}."]
    return lines


def export_dataset(
    store: DatasetStore,
    out_dir: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    card: bool = True,
    judges: Sequence[str] = (),
) -> dict[str, Path]:
    """Write the chosen formats and (with ``card``) ``README.md`` into ``out_dir``; returns
    the paths."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; choose from {list(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # One streaming pass over the store feeds every format, so memory does not grow with
    # the dataset (a 20,000-record export used to hold every record at once).
    lines: dict[str, _AtomicLines] = {}
    parquet: _ParquetRows | None = None
    counts = _Counts()
    try:
        for kind, name in (("xlam", "xlam.jsonl"), ("openai", "openai.jsonl")):
            if kind in formats:
                lines[kind] = _AtomicLines(out / name)
        if "sharegpt" in formats:
            lines["sharegpt"] = _AtomicLines(out / "sharegpt.jsonl")
        if "parquet" in formats:
            parquet = _ParquetRows(out / "dataset.parquet")
        for i, record in enumerate(store.records()):
            counts.add(record)
            row = xlam_row(i, record)
            if "xlam" in lines:
                lines["xlam"].write(orjson.dumps(row))
            if "openai" in lines:
                lines["openai"].write(orjson.dumps(_openai_record(record)))
            if "sharegpt" in lines:
                lines["sharegpt"].write(orjson.dumps(_sharegpt_record(record)))
            if parquet is not None:
                parquet.add(row, record)
    except BaseException:
        for writer in lines.values():
            writer.abort()
        if parquet is not None:
            parquet.abort()
        raise
    written: dict[str, Path] = {}
    for kind, writer in lines.items():
        writer.commit()
        written[kind] = writer.path
    if parquet is not None:
        parquet.commit()
        written["parquet"] = parquet.path
    if card:
        written["card"] = out / "README.md"
        _write_atomic(written["card"], [_card(store, counts, out, judges).encode()])
    return written
