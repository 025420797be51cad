"""Hold the calls to an endpoint while it is unavailable; let them go when it is back.

An outage (:attr:`LlmError.outage <streamer.llm.LlmError.outage>`: 429s, 5xx, timeouts,
connection errors that outlasted the client's own retries) says nothing about the request,
so a stage must not reject its input for it. :class:`EndpointGate` turns such failures into
a pause: the first call that meets one *closes* the gate and becomes its probe — it waits,
asks the same request again (its work is not lost), waiting twice as long after each failure
up to ``max_delay_s``, until the endpoint answers — while every other call through the gate
waits for it to reopen instead of adding load. When the probe is answered, the gate reopens
and the waiting calls go. A call that fails for any other reason raises as before.

Waiting is unbounded on purpose: the endpoint coming back is the only way the work can be
decided. A stage paused this way stops finishing events, so its runner stops committing and,
once ``max_in_flight`` events wait, pauses its partitions; cancellation (a drain deadline,
SIGTERM) ends the wait, and the uncommitted inputs are delivered again after a restart.

Usage::

    gate = EndpointGate("judge")
    completion = await gate.call(lambda: model.complete_json(messages, schema))
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ._errors import LlmError

__all__ = ["EndpointGate"]

log = logging.getLogger("apigen.llm")

_T = TypeVar("_T")


class EndpointGate:
    """Pauses calls to one endpoint during an outage (see the module docstring).

    name: what log lines call the endpoint when the error does not name it.
    first_delay_s: seconds the probe waits before its first retry after an outage.
    max_delay_s: longest wait between two probes, in seconds (the delay doubles up to it).
    """

    def __init__(self, name: str, *, first_delay_s: float = 1.0, max_delay_s: float = 30.0):
        if first_delay_s <= 0 or max_delay_s < first_delay_s:
            raise ValueError("need 0 < first_delay_s <= max_delay_s")
        self.name = name
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.outages = 0
        """Outages seen (times the gate closed)."""
        self.probes = 0
        """Retries made by probes."""
        self.paused_s = 0.0
        """Seconds the gate was closed, over all finished outages."""
        self._probe: object | None = None
        self._down_since = 0.0
        self._reopened = anyio.Event()
        self._waiting = 0

    @property
    def closed(self) -> bool:
        """True while an outage is being probed and calls wait."""
        return self._probe is not None

    def __repr__(self) -> str:
        state = "open"
        if self._probe is not None:
            state = f"closed for {time.monotonic() - self._down_since:.1f} s"
        return (
            f"<EndpointGate {self.name!r} {state} waiting={self._waiting}"
            f" outages={self.outages} probes={self.probes} paused_s={self.paused_s:.1f}>"
        )

    async def call(self, request: Callable[[], Awaitable[_T]]) -> _T:
        """``await request()``, asked again until the endpoint answers if it is unavailable.

        Raises what ``request`` raises, except :class:`LlmError` outages."""
        while True:
            if self.closed:
                await self._wait()
                continue
            try:
                return await request()
            except LlmError as exc:
                if not exc.outage:
                    raise
                if self._probing():  # another call already probes this outage
                    continue
                return await self._probe_until_answered(request, exc)

    def _probing(self) -> bool:
        # A call, not an attribute: mypy would keep the narrowing from before the await.
        return self._probe is not None

    async def _wait(self) -> None:
        self._waiting += 1
        try:
            await self._reopened.wait()
        finally:
            self._waiting -= 1

    async def _probe_until_answered(
        self, request: Callable[[], Awaitable[_T]], first: LlmError
    ) -> _T:
        self._probe = token = object()
        self._down_since = time.monotonic()
        self.outages += 1
        where = first.endpoint or self.name
        log.warning(
            "%s is unavailable (%s: %s): pausing its calls until it answers",
            where, first.reason, first.message,
        )  # fmt: skip
        delay = self.first_delay_s
        try:
            while True:
                await anyio.sleep(delay)
                self.probes += 1
                try:
                    result = await request()
                except LlmError as exc:
                    if not exc.outage:
                        raise
                    delay = min(delay * 2, self.max_delay_s)
                    log.warning(
                        "%s still unavailable after %.0f s (%s); next try in %.0f s",
                        where, time.monotonic() - self._down_since, exc.reason, delay,
                    )  # fmt: skip
                    continue
                log.warning(
                    "%s answers again after %.1f s: resuming",
                    where, time.monotonic() - self._down_since,
                )  # fmt: skip
                return result
        finally:
            if self._probe is token:  # also when cancelled: a waiting call probes next
                self.paused_s += time.monotonic() - self._down_since
                self._probe = None
                self._reopened.set()
                self._reopened = anyio.Event()
