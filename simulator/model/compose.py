"""Compose the one flat model a run needs: pathway + PK of the dosed compounds + interventions.

The flat model is the single symbolic form every feature works from (right-hand side, Jacobian,
SBML export, the readable text view). Its structure depends only on which compounds, routes and
interventions are present; parameter values are carried separately, so sweeps reuse one compiled
model across many parameter sets.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import sympy as sp

from .._errors import ModelFileError, PlasticityError, RegimenError, UnknownNameError
from .course import Course, parse_course
from .files import Condition, Library, Param, Pathway, Species
from .parts import ModelParts
from .pharmacokinetics import add_pharmacokinetics, compounds_present, route_state
from .receptors import add_receptors
from .regimen import DOSE_UNITS, Regimen

FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "hill": lambda x, k, n: x**n / (x**n + k**n),
    "nhill": lambda x, k, n: x**n * (1 + k**n) / (x**n + k**n),
}
CONDITION_SEVERITY = Param("condition_severity", 1.0, "1", "condition: 0 = none, 1 = as sourced in models/conditions.toml; each multiplier is raised to this power", (0.0, 2.0))


@dataclass(frozen=True)
class Clamp:
    """Hold a node at `level` x its drug-free baseline from `start_h` to `end_h` (0 = full block)."""

    node: str
    level: float
    start_h: float = -math.inf
    end_h: float = math.inf


@dataclass(frozen=True)
class Interventions:
    """Genotype, node scaling, cut feedback edges, clamps and condition: the teaching and research knobs."""

    genotype: str = "wild_type"
    scale: tuple[tuple[str, float], ...] = ()
    cut: tuple[str, ...] = ()
    clamp: tuple[Clamp, ...] = ()
    condition: str = "none"

    @property
    def structural_key(self) -> tuple:
        return (tuple(n for n, _ in self.scale), self.cut, tuple(c.node for c in self.clamp))


@dataclass(frozen=True)
class DoseEvent:
    """At `time_h`, add `amount` (nmol, or nM for bath) of a dose to a state or an input."""

    time_h: float
    target: str
    kind: str  # "state" | "input"
    amount: float  # in the dose's own unit (see `scale`)
    scale: tuple[str, ...]  # parameter names to multiply by (body weight) ...
    divide: tuple[str, ...]  # ... and divide by (molar mass, infusion duration)
    label: str


@dataclass
class FlatModel:
    """The composed model: symbols, ordered assignments, ODEs, readouts and parameter values."""

    states: list[str]
    params: list[str]
    values: dict[str, float]
    meta: dict[str, Param]
    assignments: list[tuple[str, sp.Expr]]
    odes: list[sp.Expr]
    initial: list[sp.Expr]
    readouts: list[tuple[str, sp.Expr, str]]
    inputs: list[str]
    events: list[DoseEvent]
    compounds: list[str]
    cut_edges: dict[str, str]  # cut parameter -> upstream state whose steady state it takes
    clamp_levels: dict[str, tuple[str, float]]  # clamp level parameter -> (node, fraction)
    descriptions: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    @cached_property
    def structure_key(self) -> tuple:
        return (
            tuple(self.states),
            tuple(self.params),
            tuple(str(e) for e in self.odes),
            tuple(str(e) for e in self.initial),
            tuple((n, str(e)) for n, e in self.assignments),
            tuple((r[0], str(r[1])) for r in self.readouts),
        )


MAX_EXPR_CHARS = 20_000  # characters in one model-file expression; the longest in models/ is under 400
MAX_EXPR_DEPTH = 60  # nesting of operations and calls in one expression


def parse_expr(text: str, known: set[str], file: str, key: str) -> sp.Expr:
    """Parse one rate-law expression into sympy; unknown names and unsupported syntax are ModelFileErrors.

    The sympy expression is built from the checked syntax tree node by node, never by handing the text
    to `sympify` or `eval` (which re-read it differently and could run code from a shared model file).
    Only numbers, known names, + - * / **, unary minus and the functions in FUNCTIONS are accepted."""
    if not isinstance(text, str):
        raise ModelFileError(file, key, f"expected an expression as a string, got {type(text).__name__} {text!r:.60}")
    if len(text) > MAX_EXPR_CHARS:
        raise ModelFileError(file, key, f"expression of {len(text):,} characters exceeds the limit of {MAX_EXPR_CHARS:,}")
    odd = next((c for c in text if c == "#" or not (c.isascii() and (c.isprintable() or c in " \t\r\n"))), None)
    if odd is not None:
        raise ModelFileError(file, key, f"character {odd!r} is not allowed in an expression (ASCII arithmetic only; "
                             "put comments in the TOML file, outside the string)")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ModelFileError(file, key, f"cannot parse expression {text!r:.200}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ModelFileError(file, key, f"expression nested too deeply (limit {MAX_EXPR_DEPTH} levels)") from None
    try:
        expr = _ExprBuilder(known, file, key, text).build(tree.body, 0)
    except RecursionError:
        raise ModelFileError(file, key, f"expression nested too deeply (limit {MAX_EXPR_DEPTH} levels)") from None
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I):
        raise ModelFileError(file, key, f"expression {text!r:.200} evaluates to an infinite, undefined or complex constant")
    return expr


_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class _ExprBuilder:
    """Turns a checked `ast` expression into sympy; anything outside the grammar is a ModelFileError."""

    def __init__(self, known: set[str], file: str, key: str, text: str):
        self.known, self.file, self.key, self.text = known, file, key, text

    def fail(self, problem: str) -> ModelFileError:
        return ModelFileError(self.file, self.key, f"{problem} in {self.text!r:.200}")

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_EXPR_DEPTH:
            raise ModelFileError(self.file, self.key, f"expression nested too deeply (limit {MAX_EXPR_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.known:
                return sp.Symbol(node.id)
            if node.id in FUNCTIONS:
                raise self.fail(f"function '{node.id}' used without arguments")
            raise UnknownNameError("name", node.id, self.known | set(FUNCTIONS), context=f"{self.file}: {self.key}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.BitXor):
                raise self.fail("'^' is not a power: write powers as '**'")
            if type(node.op) not in _BINARY:
                raise self.fail(f"unsupported operator {type(node.op).__name__}; use + - * / **")
            left, right = self.build(node.left, depth + 1), self.build(node.right, depth + 1)
            if isinstance(node.op, ast.Pow) and left.is_Number and right.is_Number:
                return self.constant_power(left, right)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                raise self.fail(f"unsupported function call; allowed: {', '.join(FUNCTIONS)}")
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise self.fail(f"'{name}' takes plain positional arguments")
            arity = 1 if name in ("exp", "log", "sqrt") else 3
            if len(node.args) != arity:
                raise self.fail(f"'{name}' takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}")
            return FUNCTIONS[name](*(self.build(a, depth + 1) for a in node.args))
        raise self.fail(f"unsupported syntax ({type(node).__name__}); use numbers, names, + - * / ** and {', '.join(FUNCTIONS)}")

    def number(self, value: object) -> sp.Expr:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"unsupported constant {value!r:.40}; only numbers")
        if not math.isfinite(value) or abs(value) > 1e300:
            raise self.fail(f"constant {value!r:.40} is outside the finite range (|x| <= 1e300)")
        return sp.Integer(value) if isinstance(value, int) else sp.Float(value)

    def constant_power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        """Fold number ** number in floating point, so `9**9**9` is refused at once instead of computed exactly."""
        try:
            value = float(base) ** float(exponent)
        except (OverflowError, ZeroDivisionError):
            raise self.fail(f"constant power {base}**{exponent} overflows or divides by zero") from None
        if isinstance(value, complex) or not math.isfinite(value) or abs(value) > 1e300:
            raise self.fail(f"constant power {base}**{exponent} is not a finite real number")
        if base.is_Integer and exponent.is_Integer and exponent >= 0:
            return sp.Integer(int(base) ** int(exponent))
        return sp.Float(value)


def _toposort(assign: dict[str, sp.Expr], file: str) -> list[tuple[str, sp.Expr]]:
    order: list[tuple[str, sp.Expr]] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join(chain[chain.index(name):] + [name])
            raise ModelFileError(file, f"assignments.{name}", f"circular assignment: {cycle}")
        state[name] = 1
        for s in assign[name].free_symbols:
            if s.name in assign:
                visit(s.name, chain + [name])
        state[name] = 2
        order.append((name, assign[name]))

    for n in assign:
        visit(n, [])
    return order


def compose(lib: Library, regimen: Regimen, species: Species, interventions: Interventions = Interventions()) -> FlatModel:
    """Build the flat model for one species, regimen and set of interventions.

    Cached: a library is immutable and named by the hash of its files, so the same library content,
    regimen, species and interventions give the same model object (callers copy `values` before
    changing any); repeated runs (vehicle comparisons, validation, fits) skip parsing the model files."""
    return _compose_cached(lib.hash, str(lib.root), regimen, species.name, interventions, Carry(lib, species))


class Carry:
    """Passes objects through `lru_cache` without making them part of its key (which names them)."""

    def __init__(self, *objects):
        self.objects = objects

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return True


@lru_cache(maxsize=128)
def _compose_cached(lib_hash: str, root: str, regimen: Regimen, species_name: str, interventions: Interventions, carry: Carry) -> FlatModel:
    """The composition steps in order; each adds its part to one ModelParts."""
    lib, species = carry.objects  # named in the key by lib_hash, root and species_name
    m = ModelParts()
    _parameters(m, lib, species)
    present, routes_used = compounds_present(lib, regimen, species)
    add_pharmacokinetics(m, lib, species, present, routes_used)
    add_receptors(m, lib, species, present)
    _loop(m, lib.pathway)
    _genotype_and_condition(m, lib, interventions)
    cut_edges = _cut_edges(m, lib.pathway, interventions)
    clamp_levels = _node_views(m, lib.pathway, interventions)
    _dose_events(m, lib, regimen)
    return _assemble(m, lib.pathway.file, present, cut_edges, clamp_levels)


def _parameters(m: ModelParts, lib: Library, species: Species) -> None:
    """The pathway's parameters and the species' numbers the loop reads."""
    for name, p in lib.pathway.parameters.items():
        m.param(name, p)
    m.param("body_weight", species.body_weight)
    m.param("baseline_spine_density", species.baseline_spine_density)
    m.param("baseline_head_diameter", species.baseline_head_diameter)


def _loop(m: ModelParts, pw: Pathway) -> None:
    """The pathway's feedback edges, assignments, states and readouts, parsed against every name defined so far."""
    file = pw.file
    for e in pw.edges.values():
        m.assign[e.name] = sp.Symbol(e.source)
        for alias in e.aliases:  # a former name still reads as the edge (and follows it when the edge is cut)
            m.assign[alias] = sp.Symbol(e.name)
    known = set(pw.states) | set(pw.assignments) | set(m.values) | set(m.assign) | set(m.states)
    for name, a in pw.assignments.items():
        m.assign[name] = parse_expr(a.expr, known, file, f"assignments.{name}")
        m.descriptions[name] = a.description
        m.units[name] = a.unit
    for name, s in pw.states.items():
        m.states[name] = parse_expr(s.ode, known, file, f"states.{name}.ode")
        m.initial[name] = parse_expr(s.initial, known, file, f"states.{name}.initial")
        m.descriptions[name] = s.description
        m.units[name] = s.unit
    for name, r in pw.readouts.items():
        m.readouts.append((name, parse_expr(r.expr, known, file, f"readouts.{name}"), r.unit))


def _genotype_and_condition(m: ModelParts, lib: Library, interventions: Interventions) -> None:
    """Genotype multipliers change values; a condition's multipliers become sweepable parameters."""
    geno = lib.genotype(interventions.genotype)
    for pname, mult in geno.multipliers.items():
        m.values[pname] *= mult.value
    cond = lib.condition(interventions.condition)
    course = parse_course(interventions.condition)
    if not cond.multipliers and not (course.ongoing and math.isinf(course.end_h)):
        raise PlasticityError(f"condition: '{cond.name}' changes nothing, so it has no course to start or end; got {interventions.condition!r}")
    if cond.multipliers:
        # p -> p * condition_<p> ** (condition_severity * condition_load) in every expression: severity 0 is no condition,
        # 1 the sourced one, and both stay parameters (sweepable); genotype multipliers above compose with them
        sev = m.param("condition_severity", CONDITION_SEVERITY)
        load = _condition_course(m, cond, course)
        sub = {}
        for pname, mult in cond.multipliers.items():
            c = m.param(f"condition_{pname}", Param(f"condition_{pname}", mult.value, "1", f"condition {cond.name}: {mult.source}", mult.range))
            sub[sp.Symbol(pname)] = sp.Symbol(pname) * c ** (sev * load)
        m.substitute(sub, initial=False)
        # initial values (a guess the steady-state solver refines) read the drive at its value before the run
        m.initial = {n: e.xreplace(sub).xreplace({load: sp.Symbol("condition_ongoing")}) for n, e in m.initial.items()}


def _condition_course(m: ModelParts, cond: Condition, course: Course) -> sp.Symbol:
    """The condition's drive as a state, 0 (none) to 1 (its long-run set point): it builds at the condition's onset
    rate while the condition is present and fades at its recovery rate after it ends. An ongoing condition starts
    present (the run starts at its set point, as a steady-state condition); `from` starts it absent and switches
    it on with an event, `until` switches it off."""
    ongoing = m.param("condition_ongoing", Param("condition_ongoing", float(course.ongoing), "1",
                                                 "condition: 1 = present before the run (it starts at the set point), 0 = absent until its start"))
    onset = m.param("condition_onset", Param("condition_onset", cond.onset.value, cond.onset.unit, f"condition {cond.name}: {cond.onset.source}", cond.onset.range))
    recovery = m.param("condition_recovery", Param("condition_recovery", cond.recovery.value, cond.recovery.unit,
                                                   f"condition {cond.name}: {cond.recovery.source}", cond.recovery.range))
    present = ongoing + m.input("condition_switch")
    load = sp.Symbol("condition_load")
    m.state("condition_load", onset * present * (1 - load) - recovery * (1 - present) * load, "1", ongoing)
    m.descriptions["condition_load"] = f"drive of the condition {cond.name}: 0 = none, 1 = its long-run set point"
    m.readouts.append(("condition_load", load, "1"))
    if math.isfinite(course.start_h):
        m.events.append(DoseEvent(course.start_h, "condition_switch", "input", 1.0, (), (), f"{cond.name} starts"))
    if math.isfinite(course.end_h):
        m.events.append(DoseEvent(course.end_h, "condition_switch", "input", -1.0, (), (), f"{cond.name} ends"))
    return load


def _cut_edges(m: ModelParts, pw: Pathway, interventions: Interventions) -> dict[str, str]:
    """A cut edge reads a parameter that the run sets to the upstream node's drug-free steady state."""
    cut_edges: dict[str, str] = {}
    for edge in dict.fromkeys(pw.edge_name(e) for e in interventions.cut):  # a former name (alias) cuts the same edge
        cname = f"cut_{edge}"
        m.values[cname] = 1.0  # replaced by the upstream node's steady state before the run
        m.meta[cname] = Param(cname, 1.0, "1", "intervention: upstream node's drug-free steady state")
        m.assign[edge] = sp.Symbol(cname)
        cut_edges[cname] = pw.edges[edge].source
    return cut_edges


def _node_views(m: ModelParts, pw: Pathway, interventions: Interventions) -> dict[str, tuple[str, float]]:
    """Scaled and clamped nodes: downstream expressions see `<node>_seen`; returns the clamp levels."""
    node_alias = {r: (pw.readouts[r].node or str(pw.readouts[r].expr)) for r in pw.readouts}
    views: dict[str, sp.Expr] = {}
    clamp_levels: dict[str, tuple[str, float]] = {}

    def node_of(name: str, what: str) -> str:
        node = node_alias.get(name, name)
        if node not in pw.states and node not in pw.assignments:
            raise UnknownNameError(f"node to {what}", name, list(pw.readouts) + list(pw.states))
        return node

    for name, factor in interventions.scale:
        node = node_of(name, "scale")
        if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor >= 0):
            raise PlasticityError(f"scale: factor for '{name}' must be a finite number >= 0 (0 = knock-out), got {factor!r}")
        sname = f"scale_{node}"
        m.values[sname] = float(factor)
        m.meta[sname] = Param(sname, float(factor), "1", "intervention: scale of the node")
        views[node] = views.get(node, sp.Symbol(node)) * sp.Symbol(sname)
    for cl in interventions.clamp:
        node = node_of(cl.node, "clamp")
        if not (isinstance(cl.level, (int, float)) and math.isfinite(cl.level) and cl.level >= 0):
            raise PlasticityError(f"clamp: level for '{cl.node}' must be a finite fraction of baseline >= 0, got {cl.level!r}")
        if not cl.start_h < cl.end_h:
            raise PlasticityError(f"clamp: start ({cl.start_h} h) must come before end ({cl.end_h} h) for '{cl.node}'")
        on, lev = f"clamp_on_{node}", f"clamp_level_{node}"
        if on in m.values:
            raise PlasticityError(f"clamp: '{cl.node}' is clamped twice")
        m.input(on)
        m.values[lev] = cl.level
        m.meta[lev] = Param(lev, cl.level, "1", "intervention: clamp level x drug-free steady state")
        clamp_levels[lev] = (node, cl.level)
        inner = views.get(node, sp.Symbol(node))
        views[node] = inner + sp.Symbol(on) * (sp.Symbol(lev) - inner)
        m.events.append(DoseEvent(cl.start_h, on, "input", 1.0, (), (), f"clamp {cl.node} on"))
        if math.isfinite(cl.end_h):
            m.events.append(DoseEvent(cl.end_h, on, "input", -1.0, (), (), f"clamp {cl.node} off"))
    # downstream expressions see the intervened node; a node's own equation keeps the raw value
    for node, view in views.items():
        vname = f"{node}_seen"
        m.substitute({sp.Symbol(node): sp.Symbol(vname)}, initial=False, keep=node)
        m.assign[vname] = view
    return clamp_levels


def _dose_events(m: ModelParts, lib: Library, regimen: Regimen) -> None:
    """Each dose of the regimen as events: a bolus into a depot or compartment, an infusion rate, a bath level."""
    for d in regimen:
        c = lib.compound(d.compound)
        kind, factor = DOSE_UNITS[d.unit]
        scale = ("body_weight",) if kind.endswith("per_kg") else ()
        divide = (f"{c.id}_molar_mass",) if kind.startswith("mass") else ()
        amount = d.amount * factor * (1e6 if kind.startswith("mass") else 1.0)  # mg -> ng, / (g/mol) = nmol
        for t0 in d.times_h:
            if d.route == "bath":
                m.events.append(DoseEvent(t0, f"{c.id}_bath", "input", amount, (), (), str(d)))
                if d.over_h is not None:
                    m.events.append(DoseEvent(t0 + d.over_h, f"{c.id}_bath", "input", -amount, (), (), f"washout {c.name}"))
            elif d.route == "iv" and d.over_h is not None:
                dur = d.over_h
                m.events.append(DoseEvent(t0, f"{c.id}_infusion", "input", amount / dur, scale, divide, str(d)))
                m.events.append(DoseEvent(t0 + dur, f"{c.id}_infusion", "input", -amount / dur, scale, divide, f"end of {c.name} infusion"))
            else:
                if d.over_h is not None:
                    raise RegimenError(f"over: only iv doses can be infused and only bath applications last 'for' a time; got '{d}'")
                target = f"{c.id}_central" if d.route == "iv" else route_state(c.id, d.route)
                m.events.append(DoseEvent(t0, target, "state", amount, scale, divide, str(d)))
    m.events.sort(key=lambda e: e.time_h)


def _assemble(m: ModelParts, file: str, present: list[str], cut_edges: dict[str, str], clamp_levels: dict[str, tuple[str, float]]) -> FlatModel:
    """Order the assignments, check every name is defined, and freeze the parts into a FlatModel."""
    state_names = list(m.states)
    assignments = _toposort(m.assign, file)
    free = set()
    for e in list(m.states.values()) + list(m.assign.values()) + [r[1] for r in m.readouts] + list(m.initial.values()):
        free |= {s.name for s in e.free_symbols}
    undefined = free - set(state_names) - set(m.assign) - set(m.values)
    if undefined:
        name = sorted(undefined)[0]
        raise UnknownNameError("name", name, set(m.values) | set(m.assign) | set(state_names), context=file)
    return FlatModel(
        states=state_names,
        params=list(m.values),
        values=m.values,
        meta=m.meta,
        assignments=assignments,
        odes=[m.states[s] for s in state_names],
        initial=[m.initial[s] for s in state_names],
        readouts=m.readouts,
        inputs=m.inputs,
        events=m.events,
        compounds=present,
        cut_edges=cut_edges,
        clamp_levels=clamp_levels,
        descriptions=m.descriptions,
        units=m.units,
    )
