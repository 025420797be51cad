"""Render a :class:`~streamer._dataset.DatasetStore` into dataset files and a card.

Formats (``FORMATS``):

- ``xlam``      ``xlam.jsonl``: the xlam-function-calling-60k schema ``id, query, tools,
                answers`` with ``tools`` and ``answers`` as JSON strings;
- ``openai``    ``openai.jsonl``: chat records with ``tools``, an assistant ``tool_calls``
                message and one ``tool`` message per result;
- ``sharegpt``  ``sharegpt.jsonl``: ShareGPT/Hermes conversations (``<tool_call>`` tags);
- ``parquet``   ``dataset.parquet``: the xLAM columns plus style, model and categories.

Every file is written to a temporary name and renamed, so readers never see half a file.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from executors import ApiSpec

from ._dataset import DatasetRecord, DatasetStore, FunnelRow

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
    return {"id": record.id, "messages": messages, "tools": tools}


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
    return {"id": record.id, "conversations": conv, "tools": tools_json}


def _write_atomic(path: Path, lines: Iterable[bytes]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        for line in lines:
            fh.write(line)
            fh.write(b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def _write_parquet(path: Path, records: Sequence[DatasetRecord]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [xlam_row(i, r) for i, r in enumerate(records)]
    table = pa.table(
        {
            "id": [r["id"] for r in rows],
            "query": [r["query"] for r in rows],
            "answers": [r["answers"] for r in rows],
            "tools": [r["tools"] for r in rows],
            "style": [r.style for r in records],
            "model": [r.model for r in records],
            "categories": [r.categories for r in records],
            "event_id": [r.id for r in records],
        }
    )
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


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


def _card(store: DatasetStore, records: Sequence[DatasetRecord]) -> str:
    by_style = Counter(r.style for r in records)
    by_model = Counter(r.model for r in records)
    by_category = Counter(c for r in records for c in (r.categories or ["uncategorized"]))
    funnel = store.funnel()
    reasons: Counter[tuple[str, str]] = Counter()
    for row in funnel:
        if row.reason != "pass":
            reasons[(row.stage, row.reason)] += row.count
    dups = store.duplicates()
    lines = [
        "# Verified function-calling dataset",
        "",
        "Generated by apigen-streamer: every record passed the format, execution and semantic",
        "checkers. Models whose name starts with `simulated` are the simulated endpoint, not a",
        "real LLM.",
        "",
        f"- Records: **{len(records)}**",
        f"- Duplicates removed: {dups.get('exact', 0)} exact, {dups.get('near', 0)} near",
        "",
        "## Filtering funnel (the APIGen paper's table, for this run)",
        "",
        "| Model | Pairs | Fail format | Fail execution | Fail semantic | Verified | Pass rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for e in funnel_table(funnel):
        fail_format = e["fail_format"] + e["fail_generator"]
        lines.append(
            f"| {e['model']} | {e['total']} | {fail_format} | {e['fail_execution']} | "
            f"{e['fail_semantic']} | {e['verified']} | {e['pass_rate']:.2%} |"
        )
    lines += ["", "## Reject reasons", "", "| Stage | Reason | Count |", "|---|---|---:|"]
    lines += [f"| {s} | `{r}` | {n} |" for (s, r), n in sorted(reasons.items())]
    for title, counter in (("query style", by_style), ("model", by_model)):
        lines += ["", f"## Records per {title}", "", "| | Count |", "|---|---:|"]
        lines += [f"| {k} | {n} |" for k, n in sorted(counter.items())]
    lines += ["", "## Records per API category", "", "| Category | Count |", "|---|---:|"]
    lines += [f"| {k} | {n} |" for k, n in sorted(by_category.items())]
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


def export_dataset(
    store: DatasetStore, out_dir: str | Path, formats: Sequence[str] = FORMATS, *, card: bool = True
) -> dict[str, Path]:
    """Write the chosen formats and (with ``card``) ``README.md`` into ``out_dir``; returns
    the paths."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; choose from {list(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = list(store.records())
    written: dict[str, Path] = {}
    if "xlam" in formats:
        written["xlam"] = out / "xlam.jsonl"
        _write_atomic(
            written["xlam"], (orjson.dumps(xlam_row(i, r)) for i, r in enumerate(records))
        )
    if "openai" in formats:
        written["openai"] = out / "openai.jsonl"
        _write_atomic(written["openai"], (orjson.dumps(_openai_record(r)) for r in records))
    if "sharegpt" in formats:
        written["sharegpt"] = out / "sharegpt.jsonl"
        _write_atomic(written["sharegpt"], (orjson.dumps(_sharegpt_record(r)) for r in records))
    if "parquet" in formats:
        written["parquet"] = out / "dataset.parquet"
        _write_parquet(written["parquet"], records)
    if card:
        written["card"] = out / "README.md"
        _write_atomic(written["card"], [_card(store, records).encode()])
    return written
