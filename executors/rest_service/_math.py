"""Computation endpoints: number theory, statistics and finance."""

from __future__ import annotations

import math
import statistics
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

__all__ = ["router"]

router = APIRouter()

_ROMAN = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)  # fmt: skip
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _factorize(n: int) -> list[int]:
    factors: list[int] = []
    for p in (2, 3):
        while n % p == 0:
            factors.append(p)
            n //= p
    d = 5
    while d * d <= n:
        for p in (d, d + 2):
            while n % p == 0:
                factors.append(p)
                n //= p
        d += 6
    if n > 1:
        factors.append(n)
    return factors


@router.get(
    "/math/factorize/{n}",
    operation_id="prime_factorization",
    summary="Prime factorization of an integer",
    description="The prime factors of n (with multiplicity, ascending) and the exponent map.",
    tags=["math"],
)
def prime_factorization(
    n: Annotated[int, Path(ge=2, le=10**12, description="Integer to factorize, 2..10^12")],
) -> dict[str, Any]:
    factors = _factorize(n)
    powers: dict[str, int] = {}
    for p in factors:
        powers[str(p)] = powers.get(str(p), 0) + 1
    return {"n": n, "factors": factors, "powers": powers}


@router.get(
    "/math/is-prime/{n}",
    operation_id="is_prime",
    summary="Primality test",
    description="Whether n is prime, with the smallest divisor when it is not.",
    tags=["math"],
)
def is_prime(
    n: Annotated[int, Path(ge=0, le=10**12, description="Integer to test, 0..10^12")],
) -> dict[str, Any]:
    if n < 2:
        return {"n": n, "is_prime": False, "smallest_divisor": None}
    smallest = _factorize(n)[0]
    return {"n": n, "is_prime": smallest == n, "smallest_divisor": smallest}


@router.get(
    "/math/gcd",
    operation_id="gcd_lcm",
    summary="Greatest common divisor and least common multiple",
    description="GCD and LCM of two integers.",
    tags=["math"],
)
def gcd_lcm(
    a: Annotated[int, Query(description="First integer")],
    b: Annotated[int, Query(description="Second integer")],
) -> dict[str, int]:
    if abs(a) > 10**18 or abs(b) > 10**18:
        raise HTTPException(400, "operands must be at most 10^18 in magnitude")
    return {"a": a, "b": b, "gcd": math.gcd(a, b), "lcm": math.lcm(a, b)}


@router.get(
    "/math/fibonacci/{n}",
    operation_id="fibonacci",
    summary="The n-th Fibonacci number",
    description="F(n) with F(0) = 0, F(1) = 1, returned as a decimal string (exact).",
    tags=["math"],
)
def fibonacci(
    n: Annotated[int, Path(ge=0, le=1000, description="Index n, 0..1000")],
) -> dict[str, Any]:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return {"n": n, "value": str(a)}


@router.get(
    "/math/base-convert",
    operation_id="convert_number_base",
    summary="Convert an integer between bases",
    description="Reads value in from_base and writes it in to_base (bases 2-36).",
    tags=["math"],
    responses={400: {"description": "value is not a number in from_base"}},
)
def convert_number_base(
    value: Annotated[str, Query(min_length=1, max_length=64, description="Digits, e.g. 'ff'")],
    from_base: Annotated[int, Query(ge=2, le=36, description="Base of value")],
    to_base: Annotated[int, Query(ge=2, le=36, description="Base of the result")],
) -> dict[str, Any]:
    try:
        number = int(value, from_base)
    except ValueError:
        raise HTTPException(400, f"{value!r} is not a base-{from_base} number") from None
    sign, number = ("-", -number) if number < 0 else ("", number)
    digits = ""
    while True:
        number, rem = divmod(number, to_base)
        digits = _DIGITS[rem] + digits
        if number == 0:
            break
    return {"value": value, "from_base": from_base, "to_base": to_base, "result": sign + digits}


@router.get(
    "/math/roman/{number}",
    operation_id="int_to_roman",
    summary="Write an integer in Roman numerals",
    description="Standard subtractive Roman numerals for 1..3999.",
    tags=["math"],
)
def int_to_roman(
    number: Annotated[int, Path(ge=1, le=3999, description="Integer 1..3999")],
) -> dict[str, Any]:
    out, rest = "", number
    for value, numeral in _ROMAN:
        count, rest = divmod(rest, value)
        out += numeral * count
    return {"number": number, "roman": out}


@router.get(
    "/math/roman-to-int",
    operation_id="roman_to_int",
    summary="Read a Roman numeral",
    description="The integer value of a standard Roman numeral (e.g. 'MCMXCIV' -> 1994).",
    tags=["math"],
    responses={400: {"description": "Not a standard Roman numeral"}},
)
def roman_to_int(
    numeral: Annotated[str, Query(min_length=1, max_length=20, description="e.g. 'XIV'")],
) -> dict[str, Any]:
    text = numeral.upper()
    total, pos = 0, 0
    for value, symbol in _ROMAN:
        while text.startswith(symbol, pos):
            total += value
            pos += len(symbol)
    if pos != len(text) or total == 0 or int_to_roman(total)["roman"] != text:
        raise HTTPException(400, f"{numeral!r} is not a standard Roman numeral")
    return {"numeral": text, "number": total}


class NumbersBody(BaseModel):
    values: list[float] = Field(
        min_length=1, max_length=100_000, description="The sample, e.g. [1, 2, 2, 5]"
    )


@router.post(
    "/stats/summary",
    operation_id="summary_statistics",
    summary="Summary statistics of a list of numbers",
    description="Count, sum, mean, median, sample standard deviation (null for one value), "
    "minimum and maximum.",
    tags=["statistics"],
)
def summary_statistics(body: NumbersBody) -> dict[str, Any]:
    v = body.values
    return {
        "count": len(v),
        "sum": math.fsum(v),
        "mean": statistics.fmean(v),
        "median": statistics.median(v),
        "stdev": statistics.stdev(v) if len(v) > 1 else None,
        "min": min(v),
        "max": max(v),
    }


class PairedBody(BaseModel):
    x: list[float] = Field(min_length=2, max_length=100_000, description="First variable")
    y: list[float] = Field(min_length=2, max_length=100_000, description="Second variable")


@router.post(
    "/stats/correlation",
    operation_id="correlation",
    summary="Pearson correlation and linear regression",
    description="Pearson's r of x and y and the least-squares line y = slope * x + intercept.",
    tags=["statistics"],
    responses={400: {"description": "Lengths differ or a variable is constant"}},
)
def correlation(body: PairedBody) -> dict[str, Any]:
    if len(body.x) != len(body.y):
        raise HTTPException(400, "x and y must have the same length")
    try:
        r = statistics.correlation(body.x, body.y)
        slope, intercept = statistics.linear_regression(body.x, body.y)
    except statistics.StatisticsError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"pearson_r": r, "slope": slope, "intercept": intercept, "n": len(body.x)}


class LoanBody(BaseModel):
    principal: float = Field(gt=0, le=1e10, description="Amount borrowed")
    annual_rate_percent: float = Field(ge=0, le=100, description="Nominal yearly rate, e.g. 5.5")
    months: int = Field(ge=1, le=600, description="Number of monthly payments")


@router.post(
    "/finance/loan-amortization",
    operation_id="loan_amortization",
    summary="Loan amortization schedule",
    description="Fixed monthly payment of an annuity loan, total interest and the month by "
    "month schedule (payment, interest, principal, remaining balance).",
    tags=["finance"],
)
def loan_amortization(body: LoanBody) -> dict[str, Any]:
    rate = body.annual_rate_percent / 1200
    n = body.months
    payment = body.principal / n if rate == 0 else body.principal * rate / (1 - (1 + rate) ** -n)
    balance, schedule = body.principal, []
    for month in range(1, n + 1):
        interest = balance * rate
        principal_part = payment - interest
        balance = max(0.0, balance - principal_part)
        schedule.append(
            {
                "month": month,
                "interest": round(interest, 2),
                "principal": round(principal_part, 2),
                "balance": round(balance, 2),
            }
        )
    return {
        "monthly_payment": round(payment, 2),
        "total_paid": round(payment * n, 2),
        "total_interest": round(payment * n - body.principal, 2),
        "schedule": schedule,
    }


@router.get(
    "/finance/compound-interest",
    operation_id="compound_interest",
    summary="Future value with compound interest",
    description="Future value of a principal at an annual rate compounded n times a year.",
    tags=["finance"],
)
def compound_interest(
    principal: Annotated[float, Query(gt=0, le=1e12, description="Initial amount")],
    annual_rate_percent: Annotated[float, Query(ge=0, le=100, description="Yearly rate, %")],
    years: Annotated[float, Query(gt=0, le=200, description="Duration in years")],
    compounds_per_year: Annotated[int, Query(ge=1, le=365, description="e.g. 12")] = 12,
) -> dict[str, Any]:
    rate = annual_rate_percent / 100
    value = principal * (1 + rate / compounds_per_year) ** (compounds_per_year * years)
    return {
        "future_value": round(value, 2),
        "interest_earned": round(value - principal, 2),
        "effective_annual_rate_percent": round(
            ((1 + rate / compounds_per_year) ** compounds_per_year - 1) * 100, 6
        ),
    }
