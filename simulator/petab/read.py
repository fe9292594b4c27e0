"""Run a PEtab v1 problem on the project's engine: `fit(petab="problem.yaml")`.

The SBML model goes through the project's importer (`from_sbml`), each simulation condition becomes
one setup with the condition table's values, and observables are the problem's formulas over the
model's ids (read by the petab library's own math parser). Supported: normal or Laplace-free
least squares, i.e. noiseDistribution normal with lin or log observables; noise formulas that are
numbers or noise parameters given in the measurement table; observable parameters given there or in
the parameter table; estimated parameters of the model or of the observables. Not supported (each a
clear error): preequilibration, estimated noise parameters, priors other than uniform bounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sympy as sp

from .._errors import PlasticityError, UnknownNameError
from ..analysis.estimate import Problem
from ..analysis.evaluate import evaluate
from ..analysis.fit import solve


def _petab():
    try:
        import petab.v1 as petab
    except ImportError:
        raise PlasticityError("petab: the petab library is not installed; install the extra with: pip install 'plasticity[sbml]'") from None
    return petab


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _overrides(text, n: int, what: str) -> list:
    """A measurement row's ';'-separated noise or observable parameters: numbers or parameter ids."""
    if _blank(text):
        return []
    items = str(text).split(";") if isinstance(text, str) else [text]
    out = []
    for it in items:
        it = it.strip() if isinstance(it, str) else it
        try:
            out.append(float(it))
        except (TypeError, ValueError):
            out.append(str(it))
    if len(out) != n:
        raise PlasticityError(f"petab: {what} has {len(out)} value(s), the formula has {n} placeholder(s)")
    return out


@dataclass
class _Condition:
    """One simulation condition: its setup and which measurement rows it predicts."""

    id: str
    setup: object
    rows: np.ndarray
    times: np.ndarray  # hours
    cols: np.ndarray  # each row's time index


def fit_petab(yaml_path: str | Path, *, params: Sequence[str] = (), level: float = 0.95, starts: int = 1, seed: int | None = None,
              profiles: bool | str = "auto"):
    """Estimate a PEtab problem's parameters (those with estimate = 1, or the subset `params`) on the compiled engine."""
    from .._simulate import setup
    from ..sbml.convert import from_sbml

    petab = _petab()
    path = Path(yaml_path)
    if not path.is_file():
        raise PlasticityError(f"petab: {str(path)!r} is not a file (expected the problem's YAML)")
    try:
        prob = petab.Problem.from_yaml(str(path))
    except Exception as exc:  # the library raises many kinds; one clear message names the file
        raise PlasticityError(f"petab: cannot read {path.name}: {exc.__class__.__name__}: {exc}") from None
    import yaml as _yaml

    spec = _yaml.safe_load(path.read_text(encoding="utf-8"))
    sbml_file = path.parent / spec["problems"][0]["sbml_files"][0]
    if not sbml_file.is_file():
        raise PlasticityError(f"petab: the SBML file {str(sbml_file)!r} named in {path.name} does not exist")
    sbml_text = sbml_file.read_text(encoding="utf-8")
    model = from_sbml(sbml_text)
    hpu = model.hours_per_unit or 1.0
    meas, obs_df, cond_df, par_df = prob.measurement_df, prob.observable_df, prob.condition_df, prob.parameter_df
    if "preequilibrationConditionId" in meas and meas["preequilibrationConditionId"].map(lambda v: not _blank(v)).any():
        raise PlasticityError("petab: preequilibration is not supported by fit(petab=...): the model starts from its SBML initial values")
    if "noiseDistribution" in obs_df and not obs_df["noiseDistribution"].map(lambda v: _blank(v) or v == "normal").all():
        raise PlasticityError("petab: only noiseDistribution 'normal' is supported (least squares)")
    estimated = [str(i) for i in par_df.index[par_df["estimate"].astype(int) == 1]]
    names = list(params) or estimated
    for n in names:
        if n not in estimated:
            raise UnknownNameError("estimated parameter", n, estimated, context="params (the PEtab parameter table's estimate = 1)")
    fixed = {str(i): float(par_df.loc[i, "nominalValue"]) for i in par_df.index if str(i) not in names and not _blank(par_df.loc[i, "nominalValue"])}
    model_params = set(model.params) - set(model.inputs)
    readouts = [r[0] for r in model.readouts]

    # observables: sympy formulas over model ids, observable parameters and parameter-table ids
    formulas, noises, transform = {}, {}, {}
    for oid, row in obs_df.iterrows():
        formulas[oid] = petab.math.sympify_petab(row["observableFormula"])
        noises[oid] = petab.math.sympify_petab(row["noiseFormula"])
        transform[oid] = row.get("observableTransformation", "lin") if not _blank(row.get("observableTransformation")) else "lin"
        if transform[oid] not in ("lin", "log", "log10"):
            raise PlasticityError(f"petab: observable {oid!r}: observableTransformation {transform[oid]!r} is not lin, log or log10")
    # conditions
    conds, y = [], meas["measurement"].to_numpy(float)
    sigma = np.empty(len(meas))
    obs_exprs: list[sp.Expr] = []
    for k, (_, row) in enumerate(meas.iterrows()):
        oid = row["observableId"]
        f = formulas[oid]
        ph = sorted((s for s in f.free_symbols if s.name.startswith("observableParameter")), key=lambda s: s.name)
        vals = _overrides(row.get("observableParameters"), len(ph), f"observableParameters of measurement {k}")
        f = f.subs({s: (v if isinstance(v, float) else sp.Symbol(v)) for s, v in zip(ph, vals, strict=True)})
        nz = noises[oid]
        nph = sorted((s for s in nz.free_symbols if s.name.startswith("noiseParameter")), key=lambda s: s.name)
        nvals = _overrides(row.get("noiseParameters"), len(nph), f"noiseParameters of measurement {k}")
        nz = nz.subs({s: (v if isinstance(v, float) else sp.Symbol(v)) for s, v in zip(nph, nvals, strict=True)})
        nz = nz.subs({sp.Symbol(p): v for p, v in fixed.items()})
        if nz.free_symbols:
            raise PlasticityError(f"petab: noise of measurement {k} ({oid}) depends on {sorted(s.name for s in nz.free_symbols)}; "
                                  "estimated noise parameters are not supported")
        sigma[k] = float(nz)
        obs_exprs.append(f)
    if not (np.all(np.isfinite(sigma)) and np.all(sigma > 0)):
        raise PlasticityError("petab: every measurement needs a noise (sigma) > 0")
    for cid in dict.fromkeys(meas["simulationConditionId"]):
        over, init = {}, {}
        crow = cond_df.loc[cid] if cid in cond_df.index else pd.Series(dtype=object)
        for col, v in crow.items():
            if col == "conditionName" or _blank(v):
                continue
            v = fixed[str(v)] if isinstance(v, str) and str(v) in fixed else v
            if isinstance(v, str):
                raise PlasticityError(f"petab: condition {cid!r} sets {col!r} to {v!r}, which is not a fixed parameter (estimated condition values are not supported)")
            if col in model.states:
                init[col] = float(v)
            elif col in model_params:
                over[col] = float(v)
            else:
                raise UnknownNameError("model entity", col, sorted(model_params) + list(model.states), context=f"petab condition table, condition {cid!r}")
        for p, v in fixed.items():
            if p in model_params and p not in over:
                over[p] = v
        s = setup(model=from_sbml(_bake(sbml_text, {**over, **init}, set(names))))
        rows = np.flatnonzero((meas["simulationConditionId"] == cid).to_numpy())
        t = meas["time"].to_numpy(float)[rows] * hpu
        if np.any(~np.isfinite(t)) or np.any(t < 0):
            raise PlasticityError(f"petab: condition {cid!r} has a measurement time that is not a finite number >= 0 (steady-state 'inf' is not supported)")
        times = np.unique(t)
        conds.append(_Condition(cid, s, rows, times, np.searchsorted(times, t)))

    model_names = [n for n in names if n in model_params]
    symbols = sorted({s.name for e in obs_exprs for s in e.free_symbols})
    columns = [c for c in symbols if c in readouts]
    other = [c for c in symbols if c not in readouts]
    for c in other:
        if c not in names and c not in fixed:
            raise UnknownNameError("observable symbol", c, readouts + names + list(fixed), context="petab observableFormula")
    args = [sp.Symbol(c) for c in columns] + [sp.Symbol(c) for c in other]
    funcs = [sp.lambdify(args, e, modules="numpy") for e in obs_exprs]
    tr = [transform[row["observableId"]] for _, row in meas.iterrows()]
    y_t = np.array([_tr(v, t) for v, t in zip(y, tr, strict=True)])

    def observe(V: np.ndarray, c: _Condition, times: np.ndarray, rows: Sequence[int], cols: np.ndarray) -> np.ndarray:
        """(members, len(rows)) observables on their transformed scale; NaN where a run failed."""
        out, status = evaluate(c.setup, model_names, V[:, [names.index(n) for n in model_names]], times, columns, strict=False)
        pred = np.empty((len(V), len(rows)))
        for j, r in enumerate(rows):
            vals = [out[col][:, cols[j]] for col in columns]
            vals += [V[:, names.index(o)] if o in names else np.full(len(V), fixed[o]) for o in other]
            with np.errstate(divide="ignore", invalid="ignore"):
                pred[:, j] = _tr(np.broadcast_to(funcs[r](*vals), (len(V),)), tr[r])
        pred[[st != "ok" for st in status]] = np.nan
        return pred

    def predict(X: np.ndarray) -> np.ndarray:
        V = np.exp(np.atleast_2d(X))
        P = np.full((len(V), len(meas)), np.nan)
        for c in conds:
            P[:, c.rows] = observe(V, c, c.times, c.rows, c.cols)
        return P

    lo, hi, x0 = _log_bounds(names, par_df)
    problem = Problem(names, lo, hi, x0, y_t, sigma, True, predict)
    data = pd.DataFrame({"experiment": meas["simulationConditionId"].astype(str).to_numpy(), "time_h": meas["time"].to_numpy(float) * hpu,
                         "readout": meas["observableId"].astype(str).to_numpy(), "value": y_t, "sigma": sigma, "scale": tr})

    def curves(values) -> dict:
        V = np.array([[values[n] for n in names]])
        out = {}
        for c in conds:
            t = np.linspace(0.0, float(c.times[-1]), 200)
            for oid in dict.fromkeys(meas["observableId"].iloc[c.rows]):
                r = int(c.rows[list(meas["observableId"].iloc[c.rows]).index(oid)])
                rows = [r] * len(t)
                out[(c.id, oid, tr[r])] = (t, observe(V, c, t, rows, np.arange(len(t)))[0])
        return out

    return solve(problem, data, level=level, starts=starts, seed=seed, profiles=profiles, setup_=conds[0].setup, curves=curves)


def _log_bounds(names: Sequence[str], par_df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-scale bounds and start of each estimated parameter, from the PEtab parameter table (the fit works in logs)."""
    lo, hi, x0 = [], [], []
    for n in names:
        a, b = float(par_df.loc[n, "lowerBound"]), float(par_df.loc[n, "upperBound"])
        if not (0 <= a < b < math.inf):
            raise PlasticityError(f"petab: parameter {n!r} needs bounds 0 <= lowerBound < upperBound < inf (the fit works in logs), got {a!r}, {b!r}")
        a = max(a, b * 1e-4)
        nominal = par_df.loc[n, "nominalValue"] if "nominalValue" in par_df else math.nan
        v = float(nominal) if not _blank(nominal) else math.sqrt(a * b)
        lo.append(math.log(a))
        hi.append(math.log(b))
        x0.append(math.log(min(max(v, a), b)))
    lo, hi = np.array(lo), np.array(hi)
    return lo, hi, np.clip(np.array(x0), lo + 1e-9, hi - 1e-9)


def _tr(v, how: str):
    """An observable on its transformed scale (PEtab's observableTransformation)."""
    if how == "log":
        return np.log(v)
    if how == "log10":
        return np.log10(v)
    return v


def _bake(text: str, values: dict[str, float], estimated: set[str]) -> str:
    """The SBML text with a condition's values written in: parameter values, initial amounts or
    concentrations, and constant parameters in event assignments replaced by their numbers (the
    batched engine adds numbers to states at events)."""
    from ..sbml.export import _libsbml

    ls = _libsbml()
    doc = ls.readSBMLFromString(text)
    m = doc.getModel()
    for pid, v in values.items():
        if m.getInitialAssignmentBySymbol(pid) is not None:
            m.removeInitialAssignment(pid)
        sp_ = m.getSpecies(pid)
        if sp_ is not None:
            (sp_.setInitialAmount if sp_.getHasOnlySubstanceUnits() else sp_.setInitialConcentration)(float(v))
        elif m.getParameter(pid) is not None:
            m.getParameter(pid).setValue(float(v))
        elif m.getCompartment(pid) is not None:
            m.getCompartment(pid).setSize(float(v))
    constants = {p.getId(): p.getValue() for p in m.getListOfParameters() if p.getConstant() and p.isSetValue()}
    for ev in m.getListOfEvents():
        for ea in ev.getListOfEventAssignments():
            ast = ea.getMath()
            stack, used = [ast], set()
            while stack:
                node = stack.pop()
                if node.isName():
                    used.add(node.getName())
                stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
            if used & estimated:
                raise PlasticityError(f"petab: event '{ev.getId()}' uses estimated parameter(s) {sorted(used & estimated)}; "
                                      "the batched engine needs event amounts that are known numbers")
            ast = ast.deepCopy()
            for pid in used & set(constants):
                ast.replaceArgument(pid, ls.parseL3Formula(repr(float(constants[pid]))))
            ea.setMath(ast)
    return ls.writeSBMLToString(doc)
