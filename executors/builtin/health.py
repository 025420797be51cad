"""Body metrics and energy needs from standard clinical formulas (not medical advice).

BFCL names kept: ``calculate_basal_metabolic_rate`` (Mifflin-St Jeor),
``calculate_daily_energy_expenditure`` and ``calculate_nutritional_needs``
(revised Harris-Benedict).
"""

from __future__ import annotations

from typing import Any

from ._validate import finite, integer, positive

__all__ = [
    "calculate_basal_metabolic_rate",
    "calculate_bmi",
    "calculate_daily_energy_expenditure",
    "calculate_nutritional_needs",
    "daily_water_intake",
    "ideal_body_weight",
    "target_heart_rate",
]

ACTIVITY_MULTIPLIERS = (1.2, 1.375, 1.55, 1.725, 1.9)
"""Sedentary, light, moderate, very active, extra active."""


def _gender(gender: str) -> str:
    g = gender.strip().lower() if isinstance(gender, str) else ""
    if g not in ("male", "female", "other"):
        raise ValueError(f"gender must be 'male', 'female' or 'other', got {gender!r}")
    return g


def _activity(level: float) -> float:
    lv = integer("activity_level", level, low=1, high=5)
    return ACTIVITY_MULTIPLIERS[lv - 1]


def _body(weight: float, height: float, age: float) -> tuple[float, float, float]:
    w, h, a = positive("weight", weight), positive("height", height), positive("age", age)
    if w > 700 or h > 300 or a > 150:
        raise ValueError("weight (kg), height (cm) or age (years) is out of human range")
    return w, h, a


def calculate_basal_metabolic_rate(weight: float, height: float, age: float, gender: str) -> float:
    """Calculates the Basal Metabolic Rate (BMR) with the Mifflin-St Jeor equation.

    Args:
        weight: The weight of the person in kilograms.
        height: The height of the person in centimeters.
        age: The age of the person in years.
        gender: The gender of the person: male, female or other (the mean of both).

    Returns:
        The BMR in kilocalories per day.
    """
    w, h, a = _body(weight, height, age)
    offset = {"male": 5.0, "female": -161.0, "other": -78.0}[_gender(gender)]
    return 10 * w + 6.25 * h - 5 * a + offset


def calculate_daily_energy_expenditure(basal_metabolic_rate: float, activity_level: float) -> float:
    """Calculates the total daily energy expenditure from the BMR and an activity level.

    Args:
        basal_metabolic_rate: The BMR of the person, in kcal per day.
        activity_level: The activity level from 1 (sedentary) to 5 (extra active).

    Returns:
        BMR times the activity multiplier (1.2, 1.375, 1.55, 1.725 or 1.9), in kcal/day.
    """
    return positive("basal_metabolic_rate", basal_metabolic_rate) * _activity(activity_level)


def calculate_nutritional_needs(
    weight: float, height: float, age: float, gender: str, activity_level: float, goal: str
) -> dict[str, Any]:
    """Calculates daily calories and macronutrients for a weight goal.

    Uses the revised Harris-Benedict BMR, the activity multiplier, +/- 500 kcal for the goal
    and a 30/25/45 % protein/fat/carbohydrate split.

    Args:
        weight: The weight of the person in kilograms.
        height: The height of the person in centimeters.
        age: The age of the person in years.
        gender: The gender of the person: male, female or other (the mean of both).
        activity_level: The activity level from 1 (sedentary) to 5 (extra active).
        goal: The goal of the person: lose, gain or maintain.

    Returns:
        An object with calories, proteins_g, fats_g and carbohydrates_g per day.
    """
    w, h, a = _body(weight, height, age)
    g = _gender(gender)
    male = 88.362 + 13.397 * w + 4.799 * h - 5.677 * a
    female = 447.593 + 9.247 * w + 3.098 * h - 4.330 * a
    bmr = {"male": male, "female": female, "other": (male + female) / 2}[g]
    adjust = {"lose": -500.0, "gain": 500.0, "maintain": 0.0}
    if goal not in adjust:
        raise ValueError(f"goal must be 'lose', 'gain' or 'maintain', got {goal!r}")
    calories = bmr * _activity(activity_level) + adjust[goal]
    return {
        "calories": calories,
        "proteins_g": calories * 0.30 / 4,
        "fats_g": calories * 0.25 / 9,
        "carbohydrates_g": calories * 0.45 / 4,
    }


def calculate_bmi(weight: float, height: float) -> dict[str, Any]:
    """Calculates the body mass index and its WHO category.

    Args:
        weight: The weight in kilograms (positive).
        height: The height in meters (positive), e.g. 1.75.

    Returns:
        An object with bmi and category (underweight, normal, overweight or obese).
    """
    w, h = positive("weight", weight), positive("height", height)
    if h > 3:
        raise ValueError(f"height must be in meters, got {height!r}")
    bmi = w / (h * h)
    category = (
        "underweight"
        if bmi < 18.5
        else "normal"
        if bmi < 25
        else "overweight"
        if bmi < 30
        else "obese"
    )
    return {"bmi": bmi, "category": category}


def ideal_body_weight(height: float, gender: str) -> float:
    """Estimates the ideal body weight with the Devine formula.

    Args:
        height: The height in centimeters (at least 100).
        gender: male or female.

    Returns:
        The ideal weight in kilograms (50 or 45.5 kg plus 2.3 kg per inch over 5 feet).
    """
    h = finite("height", height)
    if not 100 <= h <= 300:
        raise ValueError(f"height must be between 100 and 300 cm, got {height!r}")
    g = _gender(gender)
    if g == "other":
        raise ValueError("the Devine formula is defined for male or female only")
    base = 50.0 if g == "male" else 45.5
    return base + 2.3 * (h / 2.54 - 60)


def target_heart_rate(age: int, resting_heart_rate: int, intensity: float) -> float:
    """Calculates a training heart rate with the Karvonen method (max HR = 220 - age).

    Args:
        age: The age in years (1 to 120).
        resting_heart_rate: The resting heart rate in beats per minute (20 to 150).
        intensity: The training intensity as a fraction from 0 to 1 (e.g. 0.7).

    Returns:
        The target heart rate in beats per minute.
    """
    a = integer("age", age, low=1, high=120)
    rest = integer("resting_heart_rate", resting_heart_rate, low=20, high=150)
    i = finite("intensity", intensity)
    if not 0 <= i <= 1:
        raise ValueError(f"intensity must be between 0 and 1, got {intensity!r}")
    reserve = 220 - a - rest
    if reserve <= 0:
        raise ValueError("the resting heart rate is at or above the estimated maximum")
    return rest + reserve * i


def daily_water_intake(weight: float, exercise_minutes: float = 0) -> float:
    """Estimates daily water needs: 35 ml per kg plus 12 ml per minute of exercise.

    Args:
        weight: The body weight in kilograms (positive).
        exercise_minutes: Minutes of exercise that day (non-negative).

    Returns:
        The recommended intake in liters.
    """
    w = positive("weight", weight)
    minutes = finite("exercise_minutes", exercise_minutes)
    if minutes < 0:
        raise ValueError("exercise_minutes must not be negative")
    return (35 * w + 12 * minutes) / 1000
