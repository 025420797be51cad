"""A small real MCP server for tests and demos: arithmetic, text and date tools.

Run it with ``python -m executors.mcp_server`` (stdio); the :class:`~executors.McpExecutor`
starts it as a subprocess::

    McpExecutor({"demo": McpServerConfig(sys.executable, ("-m", "executors.mcp_server"))})

``python -m executors.mcp_server --http 127.0.0.1:0`` serves streamable HTTP instead, on
that address (port 0: a free one), and prints one line ``listening on URL`` (the endpoint,
``http://HOST:PORT/mcp``) once it accepts connections::

    McpExecutor({"demo": McpServerConfig(url="http://127.0.0.1:8931/mcp")}, policy=...)

With ``APIGEN_MCP_TEST_TOOLS=1`` in its environment it also exposes ``sleep`` and
``process_id``, which the executor tests use to provoke timeouts and kill the server.
"""

from __future__ import annotations

import argparse
import datetime
import os
import socket

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["build_server", "main"]


def build_server(*, test_tools: bool = False) -> MCPServer:
    server: MCPServer = MCPServer("apigen-demo", version="1", log_level="WARNING")

    @server.tool()
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @server.tool()
    def multiply(a: float, b: float) -> float:
        """Multiply two numbers."""
        return a * b

    @server.tool()
    def divide(numerator: float, denominator: float) -> float:
        """Divide ``numerator`` by ``denominator``; dividing by zero is an error."""
        if denominator == 0:
            raise ToolError("division by zero")
        return numerator / denominator

    @server.tool()
    def reverse_text(text: str) -> str:
        """Reverse a string."""
        return text[::-1]

    @server.tool()
    def word_stats(text: str) -> dict[str, int]:
        """Count the words and characters of a text."""
        return {"words": len(text.split()), "characters": len(text)}

    @server.tool()
    def days_between(start: str, end: str) -> int:
        """Days from ``start`` to ``end`` (ISO dates, YYYY-MM-DD); negative if end is earlier."""
        return (datetime.date.fromisoformat(end) - datetime.date.fromisoformat(start)).days

    @server.tool()
    def weekday(date: str) -> str:
        """The English weekday name of an ISO date (YYYY-MM-DD)."""
        return datetime.date.fromisoformat(date).strftime("%A")

    if test_tools:

        @server.tool()
        async def sleep(seconds: float) -> float:
            """Sleep (without blocking the server) and return the seconds slept."""
            await anyio.sleep(min(seconds, 30.0))
            return seconds

        @server.tool()
        def process_id() -> int:
            """The server's process id (tests kill it to check restarts)."""
            return os.getpid()

    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m executors.mcp_server")
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve streamable HTTP on HOST:PORT (port 0: a free one) instead of stdio",
    )
    args = parser.parse_args(argv)
    server = build_server(test_tools=os.environ.get("APIGEN_MCP_TEST_TOOLS") == "1")
    if args.http is None:
        server.run("stdio")
        return
    host, _, port = args.http.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--http {args.http!r}: expected HOST:PORT")
    serve_http(server, host, int(port))


def serve_http(server: MCPServer, host: str, port: int) -> None:
    """Serve ``server`` over streamable HTTP at ``http://host:port/mcp`` until killed."""
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening before the line is printed: a client that reads it may connect at once.
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on http://{shown}:{bound}/mcp", flush=True)
    app = server.streamable_http_app(host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
