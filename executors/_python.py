"""Run Python-bound APIs in a pool of isolated, long-lived worker processes.

Each worker is a plain subprocess (``executors/_python_worker.py``) talking length-prefixed
orjson frames over its stdin/stdout pipes: no pickling, no fork of the parent's state, and
a round trip costs a pipe write and a read (see ``bench/executors_python.py``). A worker
that times out, crashes or breaks the protocol is killed and replaced by a fresh one on
the next call; one that fails normally (an exception, a MemoryError) stays.

Model output is only ever data: arguments travel as JSON and are bound by keyword with
:meth:`inspect.Signature.bind`, so a wrong argument name is ``invalid_arguments`` rather
than a positional call that "works" (distilabel's APIGen steps passed positionally and
``eval``-ed strings).

Usage::

    async with PythonExecutor(workers=2, allowed_modules={"mylib.math"}) as executor:
        outcome = await executor.execute(spec, {"a": 1, "b": 2})
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import orjson
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from ._metrics import executor_metrics
from ._outcome import Outcome
from ._spec import ApiSpec, PythonBinding

__all__ = ["PythonExecutor"]

MiB = 1024 * 1024
_HEADER = struct.Struct(">I")
_WORKER_SCRIPT = Path(__file__).with_name("_python_worker.py")
_REPLY_OVERHEAD_BYTES = 16 * 1024
"""Room on top of ``max_result_bytes`` for the reply envelope and error messages."""

_ENV_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
_SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}


class _WorkerLost(Exception):
    """The worker died or broke the protocol; ``message`` says how."""


class _Worker:
    """One worker process and its pipes. Used by one call at a time."""

    def __init__(self, process: Process) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self._stdin = process.stdin
        self._stdout = BufferedByteReceiveStream(process.stdout)
        self.pid = process.pid

    async def request(self, payload: bytes, *, max_reply_bytes: int) -> bytes:
        try:
            await self._stdin.send(_HEADER.pack(len(payload)) + payload)
            (size,) = _HEADER.unpack(await self._stdout.receive_exactly(_HEADER.size))
            if size > max_reply_bytes:
                raise _WorkerLost(f"reply of {size} bytes exceeds {max_reply_bytes}")
            return await self._stdout.receive_exactly(size)
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, OSError):
            raise _WorkerLost(await self._death_message()) from None

    async def _death_message(self) -> str:
        with anyio.move_on_after(2.0):
            code = await self.process.wait()
            if code < 0:
                return f"the worker was killed by {signal.Signals(-code).name}"
            return f"the worker exited with status {code}"
        return "the worker closed its pipe"

    async def kill(self) -> None:
        """Kill and reap; safe to call on a dead process and under cancellation."""
        with anyio.CancelScope(shield=True):
            if self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
            with anyio.move_on_after(5.0):
                await self.process.wait()
            await self.process.aclose()


class PythonExecutor:
    """Executes :class:`PythonBinding` APIs in isolated worker processes.

    ``workers`` bounds concurrency: a call waits for an idle worker. Limits per call:
    ``timeout_s`` of wall time (the worker is killed and replaced: ``timeout``),
    ``cpu_limit_s`` of CPU time via ``RLIMIT_CPU`` (default: the timeout + 1 s; also
    ``timeout``), ``memory_limit_bytes`` of address space via ``RLIMIT_AS`` per worker
    (``memory_exceeded``; None for no limit), ``max_result_bytes`` of JSON result
    (``result_too_large``). Only modules in ``allowed_modules`` are ever imported; others
    are ``unknown_api``. Workers run with a minimal environment (no credentials from the
    parent's), single-threaded BLAS, and a private temporary working directory (also their
    ``TMPDIR``), confined by ``_python_worker.isolate``: no network unless
    ``allow_network`` (a fresh network namespace where the kernel allows it, and Python's
    socket calls refused), no writes outside that directory, no subprocesses. A refused
    operation is ``sandbox_refused``. :attr:`isolation` lists the layers the last worker
    started with.

    ``latency_s`` covers the call in the worker (not the wait for a free worker).
    """

    def __init__(
        self,
        *,
        workers: int = 2,
        timeout_s: float = 5.0,
        memory_limit_bytes: int | None = 512 * MiB,
        cpu_limit_s: float | None = None,
        max_result_bytes: int = 1 * MiB,
        allowed_modules: Collection[str],
        startup_timeout_s: float = 30.0,
        allow_network: bool = False,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.timeout_s = timeout_s
        self.memory_limit_bytes = memory_limit_bytes
        # A little over the wall timeout, so the wall timeout normally fires first.
        self.cpu_limit_s = cpu_limit_s if cpu_limit_s is not None else math.ceil(timeout_s) + 1.0
        self.max_result_bytes = max_result_bytes
        self.allowed_modules = frozenset(allowed_modules)
        self.startup_timeout_s = startup_timeout_s
        self.allow_network = allow_network
        self.isolation: tuple[str, ...] = ()
        # Idle slots: a live worker, or None for "spawn one when needed".
        self._idle_send, self._idle_receive = anyio.create_memory_object_stream[_Worker | None](
            workers
        )
        for _ in range(workers):
            self._idle_send.send_nowait(None)
        self._live: set[_Worker] = set()
        self._sys_path = [os.path.abspath(p) for p in sys.path]
        self._closed = False
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.calls_total = 0
        self.replaced_total = 0

    @property
    def busy(self) -> int:
        """Workers currently running a call."""
        return self.workers - self._idle_receive.statistics().current_buffer_used

    def __repr__(self) -> str:
        return (
            f"<PythonExecutor workers={self.workers} busy={self.busy} "
            f"idle={self.workers - self.busy} live={len(self._live)} "
            f"calls={self.calls_total} replaced={self.replaced_total} "
            f"isolation={','.join(self.isolation) or '-'}"
            f"{' closed' if self._closed else ''}>"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Spawn every worker now instead of on first use (keeps spawns off the hot path)."""
        slots = [self._idle_receive.receive_nowait() for _ in range(self.workers)]
        try:
            for i, slot in enumerate(slots):
                if slot is None:
                    slots[i] = await self._spawn()
        finally:
            for slot in slots:
                self._idle_send.send_nowait(slot)

    async def execute(self, spec: ApiSpec, arguments: dict[str, Any]) -> Outcome:
        """Run ``spec`` with keyword ``arguments``; never raises (except cancellation)."""
        binding = spec.binding
        if not isinstance(binding, PythonBinding):
            return Outcome.failure("no_binding", f"{spec.id} has no Python binding")
        if self._closed:
            return Outcome.failure("worker_crashed", "the executor is closed")
        if binding.module not in self.allowed_modules:
            return Outcome.failure(
                "unknown_api", f"module {binding.module!r} is not in the allow-list"
            )
        if not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments):
            return Outcome.failure("invalid_arguments", "arguments must be an object of names")
        try:
            payload = orjson.dumps(
                {"module": binding.module, "function": binding.function, "arguments": arguments}
            )
        except orjson.JSONEncodeError as exc:
            return Outcome.failure("invalid_arguments", f"arguments are not JSON data: {exc}")

        self.calls_total += 1
        worker = await self._idle_receive.receive()
        try:
            if worker is None or worker.process.returncode is not None:
                if worker is not None:
                    await self._discard(worker)
                    worker = None
                try:
                    worker = await self._spawn()
                except _WorkerLost as exc:
                    return Outcome.failure("worker_crashed", f"cannot start a worker: {exc}")
            outcome = await self._call(worker, payload)
            if worker not in self._live:
                worker = None
            return outcome
        except BaseException:
            # Cancelled mid-call: the worker's state is unknown, so it goes.
            if worker is not None:
                await self._discard(worker)
                worker = None
            raise
        finally:
            await self._release(worker)

    async def _release(self, worker: _Worker | None) -> None:
        if not self._closed:
            self._idle_send.send_nowait(worker)
        elif worker is not None:
            await self._discard(worker)

    async def _call(self, worker: _Worker, payload: bytes) -> Outcome:
        start = time.perf_counter()
        try:
            with anyio.fail_after(self.timeout_s):
                reply = await worker.request(
                    payload, max_reply_bytes=self.max_result_bytes + _REPLY_OVERHEAD_BYTES
                )
        except TimeoutError:
            await self._discard(worker)
            return Outcome.failure(
                "timeout",
                f"the call exceeded its timeout of {self.timeout_s} s",
                time.perf_counter() - start,
            )
        except _WorkerLost as exc:
            await self._discard(worker)
            reason = "timeout" if "SIGXCPU" in str(exc) else "worker_crashed"
            return Outcome.failure(reason, str(exc), time.perf_counter() - start)
        latency = time.perf_counter() - start
        data = orjson.loads(reply)
        if data["ok"]:
            return Outcome.success(data["result"], latency)
        if data["reason"] == "timeout":  # CPU limit: the worker is suspect, replace it
            await self._discard(worker)
        return Outcome.failure(data["reason"], data["message"], latency)

    async def _spawn(self) -> _Worker:
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="apigen-python-")
        env = {k: os.environ[k] for k in _ENV_PASSTHROUGH if k in os.environ}
        env.update(_SINGLE_THREAD_ENV)
        env["TMPDIR"] = self._tmpdir.name
        process = await anyio.open_process(
            [sys.executable, "-u", str(_WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self._tmpdir.name,
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C goes to us; we stop the workers
        )
        worker = _Worker(process)
        self._live.add(worker)
        config = {
            "sys_path": self._sys_path,
            "allowed_modules": sorted(self.allowed_modules),
            "memory_limit_bytes": self.memory_limit_bytes,
            "cpu_limit_s": self.cpu_limit_s,
            "max_result_bytes": self.max_result_bytes,
            "allow_network": self.allow_network,
        }
        try:
            with anyio.fail_after(self.startup_timeout_s):
                ready = await worker.request(orjson.dumps(config), max_reply_bytes=1024)
            self.isolation = tuple(orjson.loads(ready).get("isolation", ()))
        except BaseException as exc:
            await self._discard(worker)
            if isinstance(exc, TimeoutError):
                raise _WorkerLost("the worker did not start in time") from None
            raise
        return worker

    async def _discard(self, worker: _Worker) -> None:
        if worker in self._live:
            self._live.discard(worker)
            self.replaced_total += 1
            executor_metrics().for_kind("python").worker_restarts.inc()
        await worker.kill()

    async def aclose(self) -> None:
        """Kill every worker (running calls end as ``worker_crashed``) and clean up."""
        if self._closed:
            return
        self._closed = True
        while True:
            try:
                worker = self._idle_receive.receive_nowait()
            except anyio.WouldBlock:
                break
            if worker is not None:
                await worker.kill()
        for worker in list(self._live):
            self._live.discard(worker)
            await worker.kill()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
