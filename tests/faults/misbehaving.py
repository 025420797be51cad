"""Functions that misbehave in every way an executed API can; the Python executor runs them in
its worker processes (never in the test process)."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Iterator
from typing import Any


def ok(x: int) -> int:
    """The well-behaved control: the executor must still serve it after each fault."""
    return x + 1


def hang_sleeping() -> None:
    time.sleep(3600)


def hang_spinning() -> None:
    while True:
        pass


def hang_ignoring_signals() -> None:
    """Spins with SIGXCPU and SIGTERM ignored: only the wall-clock kill can stop it."""
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass


def crash_exit() -> None:
    os._exit(7)


def crash_segfault() -> None:
    ctypes.string_at(0)


def crash_abort() -> None:
    os.abort()


def crash_kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def crash_closing_pipes() -> int:
    """Closes every descriptor the worker's protocol could be on."""
    os.closerange(0, 1024)
    return 1


def exhaust_memory_at_once() -> int:
    return len(bytearray(8 * 1024**3))


def exhaust_memory_gradually() -> int:
    hoard: list[bytes] = []
    while True:
        hoard.append(b"x" * (16 * 1024 * 1024))


def enormous_string() -> str:
    return "x" * (8 * 1024 * 1024)


def enormous_list() -> list[int]:
    return list(range(2_000_000))


def not_serializable_object() -> object:
    return object()


def not_serializable_nan() -> float:
    return float("nan")


def not_serializable_cycle() -> list[Any]:
    cycle: list[Any] = []
    cycle.append(cycle)
    return cycle


def not_serializable_generator() -> Iterator[int]:
    yield 1


def not_serializable_tuple_keys() -> dict[Any, int]:
    return {(1, 2): 3}


def not_serializable_huge_int() -> int:
    return 10**5000


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no string for you")


def raises_unprintable() -> None:
    raise _Unprintable


def raises_system_exit() -> None:
    raise SystemExit(3)


def raises_keyboard_interrupt() -> None:
    raise KeyboardInterrupt
