"""Descriptive statistics, simple linear regression and common distributions.

BFCL names kept: ``calc_binomial_probability``, ``calculate_mean``,
``calculate_standard_deviation`` (population), ``calculate_slope``, ``calculate_intercept``,
``linear_regression`` and ``predict_value``.
"""

from __future__ import annotations

import math
import statistics as _stats

from ._validate import finite, integer, non_negative, positive, probability, same_length
from ._validate import numbers as number_list

__all__ = [
    "calc_binomial_probability",
    "calculate_intercept",
    "calculate_mean",
    "calculate_median",
    "calculate_mode",
    "calculate_percentile",
    "calculate_slope",
    "calculate_standard_deviation",
    "calculate_variance",
    "calculate_z_score",
    "geometric_mean",
    "harmonic_mean",
    "linear_regression",
    "normal_cdf",
    "pearson_correlation",
    "poisson_probability",
    "predict_value",
    "summary_statistics",
]


def calc_binomial_probability(n: int, k: int, p: float) -> float:
    """Calculates the probability of getting exactly k successes in n independent trials.

    Args:
        n: The number of trials (non-negative).
        k: The number of successes (0 to n).
        p: The probability of success in one trial, from 0 to 1.

    Returns:
        C(n, k) * p**k * (1 - p)**(n - k).
    """
    nn = integer("n", n, low=0, high=100_000)
    kk = integer("k", k, low=0, high=nn)
    pp = probability("p", p)
    return math.comb(nn, kk) * pp**kk * (1 - pp) ** (nn - kk)


def calculate_mean(numbers: list[float]) -> float:
    """Calculates the arithmetic mean of a list of numbers.

    Args:
        numbers: The list of numbers (non-empty).

    Returns:
        The mean.
    """
    return _stats.fmean(_numbers(numbers))


def _numbers(values: list[float], min_len: int = 1) -> list[float]:
    return number_list("numbers", values, min_len=min_len)


def calculate_standard_deviation(numbers: list[float]) -> float:
    """Calculates the population standard deviation of a list of numbers.

    Args:
        numbers: The list of numbers (non-empty).

    Returns:
        The square root of the mean squared deviation from the mean.
    """
    return _stats.pstdev(_numbers(numbers))


def calculate_variance(numbers: list[float], sample: bool = False) -> float:
    """Calculates the variance of a list of numbers.

    Args:
        numbers: The list of numbers (at least two for the sample variance).
        sample: True for the sample variance (n - 1 denominator), False for the
            population variance (n denominator).

    Returns:
        The variance.
    """
    if sample:
        return _stats.variance(_numbers(numbers, 2))
    return _stats.pvariance(_numbers(numbers))


def calculate_median(numbers: list[float]) -> float:
    """Calculates the median of a list of numbers.

    Args:
        numbers: The list of numbers (non-empty).

    Returns:
        The middle value, or the mean of the two middle values.
    """
    return float(_stats.median(_numbers(numbers)))


def calculate_mode(numbers: list[float]) -> list[float]:
    """Finds the most frequent values of a list of numbers.

    Args:
        numbers: The list of numbers (non-empty).

    Returns:
        All values sharing the highest count, in order of first appearance.
    """
    return _stats.multimode(_numbers(numbers))


def calculate_percentile(numbers: list[float], percentile: float) -> float:
    """Calculates a percentile by linear interpolation between closest ranks.

    Args:
        numbers: The list of numbers (non-empty).
        percentile: The percentile to compute, from 0 to 100.

    Returns:
        The value below which the given percentage of the data falls.
    """
    data = sorted(_numbers(numbers))
    q = finite("percentile", percentile)
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {percentile!r}")
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def calculate_z_score(value: float, mean: float, standard_deviation: float) -> float:
    """Calculates how many standard deviations a value lies from the mean.

    Args:
        value: The observed value.
        mean: The mean of the distribution.
        standard_deviation: The standard deviation of the distribution (positive).

    Returns:
        (value - mean) / standard_deviation.
    """
    sd = positive("standard_deviation", standard_deviation)
    return (finite("value", value) - finite("mean", mean)) / sd


def geometric_mean(numbers: list[float]) -> float:
    """Calculates the geometric mean of positive numbers.

    Args:
        numbers: The list of positive numbers.

    Returns:
        The n-th root of the product of the numbers.
    """
    data = _numbers(numbers)
    if any(v <= 0 for v in data):
        raise ValueError("the geometric mean needs positive numbers")
    return _stats.geometric_mean(data)


def harmonic_mean(numbers: list[float]) -> float:
    """Calculates the harmonic mean of positive numbers.

    Args:
        numbers: The list of positive numbers.

    Returns:
        n divided by the sum of reciprocals.
    """
    data = _numbers(numbers)
    if any(v <= 0 for v in data):
        raise ValueError("the harmonic mean needs positive numbers")
    return _stats.harmonic_mean(data)


def summary_statistics(numbers: list[float]) -> dict[str, float]:
    """Summarises a list of numbers.

    Args:
        numbers: The list of numbers (non-empty).

    Returns:
        An object with count, min, max, mean, median, range and population std.
    """
    data = _numbers(numbers)
    return {
        "count": len(data),
        "min": min(data),
        "max": max(data),
        "mean": _stats.fmean(data),
        "median": float(_stats.median(data)),
        "range": max(data) - min(data),
        "std": _stats.pstdev(data),
    }


def _xy(x: list[float], y: list[float]) -> tuple[list[float], list[float]]:
    xs, ys = number_list("x", x, min_len=2), number_list("y", y, min_len=2)
    same_length("x", xs, "y", ys)
    if len(set(xs)) < 2:
        raise ValueError("x needs at least two distinct values for a regression line")
    return xs, ys


def calculate_slope(x: list[float], y: list[float]) -> float:
    """Calculates the slope of the least-squares regression line through a set of points.

    Args:
        x: The x coordinates of the points.
        y: The y coordinates of the points, one per x.

    Returns:
        The slope of the best-fitting line.
    """
    xs, ys = _xy(x, y)
    return _stats.linear_regression(xs, ys).slope


def calculate_intercept(x: list[float], y: list[float], slope: float) -> float:
    """Calculates the y-intercept of a line with a given slope through the points' centroid.

    Args:
        x: The x coordinates of the points.
        y: The y coordinates of the points, one per x.
        slope: The slope of the linear regression line.

    Returns:
        mean(y) - slope * mean(x).
    """
    xs, ys = number_list("x", x), number_list("y", y)
    same_length("x", xs, "y", ys)
    return _stats.fmean(ys) - finite("slope", slope) * _stats.fmean(xs)


def linear_regression(x: list[float], y: list[float], point: float) -> float:
    """Fits a least-squares line to a set of points and evaluates it at a given point.

    Args:
        x: The x coordinates of the points.
        y: The y coordinates of the points, one per x.
        point: The x value to evaluate the line at.

    Returns:
        The predicted y value at the point.
    """
    xs, ys = _xy(x, y)
    fit = _stats.linear_regression(xs, ys)
    return fit.slope * finite("point", point) + fit.intercept


def predict_value(slope: float, intercept: float, x: float) -> float:
    """Predicts y from a line's slope and intercept.

    Args:
        slope: The slope of the line.
        intercept: The y-intercept of the line.
        x: The x value to predict y for.

    Returns:
        slope * x + intercept.
    """
    return finite("slope", slope) * finite("x", x) + finite("intercept", intercept)


def pearson_correlation(x: list[float], y: list[float]) -> float:
    """Calculates Pearson's correlation coefficient of two samples.

    Args:
        x: The first sample (at least two values, not all equal).
        y: The second sample, of the same length (not all equal).

    Returns:
        The correlation coefficient, from -1 to 1.
    """
    xs, ys = _xy(x, y)
    if len(set(ys)) < 2:
        raise ValueError("y must not be constant")
    return _stats.correlation(xs, ys)


def normal_cdf(value: float, mean: float = 0.0, standard_deviation: float = 1.0) -> float:
    """Calculates the cumulative probability of a normal distribution.

    Args:
        value: The value x.
        mean: The mean of the distribution.
        standard_deviation: The standard deviation (positive).

    Returns:
        P(X <= x) for X ~ N(mean, standard_deviation**2).
    """
    sd = positive("standard_deviation", standard_deviation)
    return _stats.NormalDist(finite("mean", mean), sd).cdf(finite("value", value))


def poisson_probability(rate: float, k: int) -> float:
    """Calculates the probability of exactly k events in a Poisson process.

    Args:
        rate: The expected number of events lambda (non-negative).
        k: The number of events (non-negative, at most 10000).

    Returns:
        lambda**k * exp(-lambda) / k!.
    """
    lam = non_negative("rate", rate)
    kk = integer("k", k, low=0, high=10_000)
    if lam == 0:
        return 1.0 if kk == 0 else 0.0
    return math.exp(kk * math.log(lam) - lam - math.lgamma(kk + 1))
