"""Behaviour endpoints for executor tests, mounted only by ``create_app(testing=True)``.

They are left out of the OpenAPI document. :class:`RequestLog` records what the server
actually received (monotonic time, method, raw path, query, headers) so tests can assert
on the wire rather than on the client's intentions.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RecordedRequest", "RequestLog", "RequestLogMiddleware", "router"]

router = APIRouter(prefix="/_test", include_in_schema=False)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    time: float
    method: str
    raw_path: str
    query: str
    headers: dict[str, str]


@dataclass(slots=True)
class RequestLog:
    """Every request the app received, in arrival order (thread-safe appends)."""

    records: list[RecordedRequest] = field(default_factory=list)
    flaky_counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def matching(self, prefix: str) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.records if r.raw_path.startswith(prefix)]


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            record = RecordedRequest(
                time=time.monotonic(),
                method=scope["method"],
                raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
                query=scope.get("query_string", b"").decode("latin-1"),
                headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            )
            with self.log.lock:
                self.log.records.append(record)
        await self.app(scope, receive, send)


def _log(request: Request) -> RequestLog:
    log: RequestLog = request.app.state.request_log
    return log


@router.api_route("/status/{code}", methods=["GET", "POST"])
def status(
    code: Annotated[int, Path(ge=200, le=599)],
    retry_after: Annotated[str | None, Query()] = None,
) -> Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    return JSONResponse({"status": code, "detail": f"status {code}"}, code, headers)


@router.get("/slow")
async def slow(seconds: Annotated[float, Query(ge=0, le=30)] = 1.0) -> dict[str, Any]:
    await anyio.sleep(seconds)
    return {"slept": seconds}


@router.get("/trickle")
async def trickle(
    chunks: Annotated[int, Query(ge=1, le=100)] = 10,
    interval: Annotated[float, Query(ge=0, le=5)] = 0.1,
) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            await anyio.sleep(interval)
            yield b"x"

    return StreamingResponse(body(), media_type="text/plain")


@router.get("/flaky")
def flaky(
    request: Request,
    key: Annotated[str, Query()],
    failures: Annotated[int, Query(ge=0)] = 1,
    status: Annotated[int, Query(ge=400, le=599)] = 429,
    retry_after: Annotated[float | None, Query()] = None,
    http_date: Annotated[bool, Query()] = False,
) -> Response:
    """Fails ``failures`` times per ``key`` (with Retry-After when given), then 200."""
    log = _log(request)
    with log.lock:
        seen = log.flaky_counts.get(key, 0)
        log.flaky_counts[key] = seen + 1
    if seen >= failures:
        return JSONResponse({"key": key, "attempt": seen + 1})
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = (
            email.utils.formatdate(time.time() + retry_after, usegmt=True)
            if http_date
            else str(int(retry_after))
        )
    return JSONResponse({"detail": "try again"}, status, headers)


@router.get("/huge")
def huge(
    size: Annotated[int, Query(ge=0, le=64 << 20)] = 4 << 20,
    declare_length: Annotated[bool, Query()] = False,
) -> Response:
    if declare_length:
        return Response(b"a" * size, media_type="text/plain")

    def body() -> Any:
        sent = 0
        while sent < size:
            n = min(65536, size - sent)
            sent += n
            yield b"a" * n

    return StreamingResponse(body(), media_type="text/plain")


@router.get("/redirect")
def redirect() -> Response:
    return RedirectResponse("http://evil.example/steal", 302)


@router.api_route("/echo/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def echo(request: Request, rest: str) -> dict[str, Any]:
    body = await request.body()
    return {
        "method": request.method,
        "path": request.url.path,
        "raw_path": request.scope.get("raw_path", b"").decode("latin-1"),
        "query": list(request.query_params.multi_items()),
        "headers": dict(request.headers),
        "body": body.decode("utf-8", errors="replace"),
    }
