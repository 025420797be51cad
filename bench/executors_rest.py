"""Benchmark: RestExecutor throughput, latency and client CPU per request, per transport.

Starts the local REST service in a subprocess (so its CPU is not counted), then for each
transport (httpx's own, httpx-aiohttp) runs ``--requests`` calls with ``--concurrency`` in
flight through a RestExecutor, alternating transports over ``--rounds`` rounds. Client CPU
is ``time.process_time()`` of this process over the run divided by the number of requests.
Writes bench/results/executors_rest.json.

    .venv/bin/python bench/executors_rest.py --requests 2000 --concurrency 50
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from executors import ApiSpec, NetworkPolicy, RestBinding, RestParameter
from executors._rate_limits import RateLimits
from executors._rest import RestExecutor, default_client

RESULTS = Path(__file__).parent / "results" / "executors_rest.json"
SERVER = (
    "import sys, uvicorn; from executors.rest_service import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), "
    "log_level='warning', access_log=False, ws='none')"
)

TRANSPORTS: dict[str, Callable[[], httpx.AsyncClient]] = {
    "httpx-native": lambda: httpx.AsyncClient(
        trust_env=False, limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)
    ),
    "httpx-aiohttp": lambda: default_client(),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(base_url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("service did not start")


async def run_one(name: str, base_url: str, requests: int, concurrency: int) -> dict[str, Any]:
    spec = ApiSpec.create(
        name="is_prime",
        description="",
        parameters={"type": "object", "properties": {"n": {"type": "integer"}}},
        binding=RestBinding(base_url, "GET", "/math/is-prime/{n}", (RestParameter("n", "path"),)),
    )
    limits = RateLimits(concurrency_per_host=concurrency * 2)
    loopback = NetworkPolicy.from_hosts(["127.0.0.1"])  # the local service: allowed
    executor = RestExecutor(client=TRANSPORTS[name](), limits=limits, retries=0, policy=loopback)
    latencies: list[float] = []
    failures = 0

    async def worker(count: int) -> None:
        nonlocal failures
        for i in range(count):
            outcome = await executor.execute(spec, {"n": 1_000_003 + i})
            failures += not outcome.ok
            latencies.append(outcome.latency_s)

    async def batch(total: int) -> None:
        async with anyio.create_task_group() as tg:
            for w in range(concurrency):
                tg.start_soon(worker, total // concurrency + (w < total % concurrency))

    await batch(concurrency * 4)  # warm up connections
    latencies.clear()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await batch(requests)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await executor.aclose()
    await executor._client.aclose()
    latencies.sort()
    return {
        "transport": name,
        "requests": requests,
        "failures": failures,
        "requests_per_s": round(requests / wall, 1),
        "latency_median_ms": round(statistics.median(latencies) * 1000, 2),
        "latency_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2),
        "client_cpu_ms_per_request": round(cpu / requests * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        wait_ready(base_url)
        runs = []
        for _ in range(args.rounds):
            for name in TRANSPORTS:
                run = anyio.run(run_one, name, base_url, args.requests, args.concurrency)
                print(json.dumps(run), flush=True)
                runs.append(run)
    finally:
        server.terminate()
        server.wait(timeout=10)

    summary = {}
    for name in TRANSPORTS:
        mine = [r for r in runs if r["transport"] == name]
        summary[name] = {
            key: statistics.median(r[key] for r in mine)
            for key in (
                "requests_per_s",
                "latency_median_ms",
                "latency_p99_ms",
                "client_cpu_ms_per_request",
            )
        }
    result = {
        "benchmark": "executors_rest",
        "endpoint": "GET /math/is-prime/{n} on the local REST service (separate process)",
        "requests_per_run": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "python": platform.python_version(),
        "httpx": _version("httpx"),
        "httpx_aiohttp": _version("httpx-aiohttp"),
        "aiohttp": _version("aiohttp"),
        "cpus": _cpus(),
        "summary_median_of_rounds": summary,
        "runs": runs,
        "note": "client CPU includes the executor's own work (URL building, limits, "
        "decoding), identical for both transports; the server shares the machine's cores.",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
