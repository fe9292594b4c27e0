"""Fit parameters to a user's time-course data by weighted least squares in log-parameters.

Data: a CSV path or DataFrame with columns time_h, readout, value and optionally sd. Readouts
are timecourse columns or "spine_gain". Confidence intervals come from the Fisher information
(J^T W J)^-1 at the optimum, in log-parameter space (so they are asymmetric in the parameter);
without an sd column the residual variance is estimated from the fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import t as student_t

from .._errors import PlasticityError
from .._simulate import Setup, setup
from ..model.regimen import Regimen
from .evaluate import evaluate, param_range


@dataclass
class FitResult:
    """Fitted values, confidence intervals (`ci`, by `level`), covariance of log-parameters."""

    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    cov_log: np.ndarray
    data: pd.DataFrame
    predicted: np.ndarray
    cost: float
    success: bool
    message: str
    level: float
    setup: Setup = field(repr=False)

    def __repr__(self) -> str:
        from .._views import fit_repr

        return fit_repr(self)

    def _repr_html_(self) -> str:
        from .._views import fit_html

        return fit_html(self)

    @property
    def table(self) -> pd.DataFrame:
        """One row per fitted parameter: its value and the low and high ends of its confidence interval."""
        return pd.DataFrame(
            {"param": list(self.params), "value": list(self.params.values()),
             "ci_low": [c[0] for c in self.ci.values()], "ci_high": [c[1] for c in self.ci.values()]}
        )

    def plot(self, path: str | None = None):
        """Data (with sd bars) and the fitted model, one panel per readout; saved to `path`."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .._plot import style

        readouts = list(dict.fromkeys(self.data["readout"]))
        t_end = float(self.data["time_h"].max())
        times = np.linspace(0.0, t_end, 200)
        names = list(self.params)
        curves, _ = evaluate(self.setup, names, [list(self.params.values())], times, readouts)
        with style():
            fig, axes = plt.subplots(len(readouts), 1, figsize=(6, 2.6 * len(readouts)), squeeze=False)
            for ax, r in zip(axes[:, 0], readouts, strict=True):
                d = self.data[self.data["readout"] == r]
                ax.errorbar(d["time_h"], d["value"], yerr=d["sd"] if "sd" in d else None, fmt="o", ms=3, label="data")
                ax.plot(times, curves[r][0], "-", label="fit")
                ax.set_ylabel(r)
                ax.legend(fontsize=7)
            axes[-1, 0].set_xlabel("time (h)")
            txt = ", ".join(f"{n} = {v:.3g} [{lo:.3g}, {hi:.3g}]" for (n, v), (lo, hi) in zip(self.params.items(), self.ci.values(), strict=True))
            fig.suptitle(txt, fontsize=8)
            fig.tight_layout()
        if path is not None:
            fig.savefig(path)
        return fig


def read_data(data: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Check and normalise fit data (columns time_h, readout, value, optional sd > 0)."""
    if isinstance(data, (str, Path)):
        try:
            df = pd.read_csv(data)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise PlasticityError(f"data: cannot read {str(data)!r} as CSV ({exc.__class__.__name__}: {exc})") from None
    else:
        df = pd.DataFrame(data).copy()
    missing = [c for c in ("time_h", "readout", "value") if c not in df]
    if missing:
        raise PlasticityError(f"data: missing column(s) {', '.join(missing)}; expected time_h, readout, value and optionally sd")
    if len(df) == 0 or not np.all(np.isfinite(df[["time_h", "value"]].to_numpy(float))):
        raise PlasticityError("data: expected at least one row with finite time_h and value")
    if "sd" in df and not (np.all(np.isfinite(df["sd"])) and np.all(df["sd"] > 0)):
        raise PlasticityError("data: the sd column must hold finite values > 0")
    return df.sort_values("time_h", kind="stable", ignore_index=True)


def fit(
    data: str | Path | pd.DataFrame,
    params: Sequence[str],
    *,
    regimen=(),
    species: str = "mouse",
    start: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    overrides: Mapping[str, float] | None = None,
    level: float = 0.95,
) -> FitResult:
    """Least-squares fit of `params` (log-scale, bounded by their ranges in models/ or `bounds`)
    to `data` under `regimen`; starts from the model values or `start`."""
    df = read_data(data)
    names = list(params)
    if not names:
        raise PlasticityError("params: name at least one parameter to fit")
    s = setup(Regimen.coerce(regimen), species=species, params=overrides)
    times = np.unique(df["time_h"].to_numpy(float))
    col = np.searchsorted(times, df["time_h"].to_numpy(float))
    readouts = list(dict.fromkeys(df["readout"]))
    sd = df["sd"].to_numpy(float) if "sd" in df else np.ones(len(df))
    y = df["value"].to_numpy(float)
    lo, hi = [], []
    for n in names:
        a, b = (bounds or {}).get(n) or param_range(s, n)
        a = max(a, b * 1e-4)
        lo.append(math.log(a))
        hi.append(math.log(b))
    x0 = np.log([float((start or {}).get(n, s.values[n])) for n in names])
    x0 = np.clip(x0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)

    def predict(X: np.ndarray) -> np.ndarray:
        out, _ = evaluate(s, names, np.exp(np.atleast_2d(X)), times, readouts)
        pred = np.empty((len(np.atleast_2d(X)), len(df)))
        for r in readouts:
            rows = (df["readout"] == r).to_numpy()
            pred[:, rows] = out[r][:, col[rows]]
        return pred

    def residuals(x: np.ndarray) -> np.ndarray:
        return (predict(x)[0] - y) / sd

    def jac(x: np.ndarray) -> np.ndarray:
        h = 1e-5
        X = np.vstack([x] + [x + h * e for e in np.eye(len(x))])
        P = (predict(X) - y) / sd
        return ((P[1:] - P[0]) / h).T

    sol = least_squares(residuals, x0, jac=jac, bounds=(lo, hi), x_scale=1.0, xtol=1e-10, ftol=1e-10, gtol=1e-10)
    J = jac(sol.x)
    dof = max(len(y) - len(names), 1)
    scale = 1.0 if "sd" in df else float(np.sum(sol.fun**2) / dof)
    try:
        cov = np.linalg.inv(J.T @ J) * scale
    except np.linalg.LinAlgError:
        cov = np.full((len(names), len(names)), np.inf)
    q = float(student_t.ppf(0.5 + level / 2, dof)) if "sd" not in df else float(student_t.ppf(0.5 + level / 2, 1e9))
    half = q * np.sqrt(np.maximum(np.diag(cov), 0.0))
    fitted = {n: float(math.exp(v)) for n, v in zip(names, sol.x, strict=True)}
    ci = {n: (float(math.exp(v - w)), float(math.exp(v + w))) for n, v, w in zip(names, sol.x, half, strict=True)}
    return FitResult(fitted, ci, cov, df, predict(sol.x)[0], float(sol.cost), bool(sol.success), str(sol.message), level, s)
