"""Interest, investment, loan and inflation arithmetic. Rates are fractions (0.05 = 5 %).

BFCL names kept: ``calculate_future_value``, ``calculate_interest_rate``,
``calculate_investment_value``, ``compound_interest``, ``inflation_adjustment``,
``adjust_for_inflation`` and ``mortgage_calculator``.
"""

from __future__ import annotations

import math
from typing import Any

from ._validate import finite, integer, non_negative, numbers, positive

__all__ = [
    "adjust_for_inflation",
    "break_even_units",
    "calculate_cagr",
    "calculate_future_value",
    "calculate_interest_rate",
    "calculate_investment_value",
    "calculate_present_value",
    "compound_interest",
    "inflation_adjustment",
    "internal_rate_of_return",
    "loan_amortization_schedule",
    "mortgage_calculator",
    "net_present_value",
    "return_on_investment",
    "rule_of_72",
]


def _rate(name: str, value: Any) -> float:
    r = finite(name, value)
    if r <= -1:
        raise ValueError(f"{name} must be greater than -1 (a fraction, 0.05 = 5 %), got {value!r}")
    return r


def _checked(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("the result overflows a float")
    return value


def calculate_future_value(present_value: float, interest_rate: float, periods: int) -> float:
    """Calculates the future value of an investment with compound interest.

    Args:
        present_value: The present value of the investment, in dollars.
        interest_rate: The interest rate per period, as a fraction (0.05 = 5 %).
        periods: The number of periods (non-negative).

    Returns:
        present_value * (1 + interest_rate) ** periods.
    """
    pv = finite("present_value", present_value)
    r = _rate("interest_rate", interest_rate)
    n = integer("periods", periods, low=0, high=10_000)
    try:
        return _checked(pv * (1 + r) ** n)
    except OverflowError:
        raise ValueError("the result overflows a float") from None


def calculate_present_value(future_value: float, discount_rate: float, periods: int) -> float:
    """Discounts a future amount back to its present value.

    Args:
        future_value: The amount received in the future.
        discount_rate: The discount rate per period, as a fraction.
        periods: The number of periods until the amount is received (non-negative).

    Returns:
        future_value / (1 + discount_rate) ** periods.
    """
    fv = finite("future_value", future_value)
    r = _rate("discount_rate", discount_rate)
    n = integer("periods", periods, low=0, high=10_000)
    return fv / (1 + r) ** n


def calculate_interest_rate(principal: float, rate: float, time: float) -> float:
    """Calculates the simple interest earned on a principal.

    Args:
        principal: The initial amount of money.
        rate: The interest rate per period, as a fraction.
        time: The number of periods the money is invested or borrowed for.

    Returns:
        principal * rate * time, the interest amount.
    """
    return finite("principal", principal) * finite("rate", rate) * non_negative("time", time)


def compound_interest(principal: float, rate: float, times_compounded: int, years: float) -> float:
    """Calculates the final amount of a principal with periodically compounded interest.

    Args:
        principal: The principal amount.
        rate: The annual interest rate, as a fraction.
        times_compounded: The number of times the interest is compounded per year (>= 1).
        years: The number of years (non-negative).

    Returns:
        principal * (1 + rate / times_compounded) ** (times_compounded * years).
    """
    p = finite("principal", principal)
    n = integer("times_compounded", times_compounded, low=1, high=100_000)
    r = finite("rate", rate)
    if r / n <= -1:
        raise ValueError("rate / times_compounded must be greater than -1")
    t = non_negative("years", years)
    try:
        return _checked(p * (1 + r / n) ** (n * t))
    except OverflowError:
        raise ValueError("the result overflows a float") from None


def calculate_investment_value(
    initial_investment: float,
    annual_contribution: float,
    years: int,
    annual_return: float,
    inflation_rate: list[float],
    adjust_for_inflation: bool = True,
) -> float:
    """Calculates the value of an investment with yearly contributions and returns.

    Each year the contribution is added, the return is applied, and (if adjusting) the
    value is deflated by that year's inflation rate.

    Args:
        initial_investment: The initial investment amount.
        annual_contribution: The amount added at the start of each year.
        years: The number of years (1 to 1000).
        annual_return: The annual return rate, as a fraction.
        inflation_rate: The inflation rate for each year, as fractions; needs at least
            `years` entries when adjusting for inflation.
        adjust_for_inflation: Whether to express the result in today's money.

    Returns:
        The value of the investment after the given years.
    """
    value = finite("initial_investment", initial_investment)
    contribution = finite("annual_contribution", annual_contribution)
    n = integer("years", years, low=1, high=1000)
    ret = _rate("annual_return", annual_return)
    rates = numbers("inflation_rate", inflation_rate)
    if adjust_for_inflation and len(rates) < n:
        raise ValueError(f"inflation_rate needs {n} yearly rates, got {len(rates)}")
    for year in range(n):
        value = (value + contribution) * (1 + ret)
        if adjust_for_inflation:
            value /= 1 + _rate(f"inflation_rate[{year}]", rates[year])
    return _checked(value)


def inflation_adjustment(amount: float, inflation_rate: float, years: int) -> float:
    """Expresses a future amount in today's money given a constant inflation rate.

    Args:
        amount: The amount to adjust for inflation.
        inflation_rate: The annual inflation rate, as a fraction.
        years: The number of years (non-negative).

    Returns:
        amount / (1 + inflation_rate) ** years.
    """
    a = finite("amount", amount)
    r = _rate("inflation_rate", inflation_rate)
    return a / (1 + r) ** integer("years", years, low=0, high=10_000)


def adjust_for_inflation(investment_value: float, inflation_rates: list[float]) -> float:
    """Deflates an investment value by a sequence of yearly inflation rates.

    Args:
        investment_value: The value of the investment to adjust.
        inflation_rates: The inflation rate of each year, as fractions.

    Returns:
        The value divided by the product of (1 + rate) over the years.
    """
    value = finite("investment_value", investment_value)
    for i, r in enumerate(numbers("inflation_rates", inflation_rates)):
        value /= 1 + _rate(f"inflation_rates[{i}]", r)
    return value


def mortgage_calculator(loan_amount: float, interest_rate: float, loan_period: int) -> float:
    """Calculates the monthly payment of a fixed-rate amortising mortgage.

    Args:
        loan_amount: The amount of the loan (positive).
        interest_rate: The annual interest rate, as a fraction from 0 to 1.
        loan_period: The period of the loan, in years (1 to 100).

    Returns:
        The monthly payment.
    """
    principal = positive("loan_amount", loan_amount)
    r = finite("interest_rate", interest_rate)
    if not 0 <= r <= 1:
        raise ValueError(f"interest_rate must be a fraction from 0 to 1, got {interest_rate!r}")
    months = integer("loan_period", loan_period, low=1, high=100) * 12
    monthly = r / 12
    if monthly == 0:
        return principal / months
    return principal * monthly / (1 - (1 + monthly) ** -months)


def loan_amortization_schedule(
    loan_amount: float, annual_rate: float, months: int
) -> list[dict[str, float]]:
    """Builds the month-by-month amortisation schedule of a fixed-rate loan.

    Args:
        loan_amount: The amount borrowed (positive).
        annual_rate: The annual interest rate, as a fraction from 0 to 1.
        months: The number of monthly payments (1 to 600).

    Returns:
        One object per month with month, payment, interest, principal and balance.
    """
    balance = positive("loan_amount", loan_amount)
    r = finite("annual_rate", annual_rate)
    if not 0 <= r <= 1:
        raise ValueError(f"annual_rate must be a fraction from 0 to 1, got {annual_rate!r}")
    n = integer("months", months, low=1, high=600)
    m = r / 12
    payment = balance / n if m == 0 else balance * m / (1 - (1 + m) ** -n)
    rows: list[dict[str, float]] = []
    for month in range(1, n + 1):
        interest = balance * m
        principal = payment - interest
        balance = max(0.0, balance - principal)
        rows.append(
            {
                "month": month,
                "payment": round(payment, 2),
                "interest": round(interest, 2),
                "principal": round(principal, 2),
                "balance": round(balance, 2),
            }
        )
    return rows


def net_present_value(rate: float, cash_flows: list[float]) -> float:
    """Calculates the net present value of cash flows, the first one at time 0.

    Args:
        rate: The discount rate per period, as a fraction.
        cash_flows: The cash flows of periods 0, 1, 2, ... (negative for outflows).

    Returns:
        The sum of cash_flows[t] / (1 + rate) ** t.
    """
    r = _rate("rate", rate)
    return sum(cf / (1 + r) ** t for t, cf in enumerate(numbers("cash_flows", cash_flows)))


def internal_rate_of_return(cash_flows: list[float]) -> float:
    """Finds the discount rate at which the net present value of cash flows is zero.

    Args:
        cash_flows: The cash flows of periods 0, 1, 2, ...; they must change sign.

    Returns:
        The internal rate of return as a fraction, found by bisection in (-0.99, 100).
    """
    flows = numbers("cash_flows", cash_flows, min_len=2)
    if not (any(f < 0 for f in flows) and any(f > 0 for f in flows)):
        raise ValueError("cash_flows must contain both negative and positive values")

    def npv(r: float) -> float:
        return sum(cf / (1 + r) ** t for t, cf in enumerate(flows))

    lo, hi = -0.99, 100.0
    f_lo, f_hi = npv(lo), npv(hi)
    if (f_lo > 0) == (f_hi > 0):
        raise ValueError("no internal rate of return between -99 % and 10000 %")
    for _ in range(300):
        mid = (lo + hi) / 2
        f_mid = npv(mid)
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def return_on_investment(gain: float, cost: float) -> float:
    """Calculates the return on investment as a fraction of its cost.

    Args:
        gain: The final value or revenue from the investment.
        cost: The cost of the investment (positive).

    Returns:
        (gain - cost) / cost.
    """
    c = positive("cost", cost)
    return (finite("gain", gain) - c) / c


def calculate_cagr(start_value: float, end_value: float, years: float) -> float:
    """Calculates the compound annual growth rate between two values.

    Args:
        start_value: The value at the start (positive).
        end_value: The value at the end (non-negative).
        years: The number of years between them (positive).

    Returns:
        (end_value / start_value) ** (1 / years) - 1, as a fraction.
    """
    s = positive("start_value", start_value)
    e = non_negative("end_value", end_value)
    growth: float = (e / s) ** (1 / positive("years", years))
    return growth - 1


def break_even_units(
    fixed_costs: float, price_per_unit: float, variable_cost_per_unit: float
) -> float:
    """Calculates how many units must be sold to cover fixed costs.

    Args:
        fixed_costs: The total fixed costs (non-negative).
        price_per_unit: The selling price of one unit.
        variable_cost_per_unit: The variable cost of one unit; must be below the price.

    Returns:
        fixed_costs / (price_per_unit - variable_cost_per_unit).
    """
    fixed = non_negative("fixed_costs", fixed_costs)
    margin = finite("price_per_unit", price_per_unit) - finite(
        "variable_cost_per_unit", variable_cost_per_unit
    )
    if margin <= 0:
        raise ValueError("price_per_unit must exceed variable_cost_per_unit")
    return fixed / margin


def rule_of_72(interest_rate: float) -> float:
    """Estimates the years needed to double money with the rule of 72.

    Args:
        interest_rate: The annual interest rate, as a fraction (positive).

    Returns:
        72 / (interest_rate * 100), the approximate doubling time in years.
    """
    return 72 / (positive("interest_rate", interest_rate) * 100)
