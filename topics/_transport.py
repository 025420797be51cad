"""The transport interface: a partitioned, durable log with consumer groups.

Three implementations share it and one contract test-suite (``tests/topics/test_contract.py``):

- :mod:`topics._kafka`    Apache Kafka through aiokafka (replicated, multi-machine);
- :mod:`topics._embedded` SQLite in WAL mode (durable, single machine, several processes);
- :mod:`topics._memory`   in-process fake for fast unit tests of stages.

Semantics follow Kafka's, so stages behave the same on all three:

- ``Producer.produce`` returns only when every message is acknowledged (durable); a stage
  commits an input offset only after its outputs were produced.
- Offsets committed are the *next* offset to read (Kafka convention).
- A consumer is a member of a group; the group's members share the topics' partitions. When
  membership changes, partitions are revoked (``on_revoke`` runs before they move, so the
  holder can commit) and reassigned (``on_assign``).
- A partition with no committed offset starts at ``auto_offset_reset`` (earliest/latest).

Usage::

    async with transport.producer() as producer:
        await producer.produce([Message(Topic.SAMPLES, value, key=sample_id.encode())])

    async with transport.consumer([Topic.SAMPLES], group="generator") as consumer:
        records = await consumer.poll(max_records=500, timeout_s=1.0)
        ...
        await consumer.commit({TopicPartition("samples", 0): records[-1].offset + 1})
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, Self

__all__ = [
    "Consumer",
    "Message",
    "PartitionListener",
    "Producer",
    "Record",
    "TopicPartition",
    "Transport",
]


@dataclass(frozen=True, slots=True, order=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class Message:
    """A message to produce. ``key`` chooses the partition (same key, same partition);
    ``timestamp_ms`` defaults to now (milliseconds since the Unix epoch)."""

    topic: str
    value: bytes
    key: bytes | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """A consumed message with its position in the log."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


PartitionListener = Callable[[frozenset[TopicPartition]], Awaitable[None]]
"""Called with the partitions being revoked or assigned."""


class Producer(Protocol):
    async def produce(self, messages: Sequence[Message]) -> None:
        """Append messages; returns once all are acknowledged by the log (durable)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...


class Consumer(Protocol):
    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to ``max_records`` records from assigned, unpaused partitions, in offset order
        per partition; waits up to ``timeout_s`` seconds for the first one."""
        ...

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit, for each partition, the next offset to read."""
        ...

    async def committed(self, tp: TopicPartition) -> int | None:
        """The group's committed offset for ``tp``, or None."""
        ...

    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions currently assigned to this member."""
        ...

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        """Read ``tp`` from ``offset`` next."""
        ...

    async def seek_to_beginning(self, tps: Sequence[TopicPartition] = ()) -> None:
        """Read from the first retained offset (all assigned partitions when ``tps`` empty)."""
        ...

    async def seek_to_timestamp(
        self, timestamp_ms: int, tps: Sequence[TopicPartition] = ()
    ) -> None:
        """Read from the first record whose timestamp is >= ``timestamp_ms``."""
        ...

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        """Stop returning records of ``tps`` from ``poll`` (membership is kept)."""
        ...

    def resume(self, tps: Sequence[TopicPartition]) -> None: ...

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The offset the next produced record of each partition will get (for lag)."""
        ...

    async def __aenter__(self) -> Self:
        """Join the group (and wait for a first assignment)."""
        ...

    async def __aexit__(self, *exc: object) -> None:
        """Leave the group; partitions are revoked first (``on_revoke`` runs)."""
        ...


class Transport(Protocol):
    """A log that holds topics; factory for producers and consumers."""

    async def create_topics(self, topics: Sequence[str], partitions: int = 1) -> None:
        """Create missing topics with ``partitions`` partitions; existing ones are kept."""
        ...

    async def list_topics(self) -> dict[str, int]:
        """Every topic and its partition count."""
        ...

    async def group_offsets(self, group: str) -> dict[TopicPartition, int]:
        """``group``'s committed offsets (next offset to read) for every partition it committed,
        read without joining the group: its members, assignment and offsets are untouched. An
        unknown group has none (``{}``)."""
        ...

    def producer(self) -> Producer: ...

    def consumer(
        self,
        topics: Sequence[str],
        group: str,
        *,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        on_assign: PartitionListener | None = None,
        on_revoke: PartitionListener | None = None,
    ) -> Consumer: ...

    async def aclose(self) -> None:
        """Release resources (connections, file handles)."""
        ...
