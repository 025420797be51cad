"""A real local REST service for executor tests: uvicorn in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from executors.rest_service import RequestLog, create_app

__all__ = ["RunningService", "run_service"]


@dataclass(frozen=True, slots=True)
class RunningService:
    base_url: str
    log: RequestLog


@contextmanager
def run_service(*, testing: bool = True) -> Iterator[RunningService]:
    """Serve ``create_app(testing=...)`` on a free port of 127.0.0.1 until the block ends."""
    app = create_app(testing=testing)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the REST service did not start")
        time.sleep(0.01)
    log = app.state.request_log if testing else RequestLog()
    try:
        yield RunningService(f"http://127.0.0.1:{port}", log)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
