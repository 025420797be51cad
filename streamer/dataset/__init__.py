"""The verified dataset: its store and its exports.

:class:`DatasetStore` (SQLite) keeps verified records once each (exact and near-duplicate
removal) and every pair's terminal outcome (the funnel); :func:`export_dataset` renders
the JSONL/Parquet files and the card from it, at any time.

May import ``topics`` and ``executors``; nothing else of ``streamer``.
"""

from ._export import FORMATS, export_dataset, funnel_table, xlam_row
from ._store import DatasetRecord, DatasetStore, FunnelRow, normalize_query, query_shingles

__all__ = [
    "FORMATS",
    "DatasetRecord",
    "DatasetStore",
    "FunnelRow",
    "export_dataset",
    "funnel_table",
    "normalize_query",
    "query_shingles",
    "xlam_row",
]
