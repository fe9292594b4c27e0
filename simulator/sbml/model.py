"""What an SBML model means, as a FlatModel the engine runs: states, assignments, parameters, events.

Species that reactions change are integrated as amounts (so a compartment that changes size keeps
the amounts and changes the concentrations, as SBML says); their ids in math are amount / size unless
`hasOnlySubstanceUnits`. Rate-rule variables are integrated as themselves. Everything else that can
change only at events (parameters, sizes, boundary species, stoichiometries) is a parameter that the
event engine (`_sbml_run`) sets. Every id is an output column; species in their declared basis, or in
the other with `species_as`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .._errors import SBMLError, SBMLUnsupportedError
from ..model.compose import DoseEvent, FlatModel
from ..model.files import Param
from .mathml import TIME, MathError, MathReader, RateOf, cond, num

SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass
class SBMLEvent:
    """One SBML event, its math already in the flat model's names."""

    id: str
    trigger: sp.Basic
    delay: sp.Expr | None
    priority: sp.Expr | None
    persistent: bool
    initial_value: bool
    use_trigger_values: bool
    assignments: list[tuple[str, sp.Expr]]  # (SBML id of the target, value in its SBML meaning)


@dataclass
class ImportedModel(FlatModel):
    """A FlatModel read from SBML, with what the event engine and the output need besides."""

    sbml_events: list[SBMLEvent] = field(default_factory=list)
    alt_readouts: dict[str, sp.Expr] = field(default_factory=dict)  # species column -> other basis
    species_basis: dict[str, str] = field(default_factory=dict)  # species id -> "amount" | "concentration"
    targets: dict[str, tuple[str, str, sp.Expr | None]] = field(default_factory=dict)  # id -> (kind, name, size)
    hours_per_unit: float | None = None  # None: the model declares no time unit (read as hours)
    time_unit: str = ""
    source: str = ""
    batch_refusal: str | None = None  # why run_batch cannot run it (None: it can)
    initial_values: dict[str, float] = field(default_factory=dict)
    rescale: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # compartment -> rate-rule concentrations in it
    init_def: dict[str, sp.Expr] = field(default_factory=dict)  # flat name -> start value (declared or initial assignment)

    @property
    def structure_key(self) -> tuple:
        # srepr tells the time symbol from a parameter named 't'; assignments and readouts differ between files
        return (
            tuple(self.states),
            tuple(self.params),
            tuple(sp.srepr(e) for e in self.odes),
            tuple(sp.srepr(e) for e in self.initial),
            tuple((n, sp.srepr(e)) for n, e in self.assignments),
            tuple((r[0], sp.srepr(r[1])) for r in self.readouts),
        )


def _unique(base: str, taken: set[str]) -> str:
    name = base
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _toposort(defs: dict[str, sp.Expr], source: str, what: str) -> list[str]:
    """Names of `defs` in dependency order (iterative); a cycle is an SBMLError naming it."""
    order: list[str] = []
    state: dict[str, int] = {}
    for root in defs:
        if state.get(root):
            continue
        stack = [(root, iter(sorted(s.name for s in defs[root].free_symbols if s.name in defs)))]
        state[root] = 1
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif state.get(nxt) == 1:
                chain = [n for n, _ in stack]
                cycle = " -> ".join(chain[chain.index(nxt):] + [nxt])
                raise SBMLError(source, f"{what} '{nxt}'", f"depends on itself ({cycle}); algebraic loops are not allowed")
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(sorted(s.name for s in defs[nxt].free_symbols if s.name in defs))))
    return order


class Builder:
    """Reads one (converted, L3V2) libsbml Model into an ImportedModel."""

    def __init__(self, libsbml, model, source: str):
        self.ls, self.m, self.source = libsbml, model, source
        self.ids: set[str] = set()
        for lst in (model.getListOfCompartments(), model.getListOfSpecies(), model.getListOfParameters(), model.getListOfReactions()):
            self.ids |= {lst.get(i).getId() for i in range(lst.size())}
        self.refs = {}  # species reference id -> reference
        for r in model.getListOfReactions():
            for lst in (r.getListOfReactants(), r.getListOfProducts()):
                for ref in lst:
                    if ref.isSetId():
                        self.refs[ref.getId()] = ref
        self.ids |= set(self.refs)
        self.sym: dict[str, sp.Expr] = {i: sp.Symbol(i) for i in self.ids}
        self.reader = MathReader(libsbml, self.sym)

    def fail(self, element: str, problem: str) -> SBMLError:
        return SBMLError(self.source, element, problem)

    def math(self, ast, element: str, condition: bool = False) -> sp.Expr:
        """A number (or, with `condition`, a condition) from a math element; failures name the element."""
        try:
            e = self.reader.read(ast)
            return cond(e) if condition else num(e)
        except MathError as exc:
            if exc.feature:
                raise SBMLUnsupportedError(self.source, element, exc.feature, exc.problem) from None
            raise self.fail(element, exc.problem) from None

    def run(self) -> ImportedModel:
        m, src = self.m, self.source
        rules = [m.getRule(i) for i in range(m.getNumRules()) if m.getRule(i).isSetMath()]  # L3V2: no math, no effect
        for r in rules:
            if r.isAlgebraic():
                raise SBMLUnsupportedError(src, f"algebraic rule {r.getMetaId() or r.getId() or ''}".strip(), "an algebraic rule")
        for r in m.getListOfReactions():
            if r.isSetFast() and r.getFast():
                raise SBMLUnsupportedError(src, f"reaction '{r.getId()}'", "a fast reaction (fast='true')")
        rate = {r.getVariable(): r for r in rules if r.isRate()}
        assign = {r.getVariable(): r for r in rules if r.isAssignment()}
        init_assign = {ia.getSymbol(): ia for ia in m.getListOfInitialAssignments() if ia.isSetMath()}
        for var in list(rate) + list(assign) + list(init_assign):
            if var not in self.ids:
                raise self.fail(f"rule or initial assignment for '{var}'", "its variable is not a compartment, species, parameter or species reference")
        event_targets = {ea.getVariable() for ev in m.getListOfEvents() for ea in ev.getListOfEventAssignments()}
        taken = set(self.ids)

        states: list[str] = []
        odes: dict[str, sp.Expr] = {}
        params: list[str] = []
        assigns: dict[str, sp.Expr] = {}
        init_def: dict[str, sp.Expr] = {}  # flat name -> its value at the start (in flat meaning)
        units: dict[str, str] = {}
        targets: dict[str, tuple[str, str, sp.Expr | None]] = {}  # SBML id -> (kind, flat name, size for amounts)
        amount_of: dict[str, str] = {}  # species id -> flat name holding its amount
        basis: dict[str, str] = {}
        alt: dict[str, sp.Expr] = {}
        rescale: dict[str, list[tuple[str, str]]] = {}

        def initial_of(eid: str, declared) -> sp.Expr:
            if eid in init_assign:
                return self.math(init_assign[eid].getMath(), f"initial assignment for '{eid}'")
            return declared

        def plain(eid: str, declared, unit: str) -> None:
            """A compartment, parameter or species reference: a rule, a state or a parameter."""
            units[eid] = unit
            if eid in assign:
                assigns[eid] = self.math(assign[eid].getMath(), f"assignment rule for '{eid}'")
                return
            init_def[eid] = initial_of(eid, declared)
            if eid in rate:
                states.append(eid)
                odes[eid] = self.math(rate[eid].getMath(), f"rate rule for '{eid}'")
                targets[eid] = ("state", eid, None)
            else:
                params.append(eid)
                targets[eid] = ("param", eid, None)

        nan = sp.nan
        for c in m.getListOfCompartments():
            plain(c.getId(), sp.Float(c.getSize(), 17) if c.isSetSize() else nan, c.getUnits())
        changing = {c.getId() for c in m.getListOfCompartments() if c.getId() in rate or c.getId() in assign or c.getId() in event_targets}
        for p in m.getListOfParameters():
            plain(p.getId(), sp.Float(p.getValue(), 17) if p.isSetValue() else nan, p.getUnits())
        for rid, ref in self.refs.items():
            plain(rid, sp.Float(ref.getStoichiometry(), 17) if ref.isSetStoichiometry() else nan, "dimensionless")

        in_reaction: set[str] = set()
        for r in m.getListOfReactions():
            for lst in (r.getListOfReactants(), r.getListOfProducts()):
                for ref in lst:
                    s = m.getSpecies(ref.getSpecies())
                    if s is None:
                        raise self.fail(f"reaction '{r.getId()}'", f"refers to unknown species '{ref.getSpecies()}'")
                    if not (s.getBoundaryCondition() or s.getConstant()):
                        in_reaction.add(s.getId())
        for s in m.getListOfSpecies():
            sid, cid = s.getId(), s.getCompartment()
            if m.getCompartment(cid) is None:
                raise self.fail(f"species '{sid}'", f"is in unknown compartment '{cid}'")
            size = self.sym[cid]
            hosu = s.getHasOnlySubstanceUnits() or m.getCompartment(cid).getSpatialDimensionsAsDouble() == 0  # 0-D: no size
            basis[sid] = "amount" if hosu else "concentration"
            units[sid] = s.getSubstanceUnits()
            if s.isSetInitialAmount():
                declared_amount = sp.Float(s.getInitialAmount(), 17)
            elif s.isSetInitialConcentration():
                declared_amount = sp.Float(s.getInitialConcentration(), 17) * size
            else:
                declared_amount = nan
            value_of_amount = (lambda a: a) if hosu else (lambda a, size=size: a / size)
            alt[sid] = self.sym[sid] / size if hosu else self.sym[sid] * size
            if sid in assign or sid in rate:
                if sid in in_reaction:
                    raise self.fail(f"species '{sid}'", "is changed by a rule and by reactions without boundaryCondition='true'")
                plain(sid, value_of_amount(declared_amount), units[sid])
                if sid in rate and not hosu:  # an event that resizes its compartment keeps its amount
                    rescale.setdefault(cid, []).append(("state", sid))
                continue
            if sid in in_reaction or (not hosu and cid in changing):
                amt = _unique(f"{sid}_amount", taken)
                amount_of[sid] = amt
                init_def[amt] = (self.sym[sid] * size if not hosu else self.sym[sid]) if sid in init_assign else declared_amount
                if sid in init_assign:  # the species' own value comes from the initial assignment
                    init_def[sid] = self.math(init_assign[sid].getMath(), f"initial assignment for '{sid}'")
                assigns[sid] = value_of_amount(sp.Symbol(amt))
                targets[sid] = ("state" if sid in in_reaction else "param", amt, None if hosu else size)
                (states if sid in in_reaction else params).append(amt)
                if sid in in_reaction:
                    odes[amt] = sp.Integer(0)
                units[amt] = units[sid]
            else:
                plain(sid, value_of_amount(declared_amount), units[sid])

        # reactions: rate (extent per time) as an assignment named by the reaction id
        model_cf = m.getConversionFactor() if m.isSetConversionFactor() else ""
        for r in m.getListOfReactions():
            rid = r.getId()
            kl = r.getKineticLaw()
            if kl is None or kl.getMath() is None:
                assigns[rid] = sp.Integer(0) if kl is None else sp.nan
            else:
                assigns[rid] = self.math(kl.getMath(), f"kinetic law of reaction '{rid}'")
            units[rid] = "extent/time"
            for lst, sign in ((r.getListOfReactants(), -1), (r.getListOfProducts(), 1)):
                for ref in lst:
                    sid = ref.getSpecies()
                    if sid not in amount_of or sid not in in_reaction:
                        continue
                    spc = m.getSpecies(sid)
                    if ref.isSetId():
                        stoich = self.sym[ref.getId()]
                    elif ref.isSetStoichiometry():
                        v = ref.getStoichiometry()
                        stoich = sp.Integer(int(v)) if float(v).is_integer() else sp.Float(v, 17)
                    else:
                        raise self.fail(f"species reference to '{sid}' in reaction '{rid}'", "has no stoichiometry")
                    cf = spc.getConversionFactor() if spc.isSetConversionFactor() else model_cf
                    flux = sign * stoich * sp.Symbol(rid) * (self.sym[cf] if cf else 1)
                    odes[amount_of[sid]] += flux

        flat_names = set(states) | set(params) | set(assigns)
        # rateOf(x): the time derivative of x, from the rules and reactions just built
        events = self._events(amount_of)
        odes, assigns, init_def, events = self._resolve_rate_of(odes, assigns, init_def, amount_of, states, events)

        for name, e in list(assigns.items()) + list(odes.items()) + list(init_def.items()):
            unknown = {s.name for s in e.free_symbols if s != TIME} - flat_names
            if unknown:
                raise self.fail(f"math of '{name}'", f"refers to '{sorted(unknown)[0]}', which has no value")
        order = _toposort(assigns, self.source, "assignment rule")
        readouts = [(i, self.sym[i], units.get(i, "")) for i in self._output_ids()]
        return ImportedModel(
            states=states,
            params=params,
            values={},  # filled by the caller once initial values are computed
            meta={},
            assignments=[(n, assigns[n]) for n in order],
            odes=[odes[s] for s in states],
            initial=[],
            readouts=readouts,
            inputs=[],
            events=[],
            compounds=[],
            cut_edges={},
            clamp_levels={},
            units={n: units.get(n, "") for n in states},
            sbml_events=events,
            alt_readouts=alt,
            species_basis=basis,
            targets=targets,
            source=self.source,
            initial_values={},
            rescale=rescale,
        ), init_def

    def _output_ids(self) -> list[str]:
        m = self.m
        out = [c.getId() for c in m.getListOfCompartments()] + [s.getId() for s in m.getListOfSpecies()]
        out += [p.getId() for p in m.getListOfParameters()] + list(self.refs) + [r.getId() for r in m.getListOfReactions()]
        return out

    def _resolve_rate_of(self, odes, assigns, init_def, amount_of, states, events):
        """Replace rateOf(x) by dx/dt: a rate rule's math, a species' d(amount)/dt over its size, the
        total derivative of an assigned expression, or 0 for what changes only at events."""
        exprs = list(odes.values()) + list(assigns.values()) + list(init_def.values())
        exprs += [e for ev in events for e in [ev.trigger, ev.delay, ev.priority] + [x for _, x in ev.assignments] if e is not None]
        if not any(e.has(RateOf) for e in exprs):
            return odes, assigns, init_def, events
        cache: dict[str, sp.Expr] = {}

        def d_dt(name: str, depth: int = 0) -> sp.Expr:
            if depth > 50:
                raise SBMLUnsupportedError(self.source, f"rateOf({name})", "rateOf of a quantity whose rate depends on its own rateOf")
            if name in cache:
                return cache[name]
            if name in odes and name in states:
                res = odes[name]
            elif name in amount_of and amount_of[name] in odes:
                spc = self.m.getSpecies(name)
                amt = sp.Symbol(amount_of[name])
                if spc.getHasOnlySubstanceUnits() or self.m.getCompartment(spc.getCompartment()).getSpatialDimensionsAsDouble() == 0:
                    res = odes[amount_of[name]]
                else:
                    c = spc.getCompartment()
                    size = self.sym[c]
                    res = odes[amount_of[name]] / size - amt * d_dt(c, depth + 1) / size**2
            elif name in assigns:
                e = assigns[name]
                res = sp.diff(e, TIME) + sum((sp.diff(e, s) * d_dt(s.name, depth + 1) for s in e.free_symbols if s != TIME), sp.Integer(0))
            else:
                res = sp.Integer(0)
            res = res.replace(RateOf, lambda s: d_dt(s.name, depth + 1))
            cache[name] = res
            return res

        def fix(e):
            return e.replace(RateOf, lambda s: d_dt(s.name)) if e.has(RateOf) else e

        for ev in events:
            ev.trigger = fix(ev.trigger)
            ev.delay = fix(ev.delay) if ev.delay is not None else None
            ev.priority = fix(ev.priority) if ev.priority is not None else None
            ev.assignments = [(v, fix(x)) for v, x in ev.assignments]
        return ({k: fix(v) for k, v in odes.items()}, {k: fix(v) for k, v in assigns.items()}, {k: fix(v) for k, v in init_def.items()}, events)

    def _events(self, amount_of) -> list[SBMLEvent]:
        out = []
        for i, ev in enumerate(self.m.getListOfEvents()):
            eid = ev.getId() or f"event {i + 1}"
            trig = ev.getTrigger()
            if trig is None or not trig.isSetMath():
                continue  # L3V2: an event without a trigger never fires
            t = self.math(trig.getMath(), f"trigger of event '{eid}'", condition=True)
            delay = self.math(ev.getDelay().getMath(), f"delay of event '{eid}'") if ev.isSetDelay() and ev.getDelay().isSetMath() else None
            prio = ev.getPriority()
            priority = self.math(prio.getMath(), f"priority of event '{eid}'") if prio is not None and prio.isSetMath() else None
            assignments = []
            for ea in ev.getListOfEventAssignments():
                var = ea.getVariable()
                if var not in self.ids:
                    raise self.fail(f"event '{eid}'", f"assigns '{var}', which is not a compartment, species, parameter or species reference")
                if not ea.isSetMath():
                    continue  # L3V2: an assignment without math changes nothing
                assignments.append((var, self.math(ea.getMath(), f"assignment to '{var}' in event '{eid}'")))
            out.append(SBMLEvent(eid, t, delay, priority, trig.getPersistent(), trig.getInitialValue(),
                                 ev.getUseValuesFromTriggerTime(), assignments))
        return out


def time_unit(libsbml, model, source: str) -> tuple[float | None, str]:
    """(hours per model time unit or None when undeclared, the unit's name)."""
    if not model.isSetTimeUnits():
        return None, ""
    uid = model.getTimeUnits()
    if uid in SECONDS:
        return SECONDS[uid] / 3600.0, uid
    ud = model.getUnitDefinition(uid)
    if ud is not None and ud.getNumUnits() == 1:
        u = ud.getUnit(0)
        if libsbml.UnitKind_toString(u.getKind()) == "second" and u.getExponent() == 1:
            return u.getMultiplier() * 10.0 ** u.getScale() / 3600.0, uid
    raise SBMLUnsupportedError(source, f"model timeUnits '{uid}'", "a time unit that is not a multiple of the second")


def to_dose_events(model: ImportedModel, values: dict[str, float]) -> tuple[list[DoseEvent], str | None]:
    """Events the batched engine can run exactly: a `time >= c` trigger (c a number) without delay or priority,
    whose assignments set a parameter to a number or add a number to an integrated quantity (for a species
    held as an amount, in a compartment of fixed size). Returns (events, None) or ([], why not)."""
    found = []
    fixed = {p for p in model.params if p not in {model.targets[v][1] for e in model.sbml_events for v, _ in e.assignments}}
    for ev in model.sbml_events:
        trig = ev.trigger
        if not (isinstance(trig, sp.GreaterThan) and trig.lhs == TIME and trig.rhs.is_number):
            return [], f"event '{ev.id}' has trigger {trig}; the batched engine runs 'time >= number' triggers only"
        if ev.delay is not None or ev.priority is not None:
            return [], f"event '{ev.id}' has a delay or a priority"
        when = float(trig.rhs)
        if when <= 0 and ev.initial_value:
            continue  # true from the start and never false again: it never fires
        for var, e in ev.assignments:
            kind, name, size = model.targets[var]
            if kind == "param" and size is None and e.is_number:
                found.append((when, name, "input", float(e)))
                continue
            delta = sp.expand(e - sp.Symbol(var))
            if kind != "state" or not delta.is_number:
                return [], f"event '{ev.id}' sets '{var}' to {e}; the batched engine sets parameters to numbers and adds numbers to states"
            if size is not None and size.name not in fixed:
                return [], f"event '{ev.id}' changes species '{var}' in compartment '{size.name}', whose size changes"
            found.append((when, name, "state", float(delta) * (values[size.name] if size is not None else 1.0)))
    events, current = [], dict(values)
    for when, name, kind, v in sorted(found, key=lambda f: f[0]):
        if kind == "input":
            events.append(DoseEvent(when, name, "input", v - current[name], (), (), f"sbml event -> {name}"))
            current[name] = v
        else:
            events.append(DoseEvent(when, name, "state", v, (), (), f"sbml event -> {name}"))
    return events, None


def finish(model: ImportedModel, init_values: dict[str, float]) -> ImportedModel:
    """Fill values, meta, initial states and the batched events once initial values are known."""
    model.values = {n: float(init_values[n]) for n in model.params}
    model.initial_values = dict(init_values)
    model.meta = {n: Param(n, model.values[n], model.units.get(n, "") or "", f"SBML import: {model.source}") for n in model.params}
    model.initial = [sp.Float(init_values[s], 17) for s in model.states]
    changed = {model.targets[v][1] for ev in model.sbml_events for v, _ in ev.assignments}
    model.inputs = [p for p in model.params if p in changed]
    events, why = to_dose_events(model, model.values)
    model.events, model.batch_refusal = events, why
    if why is None and any(not np.isfinite(e.time_h) for e in events):
        model.events, model.batch_refusal = [], "an event at a non-finite time"
    return model
