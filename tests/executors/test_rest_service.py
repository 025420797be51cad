"""The local REST service: every public endpoint with valid input and its error cases."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from executors.rest_service import create_app

from .rest_server import RunningService


@dataclass(frozen=True)
class Case:
    operation_id: str
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    status: int = 200
    expect: dict[str, Any] = field(default_factory=dict)


VALID = [
    Case("list_elements", "GET", "/elements", {"period": 1}, expect={"len": 2}),
    Case("get_element_by_symbol", "GET", "/elements/au", expect={"name": "Gold", "period": 6}),
    Case("get_element_by_number", "GET", "/elements/number/8", expect={"symbol": "O"}),
    Case(
        "compute_molar_mass",
        "POST",
        "/chemistry/molar-mass",
        body={"formula": "Ca(OH)2"},
        expect={"atoms": {"Ca": 1, "O": 2, "H": 2}, "molar_mass_g_mol": 74.092},
    ),
    Case("list_planets", "GET", "/planets", {"min_diameter_km": 50000}, expect={"len": 3}),
    Case("get_planet", "GET", "/planets/mars", expect={"order": 4, "diameter_km": 6792}),
    Case(
        "planet_surface_weight",
        "GET",
        "/planets/Jupiter/weight",
        {"mass_kg": 10},
        expect={"weight_newtons": 231.0},
    ),
    Case("list_countries", "GET", "/countries", {"currency": "nok"}, expect={"len": 1}),
    Case("get_country", "GET", "/countries/JPN", expect={"capital": "Tokyo"}),
    Case("find_country_by_capital", "GET", "/capitals/oslo", expect={"alpha2": "NO"}),
    Case(
        "prime_factorization", "GET", "/math/factorize/360", expect={"factors": [2, 2, 2, 3, 3, 5]}
    ),
    Case("is_prime", "GET", "/math/is-prime/1000003", expect={"is_prime": True}),
    Case("gcd_lcm", "GET", "/math/gcd", {"a": 12, "b": 18}, expect={"gcd": 6, "lcm": 36}),
    Case("fibonacci", "GET", "/math/fibonacci/90", expect={"value": "2880067194370816120"}),
    Case(
        "convert_number_base",
        "GET",
        "/math/base-convert",
        {"value": "ff", "from_base": 16, "to_base": 2},
        expect={"result": "11111111"},
    ),
    Case("int_to_roman", "GET", "/math/roman/1994", expect={"roman": "MCMXCIV"}),
    Case("roman_to_int", "GET", "/math/roman-to-int", {"numeral": "xiv"}, expect={"number": 14}),
    Case(
        "summary_statistics",
        "POST",
        "/stats/summary",
        body={"values": [1, 2, 2, 5]},
        expect={"mean": 2.5, "median": 2.0, "min": 1.0, "max": 5.0},
    ),
    Case(
        "correlation",
        "POST",
        "/stats/correlation",
        body={"x": [1, 2, 3], "y": [2, 4, 6]},
        expect={"pearson_r": 1.0, "slope": 2.0, "intercept": 0.0},
    ),
    Case(
        "loan_amortization",
        "POST",
        "/finance/loan-amortization",
        body={"principal": 1200, "annual_rate_percent": 0, "months": 12},
        expect={"monthly_payment": 100.0, "total_interest": 0.0},
    ),
    Case(
        "compound_interest",
        "GET",
        "/finance/compound-interest",
        {"principal": 1000, "annual_rate_percent": 10, "years": 1, "compounds_per_year": 1},
        expect={"future_value": 1100.0},
    ),
    Case(
        "convert_length",
        "GET",
        "/convert/length",
        {"value": 1, "from_unit": "mi", "to_unit": "km"},
        expect={"result": 1.609344},
    ),
    Case(
        "convert_mass",
        "GET",
        "/convert/mass",
        {"value": 1, "from_unit": "lb", "to_unit": "g"},
        expect={"result": 453.59237},
    ),
    Case(
        "convert_temperature",
        "GET",
        "/convert/temperature",
        {"value": 100, "from_unit": "C", "to_unit": "F"},
        expect={"result": 212.0},
    ),
    Case(
        "add_days_to_date",
        "GET",
        "/dates/add",
        {"date": "2024-02-28", "days": 1},
        expect={"result": "2024-02-29"},
    ),
    Case(
        "days_between_dates",
        "GET",
        "/dates/diff",
        {"start": "2024-01-01", "end": "2025-01-01"},
        expect={"days": 366, "weeks": 52},
    ),
    Case("weekday_of_date", "GET", "/dates/weekday/1969-07-20", expect={"weekday": "Sunday"}),
    Case("is_leap_year", "GET", "/dates/leap-year/1900", expect={"is_leap_year": False}),
    Case(
        "text_statistics",
        "POST",
        "/text/stats",
        body={"text": "The cat. The dog!"},
        expect={
            "words": 4,
            "sentences": 2,
            "top_words": [{"word": w, "count": n} for w, n in (("the", 2), ("cat", 1), ("dog", 1))],
        },
    ),
    Case(
        "hash_text",
        "POST",
        "/text/hash",
        body={"text": "abc", "algorithm": "sha256"},
        expect={"hex_digest": hashlib.sha256(b"abc").hexdigest()},
    ),
    Case(
        "check_palindrome",
        "GET",
        "/text/palindrome",
        {"text": "A man, a plan, a canal: Panama"},
        expect={"is_palindrome": True},
    ),
    Case(
        "slugify_text",
        "POST",
        "/text/slugify",
        body={"text": "Crème Brûlée, 2 ways!"},
        expect={"slug": "creme-brulee-2-ways"},
    ),
    Case(
        "ipv4_subnet_info",
        "GET",
        "/network/ipv4-subnet",
        {"cidr": "192.168.1.77/26"},
        expect={"network": "192.168.1.64", "broadcast": "192.168.1.127", "usable_hosts": 62},
    ),
    Case("ip_address_info", "GET", "/network/ip/10.0.0.1", expect={"is_private": True}),
    Case(
        "great_circle_distance",
        "POST",
        "/geo/distance",
        body={"lat1": 0, "lon1": 0, "lat2": 0, "lon2": 90},
        expect={"km": 10007.557, "bearing_deg": 90.0},
    ),
    Case("hex_color_info", "GET", "/color/hex/FF0000", expect={"rgb": [255, 0, 0]}),
]

ERRORS = [
    Case("get_element_by_symbol", "GET", "/elements/Zz", status=404),
    Case("get_element_by_number", "GET", "/elements/number/117", status=404),
    Case("get_element_by_number", "GET", "/elements/number/0", status=422),
    Case(
        "compute_molar_mass", "POST", "/chemistry/molar-mass", body={"formula": "Xy2"}, status=400
    ),
    Case(
        "compute_molar_mass", "POST", "/chemistry/molar-mass", body={"formula": "(H2"}, status=400
    ),
    Case("compute_molar_mass", "POST", "/chemistry/molar-mass", body={}, status=422),
    Case("get_planet", "GET", "/planets/pluto", status=404),
    Case("planet_surface_weight", "GET", "/planets/pluto/weight", {"mass_kg": 1}, status=404),
    Case("planet_surface_weight", "GET", "/planets/mars/weight", {"mass_kg": -1}, status=422),
    Case("list_countries", "GET", "/countries", {"currency": "EURO"}, status=422),
    Case("get_country", "GET", "/countries/XX", status=404),
    Case("find_country_by_capital", "GET", "/capitals/Atlantis", status=404),
    Case("prime_factorization", "GET", "/math/factorize/1", status=422),
    Case("is_prime", "GET", "/math/is-prime/abc", status=422),
    Case("gcd_lcm", "GET", "/math/gcd", {"a": 10**19, "b": 1}, status=400),
    Case("fibonacci", "GET", "/math/fibonacci/1001", status=422),
    Case(
        "convert_number_base",
        "GET",
        "/math/base-convert",
        {"value": "12z", "from_base": 10, "to_base": 2},
        status=400,
    ),
    Case("int_to_roman", "GET", "/math/roman/4000", status=422),
    Case("roman_to_int", "GET", "/math/roman-to-int", {"numeral": "IIII"}, status=400),
    Case("summary_statistics", "POST", "/stats/summary", body={"values": []}, status=422),
    Case(
        "correlation", "POST", "/stats/correlation", body={"x": [1, 2, 3], "y": [1, 2]}, status=400
    ),
    Case("correlation", "POST", "/stats/correlation", body={"x": [1, 1], "y": [1, 2]}, status=400),
    Case(
        "loan_amortization",
        "POST",
        "/finance/loan-amortization",
        body={"principal": 1, "annual_rate_percent": 5, "months": 0},
        status=422,
    ),
    Case("compound_interest", "GET", "/finance/compound-interest", {"principal": 1}, status=422),
    Case(
        "convert_length",
        "GET",
        "/convert/length",
        {"value": 1, "from_unit": "parsec", "to_unit": "m"},
        status=422,
    ),
    Case(
        "convert_mass",
        "GET",
        "/convert/mass",
        {"value": "x", "from_unit": "g", "to_unit": "g"},
        status=422,
    ),
    Case(
        "convert_temperature",
        "GET",
        "/convert/temperature",
        {"value": -300, "from_unit": "C", "to_unit": "K"},
        status=400,
    ),
    Case("add_days_to_date", "GET", "/dates/add", {"date": "9999-12-31", "days": 1}, status=400),
    Case(
        "days_between_dates",
        "GET",
        "/dates/diff",
        {"start": "2024-02-30", "end": "2024-03-01"},
        status=422,
    ),
    Case("weekday_of_date", "GET", "/dates/weekday/yesterday", status=422),
    Case("is_leap_year", "GET", "/dates/leap-year/0", status=422),
    Case("text_statistics", "POST", "/text/stats", body={"txt": "x"}, status=422),
    Case("hash_text", "POST", "/text/hash", body={"text": "a", "algorithm": "crc32"}, status=422),
    Case("check_palindrome", "GET", "/text/palindrome", status=422),
    Case("slugify_text", "POST", "/text/slugify", body={"text": "!!!"}, status=400),
    Case("ipv4_subnet_info", "GET", "/network/ipv4-subnet", {"cidr": "300.1.1.1/8"}, status=400),
    Case("ip_address_info", "GET", "/network/ip/not-an-ip", status=400),
    Case(
        "great_circle_distance",
        "POST",
        "/geo/distance",
        body={"lat1": 91, "lon1": 0, "lat2": 0, "lon2": 0},
        status=422,
    ),
    Case("hex_color_info", "GET", "/color/hex/GG0000", status=422),
]


@pytest.fixture(scope="module")
def client(rest_service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rest_service.base_url, trust_env=False) as c:
        yield c


def _call(client: httpx.Client, case: Case) -> httpx.Response:
    return client.request(case.method, case.path, params=case.params, json=case.body)


@pytest.mark.parametrize("case", VALID, ids=[c.operation_id for c in VALID])
def test_valid_input(client: httpx.Client, case: Case) -> None:
    response = _call(client, case)
    assert response.status_code == 200, response.text
    data = response.json()
    for key, expected in case.expect.items():
        if key == "len":
            assert len(data) == expected
        elif isinstance(expected, float):
            assert data[key] == pytest.approx(expected, rel=1e-6)
        else:
            assert data[key] == expected


@pytest.mark.parametrize(
    "case", ERRORS, ids=[f"{c.operation_id}-{c.status}-{i}" for i, c in enumerate(ERRORS)]
)
def test_error_status(client: httpx.Client, case: Case) -> None:
    response = _call(client, case)
    assert response.status_code == case.status, response.text
    assert "detail" in response.json()


def test_every_public_endpoint_is_exercised(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    operations = {
        (method.upper(), path): op["operationId"]
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    assert len(operations) >= 30
    assert {c.operation_id for c in VALID} == set(operations.values())
    assert len(set(operations.values())) == len(operations)


def test_openapi_document_is_good_for_conversion(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path, item in document["paths"].items():
        assert not path.startswith("/_test")
        for op in item.values():
            assert op["summary"] and op["description"], path
            for param in op.get("parameters", []):
                assert param.get("description"), (path, param["name"])
    schemas = document["components"]["schemas"]
    for name in ("FormulaBody", "LoanBody", "HashBody", "DistanceBody"):
        for prop in schemas[name]["properties"].values():
            assert prop.get("description"), name


def test_test_endpoints_only_exist_when_testing(client: httpx.Client) -> None:
    from starlette.testclient import TestClient

    assert client.get("/_test/status/204").status_code == 204
    with TestClient(create_app()) as public:
        assert public.get("/_test/status/200").status_code == 404
        assert public.get("/math/is-prime/7").json()["is_prime"] is True
