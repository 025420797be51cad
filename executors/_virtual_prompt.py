"""What a virtual API is asked, what its answer must look like, and a reference answerer.

:func:`virtual_messages` renders the prompt a simulator model gets for one call: a system
message saying what a virtual API server does and how to answer, then the API in a
``<virtual_api>`` block (name, description, category, parameter schema, the documented
response ``template_response`` and examples) and the arguments in a ``<virtual_call>``
block. Block contents are JSON with every ``<`` escaped, so no text from a catalogue can
forge or close a block.

The answer is JSON matching :data:`REPLY_SCHEMA`: ``{"ok": true, "response": ...}`` (the
body the API would return) or ``{"ok": false, "error": "..."}`` (the error the API would
give: the simulator is told to answer so when the call makes no sense). :func:`reply_problem`
says what is wrong with one, including a response that does not fit the documented shape.

The documented shape comes from :attr:`ApiSpec.returns` when it holds a ToolBench
``template_response`` (a JSON object or list whose leaves name types: ``"str"``,
``"int"``, ``"float"``, ``"bool"``, ``"NoneType"``, ``"empty list"``, ``"list of str with
length 3"``; a list's ``_list_length`` is its length in the real response).
:func:`response_schema` turns it into a JSON Schema: the template's top-level keys are
required, every key present is type-checked at any depth, ``null`` is accepted for any
scalar (real APIs null fields out), other keys are allowed. A ``returns`` that is prose
(OpenAPI response descriptions, Python docstrings) documents no shape: nothing is checked.

:func:`reference_reply` answers a virtual-API prompt without a model, deterministically
from the API and the arguments (the template filled with values derived from them; an
error when a required string argument is blank): what the simulated endpoint and tests use.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import orjson

from ._spec import ApiSpec

__all__ = [
    "PROMPT_VERSION",
    "REPLY_SCHEMA",
    "VirtualMessage",
    "reference_reply",
    "reply_problem",
    "response_schema",
    "response_template",
    "virtual_messages",
]

PROMPT_VERSION = "virtual-1"
"""Version of the prompt below; stored with every simulated response as its provenance."""

MAX_TEMPLATE_CHARS = 6_000
"""Longest documented response put in a prompt, in characters (longer ones are cut)."""

MAX_TEMPLATE_DEPTH = 24
"""Deepest template level turned into schema; below it any value is accepted."""

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "response": {},
        "error": {"type": "string"},
    },
    "required": ["ok"],
}
"""The JSON a simulator answers with (the response body itself is checked separately)."""


class VirtualMessage(TypedDict):
    """One chat message (the same shape as the OpenAI chat API's and the LLM clients')."""

    role: Literal["system", "user", "assistant"]
    content: str


SYSTEM = """\
You are a virtual API server. The API in <virtual_api> cannot be called, so you answer \
each call to it exactly as the real API would. Use its description, its parameter schema \
and its documented response ("template_response": field names with their types; \
"_list_length" is the length of that list in a real response) to write a realistic \
response for the arguments in <virtual_call>: the same fields and types as documented, \
values consistent with the arguments (an id asked for is the id returned) and with the \
API's domain. When the call makes no sense for this API (arguments that name nothing it \
could find, contradict each other, or fall outside what it serves), answer with the error \
the API would give. Reply with JSON only: {"ok": true, "response": <the response body>} \
or {"ok": false, "error": "<the API's error message>"}."""

USER = """\
<virtual_api>
{api}
</virtual_api>
<virtual_call>
{arguments}
</virtual_call>"""


def _block(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def response_template(spec: ApiSpec) -> Any:
    """The documented response template of ``spec`` (a JSON object or list), or None.

    ToolBench keeps some templates as JSON text inside a JSON string; those are read too.
    """
    value: Any = spec.returns
    for _ in range(2):
        if not isinstance(value, str):
            break
        text = value.strip()
        if not text.startswith(("{", "[", '"')):
            return None
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
    return value if isinstance(value, dict | list) and value else None


def virtual_messages(
    spec: ApiSpec, arguments: Mapping[str, Any], *, feedback: str = ""
) -> list[VirtualMessage]:
    """The prompt for one call; ``feedback`` says what was wrong with the previous reply."""
    api: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "category": spec.category,
        "parameters": spec.parameters,
    }
    template = response_template(spec)
    if template is not None:
        text = _block(template)
        api["template_response"] = (
            template if len(text) <= MAX_TEMPLATE_CHARS else text[:MAX_TEMPLATE_CHARS] + "..."
        )
    elif spec.returns:
        api["returns"] = spec.returns[:MAX_TEMPLATE_CHARS]
    if spec.examples:
        api["examples"] = list(spec.examples[:3])
    messages: list[VirtualMessage] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER.format(api=_block(api), arguments=_block(arguments))},
    ]
    if feedback:
        messages.append(
            {"role": "user", "content": f"Your previous reply was not usable: {feedback} "
             "Answer the same call again, following the rules."}
        )  # fmt: skip
    return messages


_LIST_OF = re.compile(r"^list of (\w+) with length (\d+)$")
_LEAF_TYPES: dict[str, str] = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
}


def _scalar_list(node: list[Any]) -> bool:
    """ToolBench writes a list of scalars as ``["list of str with length 3"]``."""
    return len(node) == 1 and isinstance(node[0], str) and _LIST_OF.match(node[0]) is not None


def _leaf_schema(leaf: Any) -> dict[str, Any]:
    if not isinstance(leaf, str):
        return {}
    if leaf in _LEAF_TYPES:
        return {"type": [_LEAF_TYPES[leaf], "null"]}
    if leaf == "empty list":
        return {"type": ["array", "null"]}
    if match := _LIST_OF.match(leaf):
        item = _LEAF_TYPES.get(match[1])
        return {"type": ["array", "null"], "items": {"type": [item, "null"]} if item else {}}
    return {}  # "NoneType" (seen null: type unknown) and literal example values


def response_schema(template: Any) -> dict[str, Any] | None:
    """A JSON Schema of the responses ``template`` documents (see the module docstring),
    or None when it documents no shape. Built without recursion, depth-capped."""
    if not isinstance(template, dict | list):
        return None
    root: dict[str, Any] = {}
    stack: list[tuple[Any, dict[str, Any], int]] = [(template, root, 0)]
    while stack:
        node, out, depth = stack.pop()
        if depth > MAX_TEMPLATE_DEPTH:
            continue
        if isinstance(node, dict):
            out["type"] = "object" if depth == 0 else ["object", "null"]
            props: dict[str, Any] = {}
            for key, sub in node.items():
                if key == "_list_length":
                    continue
                props[key] = {}
                stack.append((sub, props[key], depth + 1))
            out["properties"] = props
            if depth == 0 and props:
                out["required"] = sorted(props)
        elif isinstance(node, list):
            out["type"] = "array" if depth == 0 else ["array", "null"]
            if _scalar_list(node):
                out["items"] = _leaf_schema(node[0])["items"]
            elif node:
                out["items"] = {}
                stack.append((node[0], out["items"], depth + 1))
        else:
            out.update(_leaf_schema(node))
    return root


def reply_problem(reply: Any) -> str:
    """What makes ``reply`` not a reply of :data:`REPLY_SCHEMA` ("" when it is one)."""
    if not isinstance(reply, dict):
        return f"the reply must be a JSON object, not {type(reply).__name__}"
    ok = reply.get("ok")
    if not isinstance(ok, bool):
        return "the reply has no boolean 'ok'"
    if ok and "response" not in reply:
        return "an ok reply must carry the API's 'response'"
    if not ok:
        error = reply.get("error")
        if not isinstance(error, str) or not error.strip():
            return "an error reply must carry the API's 'error' message"
    return ""


# --- the reference answerer -------------------------------------------------------------

_WORDS = ("alpha", "delta", "orbit", "maple", "harbor", "cobalt", "meadow", "summit")


def _seeded(api: Mapping[str, Any], arguments: Any) -> random.Random:
    digest = hashlib.blake2b(
        orjson.dumps([api.get("name"), arguments], option=orjson.OPT_SORT_KEYS), digest_size=8
    ).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _fill_leaf(leaf: Any, key: str, arguments: Mapping[str, Any], rng: random.Random) -> Any:
    # ToolBench renames reserved parameter names (``id`` -> ``is_id``).
    echoed = arguments.get(key, arguments.get(f"is_{key}"))
    if leaf == "str":
        return echoed if isinstance(echoed, str) else f"{key or 'value'}-{rng.choice(_WORDS)}"
    if leaf == "int":
        is_int = isinstance(echoed, int) and not isinstance(echoed, bool)
        return echoed if is_int else rng.randint(1, 1000)
    if leaf == "float":
        return round(rng.uniform(0, 1000), 2)
    if leaf == "bool":
        return rng.random() < 0.5
    if leaf in ("NoneType", "empty list"):
        return None if leaf == "NoneType" else []
    if isinstance(leaf, str) and (match := _LIST_OF.match(leaf)):
        n = min(int(match[2]), 5)
        return [_fill_leaf(match[1], key, {}, rng) for _ in range(n)]
    return leaf


def _fill(template: Any, arguments: Mapping[str, Any], rng: random.Random) -> Any:
    """The template with every type name replaced by a value (lists of at most 3 items)."""
    root: list[Any] = [None]
    stack: list[tuple[Any, list[Any] | dict[str, Any], Any, str, int]] = [
        (template, root, 0, "", 0)
    ]
    while stack:
        node, parent, slot, key, depth = stack.pop()
        if depth > MAX_TEMPLATE_DEPTH:
            value: Any = None
        elif isinstance(node, dict):
            value = {}
            for k, sub in node.items():
                if k != "_list_length":
                    stack.append((sub, value, k, k, depth + 1))
        elif isinstance(node, list) and _scalar_list(node):
            value = _fill_leaf(node[0], key, {}, rng)
        elif isinstance(node, list):
            length = node[0].get("_list_length", 1) if node and isinstance(node[0], dict) else 1
            count = min(length, 3) if isinstance(length, int) and length > 0 else 1
            value = [None] * (count if node else 0)
            for i in range(len(value)):
                stack.append((node[0], value, i, key, depth + 1))
        else:
            value = _fill_leaf(node, key, arguments, rng)
        parent[slot] = value
    return root[0]


def reference_reply(prompt: str) -> dict[str, Any] | None:
    """A deterministic reply to a :func:`virtual_messages` prompt (its user text), or None
    when ``prompt`` holds no ``<virtual_api>`` block. Raises ValueError when a block is
    not JSON."""
    api_text = _between(prompt, "virtual_api")
    if api_text is None:
        return None
    try:
        api = orjson.loads(api_text)
        arguments = orjson.loads(_between(prompt, "virtual_call") or "{}")
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"a virtual-API block is not JSON: {exc}") from None
    if not isinstance(api, dict) or not isinstance(arguments, dict):
        raise ValueError("the <virtual_api> and <virtual_call> blocks must be JSON objects")
    parameters = api.get("parameters") if isinstance(api.get("parameters"), dict) else {}
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    for name in parameters.get("required", ()) if isinstance(parameters, dict) else ():
        kind = properties.get(name, {}).get("type") if isinstance(properties, dict) else None
        value = arguments.get(name)
        if kind == "string" and isinstance(value, str) and not value.strip():
            return {"ok": False, "error": f"{name}: must not be empty"}
    rng = _seeded(api, arguments)
    template = api.get("template_response")
    if isinstance(template, str):  # cut for length in the prompt: answer without it
        template = None
    if isinstance(template, dict | list) and template:
        return {"ok": True, "response": _fill(template, arguments, rng)}
    return {
        "ok": True,
        "response": {"result": f"{api.get('name', 'api')}: {rng.choice(_WORDS)}", **arguments},
    }


def _between(text: str, tag: str) -> str | None:
    start = text.find(f"<{tag}>")
    if start < 0:
        return None
    start += len(tag) + 2
    end = text.find(f"</{tag}>", start)
    return text[start:end].strip() if end >= 0 else None


def prompt_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The user texts of ``messages`` joined: what :func:`reference_reply` reads."""
    return "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
