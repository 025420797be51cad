"""The :class:`~topics.Transport` on Apache Kafka, through aiokafka (asyncio only).

Semantics, as the interface asks:

- producers are idempotent with ``acks="all"``; ``produce`` sends every message, then awaits
  every delivery, so it returns only when the whole batch is acknowledged;
- consumers never auto-commit; group membership changes reach ``on_revoke`` before the
  partitions move (aiokafka awaits the listener before re-joining, and a commit made inside
  it is still accepted by the group) and ``on_assign`` after;
- ``transactional=True`` makes each ``produce`` call one Kafka transaction (all or none of
  the batch becomes visible) and consumers read with ``isolation_level="read_committed"``.

Settings are passed to aiokafka as keyword arguments. Plain names go to every client
(``request_timeout_ms``, ``security_protocol``, ``sasl_*``, ...); a ``producer_``,
``consumer_`` or ``admin_`` prefix targets one client. Five settings are the transport's
own: ``replication_factor`` for new topics (default ``min(3, brokers)``), ``retention_ms``
(milliseconds; set as the topic config ``retention.ms`` of the topics ``create_topics``
creates; default: the broker's ``log.retention.*``; existing topics are left as they are,
change theirs with ``kafka-configs.sh --alter``),
``assignment_timeout_s`` (how long ``Consumer.__aenter__`` waits for a first assignment,
default 60), ``connect_timeout_s`` (how long starting a client keeps retrying while no
broker answers, in seconds, default 60: a service started before the broker, or during a
broker restart, waits for it instead of exiting) and ``producer_transactional_id``
(default ``<client_id>-<random>``).

``namespace`` keeps pipelines that share a cluster apart: topics and consumer groups are
``<namespace>.<name>`` on the cluster, while callers keep using the plain names
(``samples``, group ``format``); ``list_topics`` shows only the namespace's topics.

Usage::

    transport = KafkaTransport(
        "127.0.0.1:9092", consumer_session_timeout_ms=6000, consumer_heartbeat_interval_ms=500
    )
    await transport.create_topics(["samples"], partitions=4)
    async with transport.consumer(["samples"], group="generator") as consumer:
        records = await consumer.poll(max_records=500, timeout_s=1.0)

Errors from aiokafka become :class:`~topics.TransportError` (or
:class:`~topics.TopicNotFound`). A failure inside ``on_assign``/``on_revoke`` is logged
and swallowed by aiokafka's coordinator; callbacks should handle their own errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    UnknownTopicOrPartitionError,
    for_code,
)

from ._errors import TopicNotFound, TransportError
from ._transport import Message, PartitionListener, Record, TopicPartition

__all__ = ["KafkaTransport"]

log = logging.getLogger(__name__)

_ROLE_PREFIXES = ("producer_", "consumer_", "admin_")
_TOPIC_ALREADY_EXISTS = 36
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@contextlib.contextmanager
def _mapped(action: str) -> Iterator[None]:
    """Re-raise aiokafka errors as the transport's errors, saying what was attempted."""
    try:
        yield
    except UnknownTopicOrPartitionError as e:
        raise TopicNotFound(f"{action}: topic or partition does not exist ({e})") from e
    except KafkaError as e:
        raise TransportError(f"{action}: {type(e).__name__}: {e}") from e


class _Client(Protocol):
    async def start(self) -> None: ...


_C = TypeVar("_C", bound=_Client)


async def _started(
    make: Callable[[], _C], stop: Callable[[_C], Awaitable[object]], action: str, timeout_s: float
) -> _C:
    """A started client from ``make``; while no broker answers, ``stop`` it and retry with a
    fresh one (backoff 0.2 s doubling to 5 s) for up to ``timeout_s`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = 0.2
    while True:
        client = make()
        try:
            with _mapped(action):
                await client.start()
            return client
        except TransportError as e:
            with contextlib.suppress(Exception):
                await stop(client)
            if not isinstance(e.__cause__, KafkaConnectionError) or loop.time() >= deadline:
                raise
            log.warning("%s: no broker answers yet (%s); retrying in %.1f s", action, e, delay)
            await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            delay = min(delay * 2, 5.0)


def _has_leaders(described: dict[str, Any]) -> bool:
    partitions = described["partitions"]
    return (
        described["error_code"] == 0
        and bool(partitions)
        and all(p["leader"] >= 0 for p in partitions)
    )


@dataclass(frozen=True, slots=True)
class _Namespace:
    """Maps the pipeline's topic and group names to the cluster's: ``<namespace>.<name>``
    (unchanged when the namespace is empty)."""

    prefix: str

    def out(self, name: str) -> str:
        return self.prefix + name

    def back(self, name: str) -> str:
        return name[len(self.prefix) :]

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def to_kafka(self, tp: TopicPartition) -> KafkaTopicPartition:
        return KafkaTopicPartition(self.prefix + tp.topic, tp.partition)

    def from_kafka(self, tps: Any) -> frozenset[TopicPartition]:
        return frozenset(TopicPartition(self.back(tp.topic), tp.partition) for tp in tps)


class KafkaTransport:
    """Topics on a Kafka cluster at ``bootstrap_servers`` ("host:port,host:port")."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "apigen",
        transactional: bool = False,
        namespace: str = "",
        **settings: Any,
    ) -> None:
        if namespace and not _NAMESPACE.fullmatch(namespace):
            raise ValueError(
                f"Kafka namespace {namespace!r}: use letters, digits, '_' and '-' (at most 64)"
            )
        self.bootstrap_servers = bootstrap_servers
        self.namespace = namespace
        self.names = _Namespace(f"{namespace}." if namespace else "")
        self.client_id = client_id
        self.transactional = transactional
        self.replication_factor: int | None = settings.pop("replication_factor", None)
        self.retention_ms: int | None = settings.pop("retention_ms", None)
        self.assignment_timeout_s: float = settings.pop("assignment_timeout_s", 60.0)
        self.connect_timeout_s: float = settings.pop("connect_timeout_s", 60.0)
        self._settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._admin_lock = asyncio.Lock()

    def __repr__(self) -> str:
        mode = " transactional" if self.transactional else ""
        return f"<KafkaTransport {self.bootstrap_servers} client_id={self.client_id!r}{mode}>"

    def settings_for(self, role: Literal["producer", "consumer", "admin"]) -> dict[str, Any]:
        """The aiokafka keyword arguments for one client role."""
        out = {k: v for k, v in self._settings.items() if not k.startswith(_ROLE_PREFIXES)}
        prefix = f"{role}_"
        out.update({k[len(prefix) :]: v for k, v in self._settings.items() if k.startswith(prefix)})
        out.setdefault("bootstrap_servers", self.bootstrap_servers)
        out.setdefault("client_id", self.client_id)
        return out

    async def _admin_client(self) -> AIOKafkaAdminClient:
        async with self._admin_lock:
            if self._admin is None:
                self._admin = await _started(
                    lambda: AIOKafkaAdminClient(**self.settings_for("admin")),
                    lambda admin: admin.close(),
                    f"connecting to Kafka at {self.bootstrap_servers}",
                    self.connect_timeout_s,
                )
            return self._admin

    async def create_topics(self, topics: Sequence[str], partitions: int = 1) -> None:
        if not topics:
            return
        admin = await self._admin_client()
        with _mapped(f"creating topics {list(topics)}"):
            replication = self.replication_factor
            if replication is None:
                cluster = await admin.describe_cluster()
                replication = max(1, min(3, len(cluster["brokers"])))
            configs = {} if self.retention_ms is None else {"retention.ms": str(self.retention_ms)}
            response = await admin.create_topics(
                [
                    NewTopic(self.names.out(name), partitions, replication, topic_configs=configs)
                    for name in topics
                ]
            )
        failures = []
        for entry in response.topic_errors:
            name, code = self.names.back(entry[0]), entry[1]
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                detail = entry[2] if len(entry) > 2 and entry[2] else for_code(code).__name__
                failures.append(f"{name}: {detail}")
        if failures:
            raise TransportError("creating topics failed: " + "; ".join(failures))
        await self._await_topics(admin, topics)

    async def _await_topics(self, admin: AIOKafkaAdminClient, topics: Sequence[str]) -> None:
        """Wait (bounded) until every new topic has a leader for each partition, so a producer
        or consumer started right after does not race the metadata propagation."""
        for _ in range(100):
            with _mapped("describing new topics"):
                described = await admin.describe_topics([self.names.out(t) for t in topics])
            if all(_has_leaders(t) for t in described):
                return
            await asyncio.sleep(0.1)
        raise TransportError(f"topics {list(topics)} were created but have no leaders after 10 s")

    async def list_topics(self) -> dict[str, int]:
        """User topics of this namespace and their partition counts (Kafka's internal
        ``__*`` topics omitted)."""
        admin = await self._admin_client()
        with _mapped("listing topics"):
            described = await admin.describe_topics()
        return {
            self.names.back(t["topic"]): len(t["partitions"])
            for t in described
            if not t["is_internal"]
            and not t["topic"].startswith("__")
            and self.names.owns(t["topic"])
        }

    async def group_offsets(self, group: str) -> dict[TopicPartition, int]:
        """Through the admin client's OffsetFetch: no consumer joins ``group``."""
        admin = await self._admin_client()
        action = f"reading the committed offsets of group {group!r}"
        # A fresh cluster creates its offsets topic on first use; until then, and while a
        # coordinator loads, the broker answers with retriable errors.
        for _ in range(100):
            try:
                offsets = await admin.list_consumer_group_offsets(self.names.out(group))
                break
            except KafkaError as e:
                if not e.retriable:
                    with _mapped(action):
                        raise
                await asyncio.sleep(0.1)
        else:
            raise TransportError(f"{action}: no group coordinator after 10 s")
        return {
            TopicPartition(self.names.back(tp.topic), tp.partition): meta.offset
            for tp, meta in offsets.items()
            if meta.offset >= 0 and self.names.owns(tp.topic)
        }

    def producer(self) -> KafkaProducer:
        return KafkaProducer(self)

    def consumer(
        self,
        topics: Sequence[str],
        group: str,
        *,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        on_assign: PartitionListener | None = None,
        on_revoke: PartitionListener | None = None,
    ) -> KafkaConsumer:
        return KafkaConsumer(
            self,
            topics,
            group,
            auto_offset_reset=auto_offset_reset,
            on_assign=on_assign,
            on_revoke=on_revoke,
        )

    async def aclose(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with _mapped("closing the admin client"):
                await admin.close()


class KafkaProducer:
    """An idempotent (optionally transactional) aiokafka producer behind ``Producer``."""

    def __init__(self, transport: KafkaTransport) -> None:
        self._transport = transport
        self._producer: AIOKafkaProducer | None = None
        self.produced = 0

    def __repr__(self) -> str:
        state = "started" if self._producer is not None else "idle"
        where = self._transport.bootstrap_servers
        return f"<KafkaProducer {where} {state} produced={self.produced}>"

    async def __aenter__(self) -> Self:
        settings = self._transport.settings_for("producer")
        settings.update(acks="all", enable_idempotence=True)
        if self._transport.transactional:
            settings.setdefault(
                "transactional_id", f"{self._transport.client_id}-{uuid.uuid4().hex}"
            )
        self._producer = await _started(
            lambda: AIOKafkaProducer(**settings),
            lambda producer: producer.stop(),
            f"starting a producer on {self._transport.bootstrap_servers}",
            self._transport.connect_timeout_s,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with _mapped("stopping the producer"):
                await producer.stop()

    async def produce(self, messages: Sequence[Message]) -> None:
        producer = self._producer
        if producer is None:
            raise TransportError("produce() outside `async with transport.producer()`")
        if not messages:
            return
        with _mapped(f"producing {len(messages)} messages"):
            if self._transport.transactional:
                async with producer.transaction():
                    await self._send_all(producer, messages, self._transport.names)
            else:
                await self._send_all(producer, messages, self._transport.names)
        self.produced += len(messages)

    @staticmethod
    async def _send_all(
        producer: AIOKafkaProducer, messages: Sequence[Message], names: _Namespace
    ) -> None:
        deliveries = [
            await producer.send(names.out(m.topic), m.value, key=m.key, timestamp_ms=m.timestamp_ms)
            for m in messages
        ]
        # gather, not one-by-one: every delivery is awaited even if an earlier one failed.
        results = await asyncio.gather(*deliveries, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: KafkaConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._consumer._revoked(self._consumer.names.from_kafka(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._consumer._assigned(self._consumer.names.from_kafka(assigned))


class KafkaConsumer:
    """A group member behind ``Consumer``: manual commits, rebalance callbacks."""

    def __init__(
        self,
        transport: KafkaTransport,
        topics: Sequence[str],
        group: str,
        *,
        auto_offset_reset: Literal["earliest", "latest"],
        on_assign: PartitionListener | None,
        on_revoke: PartitionListener | None,
    ) -> None:
        self._transport = transport
        self.names = transport.names
        self.topics = tuple(topics)
        self.group = group
        self._auto_offset_reset = auto_offset_reset
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._consumer: AIOKafkaConsumer | None = None
        self._first_assignment = asyncio.Event()
        # Our own view: aiokafka keeps reporting revoked partitions until the re-join ends,
        # but once on_revoke ran they are no longer this member's (eager rebalancing).
        self._owned: frozenset[TopicPartition] = frozenset()
        self.rebalances = 0

    def __repr__(self) -> str:
        tps = ",".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(self.assignment()))
        return (
            f"<KafkaConsumer group={self.group!r} topics={list(self.topics)} "
            f"assigned={{{tps}}} rebalances={self.rebalances}>"
        )

    @property
    def _c(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise TransportError("consumer used outside `async with transport.consumer(...)`")
        return self._consumer

    async def __aenter__(self) -> Self:
        settings = self._transport.settings_for("consumer")
        settings.update(
            group_id=self.names.out(self.group),
            enable_auto_commit=False,
            auto_offset_reset=self._auto_offset_reset,
        )
        if self._transport.transactional:
            settings.setdefault("isolation_level", "read_committed")
        consumer = await _started(
            lambda: AIOKafkaConsumer(**settings),
            lambda consumer: consumer.stop(),
            f"starting a consumer of {list(self.topics)} in group {self.group!r}",
            self._transport.connect_timeout_s,
        )
        try:
            with _mapped("subscribing"):
                existing = {self.names.back(t) for t in await consumer.topics()}
                missing = sorted(set(self.topics) - existing)
                if missing:
                    raise TopicNotFound(f"cannot consume {missing}: no such topics")
                consumer.subscribe(
                    [self.names.out(t) for t in self.topics], listener=_Listener(self)
                )
            self._consumer = consumer
            timeout = self._transport.assignment_timeout_s
            try:
                await asyncio.wait_for(self._first_assignment.wait(), timeout)
            except TimeoutError as e:
                raise TransportError(
                    f"group {self.group!r}: no partition assignment within {timeout:.0f} s"
                ) from e
        except BaseException:
            self._consumer = None
            with contextlib.suppress(KafkaError):
                await consumer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        try:
            # aiokafka leaves the group without calling the listener; the interface promises
            # on_revoke first, so the holder can commit what it finished.
            await self._revoked(self.assignment())
        finally:
            self._consumer = None
            with _mapped(f"stopping the consumer of group {self.group!r}"):
                await consumer.stop()

    async def _revoked(self, tps: frozenset[TopicPartition]) -> None:
        try:
            if tps and self._on_revoke is not None:
                await self._on_revoke(tps)
        finally:
            self._owned = frozenset()

    async def _assigned(self, tps: frozenset[TopicPartition]) -> None:
        self.rebalances += 1
        self._owned = tps
        try:
            if tps and self._on_assign is not None:
                await self._on_assign(tps)
        finally:
            self._first_assignment.set()

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        consumer = self._c
        timeout_s = max(0.0, timeout_s)
        # aiokafka's getmany waits for a rebalance to finish regardless of its timeout; the
        # outer bound keeps poll's promise. Cancelling it there loses no records: records
        # are drained from the fetcher only after its last await.
        with _mapped(f"polling group {self.group!r}"):
            try:
                async with asyncio.timeout(timeout_s + 0.05):
                    batches = await consumer.getmany(
                        timeout_ms=int(timeout_s * 1000), max_records=max_records
                    )
            except TimeoutError:
                return []
        back = self.names.back
        return [
            Record(
                topic=back(r.topic),
                partition=r.partition,
                offset=r.offset,
                key=r.key,
                value=r.value if r.value is not None else b"",
                timestamp_ms=r.timestamp,
            )
            for records in batches.values()
            for r in records
        ]

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        # CommitFailedError (the group rebalanced) and IllegalStateError (not assigned) both
        # mean this member no longer owns a partition: a TransportError for the caller.
        with _mapped(f"committing offsets of group {self.group!r}"):
            await self._c.commit(
                {self.names.to_kafka(tp): offset for tp, offset in offsets.items()}
            )

    async def committed(self, tp: TopicPartition) -> int | None:
        with _mapped(f"reading the committed offset of {tp}"):
            offset: int | None = await self._c.committed(self.names.to_kafka(tp))
        return offset

    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions this member owns: empty from the end of ``on_revoke`` until the
        rebalance completes."""
        return self._owned if self._consumer is not None else frozenset()

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        with _mapped(f"seeking {tp}"):
            self._c.seek(self.names.to_kafka(tp), offset)

    def _targets(self, tps: Sequence[TopicPartition]) -> list[KafkaTopicPartition]:
        return [self.names.to_kafka(tp) for tp in (tps or sorted(self.assignment()))]

    async def seek_to_beginning(self, tps: Sequence[TopicPartition] = ()) -> None:
        targets = self._targets(tps)
        if targets:
            with _mapped("seeking to the beginning"):
                await self._c.seek_to_beginning(*targets)

    async def seek_to_timestamp(
        self, timestamp_ms: int, tps: Sequence[TopicPartition] = ()
    ) -> None:
        targets = self._targets(tps)
        if not targets:
            return
        with _mapped(f"seeking to timestamp {timestamp_ms}"):
            found = await self._c.offsets_for_times({tp: timestamp_ms for tp in targets})
            past_the_end = []
            for tp in targets:
                hit = found.get(tp)
                if hit is None:
                    past_the_end.append(tp)
                else:
                    self._c.seek(tp, hit.offset)
            if past_the_end:
                await self._c.seek_to_end(*past_the_end)

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        """Pause the assigned ones among ``tps``. As in Kafka, a rebalance forgets pauses: a
        partition that comes back (or moves) after a rebalance is unpaused."""
        assigned = self.names.from_kafka(self._c.assignment())
        self._c.pause(*(self.names.to_kafka(tp) for tp in tps if tp in assigned))

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        assigned = self.names.from_kafka(self._c.assignment())
        self._c.resume(*(self.names.to_kafka(tp) for tp in tps if tp in assigned))

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        if not tps:
            return {}
        with _mapped("reading end offsets"):
            ends = await self._c.end_offsets([self.names.to_kafka(tp) for tp in tps])
        return {
            TopicPartition(self.names.back(tp.topic), tp.partition): offset
            for tp, offset in ends.items()
        }
