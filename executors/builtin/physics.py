"""Classical mechanics, electricity and waves in SI units.

BFCL names kept: ``calculate_density``, ``calculate_displacement``,
``calculate_final_velocity`` and ``calculate_electrostatic_potential_energy``.
Constants are CODATA 2018 exact or recommended values.
"""

from __future__ import annotations

import math

from ._validate import finite, non_negative, positive

__all__ = [
    "calculate_density",
    "calculate_displacement",
    "calculate_electrostatic_potential_energy",
    "calculate_final_velocity",
    "calculate_momentum",
    "coulomb_force",
    "free_fall_time",
    "gravitational_force",
    "gravitational_potential_energy",
    "kinetic_energy",
    "ohms_law",
    "pendulum_period",
    "photon_energy",
    "projectile_range",
]

STANDARD_GRAVITY = 9.80665  # m/s^2
GRAVITATIONAL_CONSTANT = 6.67430e-11  # m^3 kg^-1 s^-2
COULOMB_CONSTANT = 8.9875517923e9  # N m^2 C^-2
PLANCK_CONSTANT = 6.62607015e-34  # J s (exact)
SPEED_OF_LIGHT = 299_792_458.0  # m/s (exact)


def calculate_density(mass: float, volume: float) -> float:
    """Calculates the density of an object.

    Args:
        mass: The mass of the object, in kilograms (non-negative).
        volume: The volume of the object, in cubic meters (positive).

    Returns:
        The density in kg/m^3.
    """
    return non_negative("mass", mass) / positive("volume", volume)


def calculate_displacement(initial_velocity: float, acceleration: float, time: float) -> float:
    """Calculates the displacement of an object under constant acceleration.

    Args:
        initial_velocity: The initial velocity, in meters per second.
        acceleration: The acceleration, in meters per second squared.
        time: The time the object has been moving, in seconds (non-negative).

    Returns:
        v0 * t + a * t**2 / 2, in meters.
    """
    t = non_negative("time", time)
    return (
        finite("initial_velocity", initial_velocity) * t
        + finite("acceleration", acceleration) * t * t / 2
    )


def calculate_final_velocity(initial_velocity: float, acceleration: float, time: float) -> float:
    """Calculates the final velocity of an object under constant acceleration.

    Args:
        initial_velocity: The initial velocity, in meters per second.
        acceleration: The acceleration, in meters per second squared.
        time: The time the object has been moving, in seconds (non-negative).

    Returns:
        v0 + a * t, in meters per second.
    """
    return finite("initial_velocity", initial_velocity) + finite(
        "acceleration", acceleration
    ) * non_negative("time", time)


def calculate_electrostatic_potential_energy(charge: float, voltage: float) -> float:
    """Calculates the electrostatic potential energy of a charge at a potential.

    Args:
        charge: The charge of the object, in coulombs.
        voltage: The electric potential, in volts.

    Returns:
        charge * voltage, in joules.
    """
    return finite("charge", charge) * finite("voltage", voltage)


def kinetic_energy(mass: float, velocity: float) -> float:
    """Calculates the kinetic energy of a moving body.

    Args:
        mass: The mass, in kilograms (non-negative).
        velocity: The speed, in meters per second.

    Returns:
        m * v**2 / 2, in joules.
    """
    return non_negative("mass", mass) * finite("velocity", velocity) ** 2 / 2


def gravitational_potential_energy(
    mass: float, height: float, gravity: float = STANDARD_GRAVITY
) -> float:
    """Calculates the gravitational potential energy near a planet's surface.

    Args:
        mass: The mass, in kilograms (non-negative).
        height: The height above the reference level, in meters.
        gravity: The gravitational acceleration, in m/s^2 (positive; Earth by default).

    Returns:
        m * g * h, in joules.
    """
    return non_negative("mass", mass) * positive("gravity", gravity) * finite("height", height)


def calculate_momentum(mass: float, velocity: float) -> float:
    """Calculates the linear momentum of a body.

    Args:
        mass: The mass, in kilograms (non-negative).
        velocity: The velocity, in meters per second.

    Returns:
        m * v, in kg m/s.
    """
    return non_negative("mass", mass) * finite("velocity", velocity)


def projectile_range(
    initial_velocity: float, launch_angle: float, gravity: float = STANDARD_GRAVITY
) -> float:
    """Calculates the horizontal range of a projectile launched from and landing on flat ground.

    Args:
        initial_velocity: The launch speed, in meters per second (non-negative).
        launch_angle: The launch angle above the horizontal, in degrees (0 to 90).
        gravity: The gravitational acceleration, in m/s^2 (positive; Earth by default).

    Returns:
        v**2 * sin(2 * angle) / g, in meters.
    """
    v = non_negative("initial_velocity", initial_velocity)
    angle = finite("launch_angle", launch_angle)
    if not 0 <= angle <= 90:
        raise ValueError(f"launch_angle must be between 0 and 90 degrees, got {launch_angle!r}")
    return v * v * math.sin(math.radians(2 * angle)) / positive("gravity", gravity)


def free_fall_time(height: float, gravity: float = STANDARD_GRAVITY) -> float:
    """Calculates how long an object dropped from rest takes to fall a height (no drag).

    Args:
        height: The fall height, in meters (non-negative).
        gravity: The gravitational acceleration, in m/s^2 (positive; Earth by default).

    Returns:
        sqrt(2 h / g), in seconds.
    """
    return math.sqrt(2 * non_negative("height", height) / positive("gravity", gravity))


def ohms_law(
    voltage: float | None = None, current: float | None = None, resistance: float | None = None
) -> dict[str, float]:
    """Solves Ohm's law V = I * R for the one quantity left out.

    Args:
        voltage: The voltage, in volts, or null if unknown.
        current: The current, in amperes, or null if unknown.
        resistance: The resistance, in ohms (positive), or null if unknown.

    Returns:
        An object with voltage, current and resistance.
    """
    known = [v is not None for v in (voltage, current, resistance)]
    if sum(known) != 2:
        raise ValueError("give exactly two of voltage, current and resistance")
    if voltage is None:
        i, r = finite("current", current), positive("resistance", resistance)
        return {"voltage": i * r, "current": i, "resistance": r}
    v = finite("voltage", voltage)
    if current is None:
        r = positive("resistance", resistance)
        return {"voltage": v, "current": v / r, "resistance": r}
    i = finite("current", current)
    if i == 0:
        raise ValueError("current must not be 0 when solving for resistance")
    r = v / i
    if r <= 0:
        raise ValueError("voltage and current must have the same sign")
    return {"voltage": v, "current": i, "resistance": r}


def coulomb_force(charge_1: float, charge_2: float, distance: float) -> float:
    """Calculates the electrostatic force between two point charges in vacuum.

    Args:
        charge_1: The first charge, in coulombs.
        charge_2: The second charge, in coulombs.
        distance: The distance between them, in meters (positive).

    Returns:
        k * q1 * q2 / r**2, in newtons (positive = repulsive).
    """
    r = positive("distance", distance)
    return COULOMB_CONSTANT * finite("charge_1", charge_1) * finite("charge_2", charge_2) / (r * r)


def gravitational_force(mass_1: float, mass_2: float, distance: float) -> float:
    """Calculates the Newtonian gravitational attraction between two masses.

    Args:
        mass_1: The first mass, in kilograms (non-negative).
        mass_2: The second mass, in kilograms (non-negative).
        distance: The distance between their centres, in meters (positive).

    Returns:
        G * m1 * m2 / r**2, in newtons.
    """
    r = positive("distance", distance)
    return (
        GRAVITATIONAL_CONSTANT
        * non_negative("mass_1", mass_1)
        * non_negative("mass_2", mass_2)
        / (r * r)
    )


def pendulum_period(length: float, gravity: float = STANDARD_GRAVITY) -> float:
    """Calculates the small-angle period of a simple pendulum.

    Args:
        length: The pendulum length, in meters (positive).
        gravity: The gravitational acceleration, in m/s^2 (positive; Earth by default).

    Returns:
        2 * pi * sqrt(L / g), in seconds.
    """
    return 2 * math.pi * math.sqrt(positive("length", length) / positive("gravity", gravity))


def photon_energy(wavelength: float) -> float:
    """Calculates the energy of a photon from its wavelength.

    Args:
        wavelength: The wavelength, in meters (positive), e.g. 5.5e-7 for green light.

    Returns:
        h * c / wavelength, in joules.
    """
    return PLANCK_CONSTANT * SPEED_OF_LIGHT / positive("wavelength", wavelength)
