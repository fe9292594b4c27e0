"""Write a fit problem on the loop as a PEtab v1 problem: SBML model, conditions, observables,
measurements, parameters and the YAML file that names them.

One SBML model serves every experiment: it is composed for the union of all experiments' doses, each
dose event adding a parameter `dose_<k>` that each condition sets to its amount (0 where the experiment
does not give it). Species-dependent parameters and initial states that differ between experiments
are condition-table columns. "% vs vehicle" observables divide by `vehicle_<readout>`, the drug-free
steady-state value of the readout, also set per condition. Time is hours from t = 0 (PEtab starts
there, so pretreatments must be at t >= 0). Estimated parameters are log10-scaled with the fit's bounds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .._errors import PlasticityError, UnknownNameError
from ..analysis.evaluate import SPINE_GAIN, override_setup, param_range
from ..analysis.fit import MIN_LOWER_BOUND, PCT, Experiment, read_data
from ..engine.scipy_path import event_amount
from ..model.regimen import Regimen
from ..sbml.export import READOUT_PREFIX, flat_to_sbml

FILES = {"sbml": "model.xml", "conditions": "conditions.tsv", "observables": "observables.tsv",
         "measurements": "measurements.tsv", "parameters": "parameters.tsv", "yaml": "problem.yaml"}


def _ident(text: str, used: set[str]) -> str:
    """A PEtab/SBML identifier from free text (letters, digits, underscores; not starting with a digit), unique."""
    base = "".join(c if c.isalnum() else "_" for c in text).strip("_") or "c"
    base = base if base[0].isalpha() else "c_" + base
    out, k = base, 2
    while out in used:
        out, k = f"{base}_{k}", k + 1
    used.add(out)
    return out


def observable_id(readout: str, scale: str) -> str:
    """The PEtab observable id of a readout on a scale: obs_mtorc1, obs_mtorc1_pct, obs_spine_gain."""
    return f"obs_{readout}" + ("_pct" if scale == PCT and readout != SPINE_GAIN else "")


def to_petab(
    folder: str | Path,
    data: str | Path | pd.DataFrame,
    params: Sequence[str],
    *,
    regimen=(),
    species: str = "mouse",
    experiments: Mapping[str, Experiment] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    overrides: Mapping[str, float] | None = None,
) -> Path:
    """Write the problem `fit(data, params, ...)` would solve as PEtab v1 files in `folder`; returns the YAML path.

    Data need errors (an sd or sem column): PEtab's noise model is given, not estimated, here.

    Examples:
        >>> yaml = to_petab("ketamine_petab", "data.csv", ["k_mtorc1"], regimen=["ketamine 10 mg/kg ip"], species="rat")
    """
    df = read_data(data)
    if not df.attrs.get("sigma_known"):
        raise PlasticityError("data: PEtab needs the error of every value; add an sd or sem column")
    names = list(dict.fromkeys([params] if isinstance(params, str) else params))
    if not names:
        raise PlasticityError("params: name at least one parameter to estimate")
    if experiments is None:
        if set(df["experiment"]) - {""}:
            raise PlasticityError("data: has an experiment column; describe each experiment with experiments={name: Experiment(...)}")
        experiments = {"": Experiment(Regimen.coerce(regimen), species=species, params=overrides)}
        df["experiment"] = ""
    arms = {}
    for name in dict.fromkeys(df["experiment"]):
        if name not in experiments:
            raise UnknownNameError("experiment", name, list(experiments), context="data: experiment column")
        arms[name] = experiments[name]
    union = _union_regimen(arms.values())
    setups = {}
    for name, e in arms.items():
        setups[name] = Experiment(union, species=e.species, condition=e.condition, genotype=e.genotype, params=e.params).setup()
    first = next(iter(setups.values()))
    if any(s.flat.structure_key != first.flat.structure_key for s in setups.values()):
        raise PlasticityError("experiments: PEtab export needs one model structure for every experiment (the same genotype and condition); "
                              "write one problem per structure")
    used: set[str] = set(first.flat.params) | set(first.flat.states)
    cond_ids = {name: _ident(name or "experiment", used) for name in arms}

    # per-experiment dose amounts: the experiment's own doses keep their amount, the others are 0
    events = [ev for ev in first.flat.events if math.isfinite(ev.time_h)]
    if any(ev.time_h < 0 for ev in events):
        raise PlasticityError("regimen: PEtab time starts at 0; give pretreatments at t >= 0 (shift the time axis of the data to match)")
    # each experiment's own events (composed alone) give its amounts; the others' doses are 0
    columns: dict[str, dict[str, float]] = {f"dose_{k}": dict.fromkeys(arms, 0.0) for k in range(len(events))}
    for name, e in arms.items():
        alone = e.setup()
        taken = [False] * len(events)
        for ev in (x for x in alone.flat.events if math.isfinite(x.time_h)):
            k = next(i for i, u in enumerate(events) if not taken[i] and (u.time_h, u.target, u.kind, u.label) == (ev.time_h, ev.target, ev.kind, ev.label))
            taken[k] = True
            columns[f"dose_{k}"][name] = float(event_amount(SimpleNamespace(flat=alone.flat), ev, alone.p))
    # parameters and initial states that differ between experiments
    for i, pname in enumerate(first.flat.params):
        vals = {name: float(s.p[i]) for name, s in setups.items()}
        if len(set(vals.values())) > 1:
            if pname in names:
                raise PlasticityError(f"params: {pname!r} differs between the experiments' species or overrides; PEtab estimates one value")
            columns[pname] = vals
    for i, state in enumerate(first.flat.states):
        vals = {name: float(s.y0[i]) for name, s in setups.items()}
        if len(set(vals.values())) > 1:
            columns[state] = vals
    # observables
    obs_rows, vehicle = [], {}
    readouts = {r[0] for r in first.flat.readouts}
    for (r, sc), _ in df.groupby(["readout", "scale"], sort=False):
        base = "spine_density" if r == SPINE_GAIN else r
        if base not in readouts:
            raise UnknownNameError("readout", r, sorted(readouts) + [SPINE_GAIN], context="data")
        oid = observable_id(r, sc)
        if r == SPINE_GAIN or sc == PCT:
            vid = f"vehicle_{base}"
            vehicle[vid] = base
            formula = f"100 * ({READOUT_PREFIX}{base} / {vid} - 1)"
        else:
            formula = f"{READOUT_PREFIX}{r}"
        obs_rows.append({"observableId": oid, "observableName": f"{r} (% vs vehicle)" if formula.startswith("100") else r,
                         "observableFormula": formula, "observableTransformation": "lin",
                         "noiseFormula": f"noiseParameter1_{oid}", "noiseDistribution": "normal"})
    for vid, base in vehicle.items():
        vals = {}
        for name, s in setups.items():
            obs = s.compiled.observe(s.y0[:, None], list(s.p[:, None]))
            v = float(np.ravel(obs[[r[0] for r in s.flat.readouts].index(base)])[0])
            if not v > 0:
                raise PlasticityError(f"data: readout {base!r} is 0 in the vehicle (experiment {name!r}); % vs vehicle means nothing")
            vals[name] = v
        columns[vid] = vals
    extra = {vid: (columns[vid][next(iter(arms))], f"drug-free steady state of readout '{base}' (divides its % vs vehicle)")
             for vid, base in vehicle.items()}
    # the one SBML model (values of the first experiment; the condition table sets the rest)
    sbml = flat_to_sbml(first.flat, first.p, first.y0, model_id="plasticity_petab", dose_parameters=True, extra=extra)
    # parameter table: estimated ones with the fit's bounds
    par_rows = []
    for n in names:
        if n not in first.flat.params or n in first.flat.inputs:
            raise UnknownNameError("parameter", n, [p for p in first.flat.params if p not in first.flat.inputs], context="params")
        _check_steady(first, n)
        a, b = (bounds or {}).get(n) or param_range(first, n)
        a = max(a, b * MIN_LOWER_BOUND)
        par_rows.append({"parameterId": n, "parameterName": n, "parameterScale": "log10", "lowerBound": a, "upperBound": b,
                         "nominalValue": float(first.values[n]), "estimate": 1})
    meas = pd.DataFrame({
        "observableId": [observable_id(r, sc) for r, sc in zip(df["readout"], df["scale"], strict=True)],
        "simulationConditionId": [cond_ids[e] for e in df["experiment"]],
        "time": df["time_h"].to_numpy(float),
        "measurement": df["value"].to_numpy(float),
        "noiseParameters": df["sigma"].to_numpy(float),
    })
    if (meas["time"] < 0).any():
        raise PlasticityError("data: PEtab time starts at 0; a measurement before t = 0 cannot be written")
    cond = pd.DataFrame([{"conditionId": cond_ids[name], "conditionName": name or "experiment",
                          **{col: vals[name] for col, vals in columns.items()}} for name in arms])
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / FILES["sbml"]).write_text(sbml, encoding="utf-8")
    cond.to_csv(out / FILES["conditions"], sep="\t", index=False)
    pd.DataFrame(obs_rows).to_csv(out / FILES["observables"], sep="\t", index=False)
    meas.to_csv(out / FILES["measurements"], sep="\t", index=False)
    pd.DataFrame(par_rows).to_csv(out / FILES["parameters"], sep="\t", index=False)
    yaml = out / FILES["yaml"]
    yaml.write_text(
        "format_version: 1\n"
        f"parameter_file: {FILES['parameters']}\n"
        "problems:\n"
        f"  - sbml_files: [{FILES['sbml']}]\n"
        f"    condition_files: [{FILES['conditions']}]\n"
        f"    measurement_files: [{FILES['measurements']}]\n"
        f"    observable_files: [{FILES['observables']}]\n",
        encoding="utf-8",
    )
    return yaml


def _union_regimen(arms) -> Regimen:
    """Every experiment's doses (pretreatments first), each distinct dose once."""
    doses = []
    for e in arms:
        for d in Regimen.coerce(e.pretreatment).doses + Regimen.coerce(e.regimen).doses:
            if d not in doses:
                doses.append(d)
    return Regimen(tuple(doses))


def _check_steady(s, name: str) -> None:
    """PEtab files here start from the drug-free steady state at the nominal values: refuse a parameter that moves it."""
    other = override_setup(s, {name: s.values[name] * 1.1})
    if not np.allclose(other.y0, s.y0, rtol=1e-6, atol=1e-9):
        raise PlasticityError(f"params: {name!r} moves the drug-free steady state, which a PEtab problem would need preequilibration for; "
                              "fit it with simulator.fit instead")
