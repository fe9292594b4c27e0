"""Validation against the evidence base (docs/validation/literature.md): targets as data (models/validation.toml), observation models, validate()."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import ModelFileError, PlasticityError
from .._progress import progress_bar

FILE = "validation.toml"
CONFIDENCE = ("R", "C")
SKIP_KINDS = {"out_of_scope": "out of scope", "unavailable": "not run"}
SETS = ("calibration", "prediction")  # fitted by scripts/calibrate.py, or never seen by it
READINGS = ("digitised", "read", "recalled")  # how a target's number was taken from its paper (models/validation.toml header)
CURVE_COMPARE = ("fold", "fold_vehicle", "pct_vehicle", "fraction_of_peak_excess")
TIME_UNITS = {"h": 1.0, "min": 60.0, "d": 1.0 / 24.0}
CONC_UNITS = {"nM": 1.0, "uM": 1e-3}
EXPERIMENT_KEYS = {"regimen", "species", "hours", "step_min", "genotype", "cut", "scale", "clamp", "params", "condition"}
TARGET_KEYS = {"id", "item", "set", "title", "confidence", "kind", "experiment", "reference", "range", "expected", "unit", "source", "note", "reason", "factor",
               "paper", "reading"}
COLUMNS = ["id", "item", "set", "title", "confidence", "expected", "simulated", "low", "high", "unit", "status", "source", "note", "paper"]


# ------------------------------------------------------------------------------------------ observation models on arrays
def _window(t: np.ndarray, x: np.ndarray, window: Iterable[float] | None) -> tuple[np.ndarray, np.ndarray]:
    t, x = np.asarray(t, float), np.asarray(x, float)
    if window is not None:
        lo, hi = window
        m = (t >= lo - 1e-9) & (t <= hi + 1e-9)
        t, x = t[m], x[m]
    if len(t) == 0:
        raise PlasticityError(f"observation window {window} holds no output times")
    return t, x


def value_at(t, x, at_h: float) -> float:
    """x interpolated at a time."""
    return float(np.interp(at_h, np.asarray(t, float), np.asarray(x, float)))


def peak(t, x, window=None) -> float:
    """Largest value (in the window)."""
    return float(np.max(_window(t, x, window)[1]))


def peak_time(t, x, window=None) -> float:
    """Time of the largest value, h."""
    tw, xw = _window(t, x, window)
    return float(tw[int(np.argmax(xw))])


def fraction_of_peak_at(t, x, at_h: float, baseline: float = 0.0) -> float:
    """(x(at) - baseline) / (peak - baseline)."""
    return (value_at(t, x, at_h) - baseline) / (peak(t, x) - baseline)


def return_time(t, x, threshold: float | None = None, threshold_fraction: float | None = None, from_h: float = 0.0) -> float:
    """First time after the peak (and after from_h) at which x < threshold, counted from from_h; nan if never."""
    t, x = np.asarray(t, float), np.asarray(x, float)
    if (threshold is None) == (threshold_fraction is None):
        raise PlasticityError("return_time: give exactly one of threshold or threshold_fraction")
    i = int(np.argmax(x))
    thr = threshold if threshold is not None else threshold_fraction * x[i]
    after = np.nonzero((np.arange(len(t)) >= i) & (t >= from_h) & (x < thr))[0]
    if len(after) == 0:
        return math.nan
    j = after[0]
    if j > 0 and x[j - 1] >= thr and x[j - 1] != x[j]:  # linear interpolation of the crossing
        tc = t[j - 1] + (thr - x[j - 1]) * (t[j] - t[j - 1]) / (x[j] - x[j - 1])
    else:
        tc = t[j]
    return float(tc - from_h)


def halflife(t, x, window=None, upper: float = 0.5, lower: float = 0.05) -> float:
    """Half-life (h) of a decay by a log-linear fit: over `window`, or after the peak from upper to lower x peak."""
    t, x = np.asarray(t, float), np.asarray(x, float)
    if window is not None:
        tw, xw = _window(t, x, window)
    else:
        i = int(np.argmax(x))
        tt, xx = t[i:], x[i:]
        m = (xx <= upper * x[i]) & (xx >= lower * x[i])
        first_below = np.nonzero(xx < lower * x[i])[0]
        if len(first_below):
            m &= np.arange(len(xx)) < first_below[0]
        tw, xw = tt[m], xx[m]
    ok = xw > 0
    if ok.sum() < 3:
        return math.nan
    slope = np.polyfit(tw[ok], np.log(xw[ok]), 1)[0]
    return float(math.log(2) / -slope) if slope < 0 else math.nan


def max_abs_drift_pct(t, x) -> float:
    """Largest |x(t) - x(0)| / x(0), %."""
    x = np.asarray(x, float)
    return float(100.0 * np.max(np.abs(x - x[0])) / abs(x[0]))


def auc(t, x, window=None) -> float:
    """Area under x (trapezoid)."""
    tw, xw = _window(t, x, window)
    return float(np.sum(0.5 * (xw[1:] + xw[:-1]) * np.diff(tw)))


def preexisting_elimination(tc: pd.DataFrame, start_h: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Times (h) and elimination rate (1/d) of the spines already present at `start_h`.

    Longitudinal imaging counts the loss of spines seen at an earlier session (Pryazhnikov 2018 Sci
    Rep 8:6464: "elimination of pre-existing spines"), so spines formed after the drug do not enter
    it. The cohort is followed through the three pools (new -> maturing -> stable) with the run's own
    rates, taken as constant between output times (an exact step of the linear cohort equations).
    """
    from scipy.linalg import expm

    t = tc["time_h"].to_numpy()
    keep = t >= start_h
    t = t[keep]
    rate = {c: _col(tc, c)[keep] / 24.0 for c in ("new_spine_loss_rate", "spine_stabilisation_rate", "maturing_spine_loss_rate",
                                                  "spine_consolidation_rate", "stable_spine_loss_rate")}
    pools = np.empty((len(t), 3))
    pools[0] = [_col(tc, c)[keep][0] for c in ("spine_new", "spine_maturing", "spine_stable")]
    losses = np.empty((len(t), 3))
    for i in range(len(t)):
        kn, st, km, kc, ks = (rate[c][i] for c in rate)
        losses[i] = (kn, km, ks)
        if i + 1 < len(t):
            a = np.array([[-(kn + st), 0.0, 0.0], [st, -(km + kc), 0.0], [0.0, kc, -ks]])
            pools[i + 1] = expm(a * (t[i + 1] - t[i])) @ pools[i]
    return t, 24.0 * np.sum(losses * pools, axis=1) / np.sum(pools, axis=1)


def ec50(concentrations, responses, level: float | None = None) -> float:
    """Concentration at which the response first reaches `level` (default half the largest), log-interpolated."""
    c, r = np.asarray(concentrations, float), np.asarray(responses, float)
    order = np.argsort(c)
    c, r = c[order], r[order]
    lev = 0.5 * np.max(r) if level is None else level
    above = np.nonzero(r >= lev)[0]
    if len(above) == 0 or above[0] == 0:
        return math.nan
    j = above[0]
    f = (lev - r[j - 1]) / (r[j] - r[j - 1])
    return float(math.exp(math.log(c[j - 1]) + f * (math.log(c[j]) - math.log(c[j - 1]))))


def curve_fraction(t, x, times, values, errors, error_factor: float = 1.0, vehicle=None, compare: str = "fold") -> float:
    """Fraction of a measured curve's points that the simulated readout meets within error_factor x their error bar.

    compare: "fold" (x itself), "fold_vehicle" (x / vehicle), "pct_vehicle" (100 (x - vehicle) / vehicle),
    "fraction_of_peak_excess" ((x - x(0)) / (max x - x(0)), for curves published as a fraction of their peak).
    """
    t, x = np.asarray(t, float), np.asarray(x, float)
    if compare in ("fold_vehicle", "pct_vehicle"):
        if vehicle is None:
            raise PlasticityError(f"curve compare {compare!r} needs the vehicle run")
        v = np.asarray(vehicle, float)
        x = x / v if compare == "fold_vehicle" else 100.0 * (x - v) / v
    elif compare == "fraction_of_peak_excess":
        span = float(np.max(x) - x[0])
        if span <= 0:
            return 0.0
        x = (x - x[0]) / span
    elif compare != "fold":
        raise PlasticityError(f"unknown curve compare {compare!r}; expected one of {', '.join(CURVE_COMPARE)}")
    sim = np.interp(np.asarray(times, float), t, x)
    ok = np.abs(sim - np.asarray(values, float)) <= float(error_factor) * np.asarray(errors, float) + 1e-12
    return float(np.mean(ok))


# ------------------------------------------------------------------------------------------ targets as data
@dataclass(frozen=True)
class Experiment:
    """One simulation setting of the validation table."""

    name: str
    regimen: tuple[str, ...]
    species: str
    hours: float
    step_min: float = 6.0
    genotype: str = "wild_type"
    cut: tuple[str, ...] = ()
    scale: tuple[tuple[str, float], ...] = ()
    clamp: tuple[str, ...] = ()
    params: tuple[tuple[str, float], ...] = ()
    condition: str = "none"

    def key(self, c: float | None = None, vehicle: bool = False) -> str:
        reg = [] if vehicle else [d.replace("{c}", f"{c:g}") if c is not None else d for d in self.regimen]
        d = {k: v for k, v in vars(self).items() if k != "name"}
        d["regimen"] = reg
        return json.dumps(d, sort_keys=True, default=list)


@dataclass(frozen=True)
class Target:
    """One row of the validation table."""

    id: str
    item: int
    title: str
    confidence: str
    kind: str
    expected: str
    source: str
    unit: str = ""
    low: float = -math.inf
    high: float = math.inf
    experiment: str | None = None
    reference: str | None = None
    note: str = ""
    reason: str = ""
    options: dict = field(default_factory=dict)
    set: str = "calibration"
    paper: str = ""
    reading: str = ""


def _experiment(name: str, e: object) -> Experiment:
    where = f"experiments.{name}"
    if not isinstance(e, dict):
        raise ModelFileError(FILE, where, "expected a table")
    unknown = set(e) - EXPERIMENT_KEYS
    if unknown:
        raise ModelFileError(FILE, where, f"unexpected key(s) {sorted(unknown)}; allowed: {sorted(EXPERIMENT_KEYS)}")
    for req in ("regimen", "species", "hours"):
        if req not in e:
            raise ModelFileError(FILE, f"{where}.{req}", "missing")
    if not isinstance(e["regimen"], list) or not all(isinstance(d, str) for d in e["regimen"]):
        raise ModelFileError(FILE, f"{where}.regimen", f"expected a list of dose strings, got {e['regimen']!r}")
    for k in ("hours", "step_min"):
        v = e.get(k, 1.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ModelFileError(FILE, f"{where}.{k}", f"expected a positive number, got {v!r}")
    return Experiment(
        name, tuple(e["regimen"]), str(e["species"]), float(e["hours"]), float(e.get("step_min", 6.0)), str(e.get("genotype", "wild_type")),
        tuple(e.get("cut", ())), tuple(sorted(dict(e.get("scale", {})).items())), tuple(e.get("clamp", ())), tuple(sorted(dict(e.get("params", {})).items())),
        str(e.get("condition", "none")),
    )


KIND_KEYS: dict[str, set[str]] = {
    "value_at": {"column", "at_h"},
    "peak": {"column"},
    "peak_time": {"column"},
    "fraction_of_peak_at": {"column", "at_h"},
    "return_time": {"column"},
    "halflife": {"column"},
    "tau": {"column"},
    "max_abs_drift_pct": {"column"},
    "auc": {"column"},
    "excess_at": {"column", "at_h"},
    "excess_peak": {"column"},
    "change_pct": {"column"},
    "preexisting_elimination_change_pct": {"window"},
    "conc_ng_ml": {"compound"},
    "ec50": {"column", "concentrations"},
    "ratio_to_reference": {"metric"},
    "less_than": {"metric", "reference"},
    "difference": {"metric", "reference"},
    "curve": {"column", "times_h", "values", "errors"},
}
OPTION_KEYS = {"column", "at_h", "window", "stat", "baseline", "threshold", "threshold_fraction", "from_h", "compound", "where",
               "concentrations", "level", "metric", "reference_metric", "kind", "reference", "times_h", "values", "errors", "compare",
               "error_factor"}
STATS = ("max_abs", "max", "min", "mean")


def _check_metric(spec: object, where: str, top: bool = False) -> None:
    if not isinstance(spec, dict):
        raise ModelFileError(FILE, where, f"expected a table with a kind, got {spec!r}")
    kind = spec.get("kind")
    if kind not in KIND_KEYS:
        raise ModelFileError(FILE, f"{where}.kind", f"unknown observation kind {kind!r}; expected one of {sorted(KIND_KEYS)}")
    keys = set(spec) - (TARGET_KEYS if top else set())
    unknown = keys - OPTION_KEYS
    if unknown:
        raise ModelFileError(FILE, where, f"unexpected key(s) {sorted(unknown)} for kind {kind!r}")
    for req in KIND_KEYS[kind] - ({"reference"} if not top and kind != "difference" else set()):
        if req not in spec:
            raise ModelFileError(FILE, f"{where}.{req}", f"missing (kind {kind!r} needs {sorted(KIND_KEYS[kind])})")
    if "stat" in spec and spec["stat"] not in STATS + ("peak",):
        raise ModelFileError(FILE, f"{where}.stat", f"expected one of {STATS + ('peak',)}, got {spec['stat']!r}")
    if "window" in spec and not (isinstance(spec["window"], list) and len(spec["window"]) == 2):
        raise ModelFileError(FILE, f"{where}.window", f"expected [start_h, end_h], got {spec['window']!r}")
    if kind == "curve":
        pts = [spec.get(k) for k in ("times_h", "values", "errors")]
        if not all(isinstance(p, list) and p and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p) for p in pts):
            raise ModelFileError(FILE, f"{where}.times_h", "a curve needs non-empty lists of numbers times_h, values and errors")
        if len({len(p) for p in pts}) != 1:
            raise ModelFileError(FILE, f"{where}.values", f"times_h, values and errors differ in length ({', '.join(str(len(p)) for p in pts)})")
        if any(e < 0 for e in pts[2]):
            raise ModelFileError(FILE, f"{where}.errors", "error bars must be >= 0")
        if spec.get("compare", "fold") not in CURVE_COMPARE:
            raise ModelFileError(FILE, f"{where}.compare", f"expected one of {', '.join(CURVE_COMPARE)}, got {spec.get('compare')!r}")
    for sub in ("metric", "reference_metric"):
        if sub in spec:
            _check_metric(spec[sub], f"{where}.{sub}")


def _target(i: int, row: object, experiments: Mapping[str, Experiment]) -> Target:
    if not isinstance(row, dict):
        raise ModelFileError(FILE, f"targets[{i}]", "expected a table")
    where = f"targets[{i}] (id {row.get('id', '?')})"
    for req in ("id", "item", "title", "confidence", "kind", "expected", "source"):
        if req not in row:
            raise ModelFileError(FILE, f"{where}.{req}", "missing")
    if row["confidence"] not in CONFIDENCE:
        raise ModelFileError(FILE, f"{where}.confidence", f"expected 'R' or 'C', got {row['confidence']!r}")
    if "reading" in row and row["reading"] not in READINGS:
        raise ModelFileError(FILE, f"{where}.reading", f"expected one of {', '.join(READINGS)}, got {row['reading']!r}")
    if "paper" in row and not (isinstance(row["paper"], str) and row["paper"].strip()):
        raise ModelFileError(FILE, f"{where}.paper", f"expected a paper key such as 'Li 2010', got {row['paper']!r}")
    if row.get("set", "calibration") not in SETS:
        raise ModelFileError(FILE, f"{where}.set", f"expected one of {', '.join(SETS)}, got {row.get('set')!r}")
    kind = row["kind"]
    opts = {k: v for k, v in row.items() if k not in TARGET_KEYS}
    if kind in SKIP_KINDS:
        if not row.get("reason"):
            raise ModelFileError(FILE, f"{where}.reason", f"kind {kind!r} needs a reason")
        low, high = math.nan, math.nan
    else:
        _check_metric(row, where, top=True)
        for key in ("experiment", "reference"):
            if key in row and row[key] not in experiments:
                raise ModelFileError(FILE, f"{where}.{key}", f"unknown experiment {row[key]!r}")
        for sub in ("metric", "reference_metric"):  # a nested difference names its own reference experiment
            ref = row.get(sub, {}).get("reference") if isinstance(row.get(sub), dict) else None
            if ref is not None and ref not in experiments:
                raise ModelFileError(FILE, f"{where}.{sub}.reference", f"unknown experiment {ref!r}")
        if "experiment" not in row:
            raise ModelFileError(FILE, f"{where}.experiment", "missing")
        if kind == "less_than":
            low, high = -math.inf, 0.0
        else:
            rng = row.get("range")
            if not (isinstance(rng, list) and len(rng) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)):
                raise ModelFileError(FILE, f"{where}.range", f"expected [low, high] (inf allowed), got {rng!r}")
            low, high = float(rng[0]), float(rng[1])
            if low > high:
                raise ModelFileError(FILE, f"{where}.range", f"low {low} is above high {high}")
        unit = str(row.get("unit", ""))
        if kind in ("peak_time", "return_time", "halflife", "tau") and unit not in TIME_UNITS:
            raise ModelFileError(FILE, f"{where}.unit", f"a time needs one of {sorted(TIME_UNITS)}, got {unit!r}")
        if kind == "ec50" and unit not in CONC_UNITS:
            raise ModelFileError(FILE, f"{where}.unit", f"a concentration needs one of {sorted(CONC_UNITS)}, got {unit!r}")
    return Target(str(row["id"]), int(row["item"]), str(row["title"]), row["confidence"], kind, str(row["expected"]), str(row["source"]),
                  str(row.get("unit", "")), low, high, row.get("experiment"), row.get("reference"), str(row.get("note", "")),
                  str(row.get("reason", "")), {**opts, "factor": row.get("factor", 1.0)}, str(row.get("set", "calibration")),
                  str(row.get("paper", "")), str(row.get("reading", "")))


def load_targets(path: str | Path | None = None) -> tuple[list[Target], dict[str, Experiment]]:
    """Read and check models/validation.toml; every problem is a ModelFileError naming the row and key."""
    from ..model.files import _load_toml, models_dir

    path = Path(path) if path else models_dir() / FILE
    data = _load_toml(path)
    raw = data.get("experiments", {})
    if not isinstance(raw, dict):
        raise ModelFileError(FILE, "experiments", "expected a table of experiments")
    experiments = {n: _experiment(n, e) for n, e in raw.items()}
    rows = data.get("targets")
    if not isinstance(rows, list) or not rows:
        raise ModelFileError(FILE, "targets", "expected a non-empty array of [[targets]] tables")
    targets = [_target(i, r, experiments) for i, r in enumerate(rows)]
    seen: set[str] = set()
    for t in targets:
        if t.id in seen:
            raise ModelFileError(FILE, f"targets (id {t.id})", "duplicate id")
        seen.add(t.id)
    return targets, experiments


# ------------------------------------------------------------------------------------------ running experiments
class Runner:
    """Runs experiments once per validate() call (identical settings share a run) and returns time courses."""

    def __init__(self, experiments: Mapping[str, Experiment], params: Mapping[str, float] | None = None):
        self.experiments = experiments
        self.params = dict(params or {})
        self.cache: dict[str, object] = {}

    def result(self, name: str, c: float | None = None, vehicle: bool = False):
        from .._simulate import simulate
        from ..model.compose import Clamp
        from ..model.interventions import parse_clamp

        e = self.experiments[name]
        key = e.key(c, vehicle) + json.dumps(self.params, sort_keys=True)
        if key not in self.cache:
            if "{c}" in "".join(e.regimen) and c is None and not vehicle:
                raise PlasticityError(f"experiment '{name}' is a concentration series; only an ec50 observation can use it")
            regimen = [] if vehicle else [d.replace("{c}", f"{c:g}") if c is not None else d for d in e.regimen]
            clamp: list[Clamp] = parse_clamp(list(e.clamp))
            times = np.round(np.arange(0.0, e.hours + 1e-9, e.step_min / 60.0), 10)
            try:
                self.cache[key] = simulate(regimen, species=e.species, hours=e.hours, params={**dict(e.params), **self.params}, times=times,
                                           genotype=e.genotype, cut=e.cut, scale=dict(e.scale), clamp=clamp, condition=e.condition)
            except PlasticityError as exc:
                self.cache[key] = exc
        out = self.cache[key]
        if isinstance(out, Exception):
            raise out
        return out

    def run(self, name: str, c: float | None = None) -> pd.DataFrame:
        return self.result(name, c).timecourse

    def vehicle(self, name: str) -> pd.DataFrame:
        return self.result(name, vehicle=True).timecourse

    def molar_mass(self, compound: str) -> float:
        from ..model.files import load_library

        return float(load_library().compound(compound).molar_mass.value)


def _col(tc: pd.DataFrame, column: str) -> np.ndarray:
    if column not in tc:
        raise PlasticityError(f"no readout '{column}' in this run (columns: {', '.join(tc.columns)})")
    return tc[column].to_numpy()


def observe(spec: Mapping, exp: str, runner, unit: str = "") -> float:
    """Evaluate one observation kind on an experiment; times come back in `unit` (h, min, d), concentrations in nM or uM."""
    kind = spec["kind"]
    col, win = spec.get("column"), spec.get("window")
    if kind == "ratio_to_reference":
        ref = spec.get("reference") or exp
        a = observe(spec["metric"], exp, runner)
        b = observe(spec.get("reference_metric", spec["metric"]), ref, runner)
        return a / b if b != 0 else math.nan
    if kind in ("less_than", "difference"):  # difference: the metric on `experiment` minus the same metric on `reference`
        return observe(spec["metric"], exp, runner) - observe(spec["metric"], spec["reference"], runner)
    if kind == "ec50":
        conc = [float(c) for c in spec["concentrations"]]
        resp = []
        for c in conc:
            tc = runner.run(exp, c)
            x = _col(tc, col) - float(spec.get("baseline", 0.0))
            resp.append(peak(tc["time_h"], x, win) if spec.get("stat") == "peak" else value_at(tc["time_h"], x, spec["at_h"]))
        return ec50(conc, resp, spec.get("level")) * CONC_UNITS.get(unit, 1.0)
    if kind == "conc_ng_ml":
        tc = runner.run(exp)
        x = _col(tc, f"{spec['compound']}_{spec.get('where', 'plasma')}_nM") * runner.molar_mass(spec["compound"]) / 1000.0
        return value_at(tc["time_h"], x, spec["at_h"]) if "at_h" in spec else peak(tc["time_h"], x, win)
    tc = runner.run(exp)
    if kind == "curve":
        veh = _col(runner.vehicle(exp), col) if spec.get("compare") in ("fold_vehicle", "pct_vehicle") else None
        return curve_fraction(tc["time_h"], _col(tc, col), spec["times_h"], spec["values"], spec["errors"], spec.get("error_factor", 1.0), veh,
                              spec.get("compare", "fold"))
    if kind == "preexisting_elimination_change_pct":
        t, run = preexisting_elimination(tc, float(win[0]))
        _, veh = preexisting_elimination(runner.vehicle(exp), float(win[0]))
        _, pw = _window(t, 100.0 * (run - veh) / veh, win)
        return _summary(pw, spec.get("stat", "max_abs"))
    t, x = tc["time_h"].to_numpy(), _col(tc, col)
    tu = TIME_UNITS.get(unit, 1.0)
    if kind in ("excess_at", "excess_peak", "change_pct") or spec.get("baseline") == "vehicle":
        v = _col(runner.vehicle(exp), col)
        if kind == "excess_at":
            return value_at(t, x - v, spec["at_h"])
        if kind == "excess_peak":
            return peak(t, x - v, win)
        if kind == "change_pct":
            pct = 100.0 * (x - v) / v
            if "at_h" in spec:
                return value_at(t, pct, spec["at_h"])
            _, pw = _window(t, pct, win)
            return _summary(pw, spec.get("stat", "max_abs"))
        x = x - v
    elif isinstance(spec.get("baseline"), (int, float)):
        x = x - float(spec["baseline"])
    if kind == "value_at":
        return value_at(t, x, spec["at_h"])
    if kind == "peak":
        return peak(t, x, win)
    if kind == "peak_time":
        return peak_time(t, x, win) * tu
    if kind == "fraction_of_peak_at":
        return fraction_of_peak_at(t, x, spec["at_h"])
    if kind == "return_time":
        return return_time(t, x, spec.get("threshold"), spec.get("threshold_fraction"), spec.get("from_h", 0.0)) * tu
    if kind in ("halflife", "tau"):
        h = halflife(t, x, win)
        return (h if kind == "halflife" else h / math.log(2)) * tu
    if kind == "max_abs_drift_pct":
        return max_abs_drift_pct(t, x)
    if kind == "auc":
        return auc(t, x, win)
    raise PlasticityError(f"unknown observation kind {kind!r}")


def _summary(x: np.ndarray, stat: str) -> float:
    """One number from a windowed series: max_abs, max, min or mean (STATS)."""
    return float({"max_abs": np.max(np.abs(x)), "max": np.max(x), "min": np.min(x), "mean": np.mean(x)}[stat])


def _judge(t: Target, sim: float) -> tuple[str, str]:
    if not math.isfinite(sim):
        return "miss", "undefined (never reached the level, or no decay to fit)"
    if t.kind == "less_than":
        return ("pass", "") if sim < 0 else ("miss", f"difference {sim:+.3g} is not below 0")
    if t.low <= sim <= t.high:
        return "pass", ""
    side = "below" if sim < t.low else "above"
    return "miss", f"{sim:.3g} is {side} the accepted range [{t.low:g}, {t.high:g}]"


def _select(targets: list[Target], ids: Iterable[str] | None) -> list[Target]:
    if ids is None:
        return targets
    ids = [str(i) for i in ids]
    out = [t for t in targets if any(t.id == i or re.fullmatch(rf"{re.escape(i)}[a-z]+", t.id) for i in ids)]
    known = {t.id for t in targets} | {str(t.item) for t in targets}
    bad = [i for i in ids if i not in known]
    if bad:
        from .._errors import UnknownNameError

        raise UnknownNameError("validation target", bad[0], sorted(known))
    return out


def pass_rates(df: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """(passes, targets judged) per set: the calibration set's rate says how well the fit went, the
    prediction set's how well the model predicts what it was never fitted to."""
    judged = df[df["status"].isin(["pass", "miss"])]
    return {s: (int((judged[judged["set"] == s]["status"] == "pass").sum()), int((judged["set"] == s).sum())) for s in SETS}


def validate(ids: Iterable[str] | None = None, *, params: Mapping[str, float] | None = None, path: str | Path | None = None,
             runner_factory: Callable[..., Runner] = Runner, progress: bool | None = None, _details: dict | None = None) -> pd.DataFrame:
    """Run the validation targets (all, or those whose id or item number is in `ids`) and judge each one.

    Returns a DataFrame with id, item, set ("calibration" or "prediction"), title, confidence, expected, simulated, low, high, unit, status
    ("pass" / "miss" / "not run" / "out of scope"), source and note. `params` overrides model parameters in every run.
    `progress`: a bar of targets judged (tqdm.auto); None, the default, shows it in a notebook or on a terminal.
    """
    bar = progress_bar(None, desc="validate", unit="target", enabled=progress)  # shown while the targets are read (seconds)
    targets, experiments = load_targets(path)
    runner = runner_factory(experiments, params)
    rows = []
    chosen = list(_select(targets, ids))
    bar.reset(total=len(chosen))
    for t in chosen:
        sim, note = math.nan, t.note
        if t.kind in SKIP_KINDS:
            status, note = SKIP_KINDS[t.kind], f"{SKIP_KINDS[t.kind]}: {t.reason}"
        else:
            try:
                spec = {"kind": t.kind, "reference": t.reference, **t.options}
                sim = float(observe(spec, t.experiment, runner, t.unit)) * float(t.options.get("factor", 1.0))
                status, why = _judge(t, sim)
                if why:
                    note = f"{why}. {t.reason} {note}".strip() if t.reason else f"{why}. {note}".strip()
            except PlasticityError as exc:
                status, note = "not run", f"not run: {exc}"
        rows.append({"id": t.id, "item": t.item, "set": t.set, "title": t.title, "confidence": t.confidence, "expected": t.expected, "simulated": sim,
                     "low": t.low, "high": t.high, "unit": t.unit, "status": status, "source": t.source, "note": note, "paper": t.paper})
        bar.update(1)
    bar.close()
    if _details is not None:
        _details["runner"] = runner
    return pd.DataFrame(rows, columns=COLUMNS)
