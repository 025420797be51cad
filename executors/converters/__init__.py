"""Format converters: every catalogue source into :class:`~executors.ApiSpec`.

One module per source; each has a per-item function that raises
:class:`~executors.SpecError` (document, field, problem) and a batch function that returns a
:class:`ConversionReport` with the specs that converted and one error per item that did not.
"""

from ._common import ConversionReport, Rename, sanitize_name
from .bfcl import convert_bfcl_file, spec_from_bfcl_function
from .mcp import convert_mcp_listing, spec_from_mcp_tool
from .openai_tools import convert_glaive_file, convert_openai_tools, spec_from_openai_tool
from .openapi import convert_openapi, specs_from_openapi
from .python import spec_from_callable
from .toolbench import convert_toolbench_file, specs_from_toolbench_tool
from .xlam import XlamType, convert_xlam_file, parse_xlam_type, spec_from_xlam_tool

__all__ = [
    "ConversionReport",
    "Rename",
    "XlamType",
    "convert_bfcl_file",
    "convert_glaive_file",
    "convert_mcp_listing",
    "convert_openai_tools",
    "convert_openapi",
    "convert_toolbench_file",
    "convert_xlam_file",
    "parse_xlam_type",
    "sanitize_name",
    "spec_from_bfcl_function",
    "spec_from_callable",
    "spec_from_mcp_tool",
    "spec_from_openai_tool",
    "spec_from_xlam_tool",
    "specs_from_openapi",
    "specs_from_toolbench_tool",
]
