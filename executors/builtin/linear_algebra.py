"""Vectors and small dense matrices as nested lists.

``mat_mul`` and ``calculate_cosine_similarity`` keep BFCL's names and parameters.
"""

from __future__ import annotations

import math
from typing import Any

from ._validate import numbers, same_length

__all__ = [
    "calculate_cosine_similarity",
    "cross_product",
    "dot_product",
    "identity_matrix",
    "mat_mul",
    "matrix_add",
    "matrix_determinant",
    "matrix_inverse",
    "matrix_transpose",
    "normalize_vector",
    "solve_linear_system",
    "vector_magnitude",
]

_MAX_DIM = 200


def _matrix(name: str, rows: Any) -> list[list[float]]:
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{name} must be a non-empty list of rows")
    if len(rows) > _MAX_DIM:
        raise ValueError(f"{name} has more than {_MAX_DIM} rows")
    matrix = [numbers(f"{name}[{i}]", row) for i, row in enumerate(rows)]
    width = len(matrix[0])
    if width > _MAX_DIM or any(len(r) != width for r in matrix):
        raise ValueError(f"{name} must be rectangular with at most {_MAX_DIM} columns")
    return matrix


def _square(name: str, rows: Any) -> list[list[float]]:
    m = _matrix(name, rows)
    if len(m) != len(m[0]):
        raise ValueError(f"{name} must be square, got {len(m)}x{len(m[0])}")
    return m


def _int_if_whole(m: list[list[float]]) -> list[list[Any]]:
    return [[int(v) if float(v).is_integer() else v for v in row] for row in m]


def mat_mul(matA: list[list[float]], matB: list[list[float]]) -> list[list[float]]:
    """Multiplies two matrices.

    Args:
        matA: The first matrix, a list of rows (m x n).
        matB: The second matrix, a list of rows (n x p).

    Returns:
        The m x p product matrix.
    """
    a, b = _matrix("matA", matA), _matrix("matB", matB)
    if len(a[0]) != len(b):
        raise ValueError(f"cannot multiply {len(a)}x{len(a[0])} by {len(b)}x{len(b[0])}")
    cols = list(zip(*b, strict=True))
    return _int_if_whole(
        [[sum(x * y for x, y in zip(row, col, strict=True)) for col in cols] for row in a]
    )


def calculate_cosine_similarity(vectorA: list[float], vectorB: list[float]) -> float:
    """Calculates the cosine similarity of two vectors.

    Args:
        vectorA: The first vector.
        vectorB: The second vector, of the same length.

    Returns:
        The cosine of the angle between the vectors, from -1 to 1.
    """
    a, b = numbers("vectorA", vectorA), numbers("vectorB", vectorB)
    same_length("vectorA", a, "vectorB", b)
    na, nb = math.hypot(*a), math.hypot(*b)
    if na == 0 or nb == 0:
        raise ValueError("cosine similarity is undefined for a zero vector")
    return sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)


def dot_product(vector_a: list[float], vector_b: list[float]) -> float:
    """Calculates the dot product of two vectors of equal length.

    Args:
        vector_a: The first vector.
        vector_b: The second vector.

    Returns:
        The sum of the element-wise products.
    """
    a, b = numbers("vector_a", vector_a), numbers("vector_b", vector_b)
    same_length("vector_a", a, "vector_b", b)
    return sum(x * y for x, y in zip(a, b, strict=True))


def cross_product(vector_a: list[float], vector_b: list[float]) -> list[float]:
    """Calculates the cross product of two 3-dimensional vectors.

    Args:
        vector_a: The first vector [x, y, z].
        vector_b: The second vector [x, y, z].

    Returns:
        The vector a x b, perpendicular to both.
    """
    a, b = numbers("vector_a", vector_a), numbers("vector_b", vector_b)
    if len(a) != 3 or len(b) != 3:
        raise ValueError("the cross product needs two 3-dimensional vectors")
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def vector_magnitude(vector: list[float]) -> float:
    """Calculates the Euclidean length of a vector.

    Args:
        vector: The vector's components.

    Returns:
        The square root of the sum of squares.
    """
    return math.hypot(*numbers("vector", vector))


def normalize_vector(vector: list[float]) -> list[float]:
    """Scales a vector to unit length.

    Args:
        vector: The vector's components (not all zero).

    Returns:
        The unit vector in the same direction.
    """
    v = numbers("vector", vector)
    norm = math.hypot(*v)
    if norm == 0:
        raise ValueError("the zero vector has no direction")
    return [x / norm for x in v]


def matrix_transpose(matrix: list[list[float]]) -> list[list[float]]:
    """Transposes a matrix (rows become columns).

    Args:
        matrix: The matrix as a list of rows.

    Returns:
        The transposed matrix.
    """
    m = _matrix("matrix", matrix)
    return _int_if_whole([list(col) for col in zip(*m, strict=True)])


def matrix_add(matrix_a: list[list[float]], matrix_b: list[list[float]]) -> list[list[float]]:
    """Adds two matrices of the same shape element by element.

    Args:
        matrix_a: The first matrix as a list of rows.
        matrix_b: The second matrix, with the same shape.

    Returns:
        The element-wise sum.
    """
    a, b = _matrix("matrix_a", matrix_a), _matrix("matrix_b", matrix_b)
    if len(a) != len(b) or len(a[0]) != len(b[0]):
        raise ValueError("matrix_a and matrix_b must have the same shape")
    return _int_if_whole(
        [[x + y for x, y in zip(r, s, strict=True)] for r, s in zip(a, b, strict=True)]
    )


def _lu_solve(m: list[list[float]], rhs: list[list[float]]) -> tuple[float, list[list[float]]]:
    """Gauss-Jordan elimination with partial pivoting: (determinant, m^-1 rhs)."""
    n = len(m)
    a = [row[:] + r[:] for row, r in zip(m, rhs, strict=True)]
    det = 1.0
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return 0.0, []
        if pivot != col:
            a[col], a[pivot] = a[pivot], a[col]
            det = -det
        det *= a[col][col]
        p = a[col][col]
        a[col] = [v / p for v in a[col]]
        for r in range(n):
            if r != col and a[r][col] != 0:
                factor = a[r][col]
                a[r] = [v - factor * w for v, w in zip(a[r], a[col], strict=True)]
    return det, [row[n:] for row in a]


def matrix_determinant(matrix: list[list[float]]) -> float:
    """Calculates the determinant of a square matrix.

    Args:
        matrix: The square matrix as a list of rows.

    Returns:
        The determinant.
    """
    m = _square("matrix", matrix)
    det, _ = _lu_solve(m, [[] for _ in m])
    return det


def matrix_inverse(matrix: list[list[float]]) -> list[list[float]]:
    """Inverts a non-singular square matrix.

    Args:
        matrix: The square matrix as a list of rows.

    Returns:
        The inverse matrix.
    """
    m = _square("matrix", matrix)
    n = len(m)
    identity = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    det, inv = _lu_solve(m, identity)
    if det == 0:
        raise ValueError("the matrix is singular and has no inverse")
    return inv


def solve_linear_system(coefficients: list[list[float]], constants: list[float]) -> list[float]:
    """Solves the linear system A x = b for x.

    Args:
        coefficients: The square coefficient matrix A as a list of rows.
        constants: The right-hand side vector b, one entry per row of A.

    Returns:
        The unique solution vector x.
    """
    m = _square("coefficients", coefficients)
    b = numbers("constants", constants)
    same_length("coefficients", m, "constants", b)
    det, sol = _lu_solve(m, [[v] for v in b])
    if det == 0:
        raise ValueError("the system has no unique solution (singular matrix)")
    return [row[0] for row in sol]


def identity_matrix(size: int) -> list[list[int]]:
    """Builds an identity matrix.

    Args:
        size: The number of rows and columns (1 to 200).

    Returns:
        The size x size identity matrix.
    """
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= _MAX_DIM:
        raise ValueError(f"size must be an integer from 1 to {_MAX_DIM}, got {size!r}")
    return [[1 if i == j else 0 for j in range(size)] for i in range(size)]
