"""A stiff integrator for one member at a time: variable-order BDF (NDF), compiled by numba.

This file is not imported as a module: `native` appends its text (from the marker line on) to the
model functions (the tape interpreter, or a model's own generated code) and writes them into one
module file in the user cache, so numba caches the machine code on disk.
The code above the marker only makes this file readable and lintable on its own.

The method is the numerical differentiation formulas of Shampine & Reichelt (1997, the MATLAB
ode15s / SciPy BDF family): orders 1-5 in backward-difference form, a simplified Newton iteration
that reuses the Jacobian until it stops converging, and LU factors reused until the step size or
order changes. Steps are cheap (about two right-hand sides and two triangular solves), which is
what a 72 h run of a stiff model with fast PK and slow plasticity needs. The iteration matrix is
factored without pivoting over the fill pattern computed once from the Jacobian's structure; a
pivot that is too small falls back to a dense LU with partial pivoting for that factorization.
Each member has its own steps and order; dose and clamp events end a segment and restart at order 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Defined in the compiled module by the model functions: the tape interpreter (`interpreter.py`), or a model's
# generated right-hand side, Jacobian and unrolled sparse LU (`native.lu_source`). `md` is the model argument
# they take (the tape's arrays), `reg` the member's scratch registers from `scratch(md)`.
scratch = rhs_into = jac_into = factor_sparse = solve_sparse = None

# ---- kernel (everything below this line is compiled together with the model) ----
OK = 0
TOO_MANY_STEPS = 1
STEP_TOO_SMALL = 2
SINGULAR = 3
NOT_FINITE = 4
BELOW_FLOOR = 5  # an output below `floor` (-1000 x atol): a wrong number, kept in `out` for the caller to name

MAX_ORDER = 5
NEWTON_MAXITER = 4
MAX_ERR_FAILS = 3  # error-test failures in one step before the order drops to 1
KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
GAMMA = np.array([0.0, 1.0, 1.5, 11.0 / 6.0, 25.0 / 12.0, 137.0 / 60.0])
ALPHA = (1.0 - KAPPA) * GAMMA
ERROR_CONST = KAPPA * GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2)


def _r_matrix(factor: float) -> np.ndarray:
    """R[i, j] = prod_{l=1..i} (l - 1 - factor j) / l: maps differences to a step size scaled by `factor`."""
    r = np.zeros((MAX_ORDER + 1, MAX_ORDER + 1))
    r[0] = 1.0
    for i in range(1, MAX_ORDER + 1):
        for j in range(1, MAX_ORDER + 1):
            r[i, j] = r[i - 1, j] * (i - 1 - factor * j) / i
    return r


U_FULL = _r_matrix(1.0)  # the factor-1 matrix of every order is the top-left corner of this one


@njit(cache=True)
def rms(x, wt):
    """Root-mean-square of x weighted by wt = 1 / (atol + rtol |y|)."""
    s = 0.0
    for i in range(x.size):
        s += (x[i] * wt[i]) ** 2
    return np.sqrt(s / x.size)


@njit(cache=True)
def change_d(D, order, factor, work):
    """Re-express the backward differences D[:order+1] for a step size scaled by `factor`.

    work: scratch of shape (3 * (MAX_ORDER + 1) + MAX_ORDER + 1, n) - no allocation per call."""
    m = MAX_ORDER + 1
    R = work[:m, :m]
    RU = work[2 * m : 3 * m, :m]
    new = work[3 * m : 3 * m + order + 1]
    for j in range(order + 1):
        R[0, j] = 1.0
    for i in range(1, order + 1):
        R[i, 0] = 0.0
        for j in range(1, order + 1):
            R[i, j] = R[i - 1, j] * (i - 1 - factor * j) / i
    for i in range(order + 1):
        for j in range(order + 1):
            s = 0.0
            for k in range(order + 1):
                s += R[i, k] * U_FULL[k, j]
            RU[i, j] = s
    n = D.shape[1]
    # row 0 is unchanged (RU[k, 0] is 1 for k = 0, else 0); the inner loops run along rows of D
    for i in range(1, order + 1):
        for q in range(n):
            new[i, q] = 0.0
        for k in range(order + 1):
            r = RU[k, i]
            for q in range(n):
                new[i, q] += r * D[k, q]
    for i in range(1, order + 1):
        for q in range(n):
            D[i, q] = new[i, q]


@njit(cache=True)
def factor_dense(a, jac, c, piv):
    """a = I - c J, LU with partial pivoting in place; False if singular."""
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            a[i, j] = (1.0 if i == j else 0.0) - c * jac[i, j]
    return lu_dense(a, piv)


@njit(cache=True)
def lu_dense(a, piv):
    """LU with partial pivoting in place; False if singular."""
    n = a.shape[0]
    for k in range(n):
        m = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            if abs(a[i, k]) > big:
                big = abs(a[i, k])
                m = i
        if big == 0.0 or not np.isfinite(big):
            return False
        piv[k] = m
        if m != k:
            for j in range(n):
                a[k, j], a[m, j] = a[m, j], a[k, j]
        inv = 1.0 / a[k, k]
        for i in range(k + 1, n):
            f = a[i, k] * inv
            a[i, k] = f
            if f != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= f * a[k, j]
    return True


@njit(cache=True)
def solve_dense(a, piv, b):
    n = a.shape[0]
    for k in range(n):
        m = piv[k]
        if m != k:
            b[k], b[m] = b[m], b[k]
    for i in range(1, n):
        s = b[i]
        for j in range(i):
            s -= a[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= a[i, j] * b[j]
        b[i] = s / a[i, i]


@njit(cache=True)
def apply_event(y, p, kind, target, amount):
    """A dose adds to a state; an input switch adds to a parameter, snapped to exactly 0 when switched off."""
    if kind == 0:
        y[target] += amount
    else:
        v = p[target] + amount
        if abs(v) < 1e-12 * max(abs(amount), 1.0):
            v = 0.0
        p[target] = v


@njit(cache=True)
def first_step(y, f, span, rtol, atol):
    """A first step from the sizes of y and y' (Hairer's heuristic without the second derivative)."""
    n = y.size
    d0 = 0.0
    d1 = 0.0
    for i in range(n):
        sc = atol + rtol * abs(y[i])
        d0 += (y[i] / sc) ** 2
        d1 += (f[i] / sc) ** 2
    d0 = np.sqrt(d0 / n)
    d1 = np.sqrt(d1 / n)
    h = 0.01 * d0 / d1 if (d0 > 1e-5 and d1 > 1e-5) else 1e-6
    if not np.isfinite(h) or h <= 0.0:
        h = 1e-6
    return min(h, span)


@njit(cache=True)
def member(md, y, p, times, evt, eva, ev_kind, ev_target, rtol, atol, floor, max_steps, out):
    """Integrate one member over `times` applying its events; fills out (n, len(times)); returns a status code.

    `floor`: the least value a state may show (-1000 x atol; -inf for a model whose states may be negative).

    A row at an event time shows the state after the events at that time (as `simulate` does)."""
    n = y.size
    nt = times.size
    ne = evt.size
    order_ev = np.argsort(evt, kind="mergesort")
    t = times[0]
    t_end = times[nt - 1]
    e = 0
    while e < ne and evt[order_ev[e]] <= t:
        apply_event(y, p, ev_kind[order_ev[e]], ev_target[order_ev[e]], eva[order_ev[e]])
        e += 1
    row = 0
    while row < nt and times[row] <= t:
        out[:, row] = y
        row += 1

    # Newton stops when the remaining correction is below 3% of the error weights: SciPy's BDF value for rtol
    # >= 1e-3 (CVODE's test is looser still). Shrinking it with sqrt(rtol) as SciPy does below that only added
    # iterations: against an rtol 1e-11 reference, 72 h ketamine members were as accurate and 16% faster.
    newton_tol = 0.03
    reg = scratch(md)
    jac = np.zeros((n, n))
    a = np.zeros((n, n))
    piv = np.zeros(n, dtype=np.int64)
    D = np.zeros((MAX_ORDER + 3, n))
    work = np.zeros((4 * (MAX_ORDER + 1), max(n, MAX_ORDER + 1)))
    f = np.empty(n)
    y_pred = np.empty(n)
    y_new = np.empty(n)
    d = np.empty(n)
    dy = np.empty(n)
    psi = np.empty(n)
    wt = np.empty(n)
    steps = 0
    status = OK
    while t < t_end and status == OK:
        stop = t_end
        if e < ne and evt[order_ev[e]] < t_end:
            stop = evt[order_ev[e]]
        rhs_into(md, reg, t, y, p, f)
        h = first_step(y, f, stop - t, rtol, atol)
        D[:, :] = 0.0
        D[0] = y
        D[1] = f * h
        order = 1
        n_equal = 0
        jac_into(md, reg, t, y, p, jac)
        fresh_jac = True
        crate = 1.0
        lu_ok = False
        dense = False
        while t < stop:
            if steps >= max_steps:
                status = TOO_MANY_STEPS
                break
            current_jac = fresh_jac
            fresh_jac = False
            accepted = False
            n_iter = 0
            n_err = 0
            err_norm = 0.0
            safety = 0.9
            t_new = t
            while not accepted:
                if h < 1e-14 * max(abs(t), 1.0):
                    status = STEP_TOO_SMALL
                    break
                t_new = t + h
                if t_new >= stop - 1e-12 * max(abs(stop), 1.0):
                    t_new = stop
                    change_d(D, order, (stop - t) / h, work)
                    n_equal = 0
                    lu_ok = False
                    h = stop - t
                # loops run along rows of D (contiguous), so they vectorise over the states
                y_pred[:] = D[0]
                psi[:] = 0.0
                for j in range(1, order + 1):
                    g = GAMMA[j] / ALPHA[order]
                    for i in range(n):
                        y_pred[i] += D[j, i]
                        psi[i] += g * D[j, i]
                for i in range(n):
                    wt[i] = 1.0 / (atol + rtol * abs(y_pred[i]))
                c = h / ALPHA[order]
                converged = False
                while True:
                    if not lu_ok:
                        dense = not factor_sparse(md, a, jac, c)
                        if dense and not factor_dense(a, jac, c, piv):
                            break
                        lu_ok = True
                    # simplified Newton iteration for y_new = y_pred + d
                    dy_norm_old = -1.0
                    for i in range(n):
                        y_new[i] = y_pred[i]
                        d[i] = 0.0
                    for k in range(NEWTON_MAXITER):
                        n_iter = k + 1
                        rhs_into(md, reg, t_new, y_new, p, f)
                        finite = True
                        for i in range(n):
                            if not np.isfinite(f[i]):
                                finite = False
                            dy[i] = c * f[i] - psi[i] - d[i]
                        if not finite:
                            break
                        if dense:
                            solve_dense(a, piv, dy)
                        else:
                            solve_sparse(md, a, dy)
                        dy_norm = rms(dy, wt)
                        rate = dy_norm / dy_norm_old if dy_norm_old > 0.0 else -1.0
                        if rate >= 0.0 and (rate >= 1.0 or rate ** (NEWTON_MAXITER - k) / (1.0 - rate) * dy_norm > newton_tol):
                            break
                        for i in range(n):
                            y_new[i] += dy[i]
                            d[i] += dy[i]
                        if rate >= 0.0:
                            crate = max(0.3 * crate, rate)
                        # converged: the remaining correction, at the contraction rate seen so far, is below
                        # the Newton tolerance (on the first iteration the rate from earlier steps, as CVODE does)
                        if (
                            dy_norm == 0.0
                            or dy_norm * min(1.0, crate) < newton_tol
                            or (rate >= 0.0 and rate / (1.0 - rate) * dy_norm < newton_tol)
                        ):
                            converged = True
                            break
                        dy_norm_old = dy_norm
                    if converged or current_jac:
                        break
                    jac_into(md, reg, t_new, y_pred, p, jac)
                    current_jac = True
                    crate = 1.0
                    lu_ok = False
                if not converged:
                    h *= 0.5
                    change_d(D, order, 0.5, work)
                    n_equal = 0
                    lu_ok = False
                    continue
                safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
                # the error test weighs by the predicted state, as the Newton test did (CVODE weighs both by the
                # last accepted state); recomputing the weights from y_new cost 21 divisions a step for nothing
                err_norm = ERROR_CONST[order] * rms(d, wt)
                if err_norm > 1.0:
                    fac = max(0.2, safety * err_norm ** (-1.0 / (order + 1)))
                    h *= fac
                    n_equal = 0
                    n_err += 1
                    if n_err >= MAX_ERR_FAILS and order > 1:
                        # the differences carry a kink of the right-hand side (a threshold switching on or off),
                        # so a smaller step cannot pass the test at this order: restart at order 1 from y, as
                        # CVODE does after repeated error-test failures
                        rhs_into(md, reg, t, y, p, f)
                        D[:, :] = 0.0
                        D[0] = y
                        D[1] = f * h
                        order = 1
                        lu_ok = False
                    else:
                        change_d(D, order, fac, work)
                else:
                    accepted = True
            if status != OK:
                break
            steps += 1
            n_equal += 1
            t = t_new
            for i in range(n):
                y[i] = y_new[i]
                D[order + 2, i] = d[i] - D[order + 1, i]
                D[order + 1, i] = d[i]
            for j in range(order, -1, -1):
                for i in range(n):
                    D[j, i] += D[j + 1, i]
            # rows inside (t_old, t]: the interpolating polynomial through the last order + 1 points
            while row < nt and times[row] < stop and times[row] <= t:
                for i in range(n):
                    out[i, row] = D[0, i]
                x_prod = 1.0
                for j in range(order):
                    x_prod *= (times[row] - (t - h * j)) / (h * (j + 1))
                    for i in range(n):
                        out[i, row] += D[j + 1, i] * x_prod
                row += 1
            if n_equal < order + 1:
                continue
            err_m = np.inf
            err_p = np.inf
            if order > 1:
                err_m = 0.0
                for i in range(n):
                    err_m += (ERROR_CONST[order - 1] * D[order, i] * wt[i]) ** 2
                err_m = np.sqrt(err_m / n)
            if order < MAX_ORDER:
                err_p = 0.0
                for i in range(n):
                    err_p += (ERROR_CONST[order + 1] * D[order + 2, i] * wt[i]) ** 2
                err_p = np.sqrt(err_p / n)
            f_m = err_m ** (-1.0 / order) if err_m > 0.0 else np.inf
            f_0 = err_norm ** (-1.0 / (order + 1)) if err_norm > 0.0 else np.inf
            f_p = err_p ** (-1.0 / (order + 2)) if err_p > 0.0 else np.inf
            best = f_m
            change = -1
            if f_0 > best:
                best = f_0
                change = 0
            if f_p > best:
                best = f_p
                change = 1
            order += change
            fac = min(10.0, safety * best)
            h *= fac
            change_d(D, order, fac, work)
            n_equal = 0
            lu_ok = False
        if status != OK:
            break
        while e < ne and evt[order_ev[e]] <= stop:
            apply_event(y, p, ev_kind[order_ev[e]], ev_target[order_ev[e]], eva[order_ev[e]])
            e += 1
        while row < nt and times[row] <= stop:
            out[:, row] = y
            row += 1
    if status == OK:
        for i in range(n):
            if not np.isfinite(y[i]):
                status = NOT_FINITE
    if status == OK:  # the answer checked, not assumed: no state below the floor at any output time
        for r in range(nt):
            for i in range(n):
                if not out[i, r] >= floor:
                    status = BELOW_FLOOR
        if status == BELOW_FLOOR:
            return status
    if status != OK:
        out[:, :] = np.nan
    return status


@njit(cache=True)
def steady(md, y, p, iters):
    """Newton for the drug-free steady state from y (in place); True if it settled (finite, >= 0, small residual)."""
    n = y.size
    reg = scratch(md)
    jac = np.zeros((n, n))
    a = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    f = np.empty(n)
    for _ in range(iters):
        rhs_into(md, reg, 0.0, y, p, f)
        jac_into(md, reg, 0.0, y, p, jac)
        for i in range(n):
            for j in range(n):
                a[i, j] = -jac[i, j]
        if not lu_dense(a, piv):
            return False
        solve_dense(a, piv, f)
        small = True
        for i in range(n):
            y[i] += f[i]
            if not abs(f[i]) < 1e-13 * max(abs(y[i]), 1e-6):
                small = False
        if small:
            break
    rhs_into(md, reg, 0.0, y, p, f)
    for i in range(n):
        if not (np.isfinite(y[i]) and abs(f[i]) < 1e-8 * max(abs(y[i]), 1e-6) and y[i] >= -1e-12):
            return False
        if abs(y[i]) < 1e-300:
            y[i] = 0.0
    return True


@njit(cache=True, nogil=True)
def steady_all(md, Y, P, iters, OK_):
    """Drug-free steady states of all members (rows of Y, in place)."""
    for m in range(Y.shape[0]):
        OK_[m] = steady(md, Y[m], P[m], iters)


@njit(cache=True, nogil=True)
def run_serial(md, Y0, P, times, EVT, EVA, ev_kind, ev_target, rtol, atol, floor, max_steps, OUT, STATUS):
    """All members in order; releases the GIL, so threads can run slices of members side by side."""
    for m in range(Y0.shape[0]):
        STATUS[m] = member(md, Y0[m].copy(), P[m].copy(), times, EVT[m], EVA[m], ev_kind, ev_target, rtol, atol, floor, max_steps, OUT[m])
