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

from .._errors import PlasticityError, RegimenError, UnknownNameError
from .._limits import MAX_ADMINISTRATIONS, MAX_DOSE, MAX_REGIMEN_FILE_BYTES, MAX_SPAN_H, MAX_TOML_DEPTH, MIN_DURATION_H

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
    return check_time(float(m["num"]) * TIME_UNITS[unit], field, text)


def check_time(hours: float, field: str, text: object = None) -> float:
    """A dose or clamp time in hours: finite and within MAX_SPAN_H of t = 0."""
    given = f"{text!r} ({hours:g} h)" if text is not None else f"{hours!r} h"
    if not math.isfinite(hours) or abs(hours) > MAX_SPAN_H:
        raise RegimenError(f"{field}: {given} is outside the limit of +/-{MAX_SPAN_H:,.0f} h (MAX_SPAN_H)")
    return hours


def _finite(x: float) -> bool:
    """math.isfinite that says False for an int too large for a float instead of raising."""
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _normalise_unit(unit: str) -> str:
    return unit.replace("µ", "u").replace("μ", "u").lower()


@dataclass(frozen=True)
class Dose:
    """One dose or schedule of one compound. Times are in hours.

    Examples:
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
        for name in ("unit", "route"):
            if not isinstance(getattr(self, name), str):
                raise RegimenError(f"{name}: expected text such as {'mg/kg' if name == 'unit' else 'ip'} for {self.compound}, got {getattr(self, name)!r}")
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not _finite(amount):
            raise RegimenError(f"amount: expected a positive finite number for {self.compound}, got {amount!r}")
        if amount <= 0:
            raise RegimenError(f"amount: a dose must be positive, got {amount:g} {self.unit} of {self.compound}")
        unit = _normalise_unit(self.unit)
        if unit not in DOSE_UNITS:
            raise UnknownNameError("dose unit", self.unit, [u[0] + "M" if DOSE_UNITS[u][0] == "conc" else u for u in DOSE_UNITS], context=f"dose of {self.compound}")
        object.__setattr__(self, "unit", unit)
        canonical = amount * DOSE_UNITS[unit][1]
        if canonical > MAX_DOSE:
            base = {"mass_per_kg": "mg/kg", "mass": "mg", "amount": "nmol", "amount_per_kg": "nmol/kg", "conc": "nM"}[DOSE_UNITS[unit][0]]
            given = f"{amount:g} {self.unit}" + (f" ({canonical:g} {base})" if unit != base else "")
            raise RegimenError(f"amount: {given} of {self.compound} is above the limit of {MAX_DOSE:g} {base} (MAX_DOSE)")
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
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v)):
                raise RegimenError(f"{name}: expected a finite number of hours, got {v!r}")
            if v is not None:
                check_time(float(v), name)
        if self.over_h is not None and self.over_h <= 0:
            raise RegimenError(f"over: an infusion or bath duration must be positive, got {self.over_h} h")
        if self.every_h is not None and self.every_h <= 0:
            raise RegimenError(f"every: the dosing interval must be positive, got {self.every_h} h")
        for name in ("over_h", "every_h"):
            v = getattr(self, name)
            if v is not None and v < MIN_DURATION_H:
                raise RegimenError(f"{name[:-2]}: {v * 3600:g} s is shorter than the limit of 1 s (MIN_DURATION_H)")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise RegimenError(f"x: the dose count must be a whole number >= 1, got {self.count!r}")
        if self.count > MAX_ADMINISTRATIONS:
            raise RegimenError(
                f"x: {self.count:,} doses of {self.compound} exceed the limit of {MAX_ADMINISTRATIONS:,} administrations "
                "in a regimen (MAX_ADMINISTRATIONS); give fewer doses or a longer interval"
            )
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
            if "count" in kw:
                raise RegimenError(f"x: given twice in {text!r}")
            if len(n[1]) > 12:  # never turn a 10,000-digit count into an int
                raise RegimenError(f"x: {n[1][:20]}... doses exceed the limit of {MAX_ADMINISTRATIONS:,} administrations in a regimen (MAX_ADMINISTRATIONS)")
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
    elif "every_h" in kw and "count" not in kw:  # like 'daily': a repetition without a count would silently be one dose
        raise RegimenError(f"every: how many doses? add a count ('every 1 d x 14') or the length of the course ('every 1 d for 14 d') in {text!r}")
    return Dose(m["name"].strip(), amount, m["unit"], m["route"], **kw)  # type: ignore[arg-type]


REGIMEN_FILE_KEYS = ("doses", "dose")
DOSE_TABLE_KEYS = ("compound", "amount", "route", "at", "over", "for", "every", "count")
_AMOUNT_RE = re.compile(rf"^\s*(?P<num>{_NUM})\s*(?P<unit>[a-zA-Zµμ/]+)\s*$")


def _in_file(make, where: str):
    """make(), with `where` (the file and entry) put in front of any PlasticityError it raises."""
    try:
        return make()
    except PlasticityError as exc:
        exc.args = (f"{where}: {exc}",)
        raise


def _dose_from_table(d: dict) -> Dose:
    """One [[dose]] table of a regimen file: every key known and of the expected type."""
    for key in d:
        if key not in DOSE_TABLE_KEYS:
            raise UnknownNameError("key", key, DOSE_TABLE_KEYS, context="a [[dose]] table")
    missing = [k for k in ("compound", "amount", "route") if k not in d]
    if missing:
        raise RegimenError(f"missing key(s) {', '.join(missing)}; expected compound, amount ('10 mg/kg') and route")
    for key in ("compound", "amount", "route", "at", "over", "for", "every"):
        if key in d and not isinstance(d[key], str):
            want = {"compound": "a compound name", "amount": "an amount with its unit such as '10 mg/kg'", "route": "a route such as 'ip'"}
            raise RegimenError(f"{key}: expected {want.get(key, 'a time with its unit such as ' + repr('2 h'))}, got {d[key]!r:.60}")
    if "over" in d and "for" in d:
        raise RegimenError("over: give 'over' (an infusion) or 'for' (a bath), not both")
    m = _AMOUNT_RE.match(d["amount"])
    if not m:
        raise RegimenError(f"amount: expected a number and a unit such as '10 mg/kg', got {d['amount']!r:.60}")
    count = d.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int):
        raise RegimenError(f"count: expected a whole number of doses, got {count!r}")
    if "every" in d and "count" not in d:
        raise RegimenError(f"every: how many doses? add 'count' beside every = {d['every']!r:.40} (without it the schedule would be one dose)")
    duration = d.get("over", d.get("for"))
    return Dose(
        d["compound"], float(m["num"]), m["unit"], d["route"],
        at_h=parse_time(d["at"], "at") if "at" in d else 0.0,
        over_h=parse_time(duration, "over") if duration is not None else None,
        every_h=parse_time(d["every"], "every") if "every" in d else None,
        count=count,
    )


def toml_depth(text: str) -> int:
    """Deepest nesting of [ and { in TOML text, outside strings and comments (a check before parsing)."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n and text[j:j + len(quote)] != quote:
                j += 2 if (c == '"' and text[j] == "\\") else 1
            i = j + len(quote)
            continue
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest


@dataclass(frozen=True)
class Regimen:
    """An ordered collection of doses; [] is vehicle."""

    doses: tuple[Dose, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.doses, tuple) or not all(isinstance(d, Dose) for d in self.doses):
            raise RegimenError(f"regimen: expected a tuple of Dose objects, got {self.doses!r:.200}")
        total = sum(d.count for d in self.doses)
        if total > MAX_ADMINISTRATIONS:
            raise RegimenError(
                f"regimen: {total:,} administrations exceed the limit of {MAX_ADMINISTRATIONS:,} in a regimen "
                "(MAX_ADMINISTRATIONS); give fewer doses or longer intervals"
            )

    @classmethod
    def coerce(cls, regimen: Regimen | Dose | str | Iterable[Dose | str] | None) -> Regimen:
        """A Regimen from what users pass: a dose string, a Dose, a list of them, a Regimen, or None (vehicle)."""
        if regimen is None:
            return cls()
        if isinstance(regimen, Regimen):
            return regimen
        if isinstance(regimen, (str, Dose)):
            regimen = [regimen]
        if isinstance(regimen, (bytes, bytearray, dict)) or not isinstance(regimen, Iterable):
            raise RegimenError(
                f"regimen: expected a dose string, a Dose, a list of them or a Regimen, got {type(regimen).__name__} {regimen!r:.60}"
            )
        doses = []
        for item in regimen:
            doses.append(item if isinstance(item, Dose) else parse_dose(item))
            if len(doses) > MAX_ADMINISTRATIONS:  # a generator could be endless
                break
        return cls(tuple(doses))

    @classmethod
    def from_toml(cls, path: str | Path) -> Regimen:
        """A regimen file: `doses = ["ketamine 10 mg/kg ip", ...]` and/or `[[dose]]` tables.

        Read with a size limit, as UTF-8, with a nesting limit; unknown keys and wrong types are errors."""
        name = str(path)
        try:
            with Path(path).open("rb") as fh:
                raw = fh.read(MAX_REGIMEN_FILE_BYTES + 1)
        except OSError as exc:
            raise RegimenError(f"{name}: cannot read regimen file ({exc.strerror or exc})") from None
        except (TypeError, ValueError) as exc:
            raise RegimenError(f"regimen file: expected a path, got {path!r:.100} ({exc})") from None
        if len(raw) > MAX_REGIMEN_FILE_BYTES:
            raise RegimenError(f"{name}: regimen file is larger than the limit of {MAX_REGIMEN_FILE_BYTES:,} bytes (MAX_REGIMEN_FILE_BYTES)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RegimenError(f"{name}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); save the regimen file as UTF-8") from None
        depth = toml_depth(text)
        if depth > MAX_TOML_DEPTH:
            raise RegimenError(f"{name}: arrays or tables nested {depth} deep, over the limit of {MAX_TOML_DEPTH} (MAX_TOML_DEPTH); a regimen file needs 2")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RegimenError(f"{name}: cannot read regimen file (malformed TOML: {exc})") from None
        except RecursionError:
            raise RegimenError(f"{name}: arrays or tables nested too deeply (limit {MAX_TOML_DEPTH}, MAX_TOML_DEPTH)") from None
        return cls._from_data(data, name)

    @classmethod
    def _from_data(cls, data: dict, name: str) -> Regimen:
        for key in data:
            if key not in REGIMEN_FILE_KEYS:
                raise UnknownNameError("key", key, REGIMEN_FILE_KEYS, context=f"regimen file {name}")
        if not data:
            raise RegimenError(f'{name}: no doses; expected doses = ["ketamine 10 mg/kg ip", ...] or [[dose]] tables (a vehicle run needs no regimen file)')
        strings, tables = data.get("doses", []), data.get("dose", [])
        if not isinstance(strings, list) or not all(isinstance(x, str) for x in strings):
            raise RegimenError(f'{name}: doses: expected a list of dose strings such as ["ketamine 10 mg/kg ip"], got {strings!r:.100}')
        if not isinstance(tables, list) or not all(isinstance(x, dict) for x in tables):
            raise RegimenError(f"{name}: dose: expected [[dose]] tables (compound, amount, route, ...), got {tables!r:.100}; "
                               'dose strings go in doses = ["..."]')
        if len(strings) + len(tables) > MAX_ADMINISTRATIONS:
            raise RegimenError(f"{name}: {len(strings) + len(tables):,} doses exceed the limit of {MAX_ADMINISTRATIONS:,} administrations (MAX_ADMINISTRATIONS)")
        doses = []
        for i, text in enumerate(strings):
            doses.append(_in_file(lambda text=text: parse_dose(text), f"{name}: doses[{i}]"))
        for i, table in enumerate(tables):
            doses.append(_in_file(lambda table=table: _dose_from_table(table), f"{name}: dose[{i}]"))
        return _in_file(lambda: cls(tuple(doses)), name)

    @property
    def start_h(self) -> float:
        """The first administration's time in h (0 for vehicle)."""
        return min((min(d.times_h) for d in self.doses), default=0.0)

    def __str__(self) -> str:
        return "; ".join(str(d) for d in self.doses) or "vehicle"

    def __iter__(self):
        return iter(self.doses)

    def __len__(self) -> int:
        return len(self.doses)
