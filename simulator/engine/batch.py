"""Integrate many parameter sets of one compiled model together.

The members are stacked into one ODE system, member-major (`y[m * n + i]` is state i of member m),
so the generated right-hand side runs once per step over (n_states, members) arrays and the
Jacobian is block diagonal: banded for LSODA (bandwidth = the model's own), sparse for BDF/Radau.
Each member starts from its own drug-free steady state (a vectorised Newton iteration over the
batched Jacobian, falling back to the single-run `prepare` for members it cannot settle). A member
that fails (bad parameter, no steady state, solver failure) gets a status "failed: <reason>" and
the rest of the batch goes on: a failing stacked solve is split in halves until the failure is
isolated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.integrate import solve_ivp

from .._errors import PlasticityError, SimulationError
from . import native as _native
from .scipy_path import AnswerCheckError, Tolerances, check_answer, check_times, floor, limited, prepare, refined, segments, snap_off

OK = "ok"


def _dose_mask(events: Sequence) -> np.ndarray:
    """True for dose events (scaled by `dose_scale`), False for clamp switches."""
    return np.array([not e.label.startswith("clamp ") for e in events], dtype=bool)


def _as_member_matrix(value, members: int, n_events: int, field: str, default: float) -> np.ndarray:
    if value is None:
        return np.full((members, n_events), default)
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full((members, n_events), float(arr))
    elif arr.ndim == 1:
        if arr.shape[0] != members:
            raise PlasticityError(f"{field}: expected {members} values (one per member), got {arr.shape[0]}")
        arr = np.repeat(arr[:, None], n_events, axis=1)
    if arr.shape != (members, n_events):
        raise PlasticityError(f"{field}: expected shape ({members}, {n_events}) (members x dose events), got {arr.shape}")
    return arr


def steady_states(comp, P: np.ndarray, iters: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Drug-free steady states of all members at once (Newton); P is (n_params, members).

    Returns (Y (n_states, members), converged bool (members,))."""
    n, m = comp.n_states, P.shape[1]
    y = np.empty((n, m))
    comp.init_into(P, y)
    y = np.broadcast_to(y, (n, m)).copy()
    if _native.available():
        Yn, ok = _native.steady_states(comp, P.T, y.T, iters)
        return Yn.T.copy(), ok
    with np.errstate(all="ignore"):
        for _ in range(iters):
            f = comp.rhs(0.0, y, P)
            J = np.moveaxis(comp.jac(0.0, y, P), -1, 0)  # (m, n, n)
            try:
                step = np.linalg.solve(J, -f.T[..., None])[..., 0].T
            except np.linalg.LinAlgError:
                step = np.full_like(y, np.nan)
                for k in range(m):
                    try:
                        step[:, k] = np.linalg.solve(J[k], -f[:, k])
                    except np.linalg.LinAlgError:
                        pass
            y = y + step
            scale = np.maximum(np.abs(y), 1e-6)
            if np.all(np.max(np.abs(step) / scale, axis=0) < 1e-13):
                break
        f = comp.rhs(0.0, y, P)
        scale = np.maximum(np.abs(y), 1e-6)
        ok = np.all(np.isfinite(y), axis=0) & (np.max(np.abs(f) / scale, axis=0) < 1e-8) & np.all(y >= -1e-12, axis=0)
    return np.where(np.abs(y) < 1e-300, 0.0, y), ok


def _check_params(setup, P: np.ndarray) -> list[str]:
    """Per-member status after checking parameter values (finite, >= 0, rates and times > 0)."""
    flat = setup.flat
    status = [OK] * P.shape[1]
    positive = {i for i, n in enumerate(flat.params) if flat.meta.get(n) is not None and flat.meta[n].unit in ("1/h", "h")}
    for j, name in enumerate(flat.params):
        if name in flat.inputs:
            continue
        col = P[j]
        if getattr(flat, "from_initial", False):  # an imported SBML model: its parameters may be negative
            bad = ~np.isfinite(col)
        else:
            bad = ~np.isfinite(col) | (col < 0) | ((col == 0) & (j in positive))
        for k in np.nonzero(bad)[0]:
            if status[k] == OK:
                status[k] = f"failed: parameter '{name}' = {col[k]!r} (expected a finite value {'> 0' if j in positive else '>= 0'})"
    return status


def _prepare_members(setup, P: np.ndarray, status: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Prepared parameters and drug-free steady states for every member still ok."""
    comp, flat = setup.compiled, setup.flat
    P = P.copy()
    Y0 = np.full((comp.n_states, P.shape[1]), np.nan)
    live = [k for k, s in enumerate(status) if s == OK]
    if not live:
        return P, Y0
    if getattr(flat, "from_initial", False):  # an imported SBML model starts from its own initial values, not a steady state
        y = np.empty((comp.n_states, len(live)))
        comp.init_into(P[:, live], y)
        Y0[:, live] = y
        return P, Y0
    slow = list(live)
    if not flat.cut_edges and not flat.clamp_levels:
        y, ok = steady_states(comp, P[:, live])
        Y0[:, live] = y
        slow = [k for k, good in zip(live, ok, strict=True) if not good]
    for k in slow:  # cut edges, clamps, or Newton did not settle: the single-run path
        try:
            P[:, k], Y0[:, k] = prepare(comp, P[:, k])
        except (SimulationError, np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            status[k] = f"failed: steady state ({str(exc).splitlines()[0][:200]})"
    return P, Y0


class _Stacked:
    """Right-hand side and Jacobian of `m` members stacked member-major."""

    def __init__(self, comp, P: np.ndarray, method: str):
        self.comp, self.P, self.n, self.m = comp, P, comp.n_states, P.shape[1]
        a, b = np.nonzero(comp.jac_pattern | np.eye(self.n, dtype=bool))
        self.a, self.b = a, b
        self.lband = int(max(0, (a - b).max()))
        self.uband = int(max(0, (b - a).max()))
        offs = self.n * np.arange(self.m)
        self.banded = method == "LSODA"
        if self.banded:
            self.rows = (self.uband + a - b)[:, None] + np.zeros_like(offs)[None, :]
            self.cols = b[:, None] + offs[None, :]
        else:
            from scipy.sparse import csc_matrix

            self.sp_rows = (a[:, None] + offs[None, :]).ravel()
            self.sp_cols = (b[:, None] + offs[None, :]).ravel()
            self.csc = csc_matrix
        self.out = np.empty((self.n, self.m))

    def rhs(self, t: float, yflat: np.ndarray) -> np.ndarray:
        y = yflat.reshape(self.m, self.n).T
        self.comp.rhs_into(t, y, self.P, self.out)
        return self.out.T.ravel()

    def jac(self, t: float, yflat: np.ndarray):
        y = yflat.reshape(self.m, self.n).T
        J = self.comp.jac(t, y, self.P)  # (n, n, m)
        vals = J[self.a, self.b, :]
        N = self.n * self.m
        if self.banded:
            packed = np.zeros((self.lband + self.uband + 1, N))
            packed[self.rows, self.cols] = vals
            return packed
        return self.csc((vals.ravel(), (self.sp_rows, self.sp_cols)), shape=(N, N))

    def options(self) -> dict:
        return {"lband": self.lband, "uband": self.uband} if self.banded else {}


def _integrate_group(comp, P, Y0, times, ev_list, amounts, ev_times, tol: Tolerances) -> np.ndarray:
    """States (m, n, len(times)) of members integrated together; raises SimulationError on failure.

    amounts/ev_times: (m, n_events) per-member event amounts and times."""
    flat = comp.flat
    n, m = comp.n_states, P.shape[1]
    sidx = {s: i for i, s in enumerate(flat.states)}
    pidx = {s: i for i, s in enumerate(flat.params)}
    P = P.copy()
    y = Y0.copy()
    out = np.empty((m, n, len(times)))
    t0, t_end = float(times[0]), float(times[-1])
    done = np.zeros(ev_times.shape, dtype=bool)
    stops = sorted({float(t) for t in np.unique(ev_times) if t0 < t <= t_end}) + [t_end]

    def apply(upto: float) -> None:
        for e, ev in enumerate(ev_list):
            hit = (~done[:, e]) & (ev_times[:, e] <= upto)
            if not np.any(hit):
                continue
            amt = np.where(hit, amounts[:, e], 0.0)
            if ev.kind == "state":
                y[sidx[ev.target]] += amt
            else:
                row = pidx[ev.target]
                P[row] = snap_off(P[row] + amt, amt)
            done[:, e] |= hit

    stacked = _Stacked(comp, P, tol.method)
    apply(t0)
    for start, stop, sel, t_eval, extra in segments(times, t0, stops):
        if stop > start:
            stacked.P = P
            with np.errstate(all="ignore"):
                sol = solve_ivp(
                    limited(stacked.rhs, start, stop),
                    (start, stop),
                    y.T.ravel(),
                    method=tol.method,
                    t_eval=t_eval,
                    jac=stacked.jac,
                    rtol=tol.rtol,
                    atol=tol.atol,
                    **stacked.options(),
                )
            if sol.status != 0 or not np.all(np.isfinite(sol.y)):
                raise SimulationError(f"solver: integration failed between t = {start:g} h and {stop:g} h ({sol.message})")
            if not getattr(flat, "from_initial", False):  # the built-in model is non-negative by construction; an import need not be
                check_answer(flat.states * m, sol.y, sol.t, tol)  # rows are member-major: a failure splits the group
            ys = sol.y.reshape(m, n, -1)
            out[:, :, sel] = ys[:, :, :-1] if extra else ys
            y = ys[:, :, -1].T.copy()
        elif np.any(sel):
            out[:, :, sel] = y.T[:, :, None]
        apply(stop)
    return out


def _solve_split(comp, P, Y0, times, ev_list, amounts, ev_times, tol, idx: np.ndarray, Y: np.ndarray, status: list[str]) -> None:
    """Integrate members `idx` together; on failure split in halves until single members fail alone."""
    try:
        Y[idx] = _integrate_group(comp, P[:, idx], Y0[:, idx], times, ev_list, amounts[idx], ev_times[idx], tol)
        return
    except (SimulationError, np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        if len(idx) == 1:
            if isinstance(exc, AnswerCheckError):  # a wrong answer, alone now: refine once before giving up
                fine = refined(tol)
                try:
                    Y[idx] = _integrate_group(comp, P[:, idx], Y0[:, idx], times, ev_list, amounts[idx], ev_times[idx], fine)
                    return
                except (SimulationError, np.linalg.LinAlgError, ValueError, FloatingPointError) as again:
                    exc = again
                    if isinstance(again, AnswerCheckError):
                        exc = AnswerCheckError(f"{again}, again at rtol {fine.rtol:g} (BDF)")
            status[idx[0]] = f"failed: {str(exc).splitlines()[0][:300]}"
            return
    half = len(idx) // 2
    for part in (idx[:half], idx[half:]):
        _solve_split(comp, P, Y0, times, ev_list, amounts, ev_times, tol, part, Y, status)


class BatchOutput(tuple):
    """(Y, status) that also carries what `observe_batch` needs: `params`, the prepared (members, n_params)
    matrix, and `inputs`, {parameter index: (members, n_times)} for the parameters that events switch
    (infusion rates, bath concentrations, clamps), which readouts must see as they were at each time."""

    params: np.ndarray
    inputs: dict[int, np.ndarray]

    def __new__(cls, Y: np.ndarray, status: list[str], params: np.ndarray, inputs: dict[int, np.ndarray]):
        obj = super().__new__(cls, (Y, status))
        obj.params, obj.inputs = params, inputs
        return obj


def input_tracks(flat, P: np.ndarray, ev_list, amounts: np.ndarray, ev_times: np.ndarray, times: np.ndarray) -> dict[int, np.ndarray]:
    """{parameter index: values (members, n_times)} of the parameters that input events switch.

    As the integrators apply them: an event counts from its own time on (a row at an event shows it
    applied), except one at the last output time after the first, which the run ends before."""
    pidx = {n: i for i, n in enumerate(flat.params)}
    t0, t_end = float(times[0]), float(times[-1])
    tracks: dict[int, np.ndarray] = {}
    for e in np.argsort([ev.time_h for ev in ev_list], kind="stable"):
        ev = ev_list[e]
        if ev.kind != "input":
            continue
        j = pidx[ev.target]
        track = tracks.setdefault(j, np.repeat(P[j][:, None], len(times), axis=1))
        when = ev_times[:, e][:, None]
        on = (when <= times[None, :]) & ((when < t_end) | (when <= t0))
        amt = amounts[:, e][:, None]
        tracks[j] = np.where(on, snap_off(track + amt, amt), track)
    return tracks


def run_batch(
    setup,
    param_matrix: np.ndarray,
    times: Sequence[float] | np.ndarray,
    *,
    dose_scale: np.ndarray | float | None = None,
    dose_times: np.ndarray | None = None,
    tol: Tolerances = Tolerances(),
) -> BatchOutput:
    """Integrate many parameter sets of `setup`'s model; returns (Y (members, n_states, n_times), status).

    `param_matrix` is (members, n_params) in `setup.flat.params` order (start from `setup.p`).
    `dose_scale` multiplies dose amounts: a number, one per member, or (members, n_events).
    `dose_times` (members, n_events) moves events per member (default: the regimen's times).
    Rows of failed members are NaN; their status says why ("failed: <reason>"), the others "ok".
    The result unpacks as (Y, status); `.params` holds the prepared parameters (cut edges, clamp levels).
    The first output time should be at or before the first event (as in `simulate`).
    """
    comp, flat = setup.compiled, setup.flat
    P = np.asarray(param_matrix, dtype=float)
    if P.ndim != 2 or P.shape[1] != len(flat.params):
        raise PlasticityError(f"param_matrix: expected shape (members, {len(flat.params)}) in setup.flat.params order, got {P.shape}")
    times = check_times(times)
    members = P.shape[0]
    P = P.T.copy()  # (n_params, members)
    ev_list = list(flat.events)
    n_ev = len(ev_list)
    scale = _as_member_matrix(dose_scale, members, n_ev, "dose_scale", 1.0)
    ev_times = _as_member_matrix(dose_times, members, n_ev, "dose_times", math.nan)
    base_times = np.array([e.time_h for e in ev_list], dtype=float)
    ev_times = np.where(np.isnan(ev_times), base_times[None, :], ev_times)
    dose = _dose_mask(ev_list)
    status = _check_params(setup, P)
    for k in range(members):
        if status[k] == OK and not (np.all(np.isfinite(scale[k])) and np.all(scale[k] >= 0)):
            status[k] = f"failed: dose_scale {scale[k].tolist()} (expected finite values >= 0)"
    P, Y0 = _prepare_members(setup, P, status)
    pidx = {n: i for i, n in enumerate(flat.params)}
    amounts = np.empty((members, n_ev))
    for e, ev in enumerate(ev_list):
        a = np.full(members, ev.amount)
        for s in ev.scale:
            a = a * P[pidx[s]]
        for d in ev.divide:
            a = a / P[pidx[d]]
        amounts[:, e] = a * (scale[:, e] if dose[e] else 1.0)
    Y = np.full((members, comp.n_states, len(times)), np.nan)
    live = np.array([k for k, s in enumerate(status) if s == OK], dtype=int)
    prefer_own_kernel(setup, len(live), tol)
    if len(live) and engine(tol) == "native":
        retry = _solve_native(comp, P, Y0, times, ev_list, amounts, ev_times, tol, live, Y, status)
        if len(retry):  # the compiled BDF gave up on these: the SciPy path (simulate's own solver) tries them
            _solve_split(comp, P, Y0, times, ev_list, amounts, ev_times, tol, retry, Y, status)
    elif len(live):
        _solve_split(comp, P, Y0, times, ev_list, amounts, ev_times, tol, live, Y, status)
    return BatchOutput(Y, status, P.T.copy(), input_tracks(flat, P, ev_list, amounts, ev_times, times))


def engine(tol: Tolerances = Tolerances()) -> str:
    """'native' (numba, each member on its own, the `fast` extra) or 'scipy' (members stacked into one solve_ivp).

    The native kernel is a BDF method; a sweep asking for another SciPy method (tol.method 'Radau',
    say) keeps the SciPy path so it gets the method it asked for. PLASTICITY_ENGINE=scipy forces SciPy."""
    return "native" if tol.method in ("LSODA", "BDF") and _native.available() else "scipy"


def prefer_own_kernel(setup, members: int, tol: Tolerances = Tolerances()) -> None:
    """A batch or sweep of `members` members on the compiled engine: large ones move to the model's own kernel once a
    background compile has made it (`native.prefer_specialised`); the numbers are the same on either kernel."""
    if engine(tol) == "native":
        _native.prefer_specialised(setup.compiled, members)


def _solve_native(comp, P, Y0, times, ev_list, amounts, ev_times, tol, idx: np.ndarray, Y: np.ndarray, status: list[str]) -> np.ndarray:
    """Integrate members `idx` one by one in the compiled kernel; a failure is that member's status alone.

    Returns the members whose step control failed (codes 1-3), for a second try on the SciPy path;
    a non-finite state (code 4) is final; a state below the floor (code 5) is integrated again at
    rtol 100 times tighter, and fails the member if it is still there."""
    flat = comp.flat
    sidx = {s: i for i, s in enumerate(flat.states)}
    pidx = {s: i for i, s in enumerate(flat.params)}
    kind = np.array([0 if ev.kind == "state" else 1 for ev in ev_list], dtype=np.int64)
    target = np.array([sidx[ev.target] if ev.kind == "state" else pidx[ev.target] for ev in ev_list], dtype=np.int64)
    own = not getattr(flat, "from_initial", False)  # an imported model's states may be negative: no floor
    whole = len(idx) == Y.shape[0]  # every member live (idx is sorted): the kernel writes into Y itself, no second copy
    out, codes = _native.integrate(comp, P[:, idx].T, Y0[:, idx].T, times, kind, target, amounts[idx], ev_times[idx], tol, check=own,
                                   out=Y if whole else None)
    if not whole:
        Y[idx] = out
    pos = np.flatnonzero(codes == _native.BELOW_FLOOR)
    if len(pos):  # a state under the floor is a wrong answer: refine once (rtol 100 x tighter), then report it
        below, fine = idx[pos], refined(tol)
        out2, codes2 = _native.integrate(comp, P[:, below].T, Y0[:, below].T, times, kind, target, amounts[below], ev_times[below], fine,
                                       check=own)
        Y[below] = out2
        codes = codes.copy()
        codes[pos] = codes2
        for k, code in zip(below, codes2):
            if code == _native.BELOW_FLOOR:
                try:
                    check_answer(flat.states, Y[k], times, fine)
                    status[k] = f"failed: {_native.REASONS[_native.BELOW_FLOOR]}"
                except AnswerCheckError as exc:
                    status[k] = f"failed: {exc}, at rtol {tol.rtol:g} and again at rtol {fine.rtol:g}"
                Y[k] = np.nan
    retry = []
    for k, code in zip(idx, codes):
        if code == _native.BELOW_FLOOR:
            continue
        if code in (1, 2, 3):
            Y[k] = np.nan
            retry.append(k)
        elif code != 0:
            status[k] = f"failed: {_native.REASONS.get(int(code), f'solver status {int(code)}')}"
    return np.array(retry, dtype=int)


def observe_batch(setup, Y: np.ndarray, param_matrix: np.ndarray, inputs: dict[int, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Readouts of a batch: {column: (members, n_times)} from states Y (members, n_states, n_times).

    Pass `inputs=out.inputs` from `run_batch`, so readouts of a clamped node (or anything reading an
    infusion or bath input) see each input as it was at each time rather than its value at the start."""
    comp = setup.compiled
    P = np.asarray(param_matrix, dtype=float).T
    # a parameter every member shares is a number, as in a single run: numpy's power then takes its whole-exponent
    # paths (Hill coefficients), where a column of exponents made every power a pow call per element
    same = np.all(P == P[:, :1], axis=1) & (P.shape[1] > 0)
    p: list = [float(P[j, 0]) if same[j] else P[j][:, None] for j in range(P.shape[0])]  # (members, 1): broadcasts over time
    for j, track in (inputs or {}).items():
        p[j] = track  # (members, n_times)
    # (n_states, members, n_times), a view whose last axis runs along memory: each readout is computed over
    # contiguous rows and written straight into its own (members, n_times) block of one array, with no transposed copy
    y = np.swapaxes(Y, 0, 1)
    obs = comp.observe(y, p)
    return {name: obs[i] for i, (name, _, _) in enumerate(setup.flat.readouts)}


def check_readouts(obs: dict[str, np.ndarray], times: np.ndarray, status: list[str], tol: Tolerances = Tolerances(), *,
                   signed: bool = False) -> None:
    """The batch's own check of its readouts: a member with a readout below the floor (-1000 x atol) or not
    finite gets a "failed: ..." status naming it, and NaN readouts; every readout is non-negative by construction.
    With `signed` (an imported model, whose every id is a column: assignment rules may be negative) only finiteness is checked.

    Two reductions per readout over (members, times), cheap beside the integration."""
    least = -np.inf if signed else -floor(tol)
    bad_members: set[int] = set()
    for name, v in obs.items():
        with np.errstate(invalid="ignore"):
            wrong = ~((v.min(axis=1) >= least) & np.isfinite(v.max(axis=1)))
        for k in np.flatnonzero(wrong):
            bad_members.add(int(k))
            if status[k] == OK:
                row = v[k]
                r = int(np.flatnonzero(~(np.isfinite(row) & (row >= least)))[0])
                how = "is not finite" if not np.isfinite(row[r]) else f"is below the floor of {least:g} (1000 x atol)"
                status[k] = f"failed: readout '{name}' = {row[r]:.3g} at t = {times[r]:g} h {how}; it is non-negative by construction"
    if bad_members:
        rows = sorted(bad_members)
        for v in obs.values():
            v[rows] = np.nan
