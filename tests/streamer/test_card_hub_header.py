"""The card's YAML header is what the Hugging Face Hub reads (issue 22): parsed back here.

Loading the directory with ``datasets.load_dataset``: tests/streamer/test_hub_load.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from streamer.dataset._export import export_dataset
from streamer.dataset._hub import size_category
from streamer.dataset._store import DatasetStore

from .factories import verified


def _header(card: str) -> tuple[dict[str, Any], str]:
    assert card.startswith("---\n")
    text, end, rest = card[4:].partition("\n---\n")
    assert end, "the header is not closed"
    parsed = yaml.safe_load(text)
    assert isinstance(parsed, dict)
    return parsed, rest


def _store(tmp_path: Path, n: int) -> DatasetStore:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0)
    for i in range(n):
        store.add(verified(f"What is f of {i} in unit {i * 7}?", sid=f"s{i}", model="g"))
    return store


def test_the_card_starts_with_the_hub_header(tmp_path: Path) -> None:
    store = _store(tmp_path, 3)
    out = tmp_path / "out"
    card = export_dataset(store, out)["card"].read_text()
    header, rest = _header(card)
    assert "license" not in header  # the user's to set; only a comment
    assert "# license:" in card.split("\n---\n")[0]
    assert header["pretty_name"]
    assert header["task_categories"] == ["text-generation"]
    assert set(header["tags"]) >= {"function-calling", "tool-use", "synthetic", "apigen"}
    assert header["size_categories"] == ["n<1K"]
    configs = {c["config_name"]: c for c in header["configs"]}
    # not parquet: load_dataset uses one builder (json here) for every config
    assert set(configs) == {"xlam", "openai", "sharegpt"}
    assert [c["config_name"] for c in header["configs"] if c.get("default")] == ["xlam"]
    for config in configs.values():
        (files,) = config["data_files"]
        assert files["split"] == "train" and (out / files["path"]).is_file()
    assert configs["xlam"]["data_files"][0]["path"] == "xlam.jsonl"
    assert rest.lstrip().startswith("# Verified function-calling dataset")
    store.close()


def test_only_the_exports_present_are_configs(tmp_path: Path) -> None:
    store = _store(tmp_path, 2)
    card = export_dataset(store, tmp_path / "out", ["openai"])["card"].read_text()
    header, _ = _header(card)
    assert header["configs"] == [
        {
            "config_name": "openai",
            "data_files": [{"split": "train", "path": "openai.jsonl"}],
            "default": True,
        }
    ]
    empty = export_dataset(store, tmp_path / "none", [])["card"].read_text()
    assert "configs" not in _header(empty)[0]
    store.close()


@pytest.mark.parametrize(
    ("records", "category"),
    [
        (0, "n<1K"),
        (999, "n<1K"),
        (1_000, "1K<n<10K"),
        (9_999, "1K<n<10K"),
        (60_000, "10K<n<100K"),
        (100_000, "100K<n<1M"),
        (5_000_000, "1M<n<10M"),
        (10**10, "10B<n<100B"),
        (10**12, "n>1T"),
    ],
)
def test_size_category(records: int, category: str) -> None:
    assert size_category(records) == category


def test_features_are_declared_for_the_fixed_shape_configs(tmp_path: Path) -> None:
    from streamer.dataset._hub import hub_header

    def info(virtual: bool, present: list[str]) -> dict[str, list[str]]:
        header, _ = _header(hub_header(tmp_path, 3, present, virtual=virtual) + "x")
        infos = header["dataset_info"]
        return {i["config_name"]: [f["name"] for f in i["features"]] for i in infos}

    everything = info(False, ["xlam", "openai", "sharegpt"])
    # openai's tools hold free-form JSON Schemas: no fixed struct declares them
    assert set(everything) == {"xlam", "sharegpt"}
    assert everything["xlam"] == ["id", "query", "answers", "tools"]
    assert everything["sharegpt"] == ["id", "conversations", "tools"]
    assert info(True, ["sharegpt"])["sharegpt"][-1] == "virtual_calls"
    assert "virtual_calls" in info(False, ["parquet"])["parquet"]
    assert info(False, ["xlam"]).keys() == {"xlam"}
