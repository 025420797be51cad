"""Plane and solid geometry on coordinates and measurements (units are the caller's).

BFCL names kept: ``calculate_triangle_area``, ``geometry_area_circle``, ``polygon_area``,
``validate_polygon``, ``get_distance``, ``convert_coordinates`` and ``maxPoints``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from ._validate import finite, non_empty, non_negative, positive

__all__ = [
    "calculate_triangle_area",
    "circle_circumference",
    "cone_volume",
    "convert_coordinates",
    "cylinder_volume",
    "geometry_area_circle",
    "get_distance",
    "maxPoints",
    "point_in_polygon",
    "polygon_area",
    "polygon_perimeter",
    "rectangle_properties",
    "sphere_volume",
    "triangle_area_heron",
    "validate_polygon",
]

Point = tuple[float, float]


def _point(name: str, value: Any) -> Point:
    if isinstance(value, str) or not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{name} must be a pair [x, y], got {value!r}")
    return finite(f"{name}[0]", value[0]), finite(f"{name}[1]", value[1])


def _points(name: str, values: Any, min_len: int) -> list[Point]:
    pts = [_point(f"{name}[{i}]", v) for i, v in enumerate(non_empty(name, values))]
    if len(pts) < min_len:
        raise ValueError(f"{name} needs at least {min_len} points, got {len(pts)}")
    return pts


def _shoelace(pts: list[Point]) -> float:
    n = len(pts)
    return (
        sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n)) / 2
    )


def calculate_triangle_area(base: float, height: float) -> float:
    """Calculates the area of a triangle given its base and height.

    Args:
        base: The base of the triangle (non-negative).
        height: The height of the triangle (non-negative).

    Returns:
        base * height / 2.
    """
    return non_negative("base", base) * non_negative("height", height) / 2


def triangle_area_heron(side_a: float, side_b: float, side_c: float) -> float:
    """Calculates the area of a triangle from its three sides with Heron's formula.

    Args:
        side_a: The length of the first side (positive).
        side_b: The length of the second side (positive).
        side_c: The length of the third side (positive).

    Returns:
        The area of the triangle.
    """
    a, b, c = positive("side_a", side_a), positive("side_b", side_b), positive("side_c", side_c)
    if a + b <= c or a + c <= b or b + c <= a:
        raise ValueError("the sides violate the triangle inequality")
    s = (a + b + c) / 2
    return math.sqrt(s * (s - a) * (s - b) * (s - c))


def geometry_area_circle(radius: float) -> float:
    """Calculates the area of a circle.

    Args:
        radius: The radius of the circle (non-negative).

    Returns:
        pi * radius**2.
    """
    return math.pi * non_negative("radius", radius) ** 2


def circle_circumference(radius: float) -> float:
    """Calculates the circumference of a circle.

    Args:
        radius: The radius of the circle (non-negative).

    Returns:
        2 * pi * radius.
    """
    return 2 * math.pi * non_negative("radius", radius)


def rectangle_properties(length: float, width: float) -> dict[str, float]:
    """Calculates the area, perimeter and diagonal of a rectangle.

    Args:
        length: The length of the rectangle (non-negative).
        width: The width of the rectangle (non-negative).

    Returns:
        An object with area, perimeter and diagonal.
    """
    a, b = non_negative("length", length), non_negative("width", width)
    return {"area": a * b, "perimeter": 2 * (a + b), "diagonal": math.hypot(a, b)}


def sphere_volume(radius: float) -> float:
    """Calculates the volume of a sphere.

    Args:
        radius: The radius of the sphere (non-negative).

    Returns:
        4/3 * pi * radius**3.
    """
    return 4 / 3 * math.pi * non_negative("radius", radius) ** 3


def cylinder_volume(radius: float, height: float) -> float:
    """Calculates the volume of a right circular cylinder.

    Args:
        radius: The radius of the base (non-negative).
        height: The height of the cylinder (non-negative).

    Returns:
        pi * radius**2 * height.
    """
    return math.pi * non_negative("radius", radius) ** 2 * non_negative("height", height)


def cone_volume(radius: float, height: float) -> float:
    """Calculates the volume of a right circular cone.

    Args:
        radius: The radius of the base (non-negative).
        height: The height of the cone (non-negative).

    Returns:
        pi * radius**2 * height / 3.
    """
    return math.pi * non_negative("radius", radius) ** 2 * non_negative("height", height) / 3


def get_distance(pointA: tuple[float, float], pointB: tuple[float, float]) -> float:
    """Calculates the Euclidean distance between two 2D points.

    Args:
        pointA: The first point (x, y).
        pointB: The second point (x, y).

    Returns:
        The straight-line distance between the points.
    """
    a, b = _point("pointA", pointA), _point("pointB", pointB)
    return math.dist(a, b)


def convert_coordinates(coordinates: list[tuple[float, float]]) -> list[list[float]]:
    """Converts a list of (x, y) tuples into a list of [x, y] lists.

    Args:
        coordinates: The coordinates to convert, each a pair (x, y).

    Returns:
        The same coordinates as two-element lists.
    """
    return [list(p) for p in _points("coordinates", coordinates, 1)]


def polygon_area(vertices: list[list[float]]) -> float:
    """Calculates the area of a simple polygon from its vertices with the shoelace formula.

    Args:
        vertices: The vertices in order (clockwise or counter-clockwise), each [x, y];
            at least three.

    Returns:
        The (non-negative) area of the polygon.
    """
    return abs(_shoelace(_points("vertices", vertices, 3)))


def polygon_perimeter(vertices: list[list[float]]) -> float:
    """Calculates the perimeter of a polygon from its vertices.

    Args:
        vertices: The vertices in order, each [x, y]; at least three.

    Returns:
        The total length of the closed boundary.
    """
    pts = _points("vertices", vertices, 3)
    return sum(math.dist(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts)))


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def validate_polygon(vertices: list[list[float]]) -> bool:
    """Checks whether the given vertices form a valid simple polygon.

    A valid polygon has at least three distinct vertices, a non-zero area and no two
    non-adjacent edges crossing. A repeated closing vertex is ignored.

    Args:
        vertices: The vertices in order, each a 2 element list [x, y].

    Returns:
        True if the vertices form a valid polygon.
    """
    pts = [_point(f"vertices[{i}]", v) for i, v in enumerate(non_empty("vertices", vertices))]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if len(pts) < 3 or len(set(pts)) != len(pts) or _shoelace(pts) == 0:
        return False
    n = len(pts)
    edges = [(pts[i], pts[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue
            if _segments_cross(*edges[i], *edges[j]):
                return False
    return True


def point_in_polygon(point: list[float], vertices: list[list[float]]) -> bool:
    """Checks whether a point lies inside a polygon (ray casting; edges count as outside).

    Args:
        point: The point [x, y].
        vertices: The polygon's vertices in order, each [x, y]; at least three.

    Returns:
        True if the point is strictly inside the polygon.
    """
    x, y = _point("point", point)
    pts = _points("vertices", vertices, 3)
    inside = False
    j = len(pts) - 1
    for i in range(len(pts)):
        xi, yi = pts[i]
        xj, yj = pts[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def maxPoints(points: list[list[int]]) -> int:
    """Finds the maximum number of points that lie on one straight line.

    Args:
        points: The points, each a 2 element list [x, y] of integers (at most 2000).

    Returns:
        The largest number of the points on a single line.
    """
    pts = _points("points", points, 1)
    if len(pts) > 2000:
        raise ValueError("points has more than 2000 items")
    if any(not float(c).is_integer() for p in pts for c in p):
        raise ValueError("points must have integer coordinates")
    ipts = [(int(x), int(y)) for x, y in pts]
    best = 1
    for i, (x1, y1) in enumerate(ipts):
        slopes: Counter[tuple[int, int]] = Counter()
        same = 0
        for x2, y2 in ipts[i + 1 :]:
            dx, dy = x2 - x1, y2 - y1
            if dx == dy == 0:
                same += 1
                continue
            g = math.gcd(dx, dy)
            dx, dy = dx // g, dy // g
            if dx < 0 or (dx == 0 and dy < 0):
                dx, dy = -dx, -dy
            slopes[(dx, dy)] += 1
        best = max(best, 1 + same + (max(slopes.values()) if slopes else 0))
    return best
