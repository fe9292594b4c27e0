"""Run an imported SBML model: generated functions, then integration with SBML event semantics.

Events fire when their trigger goes from false to true. Every comparison in a trigger (and in a
`piecewise` condition of the right-hand side) is a root function; the solver stops where one
crosses zero, and the comparison's truth flips there by the crossing's direction, so `time >= 5`
is true at 5 and `x > 1` fires as x rises through 1. At each stop the due events execute one at a
time, highest priority first (ties in document order), and after each the triggers are evaluated
again: events can fire events, and a non-persistent event whose trigger went false is dropped. Delays
put an event on a queue that the integration stops for; `useValuesFromTriggerTime` decides when its
values are computed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.special
import sympy as sp
from scipy.integrate import solve_ivp
from sympy.printing.pycode import PythonCodePrinter

from .._errors import PlasticityError, SBMLError, SBMLUnsupportedError, SimulationError
from ..engine.bounds import tree_size
from ..engine.scipy_path import MAX_RHS_EVALS, Tolerances, WorkLimitError, check_times
from .mathml import TIME, Factorial, Quotient, Rem
from .model import ImportedModel, _toposort

MAX_EVENTS_PER_INSTANT = 10_000  # event executions at one time point before the run is called a loop
MAX_STOPS = 1_000_000  # solver restarts (event or piecewise switches) in one run
MAX_LINEAR_NODES = 2_000  # terms of a trigger's root function (rules substituted) taken apart as a * t + b; larger: root finding


class _Printer(PythonCodePrinter):
    """Scalar numpy code with IEEE results (NaN, inf), never Python's exceptions or complex numbers."""

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp.is_Integer:
            return f"{self.parenthesize(base, 100)}**({int(exp)})"
        return f"np.power({self._print(base)}, {self._print(exp)})"

    def _fn(self, name, expr):
        return f"np.{name}(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Function(self, expr):
        names = {"exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
                 "asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh",
                 "floor": "floor", "ceiling": "ceil", "Abs": "abs"}
        name = type(expr).__name__
        if name in names:
            return self._fn(names[name], expr)
        if isinstance(expr, Factorial):
            return f"_gamma({self._print(expr.args[0])} + 1.0)"
        if isinstance(expr, Rem):
            return self._fn("fmod", expr)
        if isinstance(expr, Quotient):
            return f"np.trunc({self._print(expr.args[0])} / {self._print(expr.args[1])})"
        raise SBMLUnsupportedError("engine", f"function {name}", f"the function '{name}'")

    _print_exp = _print_log = _print_sin = _print_cos = _print_tan = _print_Abs = _print_floor = _print_ceiling = _print_Function
    _print_sinh = _print_cosh = _print_tanh = _print_asin = _print_acos = _print_atan = _print_Function
    _print_asinh = _print_acosh = _print_atanh = _print_Function

    def _print_Infinity(self, expr):
        return "np.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-np.inf)"

    def _print_NaN(self, expr):
        return "np.nan"

    def _print_Pi(self, expr):
        return "np.pi"

    def _print_Exp1(self, expr):
        return "np.e"

    def _print_Max(self, expr):
        return "_max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr):
        return "_min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Implies(self, expr):
        return self._print(sp.Or(sp.Not(expr.args[0]), expr.args[1]))


def _max(*a):
    return np.nan if any(np.isnan(x) for x in a) else max(a)


def _min(*a):
    return np.nan if any(np.isnan(x) for x in a) else min(a)


_printer = _Printer({"standard": "python3"})
_REL = {sp.StrictGreaterThan: ">", sp.GreaterThan: ">=", sp.StrictLessThan: "<", sp.LessThan: "<=", sp.Equality: "==", sp.Unequality: "!="}


@dataclass
class Engine:
    """Generated functions of one imported model (over flat names: y states, p parameters)."""

    model: ImportedModel
    rhs: object
    outs: object
    g: object
    truth: object
    triggers: object
    ev_values: list
    ev_delay: list
    ev_priority: list
    init: object
    init_names: list[str]
    rel: list[str]  # relation of each atom
    dynamic: np.ndarray  # atoms that can change during integration (depend on time or states)
    n_out: int
    source: str
    linear: np.ndarray  # atoms whose root function is a(p) * t + b(p): their crossings are computed, not searched
    slopes: object  # p -> (a, b) arrays over all atoms (0, 0 where not linear)


def _atoms(exprs) -> list[sp.Basic]:
    found: dict[sp.Basic, None] = {}
    for e in exprs:
        for a in sp.preorder_traversal(e):
            if isinstance(a, tuple(_REL)):
                found.setdefault(a, None)
    return list(found)


def build_engine(model: ImportedModel) -> Engine:
    """Generate and compile the model's functions (one exec of one module)."""
    names = {s: f"y_{i}" for i, s in enumerate(model.states)}
    names.update({p: f"p_{j}" for j, p in enumerate(model.params)})
    names.update({a: f"a_{k}" for k, (a, _) in enumerate(model.assignments)})
    ren = {sp.Symbol(n): sp.Symbol(v) for n, v in names.items()}

    def pr(e) -> str:
        return _printer.doprint(e.xreplace(ren))

    head = ["    t = np.float64(t)"]
    head += [f"    y_{i} = y[{i}]" for i in range(len(model.states))]
    head += [f"    p_{j} = p[{j}]" for j in range(len(model.params))]
    head += [f"    a_{k} = {pr(e)}" for k, (_, e) in enumerate(model.assignments)]
    header = "\n".join(head)

    def fn(name: str, body: list[str], args: str = "t, y, p") -> str:
        return f"def {name}({args}):\n{header}\n" + "\n".join(body) + "\n"

    def arr(exprs) -> str:
        return "np.array([" + ", ".join(f"{pr(e)}" for e in exprs) + "], dtype=float)"

    outs = [r[1] for r in model.readouts] + [model.alt_readouts[c] for c, _, _ in model.readouts if c in model.alt_readouts]
    outs += [sp.Symbol(s) for s in model.states]  # last: the integrated states themselves (Result.states)
    events = model.sbml_events
    dyn_exprs = list(model.odes) + [e for _, e in model.assignments]
    atoms = _atoms([ev.trigger for ev in events] + dyn_exprs)
    atom_sym = {a: sp.Symbol(f"A[{k}]") for k, a in enumerate(atoms)}
    src = [
        fn("rhs", [f"    return {arr(model.odes)}"]),
        fn("outs", [f"    return {arr(outs)}"]),
        fn("g", [f"    return {arr([a.lhs - a.rhs for a in atoms])}"]),
        fn("truth", ["    return [" + ", ".join(f"bool({pr(a)})" for a in atoms) + "]"]),
        "def triggers(A):\n    return [" + ", ".join(f"bool({_printer.doprint(ev.trigger.xreplace(atom_sym))})" for ev in events) + "]\n",
    ]
    for k, ev in enumerate(events):
        src.append(fn(f"ev_values_{k}", [f"    return [{', '.join(pr(e) for _, e in ev.assignments)}]"]))
        src.append(fn(f"ev_delay_{k}", [f"    return float({pr(ev.delay) if ev.delay is not None else '0.0'})"]))
        src.append(fn(f"ev_priority_{k}", [f"    return float({pr(ev.priority) if ev.priority is not None else '-np.inf'})"]))
    defs = {n: e for n, e in model.assignments}
    defs.update(model.init_def)
    init_names = _toposort(defs, model.source, "initial value of")
    iren = {sp.Symbol(n): sp.Symbol(f"v_{i}") for i, n in enumerate(init_names)}
    params = set(model.params)
    body = ["def init(t, ov):", "    t = np.float64(t)"]
    for i, n in enumerate(init_names):
        e = _printer.doprint(defs[n].xreplace(iren))
        body.append(f"    v_{i} = np.float64(ov[{n!r}]) if {n!r} in ov else {e}" if n in params else f"    v_{i} = {e}")
    body.append("    return [" + ", ".join(f"v_{i}" for i in range(len(init_names))) + "]")
    src.append("\n".join(body) + "\n")
    lin = _linear_atoms(model, atoms)
    src.append("def slopes(p):\n" + "\n".join(f"    p_{j} = p[{j}]" for j in range(len(model.params)))
               + f"\n    return {arr([a for a, _ in lin])}, {arr([b for _, b in lin])}\n")
    text = "\n".join(src)
    ns: dict[str, object] = {"np": np, "math": math, "_gamma": scipy.special.gamma, "_max": _max, "_min": _min}
    exec(compile(text, f"<sbml model {hashlib.sha1(text.encode()).hexdigest()[:8]}>", "exec"), ns)
    dep = _dynamic_names(model)
    dynamic = np.array([bool({s.name for s in a.free_symbols} & dep) or a.has(TIME) for a in atoms], dtype=bool)
    return Engine(
        model, ns["rhs"], ns["outs"], ns["g"], ns["truth"], ns["triggers"],
        [ns[f"ev_values_{k}"] for k in range(len(events))], [ns[f"ev_delay_{k}"] for k in range(len(events))],
        [ns[f"ev_priority_{k}"] for k in range(len(events))], ns["init"], init_names, [_REL[type(a)] for a in atoms],
        dynamic, len(outs), text, np.array([a != 0 for a, _ in lin], dtype=bool), ns["slopes"],
    )


def _linear_atoms(model: ImportedModel, atoms) -> list[tuple[sp.Expr, sp.Expr]]:
    """(a, b) with root function a * time + b for atoms that depend on time and parameters only; (0, 0) otherwise."""
    defs = dict(model.assignments)
    params = {sp.Symbol(p) for p in model.params}
    out = []
    memo: dict = {}
    for atom in atoms:
        g = atom.lhs - atom.rhs
        for _ in range(len(defs) + 1):
            if tree_size(g, memo)[0] > MAX_LINEAR_NODES:  # chained rules can double it with each one
                break
            subs = {s: defs[s.name] for s in g.free_symbols if s.name in defs}
            if not subs:
                break
            g = g.xreplace(subs)
        if tree_size(g, memo)[0] > MAX_LINEAR_NODES or g.free_symbols & {sp.Symbol(n) for n in defs}:
            out.append((sp.Integer(0), sp.Integer(0)))  # too large to take apart: its crossings are searched, like any other
            continue
        a = sp.diff(g, TIME) if g.has(TIME) else sp.Integer(0)
        if g.has(TIME) and g.free_symbols <= params | {TIME} and not a.has(TIME) and not g.has(sp.Piecewise) and a.is_number is not False:
            b = (g - a * TIME).xreplace({TIME: sp.Integer(0)})  # g is a * t + b exactly; expanding (k + 1)**100000 would never end
            if a != 0:
                out.append((a, b))
                continue
        out.append((sp.Integer(0), sp.Integer(0)))
    return out


def _dynamic_names(model: ImportedModel) -> set[str]:
    """States, and assignments that depend on states or time."""
    dyn = set(model.states)
    for name, e in model.assignments:
        if e.has(TIME) or {s.name for s in e.free_symbols} & dyn:
            dyn.add(name)
    return dyn


class _Still:
    """What solve_ivp would return over an interval where nothing is integrated."""

    def __init__(self, y: np.ndarray, stop: float):
        self.status, self.y, self.message = 0, y[:, None], ""
        self.sol = lambda tt, y=y: np.repeat(y[:, None], np.size(tt), axis=1) if np.ndim(tt) else y.copy()


def _after(rel: str, truth: bool) -> bool:
    """Whether an atom that just crossed takes its new truth only after the crossing instant (x > c becoming
    true, x >= c becoming false), so the instant itself still belongs to the old truth."""
    return (rel in (">", "<") and truth) or (rel in (">=", "<=") and not truth)


def _crossed(rel: str, truth: bool) -> bool:
    """An atom's truth just after its root function crossed zero."""
    if rel == "==":
        return True
    if rel == "!=":
        return False
    return not truth


def _side(rel: str, truth: bool) -> int:
    """Root direction that would flip an atom's truth (+1 rising, -1 falling, 0 either)."""
    if rel in (">", ">="):
        return -1 if truth else 1
    if rel in ("<", "<="):
        return 1 if truth else -1
    return 0


class _Run:
    """One integration of an Engine with SBML events, in model time units."""

    def __init__(self, eng: Engine, p: np.ndarray, y0: np.ndarray, tol: Tolerances, hours_per_unit: float):
        self.eng, self.tol, self.hpu = eng, tol, hours_per_unit
        self.p, self.y = p.copy(), y0.astype(float).copy()
        self.model = eng.model
        self.n_ev = len(self.model.sbml_events)
        self.queue: list[tuple[float, int, int, list | None]] = []  # (time, seq, event, values)
        self.seq = 0
        self.rng = np.random.default_rng(0)  # ties between simultaneous events: random, but the same every run
        self.targets = [[self.model.targets[v] for v, _ in ev.assignments] for ev in self.model.sbml_events]
        self.sidx = {s: i for i, s in enumerate(self.model.states)}
        self.pidx = {s: i for i, s in enumerate(self.model.params)}
        self.out_idx = {r[0]: i for i, r in enumerate(self.model.readouts)}

    # ---- events
    def fire(self, t: float, e: int) -> None:
        ev = self.model.sbml_events[e]
        delay = self.eng.ev_delay[e](t, self.y, self.p) if ev.delay is not None else 0.0
        if not math.isfinite(delay) or delay < 0:
            raise SimulationError(f"event '{ev.id}': delay evaluates to {delay} at t = {t:g}; expected a finite value >= 0")
        values = self.eng.ev_values[e](t, self.y, self.p) if ev.use_trigger_values else None
        self.queue.append((t + delay, self.seq, e, values))
        self.seq += 1

    def execute(self, t: float, item) -> None:
        _, _, e, values = item
        if values is None:
            values = self.eng.ev_values[e](t, self.y, self.p)
        sizes = None
        ev = self.model.sbml_events[e]
        resized = [(var, name) for var, _ in ev.assignments for name in [self.model.targets[var][1]]
                   if var in self.model.rescale]
        if resized or any(size is not None for _, _, size in self.targets[e]):  # sizes before any of this event's assignments
            sizes = self.eng.outs(t, self.y, self.p)
        for (kind, name, size), v in zip(self.targets[e], values, strict=True):
            if size is not None:  # a species held as an amount, assigned a concentration: the size before this event's assignments
                v = float(v) * float(sizes[self.out_idx[size.name]])
            self._set(kind, name, float(v))
        for cid, name in resized:  # concentrations with rate rules: amount kept, so scaled by old size / new size
            old, new = float(sizes[self.out_idx[cid]]), float(self.p[self.pidx[name]] if name in self.pidx else self.y[self.sidx[name]])
            for kind, sname in self.model.rescale[cid]:  # (one assigned in this event too: its value was given at the old size)
                self._set(kind, sname, (self.y[self.sidx[sname]] if kind == "state" else self.p[self.pidx[sname]]) * old / new)

    def _set(self, kind: str, name: str, v: float) -> None:
        if kind == "state":
            self.y[self.sidx[name]] = v
        else:
            self.p[self.pidx[name]] = v

    def instant(self, t: float, A: list[bool], prev: list[bool]) -> list[bool]:
        """Fire, cancel and execute events at time t until nothing is due; returns atom truths."""
        for _ in range(MAX_EVENTS_PER_INSTANT):
            now = self.eng.triggers(A)
            for e in range(self.n_ev):
                if now[e] and not prev[e]:
                    self.fire(t, e)
                elif prev[e] and not now[e] and not self.model.sbml_events[e].persistent:
                    self.queue = [q for q in self.queue if q[2] != e]
            prev[:] = now
            due = [q for q in self.queue if q[0] <= t]
            if not due:
                return A
            prio = {q[1]: self.eng.ev_priority[q[2]](t, self.y, self.p) for q in due}
            top = max(prio.values())
            first = [q for q in due if prio[q[1]] == top or (np.isnan(top) and np.isnan(prio[q[1]]))]
            item = first[int(self.rng.integers(len(first)))] if len(first) > 1 else first[0]  # SBML: ties in random order
            self.queue.remove(item)
            g_before = self.eng.g(t, self.y, self.p)
            self.execute(t, item)
            g_after = self.eng.g(t, self.y, self.p)
            direct = self.eng.truth(t, self.y, self.p)
            A = [d if not (gb == ga or (np.isnan(gb) and np.isnan(ga))) else a for a, d, gb, ga in zip(A, direct, g_before, g_after)]
        raise SimulationError(f"events: more than {MAX_EVENTS_PER_INSTANT:,} event executions at t = {t:g}; the events trigger each other without end")

    # ---- integration
    def run(self, times: np.ndarray) -> np.ndarray:
        """Outputs (n_out, len(times)) at sorted model times >= 0 (repeats allowed)."""
        eng = self.eng
        n = len(self.y)
        if n == 0:
            self.y = np.zeros(1)  # nothing to integrate: a constant stand-in lets the solver find the roots in time
        out = np.empty((eng.n_out, len(times)))
        t, t_end = 0.0, float(times[-1])
        A = eng.truth(t, self.y, self.p)
        prev = [ev.initial_value for ev in self.model.sbml_events]
        A = self._settle(t, self.instant(t, A, prev), prev)
        nxt = self._record(out, times, 0, t)
        evals = [0]
        zero = np.zeros(1)

        def rhs(tt, yy):
            evals[0] += 1
            if evals[0] > MAX_RHS_EVALS * 10:
                raise WorkLimitError(f"solver: gave up after {MAX_RHS_EVALS * 10:,} right-hand-side evaluations near t = {tt:.6g} "
                                     "(model time units): the trajectory is too abrupt to follow")
            return eng.rhs(tt, yy, self.p) if n else zero

        for _ in range(MAX_STOPS):
            if t >= t_end:
                break
            stop = min([t_end] + [q[0] for q in self.queue if q[0] > t])
            lin_at = self._linear_crossings(t, A)
            if lin_at:
                stop = min(stop, min(lin_at.values()))
            dyn = [k for k in range(len(A)) if eng.dynamic[k] and not eng.linear[k]]
            cache: dict = {}

            def gk(k: int, d: int, cache: dict = cache):
                def f(tx, yx):
                    key = (tx, yx.tobytes())
                    if cache.get("key") != key:
                        cache["key"], cache["g"] = key, eng.g(tx, yx, self.p)
                    v = cache["g"][k]
                    # exactly on the root it just crossed: count as the side it is on, or a first tiny step
                    # (where nothing has moved yet) would be taken for another crossing
                    return -d * 1e-300 if v == 0 and d else v

                f.terminal, f.direction = True, d
                return f

            funcs = [gk(k, _side(eng.rel[k], A[k])) for k in dyn]
            if stop <= t or (n == 0 and not funcs):  # nothing moves but time: no solver needed
                sol = _Still(self.y, stop)
            else:
                opts = {} if n else {"max_step": (stop - t) / 64}
                sol = solve_ivp(rhs, (t, stop), self.y, method=self.tol.method, rtol=self.tol.rtol, atol=self.tol.atol,
                                events=funcs or None, dense_output=True, **opts)
            if sol.status == -1 or not np.all(np.isfinite(sol.y[:, -1])):
                raise SimulationError(f"solver: integration failed between t = {t:g} and {stop:g} (model time units): {sol.message}")
            crossed: set[int] = set()
            if sol.status == 1:
                hits = [(float(sol.t_events[i][0]), dyn[i]) for i in range(len(funcs)) if len(sol.t_events[i])]
                t_new = min(h[0] for h in hits)
                crossed = {k for tt, k in hits if tt <= t_new}
                y_new = sol.sol(t_new)
            else:
                t_new, y_new = stop, sol.y[:, -1]
                crossed = {k for k, r in lin_at.items() if r <= t_new}
            inside = (times > t) & (times < t_new)
            if np.any(inside):
                ti = times[inside]
                ys = sol.sol(ti)
                out[:, inside] = np.column_stack([eng.outs(tt, ys[:, i], self.p) for i, tt in enumerate(ti)])
            t, self.y = t_new, np.array(y_new, dtype=float)
            direct = eng.truth(t, self.y, self.p)
            A_new = [_crossed(eng.rel[k], A[k]) if k in crossed else direct[k] for k in range(len(A))]
            if crossed and all(_after(eng.rel[k], A_new[k]) for k in crossed) and not any(q[0] <= t for q in self.queue):
                nxt = self._record(out, times, nxt, t)  # `time > 7` is still false at 7: rows at 7 show the state before it
            A = A_new
            A = self._settle(t, self.instant(t, A, prev), prev)
            nxt = self._record(out, times, nxt, t)
        else:
            raise SimulationError(f"solver: more than {MAX_STOPS:,} stops for events and switches before t = {t_end:g}")
        if n == 0:
            self.y = np.zeros(0)
        return out

    def _linear_crossings(self, t: float, A: list[bool]) -> dict[int, float]:
        """{atom: time} of the next crossings of time-linear atoms that would flip their truth (at or after t)."""
        eng = self.eng
        if not eng.linear.any():
            return {}
        a, b = eng.slopes(self.p)
        out = {}
        for k in np.nonzero(eng.linear)[0]:
            if a[k] == 0 or not np.isfinite(a[k]) or not np.isfinite(b[k]):
                continue
            r = -b[k] / a[k]
            rel = eng.rel[k]
            if rel in ("==", "!="):
                if r > t:
                    out[int(k)] = float(r)
                continue
            after = (a[k] > 0) if rel in (">", ">=") else (a[k] < 0)
            if r >= t and after != A[k]:
                out[int(k)] = float(r)
        return out

    def _settle(self, t: float, A: list[bool], prev: list[bool]) -> list[bool]:
        """After an instant, an equality holds no longer: its atom takes its direct value, without firing."""
        eng = self.eng
        if any(r in ("==", "!=") for r in eng.rel):
            direct = eng.truth(t, self.y, self.p)
            A = [direct[k] if eng.rel[k] in ("==", "!=") else a for k, a in enumerate(A)]
            now = eng.triggers(A)
            for e in range(self.n_ev):
                if prev[e] and not now[e] and not self.model.sbml_events[e].persistent:
                    self.queue = [q for q in self.queue if q[2] != e]
            prev[:] = now
        return A

    def _record(self, out: np.ndarray, times: np.ndarray, start: int, t: float) -> int:
        k = max(start, int(np.searchsorted(times, t, side="left")))  # rows before t came from the dense output
        while k < len(times) and times[k] <= t:
            out[:, k] = self.eng.outs(t, self.y, self.p)
            k += 1
        return k


def _frame(model: ImportedModel, out: np.ndarray, species_as: str | None, tcol: str, times: np.ndarray) -> pd.DataFrame:
    if species_as not in (None, "amount", "concentration"):
        raise PlasticityError(f"species_as: expected 'amount', 'concentration' or None (each species in its declared basis), got {species_as!r}")
    n = len(model.readouts)
    alt = [c for c, _, _ in model.readouts if c in model.alt_readouts]
    alt_row = {c: n + i for i, c in enumerate(alt)}
    cols = {tcol: times}
    for i, (c, _, _) in enumerate(model.readouts):
        row = i
        if species_as is not None and c in model.species_basis and model.species_basis[c] != species_as:
            row = alt_row[c]
        cols[c] = out[row]
    return pd.DataFrame(cols)


def engine_of(model: ImportedModel) -> Engine:
    eng = getattr(model, "_engine", None)
    if eng is None:
        eng = build_engine(model)
        model._engine = eng
    return eng


def start_values(model: ImportedModel, eng: Engine, params: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """(parameters, initial states), with overrides checked by name and value."""
    from .._errors import UnknownNameError

    values = dict(model.values)
    for name, v in (params or {}).items():
        if name not in values:
            raise UnknownNameError("parameter", name, values, context="params of the imported model")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not math.isfinite(v):
            raise PlasticityError(f"params: '{name}' must be a finite number, got {v!r}")
        values[name] = float(v)
    if params:
        with np.errstate(all="ignore"):
            init = dict(zip(eng.init_names, eng.init(0.0, {k: values[k] for k in params}), strict=True))
        y0 = np.array([float(init[s]) for s in model.states], dtype=float)
        if not np.all(np.isfinite(y0)):
            raise PlasticityError(f"params: {dict(params)} give a non-finite initial value to the imported model's states")
    else:
        y0 = np.array([model.initial_values[s] for s in model.states], dtype=float)
    return np.array([values[p] for p in model.params], dtype=float), y0


def check_finite(model: ImportedModel, init: dict[str, float]) -> None:
    """Refuse a non-finite start value (1/0, ln(-1), INF, an undefined size) that the dynamics use, naming
    the element. A value nothing depends on is reported as what it evaluates to (INF, NaN)."""
    used: set[str] = set()
    for e in list(model.odes) + [e for _, e in model.assignments]:
        used |= {s.name for s in e.free_symbols}
    for ev in model.sbml_events:
        for e in [ev.trigger, ev.delay, ev.priority] + [x for _, x in ev.assignments]:
            if e is not None:
                used |= {s.name for s in e.free_symbols}
    for name, e in model.init_def.items():
        if name in model.states:
            used |= {s.name for s in e.free_symbols}
    sid_of = {n: i for i, (_, n, _) in model.targets.items()}
    for name in list(model.states) + list(model.params):
        v = init[name]
        if not math.isfinite(v) and (name in model.states or name in used or sid_of.get(name, name) in used):
            raise SBMLUnsupportedError(model.source, f"initial value of '{sid_of.get(name, name)}'",
                                       "a non-finite (infinite, NaN or undefined) value", f"it evaluates to {v}")


def evaluate_initial(model: ImportedModel, init_def: dict[str, sp.Expr]) -> dict[str, float]:
    """Start values of every flat name: declared values, initial assignments and rules, in dependency order."""
    model.init_def = init_def
    eng = build_engine(model)
    with np.errstate(all="ignore"):
        try:
            vals = eng.init(0.0, {})
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise SBMLError(model.source, "initial values", f"cannot be evaluated ({exc})") from None
    model._engine = eng
    return {n: (float(np.real(v)) if not isinstance(v, complex) else math.nan) for n, v in zip(eng.init_names, vals, strict=True)}


def model_time_outputs(model: ImportedModel, times, tolerances: Tolerances, bases=(None,)) -> dict:
    """{basis: DataFrame} of one run at `times` in model time units, each species in the basis asked
    (None: as declared); the SBML Test Suite's clock, without the hours conversion of `simulate`."""
    eng = engine_of(model)
    p, y0 = start_values(model, eng, None)
    times = check_times(times)
    if times[0] < 0:
        raise PlasticityError(f"times: an imported model starts at time 0; got {times[0]:g}")
    with np.errstate(all="ignore"):
        out = _Run(eng, p, y0, tolerances, model.hours_per_unit or 1.0).run(times)
    return {b: _frame(model, out, b, "time", times) for b in bases}
