"""MCP tool listings -> :class:`~executors.ApiSpec` with an :class:`~executors.McpBinding`.

A listing is what ``tools/list`` returns: tools ``{name, description, inputSchema}``, as
dicts (e.g. read from JSON) or ``mcp.types.Tool`` objects. MCP tool names may hold
characters a function name cannot (``/``, spaces); the spec's name is then sanitized while
the binding keeps the server's own name in ``tool``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._errors import SpecError
from .._spec import NAME_RE, ApiSpec, McpBinding
from ._common import ConversionReport, Rename, collect, load_document, sanitize_name

__all__ = ["convert_mcp_listing", "spec_from_mcp_tool"]


def _as_dict(tool: Any) -> Any:
    """``mcp.types.Tool`` (pydantic) or anything with the same attributes -> dict."""
    if isinstance(tool, dict):
        return tool
    dump = getattr(tool, "model_dump", None)
    if callable(dump):
        data = dump(by_alias=True, exclude_none=True)
        if isinstance(data, dict) and "inputSchema" in data:
            return data
    schema = getattr(tool, "inputSchema", getattr(tool, "input_schema", None))
    if hasattr(tool, "name") and schema is not None:
        return {
            "name": tool.name,
            "description": getattr(tool, "description", None),
            "inputSchema": schema,
        }
    return tool


def spec_from_mcp_tool(
    tool: Any, *, server: str, where: str = "<mcp>", category: str = "general"
) -> ApiSpec:
    """One MCP tool as a spec executed by the configured server named ``server``."""
    data = _as_dict(tool)
    if not isinstance(data, dict):
        raise SpecError(where, "<root>", "a tool must be an object or mcp.types.Tool")
    tool_name = data.get("name")
    if not isinstance(tool_name, str) or not tool_name:
        raise SpecError(where, "name", "is missing")
    schema = data.get("inputSchema")
    if schema is None:
        schema = {"type": "object", "properties": {}}
    if isinstance(schema, dict) and "properties" not in schema:
        schema = {**schema, "properties": {}}
    name = tool_name if NAME_RE.match(tool_name) else sanitize_name(tool_name)
    return ApiSpec.create(
        where=where,
        name=name,
        description=str(data.get("description") or ""),
        parameters=schema,
        category=category,
        binding=McpBinding(server=server, tool=tool_name),
        source=f"mcp:{server}",
    )


def convert_mcp_listing(listing: Any, *, server: str) -> ConversionReport:
    """A ``tools/list`` result: a list of tools, ``{"tools": [...]}``, an
    ``mcp.types.ListToolsResult``, or a JSON file holding either."""
    where = f"<mcp {server}>"
    if isinstance(listing, str | Path):
        where = Path(listing).name
        listing = load_document(listing)
    if isinstance(listing, dict):
        listing = listing.get("tools")
    elif hasattr(listing, "tools"):
        listing = listing.tools
    if not isinstance(listing, Iterable) or isinstance(listing, str | bytes):
        raise SpecError(where, "tools", "must be a list of tools")

    def convert(tool: Any, item: str) -> ConversionReport:
        spec = spec_from_mcp_tool(tool, server=server, where=item)
        data = _as_dict(tool)
        renames = (
            () if spec.name == data["name"] else (Rename(item, "name", data["name"], spec.name),)
        )
        return ConversionReport((spec,), (), renames)

    return collect(((f"{where}[{i}]", t) for i, t in enumerate(listing)), convert)
