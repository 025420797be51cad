"""OpenAPI 3.x documents -> one :class:`~executors.ApiSpec` per operation.

Each operation becomes a spec whose parameters are its path, query and header parameters
plus, for a JSON request body, the body's top-level properties (location ``body``); a body
that is not an object becomes one ``body`` parameter sent as the whole body
(:data:`~executors.WHOLE_BODY`). Schemas are normalized by :class:`RefResolver`.

Names come from ``operationId`` (sanitized); without one, ``method_path``
(``get_pets_petId``) or, with ``naming="path_method"``, ToolAlpaca's ``pets_petId_get``.
Parameter names that are not identifiers (``X-Request-Id``) are sanitized and keep their
wire name in the binding.

The binding's ``base_url`` is ``servers[0]`` (of the operation, path item or document, in
that order) with server variables set to their defaults; a relative server URL is resolved
against the ``base_url`` argument. An ``apiKey`` security scheme sent in a header becomes
``auth_header``; its environment variable is ``auth_env`` if given, else derived from the
API title and scheme name (``SWAGGER_PETSTORE_API_KEY``). Other schemes (OAuth2, HTTP
basic) are not expressible in a binding and are left to the executor's configuration.

References (``$ref``) resolve inside the document; into other files only beside a document
read from a file (within its directory); to remote documents only through ``fetch``, which
is off by default (see :mod:`~executors.converters._openapi_schema`).

Usage::

    report = convert_openapi("petstore.yaml")
    report = convert_openapi("api.yaml", fetch=lambda url: fetch_url(url, policy).text)
    specs = specs_from_openapi(document, base_url="https://api.example.com")
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from .._errors import SpecError
from .._spec import WHOLE_BODY, ApiSpec, RestBinding, RestParameter
from ._common import ConversionReport, Rename, load_document, sanitize_name, unique_name
from ._openapi_schema import Fetch, RefResolver

__all__ = ["Fetch", "RefResolver", "convert_openapi", "specs_from_openapi"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
"""Header parameters OpenAPI says to ignore (they are set by the media type and auth)."""

Naming = Literal["method_path", "path_method"]


def specs_from_openapi(
    document: dict[str, Any] | str | Path,
    *,
    base_url: str | None = None,
    auth_env: str | None = None,
    source: str | None = None,
    category: str | None = None,
    naming: Naming = "method_path",
    fetch: Fetch | None = None,
) -> list[ApiSpec]:
    """All operations as specs; raises :class:`SpecError` on the first that fails."""
    report = convert_openapi(
        document,
        base_url=base_url,
        auth_env=auth_env,
        source=source,
        category=category,
        naming=naming,
        fetch=fetch,
    )
    if report.errors:
        raise report.errors[0]
    return list(report.specs)


def convert_openapi(
    document: dict[str, Any] | str | Path,
    *,
    base_url: str | None = None,
    auth_env: str | None = None,
    source: str | None = None,
    category: str | None = None,
    naming: Naming = "method_path",
    where: str | None = None,
    fetch: Fetch | None = None,
) -> ConversionReport:
    """All operations of a document (a dict, or a JSON/YAML file); one error per failed
    operation. ``category`` defaults to each operation's first tag, else ``general``.
    ``fetch`` reads remote documents that references name (None: they are refused)."""
    path: Path | None = None
    if isinstance(document, str | Path):
        path = Path(document)
        where = where or path.name
        document = load_document(path)
    where = where or "<openapi>"
    if not isinstance(document, dict):
        raise SpecError(where, "<root>", "an OpenAPI document must be an object")
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        raise SpecError(where, "openapi", f"only OpenAPI 3.x is supported, got {version!r}")
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise SpecError(where, "paths", "must be an object")
    info: dict[str, Any] = document["info"] if isinstance(document.get("info"), dict) else {}
    title = str(info.get("title") or where)
    converter = _Converter(
        document,
        resolver=RefResolver(document, where=where, path=path, fetch=fetch),
        where=where,
        base_url=base_url,
        auth_env=auth_env or "",
        source=source or f"openapi:{sanitize_name(title, lower=True)}",
        category=category,
        naming=naming,
        title=title,
    )
    specs: list[ApiSpec] = []
    errors: list[SpecError] = []
    renames: list[Rename] = []
    for path, item in paths.items():
        try:
            item = converter.resolver.deref(item, field=f"paths.{path}")
        except SpecError as exc:
            errors.append(exc)
            continue
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            if not isinstance(item.get(method), dict):
                continue  # malformed documents nest other things under a path; skip them
            try:
                spec, op_renames = converter.operation(str(path), method, item)
            except SpecError as exc:
                errors.append(exc)
                continue
            specs.append(spec)
            renames.extend(op_renames)
    return ConversionReport(tuple(specs), tuple(errors), tuple(renames))


class _Converter:
    """Per-document state: resolver, names taken so far, defaults for the binding."""

    def __init__(
        self,
        document: dict[str, Any],
        *,
        resolver: RefResolver,
        where: str,
        base_url: str | None,
        auth_env: str,
        source: str,
        category: str | None,
        naming: Naming,
        title: str,
    ) -> None:
        self.document = document
        self.resolver = resolver
        self.where = where
        self.base_url = base_url
        self.auth_env = auth_env
        self.source = source
        self.category = category
        self.naming = naming
        self.title = title
        self.taken: set[str] = set()

    def operation(
        self, path: str, method: str, item: dict[str, Any]
    ) -> tuple[ApiSpec, list[Rename]]:
        op: dict[str, Any] = item[method]
        field = f"paths.{path}.{method}"
        raw_name = op.get("operationId")
        if isinstance(raw_name, str) and raw_name.strip():
            name = sanitize_name(raw_name)
        else:
            raw_name = f"{method}_{path}" if self.naming == "method_path" else f"{path}_{method}"
            name = sanitize_name(raw_name.replace("{", "").replace("}", ""))
        name = unique_name(name, self.taken)
        renames = (
            [] if name == raw_name else [Rename(self.where, f"{field}.operationId", raw_name, name)]
        )

        properties: dict[str, Any] = {}
        required: list[str] = []
        rest: list[RestParameter] = []
        template = "/" + path.lstrip("/")
        for param in self._parameters(item, op, field=field):
            pname = unique_name(sanitize_name(param["name"]), set(properties))
            where_field = f"{field}.parameters.{param['name']}"
            schema = self._param_schema(param, field=where_field)
            properties[pname] = schema
            if param["in"] == "path" or param.get("required") is True:
                required.append(pname)
            wire = param["name"] if pname != param["name"] else ""
            if param["in"] == "path":
                template = template.replace("{" + param["name"] + "}", "{" + pname + "}")
                wire = ""
            if pname != param["name"]:
                renames.append(Rename(self.where, f"{field}.parameters", param["name"], pname))
            rest.append(RestParameter(pname, param["in"], wire))
        for pname, schema, is_required, wire in self._body(op, field=field, taken=set(properties)):
            properties[pname] = schema
            if is_required:
                required.append(pname)
            rest.append(RestParameter(pname, "body", wire))

        parameters: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            parameters["required"] = required
        auth_header, auth_env = self._auth(op)
        binding = RestBinding(
            base_url=self._server(op, item, field=field),
            method=method.upper(),
            path=template,
            parameters=tuple(rest),
            auth_env=auth_env,
            auth_header=auth_header,
        )
        tags = op.get("tags")
        spec = ApiSpec.create(
            where=f"{self.where}#{field}",
            name=name,
            description=_description(op, item),
            parameters=parameters,
            category=self.category
            or (str(tags[0]) if isinstance(tags, list) and tags else "general"),
            returns=self._returns(op, field=field),
            binding=binding,
            source=self.source,
        )
        return spec, renames

    def _parameters(
        self, item: dict[str, Any], op: dict[str, Any], *, field: str
    ) -> list[dict[str, Any]]:
        """Path-item and operation parameters, the operation's overriding by (name, in)."""
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for level, params in (("", item.get("parameters")), (".op", op.get("parameters"))):
            if params is None:
                continue
            if not isinstance(params, list):
                raise SpecError(self.where, f"{field}{level}.parameters", "must be a list")
            for i, raw in enumerate(params):
                pfield = f"{field}.parameters[{i}]"
                param = self.resolver.deref(raw, field=pfield)
                if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                    raise SpecError(self.where, f"{pfield}.name", "is missing")
                location = param.get("in")
                if location not in ("path", "query", "header", "cookie"):
                    raise SpecError(self.where, f"{pfield}.in", f"unknown location {location!r}")
                merged[(param["name"], location)] = param
        return [
            p
            for (pname, location), p in merged.items()
            if location != "cookie"
            and not (location == "header" and pname.lower() in _IGNORED_HEADERS)
        ]

    def _param_schema(self, param: dict[str, Any], *, field: str) -> dict[str, Any]:
        raw = param.get("schema")
        if raw is None and isinstance(param.get("content"), dict) and param["content"]:
            raw = next(iter(param["content"].values())).get("schema")
        schema = self.resolver.schema(raw if raw is not None else {}, field=f"{field}.schema")
        if isinstance(param.get("description"), str) and param["description"]:
            schema["description"] = param["description"]
        if "example" in param and "examples" not in schema:
            schema["examples"] = [param["example"]]
        return schema

    def _body(
        self, op: dict[str, Any], *, field: str, taken: set[str]
    ) -> list[tuple[str, dict[str, Any], bool, str]]:
        """``(name, schema, required, wire_name)`` for each body parameter."""
        if "requestBody" not in op:
            return []
        bfield = f"{field}.requestBody"
        body = self.resolver.deref(op["requestBody"], field=bfield)
        if not isinstance(body, dict):
            raise SpecError(self.where, bfield, "must be an object")
        content: dict[str, Any] = body["content"] if isinstance(body.get("content"), dict) else {}
        media = next((m for m in content if _is_json(m)), None)
        body_required = body.get("required") is True
        if media is None:
            if body_required:
                raise SpecError(
                    self.where, f"{bfield}.content", f"no JSON media type (has {list(content)})"
                )
            return []
        media_obj = content[media] if isinstance(content[media], dict) else {}
        schema = self.resolver.schema(media_obj.get("schema", {}), field=f"{bfield}.schema")
        props = schema.get("properties")
        if schema.get("type") in ("object", None) and isinstance(props, dict) and props:
            inner_required = set(schema.get("required", []))
            out = []
            for prop, sub in props.items():
                pname = sanitize_name(prop)
                if pname in taken:
                    pname = f"body_{pname}"
                pname = unique_name(pname, taken)
                wire = prop if pname != prop else ""
                out.append((pname, sub, body_required and prop in inner_required, wire))
            return out
        if isinstance(body.get("description"), str) and "description" not in schema:
            schema["description"] = body["description"]
        return [(unique_name("body", taken), schema, body_required, WHOLE_BODY)]

    def _server(self, op: dict[str, Any], item: dict[str, Any], *, field: str) -> str:
        for holder, sfield in ((op, field), (item, field.rsplit(".", 1)[0]), (self.document, "")):
            servers = holder.get("servers")
            if isinstance(servers, list) and servers and isinstance(servers[0], dict):
                return self._server_url(servers[0], field=f"{sfield}.servers[0]".lstrip("."))
        if self.base_url:
            return self.base_url.rstrip("/")
        raise SpecError(self.where, "servers", "no server URL; pass base_url")

    def _server_url(self, server: dict[str, Any], *, field: str) -> str:
        url = server.get("url")
        if not isinstance(url, str):
            raise SpecError(self.where, f"{field}.url", "is missing")
        variables: dict[str, Any] = (
            server["variables"] if isinstance(server.get("variables"), dict) else {}
        )

        def substitute(match: re.Match[str]) -> str:
            var = variables.get(match.group(1))
            if not isinstance(var, dict) or "default" not in var:
                raise SpecError(self.where, f"{field}.variables.{match.group(1)}", "has no default")
            return str(var["default"])

        url = re.sub(r"\{([^{}]+)\}", substitute, url)
        if not urlsplit(url).scheme:
            if not self.base_url:
                raise SpecError(self.where, f"{field}.url", f"{url!r} is relative; pass base_url")
            url = urljoin(self.base_url.rstrip("/") + "/", url.lstrip("/") if url != "/" else "")
        return url.rstrip("/")

    def _auth(self, op: dict[str, Any]) -> tuple[str, str]:
        """``(auth_header, auth_env)`` of the first apiKey-in-header scheme required."""
        requirements = op.get("security", self.document.get("security"))
        components = self.document.get("components")
        schemes = components.get("securitySchemes") if isinstance(components, dict) else None
        if not isinstance(requirements, list) or not isinstance(schemes, dict):
            return "", ""
        for requirement in requirements:
            for scheme_name in requirement if isinstance(requirement, dict) else ():
                scheme = self.resolver.deref(
                    schemes.get(scheme_name), field=f"components.securitySchemes.{scheme_name}"
                )
                if (
                    isinstance(scheme, dict)
                    and scheme.get("type") == "apiKey"
                    and scheme.get("in") == "header"
                    and isinstance(scheme.get("name"), str)
                ):
                    env = self.auth_env or sanitize_name(f"{self.title}_{scheme_name}").upper()
                    return scheme["name"], env
        return "", ""

    def _returns(self, op: dict[str, Any], *, field: str) -> str:
        responses = op.get("responses")
        if not isinstance(responses, dict):
            return ""
        for code in sorted(str(c) for c in responses):
            if code.startswith("2"):
                key = code if code in responses else int(code)
                response = self.resolver.deref(responses[key], field=f"{field}.responses.{code}")
                if isinstance(response, dict):
                    return str(response.get("description") or "")
        return ""


def _is_json(media: str) -> bool:
    media = media.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json") or media == "*/*"


def _description(op: dict[str, Any], item: dict[str, Any]) -> str:
    summary = str(op.get("summary") or item.get("summary") or "").strip()
    description = str(op.get("description") or item.get("description") or "").strip()
    if summary and description and description != summary:
        return f"{summary}\n\n{description}"
    return summary or description
