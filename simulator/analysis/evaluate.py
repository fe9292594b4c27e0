"""Shared pieces of the analysis tools: readout specs, time-course metrics, batched evaluation.

Every analysis (dose-response, sensitivity, fitting, attribution) evaluates the model for many
parameter sets through the batched engine (`run_batch`), so it follows the same path as
`simulate` and `sweep`. "spine_gain" is the % change of spine density against the vehicle run
of the same parameters, computed member by member.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._errors import PlasticityError, SimulationError, UnknownNameError
from .._limits import MAX_ANALYSIS_RUNS, MAX_BATCH_VALUES, MAX_OUTPUT_ROWS, MAX_SPAN_H
from .._simulate import DEGENERATE_FRACTION, Setup, check_dose_window, setup
from ..engine.batch import check_readouts, observe_batch, run_batch
from ..engine.scipy_path import check_times
from . import metrics as _m

SPINE_GAIN = "spine_gain"
METRICS = ("peak", "time_to_peak", "auc", "time_above_baseline", "half_life")


@dataclass(frozen=True)
class ReadoutSpec:
    """A scalar readout of a time course: `column` summarised by `metric` (at `time_h` for "at")."""

    column: str
    metric: str  # "at" | one of METRICS
    time_h: float = math.nan

    @classmethod
    def parse(cls, text: str) -> ReadoutSpec:
        """'spine_gain_24h_pct', 'mtorc1_24h', 'mtorc1_peak', 'glutamate_auc', 'spine_gain_half_life', ...

        Spine gain at a time is named `spine_gain_<N>h_pct`, as in `Result.summary()` and sweep tables
        ('spine_gain_24h' is read as the same)."""
        m = re.fullmatch(r"(.+?)_(\d+(?:\.\d+)?)h(_pct)?", text)
        if m and (m[3] is None or m[1] == SPINE_GAIN):
            return cls(m[1], "at", float(m[2]))
        for metric in sorted(METRICS, key=len, reverse=True):
            if text.endswith("_" + metric):
                return cls(text[: -len(metric) - 1], metric)
        raise PlasticityError(
            f"readout: expected '<column>_<N>h' (e.g. spine_gain_24h_pct, mtorc1_24h) or '<column>_<metric>' with metric one of {', '.join(METRICS)}, got {text!r}"
        )

    @property
    def name(self) -> str:
        """The one name of this readout: 'spine_gain_24h_pct', 'mtorc1_24h', 'mtorc1_peak'."""
        if self.metric == "at":
            return f"{self.column}_{self.time_h:g}h" + ("_pct" if self.column == SPINE_GAIN else "")
        return f"{self.column}_{self.metric}"

    def value(self, t: np.ndarray, y: np.ndarray, baseline: np.ndarray | float) -> np.ndarray:
        """The metric over the last axis of y (members, times) -> (members,)."""
        y = np.atleast_2d(y)
        if self.metric == "at":
            if not t[0] - 1e-9 <= self.time_h <= t[-1] + 1e-9:
                raise PlasticityError(f"readout: time {self.time_h:g} h is outside the simulated {t[0]:g}..{t[-1]:g} h")
            return np.array([np.interp(self.time_h, t, row) for row in y])
        return np.array([timecourse_metrics(t, row, b)[self.metric] for row, b in zip(y, np.broadcast_to(baseline, len(y)), strict=True)])


def timecourse_metrics(t: np.ndarray, y: np.ndarray, baseline: float, *, after_h: float = 0.0, rel_tol: float = 0.01) -> dict[str, float]:
    """Peak, time to peak, AUC over baseline, time above baseline and half-life of the effect.

    `half_life` is the time from the peak until the excess over baseline halves (interpolated;
    extrapolated by a log-linear fit of the decaying tail when the run ends first; inf if the
    excess does not decay). "Above baseline" means above baseline x (1 + `rel_tol`) (for a
    baseline <= 0, such as spine gain, simply above it).
    """
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    sel = t >= after_h
    t, y = t[sel], y[sel]
    if len(t) < 2:
        raise PlasticityError(f"metrics: need at least two output times at or after {after_h:g} h")
    pk, tpk = _m.peak(t, y)
    i = int(np.argmax(y))
    return {
        "peak": pk,
        "time_to_peak": tpk,
        "auc": _m.auc(t, y, baseline),
        "time_above_baseline": _m.time_above(t, y, baseline, frac=rel_tol) if baseline > 0 else _m.time_above(t, y - baseline, 0.0, frac=0.0),
        "half_life": _half_life(t[i:], y[i:] - baseline),
    }


def _half_life(t: np.ndarray, ex: np.ndarray) -> float:
    if len(t) < 2 or ex[0] <= 0:
        return math.nan if ex[0] <= 0 else math.inf
    below = np.nonzero(ex <= 0.5 * ex[0])[0]
    if len(below):
        k = int(below[0])
        return float(np.interp(0.5 * ex[0], [ex[k], ex[k - 1]], [t[k], t[k - 1]]) - t[0])
    tail = slice(len(t) // 2, None)
    if np.all(ex[tail] > 0) and len(t[tail]) >= 2:
        slope = np.polyfit(t[tail], np.log(ex[tail]), 1)[0]
        if slope < 0:
            return float(t[len(t) // 2] - t[0] + (math.log(ex[len(t) // 2] / (0.5 * ex[0]))) / -slope)
    return math.inf


def metrics(result, column: str = SPINE_GAIN, *, after_h: float = 0.0) -> dict[str, float]:
    """Metrics of one readout of a Result: peak, time_to_peak, auc, time_above_baseline,
    half_life (of the effect after its peak) and the value at 24, 48 and 72 h where simulated
    (`spine_gain_24h_pct` ... for spine gain, `<column>_24h` ... for another readout).

    `column` is a timecourse column or "spine_gain" (% vs vehicle); the baseline is the vehicle
    run (0 for spine_gain).
    """
    tc = result.timecourse
    t = tc["time_h"].to_numpy()
    if column == SPINE_GAIN and "spine_density" not in tc:  # an imported model: name one of its own columns
        raise UnknownNameError("readout", column, list(tc.columns[1:]), context="metrics of an imported model (spine_gain is the built-in model's)")
    if column == SPINE_GAIN:
        veh = result.vehicle.timecourse["spine_density"].to_numpy()
        y, base = 100.0 * (tc["spine_density"].to_numpy() - veh) / veh, 0.0
    else:
        if column not in tc:
            raise UnknownNameError("readout", column, list(tc.columns[1:]) + [SPINE_GAIN])
        y = tc[column].to_numpy()
        base = float(result.vehicle.timecourse[column].iloc[0]) if column in result.vehicle.timecourse else 0.0
    out = timecourse_metrics(t, y, base, after_h=after_h)
    for h in (24, 48, 72):
        if t[0] <= h <= t[-1] + 1e-9:
            out[ReadoutSpec(column, "at", h).name] = float(np.interp(h, t, y))
    return out


# ---------------------------------------------------------------- batched evaluation
def check_params(s: Setup, names: Sequence[str]) -> list[int]:
    """Indices of `names` in the parameter vector; unknown names and regimen inputs are errors."""
    known = [n for n in s.flat.params if n not in s.flat.inputs]
    out = []
    for n in names:
        if n not in known:
            raise UnknownNameError("parameter", n, known, context="params")
        out.append(s.flat.params.index(n))
    return out


def param_range(s: Setup, name: str) -> tuple[float, float]:
    """The plausible range declared for a parameter in models/."""
    meta = s.flat.meta.get(name)
    if meta is None or meta.range is None:
        raise PlasticityError(f"params: '{name}' has no range in models/ (needed for sampling); pass bounds explicitly")
    return float(meta.range[0]), float(meta.range[1])


def _vehicle_setup(s: Setup) -> Setup:
    iv = s.interventions
    params = {n: v for n, v in s.values.items() if n in s.library.pathway.parameters or n.startswith("condition_")}
    return setup([], species=s.species, params=params, genotype=iv.genotype, cut=iv.cut, scale=dict(iv.scale), clamp=iv.clamp, library=s.library,
                 condition=iv.condition)


def start_time(s: Setup) -> float:
    """The time before every event, where each run sits at its drug-free steady state."""
    return min([s.regimen.start_h, 0.0] + [e.time_h for e in s.flat.events if math.isfinite(e.time_h)]) - 1.0


def check_batch(s: Setup, members: int, times: np.ndarray) -> None:
    """The limits `simulate` and `sweep` apply, applied to an analysis batch before any run: the span and the
    number of output times, the runs, and the states the batch holds."""
    start = start_time(s)
    if float(np.max(np.abs(times))) > MAX_SPAN_H or float(times[-1]) - start > MAX_SPAN_H:
        raise PlasticityError(f"times: {times[0]:g} to {times[-1]:g} h spans more than {MAX_SPAN_H:,.0f} h (MAX_SPAN_H)")
    if len(times) > MAX_OUTPUT_ROWS:
        raise PlasticityError(f"times: {len(times):,} output times exceed {MAX_OUTPUT_ROWS:,} (MAX_OUTPUT_ROWS)")
    if members > MAX_ANALYSIS_RUNS:
        raise PlasticityError(f"{members:,} runs exceed the limit of {MAX_ANALYSIS_RUNS:,} for one analysis (MAX_ANALYSIS_RUNS); "
                              "use fewer samples, or a sweep with out= for more")
    if members * (len(times) + 1) * len(s.flat.states) > MAX_BATCH_VALUES:
        raise PlasticityError(f"{members:,} runs x {len(times):,} times x {len(s.flat.states)} states exceed {MAX_BATCH_VALUES:,} values "
                              "held at once (MAX_BATCH_VALUES); use fewer times or samples")


def evaluate(
    s: Setup,
    names: Sequence[str],
    values: np.ndarray,
    times: Sequence[float],
    columns: Sequence[str],
    *,
    dose_scale: np.ndarray | float | None = None,
    strict: bool = True,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Readouts {column: (members, len(times))} for parameter sets `values` (members, len(names)).

    Columns are timecourse readouts or "spine_gain". With `strict`, a failed member raises a
    SimulationError naming it; otherwise its rows are NaN and its status says why.
    """
    values = np.atleast_2d(np.asarray(values, float))
    if values.shape[1] != len(names):
        raise PlasticityError(f"values: expected shape (members, {len(names)}), got {values.shape}")
    times = check_times(times)
    check_batch(s, len(values), times)
    readouts = [r[0] for r in s.flat.readouts]
    for c in columns:
        if c != SPINE_GAIN and c not in readouts:
            raise UnknownNameError("readout", c, readouts + [SPINE_GAIN])
    check_dose_window(s.regimen, float(times[-1]), times_given=True, clamps=s.interventions.clamp)  # a later dose would be left out unseen
    grid = np.concatenate([[start_time(s)], times])
    idx = check_params(s, names)
    P = np.tile(s.p, (len(values), 1))
    P[:, idx] = values
    batch = run_batch(s, P, grid, dose_scale=dose_scale)
    Y, status = batch
    status = list(status)
    obs = observe_batch(s, Y, batch.params, batch.inputs)
    check_readouts(obs, grid, status, signed=hasattr(s.flat, "sbml_events"))  # the engine's own check: finite (non-negative for the built-in model)
    if SPINE_GAIN in columns and not s.interventions.clamp and "baseline_spine_density" in s.flat.params:
        base = batch.params[:, s.flat.params.index("baseline_spine_density")]
        for k in np.flatnonzero(obs["spine_density"][:, 0] < DEGENERATE_FRACTION * base):  # no vehicle to compare with
            if status[k] == "ok":
                status[k] = (f"failed: the drug-free spine density is {obs['spine_density'][k, 0]:.3g} spines/um, below "
                             f"{DEGENERATE_FRACTION:.1%} of the species' baseline {base[k]:g}: a % change against it means nothing")
                for v in obs.values():
                    v[k] = np.nan
    if strict and any(st != "ok" for st in status):
        k = next(i for i, st in enumerate(status) if st != "ok")
        raise SimulationError(f"{sum(st != 'ok' for st in status)} of {len(status)} runs failed; first: {dict(zip(names, values[k], strict=True))}: {status[k]}")
    out = {c: obs[c][:, 1:] for c in columns if c != SPINE_GAIN}
    if SPINE_GAIN in columns:
        veh = obs["spine_density"][:, :1] if not s.interventions.clamp else _vehicle_spines(s, names, values, grid)
        out[SPINE_GAIN] = 100.0 * (obs["spine_density"][:, 1:] / veh - 1.0)
    return out, list(status)


def _vehicle_spines(s: Setup, names: Sequence[str], values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Vehicle spine density per member under clamps (a clamp is an intervention, not a dose)."""
    v = _vehicle_setup(s)
    P = np.tile(v.p, (len(values), 1))
    keep = [i for i, n in enumerate(names) if n in v.flat.params]
    P[:, [v.flat.params.index(names[i]) for i in keep]] = values[:, keep]
    batch = run_batch(v, P, grid)
    return observe_batch(v, batch[0], batch.params, batch.inputs)["spine_density"][:, 1:]


def override_setup(s: Setup, params: Mapping[str, float]) -> Setup:
    """The same setup with some parameter values replaced (re-prepared)."""
    iv = s.interventions
    merged = {n: v for n, v in s.values.items() if n in s.library.pathway.parameters or n.startswith("condition_")}
    merged.update(params)
    return setup(s.regimen, species=s.species, params=merged, genotype=iv.genotype, cut=iv.cut, scale=dict(iv.scale), clamp=iv.clamp, library=s.library,
                 condition=iv.condition)
