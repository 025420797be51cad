"""Request-rate and concurrency limits for the REST executor.

A :class:`RateLimits` holds one :class:`aiolimiter.AsyncLimiter` per configured host and per
configured API, plus a concurrency bound per host. A request waits for its host's slot, then
for every rate limit that applies (host, then API), and only then goes on the wire.

Rates are enforced *evenly*: ``Rate(5, 1.0)`` becomes ``AsyncLimiter(1, 0.2)``, one request
every 0.2 s, so no window of one period ever holds more than five requests. A bucket of size
five would let five go at once and then one every 0.2 s, i.e. up to nine in the first second
— exactly what an API enforcing "5 per second" answers with 429. The trade-off is no bursts.

Usage::

    limits = RateLimits.from_mapping({
        "hosts": {"api.example.com": {"max_rate": 5, "time_period": 1.0}},
        "apis": {"openapi:weather:get_forecast": {"max_rate": 60, "time_period": 60}},
        "default_host": {"max_rate": 20},
        "concurrency_per_host": 8,
    })
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from aiolimiter import AsyncLimiter

from ._errors import SpecError

__all__ = ["Rate", "RateLimits"]


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``max_rate`` requests in any window of ``time_period`` seconds."""

    max_rate: float
    time_period: float = 1.0

    def __post_init__(self) -> None:
        if not (self.max_rate > 0 and self.time_period > 0):
            raise ValueError(f"rate must be positive, got {self.max_rate}/{self.time_period}s")

    def limiter(self) -> AsyncLimiter:
        return AsyncLimiter(1, self.time_period / self.max_rate)

    @classmethod
    def from_value(cls, value: Any, *, where: str) -> Rate:
        """``{"max_rate": 5, "time_period": 1}``, ``[5, 1]`` or a bare number (per second)."""
        try:
            if isinstance(value, Mapping):
                return cls(float(value["max_rate"]), float(value.get("time_period", 1.0)))
            if isinstance(value, list | tuple) and len(value) == 2:
                return cls(float(value[0]), float(value[1]))
            if isinstance(value, int | float) and not isinstance(value, bool):
                return cls(float(value))
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError("<rate limits>", where, str(exc)) from None
        raise SpecError("<rate limits>", where, f"not a rate: {value!r}")


def _items(data: Mapping[str, Any], key: str) -> list[tuple[str, Any]]:
    section = data.get(key, {})
    if not isinstance(section, Mapping):
        raise SpecError("<rate limits>", key, "must be a mapping")
    return [(str(k), v) for k, v in section.items()]


class RateLimits:
    """Per-host and per-API rate limiters and a per-host concurrency bound.

    Hosts are keyed ``host`` or ``host:port`` (lower case); a ``host:port`` entry wins over a
    bare ``host``. APIs are keyed by :attr:`ApiSpec.id`. Hosts without an entry use
    ``default_host`` when given, else are unlimited in rate (still concurrency-bounded).
    Limiters are created lazily and shared by every request of one executor.
    """

    def __init__(
        self,
        *,
        hosts: Mapping[str, Rate] | None = None,
        apis: Mapping[str, Rate] | None = None,
        default_host: Rate | None = None,
        concurrency_per_host: int = 16,
    ) -> None:
        if concurrency_per_host < 1:
            raise ValueError("concurrency_per_host must be at least 1")
        self._host_rates = {k.lower(): v for k, v in (hosts or {}).items()}
        self._api_rates = dict(apis or {})
        self._default_host = default_host
        self.concurrency_per_host = concurrency_per_host
        self._host_limiters: dict[str, AsyncLimiter | None] = {}
        self._api_limiters: dict[str, AsyncLimiter] = {}
        self._semaphores: dict[str, anyio.Semaphore] = {}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RateLimits:
        """Build from config data: keys ``hosts``, ``apis``, ``default_host``,
        ``concurrency_per_host``; rates as accepted by :meth:`Rate.from_value`."""
        unknown = set(data) - {"hosts", "apis", "default_host", "concurrency_per_host"}
        if unknown:
            raise SpecError("<rate limits>", ",".join(sorted(unknown)), "unknown key")
        hosts = {
            k: Rate.from_value(v, where=f"hosts.{k}") for k, v in data.get("hosts", {}).items()
        }
        apis = {k: Rate.from_value(v, where=f"apis.{k}") for k, v in data.get("apis", {}).items()}
        default = data.get("default_host")
        return cls(
            hosts=hosts,
            apis=apis,
            default_host=None if default is None else Rate.from_value(default, where="default"),
            concurrency_per_host=int(data.get("concurrency_per_host", 16)),
        )

    def host_limiter(self, host: str, port: int | None) -> AsyncLimiter | None:
        key = f"{host}:{port}".lower() if port is not None else host.lower()
        if key not in self._host_limiters:
            rate = self._host_rates.get(key) or self._host_rates.get(host.lower())
            rate = rate or self._default_host
            self._host_limiters[key] = rate.limiter() if rate else None
        return self._host_limiters[key]

    def api_limiter(self, api_id: str) -> AsyncLimiter | None:
        if api_id not in self._api_limiters:
            rate = self._api_rates.get(api_id)
            if rate is None:
                return None
            self._api_limiters[api_id] = rate.limiter()
        return self._api_limiters[api_id]

    def semaphore(self, host: str, port: int | None) -> anyio.Semaphore:
        key = f"{host}:{port}".lower()
        if key not in self._semaphores:
            self._semaphores[key] = anyio.Semaphore(self.concurrency_per_host)
        return self._semaphores[key]

    def __repr__(self) -> str:
        cap = self.concurrency_per_host
        busy = {k: cap - s.value for k, s in self._semaphores.items() if s.value < cap}
        return (
            f"<RateLimits hosts={len(self._host_rates)} apis={len(self._api_rates)} "
            f"concurrency_per_host={self.concurrency_per_host} in_flight={busy}>"
        )
