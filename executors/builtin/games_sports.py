"""Scoring and probability for games and sports.

BFCL name kept: ``generate_random_number`` (made deterministic by an explicit seed, so a
verified call replays to the same result).
"""

from __future__ import annotations

import random
from typing import Any

from ._validate import finite, integer, positive

__all__ = [
    "batting_average",
    "bowling_score",
    "dice_sum_probability",
    "elo_expected_score",
    "elo_rating_update",
    "generate_random_number",
    "tennis_game_score",
    "win_percentage",
]


def bowling_score(rolls: list[int]) -> int:
    """Scores a complete ten-pin bowling game from its rolls (strikes and spares count bonuses).

    Args:
        rolls: The pins knocked down by each roll in order, including bonus rolls of the
            tenth frame, e.g. twelve 10s for a perfect game.

    Returns:
        The total score (0 to 300).
    """
    if not isinstance(rolls, list) or not 11 <= len(rolls) <= 21:
        raise ValueError("rolls must list the 11 to 21 rolls of a complete game")
    r = [integer(f"rolls[{i}]", v, low=0, high=10) for i, v in enumerate(rolls)]
    score, i = 0, 0
    for frame in range(10):
        if i >= len(r):
            raise ValueError(f"the game ends before frame {frame + 1}")
        if r[i] == 10:
            if i + 2 >= len(r):
                raise ValueError("a strike needs two bonus rolls")
            if r[i + 1] != 10 and r[i + 1] + r[i + 2] > 10:
                raise ValueError("more than 10 pins in the rolls after a strike")
            score += 10 + r[i + 1] + r[i + 2]
            i += 1
            continue
        if i + 1 >= len(r):
            raise ValueError(f"frame {frame + 1} is incomplete")
        if r[i] + r[i + 1] > 10:
            raise ValueError(f"frame {frame + 1} knocks down more than 10 pins")
        if r[i] + r[i + 1] == 10:
            if i + 2 >= len(r):
                raise ValueError("a spare needs one bonus roll")
            score += 10 + r[i + 2]
        else:
            score += r[i] + r[i + 1]
        i += 2
    bonus = 0 if r[i - 1] + (r[i - 2] if i >= 2 else 0) < 10 else 2
    if len(r) > i + bonus:
        raise ValueError("there are more rolls than a complete game has")
    return score


_TENNIS = ("0", "15", "30", "40")


def tennis_game_score(server_points: int, receiver_points: int) -> str:
    """Calls the score of a tennis game from the points each player has won.

    Args:
        server_points: Points won by the server (non-negative).
        receiver_points: Points won by the receiver (non-negative).

    Returns:
        The called score: e.g. "30-15", "deuce", "advantage server" or "game server".
    """
    s = integer("server_points", server_points, low=0, high=1000)
    r = integer("receiver_points", receiver_points, low=0, high=1000)
    if max(s, r) >= 4 and abs(s - r) >= 2:
        if max(s, r) > max(4, min(s, r) + 2):
            raise ValueError("the game would already have ended")
        return "game server" if s > r else "game receiver"
    if s >= 3 and r >= 3:
        if s == r:
            return "deuce"
        return "advantage server" if s > r else "advantage receiver"
    return f"{_TENNIS[s]}-{_TENNIS[r]}"


def elo_expected_score(rating_a: float, rating_b: float) -> float:
    """Calculates player A's expected score against player B under the Elo system.

    Args:
        rating_a: Player A's Elo rating.
        rating_b: Player B's Elo rating.

    Returns:
        The expected score of A, from 0 to 1 (its win probability plus half its draw chance).
    """
    diff = finite("rating_b", rating_b) - finite("rating_a", rating_a)
    return 1 / (1 + 10 ** (max(-4000.0, min(4000.0, diff)) / 400))


def elo_rating_update(
    rating_a: float, rating_b: float, score_a: float, k_factor: float = 32
) -> dict[str, float]:
    """Updates two Elo ratings after a game.

    Args:
        rating_a: Player A's rating before the game.
        rating_b: Player B's rating before the game.
        score_a: A's result: 1 for a win, 0.5 for a draw, 0 for a loss.
        k_factor: The K-factor, the largest possible change (positive).

    Returns:
        An object with new_rating_a and new_rating_b.
    """
    s = finite("score_a", score_a)
    if s not in (0.0, 0.5, 1.0):
        raise ValueError(f"score_a must be 0, 0.5 or 1, got {score_a!r}")
    k = positive("k_factor", k_factor)
    ea = elo_expected_score(rating_a, rating_b)
    delta = k * (s - ea)
    return {"new_rating_a": float(rating_a) + delta, "new_rating_b": float(rating_b) - delta}


def dice_sum_probability(target_sum: int, dice: int = 2, sides: int = 6) -> float:
    """Calculates the probability that fair dice add up to a target.

    Args:
        target_sum: The total to hit.
        dice: The number of dice (1 to 50).
        sides: The number of faces on each die (2 to 100).

    Returns:
        The probability from 0 to 1.
    """
    n = integer("dice", dice, low=1, high=50)
    s = integer("sides", sides, low=2, high=100)
    t = integer("target_sum", target_sum)
    ways = [1] + [0] * (n * s)
    for _ in range(n):
        nxt = [0] * (n * s + 1)
        for total, count in enumerate(ways):
            if count:
                for face in range(1, s + 1):
                    if total + face <= n * s:
                        nxt[total + face] += count
        ways = nxt
    if not 0 <= t <= n * s:
        return 0.0
    return float(ways[t] / s**n)


def generate_random_number(min: int, max: int, seed: int = 0) -> int:
    """Generates a pseudo-random integer within a range, reproducibly from a seed.

    Args:
        min: The minimum value of the range (inclusive).
        max: The maximum value of the range (inclusive, not below min).
        seed: The seed of the generator; the same seed gives the same number.

    Returns:
        An integer between min and max.
    """
    lo, hi = integer("min", min), integer("max", max)
    if hi < lo:
        raise ValueError("max must not be smaller than min")
    return random.Random(integer("seed", seed)).randint(lo, hi)


def win_percentage(wins: int, losses: int, ties: int = 0) -> float:
    """Calculates a win percentage, counting ties as half a win.

    Args:
        wins: The number of wins (non-negative).
        losses: The number of losses (non-negative).
        ties: The number of ties (non-negative).

    Returns:
        (wins + ties / 2) / games, from 0 to 1.
    """
    w, lo, t = (
        integer("wins", wins, low=0),
        integer("losses", losses, low=0),
        integer("ties", ties, low=0),
    )
    if w + lo + t == 0:
        raise ValueError("at least one game must have been played")
    return (w + t / 2) / (w + lo + t)


def batting_average(hits: int, at_bats: int) -> dict[str, Any]:
    """Calculates a baseball batting average.

    Args:
        hits: The number of hits (non-negative, at most at_bats).
        at_bats: The number of official at-bats (positive).

    Returns:
        An object with average (a fraction) and display (e.g. ".300").
    """
    ab = integer("at_bats", at_bats, low=1)
    h = integer("hits", hits, low=0, high=ab)
    avg = h / ab
    display = f"{avg:.3f}"
    return {"average": avg, "display": display[1:] if display.startswith("0") else display}
