"""An imported SBML model with events, swept by the project's batched engine and by libRoadRunner.

    python benchmarks/sbml_import_vs_roadrunner.py [--sizes 1000 10000]

The model is SBML read back with `simulator.from_sbml`: the project's own export of three daily
ketamine doses in a mouse (`to_sbml`, 23 rate rules, 93 parameters, 3 dose events at 0, 24 and 48 h,
`time >= T` triggers). Both tools get the same SBML text and the same seeded Latin hypercube over
ketamine_clearance and ketamine_volume (x0.5 to x2 of the model's values), run from the model's
initial values for 72 h at rtol 1e-7 and atol 1e-10, and report readout_spine_density at 72 h.
The project runs all members in one `run_batch` call (the compiled numba kernel on every core);
libRoadRunner runs them in a loop in this one process (resetAll, set two parameters, simulate).
Compile times are reported apart. The last line is `ratio_vs_roadrunner=<project sims/s / roadrunner
sims/s at the largest N>`, with the largest relative difference between the two tools beside it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import simulator
from simulator.analysis.sweep import sample
from simulator.engine.batch import engine
from simulator.sbml.batch import batch_setup, run_members

REGIMEN = ["ketamine 10 mg/kg ip every 24 h x 3"]
VARY = ("ketamine_clearance", "ketamine_volume")
READOUT = "readout_spine_density"
RTOL, ATOL = 1e-7, 1e-10


def roadrunner_sweep(xml: str, names, values: np.ndarray) -> tuple[np.ndarray, float]:
    import roadrunner

    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)  # CVODE notes on steps at the dose instants: not errors
    t0 = time.perf_counter()
    r = roadrunner.RoadRunner(xml)
    compile_s = time.perf_counter() - t0
    r.integrator.relative_tolerance = RTOL
    r.integrator.absolute_tolerance = ATOL
    out = np.empty(len(values))
    for k, row in enumerate(values):
        r.resetAll()
        for n, v in zip(names, row, strict=True):
            r[n] = float(v)
        res = r.simulate(0.0, 72.0, 2, selections=["time", READOUT])
        out[k] = res[-1, 1]
    return out, compile_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = ap.parse_args()
    xml = simulator.to_sbml(REGIMEN, species="mouse")
    t0 = time.perf_counter()
    model = simulator.from_sbml(xml)
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    batch_setup(model)
    run_members(model, list(VARY), np.array([[model.values[n] for n in VARY]]), [0.0, 72.0], simulator.Tolerances(RTOL, ATOL))
    kernel_s = time.perf_counter() - t0
    print(f"model: {len(model.states)} states, {len(model.params)} parameters, {len(model.sbml_events)} events; engine {engine()}")
    print(f"compile: project {import_s:.2f} s import + {kernel_s:.2f} s batched kernel (cache cold or warm as found)")
    base = np.array([model.values[n] for n in VARY])
    ratio = diff = None
    print(f"{'N':>7} {'project s':>10} {'proj sims/s':>12} {'rr s':>8} {'rr sims/s':>10} {'max rel diff':>13}")
    for n in args.sizes:
        table = sample({v: (0.5, 2.0) for v in VARY}, design="lhs", n=n, seed=1)
        values = table.to_numpy() * base
        t0 = time.perf_counter()
        obs, status = run_members(model, list(VARY), values, [0.0, 72.0], simulator.Tolerances(RTOL, ATOL))
        proj_s = time.perf_counter() - t0
        ours = obs[READOUT][:, -1]
        assert all(s == "ok" for s in status), status[:3]
        t0 = time.perf_counter()
        ref, rr_compile = roadrunner_sweep(xml, VARY, values)
        rr_s = time.perf_counter() - t0
        diff = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-6)))
        ratio = (n / proj_s) / (n / rr_s)
        print(f"{n:>7} {proj_s:>10.2f} {n / proj_s:>12.0f} {rr_s:>8.2f} {n / rr_s:>10.0f} {diff:>13.2e}   (rr compile {rr_compile:.2f} s)")
    print(f"ratio_vs_roadrunner={ratio:.2f} max_rel_diff={diff:.2e}")


if __name__ == "__main__":
    main()
