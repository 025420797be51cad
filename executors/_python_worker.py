"""The worker process behind :class:`~executors.PythonExecutor` (run as a script).

It speaks length-prefixed orjson frames (4-byte big-endian length, then the payload) over
the pipes it was started with; stdin, stdout and stderr are then pointed at ``/dev/null`` so
a function that prints or reads cannot corrupt the protocol.

The first frame configures the worker (``sys_path``, ``allowed_modules``, limits,
``allow_network``); the worker applies its resource limits and its isolation (see
:func:`isolate`) and answers ``{"ready": pid, "isolation": [layers]}``. Every later frame is
one call ``{"module", "function", "arguments"}`` answered by one reply frame: ``{"ok":
true, "result": ...}`` or ``{"ok": false, "reason", "message"}``.

Model output is data here and nothing else: arguments arrive as JSON, are bound by
keyword with :meth:`inspect.Signature.bind`, and nothing is ever evaluated, executed or
compiled. Only allow-listed modules are imported.

This file imports nothing from the package so that the worker starts fast and without
the parent's dependencies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import importlib
import inspect
import math
import os
import resource
import signal
import struct
import sys
import uuid
from typing import Any, BinaryIO

import orjson

_HEADER = struct.Struct(">I")
_MAX_MESSAGE_CHARS = 2000
_MAX_DEPTH = 200
_DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class _Failure(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class _CpuLimitExceeded(BaseException):
    """Raised from the SIGXCPU handler; a BaseException so user code rarely swallows it."""


def _on_sigxcpu(signum: int, frame: object) -> None:
    raise _CpuLimitExceeded


def _truncate(text: str) -> str:
    if len(text) <= _MAX_MESSAGE_CHARS:
        return text
    return text[:_MAX_MESSAGE_CHARS] + f"... [{len(text) - _MAX_MESSAGE_CHARS} more chars]"


def _describe(exc: BaseException) -> str:
    return _truncate(f"{type(exc).__name__}: {exc}")


class _Budget:
    """Bytes of JSON a result may still take, charged at least what each value will cost.

    Exceeding it is ``result_too_large`` found *before* orjson serializes: under RLIMIT_AS
    orjson dies with SIGSEGV instead of raising MemoryError when a big dump (about a million
    list items under 512 MiB) cannot grow its buffer.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.left = max_bytes

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            message = f"the result is over the cap of {self.max_bytes} bytes"
            raise _Failure("result_too_large", message)


def normalize(value: Any, depth: int = 0, budget: _Budget | None = None) -> Any:
    """Turn a result into plain JSON data: tuples to lists, sets to sorted lists, integers
    outside the signed 64-bit range (which orjson, and so every event, cannot carry) to their
    exact decimal string.

    Non-finite floats and objects without a JSON form raise ``_Failure("not_serializable")``:
    orjson would silently write NaN as ``null``, and a dataset must not claim a result the
    function did not give. With a ``budget``, a result too large for it raises
    ``_Failure("result_too_large")`` as soon as the walk has seen that much.
    """
    if depth > _MAX_DEPTH:
        raise _Failure("not_serializable", f"result nested deeper than {_MAX_DEPTH} (cyclic?)")
    if budget is None:
        budget = _Budget(2**62)
    if value is None or isinstance(value, bool):
        budget.spend(4)
        return value
    if isinstance(value, str):
        budget.spend(len(value) + 2)
        return value
    if isinstance(value, int):
        if -(2**63) <= value < 2**64:
            budget.spend(len(str(value)))
            return value
        try:
            text = str(value)
        except ValueError as exc:  # past sys.get_int_max_str_digits()
            raise _Failure("not_serializable", _describe(exc)) from None
        budget.spend(len(text) + 2)
        return text
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Failure("not_serializable", f"result contains the non-finite float {value}")
        budget.spend(1)  # orjson may write floats shorter than repr
        return value
    if isinstance(value, dict):
        budget.spend(2 + 3 * len(value))
        return {k: normalize(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, list | tuple):
        budget.spend(1 + len(value))
        return [normalize(v, depth + 1, budget) for v in value]
    if isinstance(value, set | frozenset):
        budget.spend(1 + len(value))
        items = [normalize(v, depth + 1, budget) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=orjson.dumps)
    if isinstance(value, enum.Enum):
        return normalize(value.value, depth + 1, budget)
    if isinstance(value, datetime.date | datetime.time | uuid.UUID):
        return orjson.loads(orjson.dumps(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return normalize(dataclasses.asdict(value), depth + 1, budget)
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalars and arrays
        return normalize(value.tolist(), depth + 1, budget)
    raise _Failure("not_serializable", f"an object of type {type(value).__name__} is not JSON data")


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(stream, _HEADER.unpack(header)[0])


def _write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.allowed = frozenset(config["allowed_modules"])
        self.max_result_bytes: int = config["max_result_bytes"]
        self.cpu_limit_s: float | None = config["cpu_limit_s"]

    def call(self, request: dict[str, Any]) -> bytes:
        module_name, function_name = request["module"], request["function"]
        arguments = request["arguments"]
        if module_name not in self.allowed:
            raise _Failure("unknown_api", f"module {module_name!r} is not in the allow-list")
        if not function_name.isidentifier() or function_name.startswith("_"):
            raise _Failure("unknown_api", f"{function_name!r} is not a public function name")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise _Failure(
                "unknown_api", f"cannot import {module_name}: {_describe(exc)}"
            ) from None
        fn = getattr(module, function_name, None)
        if not callable(fn):
            raise _Failure("unknown_api", f"{module_name} has no function {function_name!r}")
        try:
            bound = inspect.signature(fn).bind(**arguments)
        except TypeError as exc:
            given = ", ".join(sorted(arguments)) or "none"
            raise _Failure("invalid_arguments", _truncate(f"{exc} (given: {given})")) from None
        except ValueError as exc:  # no signature (some builtins)
            raise _Failure("unknown_api", f"{function_name}: {exc}") from None

        self._arm_cpu_limit()
        try:
            result = fn(*bound.args, **bound.kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
        except MemoryError:
            message = "MemoryError: the call exceeded its memory limit"
            raise _Failure("memory_exceeded", message) from None
        except _CpuLimitExceeded:
            message = f"the call exceeded its CPU time limit ({self.cpu_limit_s} s)"
            raise _Failure("timeout", message) from None
        except SandboxRefused as exc:
            raise _Failure("sandbox_refused", _describe(exc)) from None
        except Exception as exc:
            raise _Failure("function_error", _describe(exc)) from None
        finally:
            self._disarm_cpu_limit()

        try:
            plain = normalize(result, budget=_Budget(self.max_result_bytes))
            body = orjson.dumps(plain, option=_DUMPS_OPTIONS)
        except orjson.JSONEncodeError as exc:
            raise _Failure("not_serializable", _describe(exc)) from None
        except MemoryError:
            raise _Failure("memory_exceeded", "MemoryError while serializing the result") from None
        if len(body) > self.max_result_bytes:
            raise _Failure(
                "result_too_large",
                f"the result is {len(body)} bytes, over the cap of {self.max_result_bytes}",
            )
        return b'{"ok":true,"result":' + body + b"}"

    def _arm_cpu_limit(self) -> None:
        # RLIMIT_CPU counts the process's whole life, so each call gets "used so far + limit".
        if self.cpu_limit_s is None:
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + self.cpu_limit_s)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))

    def _disarm_cpu_limit(self) -> None:
        if self.cpu_limit_s is None:
            return
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


class SandboxRefused(PermissionError):
    """An operation the worker's sandbox does not allow (reason ``sandbox_refused``)."""


_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = frozenset({
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
    "os.symlink", "os.link", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile",
    "shutil.copytree", "os.chdir",
})  # fmt: skip
_PROCESS_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "pty.spawn", "os.kill", "os.killpg",
})  # fmt: skip
_NETWORK_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyaddr",
})  # fmt: skip


def _unshare_network() -> bool:
    """Move this process into a new, empty network namespace (no interface is up, not even
    loopback), as root or through a user namespace; False where the kernel refuses."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    return any(
        libc.unshare(flags) == 0 for flags in (_CLONE_NEWNET, _CLONE_NEWUSER | _CLONE_NEWNET)
    )


def isolate(writable_dir: str, *, allow_network: bool) -> list[str]:
    """Confine the running worker; returns the layers applied.

    - ``network-namespace``: no network at all, even for C code (where the kernel allows
      ``unshare``); ``network-hook``: Python's socket operations are refused.
    - ``files-hook``: files may be read, but written, created, removed or renamed only
      under ``writable_dir`` (the worker's private temporary working directory).
    - ``process-hook``: no subprocesses, ``exec``, ``fork`` or signals to other processes.

    The hooks are audit hooks (PEP 578): they cannot be removed once installed and they
    see every such operation made through Python, but not what a C extension does itself.
    A refused operation raises :class:`SandboxRefused` (a PermissionError) in the function.
    """
    layers = []
    if not allow_network:
        if _unshare_network():
            layers.append("network-namespace")
        layers.append("network-hook")
    root = os.path.realpath(writable_dir)

    def inside(path: object) -> bool:
        if isinstance(path, int):  # an already open descriptor
            return True
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return True
        real = os.path.realpath(path)
        return real == root or real.startswith(root + os.sep)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (*args, None, None, 0)[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writes and not inside(path):
                raise SandboxRefused(f"sandbox: writing {path!r} is not allowed")
        elif event in _PATH_EVENTS:
            if not all(inside(a) for a in args[:2] if isinstance(a, str | bytes)):
                raise SandboxRefused(f"sandbox: {event} on {args[0]!r} is not allowed")
        elif event in _PROCESS_EVENTS:
            if event == "os.kill" and args[:1] == (os.getpid(),):
                return  # a signal to itself harms no one else
            raise SandboxRefused(f"sandbox: {event} is not allowed")
        elif not allow_network and event in _NETWORK_EVENTS:
            raise SandboxRefused(f"sandbox: {event} is not allowed (no network)")

    sys.addaudithook(hook)
    layers += ["files-hook", "process-hook"]
    return layers


def _failure_frame(reason: str, message: str) -> bytes:
    return orjson.dumps({"ok": False, "reason": reason, "message": message})


def main() -> None:
    # Keep the protocol pipes on private descriptors; the standard ones go to /dev/null.
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdin = open(os.devnull)  # noqa: SIM115
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115

    config_frame = _read_frame(proto_in)
    if config_frame is None:
        return
    config = orjson.loads(config_frame)
    sys.path[:] = config["sys_path"]
    if config["memory_limit_bytes"] is not None:
        limit = config["memory_limit_bytes"]
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    worker = Worker(config)
    sys.dont_write_bytecode = True
    layers = isolate(os.getcwd(), allow_network=bool(config.get("allow_network", False)))
    _write_frame(proto_out, orjson.dumps({"ready": os.getpid(), "isolation": layers}))

    while (frame := _read_frame(proto_in)) is not None:
        try:
            reply = worker.call(orjson.loads(frame))
        except _Failure as failure:
            reply = _failure_frame(failure.reason, failure.message)
        except MemoryError:
            reply = _failure_frame("memory_exceeded", "MemoryError: the call exceeded its limit")
        except BaseException as exc:  # a BaseException from user code (SystemExit and the like)
            reply = _failure_frame("function_error", _describe(exc))
        _write_frame(proto_out, reply)


if __name__ == "__main__":
    main()
