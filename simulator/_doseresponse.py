"""Dose-response: simulate a dose range in one batch, fit Emax/EC50/Hill or locate an inverted U."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._analysis import SPINE_GAIN, ReadoutSpec, evaluate
from ._errors import PlasticityError
from ._regimen import Dose, Regimen, parse_dose
from ._simulate import setup

DEFAULT_UNIT_ROUTE = "mg/kg ip"


@dataclass
class DoseResponse:
    """Doses, the readout at each, and either a Hill fit (`emax`, `ec50`, `hill`) or an inverted U
    (`inverted_u` True, `peak_dose` from a parabola in log-dose around the maximum)."""

    template: str
    species: str
    readout: str
    doses: np.ndarray
    values: np.ndarray
    inverted_u: bool
    peak_dose: float = math.nan
    peak_value: float = math.nan
    e0: float = math.nan
    emax: float = math.nan
    ec50: float = math.nan
    hill: float = math.nan
    note: str = ""
    fit_curve: tuple[np.ndarray, np.ndarray] = field(default=(np.empty(0), np.empty(0)), repr=False)

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"dose": self.doses, self.readout: self.values})

    def summary(self) -> str:
        unit = self.template.split("{dose}", 1)[1].split()[0] if "{dose}" in self.template else ""
        if self.inverted_u:
            return f"inverted U: maximum {self.peak_value:.3g} at {self.peak_dose:.3g} {unit} ({self.note})".rstrip(" ()")
        if math.isfinite(self.ec50):
            return f"monotonic: Emax {self.emax:.3g} over E0 {self.e0:.3g}, EC50 {self.ec50:.3g} {unit}, Hill {self.hill:.2f}"
        return f"monotonic, no Hill fit ({self.note})"

    def plot(self, path: str | None = None):
        """Readout against dose (log axis) with the fitted curve; saved to `path` if given."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from ._plot import style

        with style():
            fig, ax = plt.subplots(figsize=(5.5, 4.0))
            pos = self.doses > 0
            ax.plot(self.doses[pos], self.values[pos], "o", label="simulated")
            if len(self.fit_curve[0]):
                ax.plot(*self.fit_curve, "-", label="parabola in log-dose" if self.inverted_u else "Hill fit")
            if self.inverted_u and math.isfinite(self.peak_dose):
                ax.axvline(self.peak_dose, color="0.5", ls="--", lw=1, label=f"maximum at {self.peak_dose:.3g}")
            ax.set_xscale("log")
            ax.set_xlabel(f"dose ({self.template.replace('{dose}', '·')})")
            ax.set_ylabel(self.readout + (" (% vs vehicle)" if self.readout.startswith(SPINE_GAIN) else ""))
            ax.set_title(f"{self.summary()} — {self.species}", fontsize=8, loc="left")
            ax.legend()
            fig.tight_layout()
        if path is not None:
            fig.savefig(path)
        return fig


def _template(compound_or_template: str) -> str:
    text = compound_or_template.strip()
    if "{dose}" in text:
        return text
    if len(text.split()) == 1:
        return f"{text} {{dose}} {DEFAULT_UNIT_ROUTE}"
    raise PlasticityError(f"dose_response: expected a compound name or a dose template with '{{dose}}' such as 'ketamine {{dose}} mg/kg ip', got {compound_or_template!r}")


def hill_curve(d: np.ndarray, e0: float, emax: float, ec50: float, n: float) -> np.ndarray:
    d = np.asarray(d, float)
    return e0 + emax * d**n / (ec50**n + d**n)


def dose_response(
    compound_or_template: str,
    doses: Iterable[float],
    *,
    species: str = "mouse",
    readout: str = "spine_gain_24h",
    also: Sequence[str | Dose] = (),
    params: dict[str, float] | None = None,
    genotype: str = "wild_type",
    step_h: float = 0.1,
) -> DoseResponse:
    """Simulate `doses` of a compound ("ketamine" means 'ketamine {dose} mg/kg ip') or a template
    ('psilocybin {dose} mg/kg ip at 1 h'); `also` are other doses given with each (a pretreatment).

    `readout` is '<column>_<N>h' or '<column>_<metric>' (peak, time_to_peak, auc,
    time_above_baseline, half_life); columns include 'spine_gain' (% vs vehicle).
    An interior maximum that stands clearly above both ends is reported as an inverted U (the
    dose of the maximum from a parabola in log-dose through it and its neighbours); otherwise a
    Hill curve (E0 + Emax d^n / (EC50^n + d^n)) is fitted.
    """
    tpl = _template(compound_or_template)
    doses = np.asarray(sorted(float(d) for d in doses))
    if len(doses) < 3 or np.any(doses < 0) or not np.all(np.isfinite(doses)):
        raise PlasticityError(f"doses: expected at least three finite doses >= 0, got {doses.tolist()}")
    spec = ReadoutSpec.parse(readout)
    unit_dose = parse_dose(tpl.replace("{dose}", "1"))
    s = setup(Regimen.coerce([*also, unit_dose]), species=species, params=params, genotype=genotype)
    label = str(unit_dose)
    mask = np.array([e.label == label for e in s.flat.events])
    batch = np.concatenate([[0.0], doses])  # dose 0 gives E0
    scale = np.where(mask[None, :], batch[:, None], 1.0)
    last = max([e.time_h for e in s.flat.events if math.isfinite(e.time_h)] + [0.0])
    end = spec.time_h if spec.metric == "at" else last + 72.0
    times = np.round(np.arange(0.0, end + step_h / 2, step_h), 10)
    out, _ = evaluate(s, [], np.empty((len(batch), 0)), times, [spec.column], dose_scale=scale)
    base = 0.0 if spec.column == SPINE_GAIN else out[spec.column][:, 0]
    values = spec.value(times, out[spec.column], base)
    return analyse_dose_response(tpl, s.species, readout, doses, values[1:], e0=float(values[0]))


def analyse_dose_response(template: str, species: str, readout: str, doses: np.ndarray, values: np.ndarray, *, e0: float, margin: float = 0.05) -> DoseResponse:
    """Classify and fit a dose-response table (see `dose_response`)."""
    doses, values = np.asarray(doses, float), np.asarray(values, float)
    dr = DoseResponse(template, species, readout, doses, values, inverted_u=False)
    pos = doses > 0
    d, v = doses[pos], values[pos]
    i = int(np.argmax(v))
    spread = float(np.ptp(values)) or 1.0
    if 0 < i < len(v) - 1 and v[i] - v[0] > margin * spread and v[i] - v[-1] > margin * spread:
        dr.inverted_u = True
        lo, hi = max(i - 2, 0), min(i + 3, len(v))
        x = np.log(d[lo:hi])
        a, b, c = np.polyfit(x, v[lo:hi], 2)
        if a < 0:
            xv = -b / (2 * a)
            xv = float(np.clip(xv, np.log(d[i - 1]), np.log(d[i + 1])))
            dr.peak_dose, dr.peak_value = math.exp(xv), float(np.polyval([a, b, c], xv))
            xs = np.linspace(x[0], x[-1], 100)
            dr.fit_curve = (np.exp(xs), np.polyval([a, b, c], xs))
        else:
            dr.peak_dose, dr.peak_value, dr.note = float(d[i]), float(v[i]), "parabola not concave: sampled maximum"
        return dr
    sign = 1.0 if v[-1] >= v[0] else -1.0
    from scipy.optimize import curve_fit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, _ = curve_fit(
                lambda dd, em, lec, n: hill_curve(dd, e0, em, np.exp(lec), n),
                d, v, p0=[sign * (np.max(np.abs(v - e0))), math.log(float(np.median(d))), 1.0],
                bounds=([-np.inf, math.log(d[0]) - 5, 0.2], [np.inf, math.log(d[-1]) + 5, 8.0]), maxfev=5000,
            )
        dr.e0, dr.emax, dr.ec50, dr.hill = e0, float(popt[0]), math.exp(popt[1]), float(popt[2])
        xs = np.geomspace(d[0], d[-1], 100)
        dr.fit_curve = (xs, hill_curve(xs, e0, dr.emax, dr.ec50, dr.hill))
    except (RuntimeError, ValueError) as exc:
        dr.note = f"Hill fit failed: {exc}"
    return dr
