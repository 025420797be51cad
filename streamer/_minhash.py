"""MinHash signatures and a banded LSH index for near-duplicate queries, without scipy.

The dataset store used ``datasketch`` for this; importing it pulls in scipy (for one
numerical integral that picks the band layout), ~2 s of CPU at the start of every
``apigen run``: a fifth of a 3,000-pair run's CPU. These are the same two pieces, numpy
only, computing the same values as datasketch 2's default ``affine32`` scheme (SHA-1 of
each shingle, MurmurHash3 finaliser, affine permutations mod 2^32 drawn from
``RandomState(seed)``) and the same band layout (``b`` bands of ``r`` rows minimising the
equally weighted false positive and false negative areas; here integrated by
Gauss-Legendre quadrature, exact for these polynomials). So near-duplicate decisions
do not change.

Usage::

    hasher = MinHasher(num_perm=64)
    index = LshIndex(threshold=0.85, num_perm=64)
    index.insert("r1", hasher.signature([b"how is the", b"is the weather"]))
    index.query(hasher.signature([...]))   # keys sharing at least one band
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = ["LshIndex", "MinHasher", "Signature", "optimal_bands"]

_MAX = np.uint32(0xFFFFFFFF)
# MurmurHash3 32-bit finaliser: shift, multiply, shift, multiply, shift.
_S1, _M1, _S2, _M2, _S3 = (
    np.uint32(16),
    np.uint32(0x85EBCA6B),
    np.uint32(13),
    np.uint32(0xC2B2AE35),
    np.uint32(16),
)


@dataclass(frozen=True, slots=True)
class Signature:
    """A MinHash signature: the minimum of each permutation over a set (uint32 values)."""

    hashvalues: npt.NDArray[np.uint32]


class MinHasher:
    """Signatures of ``num_perm`` permutations drawn from ``RandomState(seed)``."""

    def __init__(self, num_perm: int = 64, seed: int = 1) -> None:
        if num_perm < 1:
            raise ValueError(f"num_perm must be at least 1, got {num_perm}")
        gen = np.random.RandomState(seed)
        # Odd multipliers make each permutation a bijection on 32-bit values.
        self._a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        self.num_perm = num_perm

    def signature(self, items: Iterable[bytes]) -> Signature:
        """The signature of the set of ``items`` (all ``0xffffffff`` when it is empty)."""
        hv = np.array(
            [int.from_bytes(hashlib.sha1(item).digest()[:4], "little") for item in items],
            dtype=np.uint32,
        )
        if hv.size == 0:
            return Signature(np.full(self.num_perm, _MAX, dtype=np.uint32))
        hv = hv ^ (hv >> _S1)
        hv = hv * _M1
        hv = hv ^ (hv >> _S2)
        hv = hv * _M2
        hv = hv ^ (hv >> _S3)
        permuted = hv.reshape(-1, 1) * self._a + self._b
        return Signature(permuted.min(axis=0))


@lru_cache(maxsize=64)
def optimal_bands(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` minimising ``fp_weight`` times the
    probability mass of pairs below ``threshold`` that become candidates plus ``fn_weight``
    times the mass above it that do not (a pair of similarity s is a candidate with
    probability 1 - (1 - s^rows)^bands)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    # The integrands are polynomials of degree bands * rows <= num_perm: n Gauss-Legendre
    # nodes integrate degree 2n - 1 exactly.
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 8)

    def integral(lo: float, hi: float, b: int, r: int, candidate: bool) -> float:
        s = (hi - lo) / 2 * nodes + (hi + lo) / 2
        p = 1.0 - (1.0 - s ** float(r)) ** float(b)
        values = p if candidate else 1.0 - p
        return float((hi - lo) / 2 * np.dot(weights, values))

    best, best_error = (0, 0), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = integral(0.0, threshold, b, r, candidate=True)
            fn = integral(threshold, 1.0, b, r, candidate=False)
            error = fp * fp_weight + fn * fn_weight
            if error < best_error:
                best, best_error = (b, r), error
    return best


class LshIndex:
    """Keys of inserted signatures, found again by any signature sharing one band.

    ``threshold`` is the Jaccard similarity the band layout is tuned for; ``num_perm``
    must equal the signatures' length.
    """

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.bands, self.rows = optimal_bands(threshold, num_perm)
        if self.bands < 2:
            raise ValueError(f"threshold {threshold} gives fewer than 2 bands of {num_perm}")
        self.num_perm = num_perm
        self._tables: list[dict[bytes, set[str]]] = [{} for _ in range(self.bands)]
        self._keys: dict[str, list[bytes]] = {}

    def _band_keys(self, signature: Signature) -> list[bytes]:
        hv = signature.hashvalues
        if hv.shape != (self.num_perm,):
            raise ValueError(f"expected a signature of {self.num_perm} values, got {hv.shape}")
        r = self.rows
        return [hv[i * r : (i + 1) * r].tobytes() for i in range(self.bands)]

    def insert(self, key: str, signature: Signature) -> None:
        """Index ``signature`` under ``key``; ValueError when ``key`` is already indexed."""
        if key in self._keys:
            raise ValueError(f"key {key!r} is already indexed")
        bands = self._band_keys(signature)
        self._keys[key] = bands
        for band, table in zip(bands, self._tables, strict=True):
            table.setdefault(band, set()).add(key)

    def query(self, signature: Signature) -> list[str]:
        """Keys sharing at least one band with ``signature`` (candidates, in no order)."""
        found: set[str] = set()
        for band, table in zip(self._band_keys(signature), self._tables, strict=True):
            keys = table.get(band)
            if keys:
                found |= keys
        return list(found)

    def remove(self, key: str) -> None:
        """Drop ``key``; ValueError when it is not indexed."""
        bands = self._keys.pop(key, None)
        if bands is None:
            raise ValueError(f"key {key!r} is not indexed")
        for band, table in zip(bands, self._tables, strict=True):
            keys = table[band]
            keys.discard(key)
            if not keys:
                del table[band]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
