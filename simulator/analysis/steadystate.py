"""Drug-free steady states, their stability, and natural-parameter continuation (bistability).

All steady states of a parameter set come from multi-start Newton (scipy `root`, analytic
Jacobian) from log-spread starting points, deduplicated; stability from the Jacobian's
eigenvalues. Continuation follows each branch along a parameter with the previous solution as
the guess, forwards and backwards (a fold shows up as a jump between the two sweeps), plus a
few fresh starts at every value; a value where Newton fails is reported, not fatal.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import root

from .._errors import PlasticityError, UnknownNameError
from .._simulate import Setup, setup
from .evaluate import check_params


@dataclass(frozen=True)
class SteadyState:
    """One steady state: states by name, max real part of the Jacobian's eigenvalues, stability."""

    y: np.ndarray
    states: tuple[str, ...]
    max_real_eig: float

    @property
    def stable(self) -> bool:
        """True when every eigenvalue of the Jacobian has a negative real part."""
        return self.max_real_eig < 0

    def __getitem__(self, name: str) -> float:
        return float(self.y[self.states.index(name)])


def _solve(s: Setup, p: np.ndarray, guess: np.ndarray, tol: float = 1e-9) -> np.ndarray | None:
    comp = s.compiled
    try:
        with np.errstate(all="ignore"):
            sol = root(lambda x: comp.rhs(0.0, x, p), guess, jac=lambda x: comp.jac(0.0, x, p), method="hybr", options={"xtol": 1e-12})
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None
    x = sol.x
    if not np.all(np.isfinite(x)) or np.any(x < -1e-9):
        return None
    res = np.max(np.abs(comp.rhs(0.0, x, p)) / np.maximum(np.abs(x), 1e-6))
    return x if res < tol else None


def _classify(s: Setup, p: np.ndarray, y: np.ndarray) -> SteadyState:
    eig = np.linalg.eigvals(s.compiled.jac(0.0, y, p))
    return SteadyState(y, tuple(s.flat.states), float(np.max(eig.real)))


def _dedupe(found: list[np.ndarray], rtol: float = 1e-5) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for y in found:
        if not any(np.all(np.abs(y - z) <= rtol * np.maximum(np.abs(z), 1e-6) + 1e-9) for z in out):
            out.append(y)
    return out


def _starts(s: Setup, n: int, spread: float, rng: np.random.Generator) -> list[np.ndarray]:
    base = np.maximum(np.abs(s.y0), 1e-3)
    return [s.y0.copy()] + [base * 10 ** rng.uniform(-spread, spread, len(base)) for _ in range(n - 1)]


def _vehicle(species: str, params: Mapping[str, float] | None, genotype: str, condition: str = "none") -> Setup:
    return setup([], species=species, params=params, genotype=genotype, condition=condition)


def steady_states(
    *, species: str = "mouse", params: Mapping[str, float] | None = None, genotype: str = "wild_type",
    starts: int = 40, spread: float = 1.5, seed: int = 0, condition: str = "none",
) -> list[SteadyState]:
    """All drug-free steady states found from `starts` Newton starts (the baseline and states
    spread log-uniformly over +-`spread` decades), each with its stability; stable ones first."""
    s = _vehicle(species, params, genotype, condition)
    rng = np.random.default_rng(seed)
    found = [y for y in (_solve(s, s.p, g) for g in _starts(s, starts, spread, rng)) if y is not None]
    out = [_classify(s, s.p, y) for y in _dedupe(found)]
    return sorted(out, key=lambda ss: (not ss.stable, ss.max_real_eig))


@dataclass
class Continuation:
    """Steady states along a parameter. `table`: value, branch (forward | backward | start),
    stable, max_real_eig, then the states; `failed`: (value, branch, reason) rows."""

    param: str
    table: pd.DataFrame
    failed: list[tuple[float, str, str]]

    @property
    def bistable(self) -> bool:
        """True if some scanned value has two or more distinct stable steady states."""
        return bool(self.bistable_values)

    @property
    def bistable_values(self) -> list[float]:
        """Parameter values at which two or more stable steady states were found."""
        out = []
        for v, df in self.table[self.table["stable"]].groupby("value"):
            states = [c for c in df.columns if c not in ("value", "branch", "stable", "max_real_eig")]
            if len(_dedupe([row for row in df[states].to_numpy()], rtol=1e-4)) > 1:
                out.append(float(v))
        return out

    @property
    def stability_changes(self) -> list[float]:
        """Values (midpoints) where the forward branch changes stability."""
        df = self.table[self.table["branch"] == "forward"].sort_values("value")
        v, st = df["value"].to_numpy(), df["stable"].to_numpy()
        return [float(0.5 * (v[i] + v[i + 1])) for i in range(len(v) - 1) if st[i] != st[i + 1]]

    def summary(self) -> str:
        """One sentence: whether the followed range is bistable, and where the branch changes stability."""
        change = "".join(f"; the followed branch changes stability near {self.param} = {c:.3g}" for c in self.stability_changes)
        if self.bistable:
            b = self.bistable_values
            return f"bistable for {self.param} in [{min(b):.3g}, {max(b):.3g}] (two stable steady states){change}"
        return f"no bistability found over the scanned range of {self.param}{change}" + (f"; {len(self.failed)} point(s) failed" if self.failed else "")

    def plot(self, path: str | None = None, *, node: str = "mtorc1"):
        """Hysteresis diagram of `node` against the parameter: stable filled, unstable open."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .._plot import save_figure, style

        if node not in self.table:
            raise UnknownNameError("state", node, [c for c in self.table.columns if c not in ("value", "branch", "stable", "max_real_eig")])
        with style():
            fig, ax = plt.subplots(figsize=(5.5, 4.0))
            for branch, marker, color in (("forward", "-", "C0"), ("backward", "--", "C1")):
                df = self.table[self.table["branch"] == branch].sort_values("value")
                ax.plot(df["value"], df[node], marker, color=color, lw=1.2, label=f"{branch} sweep")
            st = self.table[self.table["stable"]]
            un = self.table[~self.table["stable"]]
            ax.plot(st["value"], st[node], "o", ms=3.5, color="k", label="stable")
            ax.plot(un["value"], un[node], "o", ms=4.5, mfc="none", color="C3", label="unstable")
            for v, _, _ in self.failed:
                ax.axvline(v, color="0.8", lw=0.6)
            ax.set_xlabel(self.param)
            ax.set_ylabel(f"{node} at steady state (fold baseline)")
            ax.set_title(textwrap.fill(self.summary(), 70), fontsize=8, loc="left")
            ax.legend(fontsize=7)
            fig.tight_layout()
        if path is not None:
            save_figure(fig, path)  # atomic, like every file the project writes
        return fig


def continuation(
    param: str, values: Iterable[float], *, species: str = "mouse", params: Mapping[str, float] | None = None,
    genotype: str = "wild_type", starts: int = 6, spread: float = 2.0, seed: int = 0,
) -> Continuation:
    """Follow the drug-free steady states along `param` over `values` (natural-parameter
    continuation, forward and backward, plus `starts` fresh Newton starts at each value)."""
    values = np.asarray(list(values), float)
    if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)):
        raise PlasticityError(f"values: expected two or more finite values of {param}, got {values.tolist()}")
    s = _vehicle(species, params, genotype)
    (j,) = check_params(s, [param])
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    failed: list[tuple[float, str, str]] = []

    def record(v: float, branch: str, p: np.ndarray, y: np.ndarray) -> None:
        ss = _classify(s, p, y)
        rows.append({"value": v, "branch": branch, "stable": ss.stable, "max_real_eig": ss.max_real_eig, **dict(zip(s.flat.states, y, strict=True))})

    for branch, order in (("forward", values), ("backward", values[::-1])):
        guess = None
        for v in order:
            p = s.p.copy()
            p[j] = v
            y = _solve(s, p, guess) if guess is not None else None
            if y is None:  # first point, or the branch ended (a fold): restart from the baseline guess
                y = _solve(s, p, s.y0)
            if y is None:
                failed.append((float(v), branch, "Newton did not converge from the previous solution or the baseline"))
                continue
            record(float(v), branch, p, y)
            guess = y
    for v in values:
        p = s.p.copy()
        p[j] = v
        known = [r for r in rows if r["value"] == v]
        ys = [np.array([r[n] for n in s.flat.states]) for r in known]
        for g in _starts(s, starts, spread, rng)[1:]:
            y = _solve(s, p, g)
            if y is not None and len(_dedupe(ys + [y])) > len(ys):
                ys.append(y)
                record(float(v), "start", p, y)
    return Continuation(param, pd.DataFrame(rows), failed)
