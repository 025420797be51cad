"""IPv4/IPv6 address and CIDR arithmetic with the standard :mod:`ipaddress` module."""

from __future__ import annotations

import ipaddress
from typing import Any

from ._validate import integer

__all__ = [
    "cidr_info",
    "classify_ip_address",
    "integer_to_ip",
    "ip_in_network",
    "ip_to_integer",
    "netmask_to_prefix",
    "networks_overlap",
    "prefix_to_netmask",
    "split_subnet",
    "summarize_ip_range",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(name: str, value: str) -> IPAddress:
    try:
        return ipaddress.ip_address(value.strip() if isinstance(value, str) else value)
    except ValueError:
        raise ValueError(f"{name} must be an IPv4 or IPv6 address, got {value!r}") from None


def _network(name: str, value: str) -> IPNetwork:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a CIDR string such as '10.0.0.0/8'")
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{name} must be a network in CIDR notation, got {value!r}") from None


def cidr_info(cidr: str) -> dict[str, Any]:
    """Describes a network given in CIDR notation.

    Args:
        cidr: The network, e.g. "192.168.1.0/24" (host bits are ignored).

    Returns:
        An object with network, netmask, broadcast, prefix_length, total_addresses,
        usable_hosts, first_host and last_host.
    """
    net = _network("cidr", cidr)
    hosts_total = net.num_addresses
    first: IPAddress = net.network_address
    last: IPAddress = net.broadcast_address
    usable = hosts_total
    if net.version == 4 and net.prefixlen < 31:
        first, last, usable = first + 1, last - 1, hosts_total - 2
    return {
        "network": str(net),
        "netmask": str(net.netmask),
        "broadcast": str(net.broadcast_address),
        "prefix_length": net.prefixlen,
        "total_addresses": hosts_total,
        "usable_hosts": usable,
        "first_host": str(first),
        "last_host": str(last),
    }


def ip_in_network(ip_address: str, cidr: str) -> bool:
    """Checks whether an address belongs to a network.

    Args:
        ip_address: The address, e.g. "10.1.2.3".
        cidr: The network in CIDR notation, e.g. "10.0.0.0/8".

    Returns:
        True if the address is inside the network.
    """
    addr, net = _address("ip_address", ip_address), _network("cidr", cidr)
    return addr.version == net.version and addr in net


def split_subnet(cidr: str, new_prefix: int) -> list[str]:
    """Splits a network into equal subnets with a longer prefix.

    Args:
        cidr: The network in CIDR notation.
        new_prefix: The prefix length of the subnets (longer than the network's; at most
            1024 subnets).

    Returns:
        The subnets in CIDR notation.
    """
    net = _network("cidr", cidr)
    p = integer("new_prefix", new_prefix, low=net.prefixlen, high=net.max_prefixlen)
    if p - net.prefixlen > 10:
        raise ValueError("new_prefix would create more than 1024 subnets")
    return [str(s) for s in net.subnets(new_prefix=p)]


def ip_to_integer(ip_address: str) -> int:
    """Converts an IP address to its integer value.

    Args:
        ip_address: The IPv4 or IPv6 address.

    Returns:
        The address as an unsigned integer, e.g. 3232235777 for 192.168.1.1.
    """
    return int(_address("ip_address", ip_address))


def integer_to_ip(number: int, version: int = 4) -> str:
    """Converts an integer to an IP address.

    Args:
        number: The unsigned integer value.
        version: The IP version, 4 or 6.

    Returns:
        The address in standard notation.
    """
    v = integer("version", version, low=4, high=6)
    if v == 5:
        raise ValueError("version must be 4 or 6")
    n = integer("number", number, low=0, high=2**32 - 1 if v == 4 else 2**128 - 1)
    return str(ipaddress.IPv4Address(n) if v == 4 else ipaddress.IPv6Address(n))


def classify_ip_address(ip_address: str) -> dict[str, Any]:
    """Classifies an IP address (private, loopback, multicast and so on).

    Args:
        ip_address: The IPv4 or IPv6 address.

    Returns:
        An object with version and the flags is_private, is_global, is_loopback,
        is_multicast, is_link_local and is_reserved.
    """
    a = _address("ip_address", ip_address)
    return {
        "version": a.version,
        "is_private": a.is_private,
        "is_global": a.is_global,
        "is_loopback": a.is_loopback,
        "is_multicast": a.is_multicast,
        "is_link_local": a.is_link_local,
        "is_reserved": a.is_reserved,
    }


def summarize_ip_range(first_address: str, last_address: str) -> list[str]:
    """Covers an inclusive address range with the fewest CIDR blocks.

    Args:
        first_address: The first address of the range.
        last_address: The last address of the range (same version, not before the first).

    Returns:
        The CIDR blocks, e.g. ["10.0.0.0/24", "10.0.1.0/25"].
    """
    a, b = _address("first_address", first_address), _address("last_address", last_address)
    if a.version != b.version or int(b) < int(a):
        raise ValueError("the addresses must have the same version and be in order")
    return [str(n) for n in ipaddress.summarize_address_range(a, b)]


def prefix_to_netmask(prefix_length: int) -> str:
    """Converts an IPv4 prefix length to a dotted netmask.

    Args:
        prefix_length: The prefix length (0 to 32).

    Returns:
        The netmask, e.g. "255.255.255.0" for 24.
    """
    p = integer("prefix_length", prefix_length, low=0, high=32)
    return str(ipaddress.IPv4Network(f"0.0.0.0/{p}").netmask)


def netmask_to_prefix(netmask: str) -> int:
    """Converts a dotted IPv4 netmask to a prefix length.

    Args:
        netmask: The netmask, e.g. "255.255.240.0".

    Returns:
        The prefix length, e.g. 20.
    """
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask.strip()}").prefixlen
    except (ValueError, AttributeError):
        raise ValueError(f"{netmask!r} is not a valid contiguous IPv4 netmask") from None


def networks_overlap(cidr_a: str, cidr_b: str) -> bool:
    """Checks whether two networks share any address.

    Args:
        cidr_a: The first network in CIDR notation.
        cidr_b: The second network in CIDR notation.

    Returns:
        True if the networks overlap.
    """
    a, b = _network("cidr_a", cidr_a), _network("cidr_b", cidr_b)
    return a.version == b.version and a.overlaps(b)
