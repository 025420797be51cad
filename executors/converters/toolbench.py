"""ToolBench / RapidAPI tool JSON -> :class:`~executors.ApiSpec`.

Two shapes are read: StableToolBench's ``tools.jsonl`` lines (``category_name``,
``tool_name``, ``api_list[{api_name, api_description, method, required_parameters,
optional_parameters, template_response}]``) and the original per-tool JSON files (``host``,
``api_list[{name, url, method, ...}]``).

Names follow ToolBench so its gold answers match: the API becomes
``<api>_for_<tool>`` (lower case, last 64 characters), parameters are lower-cased with
reserved words prefixed (``id`` -> ``is_id``). The original name is kept as the property's
``title``, as ``wire_name`` in the binding, and in :attr:`ConversionReport.renames`.

RapidAPI ``default`` values are examples, not defaults: they go to the property's JSON
Schema ``examples``. The binding is a :class:`~executors.RestBinding` to the RapidAPI host
(credential ``RAPIDAPI_KEY`` sent as ``X-RapidAPI-Key``) when the tool names its host and the
API its URL; otherwise None (catalogue only).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._errors import SpecError
from .._spec import ApiSpec, RestBinding, RestParameter
from ._common import (
    TOOLBENCH_RESERVED,
    ConversionReport,
    Rename,
    collect,
    load_document,
    read_json_lines,
    sanitize_name,
    unique_name,
)

__all__ = ["RAPIDAPI_AUTH_ENV", "convert_toolbench_file", "specs_from_toolbench_tool"]

RAPIDAPI_AUTH_ENV = "RAPIDAPI_KEY"
RAPIDAPI_AUTH_HEADER = "X-RapidAPI-Key"

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "str": {"type": "string"},
    "enum": {"type": "string"},
    "number": {"type": "number"},
    "float": {"type": "number"},
    "integer": {"type": "integer"},
    "int": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "bool": {"type": "boolean"},
    "array": {"type": "array"},
    "list": {"type": "array"},
    "object": {"type": "object"},
    "json": {"type": "object"},
    "date (yyyy-mm-dd)": {"type": "string", "format": "date"},
    "date": {"type": "string", "format": "date"},
    "time (24-hour hh:mm)": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
    "binary": {"type": "string", "format": "binary"},
    "file": {"type": "string", "format": "binary"},
    "geopoint (latitude, longitude)": {"type": "string"},
}
"""RapidAPI's type vocabulary (lower-cased) as JSON Schema."""

_INT64 = (-(2**63), 2**63 - 1)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def rapidapi_type_schema(typ: Any, *, where: str, field: str) -> dict[str, Any]:
    """``"DATE (YYYY-MM-DD)"`` -> ``{"type": "string", "format": "date"}``; any case."""
    if not isinstance(typ, str) or typ.strip().lower() not in _TYPES:
        raise SpecError(where, field, f"unknown RapidAPI type {typ!r}")
    return dict(_TYPES[typ.strip().lower()])


def _example(raw: Any, schema: dict[str, Any]) -> Any:
    """The RapidAPI ``default`` as a value of the parameter's type when it parses as one
    (numbers only when finite and, for integers, within 64 bits: what JSON consumers and the
    event log can carry; otherwise the text is kept)."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    typ = schema.get("type")
    try:
        if typ == "integer":
            value = int(text)
            return value if _INT64[0] <= value <= _INT64[1] else raw
        if typ == "number":
            number = float(text)
            if not math.isfinite(number):
                return raw
            if number.is_integer() and "." not in text:
                return int(number) if _INT64[0] <= number <= _INT64[1] else raw
            return number
        if typ == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if typ in ("array", "object"):
            value = json.loads(text)
            if isinstance(value, list if typ == "array" else dict):
                return value
    except (ValueError, RecursionError):
        pass
    return raw


def specs_from_toolbench_tool(tool: Any, *, where: str = "<toolbench>") -> list[ApiSpec]:
    """All APIs of one tool; raises :class:`SpecError` on the first one that fails."""
    report = _convert_tool(tool, where)
    if report.errors:
        raise report.errors[0]
    return list(report.specs)


def convert_toolbench_file(path: str | Path) -> ConversionReport:
    """A StableToolBench ``.jsonl`` (one tool a line) or one original ``.json`` tool file."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return collect(read_json_lines(path), _convert_tool)
    document = load_document(path)
    tools = document if isinstance(document, list) else [document]
    return collect(((f"{path.name}[{i}]", t) for i, t in enumerate(tools)), _convert_tool)


def _convert_tool(tool: Any, where: str) -> ConversionReport:
    if not isinstance(tool, dict):
        raise SpecError(where, "<root>", "a tool must be an object")
    tool_name = tool.get("tool_name") or tool.get("name")
    if not isinstance(tool_name, str) or not tool_name.strip():
        raise SpecError(where, "tool_name", "is missing")
    apis = tool.get("api_list")
    if not isinstance(apis, list):
        raise SpecError(where, "api_list", "must be a list")
    category = str(tool.get("category_name") or tool.get("category") or "general")
    host = tool["host"] if isinstance(tool.get("host"), str) else ""
    tool_slug = sanitize_name(tool_name, lower=True)
    taken: set[str] = set()
    specs: list[ApiSpec] = []
    errors: list[SpecError] = []
    renames: list[Rename] = []
    for i, api in enumerate(apis):
        api_where = f"{where}#api_list[{i}]"
        try:
            spec, api_renames = _convert_api(
                api,
                where=api_where,
                tool_name=tool_name,
                tool_slug=tool_slug,
                tool_description=str(tool.get("tool_description") or ""),
                category=category,
                host=host,
                taken=taken,
            )
        except SpecError as exc:
            errors.append(exc)
            continue
        specs.append(spec)
        renames.extend(api_renames)
    return ConversionReport(tuple(specs), tuple(errors), tuple(renames))


def _convert_api(
    api: Any,
    *,
    where: str,
    tool_name: str,
    tool_slug: str,
    tool_description: str,
    category: str,
    host: str,
    taken: set[str],
) -> tuple[ApiSpec, list[Rename]]:
    if not isinstance(api, dict):
        raise SpecError(where, "<root>", "an API must be an object")
    api_name = api.get("api_name") or api.get("name")
    if not isinstance(api_name, str):
        raise SpecError(where, "api_name", "is missing")
    api_slug = sanitize_name(api_name, lower=True, reserved=TOOLBENCH_RESERVED)
    name = unique_name(f"{api_slug}_for_{tool_slug}", taken, clip=True)
    renames = [Rename(where, "name", api_name, name)]
    properties: dict[str, Any] = {}
    required: list[str] = []
    wire: dict[str, str] = {}
    for group in ("required_parameters", "optional_parameters"):
        params = api.get(group, [])
        if not isinstance(params, list):
            raise SpecError(where, group, "must be a list")
        for j, param in enumerate(params):
            field = f"{group}[{j}]"
            if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                raise SpecError(where, f"{field}.name", "is missing")
            original = param["name"]
            if original in wire.values():
                continue  # RapidAPI lists a few parameters twice; the first one wins
            pname = unique_name(
                sanitize_name(original, lower=True, reserved=TOOLBENCH_RESERVED), set(properties)
            )
            schema = rapidapi_type_schema(param.get("type"), where=where, field=f"{field}.type")
            if isinstance(param.get("description"), str) and param["description"]:
                schema["description"] = param["description"]
            if pname != original:
                schema["title"] = original
                renames.append(Rename(where, f"parameters.{pname}", original, pname))
            raw_default = param.get("default")
            if raw_default not in (None, ""):
                schema["examples"] = [_example(raw_default, schema)]
            properties[pname] = schema
            wire[pname] = original
            if group == "required_parameters":
                required.append(pname)
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    template = api.get("template_response")
    spec = ApiSpec.create(
        where=where,
        name=name,
        description=str(api.get("api_description") or api.get("description") or "").strip()
        or tool_description
        or api_name,
        parameters=parameters,
        category=category,
        returns=_template_text(template),
        binding=_binding(api, host=host, wire=wire, where=where),
        source=f"toolbench:{category}/{tool_name}",
    )
    return spec, renames


def _template_text(template: Any) -> str:
    """The example response as JSON text ("" when absent or not expressible as JSON)."""
    if not template:
        return ""
    try:
        return json.dumps(template, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return ""


def _binding(
    api: dict[str, Any], *, host: str, wire: dict[str, str], where: str
) -> RestBinding | None:
    """Path placeholders are rewritten to the spec's parameter names (``{pname}``)."""
    url = api.get("url")
    if not host or not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise SpecError(where, "url", f"{url[:200]!r} is not a URL: {exc}") from None
    if hostname != host:
        raise SpecError(where, "url", f"host {hostname!r} is not the tool's host {host!r}")
    method = api.get("method") or "GET"
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise SpecError(where, "method", f"{method!r} is not an HTTP method")
    path = parts.path or "/"
    rest_params: list[RestParameter] = []
    for pname, original in wire.items():
        if "{" + original + "}" in path:
            path = path.replace("{" + original + "}", "{" + pname + "}")
            rest_params.append(RestParameter(pname, "path"))
        else:
            rest_params.append(RestParameter(pname, "query", original if original != pname else ""))
    return RestBinding(
        base_url=f"{parts.scheme or 'https'}://{parts.netloc}",
        method=method.upper(),
        path=path,
        parameters=tuple(rest_params),
        auth_env=RAPIDAPI_AUTH_ENV,
        auth_header=RAPIDAPI_AUTH_HEADER,
    )
