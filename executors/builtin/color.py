"""sRGB colour conversions and WCAG 2 contrast."""

from __future__ import annotations

import colorsys
import re
from typing import Any

from ._validate import finite, integer

__all__ = [
    "blend_colors",
    "complementary_color",
    "contrast_ratio",
    "hex_to_rgb",
    "hsl_to_rgb",
    "relative_luminance",
    "rgb_to_hex",
    "rgb_to_hsl",
]

_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def _parse_hex(name: str, value: str) -> tuple[int, int, int]:
    m = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"{name} must be a hex colour like '#1e90ff' or '#fff', got {value!r}")
    h = m.group(1)
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _hex(r: int, g: int, b: int) -> str:
    return f"#{r:02x}{g:02x}{b:02x}"


def hex_to_rgb(hex_color: str) -> list[int]:
    """Converts a hex colour code to RGB components.

    Args:
        hex_color: The colour, e.g. "#ff8000" or "f80".

    Returns:
        [red, green, blue], each 0 to 255.
    """
    return list(_parse_hex("hex_color", hex_color))


def rgb_to_hex(red: int, green: int, blue: int) -> str:
    """Converts RGB components to a hex colour code.

    Args:
        red: The red component (0 to 255).
        green: The green component (0 to 255).
        blue: The blue component (0 to 255).

    Returns:
        The lowercase hex code, e.g. "#ff8000".
    """
    return _hex(
        *(
            integer(n, v, low=0, high=255)
            for n, v in (("red", red), ("green", green), ("blue", blue))
        )
    )


def rgb_to_hsl(red: int, green: int, blue: int) -> dict[str, float]:
    """Converts RGB components to hue, saturation and lightness.

    Args:
        red: The red component (0 to 255).
        green: The green component (0 to 255).
        blue: The blue component (0 to 255).

    Returns:
        An object with hue (degrees, 0-360), saturation and lightness (percent, 0-100).
    """
    r, g, b = (
        integer(n, v, low=0, high=255) / 255
        for n, v in (("red", red), ("green", green), ("blue", blue))
    )
    h, light, s = colorsys.rgb_to_hls(r, g, b)
    return {"hue": h * 360, "saturation": s * 100, "lightness": light * 100}


def hsl_to_rgb(hue: float, saturation: float, lightness: float) -> list[int]:
    """Converts hue, saturation and lightness to RGB components.

    Args:
        hue: The hue in degrees (any value; taken modulo 360).
        saturation: The saturation in percent (0 to 100).
        lightness: The lightness in percent (0 to 100).

    Returns:
        [red, green, blue], each 0 to 255.
    """
    h = finite("hue", hue) % 360 / 360
    s, light = finite("saturation", saturation), finite("lightness", lightness)
    if not (0 <= s <= 100 and 0 <= light <= 100):
        raise ValueError("saturation and lightness must be between 0 and 100")
    return [round(c * 255) for c in colorsys.hls_to_rgb(h, light / 100, s / 100)]


def relative_luminance(hex_color: str) -> float:
    """Calculates the WCAG relative luminance of an sRGB colour.

    Args:
        hex_color: The colour, e.g. "#777777".

    Returns:
        The luminance from 0 (black) to 1 (white).
    """

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _parse_hex("hex_color", hex_color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> dict[str, Any]:
    """Calculates the WCAG 2 contrast ratio of two colours and the levels it passes.

    Args:
        foreground: The text colour, e.g. "#000000".
        background: The background colour, e.g. "#ffffff".

    Returns:
        An object with ratio (1 to 21), aa_normal, aa_large and aaa_normal booleans.
    """
    la, lb = relative_luminance(foreground), relative_luminance(background)
    ratio = (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
    return {
        "ratio": ratio,
        "aa_normal": ratio >= 4.5,
        "aa_large": ratio >= 3,
        "aaa_normal": ratio >= 7,
    }


def blend_colors(color_a: str, color_b: str, weight: float = 0.5) -> str:
    """Mixes two colours linearly in sRGB.

    Args:
        color_a: The first colour as hex.
        color_b: The second colour as hex.
        weight: The share of color_b, from 0 (all a) to 1 (all b).

    Returns:
        The blended colour as hex.
    """
    w = finite("weight", weight)
    if not 0 <= w <= 1:
        raise ValueError(f"weight must be between 0 and 1, got {weight!r}")
    a, b = _parse_hex("color_a", color_a), _parse_hex("color_b", color_b)
    r, g, bl = (round(x * (1 - w) + y * w) for x, y in zip(a, b, strict=True))
    return _hex(r, g, bl)


def complementary_color(hex_color: str) -> str:
    """Finds the complementary colour (RGB inverse).

    Args:
        hex_color: The colour as hex.

    Returns:
        The complement as hex, e.g. "#00ffff" for "#ff0000".
    """
    r, g, b = _parse_hex("hex_color", hex_color)
    return _hex(255 - r, 255 - g, 255 - b)
