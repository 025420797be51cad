"""POST one JSON body and read the whole reply: the LLM client's lean HTTP path.

The client used to go through the ``openai`` SDK: building the request through its typed
params and response classes cost ~1.5 ms of CPU per request, about as much as the rest of
the pipeline spends on a verified pair. Here a request is bytes the caller serialised, and
a reply is status, headers and body bytes; the caller parses and classifies them.

Two transports, the same contract:

- :class:`AiohttpPoster` (the default) owns an ``aiohttp`` session, made on first use
  inside the running event loop and closed by :meth:`~AiohttpPoster.aclose`.
- :class:`HttpxPoster` sends through an ``httpx2.AsyncClient`` the caller made (e.g. with
  a test transport) and leaves it open.

Failures come out as :class:`PostTimeout` (no complete reply within the timeout) or
:class:`PostFailed` (could not connect, or the connection broke). Their messages never
carry request headers, so an API key cannot leak through them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import aiohttp

if TYPE_CHECKING:
    import httpx2

__all__ = ["AiohttpPoster", "HttpxPoster", "PostFailed", "PostTimeout", "Poster", "Reply"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP reply; ``headers`` look names up case-insensitively."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class PostTimeout(Exception):
    """No complete reply within the timeout."""


class PostFailed(Exception):
    """The endpoint could not be reached or the connection broke mid-reply."""


class Poster(Protocol):
    """Sends one POST with a ready body and returns the whole reply."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply: ...

    async def aclose(self) -> None: ...


def _describe(exc: BaseException) -> str:
    # str(), never repr(): aiohttp's reprs include the request info with its headers.
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(out) < 10:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _refused(exc: BaseException) -> bool:
    """Whether a timeout httpx reports is really a failed connection.

    The httpx-aiohttp transport (``openai.DefaultAioHttpClient``) maps every
    ``aiohttp.ClientConnectionError`` (refused, reset, disconnected) to ``ConnectTimeout``;
    the cause chain tells.
    """
    chain = _chain(exc)
    if any(isinstance(e, TimeoutError) for e in chain):
        return False
    return any(isinstance(e, aiohttp.ClientConnectionError | ConnectionError) for e in chain)


class AiohttpPoster:
    """POSTs over one pooled ``aiohttp`` session.

    ``timeout_s`` bounds each request as a whole (connect, send, wait, read), in seconds;
    ``max_connections`` caps the pool (keep-alive connections are reused).
    """

    def __init__(self, *, timeout_s: float, max_connections: int) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_connections = max(1, max_connections)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made lazily: an aiohttp session binds to the event loop it is created in, and
        # clients are often constructed before the loop that uses them runs.
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections),
            timeout=self._timeout,
        )
        self._session = session
        return session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        session = self._session or self._open()
        try:
            # Redirects are not followed: the key would travel wherever a 3xx points.
            async with session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                data = await response.read()
                return Reply(response.status, response.headers, data)
        except TimeoutError as exc:
            # aiohttp's timeouts subclass TimeoutError (connect and read alike).
            raise PostTimeout(_describe(exc)) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise PostFailed(_describe(exc)) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxPoster:
    """POSTs through a caller-owned ``httpx2.AsyncClient`` (its timeouts apply)."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        # Imported here: httpx2 is only needed when a caller injects a client.
        import httpx2

        self._httpx = httpx2
        self._client = client

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        httpx = self._httpx
        try:
            response = await self._client.post(url, content=body, headers=dict(headers))
        except httpx.TimeoutException as exc:
            if _refused(exc):
                raise PostFailed(_describe(_chain(exc)[-1])) from None
            raise PostTimeout(_describe(exc)) from None
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            raise PostFailed(_describe(exc)) from None
        return Reply(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        """Leaves the caller's client open."""
