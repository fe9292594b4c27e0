"""The project's batched engine against libRoadRunner on the same model (exported by simulator.to_sbml).

    python benchmarks/sweep_vs_roadrunner.py [--sizes 1000 10000] [--workers 2]

Times one 72 h ketamine run with each tool (one-time compile reported apart), then sweeps of N
ketamine members (dose, ketamine_clearance and ketamine_ip_absorption_halflife varied by a seeded
Latin hypercube, the same sample for both tools), each giving spine density at 72 h. The two varied
rate constants are pharmacokinetic, so the drug-free steady state (the SBML's initial values) holds
for every member in RoadRunner as it does in the project (which settles each member's own).
Both tools run at rtol 1e-7, atol 1e-10 (the project's default Tolerances).

Needs `pip install ".[bench]"` (libRoadRunner, libsbml; numba is a core dependency). The project
sweep is one `run_batch` call: every member is integrated by the compiled numba kernel, `--workers`
threads (with PLASTICITY_ENGINE=scipy, the SciPy stacked path in a process pool).
The compile time is measured cold, into an empty kernel cache, and again as a warm-cache load in a
fresh process (what every later run pays). CPU seconds are printed next to wall seconds because a
shared machine slows both tools alike in wall time.
A sweep of 10,000 members or more starts its model's own kernel compiling in a low-priority background
process (native.prefer_specialised) and runs on the generic kernel meanwhile; once that compile is
done the largest N runs again on the model's own kernel (what later sweeps of this model get), and
both rows are printed, against the same RoadRunner sweep, with the load average.
The last lines are `ratio_generic=...` and `ratio_vs_roadrunner=<project sims/s / roadrunner sims/s at
the largest N, on the kernel later sweeps of this model use>`, and the same per CPU second.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import simulator
from simulator._simulate import setup, time_grid
from simulator.analysis.sweep import sample
from simulator.engine import native as _native
from simulator.engine.batch import engine, observe_batch, run_batch

DOSE = "ketamine 10 mg/kg ip"
VARY = {"dose:0": (0.3, 3.0), "ketamine_clearance": (0.5, 2.0), "ketamine_ip_absorption_halflife": (0.5, 2.0)}  # x base
TIMES = np.array([0.0, 72.0])


def _project_chunk(rows: np.ndarray) -> np.ndarray:
    s = setup([DOSE])
    P = np.tile(s.p, (len(rows), 1))
    for c, name in enumerate(list(VARY)[1:], start=1):
        P[:, s.flat.params.index(name)] *= rows[:, c]
    out = run_batch(s, P, TIMES, dose_scale=rows[:, 0])
    return observe_batch(s, out[0], out.params)["spine_density"][:, -1]


def project_sweep(rows: np.ndarray, workers: int, chunk: int = 250) -> np.ndarray:
    if engine() == "native":  # one call; the kernel spreads members over threads
        numba_threads(workers)
        return _project_chunk(rows)
    parts = [rows[i : i + chunk] for i in range(0, len(rows), chunk)]
    if workers <= 1:
        return np.concatenate([_project_chunk(p) for p in parts])
    import multiprocessing as mp

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        return np.concatenate(list(pool.map(_project_chunk, parts)))


def numba_threads(n: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


WARM_LOAD = """
import time
from simulator.engine import native as _native
t1 = time.perf_counter(); _native.generic()
print(time.perf_counter() - t1)
"""


def roadrunner_sweep(rr, rows: np.ndarray, base: dict[str, float], depot0: float, dose_amount: float) -> np.ndarray:
    out = np.empty(len(rows))
    names = list(VARY)[1:]
    for k, row in enumerate(rows):
        rr.resetAll()
        for c, name in enumerate(names, start=1):
            rr[name] = base[name] * row[c]
        # RoadRunner does not fire the exported t = 0 dose event (trigger time >= 0, initialValue false) after
        # resetAll(), so the whole dose goes into the depot as the initial state; the table's max rel diff checks it
        rr["ketamine_depot_ip"] = depot0 + row[0] * dose_amount
        res = rr.simulate(0.0, 72.0, 2, selections=["time", "readout_spine_density"])
        out[k] = res[-1, 1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    import roadrunner

    os.environ.setdefault("PLASTICITY_CACHE", tempfile.mkdtemp(prefix="plasticity-bench-cache-"))
    t = time.perf_counter()
    s = setup([DOSE])
    compose_s = time.perf_counter() - t
    kernel_s = warm_s = float("nan")
    if engine() == "native":
        t = time.perf_counter()
        _native.kernel(s.compiled)
        kernel_s = time.perf_counter() - t
        warm_s = float(subprocess.run([sys.executable, "-c", WARM_LOAD], capture_output=True, text=True, check=True).stdout.split()[-1])
    grid = time_grid(0.0, 72.0, None)  # 721 rows, as RoadRunner's single run below
    t = time.perf_counter()
    simulator.simulate([DOSE], hours=72)
    single_scipy = time.perf_counter() - t
    numba_threads(1)
    single_native = []
    for _ in range(5):
        t = time.perf_counter()
        run_batch(s, s.p[None, :], grid)
        single_native.append(time.perf_counter() - t)

    t = time.perf_counter()
    xml = simulator.to_sbml([DOSE])
    rr = roadrunner.RoadRunner(xml)
    compile_rr = time.perf_counter() - t
    rr.integrator.relative_tolerance = 1e-7
    rr.integrator.absolute_tolerance = 1e-10
    single_rr = []
    for _ in range(5):
        t = time.perf_counter()
        rr.resetAll()
        rr.simulate(0.0, 72.0, 721, selections=["time", "readout_spine_density"])
        single_rr.append(time.perf_counter() - t)

    base = {n: float(s.p[s.flat.params.index(n)]) for n in list(VARY)[1:]}
    depot0 = float(s.y0[s.flat.states.index("ketamine_depot_ip")])
    dose_amount = simulator.engine.scipy_path.event_amount(s.compiled, s.flat.events[0], s.p)

    print(
        f"model: {len(s.flat.states)} states, {len(s.flat.params)} parameters; engine={engine()}; workers={args.workers}; cores={os.cpu_count()}"
    )
    print(
        f"compile: project {compose_s:.2f} s compose + codegen + steady state, {kernel_s:.1f} s numba kernel (cold), "
        f"{warm_s:.2f} s kernel load from cache (warm); roadrunner {compile_rr:.3f} s (SBML + LLVM)"
    )
    print(
        f"single 72 h run, 721 rows (best of 5): project {min(single_native) * 1e3:.2f} ms (run_batch, 1 member, incl. steady state), "
        f"roadrunner {min(single_rr) * 1e3:.2f} ms; simulator.simulate, first call {single_scipy * 1e3:.0f} ms"
    )
    print(f"{'N':>7} {'kernel':>8} {'project s':>10} {'cpu s':>7} {'proj sims/s':>12} {'rr s':>9} {'cpu s':>7} {'rr sims/s':>10} "
          f"{'max rel diff':>13} {'load':>5}")
    ratios: dict[str, tuple[float, float]] = {}

    def row(n: int, rows: np.ndarray, rr_s: float, rr_cpu: float, theirs: np.ndarray) -> None:
        t, c = time.perf_counter(), time.process_time()
        mine = project_sweep(rows, args.workers)
        tp, cp = time.perf_counter() - t, time.process_time() - c
        which = "own" if s.compiled.key in _native._modules else "generic"  # its own kernel was loaded for this sweep
        diff = float(np.max(np.abs(mine - theirs) / np.abs(theirs)))
        print(f"{n:>7} {which:>8} {tp:>10.2f} {cp:>7.2f} {n / tp:>12.0f} {rr_s:>9.2f} {rr_cpu:>7.2f} {n / rr_s:>10.0f} {diff:>13.2e} "
              f"{os.getloadavg()[0]:>5.2f}")
        ratios[which] = (rr_s / tp, rr_cpu / cp)

    for n in args.sizes:
        rows = sample(VARY, design="lhs", n=n, seed=1).to_numpy()
        t, c = time.perf_counter(), time.process_time()
        theirs = roadrunner_sweep(rr, rows, base, depot0, dose_amount)
        tr, cr = time.perf_counter() - t, time.process_time() - c
        row(n, rows, tr, cr, theirs)
    proc = _native._spawned.get(s.compiled.key)
    if proc is not None and engine() == "native":  # the largest sweep started the model's own kernel compiling: wait, run again
        t = time.perf_counter()
        proc.wait()
        print(f"model's own kernel: background compile finished {time.perf_counter() - t:.1f} s after the sweeps")
        row(n, rows, tr, cr, theirs)
    for which, (r, rc) in sorted(ratios.items()):
        print(f"ratio_{which}={r:.2f} per_cpu_second_{which}={rc:.2f}")
    r, rc = ratios.get("own", ratios.get("generic", (float("nan"), float("nan"))))
    print(f"ratio_vs_roadrunner={r:.2f} per_cpu_second={rc:.2f}")


if __name__ == "__main__":
    main()
