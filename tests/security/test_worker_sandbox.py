"""The Python workers' sandbox, tried for real: a bound function cannot write outside its
private directory, reach the network (a listening socket sees no connection) or start
processes, while reading files and writing scratch files in its own directory still work."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from executors import ApiSpec, Outcome, PythonBinding
from executors._python import PythonExecutor

pytestmark = pytest.mark.anyio

SAMPLES = "tests.executors.sample_functions"


def _spec(function: str) -> ApiSpec:
    return ApiSpec(
        name=function,
        description="",
        parameters={"type": "object"},
        binding=PythonBinding(module=SAMPLES, function=function),
        source="python:test",
    )


@pytest.fixture
async def sandboxed() -> AsyncIterator[PythonExecutor]:
    async with PythonExecutor(workers=1, timeout_s=5.0, allowed_modules={SAMPLES}) as ex:
        yield ex


async def _call(ex: PythonExecutor, function: str, **arguments: Any) -> Outcome:
    return await ex.execute(_spec(function), arguments)


class _Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[_Listener]:
    server = _Listener()
    yield server
    server.close()


async def test_writes_outside_the_private_directory_are_refused(
    sandboxed: PythonExecutor, tmp_path: Path
) -> None:
    target = tmp_path / "planted.txt"
    outcome = await _call(sandboxed, "write_file", path=str(target), text="x")
    assert outcome.reason == "sandbox_refused", outcome
    assert not target.exists()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    outcome = await _call(sandboxed, "remove_file", path=str(victim))
    assert outcome.reason == "sandbox_refused" and victim.read_text() == "keep me"
    # reading is allowed (libraries read their data files)
    assert (await _call(sandboxed, "read_file", path=str(victim))).result == "keep me"


async def test_scratch_files_in_the_private_directory_work(sandboxed: PythonExecutor) -> None:
    outcome = await _call(sandboxed, "write_here", name="scratch.txt")
    assert outcome.ok, outcome
    assert "apigen-python-" in str(outcome.result)


async def test_no_network_and_no_processes(sandboxed: PythonExecutor, listener: _Listener) -> None:
    outcome = await _call(sandboxed, "connect", host="127.0.0.1", port=listener.port)
    assert not outcome.ok and outcome.reason == "sandbox_refused", outcome
    outcome = await _call(sandboxed, "run_command", argument="x")
    assert outcome.reason == "sandbox_refused", outcome
    assert listener.accepted == 0
    assert "network-hook" in sandboxed.isolation and "files-hook" in sandboxed.isolation


async def test_a_function_that_needs_the_network_can_be_allowed_it(listener: _Listener) -> None:
    async with PythonExecutor(
        workers=1, timeout_s=5.0, allowed_modules={SAMPLES}, allow_network=True
    ) as ex:
        outcome = await _call(ex, "connect", host="127.0.0.1", port=listener.port)
        assert outcome.ok and outcome.result == "connected", outcome
        assert "network-hook" not in ex.isolation
    for _ in range(50):  # the listener's thread counts it a moment later
        if listener.accepted:
            break
        await anyio.sleep(0.05)
    assert listener.accepted == 1
