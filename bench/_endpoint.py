"""The simulated LLM endpoint as a separate process, and its utilization.

The endpoint runs as its own process (``apigen simulate-llm``) so that its CPU is never
counted against the pipeline. :class:`InFlightProbe` reads ``GET /stats`` every
``interval_s`` seconds; the mean of ``in_flight`` (requests being answered, i.e. holding one
of the endpoint's ``max_concurrency`` slots) over the configured limit is the utilization.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

__all__ = ["Endpoint", "InFlightProbe", "free_port"]

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Endpoint:
    """``apigen simulate-llm`` on a free port; a context manager.

    latency_ms: fixed answer latency in milliseconds.
    max_concurrency: requests answered at once (more queue); 0 for no limit.
    """

    def __init__(self, latency_ms: float, max_concurrency: int, logs: Path) -> None:
        self.latency_ms = latency_ms
        self.max_concurrency = max_concurrency
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._logs = logs
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def __enter__(self) -> Self:
        self._logs.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "streamer", "simulate-llm", "--port", str(self.port),
            "--seed", "1", "--latency-ms", f"fixed:{self.latency_ms:g}",
            "--max-concurrency", str(self.max_concurrency),
        ]  # fmt: skip
        with (self._logs / "endpoint.log").open("wb") as log:
            self._proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.stats()
                return self
            except OSError:
                if self._proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"the simulated endpoint did not start; see {self._logs}")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def stats(self) -> dict[str, Any]:
        url = self.base_url.removesuffix("/v1") + "/stats"
        with urllib.request.urlopen(url, timeout=5) as r:
            data: dict[str, Any] = json.loads(r.read())
        return data


@dataclass(slots=True)
class InFlightProbe:
    """Samples the endpoint's in-flight count from a thread while active."""

    endpoint: Endpoint
    interval_s: float = 0.05
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        started = time.perf_counter()
        while not self._stop.wait(self.interval_s):
            try:
                n = int(self.endpoint.stats()["in_flight"])
            except OSError:
                continue
            self.samples.append((time.perf_counter() - started, n))

    def busy_window(self) -> list[int]:
        """In-flight counts from the first to the last sample with work in flight (start-up
        and drain at the edges are excluded: they are not the pipeline's steady state)."""
        counts = [n for _, n in self.samples]
        busy = [i for i, n in enumerate(counts) if n > 0]
        if not busy:
            return []
        return counts[busy[0] : busy[-1] + 1]
