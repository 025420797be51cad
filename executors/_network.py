"""Where executors and converters may connect: a policy decided on resolved addresses.

Hosts named by data — dataset-borne specs, catalogues, converted or downloaded OpenAPI
documents — may not reach this machine or the networks behind it. An address is refused
when it is loopback, link-local (``169.254.0.0/16``, ``fe80::/10``: where cloud metadata
services answer), private (``10/8``, ``172.16/12``, ``192.168/16``, ``fc00::/7``),
multicast, unspecified, reserved, or otherwise not globally routable (shared
``100.64/10``, documentation ranges); IPv4 addresses inside IPv6 (``::ffff:a.b.c.d``,
6to4) are judged as the IPv4 address. Only hosts the user allowed get through:
``--allow-host HOST[:PORT]`` on ``apigen run`` and ``apigen apis curate``, ``[executors]
allow_hosts`` in the config, and the built-in REST service's default address
(:data:`LOCAL_REST_SERVICE`).

The decision is made at connect time on the addresses a name resolves to. The default REST
client's resolver (:meth:`NetworkPolicy.aiohttp_resolver`) resolves once, checks every
address and hands the connector only what it checked, so there is no second resolution for
DNS rebinding to answer differently; a name with any refused address is refused. IP
literals are checked before anything is sent (:meth:`NetworkPolicy.check_host`).
:func:`fetch_url` (documents given by URL) resolves, checks and connects to the checked
address, sending the name as ``Host`` and TLS server name. Nobody here follows redirects.

A rule ``HOST`` allows that host on every port, ``HOST:PORT`` on that port only; a rule
whose host is an IP address also allows names that resolve to it. A refusal is
:class:`HostRefused`: an :class:`~executors.ExecutionFailure` with reason ``host_refused``
whose message names the host, the address and its class.

Usage::

    policy = NetworkPolicy.from_hosts(["127.0.0.1:8080", "intranet.example"])
    policy.check_host("169.254.169.254", 80)       # raises HostRefused (link-local)
    addresses = await policy.resolve("api.example.com", 443)  # checked addresses
    executor = RestExecutor(policy=policy)
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
import httpx

from ._errors import ExecutionFailure

if TYPE_CHECKING:
    from aiohttp.abc import AbstractResolver

__all__ = [
    "LOCAL_REST_SERVICE",
    "HostRefused",
    "HostRule",
    "NetworkPolicy",
    "address_class",
    "fetch_url",
    "normal_host",
    "url_host",
]

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

LOCAL_REST_SERVICE = ("127.0.0.1:8000", "localhost:8000", "[::1]:8000")
"""Where ``apigen rest-service`` listens by default: allowed by every default policy."""

_HOSTNAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")


class HostRefused(ExecutionFailure):
    """A connection the policy refused: ``host`` (as named), ``address`` (what it resolved
    to, or the literal) and ``address_class`` (``loopback``, ``link-local``, ...)."""

    def __init__(self, host: str, port: int, address: str, address_class: str) -> None:
        target = f"{_bracket(host)}:{port}"
        where = (
            f"{target} is a {address_class} address"
            if address == host
            else f"{target} resolves to {address}, a {address_class} address"
        )
        super().__init__(
            "host_refused",
            f"{where}; hosts from data may not reach {address_class} addresses "
            f"(allow it with --allow-host {target})",
        )
        self.host = host
        self.port = port
        self.address = address
        self.address_class = address_class


def address_class(address: Address) -> str | None:
    """The class that makes ``address`` refused (``loopback``, ``link-local``,
    ``private``, ``multicast``, ``unspecified``, ``reserved``, ``non-global``), or None
    for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return address_class(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# Cached: every call checks its host, and a run calls the same few hosts again and again.
@functools.lru_cache(maxsize=4096)
def _ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def normal_host(host: str) -> str:
    """``host`` as rules compare it: lower case, IDNA-encoded, IPv6 without brackets or
    scope, no trailing dot; ValueError when it is not a host name or address."""
    text = host.strip().lower().removesuffix(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    address = _ip(text)
    if address is not None:
        return str(address).split("%", 1)[0]
    try:
        text = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None
    if not _HOSTNAME.fullmatch(text) or len(text) > 253:
        raise ValueError(f"{host!r} is not a valid host name or IP address")
    return text


def url_host(url: str) -> str | None:
    """``HOST:PORT`` of an absolute http(s) URL (the default port made explicit), as an
    allow rule takes it; None when ``url`` is not one."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{_bracket(parsed.host)}:{port}"


@dataclass(frozen=True, slots=True)
class HostRule:
    """One allowed host: ``host`` (normalized, see :func:`normal_host`) on ``port``
    (None: every port)."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostRule:
        """A rule from ``HOST``, ``HOST:PORT``, ``[IPV6]:PORT`` or a bare IPv6 address;
        ValueError naming what is wrong."""
        raw = text.strip()
        if not raw or "/" in raw or "@" in raw or " " in raw:
            raise ValueError(f"{text!r}: expected HOST or HOST:PORT (no scheme, path or user)")
        host, port = raw, ""
        if raw.startswith("["):
            end = raw.find("]")
            rest = raw[end + 1 :]
            if end < 0 or (rest and not rest.startswith(":")):
                raise ValueError(f"{text!r}: expected [IPV6] or [IPV6]:PORT")
            host, port = raw[1:end], rest[1:]
        elif raw.count(":") == 1:
            host, port = raw.split(":")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"{text!r}: port {port!r} is not a TCP port (1-65535)")
        try:
            return cls(normal_host(host), int(port) if port else None)
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None

    def matches(self, host: str, port: int) -> bool:
        return self.host == host and self.port in (None, port)

    def __str__(self) -> str:
        return _bracket(self.host) + ("" if self.port is None else f":{self.port}")


def _default_rules() -> tuple[HostRule, ...]:
    return tuple(HostRule.parse(h) for h in LOCAL_REST_SERVICE)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which hosts from data may be connected to (see the module docstring).

    ``allow``: the allowed hosts; the default allows only the built-in REST service's
    default address. Everything else is allowed only at public addresses.
    """

    allow: tuple[HostRule, ...] = field(default_factory=_default_rules)

    @classmethod
    def from_hosts(cls, hosts: Iterable[str], *, rest_service: bool = True) -> NetworkPolicy:
        """A policy allowing ``hosts`` (``HOST[:PORT]`` each; ValueError naming a bad one)
        and, unless ``rest_service`` is False, :data:`LOCAL_REST_SERVICE`."""
        rules = tuple(HostRule.parse(h) for h in hosts)
        return cls((_default_rules() if rest_service else ()) + rules)

    def allowing(self, *hosts: str) -> NetworkPolicy:
        """A copy that also allows ``hosts``."""
        return NetworkPolicy(self.allow + tuple(HostRule.parse(h) for h in hosts))

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.allow) or "(public addresses only)"

    def allows(self, host: str, port: int) -> bool:
        """Whether a rule allows ``host:port`` by name (or literal address)."""
        try:
            name = normal_host(host)
        except ValueError:
            return False
        return any(rule.matches(name, port) for rule in self.allow)

    def check_address(self, host: str, port: int, address: str) -> None:
        """Raise :class:`HostRefused` unless ``host:port`` may connect to ``address``
        (a resolved IP address, as text)."""
        if self.allows(host, port) or self.allows(address, port):
            return
        ip = _ip(address)
        refused = "unparseable" if ip is None else address_class(ip)
        if refused is not None:
            raise HostRefused(host, port, address, refused)

    def check_host(self, host: str, port: int) -> None:
        """Before sending: refuse an IP literal the policy refuses (names are checked on
        their resolved addresses at connect time)."""
        text = host.strip("[]")
        if _ip(text) is not None:
            self.check_address(text, port, text)

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to, every one checked (raises
        :class:`HostRefused`; OSError when it does not resolve)."""
        text = host.strip("[]")
        if _ip(text) is not None:
            return self._checked(text, port, [text])
        infos = await anyio.getaddrinfo(text, port, type=socket.SOCK_STREAM)
        return self._checked(text, port, [str(info[4][0]) for info in infos])

    def resolve_sync(self, host: str, port: int) -> list[str]:
        """:meth:`resolve` for synchronous code (blocks on DNS)."""
        text = host.strip("[]")
        if _ip(text) is not None:
            return self._checked(text, port, [text])
        infos = socket.getaddrinfo(text, port, type=socket.SOCK_STREAM)
        return self._checked(text, port, [str(info[4][0]) for info in infos])

    def _checked(self, host: str, port: int, addresses: list[str]) -> list[str]:
        for address in addresses:
            self.check_address(host, port, address)
        return list(dict.fromkeys(addresses))

    def aiohttp_resolver(self, inner: AbstractResolver | None = None) -> AbstractResolver:
        """An aiohttp resolver that resolves with ``inner`` (default: aiohttp's threaded
        resolver) and refuses (raises :class:`HostRefused`) when any address of the name
        is refused; the connector connects only to the addresses it returns. Make it inside
        the running event loop (aiohttp's resolvers bind to it)."""
        resolver: AbstractResolver = _resolver_class()(self, inner)
        return resolver


@functools.cache
def _resolver_class() -> Any:
    from aiohttp.abc import AbstractResolver, ResolveResult
    from aiohttp.resolver import ThreadedResolver

    class PolicyResolver(AbstractResolver):
        def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None) -> None:
            self._policy = policy
            self._inner = inner if inner is not None else ThreadedResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            results = await self._inner.resolve(host, port, family)
            for result in results:
                self._policy.check_address(host, port, result["host"])
            return results

        async def close(self) -> None:
            await self._inner.close()

    return PolicyResolver


MAX_FETCH_BYTES = 32 << 20
"""The largest document :func:`fetch_url` reads by default (bytes)."""


def fetch_url(
    url: str,
    policy: NetworkPolicy,
    *,
    timeout_s: float = 10.0,
    max_bytes: int = MAX_FETCH_BYTES,
) -> httpx.Response:
    """GET ``url`` under ``policy`` and read the whole body (at most ``max_bytes``).

    The host is resolved and checked once and the connection made to the checked address,
    with the name as ``Host`` header and TLS server name (certificates are verified against
    the name). Redirects are not followed (a 3xx comes back as it is); proxies from the
    environment are ignored. Raises :class:`HostRefused`, ``httpx.HTTPError`` (including
    ``httpx.InvalidURL``), OSError when the name does not resolve, and ValueError for a
    body over ``max_bytes``.
    """
    target = httpx.URL(url)
    if target.scheme not in ("http", "https") or not target.host:
        raise httpx.InvalidURL(f"{url!r}: expected an absolute http(s) URL")
    port = target.port or (443 if target.scheme == "https" else 80)
    address = policy.resolve_sync(target.host, port)[0]
    pinned = target.copy_with(host=address)
    host_header = {"Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with (
        httpx.Client(timeout=timeout_s, trust_env=False, follow_redirects=False) as client,
        client.stream("GET", pinned, headers=host_header, extensions=extensions) as response,
    ):
        size, chunks = 0, []
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ValueError(f"{url}: the document exceeds {max_bytes} bytes")
            chunks.append(chunk)
    body = b"".join(chunks)
    # The body is decoded already: headers describing the wire form would decode it again.
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    }
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=httpx.Request("GET", target),
    )
