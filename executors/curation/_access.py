"""Accessibility testing: call each API once with example arguments; keep what answers.

The example call is, in order of preference: an entry of the ``examples`` mapping (by API
id, then name), the spec's first ``examples`` entry, or one built from each parameter's
first JSON Schema ``examples`` value, else its ``default``, else its first ``enum`` value
(optional parameters without any are left out). An API with a required parameter that has
none is ``no_example`` — not called, since an invented value failing says nothing about
the API — unless ``keep_untested``.

REST hosts are probed once each before any call (DNS, then a TCP connect, within
``probe_timeout_s``): every API of a host that fails the probe is ``unreachable_host``
with the probe's error, so a catalogue of thousands of APIs on one dead host costs one
probe, not thousands of timeouts. Calls then go through a :class:`~executors.Dispatcher`
(rate-limited per host, cached, with timeouts); a failed call rejects the API with the
executor's reason code (``timeout``, ``http_error``, ``function_error``, ...).

Python bindings run only if their module is in ``allowed_modules``: a catalogue must not
choose what code this process imports.

REST hosts come from catalogues, so they are data: probes and calls go through a
:class:`~executors.NetworkPolicy` allowing ``allow_hosts`` (and the built-in REST service);
a host whose address is refused (loopback, link-local, private, ...) is ``host_refused``
for every API on it, without a probe. Every credential the specs name (``auth_env``) is
registered with the redactor before any call, and every message and sample is redacted of
every configured secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import anyio
import httpx

from .._cache import ResultCache
from .._dispatch import Dispatcher
from .._network import HostRefused, NetworkPolicy, url_host
from .._python import PythonExecutor
from .._rate_limits import Rate, RateLimits
from .._redact import default_redactor
from .._rest import RestExecutor
from .._spec import ApiSpec, RestBinding
from ._reasons import CurationError

__all__ = ["AccessResult", "AccessSettings", "check_access", "example_arguments", "probe_host"]

SAMPLE_CHARS = 1000
"""A successful call's result is kept as JSON text cut to this many characters."""


@dataclass(frozen=True, slots=True)
class AccessSettings:
    """How APIs are called.

    timeout_s: seconds per call (REST: whole response; Python: wall time in the worker).
    probe_timeout_s: seconds for one host probe (DNS resolution plus TCP connect).
    rate_per_host: REST requests per second to any one host.
    concurrency: calls in flight at most.
    python_workers: Python worker processes.
    keep_untested: keep APIs that have no example arguments (marked untested) instead of
      rejecting them as ``no_example``.
    cache_path: SQLite file for the result cache (re-runs skip calls already made);
      None keeps it in memory.
    allow_hosts: hosts (``HOST[:PORT]``) probes and calls may reach although their address
      is loopback, private, link-local, ...; others only at public addresses.
    """

    timeout_s: float = 10.0
    probe_timeout_s: float = 3.0
    rate_per_host: float = 5.0
    concurrency: int = 8
    python_workers: int = 2
    keep_untested: bool = False
    cache_path: str | None = None
    allow_hosts: tuple[str, ...] = ()

    def allowing_urls(self, urls: Iterable[str]) -> AccessSettings:
        """A copy that also allows the hosts of ``urls`` (the user's own: OpenAPI URLs and
        ``--base-url``); empty strings are skipped."""
        hosts = [host for host in map(url_host, urls) if host is not None]
        return replace(self, allow_hosts=(*self.allow_hosts, *hosts))

    def policy(self) -> NetworkPolicy:
        """The network policy of these settings; :class:`CurationError` for a bad host."""
        try:
            return NetworkPolicy.from_hosts(self.allow_hosts)
        except ValueError as exc:
            raise CurationError("allow_hosts", "--allow-host", str(exc)) from None


@dataclass(frozen=True, slots=True)
class AccessResult:
    """One API's test: ``ok``, or the ``reason``/``message`` of the failure.

    ``tested`` is False when no call was made (no example, no binding, dead host).
    ``sample`` is the result as JSON text (at most :data:`SAMPLE_CHARS`) when ok.
    """

    ok: bool
    reason: str = ""
    message: str = ""
    tested: bool = True
    arguments: dict[str, Any] | None = None
    sample: str = ""
    latency_s: float = 0.0


def example_arguments(
    spec: ApiSpec, examples: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The arguments to test ``spec`` with, or None if a required one has no value."""
    if examples:
        for key in (spec.id, spec.name):
            if key in examples:
                return dict(examples[key])
    if spec.examples:
        return dict(spec.examples[0])
    arguments: dict[str, Any] = {}
    required = set(spec.required)
    for pname, schema in spec.parameters.get("properties", {}).items():
        value = _example_value(schema)
        if value is not _MISSING:
            arguments[pname] = value
        elif pname in required:
            return None
    return arguments


_MISSING = object()


def _example_value(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return _MISSING
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    return _MISSING


async def probe_host(
    host: str, port: int, timeout_s: float, *, policy: NetworkPolicy | None = None
) -> str:
    """'' when ``host:port`` resolves and accepts a TCP connection, else what failed.

    The name is resolved once under ``policy`` (default :class:`NetworkPolicy`) and the
    connection made to a checked address; raises :class:`~executors.HostRefused` when
    the policy refuses an address (nothing is connected to)."""
    checked_by = policy if policy is not None else NetworkPolicy()
    try:
        with anyio.fail_after(timeout_s):
            try:
                addresses = await checked_by.resolve(host, port)
            except OSError as exc:
                return f"cannot resolve {host}: {exc}"
            stream = await anyio.connect_tcp(addresses[0], port)
            await stream.aclose()
    except TimeoutError:
        return f"no connection to {host}:{port} within {timeout_s} s"
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc}"
    return ""


def _host_of(binding: RestBinding) -> tuple[str, int] | None:
    try:
        url = httpx.URL(binding.base_url)
    except httpx.InvalidURL:
        return None
    if not url.host:
        return None
    return url.host, url.port or (443 if url.scheme == "https" else 80)


def _sample(result: Any) -> str:
    return json.dumps(result, ensure_ascii=False, default=str)[:SAMPLE_CHARS]


async def check_access(
    specs: Collection[ApiSpec],
    settings: AccessSettings,
    *,
    examples: Mapping[str, dict[str, Any]] | None = None,
    allowed_modules: Collection[str] = (),
    dispatcher: Dispatcher | None = None,
) -> dict[str, AccessResult]:
    """Test every spec once; the result per spec id.

    ``dispatcher`` replaces the one built from ``settings`` (e.g. to add an MCP executor);
    it is entered and closed here.
    """
    policy = settings.policy()
    redactor = default_redactor()
    for spec in specs:
        if isinstance(spec.binding, RestBinding) and spec.binding.auth_env:
            redactor.add_env(spec.binding.auth_env)
    results: dict[str, AccessResult] = {}
    hosts: dict[tuple[str, int], list[ApiSpec]] = {}
    to_call: list[tuple[ApiSpec, dict[str, Any]]] = []
    for spec in specs:
        binding = spec.binding
        if binding is None:
            results[spec.id] = AccessResult(
                False, "no_binding", "catalogue only: the source names no host", tested=False
            )
            continue
        if isinstance(binding, RestBinding):
            host = _host_of(binding)
            if host is None:
                results[spec.id] = AccessResult(
                    False, "host_not_allowed", f"invalid base_url {binding.base_url!r}", False
                )
                continue
            hosts.setdefault(host, []).append(spec)
    dead = await _probe_all(list(hosts), settings, policy)
    for host, (reason, message) in dead.items():
        for spec in hosts[host]:
            results[spec.id] = AccessResult(False, reason, message, tested=False)
    for spec in specs:
        if spec.id in results:
            continue
        binding = spec.binding
        if (
            isinstance(binding, RestBinding)
            and binding.auth_env
            and not os.environ.get(binding.auth_env)
        ):
            results[spec.id] = AccessResult(
                False,
                "missing_credential",
                f"environment variable {binding.auth_env} is not set",
                tested=False,
            )
            continue
        arguments = example_arguments(spec, examples)
        if arguments is None:
            missing = [
                r
                for r in spec.required
                if _example_value(spec.parameters["properties"].get(r)) is _MISSING
            ]
            results[spec.id] = AccessResult(
                settings.keep_untested,
                "no_example",
                f"no example or default for required parameter(s) {missing}",
                tested=False,
            )
            continue
        to_call.append((spec, arguments))
    if to_call:
        using = dispatcher or _dispatcher(settings, allowed_modules, policy)
        results.update(await _call_all(to_call, settings, using))
    return {
        api: replace(r, message=redactor.redact(r.message), sample=redactor.redact(r.sample))
        for api, r in results.items()
    }


async def _probe_all(
    hosts: list[tuple[str, int]], settings: AccessSettings, policy: NetworkPolicy
) -> dict[tuple[str, int], tuple[str, str]]:
    """The hosts that fail their probe: (reason, message) each."""
    dead: dict[tuple[str, int], tuple[str, str]] = {}
    slots = anyio.Semaphore(max(1, settings.concurrency))

    async def probe(host: tuple[str, int]) -> None:
        async with slots:
            try:
                message = await probe_host(
                    host[0], host[1], settings.probe_timeout_s, policy=policy
                )
            except HostRefused as refused:
                dead[host] = (refused.reason, refused.message)
                return
        if message:
            dead[host] = ("unreachable_host", message)

    async with anyio.create_task_group() as group:
        for host in hosts:
            group.start_soon(probe, host)
    return dead


def _dispatcher(
    settings: AccessSettings, allowed_modules: Collection[str], policy: NetworkPolicy
) -> Dispatcher:
    limits = RateLimits(default_host=Rate(settings.rate_per_host), concurrency_per_host=4)
    return Dispatcher(
        python=PythonExecutor(
            workers=settings.python_workers,
            timeout_s=settings.timeout_s,
            allowed_modules=allowed_modules,
        ),
        rest=RestExecutor(limits=limits, timeout_s=settings.timeout_s, retries=1, policy=policy),
        cache=ResultCache(ttl_s=None, path=settings.cache_path),
    )


async def _call_all(
    calls: list[tuple[ApiSpec, dict[str, Any]]],
    settings: AccessSettings,
    using: Dispatcher,
) -> dict[str, AccessResult]:
    results: dict[str, AccessResult] = {}
    slots = anyio.Semaphore(max(1, settings.concurrency))

    async def call(spec: ApiSpec, arguments: dict[str, Any], using: Dispatcher) -> None:
        async with slots:
            outcome = await using.execute(spec, arguments)
        if outcome.ok:
            results[spec.id] = AccessResult(
                True,
                arguments=arguments,
                sample=_sample(outcome.result),
                latency_s=outcome.latency_s,
            )
        else:
            results[spec.id] = AccessResult(
                False,
                outcome.reason,
                outcome.message,
                arguments=arguments,
                latency_s=outcome.latency_s,
            )

    async with using, anyio.create_task_group() as group:
        for spec, arguments in calls:
            group.start_soon(call, spec, arguments, using)
    return results
