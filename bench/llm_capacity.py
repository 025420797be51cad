"""Capacity of the simulated LLM endpoint and CPU cost of LlmClient per request.

    .venv/bin/python bench/llm_capacity.py server   # req/s of `apigen simulate-llm`, 0 ms latency
    .venv/bin/python bench/llm_capacity.py client   # LlmClient CPU/request by transport

Client transports: ``default`` is the client's own path (orjson body over a pooled
aiohttp session); ``aiohttp`` and ``httpx`` inject the ``openai`` SDK's HTTP clients
(``DefaultAioHttpClient``, ``DefaultAsyncHttpxClient``) through ``http_client``.

The server runs in its own process (the CLI); load comes from another process, so each
side's CPU seconds are measured separately (``/proc/<pid>/stat`` for the server).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import aiohttp
import anyio
import httpx2
import openai
import orjson

from streamer.llm import LlmClient, LlmEndpoint
from streamer.prompts import generation_schema, render_generation
from topics import QueryStyle, Tool

PORT = 8971
TOOLS = [
    Tool(
        "get_weather",
        "Current weather for a city.",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "units": {"type": "string", "enum": ["metric", "imperial"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city"],
        },
    ),
    Tool(
        "convert_currency",
        "Convert an amount between currencies.",
        {
            "type": "object",
            "properties": {
                "amount": {"type": "number", "minimum": 0},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
    ),
]
MESSAGES = render_generation(TOOLS, [], QueryStyle.PARALLEL_MULTIPLE, 2)
SCHEMA = generation_schema(TOOLS, QueryStyle.PARALLEL_MULTIPLE, 2)


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamer", "simulate-llm", "--port", str(PORT), "--seed", "1"],
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/v1/models", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("simulator did not start")


async def _server_bench(concurrency: int = 100, seconds: float = 10.0) -> dict[str, Any]:
    n = 0
    payload = orjson.dumps(
        {
            "model": "simulated-bench",
            "messages": MESSAGES,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "o", "schema": SCHEMA},
            },
        }
    )
    url = f"http://127.0.0.1:{PORT}/v1/chat/completions"
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal n
            while time.perf_counter() < deadline:
                async with session.post(
                    url, data=payload, headers={"content-type": "application/json"}
                ) as r:
                    await r.read()
                    assert r.status == 200
                n += 1

        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
    return {"requests": n, "seconds": seconds}


async def _client_bench(transport: str, requests: int = 2000, concurrency: int = 100) -> float:
    http: httpx2.AsyncClient | None = None
    if transport == "aiohttp":
        http = openai.DefaultAioHttpClient(timeout=30)
    elif transport == "httpx":
        http = openai.DefaultAsyncHttpxClient(timeout=30)
    endpoint = LlmEndpoint(
        "bench", f"http://127.0.0.1:{PORT}/v1", "simulated-bench", max_concurrency=concurrency
    )
    client = LlmClient(endpoint, http_client=http)
    # warm up connections
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(lambda: client.complete_json(MESSAGES, SCHEMA))
    cpu0 = time.process_time()
    async with anyio.create_task_group() as tg:
        for _ in range(requests):
            tg.start_soon(lambda: client.complete_json(MESSAGES, SCHEMA))
    cpu = time.process_time() - cpu0
    await client.aclose()
    if http is not None:
        await http.aclose()
    return cpu / requests


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "server"
    proc = _start_server()
    try:
        if what == "server":
            cpu0, load0 = _cpu_s(proc.pid), time.process_time()
            result = anyio.run(_server_bench)
            cpu, load = _cpu_s(proc.pid) - cpu0, time.process_time() - load0
            rps = result["requests"] / result["seconds"]
            print(
                f"server: {rps:.0f} req/s with 100 concurrent clients, 0 ms latency; "
                f"{cpu / result['requests'] * 1e3:.2f} ms server CPU/request, "
                f"{load / result['requests'] * 1e3:.2f} ms load-generator CPU/request; "
                f"loadavg {os.getloadavg()[0]:.1f}"
            )
        else:
            for transport in ("default", "aiohttp", "httpx") * 2:
                cpu = anyio.run(_client_bench, transport)
                print(f"client ({transport}): {cpu * 1e3:.2f} ms CPU/request")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
