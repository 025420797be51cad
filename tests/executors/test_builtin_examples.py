"""The built-ins' example argument sets (``examples.json``): valid ones execute and return a
usable result, failing ones pass the schema yet fail at run time, on every valid example."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from executors import ApiSpec, PythonBinding
from executors.builtin import builtin_specs, failing_arguments


def _function(spec: ApiSpec) -> Any:
    assert isinstance(spec.binding, PythonBinding)
    return getattr(importlib.import_module(spec.binding.module), spec.binding.function)


SPECS = builtin_specs()


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_valid_examples_validate_and_execute(spec: ApiSpec) -> None:
    assert len(spec.examples) >= 2
    validator = Draft202012Validator(spec.parameters)
    for example in spec.examples:
        assert not list(validator.iter_errors(example)), example
        result = _function(spec)(**json.loads(json.dumps(example)))
        assert result not in (None, "", [], {}), example
        assert not (isinstance(result, dict) and "error" in result), result
        json.dumps(result)


def test_failing_arguments_pass_the_schema_and_fail_on_every_example() -> None:
    failing = failing_arguments()
    by_name = {s.name: s for s in SPECS}
    assert set(failing) <= set(by_name) and len(failing) >= 150
    for name, override in failing.items():
        spec = by_name[name]
        validator = Draft202012Validator(spec.parameters)
        for example in spec.examples:
            arguments = {**example, **override}
            assert not list(validator.iter_errors(arguments)), (name, arguments)
            with pytest.raises(ValueError):
                _function(spec)(**arguments)
