"""Per-member metrics from trajectories: functions of (time array, readout arrays).

Every function takes `t` (n_times,) and readouts of shape (n_times,) for one run or
(members, n_times) for a batch, and returns a float or a (members,) array accordingly.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._errors import PlasticityError, UnknownNameError

SPINE_HOURS = (24, 48, 72)


def _rows(x) -> tuple[np.ndarray, bool]:
    arr = np.asarray(x, dtype=float)
    return (arr[None, :], True) if arr.ndim == 1 else (arr, False)


def _trapz(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.sum(0.5 * (y[:, 1:] + y[:, :-1]) * np.diff(t), axis=1)


def _back(v: np.ndarray, single: bool):
    return float(v[0]) if single else v


def _check_time(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or t.shape[0] != x.shape[-1]:
        raise PlasticityError(f"t: expected a 1-D time array of length {x.shape[-1]} (the readout's last axis), got shape {t.shape}")
    return t


def value_at(t, x, time_h: float):
    """Readout at `time_h` (linear interpolation between output rows)."""
    X, single = _rows(x)
    t = _check_time(t, X)
    if not t[0] - 1e-9 <= time_h <= t[-1] + 1e-9:
        raise PlasticityError(f"time_h: {time_h!r} h is outside the simulated window {t[0]:g}..{t[-1]:g} h")
    j = int(np.clip(np.searchsorted(t, time_h), 1, len(t) - 1)) if len(t) > 1 else 0
    if len(t) == 1:
        return _back(X[:, 0], single)
    w = (time_h - t[j - 1]) / (t[j] - t[j - 1]) if t[j] > t[j - 1] else 1.0
    return _back(X[:, j - 1] + w * (X[:, j] - X[:, j - 1]), single)


def percent_change(t, x, vehicle, time_h: float):
    """% change of `x` against `vehicle` at `time_h` (spine gain when x is spine_density)."""
    a, v = value_at(t, x, time_h), value_at(t, vehicle, time_h)
    return 100.0 * (a - v) / v


def peak(t, x, after_h: float = 0.0):
    """(peak value, time of the peak in h) at or after `after_h`."""
    X, single = _rows(x)
    t = _check_time(t, X)
    sel = t >= after_h
    if not np.any(sel):
        raise PlasticityError(f"after_h: no output time at or after {after_h!r} h (last is {t[-1]:g} h)")
    Xs, ts = X[:, sel], t[sel]
    i = np.argmax(Xs, axis=1)
    return _back(Xs[np.arange(len(i)), i], single), _back(ts[i], single)


def auc(t, x, baseline=0.0, after_h: float = 0.0):
    """Area between `x` and `baseline` (a number or one per member) over t >= after_h (unit x h)."""
    X, single = _rows(x)
    t = _check_time(t, X)
    sel = t >= after_h
    base = np.asarray(baseline, dtype=float).reshape(-1, 1) if np.ndim(baseline) else float(baseline)
    return _back(_trapz(X[:, sel] - base, t[sel]), single)


def time_above(t, x, baseline=1.0, frac: float = 0.05, after_h: float = 0.0):
    """Hours (on the output grid) during which x > baseline x (1 + frac), over t >= after_h."""
    X, single = _rows(x)
    t = _check_time(t, X)
    sel = t >= after_h
    ts, Xs = t[sel], X[:, sel]
    base = np.asarray(baseline, dtype=float).reshape(-1, 1) if np.ndim(baseline) else float(baseline)
    return _back(_trapz((Xs > base * (1.0 + frac)).astype(float), ts), single)


def standard_metrics(t, readouts: Mapping[str, np.ndarray], vehicle: Mapping[str, np.ndarray]) -> dict[str, np.ndarray | float]:
    """The sweep's default metrics for one run or a batch.

    readouts/vehicle: {column: (n_times,) or (members, n_times)} of the dosed and the vehicle run.
    """
    for need in ("spine_density", "glutamate", "mtorc1"):
        if need not in readouts:
            raise UnknownNameError("readout", need, readouts, context="metrics")
    t = np.asarray(t, dtype=float)
    out: dict[str, np.ndarray | float] = {}
    for h in SPINE_HOURS:
        if t[0] - 1e-9 <= h <= t[-1] + 1e-9:
            out[f"spine_gain_{h}h_pct"] = percent_change(t, readouts["spine_density"], vehicle["spine_density"], h)
    for name in ("glutamate", "mtorc1"):
        base = value_at(t, vehicle[name], max(t[0], 0.0))
        out[f"{name}_peak_fold"], out[f"{name}_peak_h"] = peak(t, readouts[name])
        out[f"{name}_auc"] = auc(t, readouts[name], base)
        out[f"{name}_time_above_h"] = time_above(t, readouts[name], base)
    if "hallucinogenic_signal" in readouts:
        out["hallucinogenic_exposure"] = auc(t, readouts["hallucinogenic_signal"], 0.0)
    return out


METRICS = (
    "spine_gain_24h_pct", "spine_gain_48h_pct", "spine_gain_72h_pct",
    "glutamate_peak_fold", "glutamate_peak_h", "glutamate_auc", "glutamate_time_above_h",
    "mtorc1_peak_fold", "mtorc1_peak_h", "mtorc1_auc", "mtorc1_time_above_h", "hallucinogenic_exposure",
)

# each metric of standard_metrics: (name pattern, unit, definition); docs/parameters-and-units.md is generated from it
METRIC_DEFINITIONS = (
    ("spine_gain_<N>h_pct", "%", "spine density against the vehicle run at N h (24, 48 and 72, where simulated): "
     "100 x (dosed - vehicle) / vehicle"),
    ("<readout>_peak_fold", "fold", "highest value of the readout (glutamate, mtorc1) over the run, as fold over its drug-free baseline"),
    ("<readout>_peak_h", "h", "time of that highest value"),
    ("<readout>_auc", "fold·h", "signed area between the readout and the vehicle run's level at t = 0, over t >= 0 (trapezoids on "
     "the output grid): negative where the readout falls below vehicle, as glutamate does at anaesthetic doses"),
    ("<readout>_time_above_h", "h", "hours (on the output grid, t >= 0) during which the readout is more than 5% above the vehicle "
     "run's level at t = 0"),
    ("hallucinogenic_exposure", "h", "area under hallucinogenic_signal (0..1, dimensionless) over t >= 0: hours-equivalent of "
     "full hallucinogenic 5-HT2A engagement"),
)
