"""An imported SBML model with events, swept by the project's batched engine and by libRoadRunner.

    python benchmarks/sbml_import_vs_roadrunner.py [--sizes 1000 10000]

The model is SBML read back with `simulator.from_sbml`: the project's own export of three daily
ketamine doses in a mouse (`to_sbml`, 23 rate rules, 93 parameters, 3 dose events at 0, 24 and 48 h,
`time >= T` triggers). Both tools get the same SBML text and the same seeded Latin hypercube over
ketamine_clearance and ketamine_volume (x0.5 to x2 of the model's values), run from the model's
initial values for 72 h at rtol 1e-7 and atol 1e-10, and report readout_spine_density at 72 h.
The project runs all members in one `run_batch` call (the compiled numba kernel on every core);
libRoadRunner runs them in a loop in this one process (resetAll, set two parameters, simulate).
Compile times are reported apart. A run of 10,000 members or more starts the model's own kernel
compiling in a low-priority background process (native.prefer_specialised) and runs on the generic
kernel meanwhile; once that is done the largest N runs again on it (what later sweeps of the model
get), and both rows are printed against the same RoadRunner sweep, with CPU seconds and the load.
The last line is `ratio_vs_roadrunner=<project sims/s / roadrunner sims/s at the largest N, on the kernel
later sweeps use>`, with the ratio per CPU second and the largest relative difference between the tools.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import simulator
from simulator.analysis.sweep import sample
from simulator.engine import native as _native
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
    ratio = per_cpu = diff = None
    print(f"{'N':>7} {'kernel':>8} {'project s':>10} {'cpu s':>7} {'proj sims/s':>12} {'rr s':>8} {'cpu s':>7} {'rr sims/s':>10} "
          f"{'max rel diff':>13} {'load':>5}")

    def row(n: int, values: np.ndarray, ref: np.ndarray, rr_s: float, rr_cpu: float) -> None:
        nonlocal ratio, per_cpu, diff
        t0, c0 = time.perf_counter(), time.process_time()
        obs, status = run_members(model, list(VARY), values, [0.0, 72.0], simulator.Tolerances(RTOL, ATOL))
        proj_s, proj_cpu = time.perf_counter() - t0, time.process_time() - c0
        ours = obs[READOUT][:, -1]
        assert all(s == "ok" for s in status), status[:3]
        which = "own" if set(_native._modules) - {_native.GENERIC} else "generic"  # the model's own kernel was loaded
        diff = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-6)))
        ratio, per_cpu = rr_s / proj_s, rr_cpu / proj_cpu
        print(f"{n:>7} {which:>8} {proj_s:>10.2f} {proj_cpu:>7.2f} {n / proj_s:>12.0f} {rr_s:>8.2f} {rr_cpu:>7.2f} {n / rr_s:>10.0f} "
              f"{diff:>13.2e} {os.getloadavg()[0]:>5.2f}")

    for n in args.sizes:
        table = sample({v: (0.5, 2.0) for v in VARY}, design="lhs", n=n, seed=1)
        values = table.to_numpy() * base
        t0, c0 = time.perf_counter(), time.process_time()
        ref, rr_compile = roadrunner_sweep(xml, VARY, values)
        rr_s, rr_cpu = time.perf_counter() - t0, time.process_time() - c0
        row(n, values, ref, rr_s, rr_cpu)
    waiting = [p for p in _native._spawned.values() if p is not None]
    if waiting:  # the largest run started the model's own kernel compiling (it may be done already): wait for it, run again
        t0 = time.perf_counter()
        for p in waiting:
            p.wait()
        print(f"model's own kernel: background compile finished {time.perf_counter() - t0:.1f} s after the runs (rr compile {rr_compile:.2f} s)")
        row(n, values, ref, rr_s, rr_cpu)
    print(f"ratio_vs_roadrunner={ratio:.2f} per_cpu_second={per_cpu:.2f} max_rel_diff={diff:.2e}")


if __name__ == "__main__":
    main()
