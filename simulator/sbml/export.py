"""SBML Level 3 Version 2 export of the composed model.

Export writes every state as a species in a compartment (depot, central, peripheral, brain, bath,
synapse: `compartment_of`), the right-hand sides as reactions (transfers, losses, productions:
`network`) with SBO terms and MIRIAM annotations (`annotations`), every assignment (and every readout,
as `readout_<column>`) as an assignment rule, parameters with units and their sources as notes, and
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
from . import annotations, network

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

    def compartment(self, cid: str, note: str) -> None:
        c = self.model.createCompartment()
        _check(c.setId(cid), "compartment id")
        _check(c.setConstant(True), f"{cid} constant")
        _check(c.setSize(1.0), f"{cid} size")
        _check(c.setSpatialDimensions(3), f"{cid} dimensions")
        _check(c.setUnits("litre_"), f"{cid} units")
        _check(c.setSBOTerm(annotations.SBO_COMPARTMENT), f"{cid} SBO term")
        _check(c.setNotes(_notes(note)), f"{cid} notes")

    def species(self, sid: str, compartment: str, value: float, unit: str, sbo: str, uris: list[str], note: str) -> None:
        """A state as a species: nM states as concentrations, the others (nmol, folds) as amounts."""
        sp_ = self.model.createSpecies()
        _check(sp_.setId(sid), f"species id {sid}")
        _check(sp_.setCompartment(compartment), f"{sid} compartment")
        conc = unit == "nM"
        _check(sp_.setHasOnlySubstanceUnits(not conc), f"{sid} hasOnlySubstanceUnits")
        _check(sp_.setInitialConcentration(value) if conc else sp_.setInitialAmount(value), f"initial value of {sid}")
        _check(sp_.setSubstanceUnits("nmol" if unit in ("nM", "nmol") else "dimensionless"), f"{sid} substance units")
        _check(sp_.setBoundaryCondition(False), f"{sid} boundaryCondition")
        _check(sp_.setConstant(False), f"{sid} constant")
        _check(sp_.setSBOTerm(sbo), f"{sid} SBO term")
        _check(sp_.setNotes(_notes(note)), f"{sid} notes")
        if uris:
            _check(sp_.setMetaId("meta_" + sid), f"{sid} metaid")
            cv = self.ls.CVTerm(self.ls.BIOLOGICAL_QUALIFIER)
            _check(cv.setBiologicalQualifierType(self.ls.BQB_IS), f"{sid} qualifier")
            for uri in uris:
                _check(cv.addResource(uri), f"{sid} resource {uri}")
            _check(sp_.addCVTerm(cv), f"{sid} annotation")

    def reaction(self, r: network.Reaction) -> None:
        rx = self.model.createReaction()
        _check(rx.setId(r.id), f"reaction id {r.id}")
        _check(rx.setReversible(False), f"{r.id} reversible")
        sbo = {network.TRANSFER: annotations.SBO_TRANSPORT, network.LOSS: annotations.SBO_DEGRADATION,
               network.PRODUCTION: annotations.SBO_PRODUCTION}[r.kind]
        _check(rx.setSBOTerm(sbo), f"{r.id} SBO term")
        for sid, make in ((r.reactant, rx.createReactant), (r.product, rx.createProduct)):
            if sid is not None:
                ref = make()
                _check(ref.setSpecies(sid), f"{r.id} species {sid}")
                _check(ref.setStoichiometry(1.0), f"{r.id} stoichiometry")
                _check(ref.setConstant(True), f"{r.id} stoichiometry constant")
        for sid in r.modifiers:
            _check(rx.createModifier().setSpecies(sid), f"{r.id} modifier {sid}")
        law = rx.createKineticLaw()
        _check(law.setMath(self.math(r.rate, f"rate of reaction {r.id}")), f"rate of {r.id}")

    def text(self) -> str:
        return self.ls.writeSBMLToString(self.doc)


def compartment_of(state: str, unit: str) -> str:
    """Where a state lives: PK amounts by their compartment, brain concentrations, and the synapse for the loop."""
    if unit == "nmol":
        for part in ("depot", "peripheral", "central"):
            if f"_{part}" in state:
                return part
        return "central"
    if unit == "nM":
        return "bath" if state.endswith("_bath") else "brain"
    return "synapse"


COMPARTMENTS = {
    "depot": "absorption depots (ip, oral, sc, intranasal...): amounts in nmol; nominal size 1 L",
    "central": "plasma / central compartment: amounts in nmol (each compound's own volume of distribution is a parameter); nominal size 1 L",
    "peripheral": "peripheral compartment of two-compartment PK: amounts in nmol; nominal size 1 L",
    "brain": "brain: free concentrations in nM, as concentrations in a compartment of 1 L (so rates in nmol/h equal nM/h)",
    "bath": "culture bath: concentrations in nM, compartment of 1 L",
    "synapse": "the signalling loop: each node a fold over its drug-free baseline (spines in spines/um), as amounts of a dimensionless substance; size 1",
}


def flat_to_sbml(flat: FlatModel, p: Iterable[float], y0: Iterable[float], *, model_id: str = "plasticity", dose_parameters: bool = False,
                 extra: Mapping[str, tuple[float, str]] | None = None) -> str:
    """SBML L3V2 text for a flat model at parameter vector `p` (after prepare()) and initial states `y0`.

    With `dose_parameters`, each dose event adds a parameter `dose_<k>` (its amount) rather than a number,
    so a PEtab condition can set or zero it; `extra` adds constant parameters {id: (value, note)}."""
    from ..engine.scipy_path import event_amount

    values = dict(zip(flat.params, (float(v) for v in p), strict=True))
    w = _Writer(model_id)
    where = {s: compartment_of(s, flat.units.get(s, "")) for s in flat.states}
    for cid in (c for c in COMPARTMENTS if c in where.values()):
        w.compartment(cid, COMPARTMENTS[cid])

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
        unit = flat.units.get(name, "")
        sbo, uris = annotations.species_terms(name, list(flat.compounds))
        w.species(name, where[name], float(v), unit, sbo, uris, f"state ({unit or 'fold'}): " + flat.descriptions.get(name, name))
    for name, _ in flat.assignments:
        w.parameter(name, None, flat.units.get(name, ""), False, flat.descriptions.get(name, ""))
    for col, _, unit in flat.readouts:
        w.parameter(READOUT_PREFIX + col, None, unit, False, f"readout column '{col}'", name=col)
    for name, expr in flat.assignments:
        w.rule("assignment", name, expr)
    for col, expr, _ in flat.readouts:
        w.rule("assignment", READOUT_PREFIX + col, expr)
    used = set(flat.params) | set(flat.states) | {n for n, _ in flat.assignments}
    for r in network.reactions(flat):
        while r.id in used:
            r.id += "_r"
        used.add(r.id)
        w.reaction(r)
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
