"""SBML Level 3 Version 2 export of the composed model.

Export writes every state as a parameter with a rate rule, every assignment (and every readout, as
`readout_<column>`) as an assignment rule, parameters with units and their sources as notes, and
dose events as SBML events firing at `time >= T`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import sympy as sp

from .._errors import PlasticityError
from ..model.compose import Clamp, FlatModel

READOUT_PREFIX = "readout_"
_MS = "http://www.w3.org/1999/xhtml"

# unit string used in models/ -> (SBML UnitDefinition id, [(kind, exponent, scale, multiplier)])
_UNITS: dict[str, tuple[str, list[tuple[str, int, int, float]]]] = {
    "1/h": ("per_hour", [("second", -1, 0, 3600.0)]),
    "h": ("hour", [("second", 1, 0, 3600.0)]),
    "nM": ("nM", [("mole", 1, -9, 1.0), ("litre", -1, 0, 1.0)]),
    "nmol": ("nmol", [("mole", 1, -9, 1.0)]),
    "L": ("litre_", [("litre", 1, 0, 1.0)]),
    "kg": ("kg", [("gram", 1, 3, 1.0)]),
    "L/kg": ("L_per_kg", [("litre", 1, 0, 1.0), ("gram", -1, 3, 1.0)]),
    "L/h/kg": ("L_per_h_per_kg", [("litre", 1, 0, 1.0), ("second", -1, 0, 3600.0), ("gram", -1, 3, 1.0)]),
    "g/mol": ("g_per_mol", [("gram", 1, 0, 1.0), ("mole", -1, 0, 1.0)]),
    "um": ("um", [("metre", 1, -6, 1.0)]),
    "1/um": ("per_um", [("metre", -1, -6, 1.0)]),
    "nM/h": ("nM_per_h", [("mole", 1, -9, 1.0), ("litre", -1, 0, 1.0), ("second", -1, 0, 3600.0)]),
    "nmol/h": ("nmol_per_h", [("mole", 1, -9, 1.0), ("second", -1, 0, 3600.0)]),
}
_DIMENSIONLESS = {"1", "dimensionless", "fold", ""}


def _libsbml():
    try:
        import libsbml
    except ImportError:
        raise PlasticityError("sbml: python-libsbml is not installed; install the extra with: pip install 'plasticity[sbml]'") from None
    return libsbml


def _check(code: int, what: str) -> None:
    if code != 0:  # LIBSBML_OPERATION_SUCCESS
        raise PlasticityError(f"sbml: could not set {what} (libsbml code {code})")


def infix(expr: sp.Expr) -> str:
    """SBML L3 infix text for a sympy expression; non-integer powers become max(x, 0)^n as in the compiled model."""
    if expr.is_Symbol:
        return expr.name
    if expr.is_Integer:
        return str(int(expr)) if expr >= 0 else f"({int(expr)})"
    if expr.is_Number:
        v = float(expr)
        return repr(v) if v >= 0 else f"({v!r})"
    if expr == sp.E:
        return "exponentiale"
    if expr == sp.pi:
        return "pi"
    if expr.is_Add:
        return "(" + " + ".join(infix(a) for a in expr.args) + ")"
    if expr.is_Mul:
        return "(" + " * ".join(infix(a) for a in expr.args) + ")"
    if expr.is_Pow:
        base, exp = expr.args
        if exp == -1:
            return f"(1 / {infix(base)})"
        if exp.is_Integer:
            return f"({infix(base)} ^ {infix(exp)})"
        return f"(max({infix(base)}, 0) ^ {infix(exp)})"
    if isinstance(expr, sp.exp):
        return f"exp({infix(expr.args[0])})"
    if isinstance(expr, sp.log):
        return f"ln({infix(expr.args[0])})"
    if isinstance(expr, sp.Abs):
        return f"abs({infix(expr.args[0])})"
    raise PlasticityError(f"sbml export: cannot write {type(expr).__name__} in expression {expr} as SBML math")


def _notes(text: str) -> str:
    return f'<body xmlns="{_MS}"><p>{escape(text)}</p></body>'


class _Writer:
    """Builds one SBML document element by element, checking every libsbml call."""

    def __init__(self, model_id: str):
        self.ls = _libsbml()
        self.doc = self.ls.SBMLDocument(3, 2)
        self.model = self.doc.createModel()
        m = self.model
        _check(m.setId(model_id), "model id")
        self._unit_ids: dict[str, str] = {}
        self._define("h")
        self._define("nmol")
        self._define("L")
        for attr, uid in (("TimeUnits", "hour"), ("SubstanceUnits", "nmol"), ("ExtentUnits", "nmol"), ("VolumeUnits", "litre_")):
            _check(getattr(m, f"set{attr}")(uid), attr)

    def _define(self, unit: str) -> str | None:
        if unit in _DIMENSIONLESS:
            return "dimensionless"
        if unit not in _UNITS:
            return None
        uid, parts = _UNITS[unit]
        if uid not in self._unit_ids.values():
            ud = self.model.createUnitDefinition()
            _check(ud.setId(uid), f"unit definition {uid}")
            for kind, exponent, scale, mult in parts:
                u = ud.createUnit()
                _check(u.setKind(self.ls.UnitKind_forName(kind)), f"unit kind {kind}")
                _check(u.setExponent(exponent), "unit exponent")
                _check(u.setScale(scale), "unit scale")
                _check(u.setMultiplier(mult), "unit multiplier")
        self._unit_ids[unit] = uid
        return uid

    def parameter(self, pid: str, value: float | None, unit: str, constant: bool, note: str = "", name: str = "") -> None:
        p = self.model.createParameter()
        _check(p.setId(pid), f"parameter id {pid}")
        _check(p.setConstant(constant), f"{pid} constant")
        if value is not None:
            _check(p.setValue(float(value)), f"value of {pid}")
        uid = self._define(unit)
        if uid:
            _check(p.setUnits(uid), f"units of {pid}")
        if name:
            p.setName(name)
        if note:
            _check(p.setNotes(_notes(note)), f"notes of {pid}")

    def math(self, expr: sp.Expr | str, where: str):
        text = expr if isinstance(expr, str) else infix(expr)
        ast = self.ls.parseL3Formula(text)
        if ast is None:
            raise PlasticityError(f"sbml export: {where}: libsbml cannot parse {text!r}: {self.ls.getLastParseL3Error()}")
        return ast

    def rule(self, kind: str, var: str, expr: sp.Expr) -> None:
        r = self.model.createRateRule() if kind == "rate" else self.model.createAssignmentRule()
        _check(r.setVariable(var), f"{kind} rule variable {var}")
        _check(r.setMath(self.math(expr, f"{kind} rule for {var}")), f"math of {kind} rule for {var}")

    def event(self, eid: str, time_h: float, target: str, amount: float | str, label: str) -> None:
        ev = self.model.createEvent()
        _check(ev.setId(eid + "_event" if isinstance(amount, str) else eid), f"event id {eid}")
        _check(ev.setUseValuesFromTriggerTime(True), f"{eid} useValuesFromTriggerTime")
        ev.setName(label)
        trig = ev.createTrigger()
        _check(trig.setInitialValue(False), f"{eid} trigger initialValue")
        _check(trig.setPersistent(True), f"{eid} trigger persistent")
        _check(trig.setMath(self.math(f"time >= {time_h!r}", f"trigger of {eid}")), f"trigger of {eid}")
        ea = ev.createEventAssignment()
        _check(ea.setVariable(target), f"{eid} assignment variable")
        added = amount if isinstance(amount, str) else repr(amount)
        _check(ea.setMath(self.math(f"{target} + {added}", f"assignment of {eid}")), f"assignment of {eid}")

    def text(self) -> str:
        return self.ls.writeSBMLToString(self.doc)


def flat_to_sbml(flat: FlatModel, p: Iterable[float], y0: Iterable[float], *, model_id: str = "plasticity", dose_parameters: bool = False,
                 extra: Mapping[str, tuple[float, str]] | None = None) -> str:
    """SBML L3V2 text for a flat model at parameter vector `p` (after prepare()) and initial states `y0`.

    With `dose_parameters`, each dose event adds a parameter `dose_<k>` (its amount) rather than a number,
    so a PEtab condition can set or zero it; `extra` adds constant parameters {id: (value, note)}."""
    from ..engine.scipy_path import event_amount

    values = dict(zip(flat.params, (float(v) for v in p), strict=True))
    w = _Writer(model_id)
    c = w.model.createCompartment()
    _check(c.setId("brain"), "compartment id")
    _check(c.setConstant(True), "compartment constant")
    _check(c.setSize(1.0), "compartment size")
    _check(c.setSpatialDimensions(3), "compartment dimensions")
    _check(c.setUnits("litre_"), "compartment units")

    holder = SimpleNamespace(flat=flat)  # event_amount needs only .flat.params
    pv = np.array([values[n] for n in flat.params])
    events = []
    for ev in flat.events:
        if ev.time_h == -math.inf:  # on before any simulation starts: fold into the initial value
            values[ev.target] += float(event_amount(holder, ev, pv))
        elif math.isfinite(ev.time_h):
            events.append(ev)
    for name in flat.params:
        m = flat.meta.get(name)
        if name in flat.inputs:
            w.parameter(name, values[name], "", False, "input changed by dose events (infusion rate, bath concentration or clamp switch)")
        else:
            note = m.source + (f" (plausible range {m.range[0]:g} to {m.range[1]:g})" if m and m.range else "") if m else ""
            w.parameter(name, values[name], m.unit if m else "", True, note)
    for name, v in zip(flat.states, y0, strict=True):
        w.parameter(name, float(v), flat.units.get(name, ""), False, "state: " + flat.descriptions.get(name, name), name=flat.descriptions.get(name, ""))
    for name, _ in flat.assignments:
        w.parameter(name, None, flat.units.get(name, ""), False, flat.descriptions.get(name, ""))
    for col, _, unit in flat.readouts:
        w.parameter(READOUT_PREFIX + col, None, unit, False, f"readout column '{col}'", name=col)
    for name, expr in flat.assignments:
        w.rule("assignment", name, expr)
    for col, expr, _ in flat.readouts:
        w.rule("assignment", READOUT_PREFIX + col, expr)
    for name, expr in zip(flat.states, flat.odes, strict=True):
        w.rule("rate", name, expr)
    for pid, (v, note) in (extra or {}).items():
        w.parameter(pid, v, "", True, note)
    for k, ev in enumerate(events):
        amount = float(event_amount(holder, ev, pv))
        if dose_parameters:
            w.parameter(f"dose_{k}", amount, flat.units.get(ev.target, ""), True, f"amount of '{ev.label}' at {ev.time_h:g} h into {ev.target}")
        w.event(f"dose_{k}", float(ev.time_h), ev.target, f"dose_{k}" if dose_parameters else amount, ev.label)
    return w.text()


def to_sbml(
    regimen=(),
    *,
    species: str = "mouse",
    params: Mapping[str, float] | None = None,
    genotype: str = "wild_type",
    cut: Iterable[str] | str = (),
    scale: Mapping[str, float] | None = None,
    clamp: Iterable[Clamp] | Clamp = (),
    path: str | Path | None = None,
    condition: str = "none",
) -> str:
    """SBML L3V2 of the model for a regimen and species: drug-free steady state as initial values, doses as events.

    Examples:
        >>> xml = to_sbml(["ketamine 10 mg/kg ip"], species="mouse", path="ketamine.xml")
    """
    from .._simulate import setup

    s = setup(regimen, species=species, params=params, genotype=genotype, cut=cut, scale=scale, clamp=clamp, condition=condition)
    text = flat_to_sbml(s.flat, s.p, s.y0)
    if path is not None:
        from .._io import atomic_write

        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return text


def sbml_errors(text: str) -> list[str]:
    """libsbml consistency-check messages of severity error or worse for an SBML text."""
    ls = _libsbml()
    doc = ls.readSBMLFromString(text)
    doc.checkConsistency()
    return [
        f"{doc.getError(i).getErrorId()}: {doc.getError(i).getMessage().strip()}"
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= ls.LIBSBML_SEV_ERROR
    ]
