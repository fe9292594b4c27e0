"""Fit the free ("calibrated") parameters of models/pathway.toml to the validation targets.

Run from the repository root:

    python scripts/calibrate.py --check    # evaluate the shipped values (exit 1 if an (R) target misses)
    python scripts/calibrate.py            # fit, print the before/after table
    python scripts/calibrate.py --write    # ... and write the fitted values into models/pathway.toml

The objective is `simulator.validate()` itself, so the fit and `plasticity validate` can never
disagree about a target: one residual per calibration-set target (models/validation.toml `set`)
of docs/validation/literature.md section 10 that a parameter of the loop can move (every item but the PK items, which belong to the compound
files); the prediction set never enters the objective (the report prints both sets and the date and
seed of the frozen split, models/validation_split.toml), zero inside the
accepted range and the distance outside it in units of the range width, (R) targets weighted 1
and (C) targets 0.5, with a margin of 5% of each range so no target is left on an edge. Only
parameters whose source starts with "calibrated" are free, each within its plausible range from
models/pathway.toml; parameters taken from papers or marked "assumed" stay fixed, and so do the
"calibrated by hand" shape exponents (Hill coefficients and reaction orders, kept whole or half:
the targets barely identify them, a fit moved akt_hill from 1 to 1.004, and a whole exponent is a
few multiplications where a fractional one is a pow() in every right-hand-side evaluation), and
the four rates and weights set by hand in issue 14's last step (k_mtorc1, w_disinhibition_nmda,
disinhibition_threshold, k_spine_stabilisation: each source gives the fitted value it started from
and why it moved; `--check` evaluates them with the rest).
The fit runs in two stages, the cultured-neuron BDNF step (item 15) for the TrkB, Akt and ERK
kinetics and then the in vivo items for the rest, each a bounded least-squares in log-parameter
space (scipy) started from the shipped values, its Jacobian by forward differences evaluated in
parallel, ending when a step lowers the cost by less than 0.1%. `--reproduce` runs the fit from
the shipped values and fails if any parameter moves by more than 1% (a slow test runs it);
`--check` evaluates the shipped values without fitting.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

import simulator
from simulator.model.files import _load_toml, load_library
from simulator.model.units import convert

ROOT = Path(__file__).resolve().parents[1]
PATHWAY = ROOT / "models" / "pathway.toml"
SPLIT = ROOT / "models" / "validation_split.toml"
CULTURE_ITEMS = [15]
# pharmacokinetics and binding belong to the compound files, not to the loop's parameters
PK_ITEMS = {1, 2, 3, 18, 19, 28, 29}
CULTURE_PARAMS = ("k_trkb_off", "trkb_basal_activation", "trkb_internalised_fraction", "k_trkb_turnover", "k_akt", "akt_half_activation", "akt_hill",
                  "k_erk", "erk_half_activation", "erk_hill")
WEIGHT = {"R": 1.0, "C": 0.5}
MARGIN = 0.05


def calibration_ids(items: list[int]) -> list[str]:
    """Ids of the calibration-set targets of `items` (models/validation.toml `set`); prediction targets are never fitted."""
    from simulator.validation.targets import load_targets

    targets, _ = load_targets()
    return [t.id for t in targets if t.item in items and t.set == "calibration"]


def invivo_items() -> list[int]:
    """Every item of models/validation.toml that a loop parameter can move: all but the PK items and the culture step."""
    from simulator.validation.targets import load_targets

    targets, _ = load_targets()
    return sorted({t.item for t in targets} - PK_ITEMS - set(CULTURE_ITEMS))


INVIVO_ITEMS = invivo_items()


def split_summary(params: dict[str, float] | None = None) -> str:
    """Both sets judged with `params` and the date and seed of the frozen split (models/validation_split.toml).

    Only printed: the prediction set never enters the objective."""
    split = _load_toml(SPLIT)
    table = simulator.validate(params=params or {})
    judged = table[table["status"].isin(["pass", "miss"])]
    parts = []
    for name in ("calibration", "prediction"):
        s = judged[judged["set"] == name]
        parts.append(f"{name} {int((s['status'] == 'pass').sum())}/{len(s)}")
    r_miss = judged[(judged["status"] == "miss") & (judged["confidence"] == "R")]
    return f"split frozen {split['date']} (seed {split['seed']}): " + ", ".join(parts) + f"; (R) misses: {', '.join(r_miss['id']) or 'none'}"


def free_parameters() -> dict[str, tuple[float, float, float]]:
    """name -> (value, low, high) for every pathway parameter marked calibrated (not "calibrated by hand")."""
    out = {}
    for name, p in load_library().pathway.parameters.items():
        source = p.source.lower()
        if source.startswith("calibrated") and not source.startswith("calibrated by hand") and p.range is not None:
            out[name] = (p.value, *p.range)
    return out


def band_residuals(table: pd.DataFrame) -> np.ndarray:
    """Weighted distance of each judged target from its accepted range less a margin (0 inside), in range widths.

    The margin (MARGIN of the width) keeps a fit from parking targets on the edges of their ranges,
    where a round-off or a platform's libm would flip them between pass and miss."""
    res = []
    for r in table.itertuples():
        if r.status not in ("pass", "miss"):
            continue
        if not math.isfinite(r.simulated):
            res.append(10.0)
            continue
        lo, hi = r.low, r.high
        width = hi - lo if math.isfinite(hi - lo) and hi > lo else max(abs(lo) if math.isfinite(lo) else abs(hi), 1.0)
        lo, hi = lo + MARGIN * width, hi - MARGIN * width
        res.append(WEIGHT.get(r.confidence, 0.5) * max(lo - r.simulated, 0.0, r.simulated - hi) / width)
    return np.array(res)


def evaluate(items: list[str], params: dict[str, float]) -> np.ndarray:
    try:
        return band_residuals(simulator.validate(items, params=params))
    except simulator.PlasticityError:
        return np.full(len(band_residuals(simulator.validate(items))), 10.0)


def residuals_at(items: list[str], fixed: dict[str, float], names: list[str], x: np.ndarray) -> np.ndarray:
    """Band residuals with `names` at exp(x) (log-parameters) and the rest at `fixed`."""
    return evaluate(items, {**fixed, **dict(zip(names, np.exp(x)))})


def fit_stage(
    items: list[str], names: list[str], free: dict[str, tuple[float, float, float]], fixed: dict[str, float], max_iterations: int, workers: int
) -> dict[str, float]:
    """One bounded least-squares stage over `names`; returns their fitted values."""
    x0 = np.log([free[n][0] for n in names])
    # log space needs a positive floor: a range that starts at 0 is searched from 1e-3 of its upper end
    lo = np.log([max(free[n][1], 1e-3 * free[n][2]) for n in names])
    hi = np.log([free[n][2] for n in names])
    start = evaluate(items, fixed)
    if not np.any(start):
        print(f"  stage items {items}: every target inside its range at the start; values kept")
        return {n: free[n][0] for n in names}

    residuals = partial(residuals_at, items, fixed, names)

    def jacobian(x: np.ndarray) -> np.ndarray:
        """Forward differences of 1% in each log-parameter (backward at an upper bound), evaluated in parallel."""
        f0 = residuals(x)
        steps = 1e-2 * np.maximum(1.0, np.abs(x))
        steps = np.where(x + steps > hi, -steps, steps)
        points = [x + np.eye(len(x))[k] * steps[k] for k in range(len(x))]
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            cols = list(pool.map(residuals, points)) if workers > 1 else [residuals(p) for p in points]
        print(f"    Jacobian at cost {0.5 * float(f0 @ f0):.5g}", flush=True)
        return np.column_stack([(c - f0) / s for c, s in zip(cols, steps, strict=True)])

    # The residuals are flat inside each range, so the fit ends in a valley whose floor falls slowly: a step
    # that lowers the cost by under 0.1% (ftol) ends it, which is also what makes a re-run from the written
    # values stop where it started.
    fit = least_squares(residuals, np.clip(x0, lo, hi), jac=jacobian, bounds=(lo, hi), max_nfev=max_iterations, ftol=1e-3, xtol=1e-4)
    print(f"  stage items {items}: cost {0.5 * float(start @ start):.4g} -> {fit.cost:.4g} after {fit.nfev} steps ({fit.message})")
    return dict(zip(names, np.exp(fit.x)))


def report(params: dict[str, float] | None = None) -> int:
    """Print the judged targets; returns the number of (R) misses."""
    table = simulator.validate(calibration_ids(CULTURE_ITEMS + INVIVO_ITEMS), params=params or {})
    judged = table[table["status"].isin(["pass", "miss"])]
    for r in judged.itertuples():
        print(f"  {'ok  ' if r.status == 'pass' else 'MISS'} {r.id:<4} ({r.confidence}) {r.title[:58]:<58} {r.simulated:10.4g}   [{r.low:g}, {r.high:g}]")
    r_miss = int(((judged["status"] == "miss") & (judged["confidence"] == "R")).sum())
    print(f"  {int((judged['status'] == 'pass').sum())}/{len(judged)} targets inside their ranges; {r_miss} (R) misses")
    return r_miss


def write(values: dict[str, float]) -> None:
    """Write each value in its file's unit (4 significant digits) with a source naming this script."""
    text = PATHWAY.read_text()
    raw = _load_toml(PATHWAY)["parameters"]
    canonical = load_library().pathway.parameters
    for name, v in values.items():
        v = convert(v, canonical[name].unit, raw[name]["unit"])  # the library holds canonical units (1/h for 1/d)
        line = rf"^({re.escape(name)} = \{{ value = )[^,]+(.*source = \")calibrated(?: \(scripts/calibrate\.py\))?"
        text, n = re.subn(line, rf"\g<1>{v:.4g}\g<2>calibrated (scripts/calibrate.py)", text, flags=re.M)
        if n != 1:
            raise SystemExit(f"could not find calibrated parameter {name} in {PATHWAY}")
    PATHWAY.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write fitted values into models/pathway.toml")
    ap.add_argument("--check", action="store_true", help="only evaluate the shipped values")
    ap.add_argument("--reproduce", action="store_true", help="fit from the shipped values; exit 1 if any moves by more than 1%%")
    ap.add_argument("--max-iterations", type=int, default=30, help="least-squares steps per stage (each costs one validate() run "
                    "per free parameter for its Jacobian)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes evaluating the Jacobian's columns")
    args = ap.parse_args(argv)
    free = free_parameters()
    names = list(free)
    print(f"{len(names)} calibrated parameters: {', '.join(names)}")
    print("shipped values:")
    r_miss = report()
    print(split_summary())
    if args.check:
        return 1 if r_miss else 0
    values = fit_stage(calibration_ids(CULTURE_ITEMS), [n for n in names if n in CULTURE_PARAMS], free, {}, args.max_iterations, args.workers)
    values.update(fit_stage(calibration_ids(INVIVO_ITEMS), [n for n in names if n not in CULTURE_PARAMS], free, values, args.max_iterations,
                            args.workers))
    print("fitted values:")
    report(values)
    print(split_summary(values))
    changed = {n: v for n, v in values.items() if not math.isclose(v, free[n][0], rel_tol=1e-3)}
    for n in names:
        print(f"  {n:<32} {free[n][0]:10.4g} -> {values[n]:10.4g}{'' if n in changed else '   (unchanged)'}")
    print(f"{len(changed)} of {len(names)} parameters moved by more than 0.1%")
    if args.reproduce:
        moved = [n for n in names if not math.isclose(values[n], free[n][0], rel_tol=1e-2)]
        print(f"reproduce: {'FAILED, moved by more than 1%: ' + ', '.join(moved) if moved else 'every shipped value within 1% of its re-fit'}")
        return 1 if moved else 0
    if args.write:
        write(values)
        print(f"wrote {PATHWAY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
