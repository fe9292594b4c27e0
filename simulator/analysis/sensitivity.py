"""Sensitivity of a readout along the time course: local (normalised, finite differences) and
global (Sobol and Morris from SALib over the parameter ranges declared in models/).

Indices are computed at a chosen set of output times (hourly, say), each from the same batched
runs; Sobol indices come with their bootstrap confidence intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import PlasticityError
from .._limits import MAX_ANALYSIS_RUNS
from .._simulate import Setup, setup
from ..engine.scipy_path import check_times
from ..model.regimen import Regimen
from .evaluate import SPINE_GAIN, check_batch, evaluate, param_range


@dataclass
class Sensitivity:
    """Indices over time: `table` has columns time_h, param, then the method's indices
    (local: s; sobol: S1, S1_conf, ST, ST_conf; morris: mu_star, mu_star_conf, sigma)."""

    method: str
    readout: str
    table: pd.DataFrame
    runs: int

    def at(self, time_h: float) -> pd.DataFrame:
        """Indices at the output time nearest `time_h`, most influential first."""
        times = self.table["time_h"].unique()
        t = times[np.argmin(np.abs(times - time_h))]
        key = {"local": "s", "sobol": "ST", "morris": "mu_star"}[self.method]
        df = self.table[self.table["time_h"] == t]
        return df.reindex(df[key].abs().sort_values(ascending=False).index)

    def plot(self, path: str | None = None, *, time_h: float | None = None, top: int = 12):
        """Tornado at `time_h` (default: the last time) and the indices over time; saved to `path`."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .._plot import save_figure, style

        key = {"local": "s", "sobol": "ST", "morris": "mu_star"}[self.method]
        t_show = float(self.table["time_h"].max()) if time_h is None else time_h
        bars = self.at(t_show).head(top)[::-1]
        names = list(self.at(t_show).head(min(top, 6))["param"])
        with style():
            fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
            err = bars.get(f"{key}_conf")
            a1.barh(bars["param"], bars[key], xerr=None if err is None else err, color=np.where(bars[key] >= 0, "C0", "C3"))
            if self.method == "sobol":
                a1.barh(bars["param"], bars["S1"], height=0.4, color="C1", label="S1 (first order)")
                a1.legend(loc="lower right")
            a1.axvline(0, color="0.3", lw=0.8)
            a1.set_xlabel({"local": "d ln(readout) / d ln(param)", "sobol": "ST (total order)", "morris": "mu* (Morris)"}[self.method])
            a1.set_title(f"{self.readout} at {t_show:g} h", loc="left")
            for n in names:
                df = self.table[self.table["param"] == n]
                a2.plot(df["time_h"], df[key], label=n)
                if f"{key}_conf" in df:
                    a2.fill_between(df["time_h"], df[key] - df[f"{key}_conf"], df[key] + df[f"{key}_conf"], alpha=0.2)
            a2.set_xlabel("time (h)")
            a2.set_ylabel(key)
            a2.set_title("over time", loc="left")
            a2.legend(fontsize=7)
            fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig


def _setup(regimen, species: str, params: dict | None, s: Setup | None) -> Setup:
    return s if s is not None else setup(Regimen.coerce(regimen), species=species, params=params)


def _names(s: Setup, names: Iterable[str] | None, need_range: bool) -> list[str]:
    if names is not None:
        return list(names)
    pathway = s.library.pathway.parameters
    out = [n for n in s.flat.params if n in pathway and n not in s.flat.inputs and (not need_range or (s.flat.meta[n].range is not None))]
    if need_range:
        out = [n for n in out if s.flat.meta[n].range[0] < s.flat.meta[n].range[1]]
    return out


def local_sensitivity(
    regimen=(),
    *,
    species: str = "mouse",
    readout: str = SPINE_GAIN,
    params: Sequence[str] | None = None,
    times: Sequence[float] = tuple(range(1, 73)),
    rel_step: float = 1e-3,
    floor: float = 1e-6,
    overrides: dict | None = None,
    model=None,
) -> Sensitivity:
    """Normalised sensitivities d ln(readout) / d ln(param) at `times` (central differences in
    log-parameter, all 2k runs in one batch). A readout with |value| < `floor` gets 0 (no effect
    to be relative to), not a division blow-up. Default parameters: every pathway parameter
    (for an imported `model`: every non-zero parameter that no event changes; `readout` is one of its columns)."""
    if model is not None:
        from ..sbml.batch import local_sensitivity_imported

        table, runs = local_sensitivity_imported(model, readout=readout, params=params, times=times, rel_step=rel_step, floor=floor)
        return Sensitivity("local", readout, table, runs)
    s = _setup(regimen, species, overrides, None)
    names = _names(s, params, need_range=False)
    base = np.array([s.values[n] for n in names])
    k = len(names)
    V = np.tile(base, (2 * k + 1, 1))
    for j in range(k):
        V[2 * j, j] *= np.exp(rel_step)
        V[2 * j + 1, j] *= np.exp(-rel_step)
    out, _ = evaluate(s, names, V, times, [readout])
    y = out[readout]
    y0 = y[-1]
    dy = (y[0 : 2 * k : 2] - y[1 : 2 * k : 2]) / (2 * rel_step)  # dR / d ln p
    with np.errstate(divide="ignore", invalid="ignore"):
        sens = np.where(np.abs(y0) > floor, dy / y0, 0.0)
    t = np.asarray(times, float)
    table = pd.DataFrame({"time_h": np.repeat(t[None, :], k, 0).ravel(), "param": np.repeat(names, len(t)), "s": sens.ravel()})
    return Sensitivity("local", readout, table.sort_values(["time_h", "param"], ignore_index=True), 2 * k + 1)


def _problem(s: Setup, names: list[str], log: bool) -> dict:
    bounds = []
    for n in names:
        lo, hi = param_range(s, n)
        if log and lo > 0:
            lo, hi = np.log(lo), np.log(hi)
        bounds.append([lo, hi])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def _to_values(s: Setup, names: list[str], X: np.ndarray, log: bool) -> np.ndarray:
    X = X.copy()
    for j, n in enumerate(names):
        if log and param_range(s, n)[0] > 0:
            X[:, j] = np.exp(X[:, j])
    return X


def global_sensitivity(
    regimen=(),
    *,
    method: str = "sobol",
    species: str = "mouse",
    readout: str = SPINE_GAIN,
    params: Sequence[str] | None = None,
    times: Sequence[float] = tuple(range(1, 73)),
    n: int = 64,
    log: bool = True,
    seed: int = 0,
    overrides: dict | None = None,
) -> Sensitivity:
    """Sobol (Saltelli sampling, n x (2k + 2) runs) or Morris (n trajectories, n x (k + 1) runs)
    indices of `readout` at each of `times`, over the parameter ranges declared in models/
    (sampled log-uniformly where a range is positive and `log`). One batch for all times."""
    try:
        from SALib.analyze import morris as morris_a
        from SALib.analyze import sobol as sobol_a
        from SALib.sample import morris as morris_s
        from SALib.sample import sobol as sobol_s
    except ImportError:  # pragma: no cover - depends on the environment
        raise PlasticityError("global sensitivity needs SALib: pip install 'plasticity[sweep]'") from None
    if method not in ("sobol", "morris"):
        raise PlasticityError(f"method: expected 'sobol' or 'morris', got {method!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise PlasticityError(f"n: expected a whole number of samples >= 2, got {n!r}")
    if n > MAX_ANALYSIS_RUNS:  # before the model is set up: a huge n is refused at once
        raise PlasticityError(f"n: {n:,} samples exceed the limit of {MAX_ANALYSIS_RUNS:,} runs (MAX_ANALYSIS_RUNS)")
    s = _setup(regimen, species, overrides, None)
    names = _names(s, params, need_range=True)
    runs = n * (len(names) + (2 if method == "sobol" else 1))
    check_batch(s, runs, check_times(times))  # before sampling: SALib's Morris sampler alone ran out of memory at n = 100,000
    problem = _problem(s, names, log)
    if method == "sobol":
        X = sobol_s.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        X = morris_s.sample(problem, n, num_levels=4, seed=seed)
    out, _ = evaluate(s, names, _to_values(s, names, X, log), times, [readout])
    Y = out[readout]
    rows = []
    for i, t in enumerate(np.asarray(times, float)):
        y = Y[:, i]
        if np.ptp(y) == 0:
            raise PlasticityError(
                f"times: the readout {readout!r} does not vary across samples at {t:g} h (e.g. before the dose); choose later times"
            )
        if method == "sobol":
            r = sobol_a.analyze(problem, y, calc_second_order=False, seed=seed)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            r = morris_a.analyze(problem, X, y, num_levels=4, seed=seed)
            keys = ("mu_star", "mu_star_conf", "sigma")
        for j, name in enumerate(names):
            rows.append({"time_h": t, "param": name, **{k: float(r[k][j]) for k in keys}})
    return Sensitivity(method, readout, pd.DataFrame(rows), len(X))


def range_scan(
    regimen=(),
    *,
    species: str = "mouse",
    readout: str = SPINE_GAIN,
    params: Sequence[str] | None = None,
    times: Sequence[float] = (24.0, 72.0),
    points: int = 7,
    log: bool = True,
    overrides: dict | None = None,
) -> pd.DataFrame:
    """One parameter at a time across its declared range (the others at their values), all in one
    batch: columns param, value, relative (value / model value), time_h, `readout`.

    Run it before a global analysis: a parameter that switches the readout off somewhere in its
    range makes most of a sampling box answer "on or off?", and the Sobol estimates of such a
    box converge slowly. Points are log-spaced where the range is positive and `log`.
    """
    s = _setup(regimen, species, overrides, None)
    names = _names(s, params, need_range=True)
    base = np.array([s.values[n] for n in names])
    grids = []
    for n in names:
        lo, hi = param_range(s, n)
        grids.append(np.geomspace(lo, hi, points) if log and lo > 0 else np.linspace(lo, hi, points))
    V = np.tile(base, (len(names) * points, 1))
    for j, g in enumerate(grids):
        V[j * points : (j + 1) * points, j] = g
    out, _ = evaluate(s, names, V, times, [readout])
    t = np.asarray(times, float)
    rows = []
    for j, n in enumerate(names):
        for k, v in enumerate(grids[j]):
            for i, ti in enumerate(t):
                rows.append(
                    {
                        "param": n,
                        "value": float(v),
                        "relative": float(v / base[j]) if base[j] else np.nan,
                        "time_h": float(ti),
                        readout: float(out[readout][j * points + k, i]),
                    }
                )
    return pd.DataFrame(rows)


def sensitivity(regimen=(), *, method: str = "local", **kwargs) -> Sensitivity:
    """Local (`method="local"`), Sobol or Morris sensitivity of a readout over time; see
    `local_sensitivity` and `global_sensitivity` for the options."""
    if method == "local":
        return local_sensitivity(regimen, **kwargs)
    return global_sensitivity(regimen, method=method, **kwargs)
