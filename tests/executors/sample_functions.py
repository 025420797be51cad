"""Small functions the executor tests call inside worker processes (never in the parent)."""

from __future__ import annotations

import ctypes
import math
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Any


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def divide(a: float, b: float) -> float:
    return a / b


def echo(text: str) -> dict[str, Any]:
    """Return the argument as received, with its type, so tests can check it stayed data."""
    return {"text": text, "type": type(text).__name__, "cwd_files": sorted(os.listdir("."))}


def positional_only(a: int, /) -> int:
    return a


def spin() -> None:
    while True:
        pass


def sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def pid() -> int:
    return os.getpid()


def exit_hard() -> None:
    os._exit(3)


def segfault() -> None:
    ctypes.string_at(0)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def allocate(gib: int) -> int:
    return len(bytearray(gib * 1024**3))


def huge(n_bytes: int) -> str:
    return "x" * n_bytes


class Opaque:
    pass


def opaque() -> Opaque:
    return Opaque()


def not_finite() -> float:
    return math.inf


@dataclass
class Point:
    x: int
    y: int


def shapes() -> dict[Any, Any]:
    return {"tuple": (1, 2), "set": {3, 1, 2}, "point": Point(1, 2), 4: "int key"}


def printing() -> str:
    print("noise on stdout that must not break the protocol")
    return "ok"


def exits() -> None:
    raise SystemExit(2)


async def async_add(a: int, b: int) -> int:
    return a + b


def write_file(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write_here(name: str) -> str:
    with open(name, "w", encoding="utf-8") as f:
        f.write("scratch")
    return os.path.realpath(name)


def read_file(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def remove_file(path: str) -> None:
    os.remove(path)


def connect(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=2) as s:
        s.sendall(b"hello")
    return "connected"


def run_command(argument: str) -> int:
    return subprocess.run(["true", argument], check=False).returncode
