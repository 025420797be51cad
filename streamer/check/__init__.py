"""Checking existing datasets: ``apigen check`` and its readers.

Job: read a dataset somebody else made (xLAM rows, OpenAI chat, ShareGPT/glaive, Hermes,
BFCL), turn every record (every tool-calling turn of a conversation) into a case, and judge
it with the pipeline's own format, execution and semantic stages. Every record is read in
its own error boundary: whatever it holds, it gets exactly one verdict (one per
tool-calling turn), and only a file that cannot be checked at all is a usage error.

Modules: ``_decode`` (bytes -> records, precise decode errors, limits), ``_case`` (what a
reader yields; style and no-call rules), ``_tools`` (tools via the library's converters and
a schema guard), one module per format (``_xlam``, ``_openai``, ``_sharegpt``,
``_hermes``, ``_bfcl``) with ``_conversation`` shared by the chat shapes, ``_literals``
(Python-syntax calls as data), ``_read`` (detection and the record boundary), ``_binding``
(tool -> library function by signature) and ``_checker`` (the stages, verdicts, summary).
Multi-turn replay: ``_environments`` (which built-in environment and seed),
``_trajectory_read`` (a conversation -> its calls and recorded outputs) and ``_trajectory``
(the replay and its verdict); ``_turn`` is the message the chat readers share.

May import: :mod:`topics`, :mod:`executors` (library, converters, executors),
:mod:`streamer.stages` (the stages it runs), and ``streamer.pipeline._config``/``_pipeline``/
``_stage`` for the judge and stage outputs. Never the runner, services or the CLI (the
CLI imports this package, not the other way round).
"""

from ._binding import NOT_EXECUTABLE_CAUSES, Binder, Binding
from ._case import CheckCase, InvalidRecord, Item, ReadSettings, TrajectoryCase, TrajectoryStep
from ._checker import (
    CHECK_STAGES,
    TRAJECTORY_STAGE,
    Checker,
    CheckResult,
    CheckSettings,
    CheckSummary,
    open_checker,
    run_check,
)
from ._decode import ReadLimits
from ._environments import ENVIRONMENTS, EnvironmentChoice, ReplaySettings, parse_environment
from ._errors import READ_REASONS, BadRecord, DatasetFormatError
from ._literals import parse_call_string, parse_literal
from ._read import FORMAT_NAMES, RecordFormat, detect_format, read_dataset, read_items
from ._trajectory import TRAJECTORY_REASONS, TrajectoryOutcome, replay

__all__ = [
    "CHECK_STAGES",
    "ENVIRONMENTS",
    "FORMAT_NAMES",
    "NOT_EXECUTABLE_CAUSES",
    "READ_REASONS",
    "TRAJECTORY_REASONS",
    "TRAJECTORY_STAGE",
    "BadRecord",
    "Binder",
    "Binding",
    "CheckCase",
    "CheckResult",
    "CheckSettings",
    "CheckSummary",
    "Checker",
    "DatasetFormatError",
    "EnvironmentChoice",
    "InvalidRecord",
    "Item",
    "ReadLimits",
    "ReadSettings",
    "RecordFormat",
    "ReplaySettings",
    "TrajectoryCase",
    "TrajectoryOutcome",
    "TrajectoryStep",
    "detect_format",
    "open_checker",
    "parse_call_string",
    "parse_environment",
    "parse_literal",
    "read_dataset",
    "read_items",
    "replay",
    "run_check",
]
