"""``apigen simulate-llm`` and ``apigen rest-service`` as processes of their own, as compose
runs them, for the live tests to call and Prometheus to scrape at their ``/metrics``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ._prometheus import free_port, stop, wait_ready

__all__ = ["CORRUPTIONS", "Services", "running_services"]

CORRUPTIONS = {"wrong_type": 0.15, "unknown_function": 0.1, "invalid_json": 0.05}
"""What the simulated endpoint corrupts, so checkers reject and the funnel has rejects."""


@dataclass(frozen=True, slots=True)
class Services:
    simulator_url: str  # ends in /v1
    rest_url: str
    _started: tuple[tuple[subprocess.Popen[bytes], str, Path], ...] = ()

    @property
    def targets(self) -> list[str]:
        """``host:port`` of both, for a scrape config."""
        return [self.simulator_url.removeprefix("http://").removesuffix("/v1"),
                self.rest_url.removeprefix("http://")]  # fmt: skip

    def wait_ready(self) -> None:
        """Until both answer at ``/metrics``."""
        for process, base, log in self._started:
            wait_ready(process, f"{base}/metrics", log)


def _start(args: Sequence[str], port: int, log: IO[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "streamer", *args, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@contextmanager
def running_services(
    tmp_path: Path, latency_ms: float = 20, *, wait: bool = True
) -> Iterator[Services]:
    """Both services on free ports (started side by side) until the block ends; ready
    unless ``wait`` is false (then call :meth:`Services.wait_ready`)."""
    corrupt = [arg for kind, rate in CORRUPTIONS.items() for arg in ("--corrupt", f"{kind}={rate}")]
    commands = {
        "simulator": ["simulate-llm", "--latency-ms", str(latency_ms), "--seed", "7", *corrupt],
        "rest-service": ["rest-service"],
    }
    with ExitStack() as stack:
        started: dict[str, tuple[subprocess.Popen[bytes], str, Path]] = {}
        for name, args in commands.items():
            port, log = free_port(), tmp_path / f"{name}.log"
            process = _start(args, port, stack.enter_context(log.open("w")))
            stack.callback(stop, process)  # stopped before its log closes
            started[name] = (process, f"http://127.0.0.1:{port}", log)
        services = Services(
            simulator_url=f"{started['simulator'][1]}/v1",
            rest_url=started["rest-service"][1],
            _started=tuple(started.values()),
        )
        if wait:
            services.wait_ready()
        yield services
