"""Molecular biology on sequences and simple population genetics."""

from __future__ import annotations

import math
from collections import Counter

from ._validate import finite, non_negative, positive

__all__ = [
    "count_nucleotides",
    "dna_reverse_complement",
    "exponential_population_growth",
    "gc_content",
    "hardy_weinberg",
    "sequence_hamming_distance",
    "transcribe_dna",
    "translate_rna",
]

_MAX_SEQ = 1_000_000
_BASES = "ACGU"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {
    a + b + c: _AMINO[16 * i + 4 * j + k]
    for i, a in enumerate("UCAG")
    for j, b in enumerate("UCAG")
    for k, c in enumerate("UCAG")
}
"""The standard genetic code; ``*`` marks stop codons."""


def _seq(name: str, value: str, alphabet: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty sequence")
    s = "".join(value.split()).upper()
    if len(s) > _MAX_SEQ:
        raise ValueError(f"{name} is longer than {_MAX_SEQ} bases")
    bad = set(s) - set(alphabet)
    if bad:
        raise ValueError(f"{name} contains invalid characters {sorted(bad)}; allowed: {alphabet}")
    return s


def dna_reverse_complement(sequence: str) -> str:
    """Returns the reverse complement of a DNA sequence.

    Args:
        sequence: The DNA sequence (A, C, G, T; whitespace ignored).

    Returns:
        The reverse complement, e.g. "CGAT" for "ATCG".
    """
    return _seq("sequence", sequence, "ACGT")[::-1].translate(str.maketrans("ACGT", "TGCA"))


def transcribe_dna(sequence: str) -> str:
    """Transcribes a DNA coding strand into messenger RNA (T becomes U).

    Args:
        sequence: The DNA sequence (A, C, G, T).

    Returns:
        The RNA sequence.
    """
    return _seq("sequence", sequence, "ACGT").replace("T", "U")


def translate_rna(sequence: str, stop_at_stop_codon: bool = True) -> str:
    """Translates an RNA sequence into a protein with the standard genetic code.

    Args:
        sequence: The RNA sequence (A, C, G, U), read from the first base in triplets.
        stop_at_stop_codon: Whether to stop at the first stop codon; otherwise stops are
            written as "*".

    Returns:
        The protein as one-letter amino-acid codes, e.g. "MA" for "AUGGCCUAA".
    """
    s = _seq("sequence", sequence, _BASES)
    if len(s) < 3:
        raise ValueError("sequence must contain at least one codon")
    protein = []
    for i in range(0, len(s) - 2, 3):
        aa = CODON_TABLE[s[i : i + 3]]
        if aa == "*" and stop_at_stop_codon:
            break
        protein.append(aa)
    return "".join(protein)


def gc_content(sequence: str) -> float:
    """Calculates the fraction of G and C bases in a DNA or RNA sequence.

    Args:
        sequence: The sequence (A, C, G, T or U).

    Returns:
        The GC fraction from 0 to 1.
    """
    s = _seq("sequence", sequence, "ACGTU")
    return (s.count("G") + s.count("C")) / len(s)


def count_nucleotides(sequence: str) -> dict[str, int]:
    """Counts each nucleotide in a DNA or RNA sequence.

    Args:
        sequence: The sequence (A, C, G, T or U).

    Returns:
        An object mapping each base present to its count.
    """
    return dict(sorted(Counter(_seq("sequence", sequence, "ACGTU")).items()))


def sequence_hamming_distance(sequence_a: str, sequence_b: str) -> int:
    """Counts the positions at which two equal-length DNA sequences differ (point mutations).

    Args:
        sequence_a: The first DNA sequence.
        sequence_b: The second DNA sequence, of the same length.

    Returns:
        The number of differing positions.
    """
    a, b = _seq("sequence_a", sequence_a, "ACGT"), _seq("sequence_b", sequence_b, "ACGT")
    if len(a) != len(b):
        raise ValueError("the sequences must have the same length")
    return sum(x != y for x, y in zip(a, b, strict=True))


def hardy_weinberg(dominant_allele_frequency: float) -> dict[str, float]:
    """Calculates Hardy-Weinberg genotype frequencies for a two-allele locus.

    Args:
        dominant_allele_frequency: The frequency p of the dominant allele, from 0 to 1.

    Returns:
        An object with p, q, homozygous_dominant (p^2), heterozygous (2pq) and
        homozygous_recessive (q^2).
    """
    p = finite("dominant_allele_frequency", dominant_allele_frequency)
    if not 0 <= p <= 1:
        raise ValueError("dominant_allele_frequency must be between 0 and 1")
    q = 1 - p
    return {
        "p": p,
        "q": q,
        "homozygous_dominant": p * p,
        "heterozygous": 2 * p * q,
        "homozygous_recessive": q * q,
    }


def exponential_population_growth(
    initial_population: float, growth_rate: float, time: float
) -> float:
    """Calculates a population under continuous exponential growth.

    Args:
        initial_population: The population at time 0 (non-negative).
        growth_rate: The per-capita growth rate r per time unit (negative for decline).
        time: The elapsed time, in the same unit as the rate (non-negative).

    Returns:
        N0 * exp(r * t).
    """
    n0 = non_negative("initial_population", initial_population)
    try:
        result = n0 * math.exp(finite("growth_rate", growth_rate) * non_negative("time", time))
    except OverflowError:
        raise ValueError("the population overflows a float") from None
    return positive("population", result) if result else 0.0
