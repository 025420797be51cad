"""Functions the injection tests execute in the Python executor's workers."""

from __future__ import annotations

import os
from typing import Any


def echo(text: str) -> dict[str, Any]:
    """Give back the argument exactly as it arrived, with its type and the working directory,
    so a test can see it stayed data and touched nothing."""
    return {"text": text, "type": type(text).__name__, "cwd": os.getcwd()}
