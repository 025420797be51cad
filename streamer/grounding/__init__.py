"""Value grounding: whether a call's argument value is stated in the query.

Numbers, amounts, percentages, dates and times as people write them ("$200,000", "15%",
"March 3rd", "half past two") read into the values calls use; the semantic rules, the
simulated judge and the benchmarks share these readers.

May import ``topics`` and ``executors``; nothing else of ``streamer``.
"""

from ._grounding import Mentions, groundable, normalize_text, percent_hint

__all__ = ["Mentions", "groundable", "normalize_text", "percent_hint"]
