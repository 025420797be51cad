"""Run as a script: append batches to an embedded log until the disk "fills" (the parent
sets RLIMIT_FSIZE), printing each acknowledged batch, then the error the writer got."""

from __future__ import annotations

import signal
import sys

import anyio

from topics import EmbeddedTransport, Message, TopicsError

BATCH = 50
VALUE_BYTES = 2000


def value(i: int) -> bytes:
    return f"{i:08d}".encode() + b"v" * VALUE_BYTES


async def main(path: str) -> None:
    transport = EmbeddedTransport(path)
    try:
        await transport.create_topics(["fill"], 2)
        async with transport.producer() as producer:
            i = 0
            while True:
                batch = [
                    Message("fill", value(j), key=str(j).encode()) for j in range(i, i + BATCH)
                ]
                await producer.produce(batch)
                i += BATCH
                print(f"acked {i}", flush=True)
    except TopicsError as exc:
        print(f"error {type(exc).__name__} {exc.reason} {exc.message}", flush=True)
    finally:
        await transport.aclose()


if __name__ == "__main__":
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    anyio.run(main, sys.argv[1])
