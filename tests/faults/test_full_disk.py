"""A full disk under the embedded log: the writer gets a clear, named error, the log is not
corrupted, and everything acknowledged before the failure reads back intact. The disk is
"filled" portably: the writer runs in a subprocess under ``RLIMIT_FSIZE``."""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from topics import EmbeddedTransport, Message, TopicPartition

from ._disk_writer import value

LIMIT_BYTES = 3 * 1024 * 1024


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))


@pytest.mark.anyio
async def test_a_full_disk_is_a_clear_error_and_acknowledged_records_survive(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.db"
    done = subprocess.run(  # noqa: ASYNC221 (the writer must run alone under its limit)
        [sys.executable, "-m", "tests.faults._disk_writer", str(path)],
        capture_output=True, timeout=120, preexec_fn=_limit_file_size, check=False,
        cwd=Path(__file__).parents[2],
    )  # fmt: skip
    out = done.stdout.decode().splitlines()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    acked = max((int(line.split()[1]) for line in out if line.startswith("acked")), default=0)
    error = next(line for line in out if line.startswith("error"))
    assert acked > 100
    # named error, stable reason, the file in the message
    assert error.split()[1:3] == ["StorageFull", "storage_full"], error
    assert str(path) in error and "full" in error

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    transport = EmbeddedTransport(path)
    try:
        seen: dict[int, bytes] = {}
        async with transport.consumer(["fill"], "reader") as consumer:
            with anyio.fail_after(30):
                while len(seen) < acked:
                    for record in await consumer.poll(1000, 0.2):
                        seen[int(record.value[:8])] = record.value
        assert all(seen[i] == value(i) for i in range(acked))  # intact, nothing torn
        assert set(seen) == set(range(len(seen)))  # no holes, no half-written batch
        # with space again, the same log takes writes
        async with transport.producer() as producer:
            await producer.produce([Message("fill", value(10**7), key=b"after")])
        async with transport.consumer(["fill"], "reader-2") as consumer:
            total = 0
            with anyio.fail_after(30):
                while total < len(seen) + 1:
                    total += len(await consumer.poll(1000, 0.2))
        assert await consumer_end(transport) == len(seen) + 1
    finally:
        await transport.aclose()


async def consumer_end(transport: EmbeddedTransport) -> int:
    async with transport.consumer(["fill"], "ends") as consumer:
        ends = await consumer.end_offsets([TopicPartition("fill", p) for p in range(2)])
    return sum(ends.values())
