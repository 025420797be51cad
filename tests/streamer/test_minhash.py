"""The store's own MinHash/LSH gives datasketch's values (so dedup decisions do not change)
without importing scipy."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from datasketch import MinHash, MinHashLSH
from datasketch.lsh import _optimal_param

from streamer._minhash import LshIndex, MinHasher, optimal_bands

REPO = Path(__file__).resolve().parents[2]


def _random_sets(n: int, seed: int) -> list[set[bytes]]:
    rng = random.Random(seed)
    return [
        {f"w{rng.randint(0, 40)} w{rng.randint(0, 6)}".encode() for _ in range(rng.randint(0, 15))}
        for _ in range(n)
    ]


@pytest.mark.parametrize("num_perm", [16, 64, 128])
def test_signatures_equal_datasketch(num_perm: int) -> None:
    hasher = MinHasher(num_perm)
    for items in _random_sets(100, seed=num_perm):
        theirs = MinHash(num_perm=num_perm)
        theirs.update_batch(sorted(items))
        ours = hasher.signature(items).hashvalues
        assert ours.dtype == theirs.hashvalues.dtype
        assert (ours == theirs.hashvalues).all(), items


def test_band_layout_equals_datasketch() -> None:
    thresholds = [t / 20 for t in range(1, 20)] + [0.33, 0.85, 0.97]
    for num_perm in (16, 32, 64, 128):
        for threshold in thresholds:
            expected = _optimal_param(threshold, num_perm, 0.5, 0.5)
            assert optimal_bands(threshold, num_perm) == expected, (threshold, num_perm)
    with pytest.raises(ValueError, match="threshold"):
        optimal_bands(1.0, 64)


def test_index_finds_what_datasketch_finds() -> None:
    hasher, ours, theirs = MinHasher(64), LshIndex(0.5, 64), MinHashLSH(threshold=0.5, num_perm=64)
    sets = _random_sets(300, seed=7)
    found_any = False
    for i, items in enumerate(sets):
        signature = hasher.signature(items)
        theirs_sig = MinHash(num_perm=64)
        theirs_sig.update_batch(list(items))
        got, expected = ours.query(signature), theirs.query(theirs_sig)
        assert sorted(got) == sorted(expected), i
        found_any = found_any or bool(got)
        if i % 3 == 0:
            ours.insert(f"k{i}", signature)
            theirs.insert(f"k{i}", theirs_sig)
        if i % 9 == 6:  # drop an earlier key from both
            ours.remove(f"k{i - 6}")
            theirs.remove(f"k{i - 6}")
    assert found_any
    assert "k0" not in ours and "k3" in ours and len(ours) == 100 - 33


def test_index_rejects_misuse() -> None:
    hasher, index = MinHasher(64), LshIndex(0.85, 64)
    signature = hasher.signature([b"a b c"])
    index.insert("a", signature)
    assert index.query(signature) == ["a"]
    with pytest.raises(ValueError, match="already indexed"):
        index.insert("a", signature)
    with pytest.raises(ValueError, match="not indexed"):
        index.remove("b")
    with pytest.raises(ValueError, match="64 values"):
        index.query(MinHasher(16).signature([b"a b c"]))
    index.remove("a")
    assert index.query(signature) == [] and len(index) == 0


def test_dataset_store_does_not_import_scipy(tmp_path: Path) -> None:
    code = (
        "import sys; from streamer._dataset import DatasetStore;"
        f"s = DatasetStore({str(tmp_path / 'd.db')!r}); s._minhash('how is the weather');"
        "print('scipy' in sys.modules, 'datasketch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
