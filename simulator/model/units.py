"""Unit conversion at the edges (pint), into the engine's canonical units.

Canonical units: time h, concentration nM, amount nmol, volume L, mass kg, length um.
"""

from __future__ import annotations

import re
from functools import cache

import pint

from .._errors import PlasticityError

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


MAX_UNIT_CHARS = 64
MAX_UNIT_POWER = 12  # |exponent| in a unit (the model's deepest is 2); pint would evaluate h**(9**9**9) for ever
MAX_UNIT_NUMBER = 1e12  # a scale factor written in a unit ('1e3 L')
MAX_UNIT_PARENS = 4
_UNIT_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?)"
                         r"|(?P<op>\*\*|\^|[*/()+-]))")


def check_unit_text(text: str) -> None:
    """Refuse a unit string outside our small grammar before pint parses it: names, literal numbers, * / and
    parentheses; a power (** or ^) only of a literal number of at most MAX_UNIT_POWER; one linear scan."""
    if len(text) > MAX_UNIT_CHARS:
        raise PlasticityError(f"unit {text[:40]!r}...: longer than {MAX_UNIT_CHARS} characters")
    pos, depth, after_power, exponent = 0, 0, False, False  # exponent: the last token was a power's exponent
    while pos < len(text):
        m = _UNIT_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise PlasticityError(f"unit {text!r}: unexpected character {text[pos:].lstrip()[:1]!r}; "
                                  "expected names, numbers, *, /, ** or ^ and parentheses")
        pos = m.end()
        num, op = m["num"], m["op"]
        if after_power:
            if op in ("+", "-"):
                continue
            if num is None or abs(float(num)) > MAX_UNIT_POWER:
                raise PlasticityError(f"unit {text!r}: a power must be a literal number of at most {MAX_UNIT_POWER}")
            after_power, exponent = False, True
            continue
        if exponent and op in ("**", "^"):  # a**b**c is a**(b**c): 9**9**9 would be evaluated exactly
            raise PlasticityError(f"unit {text!r}: a power of a power needs parentheses, e.g. (h**2)**3")
        exponent = False
        if num is not None and abs(float(num)) > MAX_UNIT_NUMBER:
            raise PlasticityError(f"unit {text!r}: number {num} is above {MAX_UNIT_NUMBER:g}")
        if op in ("**", "^"):
            after_power = True
        elif op in ("+", "-"):
            raise PlasticityError(f"unit {text!r}: '{op}' is allowed only as the sign of a power")
        elif op == "(":
            depth += 1
            if depth > MAX_UNIT_PARENS:
                raise PlasticityError(f"unit {text!r}: parentheses nested deeper than {MAX_UNIT_PARENS}")
        elif op == ")":
            depth -= 1
    if after_power:
        raise PlasticityError(f"unit {text!r}: a power needs a literal number after it")


def parse_unit(unit: str) -> str:
    """Normalise spellings (µ, μ, 'ug'), check the text against our grammar, then that pint knows the unit; returns pint's text."""
    text = unit.strip().replace("µ", "u").replace("μ", "u")
    if text in ("1", ""):
        return "dimensionless"
    check_unit_text(text)
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
