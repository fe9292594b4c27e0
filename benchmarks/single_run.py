"""Single runs: `simulate()` on the compiled kernel against libRoadRunner and against the SciPy path, in one process.

    python benchmarks/single_run.py [--repeat 30] [--commands]

Prints, each beside its reference from the same run:
- a 72 h ketamine 10 mg/kg i.p. run, warm: median `simulate()` on the kernel, on the SciPy path
  (PLASTICITY_ENGINE=scipy) and libRoadRunner's single run of the exported model (721 rows each);
- the first `simulate()` in a fresh process with the kernel cache warm (import included), on each engine;
- a new model structure once the engine is compiled: a run adding a compound, a species, a condition,
  a pretreatment and a cut, each first seen in this process (compose + codegen + tape, no compile);
- with --commands: `plasticity validate`, `plasticity lesson` and `scripts/calibrate.py --reproduce`, each
  on the kernel and on the SciPy path (the lesson and the calibration are long on the SciPy path).
Needs libRoadRunner (`pip install ".[bench]"`) for its line; the rest runs without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOSE = "ketamine 10 mg/kg ip"
FIRST = """
import time; t, c = time.perf_counter(), time.process_time()
import simulator
simulator.simulate(["ketamine 10 mg/kg ip"], hours=72)
print(time.perf_counter() - t, time.process_time() - c)
"""
FRESH_REPEAT = 5  # fresh processes per engine; the median, as one start-up on a shared machine can be twice another
NEW_STRUCTURES = {
    "compound": dict(regimen=["ketamine 10 mg/kg ip", "psilocybin 1 mg/kg ip at 24 h"]),
    "species": dict(regimen=["ketamine 10 mg/kg ip"], species="rat"),
    "condition": dict(regimen=["ketamine 10 mg/kg ip"], condition="chronic_stress"),
    "pretreatment": dict(regimen=["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"], species="rat"),
    "cut": dict(regimen=["ketamine 10 mg/kg ip"], cut="mtorc1_to_bdnf"),
}


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _fresh(engine: str) -> tuple[float, float]:
    """Median (wall s, CPU s) of a first `simulate()` in FRESH_REPEAT fresh processes, import included."""
    env = {**os.environ, "PLASTICITY_ENGINE": engine, "PLASTICITY_QUIET": "1"}
    runs = []
    for _ in range(FRESH_REPEAT):
        out = subprocess.run([sys.executable, "-c", FIRST], capture_output=True, text=True, check=True, env=env, cwd=ROOT)
        runs.append(tuple(float(x) for x in out.stdout.split()[-2:]))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _command(argv: list[str], engine: str) -> float:
    env = {**os.environ, "PLASTICITY_ENGINE": engine, "PLASTICITY_QUIET": "1"}
    t = time.perf_counter()
    subprocess.run(argv, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def _roadrunner_ms(repeat: int) -> float | None:
    try:
        import roadrunner
    except ImportError:
        return None
    import simulator

    rr = roadrunner.RoadRunner(simulator.to_sbml([DOSE]))
    rr.integrator.relative_tolerance = 1e-7
    rr.integrator.absolute_tolerance = 1e-10

    def run():
        rr.resetAll()
        rr.simulate(0.0, 72.0, 721, selections=["time", "readout_spine_density"])

    return _median_ms(run, repeat)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--commands", action="store_true", help="also time validate, lesson and calibrate --reproduce")
    args = ap.parse_args()
    os.environ["PLASTICITY_ENGINE"] = "native"  # wait for the kernel: this measures it, not the fallback
    import simulator
    from simulator.engine import native

    native.generic()
    kernel_ms = _median_ms(lambda: simulator.simulate([DOSE], hours=72), args.repeat)
    os.environ["PLASTICITY_ENGINE"] = "scipy"
    scipy_ms = _median_ms(lambda: simulator.simulate([DOSE], hours=72), max(3, args.repeat // 10))
    os.environ["PLASTICITY_ENGINE"] = "native"
    rr_ms = _roadrunner_ms(args.repeat)
    print(f"simulate() 72 h ketamine, warm median: kernel {kernel_ms:.2f} ms, SciPy path {scipy_ms:.1f} ms "
          f"(kernel {scipy_ms / kernel_ms:.0f}x faster)")
    if rr_ms is not None:
        print(f"libRoadRunner single run (721 rows): {rr_ms:.2f} ms; simulate() on the kernel is {rr_ms / kernel_ms:.2f}x its speed")
    (fresh_k, cpu_k), (fresh_s, cpu_s) = _fresh("native"), _fresh("scipy")
    print(f"first simulate() in a fresh process, cache warm, import included (median of {FRESH_REPEAT}): kernel {fresh_k:.2f} s "
          f"({cpu_k:.2f} s CPU), SciPy path {fresh_s:.2f} s ({cpu_s:.2f} s CPU) (ratio {fresh_k / fresh_s:.2f}); "
          f"load average {os.getloadavg()[0]:.1f}")
    for what, kw in NEW_STRUCTURES.items():
        kw = dict(kw)
        t = time.perf_counter()
        simulator.simulate(kw.pop("regimen"), hours=72, **kw)
        first = time.perf_counter() - t
        print(f"new {what}: first run {first:.2f} s (no compile; warm runs {kernel_ms:.2f} ms)")
    if args.commands:
        py = sys.executable
        for name, argv in (
            ("plasticity validate", [py, "-m", "simulator.cli", "validate"]),
            ("plasticity lesson", [py, "-m", "simulator.cli", "lesson"]),
            ("scripts/calibrate.py --reproduce", [py, "scripts/calibrate.py", "--reproduce"]),
        ):
            k, s = _command(argv, "native"), _command(argv, "scipy")
            print(f"{name}: kernel {k:.1f} s, SciPy path {s:.1f} s (kernel {s / k:.1f}x faster)")


if __name__ == "__main__":
    main()
