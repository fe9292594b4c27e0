"""Unit conversion at the edges (pint), into the engine's canonical units.

Canonical units: time h, concentration nM, amount nmol, volume L, mass kg, length um.
"""

from __future__ import annotations

from functools import cache

import pint

ureg = pint.UnitRegistry()
ureg.define("fold = [] ")

# The canonical unit for each dimensionality the model files use.
_CANONICAL = [
    "dimensionless",
    "1/h",
    "h",
    "nM",
    "nmol",
    "L",
    "kg",
    "um",
    "1/um",
    "g/mol",
    "L/kg",
    "L/h/kg",
    "L/h",
    "nmol/h",
]


@cache
def _canonical_for(unit: str) -> str:
    dim = ureg.Quantity(1, unit).dimensionality
    for cand in _CANONICAL:
        if ureg.Quantity(1, cand).dimensionality == dim:
            return cand
    raise pint.DimensionalityError(unit, "a canonical unit", extra_msg=f" (dimensionality {dim})")


def parse_unit(unit: str) -> str:
    """Normalise spellings (µ, μ, 'ug') and check pint knows the unit; returns pint's text."""
    text = unit.strip().replace("µ", "u").replace("μ", "u")
    if text in ("1", ""):
        return "dimensionless"
    ureg.Quantity(1, text)  # raises on unknown units
    return text


def to_canonical(value: float, unit: str) -> tuple[float, str]:
    """Convert a value to the canonical unit of its dimensionality; returns (value, unit)."""
    text = parse_unit(unit)
    target = _canonical_for(text)
    return float(ureg.Quantity(value, text).to(target).magnitude), target


def convert(value: float, unit: str, target: str) -> float:
    """Convert a value between two units (raises pint errors on mismatch)."""
    return float(ureg.Quantity(value, parse_unit(unit)).to(parse_unit(target)).magnitude)
