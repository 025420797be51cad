"""One message of a conversation as the chat readers see it (:class:`Turn`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..stages import FormatError

__all__ = ["Role", "Turn"]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a conversation.

    calls: for an assistant turn that calls tools, its calls (JSON call objects) or the
      :class:`FormatError` reading them raised; None for a text turn.
    at: where in the record, e.g. ``messages[3]``.
    """

    role: Role
    text: str
    at: str
    calls: list[Any] | FormatError | None = None
