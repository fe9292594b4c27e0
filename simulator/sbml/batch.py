"""Imported models through the compiled batched engine: sweeps and local sensitivities.

The batched engine (`run_batch`: the numba BDF kernel, or stacked SciPy) runs models whose events
are doses in its own sense: a `time >= c` trigger that adds a constant to an integrated quantity or
sets a parameter. The model is restated in hours (right-hand sides divided by the hours per model
time unit, event times multiplied by it) and every member starts from its own initial values, not
from a steady state. Anything else is refused with the reason, never approximated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import sympy as sp

from .._errors import PlasticityError, UnknownNameError
from ..engine.scipy_path import Tolerances, check_times
from .mathml import TIME, Factorial, Quotient, Rem
from .model import ImportedModel

_NOT_BATCHABLE = (sp.Piecewise, sp.floor, sp.ceiling, sp.Min, sp.Max, Rem, Quotient, Factorial, sp.Abs)


def batch_model(model: ImportedModel) -> ImportedModel:
    """The model in hours, for `run_batch`; a PlasticityError says why one cannot be batched."""
    orig = model
    cached = model.__dict__.get("_batch_model")
    if cached is not None:
        return cached
    if model.batch_refusal is not None:
        raise PlasticityError(f"sweep: the imported model ({model.source}) cannot run on the batched engine: {model.batch_refusal}; "
                              "simulate members one by one with simulate(model=..., params=...)")
    model = dataclasses.replace(model, odes=[_pos_powers(e) for e in model.odes],
                                assignments=[(n, _pos_powers(e)) for n, e in model.assignments],
                                readouts=[(c, _pos_powers(e), u) for c, e, u in model.readouts])
    exprs = list(model.odes) + [e for _, e in model.assignments] + [r[1] for r in model.readouts]
    bad = next((f for e in exprs for f in _NOT_BATCHABLE if e.has(f)), None)
    if bad is not None:
        raise PlasticityError(f"sweep: the imported model ({model.source}) uses {bad.__name__}, which the batched engine does not "
                              "compile; simulate members one by one with simulate(model=..., params=...)")
    hpu = model.hours_per_unit if model.hours_per_unit is not None else 1.0
    to_h = {TIME: TIME / hpu} if hpu != 1.0 else {}
    defs = dict(model.assignments)
    defs.update(model.init_def)
    params = {sp.Symbol(p) for p in model.params}
    initial = []
    for s in model.states:  # start values as expressions of the parameters, so a varied parameter moves them too
        e = defs[s]
        for _ in range(len(defs) + 1):
            subs = {x: defs[x.name] for x in e.free_symbols if x.name in defs and x not in params}
            if not subs:
                break
            e = e.xreplace(subs)
        initial.append(e.xreplace({TIME: sp.Integer(0)}))
    bm = dataclasses.replace(
        model,
        odes=[(e / hpu).xreplace(to_h) if hpu != 1.0 else e for e in model.odes],
        assignments=[(n, e.xreplace(to_h)) for n, e in model.assignments],
        readouts=[(c, e.xreplace(to_h), u) for c, e, u in model.readouts],
        events=[dataclasses.replace(ev, time_h=ev.time_h * hpu) for ev in model.events],
        initial=initial,
    )
    bm.from_initial = True  # run_batch: start from these values, not from a steady state
    orig.__dict__["_batch_model"] = bm
    return bm


def _pos_powers(e: sp.Expr) -> sp.Expr:
    """max(x, 0)^n with n not whole (how `to_sbml` writes the engine's powers) is x**n on the compiled path,
    which raises non-whole powers of max(x, 0) itself."""
    def is_pos_power(a) -> bool:
        return (a.is_Pow and isinstance(a.base, sp.Max) and len(a.base.args) == 2 and sp.S.Zero in a.base.args
                and not a.exp.is_Integer)

    return e.replace(is_pos_power, lambda a: sp.Pow(next(x for x in a.base.args if x != 0), a.exp)) if e.has(sp.Max) else e


def batch_setup(model: ImportedModel, params: Mapping[str, float] | None = None):
    """A Setup of the batched model (compiled by `compile_model`, as the built-in model is)."""
    from .._simulate import Setup
    from ..engine.codegen import compile_model
    from ..model.compose import Interventions
    from ..model.regimen import Regimen

    bm = batch_model(model)
    values = dict(bm.values)
    for k, v in (params or {}).items():
        if k not in values:
            raise UnknownNameError("parameter", k, values, context="params of the imported model")
        values[k] = float(v)
    comp = compile_model(bm)
    p = np.array([values[n] for n in bm.params], dtype=float)
    return Setup(None, bm, comp, Regimen(()), "sbml", Interventions(), values, p, comp.initial(p))


def run_members(model: ImportedModel, names: Sequence[str], values: np.ndarray, times_h, tolerances: Tolerances = Tolerances()):
    """Readouts {column: (members, times)} and statuses for parameter sets `values` (members, len(names))."""
    from ..engine.batch import observe_batch, run_batch

    s = batch_setup(model)
    times_h = check_times(times_h)
    if times_h[0] < 0:
        raise PlasticityError(f"times: an imported model starts at time 0 h; got {times_h[0]:g} h")
    grid = times_h if times_h[0] == 0 else np.concatenate([[0.0], times_h])
    idx = []
    for n in names:
        if n not in s.flat.params or n in s.flat.inputs:
            raise UnknownNameError("parameter", n, [p for p in s.flat.params if p not in s.flat.inputs], context="vary")
        idx.append(s.flat.params.index(n))
    P = np.tile(s.p, (len(values), 1))
    P[:, idx] = np.asarray(values, dtype=float)
    batch = run_batch(s, P, grid, tol=tolerances)
    obs = observe_batch(s, batch[0], batch.params, batch.inputs)
    cut = 0 if grid is times_h else 1
    return {c: v[:, cut:] for c, v in obs.items()}, list(batch[1])


def sweep_imported(model: ImportedModel, table: pd.DataFrame, *, hours: float = 72.0, times=None, tolerances: Tolerances = Tolerances(),
                   trajectories: bool = False):
    """`sweep(model=...)` of the members in `table` (one row each, one column per varied name; `sweep` samples it):
    one row per member with, for every column that changes, its peak, time of peak and final value."""
    from .._simulate import time_grid

    grid = time_grid(0.0, hours, times)
    obs, status = run_members(model, list(table.columns), table.to_numpy(), grid, tolerances)
    out = {"member": np.arange(len(table))}
    out.update({c: table[c].to_numpy() for c in table.columns})
    for c, v in obs.items():
        if np.nanmax(np.ptp(v, axis=1), initial=0.0) > 0:
            with np.errstate(all="ignore"):
                i = np.nanargmax(np.where(np.isfinite(v), v, -np.inf), axis=1)
            out[f"{c}_peak"] = v[np.arange(len(v)), i]
            out[f"{c}_peak_h"] = grid[i]
            out[f"{c}_end"] = v[:, -1]
    out["status"] = status
    df = pd.DataFrame(out)
    if trajectories:
        long = pd.concat([pd.DataFrame({"member": k, "time_h": grid, **{c: v[k] for c, v in obs.items()}}) for k in range(len(table))])
        return df, long.reset_index(drop=True)
    return df


def local_sensitivity_imported(model: ImportedModel, *, readout: str, params: Sequence[str] | None, times: Sequence[float],
                               rel_step: float = 1e-3, floor: float = 1e-6) -> tuple[pd.DataFrame, int]:
    """d ln(readout) / d ln(param) at `times` (h) by central differences, all 2k + 1 runs in one batch:
    (the table of time_h, param and s, the number of runs), which `local_sensitivity(model=...)` returns as its Sensitivity."""
    if readout not in [r[0] for r in model.readouts]:
        raise UnknownNameError("readout", readout, [r[0] for r in model.readouts])
    names = list(params) if params is not None else [p for p in model.params if p not in model.inputs and model.values[p] != 0]
    base = np.array([model.values[p] if p in model.values else np.nan for p in names])
    k = len(names)
    V = np.tile(base, (2 * k + 1, 1))
    for j in range(k):
        V[2 * j, j] *= np.exp(rel_step)
        V[2 * j + 1, j] *= np.exp(-rel_step)
    t = check_times(times)
    obs, status = run_members(model, names, V, t)
    bad = [s for s in status if s != "ok"]
    if bad:
        raise PlasticityError(f"local_sensitivity: {len(bad)} of {len(status)} runs failed; first: {bad[0]}")
    y = obs[readout]
    y0 = y[-1]
    dy = (y[0 : 2 * k : 2] - y[1 : 2 * k : 2]) / (2 * rel_step)
    with np.errstate(divide="ignore", invalid="ignore"):
        sens = np.where(np.abs(y0) > floor, dy / y0, 0.0)
    table = pd.DataFrame({"time_h": np.repeat(t[None, :], k, 0).ravel(), "param": np.repeat(names, len(t)), "s": sens.ravel()})
    return table.sort_values(["time_h", "param"], ignore_index=True), 2 * k + 1
