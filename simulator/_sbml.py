"""SBML Level 3 Version 2 export of the composed model, and import of SBML core models into a FlatModel.

Export writes every state as a parameter with a rate rule, every assignment (and every readout, as
`readout_<column>`) as an assignment rule, parameters with units and their sources as notes, and
dose events as SBML events firing at `time >= T`. Import reads SBML core (species, compartments,
parameters, initial assignments, assignment and rate rules, reactions, simple time events) into
the same FlatModel the engine compiles, so `simulate(model=...)` runs it on the compiled path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import sympy as sp

from ._compose import Clamp, DoseEvent, FlatModel, _toposort
from ._errors import PlasticityError
from ._modelfiles import Param

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


# ------------------------------------------------------------------------------------------ export
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

    def event(self, eid: str, time_h: float, target: str, amount: float, label: str) -> None:
        ev = self.model.createEvent()
        _check(ev.setId(eid), f"event id {eid}")
        _check(ev.setUseValuesFromTriggerTime(True), f"{eid} useValuesFromTriggerTime")
        ev.setName(label)
        trig = ev.createTrigger()
        _check(trig.setInitialValue(False), f"{eid} trigger initialValue")
        _check(trig.setPersistent(True), f"{eid} trigger persistent")
        _check(trig.setMath(self.math(f"time >= {time_h!r}", f"trigger of {eid}")), f"trigger of {eid}")
        ea = ev.createEventAssignment()
        _check(ea.setVariable(target), f"{eid} assignment variable")
        _check(ea.setMath(self.math(f"{target} + {amount!r}", f"assignment of {eid}")), f"assignment of {eid}")

    def text(self) -> str:
        return self.ls.writeSBMLToString(self.doc)


def flat_to_sbml(flat: FlatModel, p: Iterable[float], y0: Iterable[float], *, model_id: str = "plasticity") -> str:
    """SBML L3V2 text for a flat model at parameter vector `p` (after prepare()) and initial states `y0`."""
    from ._solve import event_amount

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
    for k, ev in enumerate(events):
        w.event(f"dose_{k}", float(ev.time_h), ev.target, float(event_amount(holder, ev, pv)), ev.label)
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
) -> str:
    """SBML L3V2 of the model for a regimen and species: drug-free steady state as initial values, doses as events.

    >>> xml = to_sbml(["ketamine 10 mg/kg ip"], species="mouse", path="ketamine.xml")
    """
    from ._simulate import setup

    s = setup(regimen, species=species, params=params, genotype=genotype, cut=cut, scale=scale, clamp=clamp)
    text = flat_to_sbml(s.flat, s.p, s.y0)
    if path is not None:
        from ._io import atomic_write

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


# ------------------------------------------------------------------------------------------ import
class ImportedModel(FlatModel):
    """A FlatModel read from SBML; its compile-cache key covers assignments and readouts too, since
    models from files can share state names and ODE text while their rules differ."""

    @property
    def structure_key(self) -> tuple:
        return super().structure_key + (tuple((n, str(e)) for n, e in self.assignments), tuple(str(r[1]) for r in self.readouts))


class _Importer:
    """Turns one SBML model into a FlatModel; every unsupported construct names its element id."""

    def __init__(self, model, source: str):
        self.ls = _libsbml()
        self.m = model
        self.source = source
        self.funcs = {model.getFunctionDefinition(i).getId(): model.getFunctionDefinition(i) for i in range(model.getNumFunctionDefinitions())}
        self.sym: dict[str, sp.Expr] = {}  # SBML id -> what it means in expressions

    def fail(self, element: str, problem: str) -> PlasticityError:
        return PlasticityError(f"sbml import ({self.source}): {element}: {problem}")

    # ---- math
    def expr(self, ast, where: str, local: Mapping[str, sp.Expr] | None = None, allow_time: bool = False) -> sp.Expr:
        ls = self.ls
        if ast is None:
            raise self.fail(where, "missing math")
        t = ast.getType()
        kids = [ast.getChild(i) for i in range(ast.getNumChildren())]

        def sub(k):
            return self.expr(k, where, local, allow_time)

        if t == ls.AST_PLUS:
            return sp.Add(*[sub(k) for k in kids])
        if t == ls.AST_TIMES:
            return sp.Mul(*[sub(k) for k in kids])
        if t == ls.AST_MINUS:
            return -sub(kids[0]) if len(kids) == 1 else sub(kids[0]) - sub(kids[1])
        if t == ls.AST_DIVIDE:
            return sub(kids[0]) / sub(kids[1])
        if t in (ls.AST_POWER, ls.AST_FUNCTION_POWER):
            base, exp = sub(kids[0]), sub(kids[1])
            # max(x, 0)^n (non-integer n) is how export writes pos(x)**n; the compiled path adds pos() itself
            if isinstance(base, sp.Max) and len(base.args) == 2 and sp.S.Zero in base.args and not exp.is_Integer:
                base = next(a for a in base.args if a != 0)
            return sp.Pow(base, exp)
        if t == ls.AST_INTEGER:
            return sp.Integer(ast.getInteger())
        if t in (ls.AST_REAL, ls.AST_REAL_E):
            return sp.Float(ast.getReal(), 17)
        if t == ls.AST_RATIONAL:
            return sp.Rational(ast.getNumerator(), ast.getDenominator())
        if t == ls.AST_CONSTANT_E:
            return sp.E
        if t == ls.AST_CONSTANT_PI:
            return sp.pi
        if t == ls.AST_NAME_TIME:
            if allow_time:
                return sp.Symbol("__time__")
            raise self.fail(where, "uses 'time' in its math; only event triggers may depend on time")
        if t == ls.AST_NAME:
            name = ast.getName()
            if local and name in local:
                return local[name]
            if name in self.sym:
                return self.sym[name]
            raise self.fail(where, f"refers to unknown id '{name}'")
        if t == ls.AST_FUNCTION_EXP:
            return sp.exp(sub(kids[0]))
        if t == ls.AST_FUNCTION_LN:
            return sp.log(sub(kids[0]))
        if t == ls.AST_FUNCTION_LOG:
            return sp.log(sub(kids[1])) / sp.log(sub(kids[0])) if len(kids) == 2 else sp.log(sub(kids[0]), 10)
        if t == ls.AST_FUNCTION_ROOT:
            return sub(kids[1]) ** (1 / sub(kids[0])) if len(kids) == 2 else sp.sqrt(sub(kids[0]))
        if t == ls.AST_FUNCTION_ABS:
            return sp.Abs(sub(kids[0]))
        if t == ls.AST_FUNCTION_MAX and len(kids) == 2:
            return sp.Max(sub(kids[0]), sub(kids[1]), evaluate=False)
        if t == ls.AST_FUNCTION:
            fname = ast.getName()
            fd = self.funcs.get(fname)
            if fd is None or fd.getMath() is None:
                raise self.fail(where, f"calls unknown function '{fname}'")
            lam = fd.getMath()
            nb = lam.getNumBvars() if hasattr(lam, "getNumBvars") else lam.getNumChildren() - 1
            if nb != len(kids):
                raise self.fail(f"function '{fname}'", f"called with {len(kids)} arguments in {where}, expects {nb}")
            args = {lam.getChild(i).getName(): sub(kids[i]) for i in range(nb)}
            return self.expr(lam.getChild(lam.getNumChildren() - 1), f"function '{fname}'", args, allow_time)
        if t == ls.AST_FUNCTION_DELAY:
            raise self.fail(where, "uses delay(), which is not supported")
        kind = ls.formulaToL3String(ast)
        raise self.fail(where, f"unsupported math '{kind}' (supported: + - * / ^, exp, ln, log, root, abs, function definitions)")

    # ---- model
    def run(self) -> FlatModel:
        m = self.m
        if m.getNumConstraints():
            pass  # constraints only check a run; they do not change it
        for i in range(m.getNumRules()):
            r = m.getRule(i)
            if r.isAlgebraic():
                raise self.fail(f"algebraic rule {i} ({r.getMetaId() or r.getId() or 'no id'})", "algebraic rules are not supported")
        if m.isSetConversionFactor():
            raise self.fail("model", "a model-wide conversionFactor is not supported")
        rate = {m.getRule(i).getVariable(): m.getRule(i) for i in range(m.getNumRules()) if m.getRule(i).isRate()}
        assign = {m.getRule(i).getVariable(): m.getRule(i) for i in range(m.getNumRules()) if m.getRule(i).isAssignment()}
        init_assign = {m.getInitialAssignment(i).getSymbol(): m.getInitialAssignment(i) for i in range(m.getNumInitialAssignments())}

        values: dict[str, float | None] = {}
        units: dict[str, str] = {}
        states: list[str] = []
        assigned: list[str] = []
        comp_size: dict[str, sp.Symbol] = {}

        def declare(eid: str, value: float | None, unit: str) -> None:
            self.sym[eid] = sp.Symbol(eid)
            units[eid] = unit
            if eid in assign:
                assigned.append(eid)
            elif eid in rate:
                states.append(eid)
                values[eid] = value
            else:
                values[eid] = value

        for i in range(m.getNumCompartments()):
            c = m.getCompartment(i)
            if c.getId() in rate or c.getId() in assign:
                raise self.fail(f"compartment '{c.getId()}'", "compartments of changing size are not supported")
            declare(c.getId(), c.getSize() if c.isSetSize() else (None if c.getId() in init_assign else 1.0), c.getUnits())
            comp_size[c.getId()] = sp.Symbol(c.getId())
        for i in range(m.getNumParameters()):
            p = m.getParameter(i)
            declare(p.getId(), p.getValue() if p.isSetValue() else None, p.getUnits())
        conc: dict[str, bool] = {}  # species id -> its symbol means concentration
        for i in range(m.getNumSpecies()):
            s = m.getSpecies(i)
            sid = s.getId()
            if s.isSetConversionFactor():
                raise self.fail(f"species '{sid}'", "conversionFactor is not supported")
            vol = m.getCompartment(s.getCompartment()).getSize() if m.getCompartment(s.getCompartment()) else 1.0
            is_conc = not s.getHasOnlySubstanceUnits()
            conc[sid] = is_conc
            if s.isSetInitialConcentration():
                v = s.getInitialConcentration() if is_conc else s.getInitialConcentration() * vol
            elif s.isSetInitialAmount():
                v = s.getInitialAmount() / vol if is_conc else s.getInitialAmount()
            else:
                v = None
            declare(sid, v, s.getSubstanceUnits())

        # reactions: rates as assignments named by reaction id; changes to non-boundary species
        odes: dict[str, sp.Expr] = {s: sp.Integer(0) for s in states}
        rate_exprs: dict[str, sp.Expr] = {}
        extra_params: dict[str, float] = {}
        for i in range(m.getNumReactions()):
            r = m.getReaction(i)
            if r.isSetFast() and r.getFast():
                raise self.fail(f"reaction '{r.getId()}'", "fast reactions are not supported")
            self.sym[r.getId()] = sp.Symbol(r.getId())
        for i in range(m.getNumReactions()):
            r = m.getReaction(i)
            rid = r.getId()
            kl = r.getKineticLaw()
            if kl is None or kl.getMath() is None:
                raise self.fail(f"reaction '{rid}'", "has no kinetic law")
            local = {}
            for j in range(kl.getNumLocalParameters()):
                lp = kl.getLocalParameter(j)
                new = f"{rid}_{lp.getId()}"
                local[lp.getId()] = sp.Symbol(new)
                extra_params[new] = lp.getValue()
            rate_exprs[rid] = self.expr(kl.getMath(), f"kinetic law of reaction '{rid}'", local)
            for refs, sign in ((r.getListOfReactants(), -1), (r.getListOfProducts(), 1)):
                for j in range(refs.size()):
                    ref = refs.get(j)
                    sid = ref.getSpecies()
                    spc = m.getSpecies(sid)
                    if ref.isSetId() and (ref.getId() in rate or ref.getId() in assign or ref.getId() in init_assign):
                        raise self.fail(f"species reference '{ref.getId()}' in reaction '{rid}'", "variable stoichiometry is not supported")
                    if spc.getBoundaryCondition() or spc.getConstant():
                        continue
                    if sid in assign or sid in rate:
                        raise self.fail(f"species '{sid}'", "is changed by both a rule and reaction '" + rid + "' without boundaryCondition")
                    if sid not in odes:
                        odes[sid] = sp.Integer(0)
                        states.append(sid)
                    stoich = ref.getStoichiometry() if ref.isSetStoichiometry() else 1.0
                    factor = sp.Integer(int(stoich)) if float(stoich).is_integer() else sp.Float(stoich, 17)
                    flux = sign * factor * sp.Symbol(rid)
                    odes[sid] += flux / comp_size[spc.getCompartment()] if conc[sid] else flux
        for var, r in rate.items():
            if var not in self.sym:
                raise self.fail(f"rate rule for '{var}'", "its variable is not a compartment, species or parameter")
            odes[var] = self.expr(r.getMath(), f"rate rule for '{var}'")
        assign_src: dict[str, sp.Expr] = dict(rate_exprs)
        for var, r in assign.items():
            if var not in self.sym:
                raise self.fail(f"assignment rule for '{var}'", "its variable is not a compartment, species or parameter")
            assign_src[var] = self.expr(r.getMath(), f"assignment rule for '{var}'")
        params = [n for n in values if n not in states] + list(extra_params)
        values.update(extra_params)

        # initial values: explicit values, then initial assignments (evaluated in dependency order)
        init_exprs = {sym: self.expr(ia.getMath(), f"initial assignment for '{sym}'") for sym, ia in init_assign.items()}
        known: dict[sp.Symbol, sp.Expr] = {sp.Symbol(k): sp.Float(v, 17) for k, v in values.items() if v is not None and k not in init_exprs}
        pending = dict(init_exprs)
        for name in list(assign_src):
            pending.setdefault(name, assign_src[name])
        for _ in range(len(pending) + 1):
            progress = False
            for name, e in list(pending.items()):
                v = e.xreplace(known)
                if not v.free_symbols:
                    known[sp.Symbol(name)] = sp.Float(float(v), 17)
                    del pending[name]
                    progress = True
            if not progress:
                break
        for name in list(values):
            if values[name] is None:
                if sp.Symbol(name) not in known:
                    raise self.fail(f"'{name}'", "has no initial value and no initial assignment that can be evaluated")
                values[name] = float(known[sp.Symbol(name)])
            elif name in init_exprs:
                values[name] = float(known.get(sp.Symbol(name), values[name]))
        for name in states:
            if name not in values:
                values[name] = float(known[sp.Symbol(name)]) if sp.Symbol(name) in known else 0.0

        events, inputs = self.events(values, states, params, init_exprs, known)
        meta = {n: Param(n, float(values[n]), units.get(n, "") or "", f"SBML import: {self.source}") for n in params}
        ordered = _toposort(assign_src, self.source)
        readouts = [(n, sp.Symbol(n), units.get(n, "")) for n in states + [a for a in assigned]]
        return ImportedModel(
            states=list(states),
            params=params,
            values={n: float(values[n]) for n in params},
            meta=meta,
            assignments=ordered,
            odes=[odes[s] for s in states],
            initial=[sp.Float(values[s], 17) for s in states],
            readouts=readouts,
            inputs=inputs,
            events=events,
            compounds=[],
            cut_edges={},
            clamp_levels={},
            units={n: units.get(n, "") for n in states},
        )

    def events(self, values, states, params, init_exprs, known) -> tuple[list[DoseEvent], list[str]]:
        m = self.m
        env = {sp.Symbol(n): sp.Float(values[n], 17) for n in params}
        found: list[tuple[float, int, str, str, object]] = []
        for i in range(m.getNumEvents()):
            ev = m.getEvent(i)
            eid = ev.getId() or f"event {i}"
            if ev.isSetDelay():
                raise self.fail(f"event '{eid}'", "delayed events are not supported")
            trig = ev.getTrigger()
            ast = trig.getMath() if trig else None
            time_h = self._trigger_time(ast, eid, env)
            if trig.getInitialValue() and time_h <= 0:
                continue  # already true before the run: SBML fires it only on a false -> true transition
            for j in range(ev.getNumEventAssignments()):
                ea = ev.getEventAssignment(j)
                found.append((time_h, i, eid, ea.getVariable(), ea.getMath()))
        found.sort(key=lambda f: (f[0], f[1]))
        current = {n: values[n] for n in params}
        events: list[DoseEvent] = []
        inputs: list[str] = []
        for time_h, _, eid, var, math_ in found:
            rhs = self.expr(math_, f"assignment to '{var}' in event '{eid}'")
            if var in states:
                delta = sp.expand(rhs - sp.Symbol(var))
                if sp.Symbol(var) in delta.free_symbols or delta.free_symbols - set(env):
                    raise self.fail(
                        f"event '{eid}'", f"assigns '{var}' = {rhs}; only additions of a constant to a state (X = X + c) are supported"
                    )
                events.append(DoseEvent(time_h, var, "state", float(delta.xreplace(env)), (), (), eid))
            elif var in current:
                now = {**env, **{sp.Symbol(k): sp.Float(v, 17) for k, v in current.items()}}
                if rhs.free_symbols - set(now):
                    raise self.fail(f"event '{eid}'", f"assigns '{var}' from states or rules ({rhs}); only constant values are supported")
                new = float(rhs.xreplace(now))
                events.append(DoseEvent(time_h, var, "input", new - current[var], (), (), eid))
                current[var] = new
                if var not in inputs:
                    inputs.append(var)
            else:
                raise self.fail(f"event '{eid}'", f"assigns '{var}', which is not a state or a parameter")
        return events, inputs

    def _trigger_time(self, ast, eid: str, env) -> float:
        ls = self.ls
        if ast is None:
            raise self.fail(f"event '{eid}'", "has no trigger")
        t = ast.getType()
        if t in (ls.AST_RELATIONAL_GEQ, ls.AST_RELATIONAL_GT, ls.AST_RELATIONAL_LEQ, ls.AST_RELATIONAL_LT) and ast.getNumChildren() == 2:
            a = self.expr(ast.getChild(0), f"trigger of event '{eid}'", allow_time=True)
            b = self.expr(ast.getChild(1), f"trigger of event '{eid}'", allow_time=True)
            time = sp.Symbol("__time__")
            if t in (ls.AST_RELATIONAL_LEQ, ls.AST_RELATIONAL_LT):
                a, b = b, a
            if a == time and time not in b.free_symbols:
                v = b.xreplace(env)
                if not v.free_symbols:
                    return float(v)
        text = ls.formulaToL3String(ast)
        raise self.fail(f"event '{eid}'", f"trigger '{text}' is not supported; use a time trigger such as 'time >= 5'")


def from_sbml(source: str | Path) -> FlatModel:
    """Read an SBML L3 core model (a path, or the XML text itself) into a FlatModel for `simulate(model=...)`."""
    ls = _libsbml()
    text = str(source)
    if text.lstrip().startswith("<"):
        doc, where = ls.readSBMLFromString(text), "SBML text"
    else:
        path = Path(source)
        if not path.is_file():
            raise PlasticityError(f"sbml import: file '{path}' does not exist")
        doc, where = ls.readSBMLFromFile(str(path)), path.name
    errs = [doc.getError(i) for i in range(doc.getNumErrors()) if doc.getError(i).getSeverity() >= ls.LIBSBML_SEV_ERROR]
    if errs:
        raise PlasticityError(f"sbml import ({where}): line {errs[0].getLine()}: {errs[0].getMessage().strip()}")
    model = doc.getModel()
    if model is None:
        raise PlasticityError(f"sbml import ({where}): the document has no model")
    if doc.getNumPlugins() and any(doc.getPlugin(i).getPackageName() == "comp" for i in range(doc.getNumPlugins())):
        raise PlasticityError(f"sbml import ({where}): the 'comp' package (hierarchical models) is not supported; flatten the model first")
    return _Importer(model, where).run()
