"""spec_from_callable: signatures, hints and Google/NumPy docstrings -> ApiSpec."""

from __future__ import annotations

from typing import Any, Literal, Optional

import pytest

from executors import ApiSpec, PythonBinding, SpecError
from executors.converters.python import spec_from_callable


def google_style(
    name: str,
    count: int,
    ratio: float,
    flag: bool,
    tags: list[str],
    options: dict[str, Any],
    mode: Literal["fast", "slow"] = "fast",
    limit: int | None = None,
    scale: int | float = 1,
    point: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    """Do a documented thing.

    A longer explanation of the thing.

    Args:
        name: The name.
        count: How many.
        ratio: A ratio,
            over two lines.
        flag: A flag.
        tags: Some tags.
        options: Extra options.
        mode: The speed.
        limit: An optional limit.
        scale: A scale factor.
        point: A point (x, y).

    Returns:
        A summary object.
    """
    return {}


def numpy_style(values: list[float], weights: Optional[list[float]] = None) -> float:  # noqa: UP045
    """Weighted mean of values.

    Parameters
    ----------
    values : list of float
        The values to average.
    weights : list of float, optional
        One weight per value.

    Returns
    -------
    float
        The weighted mean.
    """
    return 0.0


def test_google_docstring_types_and_defaults() -> None:
    spec = spec_from_callable(google_style, category="demo")
    assert isinstance(spec, ApiSpec)
    assert spec.name == "google_style"
    assert spec.category == "demo"
    assert spec.source == "python:demo"
    assert spec.id == "python:demo:google_style"
    assert spec.description.startswith("Do a documented thing.")
    assert "longer explanation" in spec.description
    assert spec.returns == "A summary object."
    assert spec.binding == PythonBinding(module=__name__, function="google_style")
    props = spec.parameters["properties"]
    assert props["name"] == {"type": "string", "description": "The name."}
    assert props["count"]["type"] == "integer"
    assert props["ratio"]["type"] == "number"
    assert props["ratio"]["description"] == "A ratio,\nover two lines."
    assert props["flag"]["type"] == "boolean"
    assert props["tags"]["type"] == "array"
    assert props["tags"]["items"] == {"type": "string"}
    assert props["options"]["type"] == "object"
    assert props["mode"]["enum"] == ["fast", "slow"]
    assert props["mode"]["type"] == "string"
    assert props["mode"]["default"] == "fast"
    assert props["limit"]["type"] == ["integer", "null"]
    assert props["limit"]["default"] is None
    assert props["scale"]["type"] == "number"
    assert props["point"]["type"] == "array"
    assert props["point"]["items"] == {"type": "number"}
    assert props["point"]["minItems"] == props["point"]["maxItems"] == 2
    assert props["point"]["default"] == [0.0, 0.0]
    assert spec.required == ("name", "count", "ratio", "flag", "tags", "options")


def test_numpy_docstring() -> None:
    spec = spec_from_callable(numpy_style, category="stats", source="python:custom")
    assert spec.source == "python:custom"
    assert spec.description == "Weighted mean of values."
    assert spec.returns == "The weighted mean."
    props = spec.parameters["properties"]
    assert props["values"] == {
        "type": "array",
        "items": {"type": "number"},
        "description": "The values to average.",
    }
    assert props["weights"]["type"] == ["array", "null"]
    assert props["weights"]["description"] == "One weight per value."
    assert spec.required == ("values",)


def test_spec_round_trips_and_exports() -> None:
    spec = spec_from_callable(google_style, category="demo")
    assert ApiSpec.from_dict(spec.to_dict()) == spec
    tool = spec.to_openai_tool()
    assert tool["function"]["name"] == "google_style"
    xlam = spec.to_xlam_tool()
    assert set(xlam["parameters"]) == set(spec.parameters["properties"])


def undocumented_param(a: int, b: int) -> int:
    """Adds.

    Args:
        a: The first.
    """
    return a + b


def unhinted(a, b: int) -> int:  # type: ignore[no-untyped-def]
    """Adds.

    Args:
        a: The first.
        b: The second.
    """
    return int(a) + b


def no_docstring(a: int) -> int:
    return a


def var_args(*values: int) -> int:
    """Sums.

    Args:
        values: The values.
    """
    return sum(values)


def positional_only(a: int, /) -> int:
    """Identity.

    Args:
        a: The value.
    """
    return a


def bad_hint(a: set[int]) -> int:
    """Size.

    Args:
        a: The set.
    """
    return len(a)


_SENTINEL: Any = object()


def bad_default(a: Any = _SENTINEL) -> int:
    """Nothing.

    Args:
        a: Anything.
    """
    return 0


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (undocumented_param, "'b' has no description"),
        (unhinted, "'a' has no type hint"),
        (no_docstring, "no docstring description"),
        (var_args, "*args/**kwargs"),
        (positional_only, "positional-only"),
        (bad_hint, "no JSON Schema equivalent"),
        (bad_default, "not JSON-compatible"),
    ],
)
def test_incomplete_functions_raise_spec_error(fn: Any, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_callable(fn, category="demo")
    assert fragment in str(info.value)
    assert fn.__name__ in str(info.value)
    assert info.value.reason == "invalid_spec"
