"""Where tests find the real external data, and how a test that needs it skips without it.

The data (BFCL, xLAM rows, ToolBench tools, OpenAPI specs, ToolAlpaca, glaive) lives in
``../shared/data/`` beside the checkout and is never copied into the project. A checkout
without it still passes the suite: every test that needs a file calls :func:`shared` (in
the test or a fixture, never at import time) or carries :func:`needs_shared`, and is skipped
with a reason that names the missing path.

    def test_petstore() -> None:
        spec = shared("openapi/swagger-petstore_v3_openapi.yaml")

    pytestmark = needs_shared("bfcl")
"""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["SHARED_DATA", "needs_shared", "shared", "shared_glob"]

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""``../shared/data`` relative to the checkout (the directory that holds ``tests/``)."""


def _reason(relative: str) -> str:
    return (
        f"needs ../shared/data/{relative} (real external data, not present at "
        f"{SHARED_DATA / relative}; see the README's 'Test data' section)"
    )


def shared(relative: str) -> Path:
    """The path of ``relative`` under :data:`SHARED_DATA`; skips the calling test if absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(_reason(relative))
    return path


def shared_glob(relative_dir: str, *patterns: str) -> list[Path]:
    """Sorted matches of ``patterns`` in a shared directory, for ``parametrize`` at
    collection time; an absent directory gives no paths (pytest then skips the test as
    an empty parameter set, and :func:`needs_shared` can say why)."""
    base = SHARED_DATA / relative_dir
    return sorted({p for pattern in patterns for p in base.glob(pattern)})


def needs_shared(relative: str) -> pytest.MarkDecorator:
    """A ``skipif`` mark for tests (or a module's ``pytestmark``) that need ``relative``."""
    return pytest.mark.skipif(not (SHARED_DATA / relative).exists(), reason=_reason(relative))
