"""Real local servers for the security tests: an HTTP server that records what reaches it,
and a bare TCP listener that counts connections (a probe is a connect, not a request); and
the REST API spec (data) the tests point at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from aiohttp import web

from executors import ApiSpec, RestBinding, RestParameter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def weather_spec(
    base_url: str,
    path: str = "/weather",
    *,
    name: str = "get_weather",
    auth_env: str = "",
    auth_header: str = "",
) -> ApiSpec:
    """A REST API from data: ``GET base_url + path?city=...`` (example city: Oslo)."""
    return ApiSpec.create(
        name=name,
        description="Current weather for a city: temperature in degrees Celsius.",
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name.", "examples": ["Oslo"]}
            },
            "required": ["city"],
        },
        source="data:weather",
        binding=RestBinding(
            base_url, "GET", path, (RestParameter("city", "query"),),
            auth_env=auth_env, auth_header=auth_header,
        ),
    )  # fmt: skip


@dataclass
class Recorded:
    """What a :func:`recording_server` saw: ``requests`` as (method, path, Host header)."""

    port: int
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _default(request: web.Request) -> web.StreamResponse:
    if request.path == "/redirect":
        raise web.HTTPFound(request.query.get("to", "/"))
    return web.json_response({"ok": True, "path": request.path, "host": request.host})


@asynccontextmanager
async def recording_server(handler: Handler = _default) -> AsyncIterator[Recorded]:
    """Serve ``handler`` for every path on a free port of 127.0.0.1, recording requests."""
    seen = Recorded(0)

    async def record(request: web.Request) -> web.StreamResponse:
        seen.requests.append((request.method, request.path_qs, request.headers.get("Host", "")))
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    seen.port = runner.addresses[0][1]
    try:
        yield seen
    finally:
        await runner.cleanup()


@dataclass
class Connections:
    port: int
    count: int = 0


@asynccontextmanager
async def counting_listener() -> AsyncIterator[Connections]:
    """A TCP listener on 127.0.0.1 that accepts, counts and closes every connection."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    counted = Connections(listener.extra(anyio.abc.SocketAttribute.local_port))

    async def accept(stream: anyio.abc.SocketStream) -> None:
        counted.count += 1
        await stream.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, accept)
        try:
            yield counted
        finally:
            tg.cancel_scope.cancel()
