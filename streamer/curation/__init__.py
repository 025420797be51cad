"""API curation with an LLM: ``apigen apis curate``.

:class:`LlmDocWriter` asks a model for missing or weak API documentation (docstring schema
:data:`DOCSTRING`); :func:`curate_apis` runs ``executors.curation`` over the sources with it.

May import ``pipeline`` (to open models) and every part below it; not ``cli``.
"""

from ._curate import DOCSTRING, LlmDocWriter, curate_apis, write_outputs

__all__ = ["DOCSTRING", "LlmDocWriter", "curate_apis", "write_outputs"]
