"""A real Prometheus (Debian's binary) for the live tests, and its HTTP API."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from .conftest import RULES

__all__ = ["Prometheus", "free_port", "running_prometheus", "stop", "wait_ready"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def query(self, promql: str) -> dict[str, Any]:
        response = httpx.get(f"{self.base_url}/api/v1/query", params={"query": promql}, timeout=10)
        body: dict[str, Any] = response.json()
        return body

    def series(self, promql: str) -> int:
        return len(self.results(promql))

    def results(self, promql: str) -> list[dict[str, Any]]:
        body = self.query(promql)
        assert body["status"] == "success", f"{promql}: {body}"
        results: list[dict[str, Any]] = body["data"]["result"]
        return results

    def had_series(self, promql: str, start: float, end: float, step: float = 2) -> bool:
        """Whether ``promql`` returned series at any ``step`` seconds from ``start`` to
        ``end`` (Unix seconds), as a dashboard over that time range would draw them."""
        response = httpx.get(
            f"{self.base_url}/api/v1/query_range",
            params={"query": promql, "start": start, "end": end, "step": step},
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        assert body["status"] == "success", f"{promql}: {body}"
        return bool(body["data"]["result"])

    def value(self, promql: str) -> float | None:
        """The value of a query with one series (None when it has none)."""
        results = self.results(promql)
        assert len(results) <= 1, f"{promql}: {results}"
        return float(results[0]["value"][1]) if results else None

    def labels(self, promql: str, label: str) -> set[str]:
        """The values of ``label`` over the series of ``promql``."""
        return {r["metric"].get(label, "") for r in self.results(promql)}


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Until ``url`` answers 200 (a minute at most), failing with ``log`` if ``process``
    exits first."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{url} did not answer: {log.read_text()}"
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_prometheus(
    binary: str, tmp_path: Path, jobs: Mapping[str, Sequence[str]]
) -> Iterator[Prometheus]:
    """Prometheus scraping ``jobs`` (job name -> ``host:port`` targets) every second, with
    the apigen rules evaluated every second; stopped after the block."""
    web_port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets)}]}
            for job, targets in jobs.items()
        ],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    log_path = tmp_path / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={path}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{web_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Prometheus(f"http://127.0.0.1:{web_port}")
        try:
            wait_ready(process, f"{server.base_url}/-/ready", log_path)
            yield server
        finally:
            stop(process)
