"""Lists, records (objects) and small tables: sort, group, filter, aggregate, paginate.

BFCL name kept: ``sort_array``. Records are JSON objects; field values compared or summed
must be numbers or strings as the operation needs.
"""

from __future__ import annotations

import statistics
from typing import Any, Literal

from ._validate import MAX_ITEMS, finite, integer, non_empty

__all__ = [
    "aggregate_records",
    "chunk_list",
    "filter_records",
    "flatten_list",
    "frequency_count",
    "group_records_by_key",
    "paginate_list",
    "remove_duplicates",
    "sort_array",
    "sort_records",
    "top_n_values",
]


def _records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = non_empty("records", records)
    for i, r in enumerate(items):
        if not isinstance(r, dict):
            raise ValueError(f"records[{i}] must be an object")
    return items


def _list(name: str, values: list[Any]) -> list[Any]:
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list")
    if len(values) > MAX_ITEMS:
        raise ValueError(f"{name} has more than {MAX_ITEMS} items")
    return values


def sort_array(array: list[float], reverse: bool = False) -> list[float]:
    """Sorts an array of numbers.

    Args:
        array: The array of numbers.
        reverse: Whether to sort in descending order.

    Returns:
        The sorted array.
    """
    items = _list("array", array)
    for i, v in enumerate(items):
        finite(f"array[{i}]", v)
    return sorted(items, reverse=bool(reverse))


def remove_duplicates(items: list[Any]) -> list[Any]:
    """Removes repeated values from a list, keeping the first occurrence of each.

    Args:
        items: The list to de-duplicate (values of any JSON type).

    Returns:
        The list without duplicates, in original order.
    """
    seen: list[Any] = []
    for v in _list("items", items):
        if v not in seen:
            seen.append(v)
    return seen


def chunk_list(items: list[Any], size: int) -> list[list[Any]]:
    """Splits a list into consecutive chunks of a given size.

    Args:
        items: The list to split.
        size: The chunk size (at least 1); the last chunk may be shorter.

    Returns:
        The list of chunks.
    """
    values = _list("items", items)
    n = integer("size", size, low=1)
    return [values[i : i + n] for i in range(0, len(values), n)]


def flatten_list(items: list[Any], depth: int = 1) -> list[Any]:
    """Flattens nested lists by a number of levels.

    Args:
        items: The nested list.
        depth: How many levels of nesting to remove (1 to 100).

    Returns:
        The flattened list.
    """
    values = _list("items", items)
    for _ in range(integer("depth", depth, low=1, high=100)):
        if not any(isinstance(v, list) for v in values):
            break
        flat: list[Any] = []
        for v in values:
            flat.extend(v if isinstance(v, list) else [v])
        if len(flat) > MAX_ITEMS:
            raise ValueError(f"the flattened list has more than {MAX_ITEMS} items")
        values = flat
    return values


def paginate_list(items: list[Any], page: int, page_size: int) -> dict[str, Any]:
    """Returns one page of a list with paging metadata.

    Args:
        items: The full list.
        page: The 1-based page number.
        page_size: The number of items per page (1 to 1000).

    Returns:
        An object with items, page, page_size, total_items and total_pages.
    """
    values = _list("items", items)
    p = integer("page", page, low=1)
    size = integer("page_size", page_size, low=1, high=1000)
    total_pages = max(1, -(-len(values) // size))
    if p > total_pages:
        raise ValueError(f"page {p} is beyond the last page {total_pages}")
    return {
        "items": values[(p - 1) * size : p * size],
        "page": p,
        "page_size": size,
        "total_items": len(values),
        "total_pages": total_pages,
    }


def frequency_count(items: list[str | int | float | bool]) -> dict[str, int]:
    """Counts how often each value occurs in a list.

    Args:
        items: The values to count (strings, numbers or booleans).

    Returns:
        An object mapping each value (as text) to its count, most frequent first.
    """
    counts: dict[str, int] = {}
    for i, v in enumerate(non_empty("items", items)):
        if not isinstance(v, str | int | float | bool):
            raise ValueError(f"items[{i}] must be a string, number or boolean")
        counts[str(v)] = counts.get(str(v), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def top_n_values(numbers: list[float], n: int, largest: bool = True) -> list[float]:
    """Returns the n largest (or smallest) numbers of a list.

    Args:
        numbers: The numbers.
        n: How many to return (at least 1).
        largest: True for the largest values, False for the smallest.

    Returns:
        The selected numbers, best first.
    """
    values = [finite(f"numbers[{i}]", v) for i, v in enumerate(non_empty("numbers", numbers))]
    k = integer("n", n, low=1)
    return sorted(values, reverse=bool(largest))[:k]


def group_records_by_key(
    records: list[dict[str, Any]], key: str
) -> dict[str, list[dict[str, Any]]]:
    """Groups records by the value of one field.

    Args:
        records: The records (objects).
        key: The field to group by; records without it go under "null".

    Returns:
        An object mapping each field value (as text) to its records.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in _records(records):
        value = r.get(key)
        groups.setdefault("null" if value is None else str(value), []).append(r)
    return groups


_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "contains")


def _compare(v: Any, operator: str, value: Any) -> bool:
    if operator == "contains":
        return str(value) in str(v)
    if operator == "eq":
        return bool(v == value)
    if operator == "ne":
        return bool(v != value)
    if operator == "gt":
        return bool(v > value)
    if operator == "ge":
        return bool(v >= value)
    if operator == "lt":
        return bool(v < value)
    return bool(v <= value)


def filter_records(
    records: list[dict[str, Any]],
    field: str,
    operator: Literal["eq", "ne", "gt", "ge", "lt", "le", "contains"],
    value: str | int | float | bool,
) -> list[dict[str, Any]]:
    """Keeps the records whose field satisfies a comparison.

    Args:
        records: The records (objects).
        field: The field to test; records without it are dropped.
        operator: The comparison: eq, ne, gt, ge, lt, le, or contains (substring).
        value: The value to compare with.

    Returns:
        The matching records, in original order.
    """
    if operator not in _OPS:
        raise ValueError(f"operator must be one of {list(_OPS)}, got {operator!r}")
    out = []
    for r in _records(records):
        if field not in r:
            continue
        try:
            keep = _compare(r[field], operator, value)
        except TypeError:
            raise ValueError(
                f"cannot compare {r[field]!r} with {value!r} using {operator}"
            ) from None
        if keep:
            out.append(r)
    return out


def sort_records(
    records: list[dict[str, Any]], key: str, descending: bool = False
) -> list[dict[str, Any]]:
    """Sorts records by one field; records missing the field go last.

    Args:
        records: The records (objects).
        key: The field to sort by (its values must be mutually comparable).
        descending: Whether to sort from largest to smallest.

    Returns:
        The sorted records.
    """
    items = _records(records)
    present = [r for r in items if r.get(key) is not None]
    missing = [r for r in items if r.get(key) is None]
    try:
        present.sort(key=lambda r: r[key], reverse=bool(descending))
    except TypeError:
        raise ValueError(f"the values of {key!r} cannot be compared with each other") from None
    return present + missing


def aggregate_records(
    records: list[dict[str, Any]],
    group_by: str,
    field: str,
    operation: Literal["sum", "mean", "min", "max", "count"],
) -> dict[str, float]:
    """Aggregates a numeric field per group, like SQL GROUP BY.

    Args:
        records: The records (objects).
        group_by: The field that defines the groups.
        field: The numeric field to aggregate (ignored for count).
        operation: The aggregate: sum, mean, min, max or count.

    Returns:
        An object mapping each group value (as text) to the aggregate.
    """
    funcs = {"sum": sum, "mean": statistics.fmean, "min": min, "max": max, "count": len}
    if operation not in funcs:
        raise ValueError(f"operation must be one of {list(funcs)}, got {operation!r}")
    groups: dict[str, list[float]] = {}
    for i, r in enumerate(_records(records)):
        bucket = groups.setdefault(str(r.get(group_by)), [])
        if operation == "count":
            bucket.append(0.0)
        elif field in r:
            bucket.append(finite(f"records[{i}].{field}", r[field]))
    return {g: float(funcs[operation](vals)) for g, vals in groups.items() if vals}  # type: ignore[operator]
