"""Fit the free ("calibrated") parameters of models/pathway.toml to the literature targets.

Run from the repository root:

    python scripts/calibrate.py            # fit, print the before/after table
    python scripts/calibrate.py --write    # ... and write the fitted values into models/pathway.toml
    python scripts/calibrate.py --check    # only evaluate the shipped values (no fit)

Only parameters whose source starts with "calibrated" are free, each within its plausible range
from models/pathway.toml; parameters taken from papers or marked "assumed" stay fixed. The
objective is a set of range residuals, one per target of literature.md section 10 that a
parameter of the loop can move (PK targets belong to the compound files, not to this fit):
a value inside its accepted range costs nothing, outside it costs its distance in units of the
range width. The fit is a bounded least-squares in log-parameter space (scipy), started from the
shipped values, so re-running it from the shipped file reproduces the shipped file.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

import simulator
from simulator._modelfiles import load_library

ROOT = Path(__file__).resolve().parents[1]
PATHWAY = ROOT / "models" / "pathway.toml"
RAT = "rat"
KET10 = "ketamine 10 mg/kg ip"


def free_parameters() -> dict[str, tuple[float, float, float]]:
    """name -> (value, low, high) for every parameter marked calibrated."""
    lib = load_library()
    out = {}
    for name, p in lib.pathway.parameters.items():
        if p.source.lower().startswith("calibrated") and p.range is not None:
            out[name] = (p.value, *p.range)
    return out


def _band(value: float, lo: float, hi: float) -> float:
    """0 inside [lo, hi]; the distance outside, in units of the band width."""
    width = max(hi - lo, 1e-9)
    if not math.isfinite(value):
        return 10.0
    return max(lo - value, 0.0, value - hi) / width


CULTURE = ("k_trkb_off", "trkb_basal_activation", "trkb_internalised_fraction", "k_akt", "akt_half_activation", "akt_hill", "k_erk", "erk_half_activation", "erk_hill")


def _gain(run, veh, t: float, col: str = "spine_density") -> float:
    v = veh.at(col, t)
    return 100.0 * (run.at(col, t) - v) / v


def culture_targets(params: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    """BDNF step on cultured neurons (Yuen & Mobley 1999; Dijkhuizen & Ghosh 2005; Ji 2010, via FindSim)."""
    bdnf = simulator.simulate(["bdnf 2 nM bath"], species="culture", hours=8.0, params=params, times=_times(8.0))
    out = {}
    ptrkb, t_trkb = bdnf.peak("trkb")
    out["pTrkB time to peak (min)"] = (t_trkb * 60, 2.5, 10.0)
    out["pTrkB at 30 min / peak"] = (bdnf.at("trkb", 0.5) / ptrkb, 0.35, 0.65)
    out["pAkt time to peak (min)"] = (bdnf.peak("pakt")[1] * 60, 0.0, 4.0)
    out["pAkt at 30 min / peak"] = (bdnf.at("pakt", 0.5) / bdnf.peak("pakt")[0], 0.8, 1.0)
    for t, fold in ((0.25, 5.6), (0.5, 3.9), (1.0, 4.0), (2.0, 3.0), (4.0, 2.2), (8.0, 2.2)):
        out[f"pERK at {t:g} h (fold)"] = (bdnf.at("perk", t), 0.7 * fold, 1.3 * fold)
    return out


def invivo_targets(params: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    """Ketamine in rat and mouse, with blockers and genotypes (literature.md section 10)."""
    def sim(reg, sp=RAT, hours=24.0, **kw):
        return simulator.simulate(reg, species=sp, hours=hours, params=params, times=_times(hours), **kw)

    veh = sim([])
    k10 = sim([KET10])
    k80 = sim(["ketamine 80 mg/kg ip"])
    k1 = sim(["ketamine 1 mg/kg ip"])
    rapa = sim(["rapamycin 0.2 nmol icv at -30 min", KET10])
    nbqx = sim(["nbqx 10 mg/kg ip at -30 min", KET10])
    metmet = sim([KET10], genotype="met/met")
    veh_mm = sim([], genotype="met/met")
    mouse = sim([KET10], sp="mouse", hours=14 * 24.0)
    veh_mouse = sim([], sp="mouse", hours=14 * 24.0)

    out: dict[str, tuple[float, float, float]] = {}
    g, tg = k10.peak("glutamate")
    out["glutamate peak (fold), rat 10 mg/kg"] = (g, 1.3, 3.0)
    out["glutamate time to peak (h)"] = (tg, 10 / 60, 80 / 60)
    out["glutamate at 3 h (fold)"] = (k10.at("glutamate", 3.0), 0.8, 1.2)
    m, tm = k10.peak("mtorc1")
    out["mTORC1 peak (fold)"] = (m, 1.5, 2.5)
    out["mTORC1 time to peak (h)"] = (tm, 0.5, 1.5)
    out["mTORC1 at 2 h (fold)"] = (k10.at("mtorc1", 2.0), 0.8, 1.2)
    out["mTORC1 at 1 h, 80 mg/kg (fold)"] = (k80.at("mtorc1", 1.0), 0.0, 1.2)
    out["glutamate peak 80 / 10 mg/kg"] = (k80.peak("glutamate")[0] / g, 0.0, 0.95)
    out["mTORC1 response 1 / 10 mg/kg"] = ((k1.peak("mtorc1")[0] - 1) / (m - 1), 0.0, 0.25)
    out["synaptic protein at 24 h (fold)"] = (k10.at("synaptic_protein", 24.0), 1.2, 1.8)
    out["synaptic protein at 2 h (fold)"] = (k10.at("synaptic_protein", 2.0), 1.02, 1.8)
    out["rapamycin residual synaptic protein rise"] = ((rapa.at("synaptic_protein", 24.0) - 1) / (k10.at("synaptic_protein", 24.0) - 1), -0.25, 0.25)
    gain = _gain(k10, veh, 24.0)
    out["spine gain at 24 h (%)"] = (gain, 25.0, 50.0)
    out["spine head diameter at 24 h (%)"] = (_gain(k10, veh, 24.0, "spine_head_diameter"), 10.0, 30.0)
    out["spine gain 1 mg/kg / 10 mg/kg"] = (_gain(k1, veh, 24.0) / gain, 0.0, 0.2)
    out["rapamycin residual spine gain"] = (_gain(rapa, veh, 24.0) / gain, -0.25, 0.25)
    out["NBQX residual spine gain"] = (_gain(nbqx, veh, 24.0) / gain, -0.25, 0.25)
    out["met/met spine gain / wild type"] = (_gain(metmet, veh_mm, 24.0) / gain, 0.0, 0.5)
    bp, tbp = k10.peak("bdnf_protein")
    out["BDNF protein peak (fold)"] = (bp, 1.2, 1.8)
    out["BDNF protein time to peak (h)"] = (tbp, 0.5, 2.0)
    d1, d14 = _gain(mouse, veh_mouse, 24.0), _gain(mouse, veh_mouse, 14 * 24.0)
    out["mouse spine gain at 24 h (%)"] = (d1, 5.0, 60.0)
    out["mouse day-14 / day-1 spine excess"] = (d14 / d1 if d1 > 0 else 0.0, 0.3, 1.0)
    return out


def targets(params: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    return {**culture_targets(params), **invivo_targets(params)}


def _times(hours: float) -> np.ndarray:
    early = np.arange(0.0, min(hours, 4.0) + 1e-9, 1 / 60)
    late = np.arange(4.0, hours + 1e-9, 0.5) if hours > 4 else np.array([])
    return np.unique(np.concatenate([early, late, [hours]]))


def residuals(x: np.ndarray, names: list[str], fixed: dict[str, float], fn) -> np.ndarray:
    params = {**fixed, **dict(zip(names, np.exp(x)))}
    try:
        res = fn(params)
    except simulator.PlasticityError:
        return np.full(len(fn(fixed)), 10.0)
    return np.array([_band(v, lo, hi) for v, lo, hi in res.values()])


def fit_stage(fn, names: list[str], free: dict[str, tuple[float, float, float]], fixed: dict[str, float], max_evals: int) -> dict[str, float]:
    x0 = np.log([free[n][0] for n in names])
    lo = np.log([free[n][1] for n in names])
    hi = np.log([free[n][2] for n in names])
    fit = least_squares(residuals, np.clip(x0, lo, hi), bounds=(lo, hi), args=(names, fixed, fn), diff_step=1e-2, max_nfev=max_evals)
    print(f"  stage {fn.__name__}: cost {fit.cost:.4g} after {fit.nfev} evaluations ({fit.message})")
    return dict(zip(names, np.exp(fit.x)))


def report(params: dict[str, float] | None = None) -> int:
    res = targets(params or {})
    misses = 0
    for name, (v, lo, hi) in res.items():
        ok = lo <= v <= hi
        misses += not ok
        print(f"  {'ok  ' if ok else 'MISS'} {name:<42} {v:10.3f}   [{lo:g}, {hi:g}]")
    print(f"  {len(res) - misses}/{len(res)} calibration targets inside their ranges")
    return misses


def write(values: dict[str, float]) -> None:
    text = PATHWAY.read_text()
    for name, v in values.items():
        text, n = re.subn(rf"^({re.escape(name)} = \{{ value = )[^,]+", rf"\g<1>{v:.4g}", text, flags=re.M)
        if n != 1:
            raise SystemExit(f"could not find parameter {name} in {PATHWAY}")
    PATHWAY.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write fitted values into models/pathway.toml")
    ap.add_argument("--check", action="store_true", help="only evaluate the shipped values")
    ap.add_argument("--max-evals", type=int, default=400)
    args = ap.parse_args(argv)
    free = free_parameters()
    names = list(free)
    print(f"{len(names)} calibrated parameters: {', '.join(names)}")
    print("shipped values:")
    misses = report()
    if args.check:
        return 1 if misses else 0
    culture = [n for n in names if n in CULTURE]
    values = fit_stage(culture_targets, culture, free, {}, args.max_evals)
    values.update(fit_stage(invivo_targets, [n for n in names if n not in CULTURE], free, values, args.max_evals))
    print("fitted values:")
    report(values)
    for n in names:
        print(f"  {n:<32} {free[n][0]:10.4g} -> {values[n]:10.4g}")
    if args.write:
        write(values)
        print(f"wrote {PATHWAY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
