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
from .files import Library, Param, Species
from .regimen import DOSE_UNITS, Regimen

FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "hill": lambda x, k, n: x**n / (x**n + k**n),
    "nhill": lambda x, k, n: x**n * (1 + k**n) / (x**n + k**n),
}
CONDITION_SEVERITY = Param("condition_severity", 1.0, "1", "condition: 0 = none, 1 = as sourced in models/conditions.toml; each multiplier is raised to this power", (0.0, 2.0))
BATH_EXCHANGE = Param("bath_exchange_rate", 60.0, "1/h", "assumed: medium exchange in culture takes about a minute", (10.0, 600.0))


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


def _route_of_state(compound: str, route: str) -> str:
    return f"{compound}_icv" if route == "icv" else f"{compound}_depot_{route}"


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
    lib, species = carry.objects  # named in the key by lib_hash, root and species_name
    pw = lib.pathway
    values: dict[str, float] = {}
    meta: dict[str, Param] = {}

    def add_param(name: str, p: Param, value: float | None = None) -> sp.Symbol:
        values[name] = p.value if value is None else value
        meta[name] = p
        return sp.Symbol(name)

    for name, p in pw.parameters.items():
        add_param(name, p)
    bw = add_param("body_weight", species.body_weight)
    add_param("baseline_spine_density", species.baseline_spine_density)
    add_param("baseline_head_diameter", species.baseline_head_diameter)

    states: dict[str, sp.Expr] = {}  # state -> ode (filled below)
    initial: dict[str, sp.Expr] = {}
    assign_src: dict[str, sp.Expr] = {}
    descriptions: dict[str, str] = {}
    units: dict[str, str] = {}
    readouts: list[tuple[str, sp.Expr, str]] = []
    inputs: list[str] = []
    events: list[DoseEvent] = []

    # ---- compounds and their metabolites
    dosed = []
    for d in regimen:
        c = lib.compound(d.compound)
        if c.id not in dosed:
            dosed.append(c.id)
    present = list(dosed)
    i = 0
    while i < len(present) and not species.bath:
        pk = lib.compounds[present[i]].pk.get(species.name)
        for m in pk.metabolites if pk else ():
            mid = lib.compound(m.compound).id
            if mid not in present:
                present.append(mid)
        i += 1
    routes_used: dict[str, set[str]] = {c: set() for c in present}
    for d in regimen:
        c = lib.compound(d.compound)
        if species.bath:
            if d.route != "bath":
                raise RegimenError(f"route: species '{species.name}' takes bath applications only (e.g. '{c.name} 10 nM bath for 15 min'), got '{d.route}' in '{d}'")
            if not c.targets:
                raise RegimenError(f"compound: {c.name} has no targets of its own, so a bath application does nothing; apply its active form instead")
        else:
            if d.route == "bath":
                raise RegimenError(f"route: 'bath' is for species 'culture'; species '{species.name}' needs a route such as ip, iv or oral in '{d}'")
            pk = c.pk.get(species.name)
            if pk is None:
                raise UnknownNameError("species", species.name, c.pk, context=f"PK of {c.name} (compounds/{c.id}.toml has PK for)")
            if d.route not in pk.routes:
                raise UnknownNameError("route", d.route, pk.routes, context=f"{c.name} in {species.name}")
        routes_used[c.id].add(d.route)

    log2 = sp.log(2)
    for cid in present:
        c = lib.compounds[cid]
        brain = sp.Symbol(f"{cid}_brain")
        if species.bath:
            bath_in = f"{cid}_bath"
            inputs.append(bath_in)
            values[bath_in] = 0.0
            kx = add_param("bath_exchange_rate", BATH_EXCHANGE)
            states[brain.name] = kx * (sp.Symbol(bath_in) - brain)
            initial[brain.name] = sp.Integer(0)
            units[brain.name] = "nM"
            add_param(f"{cid}_molar_mass", c.molar_mass)
            readouts.append((f"{cid}_brain_nM", brain, "nM"))
            continue
        pk = c.pk.get(species.name)
        if pk is None:
            raise UnknownNameError("species", species.name, c.pk, context=f"PK of metabolite {c.name}")
        P = {k: add_param(f"{cid}_{k}", v) for k, v in pk.params.items()}
        add_param(f"{cid}_molar_mass", c.molar_mass)
        brain_total: sp.Expr = sp.Integer(0)
        if pk.systemic:
            central = sp.Symbol(f"{cid}_central")
            vol = P["volume"] * bw
            cl = P["clearance"] * bw
            conc = central / vol  # nmol/L = nM
            flux = -cl * conc
            if "peripheral_volume" in P:
                periph = sp.Symbol(f"{cid}_peripheral")
                q = P["intercompartmental_clearance"] * bw
                flux += -q * conc + q * periph / (P["peripheral_volume"] * bw)
                states[periph.name] = q * conc - q * periph / (P["peripheral_volume"] * bw)
                initial[periph.name] = sp.Integer(0)
                units[periph.name] = "nmol"
            for route in sorted(routes_used[cid] - {"icv"}):
                R = {k: add_param(f"{cid}_{route}_{k}", v) for k, v in pk.routes[route].items()}
                if route == "iv":
                    continue
                depot = sp.Symbol(_route_of_state(cid, route))
                ka = log2 / R["absorption_halflife"]
                states[depot.name] = -ka * depot
                initial[depot.name] = sp.Integer(0)
                units[depot.name] = "nmol"
                flux += R["bioavailability"] * ka * depot
            if "iv" in routes_used[cid]:
                inf = f"{cid}_infusion"
                inputs.append(inf)
                values[inf] = 0.0
                flux += sp.Symbol(inf)
            states[central.name] = flux  # metabolite formation is added below
            initial[central.name] = sp.Integer(0)
            units[central.name] = "nmol"
            keq = log2 / P["brain_equilibration_halflife"]
            states[brain.name] = keq * (P["brain_partition"] * P["fraction_unbound"] * conc - brain)
            initial[brain.name] = sp.Integer(0)
            units[brain.name] = "nM"
            brain_total += brain
            readouts.append((f"{cid}_plasma_nM", conc, "nM"))
        if "icv" in routes_used[cid]:
            R = {k: add_param(f"{cid}_icv_{k}", v) for k, v in pk.routes["icv"].items()}
            icv = sp.Symbol(_route_of_state(cid, "icv"))
            states[icv.name] = -log2 / R["brain_elimination_halflife"] * icv
            initial[icv.name] = sp.Integer(0)
            units[icv.name] = "nmol"
            brain_total += icv / R["distribution_volume"]
        assign_src[f"{cid}_brain_nM"] = brain_total
        readouts.append((f"{cid}_brain_nM", sp.Symbol(f"{cid}_brain_nM"), "nM"))
    if not species.bath:
        for cid in present:
            pk = lib.compounds[cid].pk[species.name]
            for m in pk.metabolites:
                mid = lib.compound(m.compound).id
                if not lib.compounds[mid].pk[species.name].systemic or f"{cid}_central" not in states:
                    raise ModelFileError(lib.compounds[cid].file, f"pk.{species.name}.metabolites", f"{mid} needs systemic PK in {species.name} to be formed from {cid}")
                frac = add_param(f"{cid}_to_{mid}_fraction", m.fraction)
                parent_flux = sp.Symbol(f"{cid}_clearance") * bw * sp.Symbol(f"{cid}_central") / (sp.Symbol(f"{cid}_volume") * bw)
                states[f"{mid}_central"] += frac * parent_flux

    # ---- target engagement
    for t in pw.targets.values():
        terms, eff_terms, hal_terms, concs = [], [], [], []
        for cid in present:
            ct = lib.compounds[cid].targets.get(t.source_key)
            if ct is None:
                continue
            cbrain = sp.Symbol(f"{cid}_brain_nM") if not species.bath else sp.Symbol(f"{cid}_brain")
            if t.kind == "concentration":
                concs.append(cbrain)
                continue
            k = add_param(f"{cid}_{t.source_key}_potency", ct.potency)
            if t.potency_scale:
                k = k / sp.Symbol(t.potency_scale)
            n = add_param(f"{cid}_{t.source_key}_hill", ct.hill)
            term = (cbrain / k) ** n
            terms.append(term)
            if ct.efficacy is not None:
                eff_terms.append(add_param(f"{cid}_{t.source_key}_efficacy", ct.efficacy) * term)
            if ct.hallucinogenic_efficacy is not None:
                hal_terms.append(add_param(f"{cid}_{t.source_key}_hallucinogenic_efficacy", ct.hallucinogenic_efficacy) * term)
        total = sp.Add(*terms)
        if t.kind == "concentration":
            assign_src[f"conc_{t.name}"] = sp.Add(*concs)
            continue
        assign_src[f"occ_{t.name}"] = total / (1 + total)
        if t.kind == "agonist":
            assign_src[f"drive_{t.name}"] = sp.Add(*eff_terms) / (1 + total)
            assign_src[f"halluc_{t.name}"] = sp.Add(*hal_terms) / (1 + total)
        if terms:
            readouts.append((f"occupancy_{t.name}", sp.Symbol(f"occ_{t.name}"), "1"))

    # ---- pathway
    file = pw.file
    for e in pw.edges.values():
        assign_src[e.name] = sp.Symbol(e.source)
        for alias in e.aliases:  # a former name still reads as the edge (and follows it when the edge is cut)
            assign_src[alias] = sp.Symbol(e.name)
    known = set(pw.states) | set(pw.assignments) | set(values) | set(assign_src) | set(states)
    for name, a in pw.assignments.items():
        assign_src[name] = parse_expr(a.expr, known, file, f"assignments.{name}")
        descriptions[name] = a.description
        units[name] = a.unit
    for name, s in pw.states.items():
        states[name] = parse_expr(s.ode, known, file, f"states.{name}.ode")
        initial[name] = parse_expr(s.initial, known, file, f"states.{name}.initial")
        descriptions[name] = s.description
        units[name] = s.unit
    for name, r in pw.readouts.items():
        readouts.insert(len(readouts), (name, parse_expr(r.expr, known, file, f"readouts.{name}"), r.unit))

    # ---- interventions
    geno = lib.genotype(interventions.genotype)
    for pname, mult in geno.multipliers.items():
        values[pname] *= mult.value
    cond = lib.condition(interventions.condition)
    if cond.multipliers:
        # p -> p * condition_<p> ** condition_severity in every expression: severity 0 is no condition, 1 the sourced one,
        # and both stay parameters (sweepable); genotype multipliers above compose with them
        sev = add_param("condition_severity", CONDITION_SEVERITY)
        sub = {}
        for pname, mult in cond.multipliers.items():
            m = add_param(f"condition_{pname}", Param(f"condition_{pname}", mult.value, "1", f"condition {cond.name}: {mult.source}", mult.range))
            sub[sp.Symbol(pname)] = sp.Symbol(pname) * m**sev
        states = {n: e.xreplace(sub) for n, e in states.items()}
        initial = {n: e.xreplace(sub) for n, e in initial.items()}
        assign_src = {n: e.xreplace(sub) for n, e in assign_src.items()}
        readouts = [(r, e.xreplace(sub), u) for r, e, u in readouts]
    cut_edges: dict[str, str] = {}
    for edge in dict.fromkeys(pw.edge_name(e) for e in interventions.cut):  # a former name (alias) cuts the same edge
        cname = f"cut_{edge}"
        values[cname] = 1.0  # replaced by the upstream node's steady state before the run
        meta[cname] = Param(cname, 1.0, "1", "intervention: upstream node's drug-free steady state")
        assign_src[edge] = sp.Symbol(cname)
        cut_edges[cname] = pw.edges[edge].source
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
        values[sname] = float(factor)
        meta[sname] = Param(sname, float(factor), "1", "intervention: scale of the node")
        views[node] = views.get(node, sp.Symbol(node)) * sp.Symbol(sname)
    for cl in interventions.clamp:
        node = node_of(cl.node, "clamp")
        if not (isinstance(cl.level, (int, float)) and math.isfinite(cl.level) and cl.level >= 0):
            raise PlasticityError(f"clamp: level for '{cl.node}' must be a finite fraction of baseline >= 0, got {cl.level!r}")
        if not cl.start_h < cl.end_h:
            raise PlasticityError(f"clamp: start ({cl.start_h} h) must come before end ({cl.end_h} h) for '{cl.node}'")
        on, lev = f"clamp_on_{node}", f"clamp_level_{node}"
        if on in values:
            raise PlasticityError(f"clamp: '{cl.node}' is clamped twice")
        inputs.append(on)
        values[on] = 0.0
        values[lev] = cl.level
        meta[lev] = Param(lev, cl.level, "1", "intervention: clamp level x drug-free steady state")
        clamp_levels[lev] = (node, cl.level)
        inner = views.get(node, sp.Symbol(node))
        views[node] = inner + sp.Symbol(on) * (sp.Symbol(lev) - inner)
        events.append(DoseEvent(cl.start_h, on, "input", 1.0, (), (), f"clamp {cl.node} on"))
        if math.isfinite(cl.end_h):
            events.append(DoseEvent(cl.end_h, on, "input", -1.0, (), (), f"clamp {cl.node} off"))
    if views:
        # downstream expressions see the intervened node; a node's own equation keeps the raw value
        for node, view in views.items():
            vname = f"{node}_seen"
            sub = {sp.Symbol(node): sp.Symbol(vname)}
            states = {s: (e if s == node else e.xreplace(sub)) for s, e in states.items()}
            assign_src = {a: (e if a == node else e.xreplace(sub)) for a, e in assign_src.items()}
            readouts = [(r, e.xreplace(sub), u) for r, e, u in readouts]
            assign_src[vname] = view

    # ---- dose events
    for d in regimen:
        c = lib.compound(d.compound)
        kind, factor = DOSE_UNITS[d.unit]
        scale = ("body_weight",) if kind.endswith("per_kg") else ()
        divide = (f"{c.id}_molar_mass",) if kind.startswith("mass") else ()
        amount = d.amount * factor * (1e6 if kind.startswith("mass") else 1.0)  # mg -> ng, / (g/mol) = nmol
        for t0 in d.times_h:
            if d.route == "bath":
                events.append(DoseEvent(t0, f"{c.id}_bath", "input", amount, (), (), str(d)))
                if d.over_h is not None:
                    events.append(DoseEvent(t0 + d.over_h, f"{c.id}_bath", "input", -amount, (), (), f"washout {c.name}"))
            elif d.route == "iv" and d.over_h is not None:
                dur = d.over_h
                events.append(DoseEvent(t0, f"{c.id}_infusion", "input", amount / dur, scale, divide, str(d)))
                events.append(DoseEvent(t0 + dur, f"{c.id}_infusion", "input", -amount / dur, scale, divide, f"end of {c.name} infusion"))
            else:
                if d.over_h is not None:
                    raise RegimenError(f"over: only iv doses can be infused and only bath applications last 'for' a time; got '{d}'")
                target = f"{c.id}_central" if d.route == "iv" else _route_of_state(c.id, d.route)
                events.append(DoseEvent(t0, target, "state", amount, scale, divide, str(d)))
    events.sort(key=lambda e: e.time_h)

    # ---- assemble
    state_names = list(states)
    assignments = _toposort(assign_src, file)
    free = set()
    for e in list(states.values()) + list(assign_src.values()) + [r[1] for r in readouts] + list(initial.values()):
        free |= {s.name for s in e.free_symbols}
    undefined = free - set(state_names) - set(assign_src) - set(values)
    if undefined:
        name = sorted(undefined)[0]
        raise UnknownNameError("name", name, set(values) | set(assign_src) | set(state_names), context=file)
    params = list(values)
    return FlatModel(
        states=state_names,
        params=params,
        values=values,
        meta=meta,
        assignments=assignments,
        odes=[states[s] for s in state_names],
        initial=[initial[s] for s in state_names],
        readouts=readouts,
        inputs=inputs,
        events=events,
        compounds=present,
        cut_edges=cut_edges,
        clamp_levels=clamp_levels,
        descriptions=descriptions,
        units=units,
    )
