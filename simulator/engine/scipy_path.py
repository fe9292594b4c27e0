"""Integrate a compiled model: drug-free steady state first, then segment by segment across doses."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .._errors import PlasticityError, SimulationError
from .._limits import MAX_RHS_EVALS, SIMULTANEOUS_H  # MAX_RHS_EVALS per segment between doses; a 72 h run takes about 4,000
from .codegen import Compiled


@dataclass(frozen=True)
class Tolerances:
    """Solver settings; `atol` is also the floor for relative comparisons of trajectories."""

    rtol: float = 1e-7
    atol: float = 1e-10
    method: str = "LSODA"




class WorkLimitError(SimulationError):
    """The solver crawled: more right-hand-side evaluations than MAX_RHS_EVALS in one segment."""


FLOOR_ATOLS = 1000.0
"""States and readouts are non-negative by construction; the solver may leave them this many atol below 0."""

STEADY_ZERO = 1e-19
"""A drug-free steady-state value nearer 0 than this is 0: the kernel's Newton resolves steps down to 1e-13 x 1e-6
at zero. Its LU solve leaves round-off (~1e-32, either sign) in states that are exactly 0 without a drug (a prodrug's
metabolite, coupled to the loop through receptor occupancy); libRoadRunner scales each species' absolute tolerance
by its nonzero initial amount, so an exported -1.6e-32 asked CVODE for 1.6e-44 and it failed at t = 0."""


class AnswerCheckError(SimulationError):
    """A solve ran to the end, but its answer failed the engine's own check: a state or readout below the
    floor (-1000 x atol) or not finite. The caller refines once (`refined`) before it gives up."""


def floor(tol: Tolerances) -> float:
    return FLOOR_ATOLS * tol.atol


def refined(tol: Tolerances) -> Tolerances:
    """The second try after a failed check: rtol 100 times tighter (down to 1e-12) with BDF, as the red-team
    draws needed (a spine density of -0.56 at rtol 1e-7 with LSODA was +2.3e-5 at rtol 1e-9 or with BDF)."""
    return Tolerances(rtol=max(tol.rtol * 1e-2, 1e-12), atol=tol.atol, method="BDF")


def check_answer(names, values: np.ndarray, times: np.ndarray, tol: Tolerances, what: str = "state") -> None:
    """Raise AnswerCheckError naming the first of `values` (one row per name) that is below the floor or not finite."""
    lowest = float(np.min(values)) if values.size else 0.0
    if lowest >= -floor(tol) and np.isfinite(np.max(values)):  # a NaN makes both checks fail
        return
    bad = ~(np.isfinite(values) & (values >= -floor(tol)))
    i, r = (int(x[0]) for x in np.nonzero(bad))
    v = float(values[i, r])
    how = "is not finite" if not np.isfinite(v) else f"is below the floor of -{floor(tol):g} (1000 x atol)"
    raise AnswerCheckError(f"solver: {what} '{names[i]}' = {v:.3g} at t = {float(times[r]):g} h {how}; "
                           "it is non-negative by construction, so this answer is wrong")


def limited(fun, start: float, stop: float):
    """`fun` that raises WorkLimitError after MAX_RHS_EVALS calls, so a crawling solve ends with an error, not a hang.

    An abrupt rate law (a Hill coefficient near 0 makes pos(x) ** n a step at 0) can shrink LSODA's
    steps to 1e-11 h, and 2 h would then take days."""
    count = 0

    def wrapped(t, y, *args):
        nonlocal count
        count += 1
        if count > MAX_RHS_EVALS:
            raise WorkLimitError(
                f"solver: gave up between t = {start:g} h and {stop:g} h after {MAX_RHS_EVALS:,} right-hand-side evaluations, "
                f"stuck near t = {t:.6g} h: the trajectory is too abrupt to follow (check extreme parameter values, such as "
                "a Hill coefficient near 0, or extreme doses)"
            )
        return fun(t, y, *args)

    return wrapped


def check_times(times) -> np.ndarray:
    """Output times as a float array; a PlasticityError unless non-empty, one-dimensional, finite and increasing."""
    if not isinstance(times, np.ndarray) and hasattr(times, "__iter__"):
        times = list(times)  # ranges, generators, pandas columns
    try:
        arr = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.ndim != 1 or len(arr) == 0 or not np.all(np.isfinite(arr)) or np.any(np.diff(arr) < 0):
        raise PlasticityError("times: expected a non-empty, increasing list of finite times in hours")
    return arr


def param_vector(comp: Compiled, values: dict[str, float]) -> np.ndarray:
    return np.array([values[p] for p in comp.flat.params], dtype=float)


def steady_state(comp: Compiled, p: np.ndarray, y0: np.ndarray | None = None) -> np.ndarray:
    """Drug-free steady state (inputs off): Newton from the baseline guess, with a relaxation fallback."""
    from scipy.integrate import solve_ivp  # here, not at the top: a run on the compiled kernel never loads SciPy (0.3 s)
    from scipy.optimize import root

    def residual(x: np.ndarray) -> float:
        f = comp.rhs(0.0, x, p)
        return float(np.max(np.abs(f) / np.maximum(np.abs(x), 1e-6))) if np.all(np.isfinite(f)) else math.inf

    def newton(x: np.ndarray) -> np.ndarray:
        sol = root(lambda z: comp.rhs(0.0, z, p), x, jac=lambda z: comp.jac(0.0, z, p), method="hybr", options={"xtol": 1e-13})
        return sol.x if np.all(np.isfinite(sol.x)) and np.all(sol.x >= -1e-12) else x

    y = comp.initial(p) if y0 is None else np.array(y0, dtype=float)
    y = newton(y)
    if residual(y) > 1e-9:
        with np.errstate(all="ignore"):  # overflow shows as a non-finite state, checked below
            relax = solve_ivp(limited(lambda t, x: comp.rhs(t, x, p), 0.0, 24.0 * 5000), (0.0, 24.0 * 5000),
                              y if np.all(y >= 0) else comp.initial(p), method="LSODA", jac=lambda t, x: comp.jac(t, x, p),
                              rtol=1e-10, atol=1e-13)
        y = newton(relax.y[:, -1])
        if residual(y) > 1e-8:
            raise SimulationError(
                f"steady state: no drug-free steady state found for these parameters (relative residual {residual(y):.2g}); "
                "check parameter overrides for values far outside their ranges"
            )
    negative = [f"{n} = {v:.3g}" for n, v in zip(comp.flat.states, y) if v < -1e-12]
    if negative:  # e.g. a spine turnover so fast that new spines alone exceed the baseline density
        raise SimulationError(
            f"steady state: the drug-free steady state is negative ({', '.join(negative)}) for these parameters; "
            "check parameter overrides for values far outside their ranges"
        )
    return np.where(np.abs(y) < STEADY_ZERO, 0.0, y)


def node_value(comp: Compiled, node: str, y: np.ndarray, p: np.ndarray) -> float:
    """Value of a state or an assignment at state y."""
    flat = comp.flat
    if node in flat.states:
        return float(y[flat.states.index(node)])
    done: dict[sp.Symbol, sp.Expr] = {}
    for name, expr in flat.assignments:
        done[sp.Symbol(name)] = expr.xreplace(done)
        if name == node:
            env = {sp.Symbol(s): float(v) for s, v in zip(flat.states, y)}
            env.update({sp.Symbol(n): float(v) for n, v in zip(flat.params, p)})
            return float(done[sp.Symbol(name)].xreplace(env))
    raise KeyError(node)


def prepare(comp: Compiled, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Set cut-edge and clamp-level parameters from the drug-free steady state; return (p, y_ss)."""
    flat = comp.flat
    p = p.copy()
    idx = {n: i for i, n in enumerate(flat.params)}
    y = steady_state(comp, p)
    for _ in range(50 if flat.cut_edges else 0):
        new = np.array([node_value(comp, src, y, p) for src in flat.cut_edges.values()])
        old = np.array([p[idx[c]] for c in flat.cut_edges])
        for c, v in zip(flat.cut_edges, new):
            p[idx[c]] = v
        y = steady_state(comp, p, y)
        if np.allclose(new, old, rtol=1e-12, atol=1e-14):
            break
    for lev, (node, frac) in flat.clamp_levels.items():
        p[idx[lev]] = frac * node_value(comp, node, y, p)
    return p, y


def event_amount(comp: Compiled, ev, p: np.ndarray) -> float:
    idx = {n: i for i, n in enumerate(comp.flat.params)}
    value = ev.amount
    for s in ev.scale:
        value *= p[idx[s]]
    for d in ev.divide:
        value /= p[idx[d]]
    return value


def segments(times: np.ndarray, start: float, bounds: list[float]):
    """Yield (start, stop, sel, t_eval, extra) for each interval between dose events.

    `sel` picks the output rows of the interval (a row at an event belongs to the interval that
    starts there, so it shows the state after the dose); `t_eval` is those times plus `stop` when
    `extra`, so the state at `stop` is always known for the next interval."""
    for k, stop in enumerate(bounds):
        last = k == len(bounds) - 1
        sel = (times >= start) & ((times <= stop) if last else (times < stop))
        t_eval = times[sel]
        extra = not (len(t_eval) and t_eval[-1] == stop)
        if extra:
            t_eval = np.append(t_eval, stop)
        yield start, stop, sel, t_eval, extra
        start = stop


def snap_off(value, amount):
    """An input switched off by an opposite event is exactly 0, not round-off."""
    return np.where(np.abs(value) < 1e-12 * np.maximum(np.abs(amount), 1.0), 0.0, value)


def integrate(comp: Compiled, events: list, p: np.ndarray, y0: np.ndarray, times: np.ndarray, tol: Tolerances,
              *, with_inputs: bool = False, check: bool = True) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """States at `times` (sorted), applying dose `events`; a row at an event shows the state after it.

    With `with_inputs`, also the parameter vector in force at each time (n_params, n_times), so
    readouts that depend on an infusion, bath or clamp input are evaluated with it."""
    from scipy.integrate import solve_ivp

    flat = comp.flat
    sidx = {n: i for i, n in enumerate(flat.states)}
    pidx = {n: i for i, n in enumerate(flat.params)}
    t0, t_end = float(times[0]), float(times[-1])
    p = p.copy()
    y = y0.astype(float).copy()
    out = np.empty((len(flat.states), len(times)))
    p_out = np.empty((len(p), len(times))) if with_inputs else None
    ev_times = sorted({e.time_h for e in events if e.time_h <= t_end})
    bounds = [t for t in ev_times if t > t0] + [t_end]
    pending = list(events)

    def apply_events(upto: float) -> None:
        nonlocal pending
        keep = []
        for ev in pending:
            if ev.time_h <= upto:
                amt = event_amount(comp, ev, p)
                if ev.kind == "state":
                    y[sidx[ev.target]] += amt
                else:
                    p[pidx[ev.target]] = snap_off(p[pidx[ev.target]] + amt, amt)
            else:
                keep.append(ev)
        pending = keep

    apply_events(t0)
    for start, stop, sel, t_eval, extra in segments(times, t0, bounds):
        if stop - start > SIMULTANEOUS_H:  # events closer together are applied at one instant
            with np.errstate(all="ignore"), warnings.catch_warnings():  # a failure is reported below, once
                warnings.simplefilter("ignore", UserWarning)  # lsoda's own 'repeated error test failures'
                sol = solve_ivp(
                    limited(comp.rhs, start, stop), (start, stop), y, method=tol.method, t_eval=t_eval, args=(p,),
                    jac=comp.jac, rtol=tol.rtol, atol=tol.atol,
                )
            if sol.status != 0 or not np.all(np.isfinite(sol.y)):
                state = ", ".join(f"{n}={v:.3g}" for n, v in zip(flat.states, y))
                why = sol.message
                if sol.status == 0:  # the solver ran to the end, but the state overflowed on the way
                    bad = np.flatnonzero(~np.all(np.isfinite(sol.y), axis=0))
                    worst = [n for n, row in zip(flat.states, sol.y) if not np.all(np.isfinite(row))]
                    why = f"the state became infinite or NaN by t = {sol.t[bad[0]]:g} h, first in {', '.join(worst[:3])}"
                raise SimulationError(
                    f"solver: integration failed between t = {start:g} h and {stop:g} h ({why}); "
                    f"state at {start:g} h: {state}. Try tighter tolerances (rtol=1e-9) or method='BDF', "
                    "or check for extreme doses or parameter values"
                )
            if check:
                check_answer(flat.states, sol.y, sol.t, tol)
            out[:, sel] = sol.y[:, :-1] if extra else sol.y
            y = sol.y[:, -1].copy()
        elif np.any(sel):
            out[:, sel] = y[:, None]
        if p_out is not None:
            p_out[:, sel] = p[:, None]
        apply_events(stop)
    return (out, p_out) if with_inputs else out
