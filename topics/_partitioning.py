"""Key partitioning and group assignment shared by the embedded and in-memory transports.

Partitioning is Kafka's default: ``(murmur2(key) & 0x7FFFFFFF) % partitions`` with the Java
client's murmur2 (seed ``0x9747B28C``), so a key lands on the same partition number on every
transport, Kafka included. Keyless messages go round-robin (per producer and topic).

Assignment is computed by every member from the same inputs (the sorted members and their
subscriptions), so all members agree without a leader: partitions in ``(topic, partition)``
order each go to the least-loaded subscribed member, ties broken by member id.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

from ._transport import TopicPartition

__all__ = ["assign", "murmur2", "partition_for_key"]

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``), as unsigned 32 bits."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    n4 = length // 4
    for (k,) in struct.iter_unpack("<I", data[: n4 * 4]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[n4 * 4 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition of ``key`` among ``partitions`` (Kafka's DefaultPartitioner)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def assign(
    members: Mapping[str, Iterable[str]], partitions: Mapping[str, int]
) -> dict[str, frozenset[TopicPartition]]:
    """Assign the partitions of every subscribed topic to ``members`` (id -> topics).

    ``partitions`` maps topic -> partition count; topics missing from it are skipped.
    Deterministic: the same inputs give the same assignment in every process.
    """
    subscribers: dict[str, list[str]] = {}
    for member in sorted(members):
        for topic in members[member]:
            subscribers.setdefault(topic, []).append(member)
    load = dict.fromkeys(members, 0)
    result: dict[str, set[TopicPartition]] = {m: set() for m in members}
    for topic in sorted(subscribers):
        for p in range(partitions.get(topic, 0)):
            owner = min(subscribers[topic], key=lambda m: (load[m], m))
            load[owner] += 1
            result[owner].add(TopicPartition(topic, p))
    return {m: frozenset(tps) for m, tps in result.items()}
