"""Tools shared by the LLM-layer tests: built-in-like functions with varied schemas."""

from __future__ import annotations

from topics import Tool

WEATHER = Tool(
    "get_weather",
    "Current weather for a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "units": {"type": "string", "enum": ["metric", "imperial"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "days"],
    },
)
CONVERT = Tool(
    "convert_currency",
    "Convert an amount between two currencies on a date.",
    {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "minimum": 0, "maximum": 10000},
            "currency": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
            "rounded": {"type": "boolean"},
        },
        "required": ["amount", "currency"],
    },
)
FACTORIAL = Tool(
    "math.factorial",
    "Factorial of a non-negative integer.",
    {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 20}},
        "required": ["n"],
    },
)
TOOLS = (WEATHER, CONVERT, FACTORIAL)
