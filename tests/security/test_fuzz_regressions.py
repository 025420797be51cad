"""Every crash fuzzing or probing ever found, kept as a regression case.

Each test names the input that once escaped as an exception (or stopped a stage) and asserts
what must happen instead: one reject or one conversion error with a stable reason, the rest
of the input untouched. Cases in code owned by another part of the project that is not
fixed yet are marked ``xfail(strict=True)``: the day the fix lands the test passes, the
strict mark turns that into a failure, and the mark must go.
"""

from __future__ import annotations

import importlib
import json
import random
import sqlite3
import sys
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from aiohttp import web

from executors import ApiLibrary, ApiSpec, Outcome, SpecError
from executors._library import load_source
from executors.converters import (
    XlamType,
    parse_xlam_type,
    spec_from_callable,
    specs_from_openapi,
)
from streamer.llm._simdata import generate_pairs
from streamer.prompts import extract_block
from streamer.runtime._runner import RunnerSettings, StageRunner
from streamer.runtime._stage import Output
from streamer.stages import ExecutionChecker, SeedPool
from topics import (
    Call,
    EventMeta,
    Example,
    FormatPass,
    Generation,
    GenerationSettings,
    MemoryTransport,
    Message,
    QueryStyle,
    Reject,
    Sample,
    Tool,
    Topic,
    TopicPartition,
    decode,
    encode,
)

from ..streamer.http_server import serve_posts

# --- the stage runner: outputs the log cannot carry ---------------------------------------

ANY_TEXT = Tool(
    "echo",
    "Echo text back.",
    {"type": "object", "properties": {"text": {}}, "required": ["text"]},
    api_id="probe:echo",
)


def _generation(raw: str, *, sid: str = "s1", pairs: int = 1) -> Generation:
    meta = EventMeta(id=sid, parent_id=None, sample_id=sid, stage="sampler", stage_version="v")
    settings = GenerationSettings(pairs=pairs)
    sample = Sample(meta=meta, style=QueryStyle.SIMPLE, tools=(ANY_TEXT,), settings=settings)
    return Generation(meta=meta.child("generator", "g", "0"), sample=sample, model="m", raw=raw)


async def _run_over(
    stage: Any, events: list[bytes], topics: tuple[str, ...], settings: RunnerSettings
) -> tuple[dict[str, list[bytes]], StageRunner, MemoryTransport]:
    """Run ``stage`` over ``events`` until every input is committed; what each of
    ``topics`` received."""
    transport = MemoryTransport(default_partitions=1)
    await transport.create_topics([t.value for t in Topic], 1)
    async with transport.producer() as producer:
        await producer.produce(
            [Message(stage.input_topic, e, key=str(i).encode()) for i, e in enumerate(events)]
        )
    runner = StageRunner(stage, transport, settings=settings)
    tp = TopicPartition(stage.input_topic, 0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        with anyio.fail_after(20):
            while runner.stats.consumed < len(events) or runner.in_flight:
                await anyio.sleep(0.01)
        runner.stop()
    received: dict[str, list[bytes]] = {}
    for topic in topics:
        async with transport.consumer([topic], f"probe-{topic}") as probe:
            received[topic] = [r.value for r in await probe.poll(10_000, 0.2)]
    async with transport.consumer([stage.input_topic], runner.group) as consumer:
        assert await consumer.committed(tp) == len(events)
    return received, runner, transport


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


class _Hostile:
    """A stage that passes through what a hostile generator could hand it: per input, one
    format-pass per argument value in ``VALUES`` (the first and last are fine)."""

    name = "hostile"
    version = "hostile-v1"
    input_topic = Topic.GENERATIONS
    input_type = Generation
    VALUES: tuple[Any, ...] = ("ok", _nested(300), 2**70, "\ud800", "x" * 50_000, "fine")

    async def process(self, event: Generation) -> list[Output]:
        def passed(i: int, value: Any) -> FormatPass:
            meta = event.meta.child(self.name, self.version, str(i))
            calls = (Call("echo", {"text": value}),)
            return FormatPass(meta, event.sample, event.model, i, "Echo this please", calls)

        return [Output(Topic.FORMAT_PASS, passed(i, v)) for i, v in enumerate(self.VALUES)]


@pytest.mark.anyio
async def test_outputs_the_log_cannot_carry_become_rejects_for_their_pair() -> None:
    # Found by probing `apigen run` with a hostile endpoint: an argument nested 300 levels
    # deep under a parameter with an empty schema (orjson reads 1,024 levels but writes 254)
    # made a FormatPass that could not be encoded, and `usage.prompt_tokens: 1e30` a
    # Generation with an integer beyond 64 bits; each killed its stage's runner (TypeError
    # out of a worker), which ended the run. Lone surrogates and events larger than the
    # log's message limit are the same class.
    received, runner, _ = await _run_over(
        _Hostile(),
        [encode(_generation("a")), encode(_generation("b", sid="s2"))],
        ("format-pass", "rejects"),
        RunnerSettings(concurrency=2, max_event_bytes=40_000),
    )
    passes = [decode(v, FormatPass) for v in received["format-pass"]]
    assert sorted((e.meta.sample_id, e.pair_index) for e in passes) == [
        (sid, i) for sid in ("s1", "s2") for i in (0, 5)
    ]
    rejects = [decode(v, Reject) for v in received["rejects"]]
    assert sorted((r.meta.sample_id, r.pair_index, r.reason) for r in rejects) == [
        (sid, i, reason)
        for sid in ("s1", "s2")
        for i, reason in enumerate(["unencodable_output"] * 3 + ["output_too_large"], start=1)
    ]
    messages = {r.pair_index: r.message for r in rejects}
    assert "nested deeper than the log's JSON limit" in messages[1]
    assert "integer beyond the 64-bit range" in messages[2]
    assert "lone UTF-16 surrogate" in messages[3]
    assert "50," in messages[4] and "the limit is 40,000" in messages[4]
    assert all(isinstance(r.rejected, dict) for r in rejects)  # the input is kept
    assert runner.stats.rejected == 8 and runner.stats.produced == 12


class _Oversized:
    """A stage whose single output echoes its (large) input: too large, and so is a reject
    that would carry the input."""

    name = "oversized"
    version = "oversized-v1"
    input_topic = Topic.GENERATIONS
    input_type = Generation

    async def process(self, event: Generation) -> list[Output]:
        out = FormatPass(
            meta=event.meta.child(self.name, self.version, "0"),
            sample=event.sample,
            model=event.model,
            pair_index=0,
            query=event.raw * 2,
            calls=(),
        )
        return [Output(Topic.FORMAT_PASS, out)]


@pytest.mark.anyio
async def test_a_reject_too_large_to_carry_its_input_still_names_the_sample_and_pair() -> None:
    received, _, _ = await _run_over(
        _Oversized(),
        [encode(_generation("y" * 30_000))],
        ("format-pass", "rejects"),
        RunnerSettings(concurrency=1, max_event_bytes=20_000),
    )
    assert received["format-pass"] == []
    (reject,) = (decode(v, Reject) for v in received["rejects"])
    assert (reject.meta.sample_id, reject.pair_index, reject.reason) == (
        "s1",
        0,
        "output_too_large",
    )
    assert isinstance(reject.rejected, str) and reject.rejected.startswith("<FormatPass ")
    assert "not kept" in reject.rejected and len(encode(reject)) < 20_000


# --- catalogues: one hostile entry is one conversion error ----------------------------------

FIND: dict[str, Any] = {
    "api_name": "find",
    "api_description": "Find a thing.",
    "method": "GET",
    "url": "https://example.com/find",
    "required_parameters": [{"name": "q", "type": "STRING", "description": "What."}],
}
GOOD_TOOL: dict[str, Any] = {
    "category_name": "Data",
    "tool_name": "Lookup",
    "host": "example.com",
    "api_list": [FIND],
}


def _tool(name: str, **api: Any) -> dict[str, Any]:
    return {**GOOD_TOOL, "tool_name": name, "api_list": [{**FIND, **api}]}


def test_toolbench_lines_with_a_bad_url_method_or_encoding_lose_only_themselves(
    tmp_path: Path,
) -> None:
    # Found by probing: `"url": "http://[::1"` raised ValueError (Invalid IPv6 URL) out of
    # convert_toolbench_file, a non-UTF-8 line raised UnicodeDecodeError, and a line nested
    # deeper than json can parse raised RecursionError: each lost the whole catalogue.
    lines = [
        json.dumps(GOOD_TOOL).encode(),
        json.dumps(_tool("V6", url="http://[::1")).encode(),
        json.dumps(_tool("Verb", method={"get": 1})).encode(),
        b'{"tool_name": "\xff\xfe"}',
        b"[" * 5000 + b"]" * 5000,
        json.dumps(_tool("Second")).encode(),
    ]
    path = tmp_path / "tools.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    specs, errors = load_source(path)
    assert [s.source for s in specs] == ["toolbench:Data/Lookup", "toolbench:Data/Second"]
    problems = {e.document.split("#")[0]: e.problem for e in errors}
    assert sorted(problems) == ["tools.jsonl:2", "tools.jsonl:3", "tools.jsonl:4", "tools.jsonl:5"]
    assert "is not a URL" in problems["tools.jsonl:2"]
    assert "not an HTTP method" in problems["tools.jsonl:3"]
    assert problems["tools.jsonl:4"] == "invalid UTF-8 at byte 15"
    assert "nested too deeply" in problems["tools.jsonl:5"]


def test_toolbench_examples_beyond_64_bits_stay_text(tmp_path: Path) -> None:
    # Found in the real tools.jsonl ("All Purpose Complex Converter"): the example
    # "12345345483453456038494208" became a Python int no event can carry, so a task
    # offering that API could not be encoded.
    big = "12345345483453456038494208"
    tool = _tool(
        "Big",
        required_parameters=[{"name": "n", "type": "NUMBER", "default": big}],
        optional_parameters=[
            {"name": "i", "type": "INTEGER", "default": "9" * 30},
            {"name": "f", "type": "NUMBER", "default": "1e400"},
        ],
    )
    path = tmp_path / "tools.jsonl"
    path.write_text(json.dumps(tool) + "\n")
    (spec,), errors = load_source(path)
    assert not errors
    props = spec.parameters["properties"]
    assert props["n"]["examples"] == [big]
    assert props["i"]["examples"] == ["9" * 30]
    assert props["f"]["examples"] == ["1e400"]


def test_specs_no_event_can_carry_are_entry_errors(tmp_path: Path) -> None:
    # A deep schema (900 levels: JSON reads it, the log writes 254) and a lone surrogate in
    # an MCP tool's name reached the sampler, whose task could then not be encoded.
    deep = '{"items":' * 900 + "{}" + "}" * 900
    tools = [
        '{"name": "ok", "inputSchema": {"type": "object", "properties": {}}}',
        '{"name": "deep", "inputSchema": {"type": "object", "properties": {"x": ' + deep + "}}}",
        '{"name": "odd\\ud800", "inputSchema": {"type": "object"}}',
    ]
    listing = '{"tools": [' + ", ".join(tools) + "]}"
    path = tmp_path / "listing.json"
    path.write_text(listing)
    specs, errors = load_source(path, kind="mcp")
    assert [s.name for s in specs] == ["ok"]
    assert len(errors) == 2  # the deep one may be refused by the converter or the library
    odd = next(e for e in errors if e.field == "mcp:listing:odd")
    assert odd.document == str(path) and "surrogate" in odd.problem


def test_a_spec_file_with_a_bad_line_keeps_the_good_ones(tmp_path: Path) -> None:
    spec = {
        "name": "echo",
        "description": "Echo.",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}},
        "binding": {"kind": "python", "module": "tests.security.targets", "function": "echo"},
        "source": "probe",
    }
    path = tmp_path / "apis.jsonl"
    lines = [spec, {**spec, "binding": {"kind": "python"}}, {**spec, "name": "echo2"}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")
    specs, errors = load_source(path)
    assert [s.name for s in specs] == ["echo", "echo2"]
    assert [e.document for e in errors] == ["apis.jsonl:2", "apis.jsonl:4"]


def test_catalogue_files_that_cannot_be_read_raise_a_spec_error_naming_them(
    tmp_path: Path,
) -> None:
    # A missing file raised FileNotFoundError, a UTF-16 one UnicodeDecodeError.
    utf16 = tmp_path / "tools.json"
    utf16.write_bytes(json.dumps([{"name": "f"}]).encode("utf-16"))
    truncated = tmp_path / "cut.json"
    truncated.write_text('[{"type": "function", "function": {"name": "f", "parameters"')
    cases = {
        tmp_path / "missing.json": "no such file",
        utf16: "is UTF-16 (byte-order mark)",
        truncated: "line 1 column",
    }
    for path, expected in cases.items():
        with pytest.raises(SpecError) as caught:
            ApiLibrary.from_sources([path])
        assert expected in str(caught.value) and str(path) in str(caught.value)


def test_two_catalogues_with_the_same_id_keep_the_first_and_say_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps(GOOD_TOOL) + "\n")
    changed = _tool("Lookup", api_description="Something else.")
    second.write_text(json.dumps(changed) + "\n")
    library = ApiLibrary.from_sources([first, second])
    assert [s.description for s in library] == ["Find a thing."]
    assert "b.jsonl: 1 item(s) skipped" in caplog.text and "duplicate id" in caplog.text
    with pytest.raises(SpecError, match="duplicate id"):
        ApiLibrary.from_sources([first, second], strict=True)


@pytest.mark.timeout(20)
def test_a_tool_named_by_64_digits_with_two_apis_converts(tmp_path: Path) -> None:
    # Found by bench/fuzz_readers.py (a huge string of '9's as a tool name): clip_name
    # mapped every candidate name to "unnamed", so unique_name looped forever and
    # `apigen run --apis` hung on the catalogue.
    tool = {**_tool("9" * 100), "api_list": [FIND, {**FIND, "api_name": "other"}, FIND]}
    path = tmp_path / "tools.jsonl"
    path.write_text(json.dumps(tool) + "\n")
    specs, errors = load_source(path)
    assert not errors
    names = [s.name for s in specs]
    assert len(set(names)) == 3 and all(len(n) <= 64 and n[0].isalpha() for n in names)


def test_a_catalogue_line_with_an_integer_of_5000_digits_is_that_line_s_error(
    tmp_path: Path,
) -> None:
    # Found by bench/fuzz_readers.py: json.loads raises ValueError (not JSONDecodeError)
    # past 4,300 digits, which escaped read_json_lines and lost the file.
    path = tmp_path / "tools.jsonl"
    path.write_text('{"tool_name": ' + "9" * 5000 + "}\n" + json.dumps(GOOD_TOOL) + "\n")
    specs, errors = load_source(path, kind="toolbench")
    assert [s.name for s in specs] == ["find_for_lookup"]
    assert [e.document for e in errors] == ["tools.jsonl:1"]
    assert "4300 digits" in errors[0].problem


@pytest.mark.parametrize("fn", [dict, print, len, object()])
def test_python_callables_without_a_usable_signature_are_a_spec_error(fn: Any) -> None:
    # Found by test_fuzz_readers: inspect.signature raised ValueError out of
    # spec_from_callable for builtins (dict), and a non-callable got as far as it.
    with pytest.raises(SpecError):
        spec_from_callable(fn, category="fuzz")


def test_a_huge_verified_pair_does_not_become_a_seed_example() -> None:
    # A verified pair may carry an argument its schema did not bound (50 KB here); as a
    # seed example it would ride along in every later prompt and task event.
    pool = SeedPool(capacity=5)
    small = Example(query="q", answers=(Call("echo", {"text": "hi"}),), source_id="a")
    huge = Example(query="q", answers=(Call("echo", {"text": "x" * 50_000}),), source_id="b")
    assert pool.add(QueryStyle.SIMPLE, small) and not pool.add(QueryStyle.SIMPLE, huge)
    assert len(pool) == 1


def test_an_openapi_schema_whose_required_holds_an_object_is_a_spec_error() -> None:
    # Found by bench/fuzz_readers.py (a $ref injection into the Petstore document):
    # `r in out["properties"]` with an object in `required` raises TypeError (unhashable).
    body = {"type": "object", "properties": {"a": {"type": "string"}}, "required": [{"a": 1}]}
    document = {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://example.com"}],
        "paths": {
            "/x": {
                "post": {
                    "operationId": "make",
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    with pytest.raises(SpecError):
        specs_from_openapi(document)


# --- apigen run end to end: a hostile generator endpoint and hostile catalogue entries -------

REPO = Path(__file__).resolve().parents[2]
ECHO_SPEC = {
    "name": "echo",
    "description": "Give back the text.",
    "parameters": {
        "type": "object",
        "properties": {"text": {"type": "string", "description": "Any text."}},
        "required": ["text"],
    },
    "category": "text",
    "binding": {"kind": "python", "module": "tests.security.targets", "function": "echo"},
    "source": "probe",
}

PAIR_KINDS: dict[str, set[str]] = {
    # The second pair of the output is made hostile; the first stays good.
    "name_object": {"missing_field"},
    "args_not_json": {"invalid_json"},
    "deep_args": {"out_of_range", "type_mismatch"},
    "huge_int": {"type_mismatch"},
}
OUTPUT_KINDS: dict[str, tuple[str, str]] = {
    # The whole output (or the HTTP body) is hostile: one reject for the task.
    "nan": ("format", "invalid_json"),
    "surrogate": ("format", "invalid_json"),
    "giant": ("generator", "output_too_large"),
    "bad_utf8": ("generator", "llm_bad_response"),
}
ADVISORY_KINDS = {"usage_huge"}
"""A hostile field the answer does not depend on: the reply is kept, the field ignored
(reported usage of 10**30 tokens is taken as not reported, see MAX_REPORTED_TOKENS)."""
KINDS = ["good", *PAIR_KINDS, *OUTPUT_KINDS, *ADVISORY_KINDS]


def _pairs(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Two good pairs for the generator prompt in ``request`` (the simulator's own)."""
    user = next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")
    tools = [t.get("function", t) for t in orjson.loads(extract_block(user, "tools") or "[]")]
    style = QueryStyle(extract_block(user, "style") or "simple")
    return generate_pairs(tools, style, 2, random.Random(request.get("seed")), {}, Counter(), {})


def _hostile_reply(kind: str, pairs: list[dict[str, Any]]) -> bytes:
    """A chat completion holding ``pairs`` spoiled as ``kind`` says."""
    if kind in PAIR_KINDS:
        call = pairs[1]["answers"][0]
        call["name"] = {"a": 1} if kind == "name_object" else call["name"]
        if kind == "args_not_json":
            call["arguments"] = "{text: hi"
        elif kind in ("deep_args", "huge_int"):
            call["arguments"] = {"text": _Deep(100) if kind == "deep_args" else _Deep(0)}
    content = json.dumps({"pairs": pairs}, default=lambda d: d.json())
    if kind == "nan":
        content = content.replace("]}", ', "x": NaN]}', 1)
    elif kind == "surrogate":
        content = content.replace('"query": "', '"query": "\\ud800', 1)
    elif kind == "giant":
        content = content.replace('"query": "', '"query": "' + "x" * 1_200_000, 1)
    usage = {"prompt_tokens": 10**30 if kind == "usage_huge" else 10, "completion_tokens": 5}
    reply = {
        "model": "hostile",
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": usage,
    }
    body = json.dumps(reply).encode()
    return body.replace(b'"choices"', b'"ch\xffoices"') if kind == "bad_utf8" else body


class _Deep:
    """JSON text json.dumps cannot write: ``depth`` nested lists, or (0) a 30-digit int."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def json(self) -> Any:
        return _nested(self.depth) if self.depth else 123456789012345678901234567890


@pytest.mark.slow
@pytest.mark.anyio
async def test_apigen_run_survives_a_hostile_endpoint_and_catalogue(tmp_path: Path) -> None:
    """Every task reaches its outcomes, each hostile item is one reject with its stable
    reason, and the good pair next to a hostile one is kept."""
    kinds: dict[int, str] = {}  # the request's seed (crc32 of the task id) -> kind
    used: Counter[str] = Counter()

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        pairs = _pairs(body)
        if body["seed"] not in kinds:  # a retry gets what its first attempt got
            fits = [k for k in KINDS if pairs[1]["answers"] or k not in PAIR_KINDS]
            kinds[body["seed"]] = min(fits, key=lambda k: used[k])
            used[kinds[body["seed"]]] += 1
        reply = _hostile_reply(kinds[body["seed"]], pairs)
        return web.Response(body=reply, content_type="application/json")

    catalogue = tmp_path / "apis.jsonl"
    hostile_lines = [
        b'{"name": "x", "binding": 5}',
        b'{"name": "deep", "parameters": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2000 + b"}",
        b'{"name": "\xff"}',
        b"{truncated",
    ]
    catalogue.write_bytes(
        b"\n".join([json.dumps(ECHO_SPEC).encode(), *hostile_lines,
                    json.dumps({**ECHO_SPEC, "name": "echo2"}).encode()]) + b"\n"
    )  # fmt: skip
    samples = 2 * len(KINDS)
    async with serve_posts({"/v1/chat/completions": chat}) as url:
        config = tmp_path / "apigen.toml"
        config.write_text(
            f'out = "{tmp_path / "out"}"\nsamples = {samples}\npartitions = 2\n'
            f"[sampler]\npairs = 2\nfeedback = false\n"
            f'[[generators]]\nkind = "openai"\nbase_url = "{url}/v1"\nmodel = "hostile"\n'
            f'[[judges]]\nkind = "simulated"\nseed = 1\n[apis]\nsources = ["{catalogue}"]\n'
        )
        with anyio.fail_after(240):
            done = await anyio.run_process(
                [sys.executable, "-m", "streamer", "run", "--config", str(config)],
                check=False,
                cwd=REPO,
            )
    log = done.stderr.decode(errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert "Traceback" not in log
    assert "4 item(s) skipped" in log  # the catalogue's hostile lines, named and counted
    with sqlite3.connect(tmp_path / "out" / "dataset.db") as db:
        rows = db.execute("SELECT sample_id, pair_index, stage, reason FROM outcomes").fetchall()
    by_task: dict[str, dict[int, tuple[str, str]]] = {}
    for sample_id, pair_index, stage, reason in rows:
        by_task.setdefault(sample_id, {})[pair_index] = (stage, reason)
    assert len(by_task) == samples
    seen: Counter[str] = Counter()
    for sample_id, outcomes in by_task.items():
        kind = kinds[zlib.crc32(sample_id.encode())]
        seen[kind] += 1
        if kind in OUTPUT_KINDS:
            assert outcomes == {-1: OUTPUT_KINDS[kind]}, (kind, outcomes)
            continue
        assert sorted(outcomes) == [0, 1], (kind, outcomes)
        if kind in PAIR_KINDS and outcomes[1][0] == "format":
            assert outcomes[1][1] in PAIR_KINDS[kind] | {"style_mismatch"}, (kind, outcomes)
        assert outcomes[0][0] != "format", (kind, outcomes)  # the good pair got past format
        if kind in ADVISORY_KINDS:
            assert outcomes[1][0] != "format" and "generator" not in {
                outcomes[0][0],
                outcomes[1][0],
            }
    assert set(seen) == set(KINDS)
    verified = sum(o == ("semantic", "pass") for t in by_task.values() for o in t.values())
    assert verified >= 2, rows


class _Raising:
    """An executor with a bug: it raises instead of returning a failure."""

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        if arguments.get("text") == "boom":
            raise RuntimeError("boom")
        return Outcome.success({"text": arguments["text"]})

    async def aclose(self) -> None:
        return None


@pytest.mark.anyio
async def test_an_executor_that_raises_costs_its_pair_an_executor_error() -> None:
    spec = ApiSpec.from_dict(ECHO_SPEC)
    checker = ExecutionChecker(_Raising(), lambda tool: spec)
    tool = Tool("echo", "Echo.", spec.parameters, api_id=spec.id)
    generation = _generation("")
    sample = Sample(meta=generation.sample.meta, style=QueryStyle.PARALLEL, tools=(tool,))
    calls = (Call("echo", {"text": "ok"}), Call("echo", {"text": "boom"}))
    event = FormatPass(generation.meta.child("format", "f", "0"), sample, "m", 0, "Echo", calls)
    (out,) = await checker.process(event)
    assert isinstance(out.event, Reject)
    assert (out.event.reason, out.event.pair_index) == ("executor_error", 0)
    assert out.event.message == "echo: RuntimeError: boom"


@pytest.mark.parametrize(
    "module", ["typing", "json", "operator", "re", "asyncio", "inspect", "dataclasses"]
)
def test_python_modules_with_odd_signatures_give_one_verdict_per_exported_name(
    module: str,
) -> None:
    # `apigen run --apis python:MODULE`: real modules are full of what spec_from_callable
    # cannot describe (classes, builtins without signatures, *args, positional-only
    # parameters, constants); each exported name is one spec or one error.
    exported = importlib.import_module(module).__all__
    specs, errors = load_source(f"python:{module}")
    assert len(specs) + len(errors) == len(exported)
    assert all(isinstance(e, SpecError) and e.field for e in errors)


def test_a_python_source_that_cannot_be_imported_or_lists_nothing_is_a_spec_error() -> None:
    for source, problem in [
        ("python:no_such_module_here", "cannot import"),
        ("python:itertools", "must list its API functions"),
    ]:
        with pytest.raises(SpecError, match=problem):
            ApiLibrary.from_sources([source])


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "text",
    [
        "a" + " " * 200_000 + "x",  # (.*?)\s*,\s*optional backtracked: 20 KB took 4 s
        "List[" * 5000 + "int" + "]" * 5000,  # RecursionError
        "Dict[str, " * 3000 + "int" + "]" * 3000,
        ", " * 100_000 + "optional",
    ],
)
def test_xlam_type_strings_that_are_long_runs_are_a_spec_error_in_linear_time(
    text: str,
) -> None:
    # Found while reviewing parse_xlam_type against the benchmark's huge strings.
    with pytest.raises(SpecError) as caught:
        parse_xlam_type(text)
    assert len(str(caught.value)) < 400  # the message quotes the type, clipped


def test_xlam_type_strings_keep_their_meaning() -> None:
    assert parse_xlam_type("List[int], optional") == XlamType(
        {"type": "array", "items": {"type": "integer"}}, True
    )
    assert parse_xlam_type("str , OPTIONAL, default 'a'").optional
    with pytest.raises(SpecError):
        parse_xlam_type("int,optionally")
