"""The one entry point: regimen + species + parameters -> compiled model -> solver -> Result."""

from __future__ import annotations

import math
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import PlasticityError, RegimenError, SimulationError, UnknownNameError
from ._io import write_table
from ._limits import MAX_FACTOR, MAX_OUTPUT_ROWS, MAX_OVERRIDE, MAX_SPAN_H, MIN_DURATION_H, MIN_RATE
from .engine.codegen import Compiled, compile_model
from .engine.scipy_path import AnswerCheckError, Tolerances, check_answer, check_times, floor, param_vector, refined
from .engine.single import integrate, prepare
from .model.compose import Clamp, FlatModel, Interventions, compose
from .model.course import parse_course
from .model.files import Library, load_library
from .model.regimen import Dose, Regimen, check_time

DEFAULT_STEP_H = 0.1
DEGENERATE_FRACTION = 1e-3
"""A drug-free spine density below this fraction of the species' baseline is no baseline to compare against."""
SUMMARY_HOURS = (24, 48, 72)
SUMMARY_READOUTS = ("glutamate", "mtorc1")
CHANGE_TOL = 1e-3  # a readout within 0.1% of its vehicle run has neither risen nor fallen


@lru_cache(maxsize=1)
def version() -> str:
    """The installed package's version ('0+source' when run from a source checkout that is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _v

    try:
        return _v("plasticity")
    except PackageNotFoundError:
        return "0+source"


@dataclass
class Setup:
    """A composed and compiled model with its parameter vector and drug-free steady state."""

    library: Library
    flat: FlatModel
    compiled: Compiled
    regimen: Regimen
    species: str
    interventions: Interventions
    values: dict[str, float]
    p: np.ndarray
    y0: np.ndarray


def _interventions(genotype: str, cut: Iterable[str] | str, scale: Mapping[str, float] | None, clamp: Iterable[Clamp] | Clamp,
                   condition: str = "none") -> Interventions:
    cut = (cut,) if isinstance(cut, str) else tuple(cut)
    clamp = (clamp,) if isinstance(clamp, Clamp) else tuple(clamp)
    if scale is not None and not isinstance(scale, Mapping):
        raise PlasticityError(f"scale: expected a mapping of node to factor, e.g. {{'trkb': 0.5}}, got {scale!r}")
    for c in clamp:
        if not isinstance(c, Clamp):
            raise PlasticityError(f"clamp: expected Clamp(node, level, start_h, end_h) objects, got {c!r}")
        _check_factor(c.level, f"clamp: level for '{c.node}'", "a fraction of baseline, 0 = full block")
        for name, t in (("start_h", c.start_h), ("end_h", c.end_h)):
            if isinstance(t, bool) or not isinstance(t, (int, float, np.floating)) or math.isnan(t):
                raise PlasticityError(f"clamp: {name} for '{c.node}' must be a number of hours, got {t!r}")
            if math.isfinite(t) or (t > 0) != (name == "end_h"):  # only an open start (-inf) or end (+inf) may be infinite
                check_time(float(t), f"clamp: {name} for '{c.node}'")
        if c.start_h < c.end_h < c.start_h + MIN_DURATION_H:
            raise PlasticityError(f"clamp: window of '{c.node}' from {c.start_h:g} h to {c.end_h:g} h is shorter than the limit of 1 s (MIN_DURATION_H)")
    for name, f in (scale or {}).items():
        _check_factor(f, f"scale: factor for '{name}'", "0 = knock-out")
    if not isinstance(condition, str):
        raise PlasticityError(f"condition: expected a condition name such as 'chronic_stress' (models/conditions.toml), got {condition!r}")
    return Interventions(str(genotype), tuple(sorted((scale or {}).items())), cut, clamp, condition)


def _check_factor(value: object, field: str, meaning: str) -> None:
    """A scale factor or clamp level: a finite number from 0 to MAX_FACTOR."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not _finite(value) or not 0 <= value <= MAX_FACTOR:
        raise PlasticityError(f"{field} must be a finite number >= 0 and at most {MAX_FACTOR:g} ({meaning}; MAX_FACTOR), got {value!r}")


def _finite(x) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False


def setup(
    regimen=(),
    *,
    species: str = "mouse",
    params: Mapping[str, float] | None = None,
    genotype: str = "wild_type",
    cut: Iterable[str] | str = (),
    scale: Mapping[str, float] | None = None,
    clamp: Iterable[Clamp] | Clamp = (),
    library: Library | None = None,
    model: FlatModel | None = None,
    condition: str = "none",
) -> Setup:
    """Compose, compile and pre-equilibrate; the shared first half of every run and sweep.

    `model` (e.g. from `from_sbml`) replaces composition: it runs from its own initial values and events."""
    lib = library or load_library()
    reg = Regimen.coerce(regimen)
    sp_ = lib.get_species(species)
    iv = _interventions(genotype, cut, scale, clamp, condition)
    if model is None:
        # an alias ('cus') names the same model as its condition; the course keeps one canonical text ('... from 0 h')
        iv = replace(iv, condition=parse_course(iv.condition).text(lib.condition(iv.condition).name))
    if model is not None and (len(reg.doses) or iv != Interventions(str(genotype))):
        raise PlasticityError("model: an imported model carries its own events; give no regimen, genotype or interventions with model=")
    flat = compose(lib, reg, sp_, iv) if model is None else model
    values = dict(flat.values)
    if params is not None and not isinstance(params, Mapping):
        raise PlasticityError(f"params: expected a mapping of parameter name to value, e.g. {{'k_glutamate': 5.0}}, got {params!r}")
    for name, v in (params or {}).items():
        if name not in values:
            raise UnknownNameError("parameter", name, [n for n in values if n not in flat.inputs], context="params")
        if name in flat.inputs:
            raise PlasticityError(f"params: '{name}' is set by the regimen (an infusion, bath or clamp input), not a parameter")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not _finite(v):
            raise PlasticityError(f"params: '{name}' must be a finite number, got {v!r}")
        meta = flat.meta.get(name)
        rate = meta is not None and meta.unit in ("1/h", "h")
        if v < 0 or (v == 0 and rate):
            raise PlasticityError(f"params: '{name}' must be {'positive' if rate else '>= 0'}, got {v!r}")
        if v > MAX_OVERRIDE or (rate and v < MIN_RATE):
            low = f"{MIN_RATE:g} (MIN_RATE)" if rate else "0"
            raise PlasticityError(f"params: '{name}' = {v!r} is outside the allowed range {low} to {MAX_OVERRIDE:g} (MAX_OVERRIDE)")
        values[name] = float(v)
    comp = compile_model(flat)
    if model is None:
        p, y0 = prepare(comp, param_vector(comp, values))
    else:
        p = param_vector(comp, values)
        y0 = np.array([float(e.subs(values)) for e in flat.initial])
    return Setup(lib, flat, comp, reg, sp_.name, iv, values, p, y0)


def time_grid(start_h: float, hours: float, times: Iterable[float] | None) -> np.ndarray:
    if isinstance(hours, bool) or not isinstance(hours, (int, float, np.floating)) or not math.isfinite(hours) or hours <= 0:
        raise PlasticityError(f"hours: expected a positive number of hours to simulate, got {hours!r}")
    if hours > MAX_SPAN_H or hours - start_h > MAX_SPAN_H:
        span = f"from {start_h:g} h to {hours:g} h" if start_h < 0 else f"to {hours:g} h"
        raise PlasticityError(
            f"hours: a simulation {span} spans {hours - start_h:g} h, over the limit of {MAX_SPAN_H:,.0f} h (MAX_SPAN_H); "
            "simulate a shorter span, or dose closer to t = 0"
        )
    if times is None:
        n = int(math.floor((hours - start_h) / DEFAULT_STEP_H + 1e-9))
        if n + 1 > MAX_OUTPUT_ROWS:
            raise PlasticityError(
                f"output: the default grid every {DEFAULT_STEP_H:g} h from {start_h:g} h to {hours:g} h would have {n + 1:,} rows, "
                f"over the limit of {MAX_OUTPUT_ROWS:,} (MAX_OUTPUT_ROWS); give times= with a coarser grid, or simulate a shorter span"
            )
        grid = start_h + DEFAULT_STEP_H * np.arange(n + 1)
        grid = np.round(grid, 10)
        if grid[-1] < hours:
            grid = np.append(grid, hours)
        return grid
    grid = check_times(times)
    repeated = grid[1:][np.diff(grid) == 0]
    if len(repeated):  # the solvers need distinct output times; a repeated row would say nothing new
        raise PlasticityError(f"times: {repeated[0]:g} h is given more than once; give each output time once (strictly increasing)")
    if len(grid) > MAX_OUTPUT_ROWS:
        raise PlasticityError(f"times: {len(grid):,} output times exceed the limit of {MAX_OUTPUT_ROWS:,} rows (MAX_OUTPUT_ROWS); give a coarser grid")
    if grid[-1] - min(grid[0], start_h) > MAX_SPAN_H:
        raise PlasticityError(f"times: from {min(grid[0], start_h):g} h to {grid[-1]:g} h spans more than the limit of {MAX_SPAN_H:,.0f} h (MAX_SPAN_H)")
    return grid


def check_dose_window(
    regimen: Regimen, end_h: float, *, times_given: bool = False, moved: Mapping[int, tuple[str, float]] | None = None,
    clamps: Iterable[Clamp] = (), condition: str = "none",
) -> None:
    """Refuse administrations (and a condition's start) after the end of the simulated window, which would otherwise
    be left out unseen.

    `moved` maps a dose's index to (vary key, latest first-administration time) when a sweep moves it.
    A dose exactly at the end is inside (its row shows the state just after it); an infusion or bath that
    starts inside and runs past the end is inside too."""

    def fix(t: float) -> str:
        t = math.ceil(t - 1e-9)
        return f"extend times to {t:g} h or later" if times_given else f"simulate longer (hours={t:g} or more; --hours {t:g})"

    window = (
        f"the last output time {end_h:g} h (times=...)" if times_given else f"the end of the simulation at {end_h:g} h (hours={end_h:g})"
    )
    for c in clamps:  # a clamp that would start after the end is left out unseen, as a late dose would
        if c.start_h > end_h + 1e-9:
            raise RegimenError(
                f"clamp: '{c.node}' from {c.start_h:g} h starts after {window}; it would not be simulated. "
                f"{fix(c.start_h)[0].upper() + fix(c.start_h)[1:]}, or start the clamp earlier"
            )
    course = parse_course(condition)
    if course.start_h > end_h + 1e-9:  # a condition that would start after the end would leave the run unstressed unseen
        raise RegimenError(f"condition: '{condition}' starts after {window}; it would not be simulated. "
                           f"{fix(course.start_h)[0].upper() + fix(course.start_h)[1:]}, or start the condition earlier")
    for i, d in enumerate(regimen):
        starts = d.times_h
        if moved and i in moved:
            key, latest = moved[i]
            last = latest + (max(starts) - min(starts))
            if last > end_h + 1e-9:
                when = f"to as late as {latest:g} h" + (f", its last administration at {last:g} h" if len(starts) > 1 else "")
                raise RegimenError(
                    f"vary: '{key}' moves dose {i} ('{d}') {when}, after {window}; {fix(last)}, or narrow the range of '{key}'"
                )
            continue
        late = [t for t in starts if t > end_h + 1e-9]
        if not late:
            continue
        if len(starts) == 1:
            what, other = f"is given at {late[0]:g} h, after {window}; it would not be simulated", "move the dose earlier"
        else:
            inside = len(starts) - len(late)
            what = f"has {len(late)} of its {len(starts)} administrations ({late[0]:g} h to {late[-1]:g} h) after {window}; they would not be simulated"
            other = f"give fewer doses (x {inside})" if inside else "move the doses earlier"
        first = fix(late[-1])
        raise RegimenError(f"dose: '{d}' {what}. {first[0].upper() + first[1:]}, or {other}")


def simulate(
    regimen: Regimen | Dose | str | Iterable[Dose | str] = (),
    *,
    species: str = "mouse",
    hours: float = 72.0,
    params: Mapping[str, float] | None = None,
    times: Iterable[float] | None = None,
    genotype: str = "wild_type",
    cut: Iterable[str] | str = (),
    scale: Mapping[str, float] | None = None,
    clamp: Iterable[Clamp] | Clamp = (),
    tolerances: Tolerances = Tolerances(),
    model: FlatModel | None = None,
    species_as: str | None = None,
    condition: str = "none",
    library: Library | None = None,
) -> Result:
    """Simulate a regimen from the drug-free steady state.

    Examples:
        >>> r = simulate(["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"], species="rat")
        >>> r.timecourse[["time_h", "glutamate", "mtorc1", "spine_density"]]

    `genotype` ("val/met", "met/met", "trkb_knockdown"), `cut` (feedback edges such as
    "mtorc1_to_bdnf"), `scale` ({"trkb": 0.5}; 0 knocks a node out) and `clamp`
    (Clamp("mtorc1", 0.0, 2, 6): hold mTORC1 at 0 x baseline from 2 to 6 h) are interventions.
    `condition` ("chronic_stress", "chronic_corticosterone"; models/conditions.toml) starts the run from that
    condition's drug-free steady state; params={"condition_severity": 0.5} gives a milder one (0 = none).
    A course makes it a process: "chronic_stress from 0 d" (onset in an unstressed animal), "chronic_stress until
    14 d" (recovery), "chronic_stress from -21 d until 0 h"; the `condition_load` column is its drive (0 to 1).
    `model` runs an imported FlatModel (`from_sbml(path)`) from its own initial values instead;
    `species_as` ("amount" | "concentration") then reports every species in that basis (default: as declared).
    `library` is a model library of your own, e.g. with a compound defined in Python (`simulator.add_compound`).
    """
    if getattr(model, "sbml_events", None) is not None:
        if Regimen.coerce(regimen).doses or _interventions(genotype, cut, scale, clamp, condition) != Interventions(str(genotype)):
            raise PlasticityError("model: an imported model carries its own events; give no regimen, genotype or interventions with model=")
        return simulate_imported(model, hours=hours, params=params, times=times, tolerances=tolerances, species_as=species_as)
    if species_as is not None:
        raise PlasticityError(f"species_as: only for an imported SBML model (model=from_sbml(...)), got {species_as!r}")
    s = setup(regimen, species=species, params=params, genotype=genotype, cut=cut, scale=scale, clamp=clamp, model=model, condition=condition,
              library=library)
    start = min(s.regimen.start_h, 0.0, *(e.time_h for e in s.flat.events if math.isfinite(e.time_h)))
    grid = time_grid(start, hours, times)
    check_dose_window(s.regimen, float(grid[-1]), times_given=times is not None, clamps=s.interventions.clamp,
                      condition=s.interventions.condition)
    full = grid if grid[0] <= start else np.concatenate([[start], grid])
    own = model is None  # the built-in model's states and readouts are non-negative by construction; an import's need not be

    def run(tol: Tolerances) -> Result:
        y, p_t = integrate(s.compiled, s.flat.events, s.p, s.y0, full, tol, check=own)
        if full is not grid:
            y, p_t = y[:, 1:], p_t[:, 1:]
        return Result._build(s, grid, y, tol, hours, p_t, check=own)

    try:
        return run(tolerances)
    except AnswerCheckError:  # the engine checks its answer: refine once; the result's provenance names the tolerances used
        fine = refined(tolerances)
        try:
            return run(fine)
        except AnswerCheckError as exc:
            raise SimulationError(f"{exc}, at rtol {tolerances.rtol:g} ({tolerances.method}) and again at rtol {fine.rtol:g} (BDF); "
                                  "check parameter values far from their defaults") from None


def numerical_zero(values: np.ndarray, atol: float) -> np.ndarray:
    """`values` with every entry of magnitude at most `atol` reported as 0.

    The solver controls each value only to within its absolute tolerance, so a drug that has left shows round-off
    such as -4.6e-28 nM; such a value is zero to the solver's accuracy. A value further below 0 is not touched here:
    the engine's own check (`check_answer`) refuses the run."""
    out = np.array(values, dtype=float)
    out[np.abs(out) <= atol] = 0.0
    return out


def _frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """One float block, not a column at a time: building the two tables from dicts was most of a warm run."""
    return pd.DataFrame(np.column_stack(list(columns.values())), columns=list(columns))


@dataclass
class Result:
    """A simulation: `timecourse` (DataFrame), `states`, `provenance`, `plot()`, `save()`."""

    timecourse: pd.DataFrame
    states: pd.DataFrame
    provenance: dict
    setup: Setup = field(repr=False)

    @classmethod
    def _build(cls, s: Setup, t: np.ndarray, y: np.ndarray, tol: Tolerances, hours: float, p_t: np.ndarray, check: bool = False) -> Result:
        obs = s.compiled.observe(y, p_t)
        if check:
            names = [name for name, _, _ in s.flat.readouts]
            check_answer(names, np.array([np.broadcast_to(o, t.shape) for o in obs], dtype=float), t, tol, what="readout")
        cols = {"time_h": t}
        cols.update({name: np.broadcast_to(obs[i], t.shape).copy() for i, (name, _, _) in enumerate(s.flat.readouts)})
        states = {n: y[i] for i, n in enumerate(s.flat.states)}
        if check:  # an imported model's values may be signed: only the built-in model's round-off is zero
            cols = {n: v if n == "time_h" else numerical_zero(v, tol.atol) for n, v in cols.items()}
            states = {n: numerical_zero(v, tol.atol) for n, v in states.items()}
        tc = _frame({n: np.asarray(v, dtype=float) for n, v in cols.items()})
        states = _frame({"time_h": t, **states})
        prov = {
            "package": "plasticity",
            "version": version(),
            "model_hash": s.library.hash,
            "compiled_hash": s.compiled.key,
            "species": s.species,
            "regimen": [str(d) for d in s.regimen],
            "genotype": s.interventions.genotype,
            "condition": s.interventions.condition,
            "cut": list(s.interventions.cut),
            "scale": dict(s.interventions.scale),
            "clamp": [vars(c) for c in s.interventions.clamp],
            "hours": hours,
            "units": {"time_h": "h", **{name: unit for name, _, unit in s.flat.readouts}},
            "parameters": {n: float(v) for n, v in zip(s.flat.params, s.p) if n not in s.flat.inputs},
            "tolerances": vars(tol),
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        return cls(tc, states, prov, s)

    @property
    def units(self) -> dict[str, str]:
        """The unit of every `timecourse` column: time_h in h, signalling readouts 'fold' (over the drug-free
        baseline), spine densities 1/um, rates 1/d, concentrations nM, occupancies and fractions '1'
        (docs/units.md lists each). Saved with the table (CSV sidecar, Parquet metadata) under provenance['units']."""
        units = self.provenance.get("units")
        if units is None:  # an imported model's result: the units its SBML file declares ('' where none)
            units = {"time_h": "h", **{name: unit for name, _, unit in self.setup.flat.readouts}}
        return {c: units.get(c, "") for c in self.timecourse.columns}

    # ---------------------------------------------------------------- comparisons
    @cached_property
    def vehicle(self) -> Result:
        """The vehicle run of the same species, genotype, condition, parameters and interventions."""
        s = self.setup
        iv = s.interventions
        params = {n: v for n, v in s.values.items() if (n in s.library.pathway.parameters or n.startswith("condition_")) and n not in s.flat.inputs}
        return simulate(
            [], species=s.species, hours=self.provenance["hours"], params=params, times=self.timecourse["time_h"].to_numpy(),
            genotype=iv.genotype, cut=iv.cut, scale=dict(iv.scale), clamp=iv.clamp, tolerances=Tolerances(**self.provenance["tolerances"]),
            condition=iv.condition, library=s.library,
        )

    def at(self, column: str, time_h: float) -> float:
        """A readout at a time (linear interpolation between output rows)."""
        if column not in self.timecourse:
            raise UnknownNameError("readout", column, self.timecourse.columns)
        tc = self.timecourse
        return float(np.interp(time_h, tc["time_h"], tc[column]))

    def spine_gain(self, time_h: float) -> float:
        """% change of spine density against the vehicle run at the same time."""
        v = self.vehicle.at("spine_density", time_h)
        base = self.setup.values.get("baseline_spine_density")
        least = DEGENERATE_FRACTION * base if base else floor(Tolerances(**self.provenance["tolerances"]))
        if not (math.isfinite(v) and v > least):
            raise SimulationError(
                f"spine_gain: the vehicle run's spine density at {time_h:g} h is {v:.3g} spines/um, "
                + (f"below {DEGENERATE_FRACTION:.1%} of the species' baseline {base:g}" if base else "at or below the solver's floor")
                + ": the drug-free state has (almost) no spines for these parameters, so a % change against it means nothing; "
                "check parameter overrides (trkb_expression, w_spine_activity, ...)"
            )
        return 100.0 * (self.at("spine_density", time_h) - v) / v

    def peak(self, column: str, after_h: float = 0.0) -> tuple[float, float]:
        """(peak value, time of peak in h) of a readout at or after `after_h`."""
        tc = self.timecourse[self.timecourse["time_h"] >= after_h]
        i = int(np.argmax(tc[column].to_numpy()))
        return float(tc[column].iloc[i]), float(tc["time_h"].iloc[i])

    def trough(self, column: str, after_h: float = 0.0) -> tuple[float, float]:
        """(lowest value, its time in h) of a readout at or after `after_h`."""
        tc = self.timecourse[self.timecourse["time_h"] >= after_h]
        i = int(np.argmin(tc[column].to_numpy()))
        return float(tc[column].iloc[i]), float(tc["time_h"].iloc[i])

    def summary_times(self) -> list[float]:
        """The default times of `summary()`: 24, 48 and 72 h where simulated, and the last time when it is later (or none of those is reached)."""
        end = float(self.timecourse["time_h"].iloc[-1])
        times = [float(h) for h in SUMMARY_HOURS if h <= end + 1e-9]
        if end > 0 and (not times or end > times[-1] + 1e-9):
            times.append(end)
        return times

    def summary(self, times: Iterable[float] | None = None) -> dict[str, float]:
        """The run's headline numbers, keyed by name.

        - `glutamate_peak_fold` / `_peak_h` and `mtorc1_peak_fold` / `_peak_h`: the highest level (fold over
          the drug-free baseline) and when, given only when the readout rises above its vehicle run; a readout
          that falls below it gives `<readout>_min_fold` / `_min_h` (so a fall is never reported as a "peak").
        - at each of `times` (default `summary_times()`: 24, 48, 72 h and the last time of longer runs):
          `spine_gain_<N>h_pct` (% spine density vs vehicle), `glutamate_<N>h` and `mtorc1_<N>h` (fold).

        Examples:
            >>> simulate(["ketamine 10 mg/kg ip"]).summary([24, 72])["spine_gain_72h_pct"]
        """
        tc = self.timecourse
        t0, end = float(tc["time_h"].iloc[0]), float(tc["time_h"].iloc[-1])
        times = self.summary_times() if times is None else [float(h) for h in times]
        for h in times:
            if not (t0 - 1e-9 <= h <= end + 1e-9):
                raise PlasticityError(f"times: {h:g} h is outside the simulated {t0:g}..{end:g} h; simulate longer (hours={math.ceil(h):g}) or pick earlier times")
        out: dict[str, float] = {}
        for col in SUMMARY_READOUTS:
            v, tv = self.peak(col)
            if v > self.vehicle.at(col, tv) * (1 + CHANGE_TOL):
                out[f"{col}_peak_fold"], out[f"{col}_peak_h"] = v, tv
            v, tv = self.trough(col)
            if v < self.vehicle.at(col, tv) * (1 - CHANGE_TOL):
                out[f"{col}_min_fold"], out[f"{col}_min_h"] = v, tv
        for h in times:
            out[f"spine_gain_{h:g}h_pct"] = self.spine_gain(h)
            for col in SUMMARY_READOUTS:
                out[f"{col}_{h:g}h"] = self.at(col, h)
        return out

    # ---------------------------------------------------------------- output
    def plot(self, path: str | Path | None = None, *, columns: Iterable[str] | None = None, vehicle: bool = True):
        """The loop over time, one panel per stage, or one panel per column of `columns` (each labelled with its
        unit; an unknown name is an UnknownNameError naming the closest); the vehicle run dashed; saved to `path` if given.

        Examples:
            >>> result.plot(columns=["mtorc1", "spine_density"])
        """
        from ._plot import plot_columns, plot_result

        fig = plot_result(self, vehicle=vehicle) if columns is None else plot_columns(self, columns, vehicle=vehicle)
        if path is not None:
            from ._plot import save_figure

            save_figure(fig, path)  # atomic, fixed metadata: the same figure gives the same bytes
        return fig

    def save(self, path: str | Path) -> Path:
        """Write the time course as .csv or .parquet with its provenance (atomic); `simulator.load_result` reads it back."""
        return write_table(self.timecourse, path, self.provenance)

    def __repr__(self) -> str:
        from ._views import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from ._views import result_html

        return result_html(self)


# ------------------------------------------------------------------ imported SBML models
def simulate_imported(model: FlatModel, *, hours: float, params, times, tolerances: Tolerances, species_as: str | None):
    """The `simulate(model=...)` path for an SBML model: its own initial values and events."""
    from .sbml.result import hours_per_unit, model_hash
    from .sbml.run import _frame, _Run, engine_of, start_values

    grid = time_grid(0.0, hours, times)
    if grid[0] < 0:
        raise PlasticityError(f"times: an imported model starts at time 0 h; got {grid[0]:g} h")
    if species_as not in (None, "amount", "concentration"):
        raise PlasticityError(f"species_as: expected 'amount', 'concentration' or None (each species in its declared basis), got {species_as!r}")
    eng = engine_of(model)
    p, y0 = start_values(model, eng, params)
    hpu = hours_per_unit(model)
    with np.errstate(all="ignore"):
        out = _Run(eng, p, y0, tolerances, hpu).run(grid / hpu)
    tc = _frame(model, out, species_as, "time_h", grid)
    states = pd.DataFrame({"time_h": grid, **{s: out[eng.n_out - len(model.states) + i] for i, s in enumerate(model.states)}})
    values = dict(zip(model.params, p, strict=True))
    setup = Setup(None, model, None, Regimen(()), "sbml", Interventions(), values, p, y0)
    prov = {
        "package": "plasticity",
        "version": version(),
        "model": model.source,
        "model_hash": model_hash(model),
        "time_unit": model.time_unit or "undeclared (read as hours)",
        "hours_per_model_time_unit": hpu,
        "species_as": species_as or "declared",
        "hours": hours,
        "parameters": {k: float(v) for k, v in values.items()},
        "tolerances": vars(tolerances),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    return ImportedResult(tc, states, prov, setup, params=dict(params or {}), tolerances=tolerances, species_as=species_as)


@dataclass
class _Extra:
    params: dict
    tolerances: Tolerances
    species_as: str | None


class ImportedResult(Result):
    """A Result of an imported model: its columns are the model's own ids."""

    def __init__(self, timecourse, states, provenance, setup, *, params, tolerances, species_as):
        super().__init__(timecourse, states, provenance, setup)
        self._extra = _Extra(params, tolerances, species_as)

    @cached_property
    def vehicle(self):
        """The model's own run without its events, at the same times and parameters."""
        from .sbml.result import without_events

        model = self.setup.flat
        if not model.sbml_events:
            raise PlasticityError("metrics: the imported model has no events, so there is no run without them to compare with; "
                                  "read the time course itself (result.timecourse)")
        e = self._extra
        return simulate_imported(without_events(model), hours=self.provenance["hours"], params=e.params,
                                 times=self.timecourse["time_h"].to_numpy(), tolerances=e.tolerances, species_as=e.species_as)

    def spine_gain(self, time_h: float) -> float:
        raise PlasticityError("spine_gain: an imported model has no spine_density readout; use result.at(column, time) "
                              "or simulator.metrics(result, column)")

    def summary(self) -> dict[str, float]:
        """Peak and time of peak of every column that changes."""
        out = {}
        for c in self.timecourse.columns[1:]:
            col = self.timecourse[c].to_numpy()
            if np.all(np.isfinite(col)) and np.ptp(col) > 0:
                v, t = self.peak(c)
                out[f"{c}_peak"], out[f"{c}_peak_h"] = v, t
        return out

    def plot(self, path: str | Path | None = None, *, columns=None, vehicle: bool = False):
        """The model's own variables over time (those that change, or `columns`); saved to `path` if given."""
        from ._plot import _use_agg

        _use_agg()
        import matplotlib.pyplot as plt

        from ._plot import style, unit_label

        tc = self.timecourse
        if columns is None:
            columns = [c for c in tc.columns[1:] if np.all(np.isfinite(tc[c])) and np.ptp(tc[c].to_numpy()) > 0] or list(tc.columns[1:2])
        for c in columns:
            if c not in tc:
                raise UnknownNameError("column", c, tc.columns[1:])
        with style():
            fig, ax = plt.subplots(figsize=(7, 4))
            units = self.units
            for c in columns:
                ax.plot(tc["time_h"], tc[c], label=f"{c} ({units[c]})" if units[c] else c)
            ax.set_xlabel("time (h)")
            shared = {units[c] for c in columns}
            ax.set_ylabel(unit_label(shared.pop()) if len(shared) == 1 else "value (model units; see the legend)")
            ax.set_title(self.provenance["model"])
            if len(columns) <= 12:
                ax.legend(fontsize="small")
            fig.tight_layout()
        if path is not None:
            from ._io import atomic_write

            atomic_write(path, lambda tmp: fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png"))
        return fig
