"""The built-in library: size, documentation, domain errors, known answers, injection."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from executors import ApiSpec, PythonBinding
from executors.builtin import CATEGORIES, MODULES, builtin_specs, iter_functions

FUNCTIONS = {fn.__name__: fn for _, fn in iter_functions()}


def call(name: str, **kwargs: Any) -> Any:
    return FUNCTIONS[name](**kwargs)


def test_size_and_categories() -> None:
    per_category = Counter(cat for cat, _ in iter_functions())
    assert sum(per_category.values()) >= 150
    assert len(per_category) >= 15
    assert all(n >= 7 for n in per_category.values()), per_category
    assert set(per_category) == set(CATEGORIES)


def test_specs_are_complete_and_unique() -> None:
    specs = builtin_specs()
    assert builtin_specs() == specs  # cached, stable
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    for spec in specs:
        assert isinstance(spec, ApiSpec)
        assert spec.description and spec.returns, spec.name
        assert spec.source == f"python:{spec.category}"
        for pname, pschema in spec.parameters["properties"].items():
            assert pschema["description"].strip(), (spec.name, pname)
        assert isinstance(spec.binding, PythonBinding)
        assert spec.binding.module in MODULES
        assert ApiSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_bindings_resolve_to_the_functions() -> None:
    for spec in builtin_specs():
        assert isinstance(spec.binding, PythonBinding)
        module = importlib.import_module(spec.binding.module)
        assert getattr(module, spec.binding.function) is FUNCTIONS[spec.name]


def test_functions_are_fully_annotated() -> None:
    for name, fn in FUNCTIONS.items():
        sig = inspect.signature(fn)
        assert sig.return_annotation is not inspect.Signature.empty, name


OUT_OF_DOMAIN: list[tuple[str, dict[str, Any], str]] = [
    ("math_factorial", {"n": -1}, "at least 0"),
    ("get_prime_factors", {"number": 1}, "at least 2"),
    ("quadratic_roots", {"a": 0, "b": 1, "c": 1}, "not quadratic"),
    ("calculate_permutations", {"n": 3, "k": 5}, "at most 3"),
    ("estimate_derivative", {"function": "lambda x: log(x)", "x": -1}, "domain"),
    ("definite_integral", {"function": "x", "lower": 0, "upper": 1, "intervals": 3}, "even"),
    ("find_root", {"function": "x**2 + 1", "lower": -1, "upper": 1}, "opposite signs"),
    ("mat_mul", {"matA": [[1, 2]], "matB": [[1, 2]]}, "cannot multiply"),
    ("matrix_inverse", {"matrix": [[1, 2], [2, 4]]}, "singular"),
    ("calculate_cosine_similarity", {"vectorA": [0, 0], "vectorB": [1, 1]}, "zero vector"),
    ("calculate_mean", {"numbers": []}, "must not be empty"),
    ("calc_binomial_probability", {"n": 5, "k": 2, "p": 1.5}, "probability"),
    ("calculate_z_score", {"value": 1, "mean": 0, "standard_deviation": 0}, "positive"),
    (
        "mortgage_calculator",
        {"loan_amount": -5, "interest_rate": 0.05, "loan_period": 30},
        "positive",
    ),
    (
        "calculate_investment_value",
        {
            "initial_investment": 1,
            "annual_contribution": 1,
            "years": 3,
            "annual_return": 0.1,
            "inflation_rate": [0.01],
        },
        "3 yearly",
    ),
    ("internal_rate_of_return", {"cash_flows": [1, 2, 3]}, "negative and positive"),
    ("apply_discount", {"total": 100, "discount": 150}, "percentage"),
    (
        "book_room",
        {
            "room_type": "king",
            "check_in_date": "02-30-2024",
            "check_out_date": "03-02-2024",
            "customer_id": "1",
        },
        "MM-DD-YYYY",
    ),
    (
        "book_room",
        {
            "room_type": "king",
            "check_in_date": "03-05-2024",
            "check_out_date": "03-02-2024",
            "customer_id": "1",
        },
        "after",
    ),
    ("calculate_triangle_area", {"base": -3, "height": 4}, "negative"),
    ("triangle_area_heron", {"side_a": 1, "side_b": 2, "side_c": 10}, "triangle inequality"),
    ("polygon_area", {"vertices": [[0, 0], [1, 1]]}, "at least 3"),
    ("calculate_density", {"mass": 1, "volume": 0}, "positive"),
    ("projectile_range", {"initial_velocity": 10, "launch_angle": 120}, "between 0 and 90"),
    ("ohms_law", {"voltage": 5}, "exactly two"),
    ("calculate_molar_mass", {"formula": "Qq2"}, "unknown element"),
    ("calculate_ph", {"hydrogen_ion_concentration": 0}, "positive"),
    ("translate_rna", {"sequence": "AUGXYZ"}, "invalid characters"),
    ("hardy_weinberg", {"dominant_allele_frequency": 2}, "between 0 and 1"),
    (
        "calculate_basal_metabolic_rate",
        {"weight": 70, "height": 175, "age": 30, "gender": "x"},
        "gender",
    ),
    (
        "calculate_daily_energy_expenditure",
        {"basal_metabolic_rate": 1500, "activity_level": 9},
        "at most 5",
    ),
    ("days_between_dates", {"start_date": "2024-02-30", "end_date": "2024-03-01"}, "YYYY-MM-DD"),
    ("calculate_age", {"birth_date": "2000-01-01", "on_date": "1999-01-01"}, "before"),
    ("easter_date", {"year": 1000}, "at least 1583"),
    ("truncate_text", {"text": "abc", "max_length": 1}, "at least 3"),
    ("chunk_list", {"items": [1, 2], "size": 0}, "at least 1"),
    ("paginate_list", {"items": [1, 2, 3], "page": 5, "page_size": 2}, "beyond"),
    (
        "convert_temperature",
        {"temperature": -500, "unit_from": "Celsius", "unit_to": "Kelvin"},
        "absolute zero",
    ),
    ("convert_length", {"value": 1, "from_unit": "parsec", "to_unit": "m"}, "from_unit"),
    (
        "haversine_distance",
        {"latitude_1": 95, "longitude_1": 0, "latitude_2": 0, "longitude_2": 0},
        "between -90 and 90",
    ),
    ("get_capital_city", {"country": "Atlantis"}, "unknown country"),
    ("add_binary_numbers", {"a": "102", "b": "1"}, "binary"),
    ("base64_decode", {"encoded": "%%%"}, "Base64"),
    ("roman_to_int", {"numeral": "IIII"}, "canonical"),
    ("cidr_info", {"cidr": "300.1.1.0/24"}, "CIDR"),
    ("split_subnet", {"cidr": "10.0.0.0/8", "new_prefix": 30}, "1024"),
    ("bowling_score", {"rolls": [10] * 13}, "more rolls"),
    ("tennis_game_score", {"server_points": 7, "receiver_points": 0}, "already"),
    ("elo_rating_update", {"rating_a": 1500, "rating_b": 1500, "score_a": 2}, "0, 0.5 or 1"),
    ("generate_random_number", {"min": 10, "max": 1}, "smaller"),
    ("hex_to_rgb", {"hex_color": "#zzzzzz"}, "hex colour"),
    ("hsl_to_rgb", {"hue": 0, "saturation": 150, "lightness": 50}, "between 0 and 100"),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "fragment"),
    OUT_OF_DOMAIN,
    ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(OUT_OF_DOMAIN)],
)
def test_out_of_domain_raises_value_error(name: str, kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        call(name, **kwargs)
    assert fragment in str(info.value)


def test_out_of_domain_sample_covers_every_category() -> None:
    category = {fn.__name__: cat for cat, fn in iter_functions()}
    assert {category[name] for name, _, _ in OUT_OF_DOMAIN} == set(CATEGORIES)


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(ValueError, match="must be a number"):
        call("calculate_density", mass=True, volume=1)


KNOWN: list[tuple[str, dict[str, Any], Any]] = [
    # mathematics
    ("is_prime", {"number": 97}, True),
    ("primes_up_to", {"limit": 20}, [2, 3, 5, 7, 11, 13, 17, 19]),
    ("is_perfect_number", {"number": 28}, True),
    ("collatz_steps", {"number": 27}, 111),
    ("binomial_coefficient", {"n": 10, "k": 3}, 120),
    ("round_to_significant", {"value": 12345, "digits": 3}, 12300),
    # calculus
    ("definite_integral", {"function": "x**2", "lower": 0, "upper": 3}, 9.0),
    ("find_root", {"function": "lambda t: t**2 - 2", "lower": 0, "upper": 2}, math.sqrt(2)),
    ("evaluate_function", {"function": "math.sin(pi / 2) + x", "x": 1}, 2.0),
    ("polynomial_derivative", {"coefficients": [3, 2, -1]}, [6.0, 2.0]),
    # linear algebra
    ("matrix_determinant", {"matrix": [[1, 2], [3, 4]]}, -2.0),
    ("solve_linear_system", {"coefficients": [[2, 1], [1, 3]], "constants": [3, 5]}, [0.8, 1.4]),
    ("cross_product", {"vector_a": [1, 0, 0], "vector_b": [0, 1, 0]}, [0.0, 0.0, 1.0]),
    # statistics
    ("calculate_median", {"numbers": [3, 1, 4, 1, 5]}, 3.0),
    ("calculate_percentile", {"numbers": [1, 2, 3, 4, 5], "percentile": 50}, 3.0),
    ("pearson_correlation", {"x": [1, 2, 3], "y": [2, 4, 6]}, 1.0),
    ("normal_cdf", {"value": 0}, 0.5),
    # finance
    (
        "compound_interest",
        {"principal": 1000, "rate": 0.05, "times_compounded": 1, "years": 2},
        1102.5,
    ),
    ("net_present_value", {"rate": 0.1, "cash_flows": [-100, 110]}, 0.0),
    ("internal_rate_of_return", {"cash_flows": [-100, 110]}, 0.1),
    ("calculate_interest_rate", {"principal": 1000, "rate": 0.05, "time": 3}, 150.0),
    # commerce
    ("apply_discount", {"total": 200, "discount": 0.25}, 150.0),
    ("apply_discount", {"total": 200, "discount": 25}, 150.0),
    ("calculate_total", {"quantities": [2, 3], "prices": [1.5, 2]}, 9.0),
    ("split_bill", {"total": 100, "people": 4, "tip_percentage": 20}, 30.0),
    # geometry
    ("triangle_area_heron", {"side_a": 3, "side_b": 4, "side_c": 5}, 6.0),
    ("validate_polygon", {"vertices": [[0, 0], [2, 0], [0, 2], [2, 2]]}, False),
    ("validate_polygon", {"vertices": [[0, 0], [2, 0], [2, 2], [0, 2]]}, True),
    ("point_in_polygon", {"point": [1, 1], "vertices": [[0, 0], [2, 0], [2, 2], [0, 2]]}, True),
    # physics
    ("kinetic_energy", {"mass": 2, "velocity": 3}, 9.0),
    (
        "ohms_law",
        {"current": 2, "resistance": 5},
        {"voltage": 10.0, "current": 2.0, "resistance": 5.0},
    ),
    ("free_fall_time", {"height": 4.903325}, 1.0),
    # chemistry
    ("calculate_molar_mass", {"formula": "H2O"}, 18.015),
    ("calculate_molar_mass", {"formula": "Ca(OH)2"}, 74.092),
    ("calculate_ph", {"hydrogen_ion_concentration": 1e-7}, 7.0),
    (
        "element_info",
        {"symbol": "iron"},
        {"symbol": "Fe", "name": "Iron", "atomic_number": 26, "atomic_weight": 55.845},
    ),
    # biology
    ("dna_reverse_complement", {"sequence": "ATCG"}, "CGAT"),
    ("translate_rna", {"sequence": "AUGGCCUAA"}, "MA"),
    ("gc_content", {"sequence": "GGCCAT"}, 4 / 6),
    # health
    (
        "calculate_basal_metabolic_rate",
        {"weight": 70, "height": 175, "age": 30, "gender": "male"},
        1648.75,
    ),
    (
        "calculate_daily_energy_expenditure",
        {"basal_metabolic_rate": 1000, "activity_level": 3},
        1550.0,
    ),
    ("calculate_bmi", {"weight": 81, "height": 1.8}, {"bmi": 25.0, "category": "overweight"}),
    # datetime
    ("day_of_week", {"date": "2024-07-04"}, "Thursday"),
    ("easter_date", {"year": 2024}, "2024-03-31"),
    ("easter_date", {"year": 2025}, "2025-04-20"),
    ("is_leap_year", {"year": 1900}, False),
    ("business_days_between", {"start_date": "2024-01-01", "end_date": "2024-01-08"}, 5),
    ("unix_timestamp_to_iso", {"timestamp": 1234567890}, "2009-02-13T23:31:30+00:00"),
    # text
    ("is_palindrome", {"text": "A man, a plan, a canal: Panama"}, True),
    ("levenshtein_distance", {"source": "kitten", "target": "sitting"}, 3),
    ("slugify", {"text": "Héllo, World!"}, "hello-world"),
    ("caesar_cipher", {"text": "Hello", "shift": 3}, "Khoor"),
    # data management
    ("remove_duplicates", {"items": [3, 1, 3, 2, 1]}, [3, 1, 2]),
    ("flatten_list", {"items": [1, [2, [3]]], "depth": 2}, [1, 2, 3]),
    (
        "aggregate_records",
        {
            "records": [{"k": "a", "v": 1}, {"k": "a", "v": 3}, {"k": "b", "v": 5}],
            "group_by": "k",
            "field": "v",
            "operation": "mean",
        },
        {"a": 2.0, "b": 5.0},
    ),
    (
        "filter_records",
        {"records": [{"age": 20}, {"age": 40}], "field": "age", "operator": "gt", "value": 30},
        [{"age": 40}],
    ),
    # unit conversion
    (
        "convert_temperature",
        {"temperature": 100, "unit_from": "Celsius", "unit_to": "Fahrenheit"},
        212.0,
    ),
    ("convert_length", {"value": 1, "from_unit": "mi", "to_unit": "km"}, 1.609344),
    ("convert_data_size", {"value": 1, "from_unit": "GiB", "to_unit": "MiB"}, 1024.0),
    ("convert_mass", {"value": 1, "from_unit": "lb", "to_unit": "kg"}, 0.45359237),
    # geography
    ("get_capital_city", {"country": "AU"}, "Canberra"),
    (
        "haversine_distance",
        {"latitude_1": 0, "longitude_1": 0, "latitude_2": 0, "longitude_2": 180},
        math.pi * 6371.0088,
    ),
    (
        "initial_bearing",
        {"latitude_1": 0, "longitude_1": 0, "latitude_2": 10, "longitude_2": 0},
        0.0,
    ),
    # encoding
    ("convert_decimal_to_hex", {"decimal": 255}, "ff"),
    ("convert_base", {"number": "255", "from_base": 10, "to_base": 2}, "11111111"),
    ("base64_encode", {"text": "hello"}, "aGVsbG8="),
    (
        "hash_text",
        {"text": "abc", "algorithm": "sha256"},
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    ("crc32_checksum", {"text": "The quick brown fox jumps over the lazy dog"}, "414fa339"),
    ("int_to_roman", {"number": 1994}, "MCMXCIV"),
    ("roman_to_int", {"numeral": "MCMXCIV"}, 1994),
    # networking
    ("ip_to_integer", {"ip_address": "192.168.1.1"}, 3232235777),
    ("prefix_to_netmask", {"prefix_length": 20}, "255.255.240.0"),
    ("netmask_to_prefix", {"netmask": "255.255.255.0"}, 24),
    ("ip_in_network", {"ip_address": "10.1.2.3", "cidr": "10.0.0.0/8"}, True),
    (
        "summarize_ip_range",
        {"first_address": "10.0.0.0", "last_address": "10.0.1.127"},
        ["10.0.0.0/24", "10.0.1.0/25"],
    ),
    # games and sports
    ("bowling_score", {"rolls": [10] * 12}, 300),
    ("bowling_score", {"rolls": [9, 0] * 10}, 90),
    ("bowling_score", {"rolls": [5, 5] * 10 + [5]}, 150),
    ("tennis_game_score", {"server_points": 3, "receiver_points": 3}, "deuce"),
    ("tennis_game_score", {"server_points": 2, "receiver_points": 1}, "30-15"),
    ("dice_sum_probability", {"target_sum": 7}, 1 / 6),
    ("elo_expected_score", {"rating_a": 1500, "rating_b": 1500}, 0.5),
    # colour
    ("hex_to_rgb", {"hex_color": "#f80"}, [255, 136, 0]),
    ("rgb_to_hex", {"red": 30, "green": 144, "blue": 255}, "#1e90ff"),
    (
        "contrast_ratio",
        {"foreground": "#000000", "background": "#ffffff"},
        {"ratio": 21.0, "aa_normal": True, "aa_large": True, "aaa_normal": True},
    ),
    ("complementary_color", {"hex_color": "#ff0000"}, "#00ffff"),
]


def _approx(expected: Any) -> Any:
    if isinstance(expected, bool | str) or expected is None:
        return expected
    if isinstance(expected, int | float):
        return pytest.approx(expected, rel=1e-6, abs=1e-9)
    if isinstance(expected, list):
        return [_approx(v) for v in expected]
    if isinstance(expected, dict):
        return {k: _approx(v) for k, v in expected.items()}
    return expected


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"), KNOWN, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(KNOWN)]
)
def test_known_answers(name: str, kwargs: dict[str, Any], expected: Any) -> None:
    result = call(name, **kwargs)
    assert result == _approx(expected)
    json.dumps(result)


def test_known_answers_cover_every_category() -> None:
    category = {fn.__name__: cat for cat, fn in iter_functions()}
    per = Counter(category[name] for name, _, _ in KNOWN)
    assert set(per) == set(CATEGORIES)
    assert all(n >= 2 for n in per.values()), per


def test_geography_data_is_consistent() -> None:
    paris_berlin = call("distance_between_capitals", country_a="France", country_b="Germany")
    assert 850 < paris_berlin < 900  # about 878 km
    assert call("nearest_capital", latitude=48.8, longitude=2.3)["capital"] == "Paris"
    top = call("most_populous_countries", n=2)
    assert [c["country"] for c in top] == ["India", "China"]
    assert "Kenya" in call("countries_in_continent", continent="africa")


def test_generate_random_number_is_deterministic() -> None:
    first = call("generate_random_number", min=1, max=100, seed=7)
    assert first == call("generate_random_number", min=1, max=100, seed=7)
    assert 1 <= first <= 100


MARKER = Path(f"/tmp/pwned-{uuid.uuid4()}")
INJECTIONS = [
    f"__import__('os').system('touch {MARKER}')",
    f"lambda x: __import__('os').system('touch {MARKER}')",
    f"(lambda: open('{MARKER}', 'w'))()",
    "x.__class__.__mro__[1].__subclasses__()",
    "; rm -rf /",
    "../../etc/passwd",
    "http://169.254.169.254/",
    "9**9**9**9",
    "lambda x=__import__('os'): x",
    "[x for x in range(10**9)]",
    "x" * 10_000,
]
FORMULA_FUNCTIONS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("estimate_derivative", lambda s: {"function": s, "x": 1}),
    ("estimate_second_derivative", lambda s: {"function": s, "x": 1}),
    ("evaluate_function", lambda s: {"function": s, "x": 1}),
    ("tabulate_function", lambda s: {"function": s, "start": 0, "stop": 1, "steps": 2}),
    ("definite_integral", lambda s: {"function": s, "lower": 0, "upper": 1}),
    ("find_root", lambda s: {"function": s, "lower": 0, "upper": 1}),
    ("calculate_molar_mass", lambda s: {"formula": s}),
]
TEXT_FUNCTIONS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("word_count", lambda s: {"text": s}),
    ("reverse_string", lambda s: {"text": s}),
    ("is_palindrome", lambda s: {"text": s}),
    ("slugify", lambda s: {"text": s}),
    ("caesar_cipher", lambda s: {"text": s, "shift": 1}),
    ("character_frequency", lambda s: {"text": s}),
    ("extract_numbers", lambda s: {"text": s}),
    ("truncate_text", lambda s: {"text": s, "max_length": 10}),
    ("base64_encode", lambda s: {"text": s}),
    ("hash_text", lambda s: {"text": s}),
    ("url_encode", lambda s: {"text": s}),
    ("url_decode", lambda s: {"text": s}),
    ("convert_binary_to_decimal", lambda s: {"binary": s}),
    ("get_capital_city", lambda s: {"country": s}),
    ("cidr_info", lambda s: {"cidr": s}),
    ("hex_to_rgb", lambda s: {"hex_color": s}),
    ("transcribe_dna", lambda s: {"sequence": s}),
    ("days_between_dates", lambda s: {"start_date": s, "end_date": "2024-01-01"}),
    ("convert_temperature", lambda s: {"temperature": 1, "unit_from": s, "unit_to": "Celsius"}),
]


@pytest.mark.parametrize("payload", INJECTIONS, ids=range(len(INJECTIONS)))
@pytest.mark.parametrize(
    ("name", "build"),
    FORMULA_FUNCTIONS + TEXT_FUNCTIONS,
    ids=[n for n, _ in FORMULA_FUNCTIONS + TEXT_FUNCTIONS],
)
def test_injection_is_only_data(
    name: str, build: Callable[[str], dict[str, Any]], payload: str
) -> None:
    try:
        result = call(name, **build(payload))
    except ValueError as exc:
        assert str(exc)
    else:
        json.dumps(result)
        if name in dict(FORMULA_FUNCTIONS):
            pytest.fail(f"{name} accepted {payload!r} as a formula")
    assert not MARKER.exists()
