"""Simulated blueprint review roles of the multi-turn pipeline (see :mod:`._simroles`)."""

from __future__ import annotations

from ._simrole import SimRole

__all__ = ["ROLES"]

ROLES: tuple[SimRole, ...] = ()
"""The blueprint review roles the simulated endpoint plays."""
