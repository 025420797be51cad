"""Request-rate, concurrency and retry limits for the REST executor.

A :class:`RateLimits` holds one :class:`aiolimiter.AsyncLimiter` per host and per configured
API, plus a concurrency bound per host. A request waits for its host's slot, then for every
rate limit that applies (host, then API), and only then goes on the wire. Each host's
settings are a :class:`HostLimits`: its own entry (``host:port`` wins over ``host``) over
the default entry ``"*"`` over the built-in defaults; the retry settings it carries
(``retries``, ``backoff_s``, ``backoff_max_s``) override the executor's own for that host.

Rates are enforced *evenly*: ``Rate(5, 1.0)`` (``requests_per_s = 5``) becomes
``AsyncLimiter(1, 0.2)``, one request every 0.2 s, so no window of one second ever holds
more than five requests. A bucket of size five would let five go at once and then one every
0.2 s, i.e. up to nine in the first second — exactly what an API enforcing "5 per second"
answers with 429. The trade-off is no bursts.

Usage::

    limits = RateLimits(host_limits={
        "*": HostLimits(requests_per_s=20, max_concurrency=8),
        "api.example.com": HostLimits(requests_per_s=5, max_concurrency=2, retries=2),
    })
    limits = RateLimits.from_mapping({          # the older mapping form
        "hosts": {"api.example.com": {"max_rate": 5, "time_period": 1.0}},
        "apis": {"openapi:weather:get_forecast": {"max_rate": 60, "time_period": 60}},
        "default_host": {"max_rate": 20},
        "concurrency_per_host": 8,
    })
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import anyio
from aiolimiter import AsyncLimiter

from ._errors import SpecError
from ._network import HostRule, normal_host

__all__ = ["DEFAULT_HOST", "HostLimits", "Rate", "RateLimits"]

DEFAULT_HOST = "*"
"""The :attr:`RateLimits.host_limits` key whose settings apply to every host without an
entry of its own (and under the unset fields of those that have one)."""


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


@dataclass(frozen=True, slots=True)
class HostLimits:
    """The limits of one host; a field left None takes the default host's (then the
    built-in) value.

    requests_per_s: requests per second at most, spaced evenly (see the module doc);
      0 = unlimited (built-in default).
    max_concurrency: requests in flight to the host at once (built-in: 16).
    retries: attempts repeated after a transient failure (429, 5xx, timeout, connection
      error); None = the executor's ``retries`` (built-in: 3).
    backoff_s: base of the exponential backoff in seconds: the n-th retry waits a random
      time up to ``backoff_s * 2**n`` (full jitter), at least what ``Retry-After`` asks;
      None = the executor's ``backoff_base_s`` (built-in: 0.2).
    backoff_max_s: longest wait before one retry in seconds; a ``Retry-After`` asking for
      more gives up instead; None = the executor's ``backoff_max_s`` (built-in: 10).

    ValueError names the field of a value out of range.
    """

    requests_per_s: float | None = None
    max_concurrency: int | None = None
    retries: int | None = None
    backoff_s: float | None = None
    backoff_max_s: float | None = None

    def __post_init__(self) -> None:
        checks = (
            ("requests_per_s", self.requests_per_s, 0.0, "a number >= 0 (0 = unlimited)"),
            ("max_concurrency", self.max_concurrency, 1, "an integer >= 1"),
            ("retries", self.retries, 0, "an integer >= 0"),
            ("backoff_s", self.backoff_s, 0.0, "seconds >= 0"),
        )
        for name, value, low, expected in checks:
            if value is not None and not (math.isfinite(value) and value >= low):
                raise ValueError(f"{name}: {value!r} is not {expected}")
        cap = self.backoff_max_s
        if cap is not None and not (math.isfinite(cap) and cap > 0):
            raise ValueError(f"backoff_max_s: {cap!r} is not seconds > 0")

    def over(self, base: HostLimits) -> HostLimits:
        """These limits with every unset field taken from ``base``."""
        return replace(
            base, **{f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}
        )

    def rate(self) -> Rate | None:
        """The request rate as a :class:`Rate`, None when unlimited or unset."""
        return Rate(self.requests_per_s) if self.requests_per_s else None


def _host_key(text: str) -> str:
    """A host entry's key as lookups build it (``host`` or ``host:port``, normalized)."""
    if text == DEFAULT_HOST:
        return text
    rule = HostRule.parse(text)
    return rule.host if rule.port is None else f"{rule.host}:{rule.port}"


class RateLimits:
    """Per-host limits (:class:`HostLimits`) and per-API rate limiters.

    Hosts are keyed ``host`` or ``host:port`` (see :class:`~executors.HostRule`; a
    ``host:port`` entry wins over a bare ``host``); :data:`DEFAULT_HOST` (``"*"``) holds
    the defaults of every host. APIs are keyed by :attr:`ApiSpec.id`. The older arguments
    still work: ``hosts`` and ``default_host`` rates and ``concurrency_per_host`` become
    host limits under any given in ``host_limits``. Limiters are created lazily and shared
    by every request of one executor.
    """

    def __init__(
        self,
        *,
        hosts: Mapping[str, Rate] | None = None,
        apis: Mapping[str, Rate] | None = None,
        default_host: Rate | None = None,
        concurrency_per_host: int = 16,
        host_limits: Mapping[str, HostLimits] | None = None,
    ) -> None:
        if concurrency_per_host < 1:
            raise ValueError("concurrency_per_host must be at least 1")
        given: dict[str, HostLimits] = {}
        for key, rate in (hosts or {}).items():
            given[_host_key(key)] = HostLimits(requests_per_s=rate.max_rate / rate.time_period)
        for key, entry in (host_limits or {}).items():
            normal = _host_key(key)
            given[normal] = entry.over(given.get(normal, HostLimits()))
        builtin = HostLimits(
            requests_per_s=default_host.max_rate / default_host.time_period if default_host else 0,
            max_concurrency=concurrency_per_host,
        )
        self._default = given.pop(DEFAULT_HOST, HostLimits()).over(builtin)
        self._hosts = {k: v.over(self._default) for k, v in given.items()}
        self._api_rates = dict(apis or {})
        self.concurrency_per_host = concurrency_per_host
        self._resolved: dict[tuple[str, int | None], tuple[str, HostLimits]] = {}
        self._host_limiters: dict[str, AsyncLimiter | None] = {}
        self._api_limiters: dict[str, AsyncLimiter] = {}
        self._semaphores: dict[str, tuple[anyio.Semaphore, int]] = {}

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

    def host(self, host: str, port: int | None) -> tuple[str, HostLimits]:
        """The key of the entry that applies to ``host:port`` (``"*"`` when none has its
        own; a bounded metric label) and its limits, defaults filled in."""
        found = self._resolved.get((host, port))
        if found is None:
            try:
                name = normal_host(host)
            except ValueError:
                name = host.lower()
            candidates = ([f"{name}:{port}"] if port is not None else []) + [name]
            key = next((c for c in candidates if c in self._hosts), DEFAULT_HOST)
            found = (key, self._hosts.get(key, self._default))
            self._resolved[(host, port)] = found
        return found

    def host_limiter(self, host: str, port: int | None) -> AsyncLimiter | None:
        key, limits = self.host(host, port)
        # One limiter per entry, except that the default entry limits each host apart.
        slot = f"{host}:{port}".lower() if key == DEFAULT_HOST else key
        if slot not in self._host_limiters:
            rate = limits.rate()
            self._host_limiters[slot] = rate.limiter() if rate else None
        return self._host_limiters[slot]

    def api_limiter(self, api_id: str) -> AsyncLimiter | None:
        if api_id not in self._api_limiters:
            rate = self._api_rates.get(api_id)
            if rate is None:
                return None
            self._api_limiters[api_id] = rate.limiter()
        return self._api_limiters[api_id]

    def semaphore(self, host: str, port: int | None) -> anyio.Semaphore:
        slot = f"{host}:{port}".lower()
        if slot not in self._semaphores:
            cap = self.host(host, port)[1].max_concurrency or self.concurrency_per_host
            self._semaphores[slot] = (anyio.Semaphore(cap), cap)
        return self._semaphores[slot][0]

    def __repr__(self) -> str:
        busy = {k: cap - s.value for k, (s, cap) in self._semaphores.items() if s.value < cap}
        return (
            f"<RateLimits hosts={len(self._hosts)} apis={len(self._api_rates)} "
            f"default={self._default} in_flight={busy}>"
        )
