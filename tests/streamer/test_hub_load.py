"""A run's output directory loads with ``datasets.load_dataset(<dir>)`` and no other
argument (issue 22), with the same records as ``xlam.jsonl``.

``datasets`` reads its offline switch and cache paths when imported, so each load runs in a
fresh interpreter whose environment is offline with a temporary ``HF_HOME``: no network, no
home directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from streamer.dataset._export import export_dataset
from streamer.dataset._store import DatasetStore

from .factories import verified

pytest.importorskip("datasets")

_LOAD = """
import json, sys
import datasets
args = sys.argv[1:]
loaded = datasets.load_dataset(*args)
print(json.dumps({split: list(rows) for split, rows in loaded.items()}))
"""


def _python(*args: str) -> str:
    """The stdout of a fresh interpreter run with ``args``, which must succeed."""
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _load(path: Path, *config: str) -> dict[str, list[dict[str, Any]]]:
    loaded: dict[str, list[dict[str, Any]]]
    loaded = json.loads(_python("-c", _LOAD, str(path), *config).splitlines()[-1])
    return loaded


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("HF_DATASETS_CACHE", "HF_HUB_CACHE", "HF_TOKEN", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    return home


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_run_directory_loads_with_the_xlam_records(tmp_path: Path, hf_home: Path) -> None:
    out = tmp_path / "out"
    _python("-m", "streamer", "run", "--simulate", "--samples", "4", "--out", str(out))
    expected = _jsonl(out / "xlam.jsonl")
    assert len(expected) >= 2  # a run that verified nothing would prove nothing
    loaded = _load(out)
    assert list(loaded) == ["train"]
    rows = loaded["train"]
    assert len(rows) == len(expected)
    for key in ("id", "query", "answers", "tools"):
        assert [r[key] for r in rows] == [e[key] for e in expected], key
    assert rows == expected
    assert (hf_home / "datasets").is_dir()  # the cache went to the temporary HF_HOME
    # every config the header names loads, with the records of its file
    header = yaml.safe_load((out / "README.md").read_text().split("\n---\n")[0][4:])
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in header["configs"]}
    assert {"xlam", "openai", "sharegpt"} <= set(configs)
    for name, file in configs.items():
        other = _load(out, name)["train"]
        assert [r["id"] for r in other] == [r["id"] for r in _jsonl(out / file)], name


def test_a_parquet_only_directory_loads(tmp_path: Path, hf_home: Path) -> None:
    store = DatasetStore(tmp_path / "d.db", near_threshold=0)
    for i in range(3):
        store.add(verified(f"What is f of {i} in unit {i * 7}?", sid=f"s{i}", model="g"))
    out = tmp_path / "out"
    export_dataset(store, out, ["parquet"])
    store.close()
    rows = _load(out)["train"]
    assert sorted(r["query"] for r in rows) == [
        f"What is f of {i} in unit {i * 7}?" for i in range(3)
    ]


_FEATURES = """
import json, sys
import datasets
loaded = datasets.load_dataset(sys.argv[1], sys.argv[2], split="train")
print(json.dumps(loaded.features.to_dict()))
"""


def test_the_declared_features_are_what_loads(tmp_path: Path, hf_home: Path) -> None:
    out = tmp_path / "out"
    _python("-m", "streamer", "run", "--simulate", "--samples", "3", "--out", str(out))
    store = DatasetStore(out / "dataset.db", near_threshold=0)
    export_dataset(store, out / "pq", ["parquet"])
    store.close()
    for where, config, file in (
        (out, "xlam", "xlam.jsonl"),
        (out, "sharegpt", "sharegpt.jsonl"),
        (out / "pq", "parquet", "dataset.parquet"),
    ):
        header = yaml.safe_load((where / "README.md").read_text().split("\n---\n")[0][4:])
        declared = {i["config_name"]: i["features"] for i in header["dataset_info"]}
        features = json.loads(_python("-c", _FEATURES, str(where), config).splitlines()[-1])
        # the columns load in the declared order with the declared types
        assert list(features) == [f["name"] for f in declared[config]], config
        inferred = _python(
            "-c",
            "import sys, json, datasets; print(json.dumps(datasets.load_dataset("
            "'parquet' if sys.argv[1].endswith('.parquet') else 'json', data_files=sys.argv[1], "
            "split='train').features.to_dict()))",
            str(where / file),
        )
        # and they are what the file holds: declaring them changes no type
        assert json.loads(inferred.splitlines()[-1]) == features, config
