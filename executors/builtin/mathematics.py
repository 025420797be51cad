"""Number theory and elementary algebra on integers and real numbers.

Includes BFCL's executable maths functions under their BFCL names (``math_factorial``,
``math_gcd``, ``math_lcm``, ``get_prime_factors``, ``get_fibonacci_number``,
``get_fibonacci_sequence``, ``quadratic_roots``, ``calculate_permutations``).
"""

from __future__ import annotations

import cmath
import math
from typing import Any

from ._validate import finite, integer

__all__ = [
    "arithmetic_series_sum",
    "binomial_coefficient",
    "calculate_permutations",
    "collatz_steps",
    "digit_sum",
    "geometric_series_sum",
    "get_fibonacci_number",
    "get_fibonacci_sequence",
    "get_prime_factors",
    "is_perfect_number",
    "is_prime",
    "math_factorial",
    "math_gcd",
    "math_lcm",
    "modular_power",
    "primes_up_to",
    "quadratic_roots",
    "round_to_significant",
]

_MAX_FACTORIAL = 5000
_MAX_FIBONACCI = 10_000
_MAX_SIEVE = 1_000_000
_MAX_FACTOR = 10**15


def math_factorial(n: int) -> int:
    """Calculates the factorial of a non-negative integer.

    Args:
        n: The number to calculate the factorial of (0 to 5000).

    Returns:
        n! as an exact integer.
    """
    return math.factorial(integer("n", n, low=0, high=_MAX_FACTORIAL))


def math_gcd(a: int, b: int) -> int:
    """Calculates the greatest common divisor of two integers.

    Args:
        a: The first number.
        b: The second number.

    Returns:
        The greatest common divisor (non-negative; gcd(0, 0) is 0).
    """
    return math.gcd(integer("a", a), integer("b", b))


def math_lcm(a: int, b: int) -> int:
    """Calculates the least common multiple of two integers.

    Args:
        a: The first number.
        b: The second number.

    Returns:
        The least common multiple (non-negative; 0 if either number is 0).
    """
    return math.lcm(integer("a", a), integer("b", b))


def get_prime_factors(number: int) -> list[int]:
    """Calculates the prime factors of an integer, with multiplicity, in ascending order.

    Args:
        number: The number to factorise (2 to 10**15).

    Returns:
        The prime factors, e.g. [2, 2, 3] for 12.
    """
    n = integer("number", number, low=2, high=_MAX_FACTOR)
    factors: list[int] = []
    divisor = 2
    while divisor * divisor <= n:
        while n % divisor == 0:
            factors.append(divisor)
            n //= divisor
        divisor += 1 if divisor == 2 else 2
    if n > 1:
        factors.append(n)
    return factors


def get_fibonacci_number(n: int) -> int:
    """Calculates the nth Fibonacci number of the sequence 0, 1, 1, 2, 3, 5, ...

    Args:
        n: The position in the sequence, counting from F(0) = 0 (0 to 10000).

    Returns:
        F(n), e.g. 5 for n = 5.
    """
    count = integer("n", n, low=0, high=_MAX_FIBONACCI)
    a, b = 0, 1
    for _ in range(count):
        a, b = b, a + b
    return a


def get_fibonacci_sequence(n: int) -> list[int]:
    """Calculates the first n numbers of the Fibonacci sequence, starting 0, 1.

    Args:
        n: How many Fibonacci numbers to return (0 to 10000).

    Returns:
        The list [F(0), ..., F(n-1)].
    """
    count = integer("n", n, low=0, high=_MAX_FIBONACCI)
    seq: list[int] = []
    a, b = 0, 1
    for _ in range(count):
        seq.append(a)
        a, b = b, a + b
    return seq


def quadratic_roots(a: float, b: float, c: float) -> list[Any]:
    """Calculates the roots of the quadratic equation a*x**2 + b*x + c = 0.

    Args:
        a: The coefficient of x**2 (must not be 0).
        b: The coefficient of x.
        c: The constant term.

    Returns:
        The two roots (equal when the discriminant is 0). Real roots are numbers; complex
        roots are objects {"real": ..., "imag": ...}.
    """
    fa, fb, fc = finite("a", a), finite("b", b), finite("c", c)
    if fa == 0:
        raise ValueError("a must not be 0: the equation is not quadratic")
    disc = fb * fb - 4 * fa * fc
    if disc >= 0:
        root = math.sqrt(disc)
        return [(-fb + root) / (2 * fa), (-fb - root) / (2 * fa)]
    croot = cmath.sqrt(disc)
    roots = [(-fb + croot) / (2 * fa), (-fb - croot) / (2 * fa)]
    return [{"real": r.real, "imag": r.imag} for r in roots]


def calculate_permutations(n: int, k: int) -> int:
    """Calculates the number of ordered arrangements of k elements out of n.

    Args:
        n: The number of elements in the set (0 to 5000).
        k: The number of elements to arrange (0 to n).

    Returns:
        n! / (n - k)!.
    """
    nn = integer("n", n, low=0, high=_MAX_FACTORIAL)
    return math.perm(nn, integer("k", k, low=0, high=nn))


def binomial_coefficient(n: int, k: int) -> int:
    """Calculates the number of ways to choose k elements out of n, ignoring order.

    Args:
        n: The number of elements in the set (0 to 5000).
        k: The number of elements to choose (0 to n).

    Returns:
        n! / (k! (n - k)!).
    """
    nn = integer("n", n, low=0, high=_MAX_FACTORIAL)
    return math.comb(nn, integer("k", k, low=0, high=nn))


def is_prime(number: int) -> bool:
    """Checks whether an integer is a prime number.

    Args:
        number: The integer to test (at most 10**15).

    Returns:
        True if the number is prime.
    """
    n = integer("number", number, high=_MAX_FACTOR)
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


def primes_up_to(limit: int) -> list[int]:
    """Lists all prime numbers up to a limit with the sieve of Eratosthenes.

    Args:
        limit: The inclusive upper bound (0 to 1000000).

    Returns:
        The primes p with 2 <= p <= limit, ascending.
    """
    n = integer("limit", limit, low=0, high=_MAX_SIEVE)
    if n < 2:
        return []
    sieve = bytearray([1]) * (n + 1)
    sieve[0:2] = b"\x00\x00"
    for p in range(2, math.isqrt(n) + 1):
        if sieve[p]:
            sieve[p * p :: p] = bytearray(len(range(p * p, n + 1, p)))
    return [i for i, flag in enumerate(sieve) if flag]


def digit_sum(number: int) -> int:
    """Sums the decimal digits of an integer (the sign is ignored).

    Args:
        number: The integer whose digits are summed.

    Returns:
        The sum of the digits, e.g. 6 for 123.
    """
    return sum(int(d) for d in str(abs(integer("number", number))))


def is_perfect_number(number: int) -> bool:
    """Checks whether a positive integer equals the sum of its proper divisors.

    Args:
        number: The positive integer to test (at most 10**12).

    Returns:
        True for perfect numbers such as 6, 28 and 496.
    """
    n = integer("number", number, low=1, high=10**12)
    if n == 1:
        return False
    total = 1
    for d in range(2, math.isqrt(n) + 1):
        if n % d == 0:
            total += d + (n // d if d * d != n else 0)
    return total == n


def modular_power(base: int, exponent: int, modulus: int) -> int:
    """Computes (base ** exponent) mod modulus efficiently.

    Args:
        base: The base.
        exponent: The non-negative exponent.
        modulus: The positive modulus.

    Returns:
        The remainder of base**exponent divided by modulus.
    """
    return pow(
        integer("base", base),
        integer("exponent", exponent, low=0),
        integer("modulus", modulus, low=1),
    )


def collatz_steps(number: int) -> int:
    """Counts the steps of the Collatz process (n/2 if even, 3n+1 if odd) until reaching 1.

    Args:
        number: The positive starting integer (at most 10**12).

    Returns:
        The number of steps, e.g. 111 for 27.
    """
    n = integer("number", number, low=1, high=10**12)
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def arithmetic_series_sum(first_term: float, common_difference: float, terms: int) -> float:
    """Sums the first terms of an arithmetic progression.

    Args:
        first_term: The first term a.
        common_difference: The difference d between consecutive terms.
        terms: The number of terms n to sum (non-negative).

    Returns:
        n/2 * (2a + (n - 1) d).
    """
    n = integer("terms", terms, low=0)
    a, d = finite("first_term", first_term), finite("common_difference", common_difference)
    return n / 2 * (2 * a + (n - 1) * d)


def geometric_series_sum(first_term: float, ratio: float, terms: int) -> float:
    """Sums the first terms of a geometric progression.

    Args:
        first_term: The first term a.
        ratio: The common ratio r.
        terms: The number of terms n to sum (0 to 10000).

    Returns:
        a (1 - r**n) / (1 - r), or n*a when r is 1.
    """
    n = integer("terms", terms, low=0, high=10_000)
    a, r = finite("first_term", first_term), finite("ratio", ratio)
    if r == 1:
        return a * n
    try:
        total = a * (1 - r**n) / (1 - r)
    except OverflowError:
        raise ValueError("the series sum overflows a float") from None
    if not math.isfinite(total):
        raise ValueError("the series sum overflows a float")
    return total


def round_to_significant(value: float, digits: int) -> float:
    """Rounds a number to a given count of significant digits.

    Args:
        value: The number to round.
        digits: The number of significant digits to keep (1 to 17).

    Returns:
        The rounded number, e.g. 12300.0 for (12345, 3).
    """
    v = finite("value", value)
    d = integer("digits", digits, low=1, high=17)
    if v == 0:
        return 0.0
    return round(v, d - 1 - math.floor(math.log10(abs(v))))
