"""Execute MCP-bound APIs as ``tools/call`` on MCP servers (stdio or streamable HTTP).

Each configured server is started (stdio: a subprocess) or connected to (HTTP: a session at
its ``url``) lazily on its first call, as a task of the executor's task group that owns the
transport and the :class:`mcp.ClientSession`; calls from any task share that session. A
server found dead (its connection closed) is restarted or reconnected once per call and the
call retried; a second failure is ``mcp_error``.

HTTP servers are reached under the executor's :class:`~executors.NetworkPolicy`, as REST
hosts are: the URL's host is checked before connecting (a refusal is ``host_refused``) and
every connection is made to an address the policy checked when it resolved the name, so a
name that re-resolves elsewhere cannot slip past it. Redirects leave the URL's origin never
(the SDK's rule); proxies from the environment are ignored.

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
error message and result is redacted of every configured secret; so are the values of
``pass_env`` variables with such names and of every ``headers_env`` header (HTTP). The
server's own stderr reaches ``errlog`` line by line, redacted the same way (a careless
server prints its credentials).

Usage::

    servers = {"demo": McpServerConfig(sys.executable, ("-m", "executors.mcp_server"))}
    async with McpExecutor(servers, timeout_s=10) as executor:
        tools = await executor.list_tools("demo")
        outcome = await executor.execute(spec, {"a": 1, "b": 2})

The executor must be entered (``async with``) before use: the servers' tasks live in its
task group. Calls on an executor that is not running fail with ``mcp_error``.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO, TypeVar

import anyio
import orjson
from anyio.abc import TaskGroup, TaskStatus

from ._errors import ExecutionFailure
from ._metrics import executor_metrics
from ._network import NetworkPolicy
from ._outcome import Outcome
from ._redact import Redactor, default_redactor, is_secret_name
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
    """How to reach one MCP server: start ``command`` with ``args`` (stdio), or connect to
    ``url`` (streamable HTTP, e.g. ``http://127.0.0.1:8931/mcp``); exactly one of the two.

    stdio: ``env`` is merged over the SDK's minimal default environment (PATH, HOME, ...),
    and so are the ``pass_env`` variables, copied from this process's environment when the
    server starts (unset ones are left out); ``cwd`` is the working directory (None: the
    current one). ``secret_env`` names more ``env``/``pass_env`` entries whose values are
    secrets (names like ``API_KEY`` are found anyway).

    HTTP: ``headers_env`` maps a request header to the environment variable holding its
    value (``{"Authorization": "MCP_TOKEN"}``), read when connecting; every such value is a
    secret. A variable that is unset fails the connection with ``mcp_error`` naming it.
    """

    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    secret_env: tuple[str, ...] = ()
    pass_env: tuple[str, ...] = ()
    url: str = ""
    headers_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if bool(self.command) == bool(self.url):
            raise ValueError("give either command (a stdio server) or url (HTTP), not both")
        if self.url:
            import httpx

            try:
                parsed = httpx.URL(self.url)
            except httpx.InvalidURL as exc:
                raise ValueError(f"url {self.url!r}: {exc}") from None
            if parsed.scheme not in ("http", "https") or not parsed.host:
                raise ValueError(f"url {self.url!r}: expected an absolute http(s) URL")
            if self.args or self.env or self.cwd or self.pass_env:
                raise ValueError("args, env, cwd and pass_env are for stdio servers (command)")
        elif self.headers_env:
            raise ValueError("headers_env is for HTTP servers (url)")

    @property
    def transport(self) -> str:
        """``stdio`` or ``http``."""
        return "http" if self.url else "stdio"

    def environment(self) -> dict[str, str]:
        """``env`` with the ``pass_env`` variables that are set, as the server gets it."""
        passed = {name: os.environ[name] for name in self.pass_env if name in os.environ}
        return {**self.env, **passed}

    def headers(self) -> dict[str, str]:
        """The ``headers_env`` headers with their values; ExecutionFailure when unset."""
        missing = [var for var in self.headers_env.values() if not os.environ.get(var)]
        if missing:
            raise ExecutionFailure("mcp_error", f"header variable(s) {missing} are not set")
        return {header: os.environ[var] for header, var in self.headers_env.items()}

    def secrets(self) -> list[str]:
        """The secret values this server is started or connected with (those set now)."""
        found = [
            value
            for name, value in self.environment().items()
            if is_secret_name(name) or name in self.secret_env
        ]
        found += [os.environ[var] for var in self.headers_env.values() if os.environ.get(var)]
        return found


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
    """Executes :class:`McpBinding` APIs on the configured MCP servers (see module doc).

    ``timeout_s``: seconds a ``tools/call`` may take; ``startup_timeout_s``: seconds a
    server may take to start (or be connected to) and initialize; ``policy``: the hosts
    HTTP servers may be reached at (default: public addresses and the built-in REST
    service).
    """

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        *,
        timeout_s: float = 30.0,
        startup_timeout_s: float = 30.0,
        errlog: TextIO | None = None,
        policy: NetworkPolicy | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self._errlog = errlog
        self.policy = policy if policy is not None else NetworkPolicy()
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
            if state.config.url:
                await self._check_url(state)
            try:
                session: ClientSession = await tg.start(self._run_server, state)
            except Exception as exc:
                verb = "connect to" if state.config.url else "start"
                raise self._failure(
                    "mcp_error", f"cannot {verb} MCP server {state.name!r}: {_describe(exc)}"
                ) from None
            if state.starts > 1:
                self.restarts_total += 1
                executor_metrics().for_kind("mcp").worker_restarts.inc()
            return session

    async def _check_url(self, state: _ServerState) -> None:
        """Refuse (``host_refused``) an HTTP server the policy does not allow, before
        anything is sent; an unresolvable name is left to the connection to report."""
        import httpx

        url = httpx.URL(state.config.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            with anyio.fail_after(self.startup_timeout_s):
                await self.policy.resolve(url.host, port)
        except ExecutionFailure as exc:
            raise self._failure(exc.reason, f"MCP server {state.name!r}: {exc.message}") from None
        except (OSError, TimeoutError):
            pass

    async def _discard(self, state: _ServerState, session: ClientSession) -> None:
        async with state.lock:
            if state.session is session and state.stop is not None:
                state.stop.set()
                state.session = None

    async def _run_server(
        self, state: _ServerState, *, task_status: TaskStatus[ClientSession]
    ) -> None:
        """Own one server's transport and session until told to stop."""
        from mcp import ClientSession

        stop, done = anyio.Event(), anyio.Event()
        state.stop, state.done = stop, done
        state.starts += 1
        started = False
        try:
            async with (
                self._transport(state.config) as (read, write),
                ClientSession(read, write) as session,
            ):
                with anyio.fail_after(self.startup_timeout_s):
                    await session.initialize()
                state.session = session
                started = True
                task_status.started(session)
                await stop.wait()
        except Exception as exc:
            if not started:
                raise
            # The server is gone; the next call sees the closed session and restarts it.
            logger.warning("MCP server %r ended: %s", state.name, _describe(exc))
        finally:
            if state.stop is stop:
                state.session = None
            done.set()

    @asynccontextmanager
    async def _transport(self, cfg: McpServerConfig) -> AsyncIterator[tuple[Any, Any]]:
        """The (read, write) streams of a stdio subprocess or an HTTP session."""
        if cfg.url:
            from mcp.client.streamable_http import streamable_http_client

            async with (
                _policy_client(self.policy, cfg.headers(), self.timeout_s) as client,
                streamable_http_client(cfg.url, http_client=client) as (read, write),
            ):
                yield read, write
            return
        from mcp import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=cfg.command, args=list(cfg.args), env=cfg.environment() or None, cwd=cfg.cwd
        )
        errlog = self._errlog if self._errlog is not None else sys.stderr
        with _redacted_stream(errlog, self._redactor) as relay:
            async with stdio_client(params, errlog=relay) as (read, write):
                yield read, write


@contextmanager
def _redacted_stream(target: TextIO, redactor: Redactor) -> Iterator[TextIO]:
    """A pipe for a server's stderr whose lines reach ``target`` redacted, by a thread that
    ends when the server and this side have both closed the pipe."""
    read_fd, write_fd = os.pipe()

    def relay() -> None:
        with os.fdopen(read_fd, encoding="utf-8", errors="replace") as reader:
            for line in reader:
                try:
                    target.write(redactor.redact(line))
                    target.flush()
                except (OSError, ValueError):  # the target was closed: drain, drop
                    pass

    thread = threading.Thread(target=relay, name="mcp-stderr", daemon=True)
    thread.start()
    writer = os.fdopen(write_fd, "w", encoding="utf-8")
    try:
        yield writer
    finally:
        writer.close()
        thread.join(timeout=5.0)


def _describe(exc: BaseException) -> str:
    """An exception as one line; a group as its first leaf (the SDK's task groups wrap)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


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


def _policy_client(policy: NetworkPolicy, headers: dict[str, str], timeout_s: float) -> Any:
    """An ``httpx2.AsyncClient`` (the MCP SDK's HTTP client) whose every connection goes
    to an address ``policy`` checked; no proxies from the environment, no redirects."""
    import httpcore2
    import httpx2

    transport = httpx2.AsyncHTTPTransport(trust_env=False)
    # httpx2's transport takes no network backend; its pool is the only place one goes.
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=httpx2.create_ssl_context(trust_env=False),
        network_backend=_policy_backend_class()(policy),
    )
    return httpx2.AsyncClient(
        transport=transport,
        headers=headers,
        timeout=httpx2.Timeout(max(30.0, timeout_s), read=max(300.0, timeout_s)),
        trust_env=False,
        follow_redirects=False,
    )


@functools.cache
def _policy_backend_class() -> Any:
    import httpcore2

    class PolicyBackend(httpcore2.AsyncNetworkBackend):
        """Resolves with the policy and connects to the first checked address; TLS is
        still verified against the name (httpcore takes it from the request)."""

        def __init__(self, policy: NetworkPolicy) -> None:
            self._policy = policy
            self._inner = httpcore2.AnyIOBackend()

        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> httpcore2.AsyncNetworkStream:
            addresses = await self._policy.resolve(host, port)
            return await self._inner.connect_tcp(
                addresses[0],
                port,
                timeout=timeout,
                local_address=local_address,
                socket_options=socket_options,
            )

        async def connect_unix_socket(
            self, path: str, timeout: float | None = None, socket_options: Any = None
        ) -> httpcore2.AsyncNetworkStream:
            raise ExecutionFailure("host_refused", "MCP over a unix socket is not supported")

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return PolicyBackend
