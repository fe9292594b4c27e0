"""Dose-response: simulate a dose range in one batch, fit Emax/EC50/Hill or locate an inverted U."""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._errors import PlasticityError
from .._progress import progress_bar
from .._simulate import setup
from ..model.files import Library
from ..model.regimen import Dose, Regimen, parse_dose
from .evaluate import SPINE_GAIN, ReadoutSpec, evaluate

DEFAULT_UNIT_ROUTE = "mg/kg ip"
ROUTE_LABELS = {"ip": "i.p.", "iv": "i.v.", "sc": "s.c.", "po": "p.o.", "oral": "p.o.", "icv": "i.c.v.", "in": "intranasal"}


@dataclass
class DoseResponse:
    """Doses, the readout at each, and either a Hill fit (`emax`, `ec50`, `hill`) or an inverted U
    (`inverted_u` True; `peak_dose`, `peak_value` the maximum located between the neighbours of the
    best simulated dose, never below that dose's value; `refine_runs` extra simulations used for it)."""

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
    refine_runs: int = 0
    fit_curve: tuple[np.ndarray, np.ndarray] = field(default=(np.empty(0), np.empty(0)), repr=False)

    def __repr__(self) -> str:
        from .._views import dose_response_repr

        return dose_response_repr(self)

    def _repr_html_(self) -> str:
        from .._views import dose_response_html

        return dose_response_html(self)

    @property
    def table(self) -> pd.DataFrame:
        """One row per simulated dose: `dose` (in `dose_unit`) and the readout (named as `readout`)."""
        return pd.DataFrame({"dose": self.doses, self.readout: self.values})

    @property
    def dose_unit(self) -> str:
        """The unit of `doses`, from the template: 'mg/kg' for 'ketamine {dose} mg/kg ip'."""
        return self.template.split("{dose}", 1)[1].split()[0] if "{dose}" in self.template else ""

    @property
    def dose_label(self) -> str:
        """'dose (mg/kg i.p.)': the dose axis with its unit and route."""
        words = self.template.split("{dose}", 1)[1].split()
        route = ROUTE_LABELS.get(words[1].lower(), words[1]) if len(words) > 1 else ""
        return f"dose ({' '.join(w for w in (self.dose_unit, route) if w)})"

    @property
    def readout_label(self) -> str:
        """'spine gain at 24 h (% vs vehicle)', 'mtorc1 peak', ...: the readout in words with its unit."""
        spec = ReadoutSpec.parse(self.readout)
        what = "spine gain" if spec.column == SPINE_GAIN else spec.column
        if spec.metric == "at":
            text = f"{what} at {spec.time_h:g} h"
        else:
            text = f"{what} {spec.metric.replace('_', ' ')}"
        if spec.column == SPINE_GAIN and spec.metric in ("at", "peak"):
            text += " (% vs vehicle)"
        elif spec.metric in ("time_to_peak", "half_life", "time_above_baseline"):
            text += " (h)"
        return text

    def summary(self) -> str:
        """One line: 'inverted U: maximum +21.3 at 8.5 mg/kg' or 'monotonic: Emax ... EC50 ... mg/kg, Hill ...'."""
        unit = self.dose_unit
        if self.inverted_u:
            return f"inverted U: maximum {self.peak_value:.3g} at {self.peak_dose:.3g} {unit}" + (f" ({self.note})" if self.note else "")
        if math.isfinite(self.ec50):
            return f"monotonic: Emax {self.emax:.3g} over E0 {self.e0:.3g}, EC50 {self.ec50:.3g} {unit}, Hill {self.hill:.2f}"
        return f"monotonic, no Hill fit ({self.note})"

    def plot(self, path: str | None = None):
        """Readout against dose (log axis, labelled with units) with the fitted curve; saved to `path` if given."""
        import matplotlib
        import matplotlib.ticker

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .._plot import style

        with style():
            fig, ax = plt.subplots(figsize=(5.5, 4.4), layout="constrained")
            pos = self.doses > 0
            ax.plot(self.doses[pos], self.values[pos], "o", label="simulated")
            if len(self.fit_curve[0]):
                label = (
                    "Hill fit"
                    if not self.inverted_u
                    else ("simulated, refined near the maximum" if self.refine_runs else "parabola in log-dose (3 points)")
                )
                ax.plot(*self.fit_curve, "-", label=label)
            if self.inverted_u and math.isfinite(self.peak_dose):
                ax.plot(
                    [self.peak_dose],
                    [self.peak_value],
                    "*",
                    ms=11,
                    color="k",
                    label=f"maximum {self.peak_value:.3g} at {self.peak_dose:.3g} {self.dose_unit}".rstrip(),
                )
                ax.axvline(self.peak_dose, color="0.5", ls="--", lw=1)
            ax.set_xscale("log")
            ticks = self.doses[pos]
            if 0 < len(ticks) <= 10:  # the simulated doses as plain numbers (1, 3, 10), not powers of ten
                ax.set_xticks(ticks, [f"{d:g}" for d in ticks])
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(self.dose_label)
            ax.set_ylabel(self.readout_label)
            compound = self.template.split("{dose}", 1)[0].strip()
            title = [f"{compound}, {self.species}: {self.readout_label}", self.summary()]
            ax.set_title("\n".join(textwrap.fill(line, 80) for line in title), fontsize=8, loc="left")
            fig.legend(loc="outside lower center", ncol=2, fontsize=8)  # below the axes: never over a curve
        if path is not None:
            from .._plot import save_figure

            save_figure(fig, path)
        return fig


def _template(compound_or_template: str) -> str:
    text = compound_or_template.strip()
    if "{dose}" in text:
        return text
    if len(text.split()) == 1:
        return f"{text} {{dose}} {DEFAULT_UNIT_ROUTE}"
    raise PlasticityError(
        f"dose_response: expected a compound name or a dose template with '{{dose}}' such as 'ketamine {{dose}} mg/kg ip', got {compound_or_template!r}"
    )


def hill_curve(d: np.ndarray, e0: float, emax: float, ec50: float, n: float) -> np.ndarray:
    d = np.asarray(d, float)
    return e0 + emax * d**n / (ec50**n + d**n)


def dose_response(
    compound_or_template: str,
    doses: Iterable[float],
    *,
    species: str = "mouse",
    readout: str = "spine_gain_24h_pct",
    also: Sequence[str | Dose] = (),
    params: dict[str, float] | None = None,
    genotype: str = "wild_type",
    step_h: float = 0.1,
    condition: str = "none",
    progress: bool | None = None,
    library: Library | None = None,
) -> DoseResponse:
    """Simulate `doses` of a compound ("ketamine" means 'ketamine {dose} mg/kg ip') or a template
    ('psilocybin {dose} mg/kg ip at 1 h'); `also` are other doses given with each (a pretreatment).

    `readout` is 'spine_gain_<N>h_pct', '<column>_<N>h' or '<column>_<metric>' (peak, time_to_peak, auc,
    time_above_baseline, half_life); columns include 'spine_gain' (% vs vehicle).
    An interior maximum that stands clearly above both ends is reported as an inverted U; its
    dose is then located by simulating more doses between the neighbours of the best grid dose
    (a fine log-dose grid in one batch, then a bounded scalar optimiser), so the reported maximum
    is a simulated value and never below the best grid point. Otherwise a Hill curve
    (E0 + Emax d^n / (EC50^n + d^n)) is fitted.
    `progress`: a bar of doses simulated (tqdm.auto); None, the default, shows it in a notebook or on a terminal.
    `library`: a model library of your own, e.g. with a compound defined in Python (`simulator.add_compound`).
    """
    tpl = _template(compound_or_template)
    doses = np.asarray(sorted(float(d) for d in doses))
    if len(doses) < 3 or np.any(doses < 0) or not np.all(np.isfinite(doses)):
        raise PlasticityError(f"doses: expected at least three finite doses >= 0, got {doses.tolist()}")
    spec = ReadoutSpec.parse(readout)
    readout = spec.name
    unit_dose = parse_dose(tpl.replace("{dose}", "1"))
    s = setup(Regimen.coerce([*also, unit_dose]), species=species, params=params, genotype=genotype, condition=condition, library=library)
    label = str(unit_dose)
    mask = np.array([e.label == label for e in s.flat.events])
    last = max([e.time_h for e in s.flat.events if math.isfinite(e.time_h)] + [0.0])
    end = spec.time_h if spec.metric == "at" else last + 72.0
    times = np.round(np.arange(0.0, end + step_h / 2, step_h), 10)

    bar = progress_bar(len(doses) + 1, desc="dose_response", unit="dose", enabled=progress)

    def respond(batch: np.ndarray) -> np.ndarray:
        """The readout for each dose in `batch`, all in one batched run."""
        batch = np.atleast_1d(np.asarray(batch, float))
        scale = np.where(mask[None, :], batch[:, None], 1.0)
        out, _ = evaluate(s, [], np.empty((len(batch), 0)), times, [spec.column], dose_scale=scale)
        base = 0.0 if spec.column == SPINE_GAIN else out[spec.column][:, 0]
        bar.total = max(bar.total, bar.n + len(batch))  # locating an inverted U's maximum simulates more doses
        bar.update(len(batch))
        return spec.value(times, out[spec.column], base)

    with bar:
        values = respond(np.concatenate([[0.0], doses]))  # dose 0 gives E0
        return analyse_dose_response(tpl, s.species, readout, doses, values[1:], e0=float(values[0]), respond=respond)


def analyse_dose_response(
    template: str,
    species: str,
    readout: str,
    doses: np.ndarray,
    values: np.ndarray,
    *,
    e0: float,
    margin: float = 0.05,
    respond: Callable[[np.ndarray], np.ndarray] | None = None,
    refine_points: int = 17,
) -> DoseResponse:
    """Classify and fit a dose-response table (see `dose_response`).

    For an inverted U with best positive dose index i, the maximum is looked for between doses
    i - 1 and i + 1. With `respond` (doses -> readout values, simulated) it is located on the
    response itself: `refine_points` log-spaced doses in one batch, then a bounded scalar optimiser
    (Brent) in log-dose around the best of them. Without it, from the parabola in log-dose through
    the three points, whose vertex is never below the middle point. Either way the reported
    `peak_value` is at least the best tabulated value.
    """
    doses, values = np.asarray(doses, float), np.asarray(values, float)
    dr = DoseResponse(template, species, readout, doses, values, inverted_u=False)
    pos = doses > 0
    d, v = doses[pos], values[pos]
    i = int(np.argmax(v))
    spread = float(np.ptp(values)) or 1.0
    if 0 < i < len(v) - 1 and v[i] - v[0] > margin * spread and v[i] - v[-1] > margin * spread:
        dr.inverted_u = True
        if respond is not None:
            _refine_by_simulation(dr, d, v, i, respond, refine_points)
        else:
            _peak_from_parabola(dr, d, v, i)
        return dr
    sign = 1.0 if v[-1] >= v[0] else -1.0
    from scipy.optimize import curve_fit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, _ = curve_fit(
                lambda dd, em, lec, n: hill_curve(dd, e0, em, np.exp(lec), n),
                d,
                v,
                p0=[sign * (np.max(np.abs(v - e0))), math.log(float(np.median(d))), 1.0],
                bounds=([-np.inf, math.log(d[0]) - 5, 0.2], [np.inf, math.log(d[-1]) + 5, 8.0]),
                maxfev=5000,
            )
        dr.e0, dr.emax, dr.ec50, dr.hill = e0, float(popt[0]), math.exp(popt[1]), float(popt[2])
        xs = np.geomspace(d[0], d[-1], 100)
        dr.fit_curve = (xs, hill_curve(xs, e0, dr.emax, dr.ec50, dr.hill))
    except (RuntimeError, ValueError) as exc:
        dr.note = f"Hill fit failed: {exc}"
    return dr


def _peak_from_parabola(dr: DoseResponse, d: np.ndarray, v: np.ndarray, i: int) -> None:
    """Vertex of the parabola in log-dose through points i - 1, i, i + 1 (v[i] the largest).

    A concave parabola through three points whose middle one is highest has its vertex between
    the outer two and at least as high as the middle one, so the estimate never falls below v[i].
    """
    x = np.log(d[i - 1 : i + 2])
    a, b, c = np.polyfit(x, v[i - 1 : i + 2], 2)
    if a < 0:
        xv = float(np.clip(-b / (2 * a), x[0], x[-1]))
        dr.peak_dose, dr.peak_value = math.exp(xv), max(float(np.polyval([a, b, c], xv)), float(v[i]))
        xs = np.linspace(x[0], x[-1], 100)
        dr.fit_curve = (np.exp(xs), np.polyval([a, b, c], xs))
        dr.note = "parabola in log-dose through the best dose and its neighbours"
    else:  # ties with a neighbour: no curvature to use
        dr.peak_dose, dr.peak_value, dr.note = float(d[i]), float(v[i]), "flat top: sampled maximum"


def _refine_by_simulation(dr: DoseResponse, d: np.ndarray, v: np.ndarray, i: int, respond, points: int) -> None:
    """Locate the maximum of the simulated response between d[i - 1] and d[i + 1]."""
    from scipy.optimize import minimize_scalar

    lo, hi = math.log(d[i - 1]), math.log(d[i + 1])
    xs = np.linspace(lo, hi, max(points, 3))
    ys = np.asarray(respond(np.exp(xs)), float)
    runs = len(xs)
    tried = [*zip(np.log(d), v, strict=True), *zip(xs, ys, strict=True)]
    j = int(np.argmax(ys))
    a, b = xs[max(j - 1, 0)], xs[min(j + 1, len(xs) - 1)]
    evals: list[tuple[float, float]] = []

    def negative(x: float) -> float:
        y = float(respond(np.array([math.exp(x)]))[0])
        evals.append((x, y))
        return -y

    if b > a:
        minimize_scalar(negative, bounds=(a, b), method="bounded", options={"xatol": 1e-4})
    runs += len(evals)
    tried += evals
    x_best, y_best = max(tried, key=lambda xy: xy[1])  # never below the best grid point, which is in `tried`
    dr.peak_dose, dr.peak_value, dr.refine_runs = math.exp(x_best), float(y_best), runs
    curve = sorted({round(float(x), 9): y for x, y in tried if lo - 1e-12 <= x <= hi + 1e-12}.items())  # grid and fine points, once each
    dr.fit_curve = (np.exp([x for x, _ in curve]), np.array([y for _, y in curve]))
    dr.note = f"located by {runs} more simulations between {d[i - 1]:.3g} and {d[i + 1]:.3g}"
