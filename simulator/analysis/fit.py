"""Fit parameters to a lab's own time courses: several experiments at once, absolute or "% vs vehicle".

Data: a CSV path or DataFrame, one row per observation, with columns time_h, readout, value and
optionally experiment (a key of `experiments`), sd or sem (with n, an sd becomes sd / sqrt(n): the
error of a group mean), and scale ("absolute", the default, or "pct_vs_vehicle": 100 x (run / vehicle
- 1) for the same experiment without its doses). Readouts are timecourse columns or "spine_gain".
Fitted parameters are shared by every experiment that has them; each experiment has its own regimen,
species, condition, genotype, pretreatment and fixed overrides. The estimation itself (multi-start,
Fisher and profile intervals) lives in `estimate`, shared with PEtab problems.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import PlasticityError, UnknownNameError
from .._io import read_regular
from .._limits import MAX_OUTPUT_ROWS, MAX_TABLE_BYTES
from .._simulate import Setup, setup
from ..model.regimen import Regimen
from . import estimate as est
from .evaluate import SPINE_GAIN, _vehicle_setup, evaluate, param_range

ABSOLUTE, PCT = "absolute", "pct_vs_vehicle"
SCALES = {"absolute": ABSOLUTE, "abs": ABSOLUTE, "pct_vs_vehicle": PCT, "% vs vehicle": PCT, "%": PCT, "percent_vs_vehicle": PCT}
MAX_AUTO_PROFILES = 4  # profiles of every parameter are computed by default up to this many parameters
MIN_LOWER_BOUND = 1e-4  # a lower bound of 0 becomes this fraction of the upper one (the fit works in logs)


@dataclass(frozen=True)
class Experiment:
    """One arm of a study: what was given (regimen, pretreatment), to whom (species, genotype, condition),
    and parameters held fixed at other values (`params`) in this arm only.

    Examples:
        >>> Experiment(["ketamine 10 mg/kg ip"], species="rat", pretreatment=["rapamycin 0.2 nmol icv at -30 min"])
    """

    regimen: Regimen | Sequence[str] | str = ()
    species: str = "mouse"
    condition: str = "none"
    genotype: str = "wild_type"
    pretreatment: Regimen | Sequence[str] | str = ()
    params: Mapping[str, float] | None = None

    def setup(self) -> Setup:
        """The composed model of this arm (pretreatment doses first)."""
        doses = Regimen.coerce(self.pretreatment).doses + Regimen.coerce(self.regimen).doses
        return setup(Regimen(doses), species=self.species, params=self.params, genotype=self.genotype, condition=self.condition)


@dataclass
class FitResult:
    """Fitted values and their intervals at `level`.

    `ci` holds the profile-likelihood interval where a profile was computed (`profiles`), else the
    Fisher one (`fisher_ci`); `identifiable` is False where a profile stays under its threshold up to a
    bound (that side of the interval is the bound). `starts` lists every local optimisation of a
    multi-start fit."""

    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    cov_log: np.ndarray
    data: pd.DataFrame  # the observations with sigma, predicted and residual columns
    predicted: np.ndarray
    cost: float
    success: bool
    message: str
    level: float
    setup: Setup | None = field(repr=False)  # the first experiment's (None for a PEtab problem on SBML)
    fisher_ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    profiles: dict[str, est.Profile] = field(default_factory=dict, repr=False)
    starts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    problem: est.Problem | None = field(default=None, repr=False)
    optimum: est.Optimum | None = field(default=None, repr=False)
    curves: object = field(default=None, repr=False)  # (params) -> {panel: (times, values)} for plot, where known

    def __repr__(self) -> str:
        from .._views import fit_repr

        return fit_repr(self)

    def _repr_html_(self) -> str:
        from .._views import fit_html

        return fit_html(self)

    @property
    def identifiable(self) -> dict[str, bool | None]:
        """Per parameter: True or False from its profile, None where no profile was computed."""
        return {n: (self.profiles[n].identifiable if n in self.profiles else None) for n in self.params}

    @property
    def table(self) -> pd.DataFrame:
        """One row per fitted parameter: value, interval (ci_low, ci_high, from `ci_method`), Fisher interval, identifiability."""
        rows = []
        for n, v in self.params.items():
            pr = self.profiles.get(n)
            fl, fh = self.fisher_ci.get(n, (math.nan, math.nan))
            rows.append({"param": n, "value": v, "ci_low": self.ci[n][0], "ci_high": self.ci[n][1],
                         "ci_method": "profile" if pr else "fisher", "identifiable": pr.identifiable if pr else None,
                         "profile": pr.status if pr else "", "fisher_low": fl, "fisher_high": fh})
        return pd.DataFrame(rows)

    def profile(self, name: str) -> est.Profile:
        """The profile likelihood of one fitted parameter (computed once, then kept); updates `ci`."""
        if name not in self.params:
            raise UnknownNameError("fitted parameter", name, list(self.params), context="profile")
        if name not in self.profiles:
            if self.problem is None or self.optimum is None:
                raise PlasticityError("profile: this FitResult carries no problem to re-fit")
            i = self.problem.names.index(name)
            lo, hi = self.fisher_ci.get(name, (math.nan, math.nan))
            half = 0.5 * math.log(hi / lo) if 0 < lo < hi < math.inf else 0.05
            pr = est.profile(self.problem, self.optimum, i, self.level, first_step=0.5 * half)
            self.profiles[name] = pr
            self.ci[name] = pr.ci
            if not pr.identifiable:
                warnings.warn(f"fit: '{name}' is not identifiable from these data: its profile likelihood is {pr.status} "
                              f"within the bounds ({pr.ci[0]:.3g} to {pr.ci[1]:.3g} at {self.level:.0%})", stacklevel=2)
        return self.profiles[name]

    def plot(self, path: str | None = None):
        """Data (error bars: sigma) and the fitted model, one panel per experiment and readout; saved to `path`."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .._plot import save_figure, style

        panels = list(dict.fromkeys(zip(self.data["experiment"], self.data["readout"], self.data["scale"], strict=True)))
        dense = self.curves(self.params) if self.curves is not None else {}
        with style():
            fig, axes = plt.subplots(len(panels), 1, figsize=(6, 2.6 * len(panels)), squeeze=False)
            for ax, key in zip(axes[:, 0], panels, strict=True):
                exp, r, sc = key
                d = self.data[(self.data["experiment"] == exp) & (self.data["readout"] == r) & (self.data["scale"] == sc)]
                ax.errorbar(d["time_h"], d["value"], yerr=d["sigma"] if self.problem is None or self.problem.sigma_known else None,
                            fmt="o", ms=3, label="data")
                t, y = dense.get(key, (d["time_h"], d["predicted"]))
                ax.plot(t, y, "-", label="fit")
                ax.set_ylabel(f"{r} (% vs vehicle)" if sc == PCT else r)
                if exp:
                    ax.set_title(exp, fontsize=8)
                ax.legend(fontsize=7)
            axes[-1, 0].set_xlabel("time (h)")
            txt = ", ".join(f"{n} = {v:.3g} [{lo:.3g}, {hi:.3g}]" for (n, v), (lo, hi) in zip(self.params.items(), self.ci.values(), strict=True))
            fig.suptitle(txt, fontsize=8)
            fig.tight_layout()
        if path is not None:
            save_figure(fig, path)  # atomic, like every file the project writes
        return fig


def read_data(data: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Check and normalise fit data; adds experiment, scale and sigma (the error of each value) columns."""
    if isinstance(data, (str, Path)):
        raw = read_regular(data, "data", MAX_TABLE_BYTES, follow=True)  # a FIFO or a device is refused, not read for ever
        try:
            df = pd.read_csv(io.BytesIO(raw), nrows=MAX_OUTPUT_ROWS + 1)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise PlasticityError(f"data: cannot read {str(data)!r} as CSV ({exc.__class__.__name__}: {exc})") from None
    else:
        df = pd.DataFrame(data).copy()
    if len(df) > MAX_OUTPUT_ROWS:
        raise PlasticityError(f"data: more than {MAX_OUTPUT_ROWS:,} rows (MAX_OUTPUT_ROWS); fit a summary of the data (means and sd)")
    for col in ("time_h", "value"):
        if col in df:
            num = pd.to_numeric(df[col], errors="coerce")
            bad = num.isna() & df[col].notna()
            if bad.any():
                i = int(np.argmax(bad.to_numpy()))
                raise PlasticityError(f"data: {col} in row {i + 1} is {df[col].iloc[i]!r:.40}, not a number")
            df[col] = num
    missing = [c for c in ("time_h", "readout", "value") if c not in df]
    if missing:
        raise PlasticityError(f"data: missing column(s) {', '.join(missing)}; expected time_h, readout, value and optionally "
                              "experiment, sd or sem, n, scale")
    if len(df) == 0 or not np.all(np.isfinite(df[["time_h", "value"]].to_numpy(float))):
        raise PlasticityError("data: expected at least one row with finite time_h and value")
    if "sd" in df and "sem" in df:
        raise PlasticityError("data: give the error as sd or as sem, not both columns")
    err = "sd" if "sd" in df else "sem" if "sem" in df else None
    if err is not None:
        e = pd.to_numeric(df[err], errors="coerce").to_numpy(float)
        if not (np.all(np.isfinite(e)) and np.all(e > 0)):
            raise PlasticityError(f"data: the {err} column must hold finite values > 0")
        if err == "sd" and "n" in df:
            n = pd.to_numeric(df["n"], errors="coerce").to_numpy(float)
            if not (np.all(np.isfinite(n)) and np.all(n >= 1)):
                raise PlasticityError("data: the n column (group sizes) must hold numbers >= 1")
            e = e / np.sqrt(n)
        df["sigma"] = e
    else:
        df["sigma"] = 1.0
    df["experiment"] = df["experiment"].astype(str) if "experiment" in df else ""
    if "scale" in df:
        given = ["absolute" if pd.isna(s) or not str(s).strip() else str(s).strip().lower() for s in df["scale"]]  # blank: absolute
        bad = sorted({s for s in given if s not in SCALES})
        if bad:
            raise PlasticityError(f"data: scale {bad[0]!r} is not known; expected 'absolute' or 'pct_vs_vehicle' (% vs vehicle)")
        df["scale"] = [SCALES[s] for s in given]
    else:
        df["scale"] = ABSOLUTE
    df = df.sort_values(["experiment", "time_h"], kind="stable", ignore_index=True)
    df.attrs["sigma_known"] = err is not None
    return df


@dataclass
class _Arm:
    """One experiment's share of the problem: its setup, its rows and how to predict them."""

    name: str
    setup: Setup
    vehicle: Setup | None  # only where some rows are % vs vehicle of a readout other than spine density
    rows: np.ndarray  # indices into the data
    columns: list[str]  # what evaluate must give (readouts, spine_gain)
    times: np.ndarray
    picks: list[tuple[np.ndarray, str, str, np.ndarray]]  # (data rows, readout, scale, time columns)
    params: list[int]  # indices of the fitted names this experiment has
    vehicle_params: list[int] = field(default_factory=list)

    def vehicle_columns(self) -> list[str]:
        """The readouts whose % vs vehicle needs the vehicle run (the spine gain and density carry their own)."""
        return list(dict.fromkeys(r for _, r, sc, _ in self.picks if sc == PCT and r not in (SPINE_GAIN, "spine_density")))

    def predict(self, names: list[str], values: np.ndarray, times: np.ndarray | None = None) -> dict[tuple[str, str], np.ndarray]:
        """{(readout, scale): (members, len(times))} at the data times (or `times`), NaN where a run failed."""
        t = self.times if times is None else times
        sub = [names[i] for i in self.params]
        out, status = evaluate(self.setup, sub, values[:, self.params], t, self.columns, strict=False)
        veh = {}
        if self.vehicle is not None:
            vsub = [names[i] for i in self.vehicle_params]
            vcols = self.vehicle_columns()
            veh, _ = evaluate(self.vehicle, vsub, values[:, self.vehicle_params], t, vcols, strict=False)
        res = {}
        for _, r, sc, _ in self.picks:
            if (r, sc) in res:
                continue
            if r == SPINE_GAIN or (sc == PCT and r == "spine_density"):
                y = out[SPINE_GAIN]
            elif sc == PCT:
                with np.errstate(divide="ignore", invalid="ignore"):
                    y = 100.0 * (out[r] / veh[r] - 1.0)
            else:
                y = out[r]
            y = np.array(y, float)
            y[[st != "ok" for st in status]] = np.nan
            res[(r, sc)] = y
        return res


def _arms(df: pd.DataFrame, names: list[str], experiments: Mapping[str, Experiment]) -> list[_Arm]:
    arms = []
    for exp_name in dict.fromkeys(df["experiment"]):
        if exp_name not in experiments:
            raise UnknownNameError("experiment", exp_name, list(experiments), context="data: experiment column")
        e = experiments[exp_name]
        s = e.setup()
        known = [n for n in s.flat.params if n not in s.flat.inputs]
        rows = np.flatnonzero((df["experiment"] == exp_name).to_numpy())
        d = df.iloc[rows]
        times = np.unique(d["time_h"].to_numpy(float))
        readouts = [r[0] for r in s.flat.readouts]
        picks, columns, need_vehicle = [], [], False
        for (r, sc), g in d.groupby(["readout", "scale"], sort=False):
            if r != SPINE_GAIN and r not in readouts:
                raise UnknownNameError("readout", r, readouts + [SPINE_GAIN], context=f"data, experiment {exp_name!r}" if exp_name else "data")
            if r == SPINE_GAIN and sc == PCT:
                raise PlasticityError(f"data: readout 'spine_gain' is already % vs vehicle; give its scale as 'absolute' (experiment {exp_name!r})")
            col = SPINE_GAIN if r == SPINE_GAIN or (sc == PCT and r == "spine_density") else r
            need_vehicle |= sc == PCT and col != SPINE_GAIN
            columns.append(col)
            picks.append((rows[np.flatnonzero((d["readout"] == r).to_numpy() & (d["scale"] == sc).to_numpy())], r, sc,
                          np.searchsorted(times, g["time_h"].to_numpy(float))))
        idx = [i for i, n in enumerate(names) if n in known]
        arm = _Arm(exp_name, s, None, rows, list(dict.fromkeys(columns)), times, picks, idx)
        if need_vehicle:
            v = _vehicle_setup(s)
            vreadouts = {r[0] for r in v.flat.readouts}
            for _, r, sc, _ in picks:
                if sc == PCT and r not in vreadouts | {"spine_density"}:  # a drug's concentration: none without the drug
                    raise PlasticityError(f"data: readout {r!r} is 0 in the vehicle run (experiment {exp_name!r}), so % vs vehicle "
                                          "means nothing; give it as absolute values")
            vknown = set(v.flat.params) - set(v.flat.inputs)
            arm.vehicle, arm.vehicle_params = v, [i for i in idx if names[i] in vknown]
        arms.append(arm)
    missing = [n for n in names if not any(names.index(n) in a.params for a in arms)]
    if missing:
        raise PlasticityError(f"params: {missing[0]!r} is not a parameter of any experiment's model (a compound's parameter needs an "
                              "experiment that doses it)")
    return arms


def _check_vehicle(arms: list[_Arm], names: list[str], x0: np.ndarray) -> None:
    """A % vs vehicle of a readout that is 0 in the vehicle (a drug concentration) means nothing: refuse it."""
    for a in arms:
        if a.vehicle is None:
            continue
        cols = a.vehicle_columns()
        veh, _ = evaluate(a.vehicle, [names[i] for i in a.vehicle_params], np.exp(x0)[None, a.vehicle_params], a.times, cols)
        for _, r, sc, _ in a.picks:
            if sc == PCT and r in veh and not np.all(veh[r] > 0):
                raise PlasticityError(f"data: readout {r!r} is 0 in the vehicle run (experiment {a.name!r}), so % vs vehicle means nothing; "
                                      "give it as absolute values")


def build_problem(df: pd.DataFrame, names: list[str], experiments: Mapping[str, Experiment],
                  start: Mapping[str, float] | None, bounds: Mapping[str, tuple[float, float]] | None) -> tuple[est.Problem, list[_Arm]]:
    """The estimation problem of `fit`: log-bounds from models/ (or `bounds`), the start from the model or `start`."""
    arms = _arms(df, names, experiments)
    lo, hi, x0 = [], [], []
    for n in names:
        owner = next(a.setup for a in arms if names.index(n) in a.params)
        given = (bounds or {}).get(n)
        if given is not None and not (len(given) == 2 and 0 <= given[0] < given[1] and math.isfinite(given[1])):
            raise PlasticityError(f"bounds: {n!r} needs (low, high) with 0 <= low < high < inf, got {given!r}")
        a, b = given or param_range(owner, n)
        a = max(a, b * MIN_LOWER_BOUND)
        lo.append(math.log(a))
        hi.append(math.log(b))
        v = float((start or {}).get(n, owner.values[n]))
        if not v > 0:
            raise PlasticityError(f"start: {n!r} must be > 0 (the fit works in logs), got {v!r}")
        x0.append(math.log(v))
    lo, hi = np.array(lo), np.array(hi)
    x0 = np.clip(np.array(x0), lo + 1e-9, hi - 1e-9)
    y = df["value"].to_numpy(float)

    def predict(X: np.ndarray) -> np.ndarray:
        V = np.exp(np.atleast_2d(X))
        pred = np.full((len(V), len(df)), np.nan)
        for a in arms:
            got = a.predict(names, V)
            for rows, r, sc, cols in a.picks:
                pred[:, rows] = got[(r, sc)][:, cols]
        return pred

    problem = est.Problem(names, lo, hi, x0, y, df["sigma"].to_numpy(float), bool(df.attrs.get("sigma_known")), predict)
    _check_vehicle(arms, names, x0)
    return problem, arms


def solve(problem: est.Problem, data: pd.DataFrame, *, level: float, starts: int, seed: int | None, profiles: bool | str,
          setup_: Setup | None = None, curves=None) -> FitResult:
    """Run the estimation on a built problem and package the result (shared with PEtab)."""
    if not 0 < level < 1:
        raise PlasticityError(f"level: expected a confidence level between 0 and 1, e.g. 0.95, got {level!r}")
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise PlasticityError(f"starts: expected a whole number of local fits >= 1, got {starts!r}")
    best, runs = est.multistart(problem, starts, seed)
    cov, fisher = est.fisher_intervals(problem, best, level)
    names = problem.names
    fitted = {n: float(math.exp(v)) for n, v in zip(names, best.x, strict=True)}
    fci = {n: (float(a), float(b)) for n, (a, b) in zip(names, fisher, strict=True)}
    pred = problem.predict(best.x[None, :])[0]
    out = data.copy()
    out["predicted"] = pred
    out["residual"] = (pred - out["value"]) / out["sigma"]
    table = pd.DataFrame([{"start": i, "cost": o.cost, "success": o.success, **{f"start_{n}": math.exp(v) for n, v in zip(names, o.start, strict=True)},
                           **{n: math.exp(v) for n, v in zip(names, o.x, strict=True)}} for i, o in enumerate(runs)])
    res = FitResult(fitted, dict(fci), cov, out, pred, best.cost, best.success, best.message, level, setup_, fci, {}, table, problem, best, curves)
    if profiles is True or (profiles == "auto" and len(names) <= MAX_AUTO_PROFILES):
        for n in names:
            res.profile(n)
    elif profiles not in (False, "auto"):
        raise PlasticityError(f"profiles: expected True, False or 'auto' (all when at most {MAX_AUTO_PROFILES} parameters), got {profiles!r}")
    return res


def fit_observations(
    data: str | Path | pd.DataFrame | None,
    params: Sequence[str] = (),
    *,
    regimen=(),
    species: str = "mouse",
    experiments: Mapping[str, Experiment] | None = None,
    start: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    overrides: Mapping[str, float] | None = None,
    level: float = 0.95,
    starts: int = 1,
    seed: int | None = None,
    profiles: bool | str = "auto",
) -> FitResult:
    """`simulator.fit` on observations (a table and its experiments); the public entry point is analysis/fitting.py."""
    if data is None:
        raise PlasticityError("data: give a CSV path or DataFrame of observations (or petab='problem.yaml')")
    df = read_data(data)
    if isinstance(params, str):
        params = [params]
    names = list(dict.fromkeys(params))
    if not names:
        raise PlasticityError("params: name at least one parameter to fit")
    if experiments is None:
        if set(df["experiment"]) - {""}:
            raise PlasticityError("data: has an experiment column; describe each experiment with experiments={name: Experiment(...)}")
        experiments = {"": Experiment(Regimen.coerce(regimen), species=species, params=overrides)}
    elif not isinstance(experiments, Mapping) or not all(isinstance(e, Experiment) for e in experiments.values()):
        raise PlasticityError("experiments: expected a mapping of experiment name to Experiment(regimen, species=..., ...)")
    elif len(experiments) == 1 and set(df["experiment"]) == {""}:
        df["experiment"] = next(iter(experiments))
    problem, arms = build_problem(df, names, experiments, start, bounds)

    def curves(values: Mapping[str, float]) -> dict:
        V = np.array([[values[n] for n in names]])
        out = {}
        for a in arms:
            t = np.linspace(min(float(a.times[0]), 0.0), float(a.times[-1]), 200)
            for (r, sc), y in a.predict(names, V, t).items():
                out[(a.name, r, sc)] = (t, y[0])
        return out

    return solve(problem, df, level=level, starts=starts, seed=seed, profiles=profiles, setup_=arms[0].setup, curves=curves)
