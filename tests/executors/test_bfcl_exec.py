"""BFCL exec gold calls run against the built-in library, parsed as data (never eval)."""

from __future__ import annotations

import ast
import json
import math
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from executors.builtin import BFCL_WEB_ONLY, iter_functions

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "bfcl" / "exec"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared BFCL data not present")

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def literal(node: ast.expr) -> Any:
    """Fold a literal-only expression: constants, lists, tuples, unary minus, + - * /."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List):
        return [literal(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return {literal(k): literal(v) for k, v in zip(node.keys, node.values, strict=True) if k}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = literal(node.left), literal(node.right)
        if not all(isinstance(v, int | float) for v in (left, right)):
            raise ValueError("arithmetic on non-numbers")
        return _BINOPS[type(node.op)](left, right)
    raise ValueError(f"not a literal: {ast.dump(node)}")


def parse_call(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    tree = ast.parse(text.strip(), mode="eval")
    call = tree.body
    assert isinstance(call, ast.Call), text
    assert isinstance(call.func, ast.Name), text
    args = [literal(a) for a in call.args]
    kwargs = {kw.arg: literal(kw.value) for kw in call.keywords if kw.arg}
    return call.func.id, args, kwargs


def gold_calls() -> list[tuple[str, str]]:
    calls = []
    for path in sorted((DATA / "possible_answer").glob("*.json")):
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                calls += [(record["id"], g) for g in record["ground_truth"]]
    return calls


def documented_functions() -> set[str]:
    names = set()
    for path in sorted((DATA / "question").glob("*.json")):
        for line in path.read_text().splitlines():
            if line.strip():
                names |= {f["name"] for f in json.loads(line)["function"]}
    return names


GOLD_LABEL_NOISE = {
    (
        "exec_parallel_31",
        "mat_mul(matA=[[27, 28, 29, 30], [31, 32, 33, 34]], matB=[[35, 36, 37, 38], "
        "[39, 40, 41, 42]])",
    ): "cannot multiply 2x4 by 2x4",
}
"""Gold calls that are out of the function's domain; the built-in rightly refuses them."""

BUILTINS = {fn.__name__: fn for _, fn in iter_functions()}
GOLD = gold_calls() if DATA.is_dir() else []


def test_every_documented_function_is_built_in_or_listed_as_web_only() -> None:
    documented = documented_functions()
    assert len(documented) == 72
    missing = documented - set(BUILTINS) - set(BFCL_WEB_ONLY)
    assert not missing
    assert not set(BFCL_WEB_ONLY) & set(BUILTINS)
    assert set(BFCL_WEB_ONLY) <= documented
    offline = documented - set(BFCL_WEB_ONLY)
    assert len(offline) == 51


def test_coverage_counts() -> None:
    offline = [c for c in GOLD if parse_call(c[1])[0] not in BFCL_WEB_ONLY]
    assert len(GOLD) == 450
    assert len(offline) == 269
    assert len(GOLD_LABEL_NOISE) == 1
    print(f"BFCL exec gold calls: {len(GOLD)}, offline: {len(offline)}")


@pytest.mark.parametrize(("case_id", "call"), GOLD, ids=[f"{i}:{c[:40]}" for i, c in GOLD])
def test_gold_call_executes(case_id: str, call: str) -> None:
    name, args, kwargs = parse_call(call)
    if name in BFCL_WEB_ONLY:
        pytest.skip(f"{name}: {BFCL_WEB_ONLY[name]}")
    if (case_id, call) in GOLD_LABEL_NOISE:
        with pytest.raises(ValueError, match=GOLD_LABEL_NOISE[case_id, call]):
            BUILTINS[name](*args, **kwargs)
        return
    result = BUILTINS[name](*args, **kwargs)
    json.dumps(result)  # JSON-compatible


KNOWN: list[tuple[str, Any]] = [
    ("calc_binomial_probability(n=5, k=3, p=0.5)", 0.3125),
    ("calculate_cosine_similarity(vectorA=[1, 2, 3], vectorB=[4, 5, 6])", 32 / (14**0.5 * 77**0.5)),
    ("calculate_density(mass=10, volume=2)", 5.0),
    ("calculate_displacement(initial_velocity=10, acceleration=2, time=5)", 75.0),
    ("calculate_electrostatic_potential_energy(charge=5.0, voltage=10.0)", 50.0),
    ("calculate_final_velocity(initial_velocity=10, acceleration=2, time=5)", 20.0),
    ("calculate_future_value(present_value=1000, interest_rate=0.1, periods=20)", 6727.499949),
    ("calculate_mean(numbers=[1,2,3,4])", 2.5),
    ("calculate_permutations(n=10, k=3)", 720),
    ("calculate_standard_deviation(numbers=[10, 20, 30, 40, 50, 60])", 17.0782513),
    ("calculate_triangle_area(base=10, height=15)", 75.0),
    ("estimate_derivative(function='lambda x: 3*x**2 + 2*x - 1', x=2)", 14.0),
    ("estimate_derivative(function='lambda x:x**2', x=5)", 10.0),
    ("geometry_area_circle(radius=10)", math.pi * 100),
    ("get_distance(pointA=(0, 0), pointB=(8, 15))", 17.0),
    ("get_fibonacci_number(n=15)", 610),
    ("get_fibonacci_sequence(n=5)", [0, 1, 1, 2, 3]),
    ("get_prime_factors(number=456)", [2, 2, 2, 3, 19]),
    ("linear_regression(x=[1,2,3],y=[4,5,6],point=10)", 13.0),
    ("mat_mul(matA=[[1, 2], [3, 4]], matB=[[5, 6], [7, 8]])", [[19, 22], [43, 50]]),
    ("math_factorial(n=7)", 5040),
    ("math_gcd(a=36, b=48)", 12),
    ("math_lcm(a=12, b=18)", 36),
    ("maxPoints(points=[[1,1],[2,2],[3,4],[5,5]])", 3),
    ("maxPoints(points=[[1,2],[3,2],[5,2],[4,2]])", 4),
    ("mortgage_calculator(loan_amount=200000, interest_rate=0.05, loan_period=30)", 1073.643246),
    ("order_food(item=['burger','ice cream'], quantity=[10,7], price=[5,2])", 64.0),
    ("polygon_area(vertices=[[1,2],[3,4],[1,3]])", 1.0),
    ("quadratic_roots(a=3, b=7, c=2)", [-1 / 3, -2.0]),
    ("sort_array(array=[3, 8, 6, 4], reverse=True)", [8, 6, 4, 3]),
    ("add_binary_numbers(a='1010', b='0101')", "1111"),
]


@pytest.mark.parametrize(("call", "expected"), KNOWN, ids=[c for c, _ in KNOWN])
def test_known_answers(call: str, expected: Any) -> None:
    name, args, kwargs = parse_call(call)
    result = BUILTINS[name](*args, **kwargs)
    floats = isinstance(expected, list) and all(isinstance(v, float) for v in expected)
    if isinstance(expected, float) or floats:
        assert result == pytest.approx(expected, rel=1e-6)
    else:
        assert result == expected


def test_book_room_matches_gold_shape() -> None:
    name, args, kwargs = parse_call(
        "book_room(room_type='deluxe',price=1000,check_in_date='08-11-2024',"
        "check_out_date='08-15-2024',customer_id='123')"
    )
    booking = BUILTINS[name](*args, **kwargs)
    assert booking["nights"] == 4
    assert booking["total_price"] == 4000
    assert booking == BUILTINS[name](*args, **kwargs)  # deterministic


def test_literal_folder_refuses_code() -> None:
    for text in ("f(x=__import__('os'))", "f(x=open('/etc/passwd'))", "f(x=[i for i in y])"):
        with pytest.raises(ValueError):
            parse_call(text)
