"""The estimation core shared by `fit` (experiments) and PEtab problems: weighted least squares in
log-parameters, multi-start from a Latin hypercube, Fisher and profile-likelihood intervals.

A `Problem` knows only how to predict its observations for a batch of log-parameter vectors, so the
same optimiser, profiles and starts serve the loop's experiments and any imported SBML model.
Residuals are (prediction - value) / sigma. Without errors in the data, sigma is the residual scale
estimated at the optimum (then chi-square differences use that estimate).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import chi2, qmc
from scipy.stats import t as student_t

FAILED_RESIDUAL = 1e3  # residual of an observation whose run failed: large, finite, so the optimiser steps back
FD_STEP = 1e-5  # forward-difference step in log-parameters (the engine's rtol is 1e-7)
PROFILE_MAX_STEPS = 40  # points per side of a profile before it gives up (then the side is open)


@dataclass
class Problem:
    """What an estimator needs: names, log-bounds, a start, the data and a batched predictor."""

    names: list[str]
    lo: np.ndarray  # log of each lower bound
    hi: np.ndarray  # log of each upper bound
    x0: np.ndarray  # log start
    y: np.ndarray  # observations
    sigma: np.ndarray  # their errors (ones when unknown)
    sigma_known: bool
    predict: Callable[[np.ndarray], np.ndarray]  # (members, k) log-parameters -> (members, n); NaN where a run failed

    def residuals(self, X: np.ndarray) -> np.ndarray:
        """(members, n) weighted residuals; a failed run counts FAILED_RESIDUAL per observation."""
        R = (self.predict(np.atleast_2d(X)) - self.y) / self.sigma
        return np.where(np.isfinite(R), R, FAILED_RESIDUAL)

    def jacobian(self, x: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
        """Forward differences of the residuals in the `free` coordinates (all by default), one batch."""
        free = np.arange(len(x)) if free is None else free
        X = np.vstack([x] + [x + FD_STEP * np.eye(len(x))[i] for i in free])
        R = self.residuals(X)
        return ((R[1:] - R[0]) / FD_STEP).T


@dataclass
class Optimum:
    """One local optimisation: where it ended and how well."""

    x: np.ndarray
    cost: float  # half the sum of squared weighted residuals
    success: bool
    message: str
    start: np.ndarray


def optimise(problem: Problem, x0: np.ndarray, fixed: dict[int, float] | None = None) -> Optimum:
    """Trust-region least squares from `x0`, with the coordinates in `fixed` held at their values."""
    fixed = fixed or {}
    free = np.array([i for i in range(len(x0)) if i not in fixed], dtype=int)
    full = np.array(x0, float)
    for i, v in fixed.items():
        full[i] = v

    def embed(z: np.ndarray) -> np.ndarray:
        x = full.copy()
        x[free] = z
        return x

    if len(free) == 0:
        r = problem.residuals(full)[0]
        return Optimum(full, 0.5 * float(r @ r), True, "nothing free", np.array(x0, float))
    z0 = np.clip(full[free], problem.lo[free] + 1e-9, problem.hi[free] - 1e-9)
    sol = least_squares(lambda z: problem.residuals(embed(z))[0], z0, jac=lambda z: problem.jacobian(embed(z), free),
                        bounds=(problem.lo[free], problem.hi[free]), xtol=1e-10, ftol=1e-10, gtol=1e-10)
    return Optimum(embed(sol.x), float(sol.cost), bool(sol.success), str(sol.message), np.array(x0, float))


def latin_starts(problem: Problem, n: int, seed: int | None) -> np.ndarray:
    """`n` starts in log space: the problem's own start, then a Latin hypercube over the log-bounds."""
    if n <= 1:
        return problem.x0[None, :]
    lhs = qmc.LatinHypercube(d=len(problem.names), seed=seed).random(n - 1)
    return np.vstack([problem.x0, problem.lo + lhs * (problem.hi - problem.lo)])


def multistart(problem: Problem, n: int, seed: int | None) -> tuple[Optimum, list[Optimum]]:
    """The best of `n` local optimisations (see `latin_starts`), and all of them."""
    runs = [optimise(problem, x0) for x0 in latin_starts(problem, n, seed)]
    return min(runs, key=lambda o: o.cost), runs


def residual_scale(problem: Problem, best: Optimum) -> float:
    """Variance factor of the residuals: 1 with known errors, else RSS / degrees of freedom."""
    if problem.sigma_known:
        return 1.0
    return max(2.0 * best.cost / max(len(problem.y) - len(problem.names), 1), 1e-300)


def fisher_intervals(problem: Problem, best: Optimum, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(covariance of log-parameters, (k, 2) interval ends in the parameters) from (J^T J)^-1."""
    J = problem.jacobian(best.x)
    dof = max(len(problem.y) - len(problem.names), 1)
    try:
        cov = np.linalg.inv(J.T @ J) * residual_scale(problem, best)
    except np.linalg.LinAlgError:
        cov = np.full((len(best.x), len(best.x)), np.inf)
    q = float(student_t.ppf(0.5 + level / 2, 1e9 if problem.sigma_known else dof))
    half = q * np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(over="ignore"):
        return cov, np.exp(np.column_stack([best.x - half, best.x + half]))


@dataclass
class Profile:
    """The profile likelihood of one parameter: chi-square over the optimum as the parameter is held
    at each value and the others re-fitted. `ci` ends where it crosses `threshold`; a side that reaches
    its bound first is open (its end is the bound) and the parameter is not identifiable."""

    name: str
    values: np.ndarray  # parameter values (not logs), ascending
    delta_chi2: np.ndarray  # chi-square above the optimum at each
    threshold: float  # chi2(level, 1 dof)
    ci: tuple[float, float]
    closed: tuple[bool, bool]  # whether each side crossed the threshold inside the bounds
    level: float
    others: np.ndarray = field(repr=False)  # (points, k) the re-fitted parameters (not logs)

    @property
    def identifiable(self) -> bool:
        """Both ends crossed the threshold inside the bounds."""
        return all(self.closed)

    @property
    def status(self) -> str:
        """'identifiable', 'open below', 'open above' or 'flat' (neither side reached the threshold)."""
        if self.identifiable:
            return "identifiable"
        if not any(self.closed):
            return "flat"
        return "open below" if not self.closed[0] else "open above"

    def plot(self, ax=None):
        """Delta chi-square against the parameter (log axis), with the threshold and the interval."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 3))
        ax.plot(self.values, self.delta_chi2, "o-", ms=3)
        ax.axhline(self.threshold, color="0.4", ls="--", lw=0.8, label=f"{self.level:.0%} threshold")
        for end in self.ci:
            ax.axvline(end, color="C3", lw=0.8)
        ax.set(xscale="log", xlabel=self.name, ylabel="Δχ²", title=f"{self.name}: {self.status}")
        ax.legend(fontsize=7)
        return ax


def profile(problem: Problem, best: Optimum, i: int, level: float, first_step: float = 0.05) -> Profile:
    """Profile of parameter `i` around `best`, walked outward on each side with adaptive steps (the first
    `first_step` in log units, e.g. half the Fisher interval). A step that overshoots the threshold by more
    than half is retried shorter; the crossing is interpolated in sqrt(delta chi-square), exact for a
    quadratic profile."""
    s2 = residual_scale(problem, best)
    base = 2.0 * best.cost / s2
    thr = float(chi2.ppf(level, 1))
    points = {best.x[i]: (0.0, best.x)}
    ends, closed = [], []
    for direction in (-1.0, 1.0):
        bound = problem.lo[i] if direction < 0 else problem.hi[i]
        x, last_v, last_d, step = best.x, best.x[i], 0.0, float(np.clip(first_step, 1e-3, 0.5))
        end, crossed = bound, False
        for _ in range(PROFILE_MAX_STEPS):
            v = last_v + direction * step
            at_bound = (v <= bound) if direction < 0 else (v >= bound)
            v = bound if at_bound else v
            o = optimise(problem, x, {i: v})
            d = max(2.0 * o.cost / s2 - base, 0.0)
            points[v] = (d, o.x)
            if d >= thr and d > 1.5 * thr and step > 1e-3:  # overshot: a shorter step gives a better crossing
                step *= 0.3
                continue
            if d >= thr:  # crossed: interpolate the crossing in sqrt(delta chi-square)
                a, b, c = math.sqrt(last_d), math.sqrt(d), math.sqrt(thr)
                end = last_v + (v - last_v) * (c - a) / (b - a) if b > a else v
                crossed = True
                break
            if at_bound:
                break
            rise = d - last_d
            step = step * 2.0 if rise < 0.1 * thr else step * 0.5 if rise > 0.5 * thr else step
            step = min(step, 1.0)
            x, last_v, last_d = o.x, v, d
        ends.append(end)
        closed.append(crossed)
    keys = sorted(points)
    return Profile(problem.names[i], np.exp(keys), np.array([points[k][0] for k in keys]), thr,
                   (float(math.exp(ends[0])), float(math.exp(ends[1]))), (closed[0], closed[1]), level,
                   np.exp(np.array([points[k][1] for k in keys])))
