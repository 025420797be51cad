"""The stage runner: consume, process concurrently, produce, then commit.

One :class:`StageRunner` runs one stage as a member of a consumer group. Replicas of the
same stage in the same group share the input partitions; that is how a stage scales out.

Ordering guarantees (Quix Streams' checkpoint order): an input offset is committed only after
every output of that event was acknowledged by the log, and only as part of the contiguous
run of finished offsets of its partition (:class:`~streamer.runtime._offsets.OffsetTracker`).
A crash therefore re-delivers unfinished events; their outputs carry the same ids, so downstream
writers deduplicate (at-least-once delivery, idempotent effects).

Every input is in its own error boundary: bytes that do not decode, a stage that raises, and
an output the log cannot carry (too deep, too large, not JSON) each become one reject with a
stable reason (``malformed_event``, ``stage_error``, ``unencodable_output``,
``output_too_large``) and the runner goes on; the other outputs of that input are kept. The
exception is :class:`~streamer.runtime._stage.StageHalted` (every input would fail alike, e.g.
refused credentials): it stops the runner, raised from :meth:`StageRunner.run`, and its input
stays uncommitted.

Concurrency is structured: one task group holds the poll loop, ``concurrency`` workers, the
producer and the committer. Buffers are bounded; when ``max_in_flight`` events are buffered
or running, the assigned partitions are paused until half of them finished.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from executors._metric_scope import metric_scope
from topics import (
    Consumer,
    MalformedEvent,
    Message,
    Producer,
    Record,
    Reject,
    TopicPartition,
    Transport,
    TransportError,
    decode,
)

from ._decoded import shared_decoded
from ._metrics import partitions_lag, pipeline_metrics
from ._offsets import OffsetTracker
from ._stage import (
    MAX_EVENT_BYTES,
    Output,
    Stage,
    StageHalted,
    UnencodableOutput,
    encode_bounded,
    make_reject,
    undeliverable_reject,
)

__all__ = ["RunnerSettings", "RunnerStats", "StageRunner"]

log = logging.getLogger("apigen.runner")


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """Tuning of one stage runner.

    concurrency: events processed at once (worker tasks).
    max_in_flight: events received but not finished before partitions are paused.
    poll_max_records: records fetched per poll.
    poll_timeout_s: seconds one poll waits for records.
    produce_batch: messages produced per call to the log at most.
    produce_linger_s: seconds the producer waits to fill a batch once it has one message.
    commit_interval_s: seconds between offset commits.
    drain_timeout_s: seconds in-flight work may take to finish on shutdown or revocation.
    metrics_interval_s: seconds between samples of consumer lag and in-flight events.
    outage_timeout_s: seconds a failing poll, produce or commit (the log unreachable, say
        during a broker restart) is retried, with backoff, before the runner gives up.
    max_event_bytes: largest encoded output event, in bytes; a larger one, or one JSON
        cannot express, is replaced by a reject (``output_too_large``,
        ``unencodable_output``) for the same sample and pair.
    """

    concurrency: int = 64
    max_in_flight: int = 2048
    poll_max_records: int = 500
    poll_timeout_s: float = 0.2
    produce_batch: int = 1000
    produce_linger_s: float = 0.002
    commit_interval_s: float = 0.5
    drain_timeout_s: float = 30.0
    metrics_interval_s: float = 5.0
    outage_timeout_s: float = 120.0
    max_event_bytes: int = MAX_EVENT_BYTES


@dataclass(slots=True)
class RunnerStats:
    """Live counters of one runner (read by metrics and progress displays)."""

    consumed: int = 0
    produced: int = 0
    rejected: int = 0
    commits: int = 0
    last_processed_at: float = 0.0


_Done = tuple[Record, list[Message]]


def _describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, even one whose ``str`` fails."""
    try:
        text = str(exc)
    except Exception:
        text = "<unprintable>"
    return f"{type(exc).__name__}: {text}"[:1000]


_T = TypeVar("_T")


class StageRunner:
    """Runs ``stage`` over its input topic until stopped.

    Usage::

        runner = StageRunner(stage, transport)
        await runner.run()            # until SIGTERM/SIGINT or runner.stop()
    """

    def __init__(
        self,
        stage: Stage,
        transport: Transport,
        *,
        group: str | None = None,
        settings: RunnerSettings | None = None,
        input_topic: str | None = None,
        output_topic: Callable[[str], str] | None = None,
        handle_signals: bool = False,
    ) -> None:
        self.stage = stage
        self.transport = transport
        self.group = group or stage.name
        self.settings = settings or RunnerSettings()
        self.input_topic = input_topic or stage.input_topic
        self._output_topic = output_topic or (lambda topic: topic)
        self._handle_signals = handle_signals
        self.stats = RunnerStats()
        self._tracker = OffsetTracker()
        self._stop = anyio.Event()
        self._idle = anyio.Event()
        self._consumer: Consumer | None = None
        self._paused = False
        self._metrics = pipeline_metrics().stage(stage.name, stage.version)
        self._decoded = shared_decoded()

    def stop(self) -> None:
        """Ask the runner to stop polling, drain in-flight work, commit and leave."""
        self._stop.set()

    @property
    def in_flight(self) -> int:
        return self._tracker.in_flight

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<StageRunner {self.stage.name}@{self.stage.version} group={self.group!r} "
            f"in_flight={self.in_flight} consumed={s.consumed} produced={s.produced} "
            f"rejected={s.rejected} paused={self._paused}>"
        )

    async def run(self) -> None:
        """Run until :meth:`stop` (or a signal when ``handle_signals``)."""
        # Executor and LLM metrics recorded by this stage's tasks carry its name and version.
        # The decoded-events cache is taken now, so a test can swap the process-wide one.
        self._decoded = shared_decoded()
        with (
            metric_scope(self.stage.name, self.stage.version),
            self._decoded.reading(self.input_topic, self.group),
        ):
            self._metrics.started()
            try:
                await self._run()
            finally:
                self._metrics.stopped()

    async def _run(self) -> None:
        cfg = self.settings
        work_send, work_recv = anyio.create_memory_object_stream[Record](
            cfg.max_in_flight + cfg.poll_max_records
        )
        done_send, done_recv = anyio.create_memory_object_stream[_Done](cfg.max_in_flight)
        consumer = self.transport.consumer(
            [self.input_topic], self.group, on_revoke=self._on_revoke
        )
        async with consumer, self.transport.producer() as producer:
            self._consumer = consumer
            async with anyio.create_task_group() as services:
                if self._handle_signals:
                    services.start_soon(self._watch_signals)
                log.info("%r started", self)
                services.start_soon(self._commit_loop, consumer)
                services.start_soon(self._sample_loop, consumer)
                with anyio.CancelScope() as pipeline_scope:
                    async with anyio.create_task_group() as pipeline:
                        pipeline.start_soon(self._produce_loop, done_recv, producer)
                        for _ in range(cfg.concurrency):
                            pipeline.start_soon(self._worker, work_recv.clone(), done_send.clone())
                        work_recv.close()
                        done_send.close()
                        await self._poll_loop(consumer, work_send)
                        await work_send.aclose()
                        # Workers and the producer now drain; give them a deadline.
                        services.start_soon(self._cancel_after, pipeline_scope, cfg.drain_timeout_s)
                if pipeline_scope.cancelled_caught:
                    log.warning(
                        "%s: drain deadline passed, %d events unfinished",
                        self.stage.name,
                        self.in_flight,
                    )
                await self._retrying("final commit", partial(self._commit, consumer))
                services.cancel_scope.cancel()
            self._consumer = None
        log.info("%r stopped", self)

    @staticmethod
    async def _cancel_after(scope: anyio.CancelScope, seconds: float) -> None:
        await anyio.sleep(seconds)
        scope.cancel()

    async def _retrying(self, action: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """``call()``, retried with backoff while the log fails, for ``outage_timeout_s``.

        Safe for polls and commits, and for produces: a batch is re-sent only when it was
        not acknowledged, and events are keyed by id, so a re-sent duplicate is dropped
        downstream like any redelivery."""
        deadline = time.monotonic() + self.settings.outage_timeout_s
        delay = 0.1
        while True:
            try:
                return await call()
            except TransportError as exc:
                if time.monotonic() >= deadline:
                    raise
                log.warning("%s: %s failed, retrying in %.1f s: %s", self.stage.name, action,
                            delay, exc)  # fmt: skip
            await anyio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _commit_loop(self, consumer: Consumer) -> None:
        while True:
            await anyio.sleep(self.settings.commit_interval_s)
            try:
                await self._commit(consumer)
            except TransportError as exc:  # the next round commits these offsets too
                log.warning("%s: commit failed, retrying: %s", self.stage.name, exc)

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("%s: received %s, draining", self.stage.name, signal.Signals(signum).name)
                self.stop()
                return

    async def _poll_loop(self, consumer: Consumer, work: MemoryObjectSendStream[Record]) -> None:
        cfg = self.settings
        while not self._stop.is_set():
            in_flight = self._tracker.in_flight
            if not self._paused and in_flight >= cfg.max_in_flight:
                consumer.pause(tuple(consumer.assignment()))
                self._paused = True
            elif self._paused and in_flight <= cfg.max_in_flight // 2:
                consumer.resume(tuple(consumer.assignment()))
                self._paused = False
            records = await self._retrying(
                "poll", partial(consumer.poll, cfg.poll_max_records, cfg.poll_timeout_s)
            )
            if self._paused and not records:
                await anyio.sleep(0.005)
            for record in records:
                self._tracker.received(record.tp, record.offset)
                # The buffer holds max_in_flight + one poll, so this rarely waits; sending
                # without a checkpoint per record saves an event-loop round trip each.
                try:
                    work.send_nowait(record)
                except anyio.WouldBlock:
                    await work.send(record)
            self.stats.consumed += len(records)
            if records:
                self._metrics.consumed.inc(len(records))

    async def _worker(
        self,
        work: MemoryObjectReceiveStream[Record],
        done: MemoryObjectSendStream[_Done],
    ) -> None:
        async with work, done:
            async for record in work:
                outputs = await self._handle(record)
                try:
                    done.send_nowait((record, outputs))
                except anyio.WouldBlock:
                    await done.send((record, outputs))

    async def _handle(self, record: Record) -> list[Message]:
        stage = self.stage
        event: Any = self._decoded.take(record.value, stage.input_type)
        try:
            if event is None:
                event = decode(record.value, stage.input_type)
        except MalformedEvent as exc:
            outputs: Sequence[Output] = [
                make_reject(
                    stage.name,
                    stage.version,
                    reason=exc.reason,
                    message=f"{record.topic}[{record.partition}]@{record.offset}: {exc.message}",
                    raw=record.value,
                    input_topic=record.topic,
                )
            ]
        else:
            try:
                outputs = await stage.process(event)
            except StageHalted as exc:  # not about this input: stop, leave it uncommitted
                log.error("%s stopped on %s: %s", stage.name, event.meta.id, exc)
                raise
            except Exception as exc:  # a bug in a stage must not stop the service
                log.exception("%s failed on %s", stage.name, event.meta.id)
                outputs = [
                    make_reject(
                        stage.name,
                        stage.version,
                        reason="stage_error",
                        message=_describe(exc),
                        event=event,
                        input_topic=record.topic,
                    )
                ]
        outputs, messages = self._encode(record, event, outputs)
        self._metrics.observe(event, outputs)
        return messages

    def _encode(
        self, record: Record, event: Any, outputs: Sequence[Output]
    ) -> tuple[list[Output], list[Message]]:
        """The outputs as messages; one the log cannot carry is replaced by its reject."""
        stage, limit = self.stage, self.settings.max_event_bytes
        kept: list[Output] = []
        messages: list[Message] = []
        for index, out in enumerate(outputs):
            try:
                data = encode_bounded(out.event, limit)
            except UnencodableOutput as exc:
                log.warning("%s: output %d of %s dropped: %s", stage.name, index,
                            event.meta.id if event is not None else record.offset, exc)  # fmt: skip
                out, data = undeliverable_reject(
                    stage.name, stage.version, out, exc, source=event, raw=record.value,
                    input_topic=record.topic, index=index, max_bytes=limit,
                )  # fmt: skip
            kept.append(out)
            key = (out.event.meta.sample_id or out.event.meta.id).encode()
            topic = self._output_topic(out.topic)
            # A reject holds its input event in a JSON field, which decoding turns into a
            # dict: sharing it would hand readers another type than the log does.
            if not isinstance(out.event, Reject):
                self._decoded.put(topic, data, out.event)
            messages.append(Message(topic, data, key=key))
        return kept, messages

    async def _produce_loop(
        self, done: MemoryObjectReceiveStream[_Done], producer: Producer
    ) -> None:
        cfg = self.settings
        async with done:
            while True:
                try:
                    first = await done.receive()
                except anyio.EndOfStream:
                    return
                batch = [first]
                n_messages = len(first[1])
                deadline = time.monotonic() + cfg.produce_linger_s
                while n_messages < cfg.produce_batch:
                    item = await self._next_within(done, deadline)
                    if item is None:
                        break
                    batch.append(item)
                    n_messages += len(item[1])
                messages = [m for _, msgs in batch for m in msgs]
                if messages:
                    await self._retrying("produce", partial(producer.produce, messages))
                rejects = self._output_topic("rejects")
                for record, msgs in batch:
                    self._tracker.finished(record.tp, record.offset)
                    self.stats.produced += len(msgs)
                    self.stats.rejected += sum(1 for m in msgs if m.topic == rejects)
                self.stats.last_processed_at = time.time()
                self._metrics.last_processed.set(self.stats.last_processed_at)

    @staticmethod
    async def _next_within(done: MemoryObjectReceiveStream[_Done], deadline: float) -> _Done | None:
        """The next finished event if one arrives before ``deadline`` (None: linger over or
        the workers are gone)."""
        try:
            return done.receive_nowait()
        except anyio.WouldBlock:
            pass
        except anyio.EndOfStream:
            return None
        with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
            try:
                return await done.receive()
            except anyio.EndOfStream:
                return None
        return None

    async def _commit(
        self, consumer: Consumer, tps: Sequence[TopicPartition] | None = None
    ) -> None:
        offsets = self._tracker.committable(tps)
        if not offsets:
            return
        with anyio.CancelScope(shield=True):
            await consumer.commit(offsets)
        self._tracker.mark_committed(offsets)
        self.stats.commits += 1

    async def _on_revoke(self, tps: frozenset[TopicPartition]) -> None:
        """Before partitions move: let their in-flight events finish (bounded), commit."""
        with anyio.move_on_after(self.settings.drain_timeout_s):
            while self._tracker.in_flight_of(tps):
                await anyio.sleep(0.01)
        consumer = self._consumer
        if consumer is not None:
            await self._commit(consumer, tuple(tps))
        self._tracker.forget(tps)
        for tp in tps:
            self._metrics.forget(tp)

    async def _sample_loop(self, consumer: Consumer) -> None:
        """Sample lag and in-flight events for metrics (never fails the runner)."""
        while True:
            try:
                tps = sorted(consumer.assignment())
                ends = await consumer.end_offsets(tps) if tps else {}
                committed = [(tp, await consumer.committed(tp)) for tp in ends]
                self._metrics.set_lag(partitions_lag(ends, committed))
            except Exception as exc:
                log.debug("%s: lag sample failed: %r", self.stage.name, exc)
            self._metrics.in_flight.set(self._tracker.in_flight)
            await anyio.sleep(self.settings.metrics_interval_s)
