"""Execute MCP-bound APIs as ``tools/call`` on MCP servers started over stdio.

Each configured server is started lazily on its first call, as a task of the executor's
task group that owns the subprocess and the :class:`mcp.ClientSession`; calls from any task
share that session. A server found dead (its connection closed) is restarted once per call
and the call retried; a second failure is ``mcp_error``.

Outcome mapping:

- a result is taken from ``structuredContent`` when the server sent one (the SDK's
  ``{"result": x}`` wrapper around a non-object return is unwrapped), otherwise from the
  content blocks: a text block is parsed as JSON when it is JSON, else kept as a string;
  several blocks become a list; non-text blocks become their JSON dicts;
- ``isError`` results are tool failures: ``function_error`` with the server's text
  (``unknown_api`` / ``invalid_arguments`` when the text is the SDK's unknown-tool or
  argument-validation message);
- JSON-RPC errors and broken connections are ``mcp_error``; no answer within
  ``timeout_s`` is ``timeout``.

Secrets: the values of a server's ``env`` entries whose names say they are credentials
(:func:`~executors._redact.is_secret_name`: ``*_KEY``, ``*TOKEN*``, ``*PASSWORD*``, ...)
and those named by ``secret_env`` are registered with the process's redactor, and every
error message and result is redacted of every configured secret. The server's own stderr
goes to ``errlog`` as it is.

Usage::

    servers = {"demo": McpServerConfig(sys.executable, ("-m", "executors.mcp_server"))}
    async with McpExecutor(servers, timeout_s=10) as executor:
        tools = await executor.list_tools("demo")
        outcome = await executor.execute(spec, {"a": 1, "b": 2})

The executor must be entered (``async with``) before use: the servers' tasks live in its
task group. Calls on an executor that is not running fail with ``mcp_error``.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO, TypeVar

import anyio
import orjson
from anyio.abc import TaskGroup, TaskStatus

from ._errors import ExecutionFailure
from ._outcome import Outcome
from ._redact import default_redactor, is_secret_name
from ._spec import ApiSpec, McpBinding

__all__ = ["McpExecutor", "McpServerConfig"]

if TYPE_CHECKING:  # the SDK takes ~1 s to import: only when a server starts
    import mcp_types
    from mcp import ClientSession

logger = logging.getLogger(__name__)

T = TypeVar("T")

_CONNECTION_ERRORS = (
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
    OSError,
)


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """How to start one stdio MCP server: ``command`` with ``args``.

    ``env`` is merged over the SDK's minimal default environment (PATH, HOME, ...);
    ``cwd`` is the working directory (None: the current one). ``secret_env`` names more
    ``env`` entries whose values are secrets (names like ``API_KEY`` are found anyway).
    """

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    secret_env: tuple[str, ...] = ()

    def secrets(self) -> list[str]:
        """The secret values this server is started with."""
        return [
            value
            for name, value in self.env.items()
            if is_secret_name(name) or name in self.secret_env
        ]


class _ServerState:
    def __init__(self, name: str, config: McpServerConfig) -> None:
        self.name = name
        self.config = config
        self.session: ClientSession | None = None
        self.stop: anyio.Event | None = None
        self.done: anyio.Event | None = None
        self.lock = anyio.Lock()
        self.starts = 0


class _ConnectionLost(Exception):
    pass


class McpExecutor:
    """Executes :class:`McpBinding` APIs on the configured MCP servers (see module doc)."""

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        *,
        timeout_s: float = 30.0,
        startup_timeout_s: float = 30.0,
        errlog: TextIO | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self._errlog = errlog
        self._servers = {name: _ServerState(name, cfg) for name, cfg in servers.items()}
        self._redactor = default_redactor()
        for cfg in servers.values():
            for secret in cfg.secrets():
                self._redactor.add(secret)
        self._tg: TaskGroup | None = None
        self.calls_total = 0
        self.restarts_total = 0

    def __repr__(self) -> str:
        running = sum(s.session is not None for s in self._servers.values())
        state = "running" if self._tg is not None else "stopped"
        return (
            f"<McpExecutor {state} servers={running}/{len(self._servers)} running "
            f"calls={self.calls_total} restarts={self.restarts_total}>"
        )

    async def __aenter__(self) -> Self:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg = self._tg
        await self.aclose()
        assert tg is not None
        return await tg.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Stop every running server (bounded wait); the executor stops accepting calls."""
        self._tg = None
        with anyio.CancelScope(shield=True):
            for state in self._servers.values():
                if state.stop is not None:
                    state.stop.set()
            with anyio.move_on_after(10.0):
                for state in self._servers.values():
                    if state.done is not None:
                        await state.done.wait()

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        """Call ``binding.tool`` with ``arguments``; never raises (except cancellation)."""
        binding = spec.binding
        if not isinstance(binding, McpBinding):
            return Outcome.failure("no_binding", f"{spec.id} has no MCP binding")
        if not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments):
            return Outcome.failure("invalid_arguments", "arguments must be an object of names")
        self.calls_total += 1
        start = time.perf_counter()
        try:
            result = await self._with_session(
                binding.server,
                lambda session: session.call_tool(
                    binding.tool, arguments, read_timeout_seconds=self.timeout_s
                ),
            )
        except ExecutionFailure as failure:
            message = self._redactor.redact(failure.message)
            return Outcome.failure(failure.reason, message, time.perf_counter() - start)
        outcome = _to_outcome(result, time.perf_counter() - start)
        return Outcome(
            ok=outcome.ok,
            result=self._redactor.redact_value(outcome.result),
            reason=outcome.reason,
            message=self._redactor.redact(outcome.message),
            latency_s=outcome.latency_s,
        )

    async def list_tools(self, server: str) -> list[dict[str, Any]]:
        """Every tool of ``server`` as its JSON dict (``name``, ``description``,
        ``inputSchema``, ...). Raises :class:`ExecutionFailure` (``mcp_error``/``timeout``)."""

        import mcp_types

        async def all_pages(session: ClientSession) -> list[dict[str, Any]]:
            tools: list[dict[str, Any]] = []
            params: mcp_types.PaginatedRequestParams | None = None
            while True:
                page = await session.list_tools(params=params)
                tools.extend(
                    t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools
                )
                if not page.next_cursor:
                    return tools
                params = mcp_types.PaginatedRequestParams(cursor=page.next_cursor)

        with anyio.fail_after(self.timeout_s + self.startup_timeout_s):
            return await self._with_session(server, all_pages)

    async def _with_session(
        self, server: str, request: Callable[[ClientSession], Awaitable[T]]
    ) -> T:
        """Run ``request(session)``, restarting a dead server once; failures become
        :class:`ExecutionFailure`."""
        import mcp_types
        from mcp.shared.exceptions import MCPError

        state = self._servers.get(server)
        if state is None:
            raise self._failure("mcp_error", f"no MCP server named {server!r} is configured")
        for attempt in (1, 2):
            session = await self._session(state)
            try:
                return await request(session)
            except MCPError as exc:
                if exc.code == mcp_types.REQUEST_TIMEOUT:
                    raise self._failure(
                        "timeout", f"{server}: no answer within {self.timeout_s} s"
                    ) from None
                if exc.code != mcp_types.CONNECTION_CLOSED:
                    raise self._failure(
                        "mcp_error", f"{server}: error {exc.code}: {exc.message}"
                    ) from None
                lost = f"{server}: connection closed"
            except _CONNECTION_ERRORS as exc:
                lost = f"{server}: connection lost ({type(exc).__name__})"
            except Exception as exc:
                raise self._failure("mcp_error", f"{server}: {type(exc).__name__}: {exc}") from None
            await self._discard(state, session)
            if attempt == 2:
                raise self._failure("mcp_error", f"{lost}, also after a restart")
            logger.warning("%s; restarting the server", lost)
        raise AssertionError("unreachable")

    def _failure(self, reason: str, message: str) -> ExecutionFailure:
        """A failure whose message (a server's words, possibly) is redacted."""
        return ExecutionFailure(reason, self._redactor.redact(message))

    async def _session(self, state: _ServerState) -> ClientSession:
        async with state.lock:
            if state.session is not None:
                return state.session
            tg = self._tg
            if tg is None:
                raise self._failure(
                    "mcp_error", "the McpExecutor is not running (use `async with`)"
                )
            try:
                session: ClientSession = await tg.start(self._run_server, state)
            except Exception as exc:
                raise self._failure(
                    "mcp_error", f"cannot start MCP server {state.name!r}: {exc!r}"
                ) from None
            if state.starts > 1:
                self.restarts_total += 1
            return session

    async def _discard(self, state: _ServerState, session: ClientSession) -> None:
        async with state.lock:
            if state.session is session and state.stop is not None:
                state.stop.set()
                state.session = None

    async def _run_server(
        self, state: _ServerState, *, task_status: TaskStatus[ClientSession]
    ) -> None:
        """Own one server process and its session until told to stop."""
        from mcp import ClientSession, StdioServerParameters, stdio_client

        cfg = state.config
        params = StdioServerParameters(
            command=cfg.command, args=list(cfg.args), env=dict(cfg.env) or None, cwd=cfg.cwd
        )
        stop, done = anyio.Event(), anyio.Event()
        state.stop, state.done = stop, done
        state.starts += 1
        started = False
        try:
            errlog = self._errlog if self._errlog is not None else sys.stderr
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                with anyio.fail_after(self.startup_timeout_s):
                    await session.initialize()
                state.session = session
                started = True
                task_status.started(session)
                await stop.wait()
        except Exception:
            if not started:
                raise
            # The server is gone; the next call sees the closed session and restarts it.
            logger.exception("MCP server %r ended with an error", state.name)
        finally:
            if state.stop is stop:
                state.session = None
            done.set()


def _to_outcome(result: mcp_types.CallToolResult, latency_s: float) -> Outcome:
    import mcp_types

    if result.is_error:
        text = "\n".join(b.text for b in result.content if isinstance(b, mcp_types.TextContent))
        text = text or "the tool reported an error without a message"
        if text.startswith("Unknown tool"):
            return Outcome.failure("unknown_api", text, latency_s)
        if "validation error" in text and "Arguments" in text:
            return Outcome.failure("invalid_arguments", text, latency_s)
        return Outcome.failure("function_error", text, latency_s)
    blocks = [_block_value(b) for b in result.content]
    structured = result.structured_content
    if structured is not None:
        if set(structured) == {"result"} and not (len(blocks) == 1 and isinstance(blocks[0], dict)):
            return Outcome.success(structured["result"], latency_s)
        return Outcome.success(structured, latency_s)
    if not blocks:
        return Outcome.success(None, latency_s)
    return Outcome.success(blocks[0] if len(blocks) == 1 else blocks, latency_s)


def _block_value(block: mcp_types.ContentBlock) -> Any:
    import mcp_types

    if isinstance(block, mcp_types.TextContent):
        try:
            return orjson.loads(block.text)
        except orjson.JSONDecodeError:
            return block.text
    return block.model_dump(mode="json", by_alias=True, exclude_none=True)
