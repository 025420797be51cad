"""A child process for the multi-process tests of the embedded log.

    python -m tests.topics._embedded_worker produce PATH TOPIC BATCH
        produces batches of BATCH messages forever; after each acknowledged batch prints
        ``acked FIRST LAST`` (the values are consecutive integers).
    python -m tests.topics._embedded_worker consume PATH TOPIC GROUP SESSION_TIMEOUT_S
        consumes forever, committing after every poll; prints ``assignment P,P,...`` when
        its assignment changes and ``record P OFFSET`` for every record.

Every line is flushed at once, so the parent sees exactly what was acknowledged before a kill.
"""

from __future__ import annotations

import sys

import anyio

from topics import EmbeddedTransport, Message, TopicPartition


def say(line: str) -> None:
    print(line, flush=True)


async def produce(path: str, topic: str, batch: int) -> None:
    transport = EmbeddedTransport(path)
    async with transport.producer() as producer:
        n = 0
        while True:
            await producer.produce(
                [Message(topic, str(i).encode(), key=str(i).encode()) for i in range(n, n + batch)]
            )
            say(f"acked {n} {n + batch - 1}")
            n += batch


async def consume(path: str, topic: str, group: str, session_timeout_s: float) -> None:
    transport = EmbeddedTransport(path, session_timeout_s=session_timeout_s)
    positions: dict[TopicPartition, int] = {}

    async def commit_revoked(tps: frozenset[TopicPartition]) -> None:
        await consumer.commit({tp: positions[tp] for tp in tps if tp in positions})

    consumer = transport.consumer([topic], group, on_revoke=commit_revoked)
    async with consumer:
        reported: frozenset[TopicPartition] | None = None
        while True:
            records = await consumer.poll(max_records=5, timeout_s=0.05)
            if consumer.assignment() != reported:
                reported = consumer.assignment()
                say("assignment " + ",".join(str(tp.partition) for tp in sorted(reported)))
            for r in records:
                say(f"record {r.partition} {r.offset}")
                positions[r.tp] = r.offset + 1
            if records:
                await consumer.commit({r.tp: positions[r.tp] for r in records})


def main(argv: list[str]) -> None:
    command, path, topic, *rest = argv
    if command == "produce":
        anyio.run(produce, path, topic, int(rest[0]))
    elif command == "consume":
        anyio.run(consume, path, topic, rest[0], float(rest[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
