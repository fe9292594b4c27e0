"""One run on the compiled kernel (`native`), with the SciPy path (`scipy_path`) where the kernel cannot go.

The kernel takes the run as a sweep of one member. The SciPy path runs it instead when numba is
missing or PLASTICITY_ENGINE=scipy, when the tolerances ask for a method the kernel does not have
(Radau, RK45...), while the kernel's first compile on this machine is still under way in the
background (`native.ready`), and when the kernel's step control gives up on the run.
"""

from __future__ import annotations

import numpy as np

from .._errors import SimulationError
from . import native
from .scipy_path import AnswerCheckError, Tolerances, check_answer, event_amount, snap_off
from .scipy_path import integrate as scipy_integrate
from .scipy_path import prepare as scipy_prepare

STEP_CONTROL = (1, 2, 3)  # the kernel's codes for a step limit, a step below round-off and a singular matrix


def engine(tol: Tolerances) -> str:
    """'native' when the compiled kernel can take a run at these tolerances now, else 'scipy'."""
    return "native" if tol.method in ("LSODA", "BDF") and native.available() and native.ready() else "scipy"


def integrate(comp, events: list, p: np.ndarray, y0: np.ndarray, times: np.ndarray, tol: Tolerances,
              *, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(states (n_states, n_times), parameters in force (n_params, n_times)) at sorted `times`, applying `events`.

    As `scipy_path.integrate(..., with_inputs=True)`: a row at an event shows the state after it. Raises
    AnswerCheckError when a state falls below the floor, so the caller can refine."""
    if engine(tol) == "scipy":
        return scipy_integrate(comp, events, p, y0, times, tol, with_inputs=True, check=check)
    flat = comp.flat
    sidx = {n: i for i, n in enumerate(flat.states)}
    pidx = {n: i for i, n in enumerate(flat.params)}
    kind = np.array([0 if ev.kind == "state" else 1 for ev in events], dtype=np.int64)
    target = np.array([sidx[ev.target] if ev.kind == "state" else pidx[ev.target] for ev in events], dtype=np.int64)
    amounts = np.array([event_amount(comp, ev, p) for ev in events], dtype=float)
    ev_times = np.array([ev.time_h for ev in events], dtype=float)
    out, codes = native.integrate(comp, p[None, :], y0[None, :], times, kind, target, amounts[None, :], ev_times[None, :], tol,
                                  threads=1, check=check)
    code = int(codes[0])
    if code in STEP_CONTROL:  # the SciPy path tries it with LSODA's own step control, as a sweep's member would be
        return scipy_integrate(comp, events, p, y0, times, tol, with_inputs=True, check=check)
    if code == native.BELOW_FLOOR:
        check_answer(flat.states, out[0], times, tol)
        raise AnswerCheckError(f"solver: {native.REASONS[code]}")
    if code != 0:
        raise SimulationError(f"{native.REASONS.get(code, f'solver status {code}')}; try tighter tolerances (rtol=1e-9) "
                              "or check for extreme doses or parameter values")
    return out[0], inputs_in_force(p, kind, target, amounts, ev_times, times)


def prepare(comp, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, drug-free steady state): Newton in the compiled kernel, as a sweep's members get it, for a model without cut
    edges or clamps; SciPy's `prepare` for those, where the kernel cannot go, and where Newton does not settle (it
    then names the problem: no steady state, or a negative one)."""
    flat = comp.flat
    if not flat.cut_edges and not flat.clamp_levels and engine(Tolerances()) == "native":
        y, ok = native.steady_states(comp, p[None, :], comp.initial(p)[None, :], 60)
        if ok[0]:
            return p, y[0]
    return scipy_prepare(comp, p)


def inputs_in_force(p: np.ndarray, kind: np.ndarray, target: np.ndarray, amounts: np.ndarray, ev_times: np.ndarray,
                    times: np.ndarray) -> np.ndarray:
    """The parameter vector at each output time: the input events at or before it applied (switched off exactly to 0)."""
    p_t = np.repeat(p[:, None], len(times), axis=1)
    for e in np.argsort(ev_times, kind="stable"):
        if kind[e] == 1:
            j, on = target[e], times >= ev_times[e]
            p_t[j, on] = snap_off(p_t[j, on] + amounts[e], amounts[e])
    return p_t
