"""Render a :class:`~streamer.dataset._trajectory_store.TrajectoryStore` into dataset files.

Formats (:data:`TRAJECTORY_FILES`), one JSON object per line, streamed from the store in
its stable order and written under a temporary name then renamed, as the single-turn
exports are:

- ``sharegpt``   ``trajectories.sharegpt.jsonl``: the multi-turn ShareGPT shape LLaMA-Factory
                 reads (``formatting: sharegpt`` with ``tools`` and ``system`` columns):
                 ``{"id", "conversations": [{"from", "value"}], "tools", "system",
                 "domain", "env_seed"}``, the conversation opening with a ``system`` turn
                 (the policy);
- ``openai``     ``trajectories.openai.jsonl``: ``{"id", "messages", "tools", "domain",
                 "env_seed"}``, OpenAI chat messages (system, user, assistant with
                 ``tool_calls``, ``tool`` messages with ``tool_call_id``) and ``tools`` as
                 ``{"type": "function", "function"}``;
- ``apigen-mt``  ``apigen-mt.jsonl``: the rows of the APIGen-MT-5k release
                 (``Salesforce/APIGen-MT-5k`` on the Hugging Face Hub, ``apigen-mt_5k.json``),
                 exactly its three keys: ``conversations`` (``from`` ``human`` | ``gpt`` |
                 ``function_call`` | ``observation``), ``tools`` (JSON text of a list of
                 ``{"name", "description", "parameters"}``) and ``system`` (the domain
                 policy). The release card documents the shape as "ShareGPT-like" with a
                 ``function_call`` value ``{"name", "arguments"}`` as JSON text and the tool
                 result as the ``observation``; its viewer shows conversations of 3 to 56
                 entries, opening with ``human`` and without a system turn, ``tools`` and
                 ``system`` as strings (two system prompts: the airline and retail
                 policies).

ShareGPT-shaped rows (``sharegpt``, ``apigen-mt``) alternate as LLaMA-Factory checks them:
``human`` or ``observation`` on even positions, ``gpt`` or ``function_call`` on odd ones
(after the system turn). Each call of an assistant turn is one ``function_call`` entry
(``{"name", "arguments"}`` as JSON text) followed by its ``observation``. To keep that
alternation: consecutive user turns are joined with a blank line, and so are consecutive
assistant texts; the agent's text just before its calls (in the calling turn or the one
before it) and agent text before the first user turn (a greeting) have no place in the
shape and are left out (the OpenAI export keeps both); a user turn right after a result
gets an empty ``gpt`` entry before it (the agent said nothing). ``sharegpt`` rows end on
the agent (trailing user turns, which train nothing, are left out), while ``apigen-mt``
rows keep them, as the release's do. The calls, and so the actions, are never left out.

``domain`` and ``env_seed`` (the ``sharegpt`` and ``openai`` rows; not ``apigen-mt``, which
keeps the release's keys) name the environment and the seed it was reset to, so ``apigen
check`` can replay the conversation's calls and compare every result with its observation.

OpenAI tool call ids are ``call_<n>``, ``n`` counting the record's calls from 0: the same
record always gets the same ids, and every ``tool`` message names its call's.

Hostile text never breaks a line: JSON escapes newlines and quotes, and U+2028, U+2029 and
U+0085 (line breaks to ``str.splitlines`` and some JSON Lines readers, left raw by orjson)
are written as escapes. Text JSON cannot carry never reaches the store (see
:func:`~streamer.dataset._trajectory_store.trajectory_row`).

Usage::

    paths = export_trajectories(store, out_dir)        # {"sharegpt": Path(...), ...}
    card = trajectory_summary(store)                   # counts for the dataset card
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from ._export import _write_atomic
from ._trajectory_store import StoredTrajectory, TrajectoryStore

__all__ = [
    "TRAJECTORY_FILES",
    "TRAJECTORY_FORMATS",
    "apigen_mt_row",
    "export_apigen_mt",
    "export_openai_trajectories",
    "export_sharegpt_trajectories",
    "export_trajectories",
    "jsonl_line",
    "openai_trajectory_row",
    "sharegpt_trajectory_row",
    "trajectory_summary",
]

TRAJECTORY_FILES = {
    "sharegpt": "trajectories.sharegpt.jsonl",
    "openai": "trajectories.openai.jsonl",
    "apigen-mt": "apigen-mt.jsonl",
}
"""Export format -> file name in the output directory."""

TRAJECTORY_FORMATS = tuple(TRAJECTORY_FILES)

_LINE_BREAKS = (
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
    (b"\xc2\x85", b"\\u0085"),
)
# These byte sequences are only ever these characters in UTF-8 (a lead byte is never a
# continuation byte), and orjson writes them only inside strings, where the escape means
# the same: the replacement changes the line's bytes, not its value.


def jsonl_line(row: dict[str, Any]) -> bytes:
    """``row`` as one JSON Lines line (no newline): orjson's JSON with the characters that
    readers may take for line breaks escaped."""
    data = orjson.dumps(row)
    for raw, escaped in _LINE_BREAKS:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def _call_json(call: dict[str, Any]) -> str:
    return orjson.dumps({"name": call["name"], "arguments": call["arguments"]}).decode()


def _sharegpt_conversation(t: StoredTrajectory, *, trailing_user: bool) -> list[dict[str, str]]:
    """The turns as ShareGPT entries that alternate (see the module docstring)."""
    conv: list[dict[str, str]] = []

    def add(kind: str, text: str) -> None:
        last = conv[-1]["from"] if conv else ""
        if kind == last and kind in ("human", "gpt"):
            conv[-1]["value"] = "\n\n".join(v for v in (conv[-1]["value"], text) if v)
            return
        if kind == "function_call" and last == "gpt":
            conv.pop()  # the agent's text just before its calls has no place in the shape
        elif kind == "human" and last == "observation":
            conv.append({"from": "gpt", "value": ""})  # the agent said nothing, the user spoke
        conv.append({"from": kind, "value": text})

    pending: list[dict[str, Any]] = []  # the last assistant turn's calls not yet answered
    for turn in t.turns:
        role = turn["role"]
        if role == "user":
            add("human", turn["content"])
        elif role == "tool":
            # The store guarantees each tool turn answers the next pending call: the call
            # goes right before its result, so several calls alternate with their results.
            add("function_call", _call_json(pending.pop(0)))
            add("observation", turn["content"])
        elif turn["calls"]:
            pending = list(turn["calls"])
        elif conv:  # agent text before the first user turn (a greeting) is left out
            add("gpt", turn["content"])
    if not trailing_user:
        while conv and conv[-1]["from"] == "human":
            conv.pop()
    return conv


def _tools_json(t: StoredTrajectory) -> str:
    return orjson.dumps(t.tools).decode()


def _environment(t: StoredTrajectory) -> dict[str, Any]:
    """The keys that let ``apigen check`` replay the row: its domain and seed."""
    return {"domain": t.domain, "env_seed": t.env_seed}


def sharegpt_trajectory_row(t: StoredTrajectory) -> dict[str, Any]:
    """One ``trajectories.sharegpt.jsonl`` row (LLaMA-Factory's multi-turn ShareGPT)."""
    conv = [{"from": "system", "value": t.policy}]
    conv += _sharegpt_conversation(t, trailing_user=False)
    return {
        "id": t.id,
        "conversations": conv,
        "tools": _tools_json(t),
        "system": t.policy,
        **_environment(t),
    }


def apigen_mt_row(t: StoredTrajectory) -> dict[str, Any]:
    """One ``apigen-mt.jsonl`` row, in the APIGen-MT-5k release's shape."""
    conv = _sharegpt_conversation(t, trailing_user=True)
    return {"conversations": conv, "tools": _tools_json(t), "system": t.policy}


def openai_trajectory_row(t: StoredTrajectory) -> dict[str, Any]:
    """One ``trajectories.openai.jsonl`` row: chat messages with ``tool_calls``."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": t.policy}]
    pending: list[str] = []  # ids of the last assistant turn's calls, in order
    counter = 0
    for turn in t.turns:
        role = turn["role"]
        if role == "user":
            messages.append({"role": "user", "content": turn["content"]})
        elif role == "tool":
            # The store guarantees each tool turn answers the next pending call.
            messages.append(
                {"role": "tool", "tool_call_id": pending.pop(0), "content": turn["content"]}
            )
        else:
            message: dict[str, Any] = {"role": "assistant", "content": turn["content"] or None}
            if turn["calls"]:
                pending = [f"call_{counter + i}" for i in range(len(turn["calls"]))]
                counter += len(pending)
                message["tool_calls"] = [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": call["name"],
                            "arguments": orjson.dumps(call["arguments"]).decode(),
                        },
                    }
                    for call_id, call in zip(pending, turn["calls"], strict=True)
                ]
            messages.append(message)
    tools = [
        {
            "type": "function",
            "function": {k: tool[k] for k in ("name", "description", "parameters")},
        }
        for tool in t.tools
    ]
    return {"id": t.id, "messages": messages, "tools": tools, **_environment(t)}


_ROWS: dict[str, Callable[[StoredTrajectory], dict[str, Any]]] = {
    "sharegpt": sharegpt_trajectory_row,
    "openai": openai_trajectory_row,
    "apigen-mt": apigen_mt_row,
}


def _lines(
    store: TrajectoryStore, row: Callable[[StoredTrajectory], dict[str, Any]]
) -> Iterator[bytes]:
    for t in store.trajectories():
        yield jsonl_line(row(t))


def _export(store: TrajectoryStore, out_dir: Path, fmt: str) -> Path:
    path = Path(out_dir) / TRAJECTORY_FILES[fmt]
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, _lines(store, _ROWS[fmt]))
    return path


def export_sharegpt_trajectories(store: TrajectoryStore, out_dir: Path) -> Path:
    """Write ``trajectories.sharegpt.jsonl`` into ``out_dir``; its path."""
    return _export(store, out_dir, "sharegpt")


def export_openai_trajectories(store: TrajectoryStore, out_dir: Path) -> Path:
    """Write ``trajectories.openai.jsonl`` into ``out_dir``; its path."""
    return _export(store, out_dir, "openai")


def export_apigen_mt(store: TrajectoryStore, out_dir: Path) -> Path:
    """Write ``apigen-mt.jsonl`` into ``out_dir``; its path."""
    return _export(store, out_dir, "apigen-mt")


def export_trajectories(
    store: TrajectoryStore, out_dir: Path, formats: Iterable[str] = TRAJECTORY_FORMATS
) -> dict[str, Path]:
    """Write each of ``formats`` (names of :data:`TRAJECTORY_FILES`) into ``out_dir``;
    format -> path. An unknown name raises ``ValueError`` before anything is written."""
    chosen: Sequence[str] = list(formats)
    unknown = [f for f in chosen if f not in TRAJECTORY_FILES]
    if unknown:
        raise ValueError(f"unknown trajectory formats {unknown}; known: {list(TRAJECTORY_FILES)}")
    return {fmt: _export(store, out_dir, fmt) for fmt in chosen}


def trajectory_summary(store: TrajectoryStore) -> dict[str, Any]:
    """What the dataset card says about the trajectories: totals, per domain (count,
    average user turns and actions per trajectory), duplicates not kept, and the models
    that wrote the blueprints, played the user and played the agent."""
    domains = store.domains()
    total = sum(d.trajectories for d in domains)
    users = sum(d.user_turns for d in domains)
    actions = sum(d.actions for d in domains)

    def models(pick: Callable[[Any], tuple[str, ...]]) -> list[str]:
        return sorted({m for d in domains for m in pick(d)})

    return {
        "trajectories": total,
        "duplicates": store.duplicates(),
        "avg_user_turns": users / total if total else 0.0,
        "avg_actions": actions / total if total else 0.0,
        "domains": {
            d.domain: {
                "trajectories": d.trajectories,
                "avg_user_turns": d.avg_user_turns,
                "avg_actions": d.avg_actions,
            }
            for d in domains
        },
        "models": {
            "blueprint": models(lambda d: d.blueprint_models),
            "user": models(lambda d: d.user_models),
            "agent": models(lambda d: d.agent_models),
        },
    }
