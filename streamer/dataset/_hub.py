"""The YAML header of the dataset card: what the Hugging Face Hub reads from ``README.md``.

With it the output directory is a dataset repository as it stands: one config per export
present (``xlam`` the default, each one ``train`` split; the formats have different
columns, so each is its own config), task categories, tags, the size category from the
record count and a pretty name. ``datasets.load_dataset`` picks one builder for every
config from the default config's files, so the JSONL exports and ``dataset.parquet`` cannot
be configs side by side: parquet is a config only when no JSONL export is present. The
licence is the user's to choose: it is a comment, so the header is valid YAML without one.

``dataset_info`` declares each config's ``features`` (the Hub's viewer and
``load_dataset`` use them instead of inferring types row by row) where the shape is fixed:
``xlam``, ``sharegpt`` and ``parquet``. The ``openai`` config has none: its ``tools`` hold
each function's JSON Schema, whose keys differ from tool to tool, which Arrow's fixed
structs cannot declare; ``load_dataset`` infers that config's types.

``push_to_hub`` uploads the card and exports (``hub_files``) with ``huggingface_hub``, the
``hub`` extra, imported only when pushing; its errors never carry the token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from executors import Redactor

_REPO_ID = re.compile(r"(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}")

__all__ = [
    "EXPORT_FILES",
    "HubPushError",
    "hub_files",
    "hub_header",
    "push_to_hub",
    "size_category",
    "valid_repo_id",
]

EXPORT_FILES = (
    ("xlam", "xlam.jsonl"),
    ("openai", "openai.jsonl"),
    ("sharegpt", "sharegpt.jsonl"),
    ("parquet", "dataset.parquet"),
)
"""Config name and file of each export, in the order the header lists them."""

TAGS = ("function-calling", "tool-use", "synthetic", "apigen")

_SIZES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)
"""Upper bounds (exclusive) of the Hub's size categories; beyond the last, ``n>1T``."""

_STRING = {"dtype": "string"}
_INT = {"dtype": "int64"}
_FEATURES: dict[str, dict[str, Any]] = {
    "xlam": {"id": _INT, "query": _STRING, "answers": _STRING, "tools": _STRING},
    "sharegpt": {
        "id": _STRING,
        "conversations": {"list": [{"name": "from", **_STRING}, {"name": "value", **_STRING}]},
        "tools": _STRING,
    },
    "parquet": {
        "id": _INT,
        **{name: _STRING for name in ("query", "answers", "tools", "style", "model")},
        "categories": {"sequence": "string"},
        "event_id": _STRING,
        "virtual_calls": _INT,
    },
}
"""Each config's columns in the Hub's ``features`` notation, in file order (the xLAM and
ShareGPT rows as streamer.dataset._export writes them; parquet as its Arrow schema)."""

_LICENSE_NOTE = (
    "# license: set the licence of your data before publishing, e.g. `license: cc-by-4.0`\n"
)


def size_category(records: int) -> str:
    """The Hub's ``size_categories`` value for ``records`` records."""
    for bound, name in _SIZES:
        if records < bound:
            return name
    return "n>1T"


def _features(config: str, virtual: bool) -> list[dict[str, Any]]:
    columns = dict(_FEATURES[config])
    if virtual and config == "sharegpt":  # the column is there only when some row has it
        columns["virtual_calls"] = _INT
    return [{"name": name, **kind} for name, kind in columns.items()]


def hub_header(
    out: Path, records: int, present: Sequence[str] | None = None, *, virtual: bool = False
) -> str:
    """The ``---``-delimited YAML front matter for the card in ``out``: configs for the
    export files found there (or, with ``present``, those config names). ``virtual``: some
    records have calls a virtual API answered, so the ShareGPT rows may carry
    ``virtual_calls``."""
    configs: list[dict[str, Any]] = []
    for name, file in EXPORT_FILES:
        if (name in present) if present is not None else (out / file).is_file():
            configs.append({"config_name": name, "data_files": [{"split": "train", "path": file}]})
    jsonl = [c for c in configs if c["data_files"][0]["path"].endswith(".jsonl")]
    configs = jsonl or configs  # one builder (json or parquet) serves every config
    if configs:
        configs[0]["default"] = True
    header: dict[str, Any] = {
        "pretty_name": "APIGen verified function-calling dataset",
        "task_categories": ["text-generation"],
        "tags": list(TAGS),
        "size_categories": [size_category(records)],
    }
    if configs:
        header["configs"] = configs
        header["dataset_info"] = [
            {"config_name": c["config_name"], "features": _features(c["config_name"], virtual)}
            for c in configs
            if c["config_name"] in _FEATURES
        ]
    body = yaml.safe_dump(header, sort_keys=False, allow_unicode=True)
    return f"---\n{_LICENSE_NOTE}{body}---\n"


class HubPushError(Exception):
    """The upload failed or was refused; the message never holds the token."""


def hub_files(out: Path) -> list[Path]:
    """What ``push_to_hub`` uploads from ``out``: the card and the export files present
    (never the stores, logs or caches beside them)."""
    names = ["README.md", *(file for _, file in EXPORT_FILES)]
    return [out / name for name in names if (out / name).is_file()]


def valid_repo_id(repo: str) -> bool:
    """``repo`` has the Hub's shape: ``name`` or ``namespace/name``."""
    return _REPO_ID.fullmatch(repo) is not None and ".." not in repo


def push_to_hub(out: Path, repo: str, token: str, *, private: bool = False) -> str:
    """Upload ``hub_files(out)`` to the dataset repository ``repo`` (created if missing)
    with ``huggingface_hub`` (the ``hub`` extra, imported here only); the commit's URL."""
    if not valid_repo_id(repo):
        raise HubPushError(f"{repo!r} is not a Hub repository id (name or namespace/name)")
    files = hub_files(out)
    if not files:
        raise HubPushError(f"{out}: nothing to upload (no card or export files)")
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise HubPushError(
            "huggingface_hub is not installed: pip install 'apigen-streamer[hub]'"
        ) from None
    api = HfApi(token=token)
    try:
        api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo,
            folder_path=out,
            repo_type="dataset",
            allow_patterns=[f.name for f in files],
            commit_message="Upload APIGen dataset",
        )
    except Exception as exc:  # network, HTTP, auth: reported without the token
        message = Redactor([token]).redact(f"{type(exc).__name__}: {exc}")
        raise HubPushError(message) from None
    return str(getattr(info, "commit_url", info))
