"""Stoichiometry, solutions, gases and decay, over a bundled table of element data.

Atomic weights are IUPAC standard atomic weights, abridged to five significant figures.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ._validate import non_negative, positive

__all__ = [
    "calculate_molar_mass",
    "calculate_ph",
    "dilution_final_volume",
    "element_info",
    "ideal_gas_pressure",
    "mass_to_moles",
    "percent_composition",
    "radioactive_decay",
]

GAS_CONSTANT = 8.314462618  # J mol^-1 K^-1
# symbol: (atomic number, name, standard atomic weight)
ELEMENTS: dict[str, tuple[int, str, float]] = {
    "H": (1, "Hydrogen", 1.008), "He": (2, "Helium", 4.0026), "Li": (3, "Lithium", 6.94),
    "Be": (4, "Beryllium", 9.0122), "B": (5, "Boron", 10.81), "C": (6, "Carbon", 12.011),
    "N": (7, "Nitrogen", 14.007), "O": (8, "Oxygen", 15.999), "F": (9, "Fluorine", 18.998),
    "Ne": (10, "Neon", 20.180), "Na": (11, "Sodium", 22.990), "Mg": (12, "Magnesium", 24.305),
    "Al": (13, "Aluminium", 26.982), "Si": (14, "Silicon", 28.085),
    "P": (15, "Phosphorus", 30.974), "S": (16, "Sulfur", 32.06), "Cl": (17, "Chlorine", 35.45),
    "Ar": (18, "Argon", 39.948), "K": (19, "Potassium", 39.098), "Ca": (20, "Calcium", 40.078),
    "Sc": (21, "Scandium", 44.956), "Ti": (22, "Titanium", 47.867),
    "V": (23, "Vanadium", 50.942), "Cr": (24, "Chromium", 51.996),
    "Mn": (25, "Manganese", 54.938), "Fe": (26, "Iron", 55.845), "Co": (27, "Cobalt", 58.933),
    "Ni": (28, "Nickel", 58.693), "Cu": (29, "Copper", 63.546), "Zn": (30, "Zinc", 65.38),
    "Ga": (31, "Gallium", 69.723), "Ge": (32, "Germanium", 72.630),
    "As": (33, "Arsenic", 74.922), "Se": (34, "Selenium", 78.971),
    "Br": (35, "Bromine", 79.904), "Kr": (36, "Krypton", 83.798),
    "Rb": (37, "Rubidium", 85.468), "Sr": (38, "Strontium", 87.62),
    "Ag": (47, "Silver", 107.87), "Sn": (50, "Tin", 118.71), "I": (53, "Iodine", 126.90),
    "Xe": (54, "Xenon", 131.29), "Ba": (56, "Barium", 137.33),
    "Pt": (78, "Platinum", 195.08), "Au": (79, "Gold", 196.97), "Hg": (80, "Mercury", 200.59),
    "Pb": (82, "Lead", 207.2), "U": (92, "Uranium", 238.03),
}  # fmt: skip

_TOKEN = re.compile(r"([A-Z][a-z]?|\(|\)|\d+)")


def _composition(formula: str) -> dict[str, int]:
    if not isinstance(formula, str) or not formula.strip() or len(formula) > 200:
        raise ValueError("formula must be a non-empty chemical formula of at most 200 characters")
    text = formula.replace(" ", "")
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != text:
        raise ValueError(f"formula {formula!r} contains invalid characters")
    stack: list[dict[str, int]] = [{}]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok == "(":
            stack.append({})
            continue
        if tok.isdigit():
            raise ValueError(f"misplaced number in {formula!r}")
        count = 1
        if i < len(tokens) and tokens[i].isdigit():
            count = int(tokens[i])
            i += 1
            if not 1 <= count <= 10_000:
                raise ValueError(f"atom counts must be between 1 and 10000 in {formula!r}")
        if tok == ")":
            if len(stack) == 1:
                raise ValueError(f"unbalanced parentheses in {formula!r}")
            group = stack.pop()
            for el, n in group.items():
                stack[-1][el] = stack[-1].get(el, 0) + n * count
        elif tok in ELEMENTS:
            stack[-1][tok] = stack[-1].get(tok, 0) + count
        else:
            raise ValueError(f"unknown element {tok!r} in {formula!r}")
    if len(stack) != 1 or not stack[0]:
        raise ValueError(f"unbalanced or empty formula {formula!r}")
    return stack[0]


def calculate_molar_mass(formula: str) -> float:
    """Calculates the molar mass of a compound from its chemical formula.

    Args:
        formula: The chemical formula, e.g. "H2O", "C6H12O6" or "Ca(OH)2".

    Returns:
        The molar mass in g/mol.
    """
    return sum(ELEMENTS[el][2] * n for el, n in _composition(formula).items())


def percent_composition(formula: str) -> dict[str, float]:
    """Calculates the mass percentage of each element in a compound.

    Args:
        formula: The chemical formula, e.g. "NaCl".

    Returns:
        An object mapping element symbols to mass percentages.
    """
    comp = _composition(formula)
    total = sum(ELEMENTS[el][2] * n for el, n in comp.items())
    return {el: ELEMENTS[el][2] * n / total * 100 for el, n in comp.items()}


def element_info(symbol: str) -> dict[str, Any]:
    """Looks up an element by symbol or name.

    Args:
        symbol: The element symbol (e.g. "Fe") or English name (e.g. "iron").

    Returns:
        An object with symbol, name, atomic_number and atomic_weight.
    """
    if not isinstance(symbol, str):
        raise ValueError("symbol must be a string")
    key = symbol.strip()
    for sym, (number, name, weight) in ELEMENTS.items():
        if key == sym or key.lower() == name.lower() or (key.lower() == "aluminum" and sym == "Al"):
            return {"symbol": sym, "name": name, "atomic_number": number, "atomic_weight": weight}
    raise ValueError(f"unknown element {symbol!r}")


def mass_to_moles(mass: float, formula: str) -> float:
    """Converts a mass of a compound to an amount of substance.

    Args:
        mass: The mass in grams (non-negative).
        formula: The chemical formula of the compound.

    Returns:
        The amount in moles.
    """
    return non_negative("mass", mass) / calculate_molar_mass(formula)


def calculate_ph(hydrogen_ion_concentration: float) -> float:
    """Calculates the pH of a solution from its hydrogen ion concentration.

    Args:
        hydrogen_ion_concentration: The H+ concentration in mol/L (positive).

    Returns:
        -log10([H+]).
    """
    return -math.log10(positive("hydrogen_ion_concentration", hydrogen_ion_concentration))


def ideal_gas_pressure(moles: float, temperature: float, volume: float) -> float:
    """Calculates the pressure of an ideal gas (PV = nRT).

    Args:
        moles: The amount of gas in moles (non-negative).
        temperature: The temperature in kelvin (positive).
        volume: The volume in cubic meters (positive).

    Returns:
        The pressure in pascals.
    """
    return (
        non_negative("moles", moles)
        * GAS_CONSTANT
        * positive("temperature", temperature)
        / positive("volume", volume)
    )


def dilution_final_volume(
    initial_concentration: float, initial_volume: float, final_concentration: float
) -> float:
    """Calculates the final volume of a dilution (C1 V1 = C2 V2).

    Args:
        initial_concentration: The stock concentration C1 (positive).
        initial_volume: The stock volume V1 (non-negative).
        final_concentration: The target concentration C2 (positive, at most C1).

    Returns:
        The final volume V2, in the unit of V1.
    """
    c1 = positive("initial_concentration", initial_concentration)
    c2 = positive("final_concentration", final_concentration)
    if c2 > c1:
        raise ValueError("final_concentration cannot exceed initial_concentration in a dilution")
    return c1 * non_negative("initial_volume", initial_volume) / c2


def radioactive_decay(initial_amount: float, half_life: float, time: float) -> float:
    """Calculates the amount of a radioactive substance left after a time.

    Args:
        initial_amount: The starting amount (non-negative).
        half_life: The half-life (positive), in the same time unit as time.
        time: The elapsed time (non-negative).

    Returns:
        initial_amount * 0.5 ** (time / half_life).
    """
    n0 = non_negative("initial_amount", initial_amount)
    remaining: float = n0 * 0.5 ** (non_negative("time", time) / positive("half_life", half_life))
    return remaining
