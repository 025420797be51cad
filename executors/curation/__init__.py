"""API library curation, the way APIGen built its library from ToolBench.

Quality rules with reason codes, safe renaming, duplicate detection, accessibility testing
through the executors, category consolidation onto a reviewable taxonomy, and a report
(Markdown + JSON) accounting for every input API. LLM docstring regeneration plugs in as
a :class:`DocWriter` (``streamer.curation._curate`` provides one over ``streamer.llm``).
"""

from ._access import AccessResult, AccessSettings, check_access, example_arguments, probe_host
from ._curate import (
    CurationResult,
    CurationSettings,
    DocRequest,
    DocWriter,
    WrittenDocs,
    curate,
    curate_sources,
    load_examples,
)
from ._dedup import DuplicateSettings, find_duplicates
from ._reasons import REJECT_REASONS, RULES, CurationError
from ._report import PAPER, ApiRecord, CurationReport
from ._rules import Issue, NameChange, RuleSettings, fix_names, is_function_name, spec_issues
from ._sources import LoadedSource, load_curation_source
from ._taxonomy import Taxonomy, normalize_category

__all__ = [
    "PAPER",
    "REJECT_REASONS",
    "RULES",
    "AccessResult",
    "AccessSettings",
    "ApiRecord",
    "CurationError",
    "CurationReport",
    "CurationResult",
    "CurationSettings",
    "DocRequest",
    "DocWriter",
    "DuplicateSettings",
    "Issue",
    "LoadedSource",
    "NameChange",
    "RuleSettings",
    "Taxonomy",
    "WrittenDocs",
    "check_access",
    "curate",
    "curate_sources",
    "example_arguments",
    "find_duplicates",
    "fix_names",
    "is_function_name",
    "load_curation_source",
    "load_examples",
    "normalize_category",
    "probe_host",
    "spec_issues",
]
