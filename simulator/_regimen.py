"""The regimen grammar: dose strings, `Dose` and `Regimen` objects and regimen TOML files.

    ketamine 10 mg/kg ip                          bolus at t = 0
    ketamine 10 mg/kg ip at 2 h                   bolus at t = 2 h
    ketamine 0.5 mg/kg iv over 40 min             infusion
    esketamine 56 mg intranasal every 3.5 d x 8   repeated (x N counts every dose)
    rapamycin 0.2 nmol icv at -30 min             pretreatment before t = 0
    lsd 10 nM bath for 15 min                     culture: bath application, then washout
    ketamine 10 mg/kg ip daily for 14 d           a course: 14 administrations, one a day
    esketamine 56 mg intranasal twice weekly for 4 weeks    8 administrations, every 3.5 d
    psilocybin 1 mg/kg ip weekly x 4              4 administrations, one a week

`for T` after a repetition (`every T`, `daily`, `weekly` ...) is the length of the course: the
administrations are those that start within T of the first. Before any repetition, `for T` is the
length of an infusion or a bath, as `over T` is.
"""

from __future__ import annotations

import math
import re

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ._errors import RegimenError, UnknownNameError

ROUTE_SPELLINGS = {
    "iv": "iv", "i.v.": "iv", "i.v": "iv", "intravenous": "iv",
    "ip": "ip", "i.p.": "ip", "i.p": "ip", "intraperitoneal": "ip",
    "sc": "sc", "s.c.": "sc", "s.c": "sc", "subcutaneous": "sc",
    "oral": "oral", "po": "oral", "p.o.": "oral", "p.o": "oral",
    "intranasal": "intranasal", "in": "intranasal", "i.n.": "intranasal", "i.n": "intranasal", "nasal": "intranasal",
    "icv": "icv", "i.c.v.": "icv", "i.c.v": "icv", "intracerebroventricular": "icv",
    "bath": "bath",
}
TIME_UNITS = {
    "s": 1 / 3600, "sec": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
    "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0,
    "d": 24.0, "day": 24.0, "days": 24.0,
    "w": 168.0, "wk": 168.0, "week": 168.0, "weeks": 168.0,
}
# dose unit -> (kind, factor to the base of that kind): mass in mg, amount in nmol, conc in nM
DOSE_UNITS = {
    "mg/kg": ("mass_per_kg", 1.0), "ug/kg": ("mass_per_kg", 1e-3), "g/kg": ("mass_per_kg", 1e3),
    "mg": ("mass", 1.0), "ug": ("mass", 1e-3), "g": ("mass", 1e3), "ng": ("mass", 1e-6),
    "nmol": ("amount", 1.0), "umol": ("amount", 1e3), "pmol": ("amount", 1e-3), "mmol": ("amount", 1e6),
    "nmol/kg": ("amount_per_kg", 1.0), "umol/kg": ("amount_per_kg", 1e3),
    "nm": ("conc", 1.0), "um": ("conc", 1e3), "pm": ("conc", 1e-3), "mm": ("conc", 1e6),
}

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# the amount is a number (which may touch its unit: '10mg/kg') or else one whole word, reported as not a number
_DOSE_RE = re.compile(rf"^(?P<name>.+?)\s+(?P<amount>{_NUM}(?=[a-zA-Zµμ/\s])|\S+(?=\s))\s*(?P<unit>[a-zA-Zµμ/]+)\s+(?P<route>\S+)(?P<rest>.*)$")
# a compound name with spaces ('racemic ketamine 10 mg/kg ip'): the amount is the first number followed by a known unit and route
_STRICT_DOSE_RE = re.compile(rf"^(?P<name>.+?)\s+(?P<amount>{_NUM})\s*(?P<unit>[a-zA-Zµμ/]+)\s+(?P<route>\S+)(?P<rest>.*)$")
_CLAUSE_RE = re.compile(r"^\s*(?P<kw>at|over|for|every|x)\s*(?P<rest>.*)$", re.IGNORECASE)
# clinical frequencies -> dosing interval in hours ("daily for 14 d", "twice weekly for 4 weeks", "weekly x 4")
FREQUENCIES = {
    "daily": 24.0, "once daily": 24.0, "once a day": 24.0, "qd": 24.0, "every day": 24.0,
    "twice daily": 12.0, "twice a day": 12.0, "bid": 12.0, "b.i.d.": 12.0,
    "three times daily": 8.0, "three times a day": 8.0, "tid": 8.0, "t.i.d.": 8.0,
    "every other day": 48.0,
    "weekly": 168.0, "once weekly": 168.0, "once a week": 168.0, "every week": 168.0,
    "twice weekly": 84.0, "twice a week": 84.0,
    "three times weekly": 56.0, "three times a week": 56.0, "thrice weekly": 56.0,
}
_FREQ_RE = re.compile(
    r"^\s*(?P<freq>" + "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in sorted(FREQUENCIES, key=len, reverse=True)) + r")(?=\s|$)(?P<rest>.*)$",
    re.IGNORECASE,
)
_NEXT_CLAUSE_RE = re.compile(
    r"\s+(?:(?:at|over|for|every|x)(?:\s|\d|$)|(?:" + "|".join(re.escape(f.split()[0]) for f in FREQUENCIES) + r")(?:\s|$))", re.IGNORECASE
)


def course_count(course_h: float, every_h: float) -> int:
    """Administrations in a course of `course_h` hours, one every `every_h`: those starting before its end."""
    return max(1, math.ceil(course_h / every_h - 1e-9))
_TIME_RE = re.compile(rf"^(?P<num>{_NUM})\s*(?P<unit>[a-zA-Z]+)(?P<rest>.*)$")


def parse_time(text: str, field: str = "time") -> float:
    """'30 min' -> 0.5 (hours)."""
    m = _TIME_RE.match(text.strip())
    if not m or m["rest"].strip():
        raise RegimenError(f"{field}: cannot read {text!r} as a time; expected a number and a unit, e.g. '30 min', '2 h', '3.5 d'")
    unit = m["unit"].lower()
    if unit not in TIME_UNITS:
        raise UnknownNameError("time unit", m["unit"], TIME_UNITS, context=field)
    return float(m["num"]) * TIME_UNITS[unit]


def _normalise_unit(unit: str) -> str:
    return unit.replace("µ", "u").replace("μ", "u").lower()


@dataclass(frozen=True)
class Dose:
    """One dose or schedule of one compound. Times are in hours.

    >>> Dose("ketamine", 10, "mg/kg", "ip")
    >>> Dose("ketamine", 0.5, "mg/kg", "iv", over_h=40 / 60)
    """

    compound: str
    amount: float
    unit: str
    route: str
    at_h: float = 0.0
    over_h: float | None = None
    every_h: float | None = None
    count: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.compound, str) or not self.compound.strip():
            raise RegimenError(f"compound: expected a compound name, got {self.compound!r}")
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
            raise RegimenError(f"amount: expected a positive finite number for {self.compound}, got {amount!r}")
        if amount <= 0:
            raise RegimenError(f"amount: a dose must be positive, got {amount:g} {self.unit} of {self.compound}")
        unit = _normalise_unit(self.unit)
        if unit not in DOSE_UNITS:
            raise UnknownNameError("dose unit", self.unit, [u[0] + "M" if DOSE_UNITS[u][0] == "conc" else u for u in DOSE_UNITS], context=f"dose of {self.compound}")
        object.__setattr__(self, "unit", unit)
        route = ROUTE_SPELLINGS.get(str(self.route).lower())
        if route is None:
            raise UnknownNameError("route", self.route, sorted(set(ROUTE_SPELLINGS.values())), context=f"dose of {self.compound}")
        object.__setattr__(self, "route", route)
        is_conc = DOSE_UNITS[unit][0] == "conc"
        if is_conc != (route == "bath"):
            want = "a concentration (nM, uM) with route 'bath'" if is_conc else "an amount (mg/kg, mg, ug, nmol ...) with a route such as ip or iv"
            raise RegimenError(f"unit: '{self.unit}' with route '{route}' does not fit; expected {want}")
        for name in ("at_h", "over_h", "every_h"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise RegimenError(f"{name}: expected a finite number of hours, got {v!r}")
        if self.over_h is not None and self.over_h <= 0:
            raise RegimenError(f"over: an infusion or bath duration must be positive, got {self.over_h} h")
        if self.every_h is not None and self.every_h <= 0:
            raise RegimenError(f"every: the dosing interval must be positive, got {self.every_h} h")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise RegimenError(f"x: the dose count must be a whole number >= 1, got {self.count!r}")
        if self.count > 1 and self.every_h is None:
            raise RegimenError(f"x {self.count}: repeated doses need an interval, e.g. 'every 1 d x {self.count}'")
        if self.every_h is not None and self.over_h is not None and self.over_h > self.every_h:
            raise RegimenError(f"over: each infusion ({self.over_h} h) is longer than the dosing interval ({self.every_h} h)")

    @property
    def times_h(self) -> list[float]:
        """Start time of every administration."""
        return [self.at_h + i * (self.every_h or 0.0) for i in range(self.count)]

    def __str__(self) -> str:
        unit = self.unit.replace("nm", "nM").replace("um", "uM") if self.route == "bath" else self.unit
        text = f"{self.compound} {self.amount:g} {unit} {self.route}"
        if self.at_h:
            text += f" at {self.at_h * 60:g} min" if abs(self.at_h) < 1 else f" at {self.at_h:g} h"
        if self.over_h is not None:
            text += f" {'for' if self.route == 'bath' else 'over'} {self.over_h * 60:g} min"
        if self.every_h is not None:
            text += f" every {self.every_h:g} h x {self.count}"
        return text


def parse_dose(text: str) -> Dose:
    """Parse one dose string of the grammar in the module docstring."""
    if not isinstance(text, str):
        raise RegimenError(f"dose: expected a string such as 'ketamine 10 mg/kg ip', got {text!r}")
    clean = " ".join(text.split())
    m = _DOSE_RE.match(clean)
    if m and not re.fullmatch(_NUM, m["amount"]):
        s = _STRICT_DOSE_RE.match(clean)
        if s and _normalise_unit(s["unit"]) in DOSE_UNITS and s["route"].lower() in ROUTE_SPELLINGS:
            m = s
    if not m:
        raise RegimenError(f"dose: cannot read {text!r}; expected '<compound> <amount> <unit> <route> [at T] [over T] [every T x N]', e.g. 'ketamine 10 mg/kg ip'")
    try:
        amount = float(m["amount"])
    except ValueError:
        raise RegimenError(f"amount: {m['amount']!r} in {text!r} is not a number") from None
    kw: dict[str, object] = {}
    rest = m["rest"]
    course: float | None = None
    frequency = ""
    while rest.strip():
        f = _FREQ_RE.match(rest)
        if f:
            if "every_h" in kw:
                raise RegimenError(f"every: the dosing interval is given twice in {text!r}")
            frequency = " ".join(f["freq"].lower().split())
            kw["every_h"], rest = FREQUENCIES[frequency], f["rest"]
            continue
        c = _CLAUSE_RE.match(rest)
        if not c:
            raise RegimenError(
                f"dose: cannot read {rest.strip()!r} in {text!r}; expected 'at T', 'over T', 'for T', 'every T', 'x N' "
                "or a frequency such as 'daily', 'twice weekly', 'weekly'"
            )
        key, rest = c["kw"].lower(), c["rest"]
        if key == "x":
            n = re.match(r"^(\d+)(?!\.)\b(.*)$", rest)
            if not n:
                raise RegimenError(f"x: expected a whole number of doses after 'x' in {text!r}")
            kw["count"], rest = int(n[1]), n[2]
            continue
        t = _TIME_RE.match(rest)
        if not t:
            raise RegimenError(f"{key}: expected a time such as '30 min' or '2 h' in {text!r}")
        nxt = _NEXT_CLAUSE_RE.search(t["rest"])
        tail = t["rest"][: nxt.start()] if nxt else t["rest"]
        if tail.strip():
            raise RegimenError(f"{key}: cannot read {tail.strip()!r} after the time in {text!r}")
        hours = parse_time(f"{t['num']} {t['unit']}", key)
        rest = t["rest"][nxt.start():] if nxt else ""
        if key == "for" and "every_h" in kw:  # after a repetition: the length of the course
            if course is not None:
                raise RegimenError(f"for: the length of the course is given twice in {text!r}")
            if hours <= 0:
                raise RegimenError(f"for: the length of a course must be positive, got {hours:g} h in {text!r}")
            course = hours
            continue
        field = {"at": "at_h", "over": "over_h", "for": "over_h", "every": "every_h"}[key]
        if field in kw:
            raise RegimenError(f"{key}: given twice in {text!r}")
        kw[field] = hours
    if course is not None:
        if "count" in kw:
            raise RegimenError(f"x: give the number of doses ('x N') or the length of the course ('for T'), not both, in {text!r}")
        every = float(kw["every_h"])  # type: ignore[arg-type]
        if every > 0:  # Dose refuses a non-positive interval and too many administrations
            kw["count"] = course_count(course, every)
    elif frequency and "count" not in kw:
        raise RegimenError(f"{frequency}: how many doses? add the length of the course ('{frequency} for 14 d') or a count ('{frequency} x 14') in {text!r}")
    return Dose(m["name"].strip(), amount, m["unit"], m["route"], **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Regimen:
    """An ordered collection of doses; [] is vehicle."""

    doses: tuple[Dose, ...] = ()

    @classmethod
    def coerce(cls, regimen: Regimen | Dose | str | Iterable[Dose | str] | None) -> Regimen:
        if regimen is None:
            return cls()
        if isinstance(regimen, Regimen):
            return regimen
        if isinstance(regimen, (str, Dose)):
            regimen = [regimen]
        doses = []
        for item in regimen:
            doses.append(item if isinstance(item, Dose) else parse_dose(item))
        return cls(tuple(doses))

    @classmethod
    def from_toml(cls, path: str | Path) -> Regimen:
        """A regimen file: `doses = ["ketamine 10 mg/kg ip", ...]` and/or `[[dose]]` tables."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RegimenError(f"{path}: cannot read regimen file ({exc})") from None
        doses = [parse_dose(s) for s in data.get("doses", [])]
        for i, d in enumerate(data.get("dose", [])):
            where = f"{path.name}: dose[{i}]"
            try:
                amount, unit = str(d["amount"]).split(maxsplit=1)
                doses.append(
                    Dose(
                        d["compound"], float(amount), unit, d["route"],
                        at_h=parse_time(d["at"], "at") if "at" in d else 0.0,
                        over_h=parse_time(d["over"], "over") if "over" in d else None,
                        every_h=parse_time(d["every"], "every") if "every" in d else None,
                        count=int(d.get("count", 1)),
                    )
                )
            except KeyError as exc:
                raise RegimenError(f"{where}: missing key {exc}; expected compound, amount ('10 mg/kg'), route") from None
            except ValueError as exc:
                raise RegimenError(f"{where}: {exc}") from None
        return cls(tuple(doses))

    @property
    def start_h(self) -> float:
        return min((min(d.times_h) for d in self.doses), default=0.0)

    def __str__(self) -> str:
        return "; ".join(str(d) for d in self.doses) or "vehicle"

    def __iter__(self):
        return iter(self.doses)

    def __len__(self) -> int:
        return len(self.doses)
