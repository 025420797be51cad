"""Places as people write them: city nicknames and abbreviations, names in other scripts,
IANA time zones, and typos of long words.

``CITY_NAMES`` maps a city's English name (normalized) to other ways queries write it:
"SF" and "San Fran" state ``"San Francisco"``, "Philly" ``"Philadelphia"``, "上海"
``"Shanghai"``. The table holds only unambiguous, common forms of large cities; "LA" is
also Louisiana, and either reading grounds (the region rules decide the state part).

A time zone ``"America/New_York"`` is grounded by its city ("New York time"), see
:func:`zone_city`. :func:`near_word` accepts one typo (an inserted, deleted, changed or
swapped letter) in words of six or more letters: "Orlanda" states ``"Orlando"``, "Berkley"
``"Berkeley"``; shorter words must match exactly, so "Paris" never states "Parts".
"""

from __future__ import annotations

import re

__all__ = ["CITY_NAMES", "near_word", "zone_city"]

_CITIES = """
san francisco: sf|san fran|frisco; los angeles: la|l.a.|lax; philadelphia: philly
new york: nyc|ny|big apple|new york city; las vegas: vegas; new orleans: nola
washington: dc|d.c.; san diego: sd; chicago: chi-town|chitown; boston: beantown
salt lake city: slc; beijing: 北京|peking; shanghai: 上海; guangzhou: 广州|canton
shenzhen: 深圳; hong kong: 香港; taipei: 台北; tokyo: 東京|东京; osaka: 大阪; kyoto: 京都
seoul: 서울|首尔; singapore: 新加坡; bangkok: 曼谷; london: 伦敦; paris: 巴黎; berlin: 柏林
moscow: 莫斯科|москва
"""


def _table(text: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for entry in (e.strip() for line in text.splitlines() for e in line.split(";")):
        if entry:
            name, _, aliases = entry.partition(": ")
            out[name] = tuple(aliases.split("|"))
    return out


CITY_NAMES = _table(_CITIES)
"""A city's name -> the nicknames, abbreviations and other scripts that state it."""

_ZONE = re.compile(r"[a-z]+(?:/[a-z_-]+)?/(?P<city>[a-z_-]+)")


def zone_city(value: str) -> str | None:
    """The city of an IANA time zone (normalized): ``america/new_york`` -> ``new york``."""
    m = _ZONE.fullmatch(value)
    return m["city"].replace("_", " ") if m else None


def near_word(a: str, b: str) -> bool:
    """``a`` and ``b`` are the same word, or both have six or more letters and differ by one
    edit (Damerau-Levenshtein distance 1)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 6 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]
