"""Benchmark: mutation fuzzing of every reader over real records (not a timed test).

Takes real records from ``../shared/data`` (BFCL functions, xLAM rows, ToolBench tools,
OpenAPI documents, glaive conversations; OpenAI-tools entries, MCP listings, OpenAI chat
and Hermes transcripts made from them), mutates each one (type swaps, deletions, insertions,
deep nesting, huge strings, wrong encodings, truncations, NaN/Infinity and huge numbers,
``$ref`` injections that point at a local listening socket and a FIFO) and feeds it to the
reader as bytes, as a file would. Per reader it counts records, verdicts (the value or the
reader's documented error, by kind), crashes (any other exception; must be 0) and the time
per record (max, median), and it asserts that nothing connected to the socket or opened the
FIFO. Writes ``bench/results/fuzz_readers.{json,md}``; exits 1 on a crash or a connection.

    .venv/bin/python bench/fuzz_readers.py               # 10,000 records per reader
    .venv/bin/python bench/fuzz_readers.py --quick       # 300 per reader, a smoke run
    .venv/bin/python bench/fuzz_readers.py --records 2000 --readers xlam,openapi

Readers: the catalogue converters (``xlam``, ``openai_tools``, ``bfcl``, ``toolbench``,
``openapi``, ``mcp``: a spec or ``SpecError``) and the format checker (``format``: LLM
outputs made from xLAM answers; one verdict per pair or one for the whole output). The
records are CPU-bound work on one core; the default size takes a few minutes.
"""

from __future__ import annotations

import argparse
import copy
import errno
import json
import os
import platform
import random
import resource
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import anyio
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from executors import SpecError
from executors.converters import (
    spec_from_bfcl_function,
    spec_from_mcp_tool,
    spec_from_openai_tool,
    spec_from_xlam_tool,
    specs_from_openapi,
    specs_from_toolbench_tool,
)
from executors.converters._common import read_json_lines
from streamer.decontamination import ContaminationIndex, read_reference_set
from streamer.runtime._stage import UnencodableOutput, encode_bounded
from streamer.stages import FormatChecker
from topics import EventMeta, Generation, GenerationSettings, QueryStyle, Sample, Tool

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).parent / "results"
RECORD_TIMEOUT_S = 10
"""A record that takes longer than this counts as a crash (``hang``)."""

MUTATIONS = (
    "none",
    "type_swap",
    "delete",
    "insert",
    "deep_nesting",
    "huge_string",
    "wrong_encoding",
    "truncate",
    "nan_infinity",
    "huge_number",
    "ref_injection",
)
KEYS = (
    "type", "name", "description", "parameters", "properties", "required", "items", "enum",
    "default", "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "pattern",
    "minimum", "maximum", "multipleOf", "format", "additionalProperties", "arguments",
    "function", "tools", "inputSchema", "api_list", "paths", "components", "schema", "in",
    "requestBody", "content", "servers", "url", "method", "query", "answers", "pairs",
)  # fmt: skip
RUNS = ("a ", ", ", "List[", "Dict[str, ", "{", "[", '\\"', "%s", "(a+)+", "\\u", "<tool_call>")
"""Tokens a huge string repeats, besides single characters: what tokenizers, regexes and
nesting parsers meet in long runs."""
SWAPS: tuple[Any, ...] = (
    None, True, False, 0, -1, 2**63, 1.5, "", "x", "object", [], {}, [1, "a"], {"a": 1},
    {"type": "object"}, ["string", {"a": 1}], {"name": {"a": 1}},
)  # fmt: skip


class _Raw:
    """JSON text spliced in verbatim where json.dumps cannot write it (too deep, a number
    beyond what Python will print)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _dumps(value: Any) -> str:
    raws: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, _Raw):
            raws.append(obj.text)
            return f"\x00raw{len(raws) - 1}\x00"
        raise TypeError(type(obj).__name__)

    text = json.dumps(value, default=default, ensure_ascii=False)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), raw, 1)
    return text


def _nodes(value: Any, limit: int = 2000) -> list[tuple[Any, Any]]:
    """(container, key) of the first ``limit`` nodes, breadth first (the root's container
    is None)."""
    out: list[tuple[Any, Any]] = [(None, None)]
    queue = deque([value] if isinstance(value, dict | list) else [])
    while queue and len(out) < limit:
        node = queue.popleft()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            out.append((node, key))
            if isinstance(child, dict | list):
                queue.append(child)
    return out


def _get(root: Any, container: Any, key: Any) -> Any:
    return root if container is None else container[key]


def _set(root: Any, container: Any, key: Any, new: Any) -> Any:
    if container is None:
        return new
    container[key] = new
    return root


@dataclass
class Mutator:
    """Mutations of JSON records, seeded; ``refs`` are the injected ``$ref`` targets."""

    rng: random.Random
    refs: tuple[str, ...]

    def mutate(self, record: Any) -> tuple[str, bytes]:
        """One mutation kind and the record's bytes after it."""
        kind = self.rng.choice(MUTATIONS)
        value = orjson.loads(orjson.dumps(record))  # a copy (seeds are plain JSON)
        if kind in ("wrong_encoding", "truncate"):
            return kind, self._bytes(kind, _dumps(value).encode())
        value = self._structure(kind, value)
        if self.rng.random() < 0.15:  # a second mutation on top
            value = self._structure(self.rng.choice(MUTATIONS[1:6]), value)
        return kind, _dumps(value).encode()

    def _structure(self, kind: str, root: Any) -> Any:
        rng = self.rng
        nodes = _nodes(root)
        container, key = rng.choice(nodes)
        node = _get(root, container, key)
        if kind == "type_swap":
            return _set(root, container, key, copy.deepcopy(rng.choice(SWAPS)))
        if kind == "delete" and container is not None:
            del container[key]
            return root
        if kind == "insert":
            containers = [_get(root, c, k) for c, k in nodes]
            target = rng.choice([n for n in containers if isinstance(n, dict | list)] or [root])
            new = copy.deepcopy(rng.choice(SWAPS))
            if isinstance(target, dict):
                target[rng.choice(KEYS)] = new
            elif isinstance(target, list):
                target.insert(rng.randint(0, len(target)), new)
            return root
        if kind == "deep_nesting":
            depth = rng.choice((64, 300, 1500, 20_000))
            opener, closer = rng.choice((("[", "]"), ('{"a":', "}"), ('{"items":', "}")))
            inner = _dumps(node)
            return _set(root, container, key, _Raw(opener * depth + inner + closer * depth))
        if kind == "huge_string":
            size = rng.choice((10_000, 100_000, 1_000_000))
            # Runs of one character, and of the tokens parsers split on or nest by.
            unit = rng.choice((*"aé\u2028\x00 9", *RUNS))
            text = (unit * (size // len(unit) + 1))[:size] + rng.choice(("", "x", "]", "}"))
            if isinstance(node, dict) and rng.random() < 0.3:
                node[text] = "x"  # a huge key
                return root
            return _set(root, container, key, text)
        if kind == "nan_infinity":
            special = rng.choice((float("nan"), float("inf"), -float("inf")))
            return _set(root, container, key, special)
        if kind == "huge_number":
            text = rng.choice(("9" * 5000, "1e400", "-1e400", str(2**64), "1" + "0" * 400))
            return _set(root, container, key, _Raw(text))
        if kind == "ref_injection":
            ref = {"$ref": rng.choice(self.refs)}
            if isinstance(node, dict) and rng.random() < 0.7:
                node.update(ref)
                return root
            return _set(root, container, key, ref)
        return root

    def _bytes(self, kind: str, data: bytes) -> bytes:
        rng = self.rng
        if kind == "truncate":
            return data[: rng.randint(0, max(0, len(data) - 1))]
        choice = rng.randrange(5)
        if choice == 0:
            return data.decode().encode("utf-16")
        if choice == 1:
            return data.decode().encode("latin-1", errors="replace") + "é".encode("latin-1")
        if choice == 2:
            at = rng.randint(0, len(data))
            return data[:at] + rng.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80")) + data[at:]
        if choice == 3:  # a lone surrogate, escaped, inside the first string
            return data.replace(b'"', b'"\\ud800', 1)
        return b"\xef\xbb\xbf" + data  # a UTF-8 byte-order mark


# --- the watchers: nothing may connect or open what a $ref points at ---------------------


class Watchers:
    """A listening TCP socket and a FIFO; counts who connects or opens them."""

    def __init__(self, workdir: Path) -> None:
        self.connections = 0
        self.fifo_opens = 0
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        self.port = self._server.getsockname()[1]
        self.fifo = workdir / "schema.json"
        os.mkfifo(self.fifo)
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._watch_fifo, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def refs(self) -> tuple[str, ...]:
        url = f"http://127.0.0.1:{self.port}"
        return (
            f"{url}/schema.json", f"{url}/schema.json#/definitions/a", f"//127.0.0.1:{self.port}/s",
            f"file://{self.fifo}", str(self.fifo), f"file://{self.fifo}#/a", "other.yaml#/x",
            "#/definitions/missing", "#/$defs/a", "#", "#/components/schemas/Nope",
        )  # fmt: skip

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def _watch_fifo(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: nobody has it open for reading
                if exc.errno != errno.ENXIO:
                    return
                time.sleep(0.005)
                continue
            self.fifo_opens += 1
            try:
                os.write(fd, b"{}")
            finally:
                os.close(fd)
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        for thread in self._threads:
            thread.join(1)


# --- readers ------------------------------------------------------------------------------

Verdict = str
Run = Callable[[bytes, Any], Verdict]


_UNREADABLE = {"not": "not_json", "nested": "too_deep", "invalid": "invalid_utf8", "is": "bom"}


def read_line(data: bytes, scratch: Path) -> tuple[str, Any]:
    """The record as the catalogue loaders read a JSON Lines file holding it (written to
    ``scratch``): ``("", record)``, or ``(verdict, None)`` when the line is unreadable."""
    scratch.write_bytes(data + b"\n")
    where, record = next(read_json_lines(scratch), ("", None))
    if not where:
        return "unreadable:empty", None
    if isinstance(record, SpecError):
        first = record.problem.split(" ")[0]
        return f"unreadable:{_UNREADABLE.get(first, first)}", None
    return "", record


def converter(convert: Callable[[Any], Any], scratch: Path, *, documents: bool = False) -> Run:
    """A run that reads the bytes as a catalogue line and converts the record: ``spec``,
    ``spec_error:<field>`` or ``unreadable:<why>``; with ``documents`` only objects are
    converted (``specs_from_openapi`` takes a string for a file path)."""

    def run(data: bytes, _context: Any) -> Verdict:
        unreadable, record = read_line(data, scratch)
        if unreadable:
            return unreadable
        if documents and not isinstance(record, dict):
            return "not_a_document"
        try:
            result = convert(record)
        except SpecError as exc:
            return f"spec_error:{exc.field.split('.')[0].split('[')[0][:24]}"
        return "spec" if result else "no_spec"

    return run


@dataclass
class Reader:
    name: str
    seeds: list[tuple[Any, Any]]  # (record, context for the run)
    run: Run
    results: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)
    seconds_by_mutation: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    crashes: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


def _lines(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _bfcl_functions() -> list[Any]:
    functions: list[Any] = []
    for path in sorted((DATA / "bfcl").glob("BFCL_v4_*.json")):
        for record in _lines(path):
            functions.extend(record.get("function", []))
    return functions


def _xlam_rows() -> list[Any]:
    return list(_lines(DATA / "xlam" / "xlam60k_sample.jsonl"))


def _glaive_functions() -> list[Any]:
    records = json.loads((DATA / "glaive" / "glaive_toolcall_en_demo.json").read_text())
    return [f for r in records for f in json.loads(r.get("tools") or "[]")]


def _openapi_documents() -> list[Any]:
    import yaml

    docs = []
    for path in sorted((DATA / "openapi").iterdir()):
        if path.suffix in (".yaml", ".yml", ".json"):
            # YAML dates are not JSON; the documents travel as JSON text like any record.
            loaded = yaml.load(
                path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            )
            docs.append(json.loads(json.dumps(loaded, default=str)))
    return docs


def _format_seeds() -> list[tuple[Any, Any]]:
    """(LLM output as JSON, the task it answers) from xLAM rows: the row's answers are the
    pairs, its tools the task's tools."""
    seeds = []
    meta = EventMeta(id="fz", parent_id=None, sample_id="fz", stage="sampler", stage_version="v")
    for row in _xlam_rows():
        tools = []
        for tool in json.loads(row["tools"]):
            spec = spec_from_xlam_tool(tool)
            tools.append(Tool(spec.name, spec.description, spec.parameters, api_id=spec.id))
        answers = json.loads(row["answers"])
        style = QueryStyle.SIMPLE if len(answers) == 1 else QueryStyle.PARALLEL_MULTIPLE
        if len(answers) > 1 and len({a["name"] for a in answers}) == 1:
            style = QueryStyle.PARALLEL
        settings = GenerationSettings(pairs=2)
        sample = Sample(meta=meta, style=style, tools=tuple(tools), settings=settings)
        output = {"pairs": [{"query": row["query"], "answers": answers}] * 2}
        seeds.append((output, sample))
    return seeds


def _glaive_records() -> list[Any]:
    records: list[Any] = json.loads((DATA / "glaive" / "glaive_toolcall_en_demo.json").read_text())
    return records


def _openai_chats() -> list[Any]:
    """OpenAI chat records made from xLAM rows (one assistant turn calling the answers) and
    from glaive conversations (every turn, tool results as ``tool`` messages)."""
    chats = []
    for row in _xlam_rows():
        tools = [spec_from_xlam_tool(t).to_openai_tool() for t in json.loads(row["tools"])]
        calls = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": a["name"], "arguments": json.dumps(a["arguments"])}}
            for i, a in enumerate(json.loads(row["answers"]))
        ]  # fmt: skip
        messages = [
            {"role": "user", "content": row["query"]},
            {"role": "assistant", "content": None, "tool_calls": calls},
        ]
        chats.append({"messages": messages, "tools": tools})
    for record in _glaive_records()[:150]:
        messages, last = [], ""
        for i, turn in enumerate(record["conversations"]):
            value = turn["value"]
            if turn["from"] == "function_call":
                call = json.loads(value)
                last = f"call_{i}"
                arguments = json.dumps(call.get("arguments", {}))
                function = {"name": call.get("name"), "arguments": arguments}
                tool_call = {"id": last, "type": "function", "function": function}
                messages.append({"role": "assistant", "content": None, "tool_calls": [tool_call]})
            elif turn["from"] == "observation":
                messages.append({"role": "tool", "tool_call_id": last, "content": value})
            else:
                role = "user" if turn["from"] == "human" else "assistant"
                messages.append({"role": role, "content": value})
        tools = [{"type": "function", "function": f} for f in json.loads(record["tools"] or "[]")]
        chats.append({"messages": messages, "tools": tools})
    return chats


def _hermes_transcripts() -> list[Any]:
    """Hermes transcripts made from glaive conversations: tools in the system prompt's
    ``<tools>``, calls as ``<tool_call>`` blocks, results as ``<tool_response>``."""
    out = []
    for record in _glaive_records()[:150]:
        system = (
            "You are a function calling AI model. You are provided with function signatures "
            f"within <tools></tools> XML tags: <tools> {record['tools']} </tools>"
        )
        turns = [{"from": "system", "value": system}]
        for turn in record["conversations"]:
            value = turn["value"]
            if turn["from"] == "function_call":
                turns.append({"from": "gpt", "value": f"<tool_call>\n{value}\n</tool_call>"})
            elif turn["from"] == "observation":
                response = f"<tool_response>\n{value}\n</tool_response>"
                turns.append({"from": "tool", "value": response})
            else:
                turns.append({"from": turn["from"], "value": value})
        out.append({"conversations": turns})
    return out


def _bfcl_questions() -> tuple[list[Any], dict[str, Any]]:
    """BFCL question records of the AST categories, and their gold answers by id."""
    questions, answers = [], {}
    for category in ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"):
        questions += list(_lines(DATA / "bfcl" / f"BFCL_v4_{category}.json"))[::4]
        gold = DATA / "bfcl" / "possible_answer" / f"BFCL_v4_{category}.json"
        if gold.exists():
            answers.update({a["id"]: a for a in _lines(gold)})
    return questions, answers


_FORMAT = FormatChecker()


def _format_run(data: bytes, sample: Sample) -> Verdict:
    raw = data.decode("utf-8", errors="replace")
    meta = sample.meta.child("generator", "g", "0")
    generation = Generation(meta=meta, sample=sample, model="m", raw=raw)
    outputs = anyio.run(_FORMAT.process, generation)
    if not outputs:
        raise AssertionError("the format stage gave no verdict")
    verdicts = []
    for out in outputs:
        try:
            encode_bounded(out.event)
        except UnencodableOutput as exc:
            verdicts.append(exc.reason)  # the runner turns it into a reject
            continue
        verdicts.append(getattr(out.event, "reason", "pass"))
    return verdicts[0] if len(set(verdicts)) == 1 else "mixed:" + "+".join(sorted(set(verdicts)))


CHECK_BATCH = 250
"""Records per dataset file given to ``apigen check``'s readers (the first is unmutated,
so the file's format is detected as a user's file would be)."""


@dataclass
class CheckReader(Reader):
    """An ``apigen check`` reader: records are checked by the format stage from files."""

    fmt: str = ""
    answers: dict[str, Any] = field(default_factory=dict)


def _check_batch(reader: CheckReader, lines: list[bytes], kinds: list[str], work: Path) -> None:
    """Check one file of ``lines`` with the format stage; one verdict per record (each
    tool-calling turn of a conversation is one), none lost, no ``stage_error``."""
    from streamer.check import CheckSettings, open_checker, read_items, run_check

    path = work / ("BFCL_v4_simple_python.json" if reader.fmt == "bfcl" else "records.jsonl")
    path.write_bytes(b"\n".join(lines) + b"\n")
    answers = None
    if reader.fmt == "bfcl":
        answers = work / "possible_answer" / path.name
        answers.parent.mkdir(exist_ok=True)
        answers.write_text("".join(json.dumps(a) + "\n" for a in reader.answers.values()))
    per_line: dict[int, list[str]] = {}
    spent: dict[int, float] = {}
    clock = [time.perf_counter()]

    def emit(result: Any) -> None:
        now = time.perf_counter()
        line = int(result.where.rsplit(":", 1)[-1].split("#")[0].split(" ")[0] or 0)
        if result.reason == "stage_error":
            label = "CRASH"
            if len(reader.crashes) < 20:
                raw = lines[line - 1] if 0 < line <= len(lines) else b""
                reader.crashes.append({
                    "mutation": kinds[line - 1] if 0 < line <= len(kinds) else "?",
                    "exception": result.message[:300], "at": result.where,
                    "input": raw[:2000].decode("utf-8", errors="replace"),
                })  # fmt: skip
        else:
            label = ":".join(x for x in (result.verdict, result.stage, result.reason) if x)
        per_line.setdefault(line, []).append(label)
        spent[line] = spent.get(line, 0.0) + now - clock[0]
        clock[0] = now

    async def check() -> None:
        settings = CheckSettings(stages=("format",), concurrency=1)
        async with open_checker(settings) as checker:
            items = read_items([path], fmt=reader.fmt, answers=answers)  # type: ignore[arg-type]
            clock[0] = time.perf_counter()
            await run_check(checker, items, emit)

    with _deadline(RECORD_TIMEOUT_S * 30):
        anyio.run(check)
    for line, (data, kind) in enumerate(zip(lines, kinds, strict=True), start=1):
        if line == 1:
            continue  # the unmutated first record
        labels = per_line.get(line) or (["LOST"] if data.strip() else ["blank"])
        verdict = labels[0] if len(set(labels)) == 1 else "mixed"
        verdict = "CRASH" if "CRASH" in labels or "LOST" in labels else verdict
        reader.results[verdict] += 1
        reader.times.append(spent.get(line, 0.0))
        reader.seconds_by_mutation[kind] += spent.get(line, 0.0)
        reader.by_mutation[f"{kind}:{'crash' if verdict == 'CRASH' else 'ok'}"] += 1


def fuzz_check(
    reader: CheckReader, records: int, mutator: Mutator, rng: random.Random, work: Path
) -> None:
    """Feed ``records`` mutated seeds to ``apigen check``'s reader in files of
    :data:`CHECK_BATCH`; an exception out of the check counts as one crash per record."""
    done = 0
    while done < records:
        n = min(CHECK_BATCH - 1, records - done)
        picked = [rng.choice(reader.seeds)[0] for _ in range(n)]
        mutated = [mutator.mutate(record) for record in picked]
        # JSON never holds a raw newline; a re-encoded one (UTF-16) must not split a record.
        lines = [_dumps(reader.seeds[0][0]).encode()]
        lines += [data.replace(b"\n", b" ").replace(b"\r", b" ") for _, data in mutated]
        kinds = ["none", *(kind for kind, _ in mutated)]
        try:
            _check_batch(reader, lines, kinds, work)
        except Exception as exc:
            reader.results["CRASH"] += n
            problem = f"{type(exc).__name__}: {exc}"[:300]
            crash = {"mutation": "batch", "exception": problem, "at": "", "input": ""}
            reader.crashes.append(crash)
        done += n


def readers(scratch: Path) -> dict[str, Callable[[], Reader]]:
    """Each reader's constructor (seeds are loaded only for the readers that run);
    ``scratch`` is the file the converters' records are read from."""

    def tools(convert: Callable[[Any], Any]) -> Run:
        return converter(convert, scratch)

    def glaive_mcp() -> list[tuple[Any, Any]]:
        return [
            ({"name": f["name"], "description": f.get("description", ""),
              "inputSchema": f.get("parameters")}, None)
            for f in _glaive_functions()[:400]
        ]  # fmt: skip

    return {
        "xlam": lambda: Reader(
            "xlam",
            [(t, None) for r in _xlam_rows() for t in json.loads(r["tools"])],
            tools(spec_from_xlam_tool),
        ),
        "openai_tools": lambda: Reader(
            "openai_tools",
            [({"type": "function", "function": f}, None) for f in _glaive_functions()[:400]],
            tools(spec_from_openai_tool),
        ),
        "bfcl": lambda: Reader(
            "bfcl", [(f, None) for f in _bfcl_functions()[::5]], tools(spec_from_bfcl_function)
        ),
        "toolbench": lambda: Reader(
            "toolbench",
            [(t, None) for t in _lines(DATA / "toolbench" / "tools.jsonl")],
            tools(specs_from_toolbench_tool),
        ),
        "openapi": lambda: Reader(
            "openapi",
            [(d, None) for d in _openapi_documents()],
            converter(specs_from_openapi, scratch, documents=True),
        ),
        "mcp": lambda: Reader(
            "mcp", glaive_mcp(), tools(lambda v: spec_from_mcp_tool(v, server="fuzz"))
        ),
        "format": lambda: Reader("format", _format_seeds(), _format_run),
        "check_xlam": lambda: _checked("check_xlam", "xlam", _xlam_rows()),
        "check_openai": lambda: _checked("check_openai", "openai", _openai_chats()),
        "check_sharegpt": lambda: _checked("check_sharegpt", "sharegpt", _glaive_records()),
        "check_hermes": lambda: _checked("check_hermes", "hermes", _hermes_transcripts()),
        "check_bfcl": lambda: _checked("check_bfcl", "bfcl", *_bfcl_questions()),
        "references": lambda: Reader(
            "references", _reference_seeds(), _references_run(scratch.with_suffix(".jsonl"))
        ),
    }


def _references_run(scratch: Path) -> Run:
    """Decontamination's reference reader over one mutated line, then the index over what
    it read, matched with each item's own query and calls: ``pass`` (read) or ``skipped``."""

    def run(data: bytes, _context: Any) -> Verdict:
        scratch.write_bytes(data)
        ref = read_reference_set(scratch)
        index = ContaminationIndex([ref])
        for item in ref.items:
            calls = [(c.name, {k: v[0] for k, v in c.arguments.items() if v}) for c in item.calls]
            index.match(item.query, calls)
        return "pass" if ref.items else "skipped"

    return run


def _reference_seeds() -> list[tuple[Any, Any]]:
    questions, _ = _bfcl_questions()
    return [(r, None) for r in [*questions[:300], *_xlam_rows(), *_glaive_records()[:200]]]


def _checked(
    name: str, fmt: str, records: list[Any], answers: dict[str, Any] | None = None
) -> CheckReader:
    def files_only(data: bytes, context: Any) -> Verdict:
        raise NotImplementedError("apigen check's readers read files (see fuzz_check)")

    seeds = [(r, None) for r in records]
    return CheckReader(name, seeds, files_only, fmt=fmt, answers=answers or {})


READERS = (
    "xlam", "openai_tools", "bfcl", "toolbench", "openapi", "mcp", "format",
    "check_xlam", "check_openai", "check_sharegpt", "check_hermes", "check_bfcl",
    "references",
)  # fmt: skip
"""The readers this benchmark fuzzes, in order (``check_*``: ``apigen check``'s)."""
DATA_OF = {
    "xlam": "xlam", "openai_tools": "glaive", "bfcl": "bfcl", "toolbench": "toolbench",
    "openapi": "openapi", "mcp": "glaive", "format": "xlam", "check_xlam": "xlam",
    "check_openai": "glaive", "check_sharegpt": "glaive", "check_hermes": "glaive",
    "check_bfcl": "bfcl", "references": "bfcl",
}  # fmt: skip
"""The ``../shared/data`` folder each reader's seeds come from."""


# --- the run ------------------------------------------------------------------------------


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def expire(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"record took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(
    reader: Reader, records: int, mutator: Mutator, rng: random.Random, keep: Path | None = None
) -> None:
    """Feed ``records`` mutated seeds to ``reader``; ``keep`` (a directory) receives the
    whole input of every crash, to reproduce it with ``reader.run``."""
    for _ in range(records):
        record, context = rng.choice(reader.seeds)
        kind, data = mutator.mutate(record)
        start = time.perf_counter()
        try:
            with _deadline(RECORD_TIMEOUT_S):
                verdict = reader.run(data, context)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            verdict = "CRASH"
            if keep is not None:
                (keep / f"{reader.name}-{len(reader.crashes)}.json").write_bytes(data)
            if len(reader.crashes) < 20:
                reader.crashes.append({
                    "mutation": kind,
                    "exception": f"{type(exc).__name__}: {str(exc)[:300]}",
                    "at": f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}",
                    "input": data[:2000].decode("utf-8", errors="replace"),
                })  # fmt: skip
        reader.times.append(time.perf_counter() - start)
        reader.seconds_by_mutation[kind] += reader.times[-1]
        reader.results[verdict] += 1
        reader.by_mutation[f"{kind}:{'crash' if verdict == 'CRASH' else 'ok'}"] += 1


def _summary(reader: Reader) -> dict[str, Any]:
    times = reader.times
    return {
        "records": len(times),
        "verdicts": dict(reader.results.most_common()),
        "crashes": reader.results["CRASH"],
        "max_ms": round(max(times) * 1000, 2),
        "median_ms": round(statistics.median(times) * 1000, 3),
        "mutations": dict(sorted(reader.by_mutation.items())),
        "seconds_by_mutation": {
            k: round(v, 2) for k, v in sorted(reader.seconds_by_mutation.items())
        },
        "crash_samples": reader.crashes,
    }


FINDINGS = (
    ("fixed 98b6739", "runner", "an output nested past 254 levels, an integer beyond 64 "
     "bits or a lone surrogate (from a hostile endpoint) killed the stage's runner and the run"),
    ("fixed 98b6739", "toolbench", "`url: http://[::1` raised ValueError out of the batch "
     "converter; real tools.jsonl examples beyond 64 bits made tasks no event could carry"),
    ("fixed 98b6739", "catalogue loader", "a non-UTF-8 or too-deep line, a missing or "
     "UTF-16 file: UnicodeDecodeError, RecursionError, FileNotFoundError"),
    ("fixed c1b3c24", "toolbench", "a tool named by 64+ digits with two APIs: unique_name "
     "looped forever (apigen run hung)"),
    ("fixed c1b3c24", "every catalogue", "a line holding a 5,000-digit integer: ValueError "
     "escaped read_json_lines"),
    ("fixed c1b3c24", "python callables", "builtins without a signature: ValueError"),
    ("fixed f06de58", "xlam", "type strings: a long run of spaces backtracked quadratically "
     "(20 KB took 4 s), `List[` nested 5,000 deep raised RecursionError"),
    ("fixed a95787f (owner)", "openapi", "a schema whose `required` holds an object: "
     "TypeError in _openapi_schema.py"),
    ("open (streamer/check/_decode.py)", "check readers", "each bad record's message "
     "encodes the file's text up to it (_Text.offset), so a file with many bad records costs "
     "O(n^2): 17 s of 82 s in a profile of 6,000 records; a 100 MB file with 100,000 bad "
     "lines would take hours. Not a crash; the max ms/record above includes it"),
    ("open (streamer/stages/_format.py)", "format", "an output holding 500 pairs when 1 was "
     "asked gives 500 format-passes: one LLM reply fans out into 500 executions and judge "
     "calls (no bound on extra pairs)"),
)  # fmt: skip
"""What this benchmark, its properties and the probes of ``apigen run`` found, and where
each stands; every fixed one is a case in tests/security/test_fuzz_regressions.py."""


def _line(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name:14} {r['records']:>6} records  {r['crashes']} crashes  "
        f"max {r['max_ms']} ms  median {r['median_ms']} ms"
    )


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Fuzzing the readers with mutated real records",
        "",
        f"`bench/fuzz_readers.py --records {results['records_per_reader']}` (seed "
        f"{results['seed']}), {results['machine']['python']} on {results['machine']['cpus']} "
        f"CPUs (load {results['machine']['load_before']}), {results['wall_s']:.0f} s wall, "
        f"{results.get('cpu_s', '?')} s CPU over {results.get('jobs', 1)} processes. "
        "Every record is a real one mutated once (sometimes twice) and read from bytes; a "
        "verdict is the reader's value or its documented error, a crash anything else.",
        "",
        "| reader | records | crashes | max ms/record | median ms/record | verdicts |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in results["readers"].items():
        top = ", ".join(f"{k} {v}" for k, v in list(r["verdicts"].items())[:6])
        lines.append(
            f"| {name} | {r['records']:,} | {r['crashes']} | {r['max_ms']} | {r['median_ms']} "
            f"| {top} |"
        )
    lines += [
        "",
        f"`$ref` targets: connections to the listening socket {results['connections']}, "
        f"opens of the FIFO {results['fifo_opens']} (both must be 0).",
        "",
    ]
    crashes = [(n, c) for n, r in results["readers"].items() for c in r["crash_samples"]]
    if crashes:
        lines += ["## Crashes in this run (open)", ""]
        for name, crash in crashes:
            lines.append(f"- {name}, {crash['mutation']}: `{crash['exception']}` at {crash['at']}")
        lines.append("")
    lines += ["## Found so far", "", "| status | where | what |", "|---|---|---|"]
    lines += [f"| {status} | {where} | {what} |" for status, where, what in FINDINGS]
    return "\n".join([*lines, ""])


def run_reader(
    name: str, records: int, seed: int, refs: tuple[str, ...], work: str, keep: Path | None
) -> dict[str, Any]:
    """Fuzz one reader with ``records`` mutated seeds; its summary (one process's work)."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    scratch = Path(work) / name
    scratch.mkdir()
    reader = readers(scratch / "record.jsonl")[name]()
    rng = random.Random(f"{seed}:{name}")
    mutator = Mutator(random.Random(f"{seed}:{name}:mutations"), refs)
    if isinstance(reader, CheckReader):
        fuzz_check(reader, records, mutator, rng, scratch)
    else:
        fuzz(reader, records, mutator, rng, keep)
    return _summary(reader)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="records per reader")
    parser.add_argument("--quick", action="store_true", help="300 records per reader")
    parser.add_argument("--readers", default="", help="comma-separated subset")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep-crashes", type=Path, help="directory for crash inputs")
    parser.add_argument("--jobs", type=int, default=2, help="processes (readers run apart)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"needs the real data at {DATA}", file=sys.stderr)
        return 2
    records = 300 if args.quick else args.records
    chosen = [n for n in args.readers.split(",") if n] or list(READERS)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    results: dict[str, Any] = {
        "records_per_reader": records, "seed": args.seed, "jobs": args.jobs, "readers": {},
    }  # fmt: skip
    ram = "/dev/shm" if os.path.isdir("/dev/shm") else None  # a RAM disk when there is one
    with tempfile.TemporaryDirectory(prefix="fuzz-readers-", dir=ram) as work:
        watchers = Watchers(Path(work))
        jobs = [(n, records, args.seed, watchers.refs, work, args.keep_crashes) for n in chosen]
        try:
            # Readers are independent: spread them over processes (each writes its own
            # scratch files; the socket and the FIFO stay here and see every process).
            spawn = get_context("spawn")
            with ProcessPoolExecutor(max(1, args.jobs), mp_context=spawn) as pool:
                summaries = pool.map(run_reader, *zip(*jobs, strict=True))
                for name, r in zip(chosen, summaries, strict=True):
                    results["readers"][name] = r
                    print(_line(name, r), flush=True)
            time.sleep(0.2)  # a late connection still counts
        finally:
            watchers.close()
        results["connections"] = watchers.connections
        results["fifo_opens"] = watchers.fifo_opens
    results["wall_s"] = time.perf_counter() - started
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    results["cpu_s"] = round(sum(u.ru_utime + u.ru_stime for u in usage), 1)
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz_readers.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "fuzz_readers.md").write_text(_markdown(results))
    crashes = sum(r["crashes"] for r in results["readers"].values())
    print(f"crashes {crashes}, connections {results['connections']}, "
          f"fifo opens {results['fifo_opens']}")  # fmt: skip
    return 1 if crashes or watchers.connections or watchers.fifo_opens else 0


if __name__ == "__main__":
    sys.exit(main())
