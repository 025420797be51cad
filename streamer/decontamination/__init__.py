"""Decontamination: keeping benchmark test items out of a released dataset.

:func:`read_reference_set` reads the benchmark files a user names (BFCL questions with their
gold answers, xLAM/OpenAI/ShareGPT datasets, plain query lists); a
:class:`ContaminationIndex` over them, built once per process, tells whether a pair repeats
an item — by its query (exact, near copy, embedded run of words) or by its calls.

May import ``streamer.dataset`` (the duplicate keys it shares) and the foundations.
"""

from ._index import DEFAULT_NEAR_THRESHOLD, DEFAULT_NGRAM, ContaminationIndex, Match
from ._references import ReferenceError, ReferenceItem, ReferenceSet, read_reference_set

__all__ = [
    "DEFAULT_NEAR_THRESHOLD",
    "DEFAULT_NGRAM",
    "ContaminationIndex",
    "Match",
    "ReferenceError",
    "ReferenceItem",
    "ReferenceSet",
    "read_reference_set",
]
