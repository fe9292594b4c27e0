"""Run one SBML Test Suite semantic case with the suite's own pass rule (semantic/README.md).

Outcomes: pass; refused (SBMLUnsupportedError: a feature the engine cannot express, named); error (another
PlasticityError on a case the suite says is valid); wrong (a value outside |sim - exp| <= abs + rel*|exp|);
unreported (a requested variable is missing); crashed (any other exception, or over the time limit).
"""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd

SUITE_DIRS = [Path(__file__).resolve().parents[2] / "shared" / "sbml-test-suite" / "semantic",
              Path(__file__).resolve().parent / "data" / "sbml-test-suite" / "semantic"]
CASE_SECONDS = 90  # a case that runs longer counts as crashed (a hang); the slowest (00966, 100,000 event stops) takes ~15 s


ARCHIVE = Path(__file__).resolve().parent / "data" / "sbml-test-suite.tar.xz"  # the trimmed suite with its LICENSE.txt


def suite_dir() -> Path | None:
    """The semantic cases: $SBML_TEST_SUITE, ../shared/sbml-test-suite, or the vendored archive unpacked once."""
    env = os.environ.get("SBML_TEST_SUITE")
    for d in ([Path(env)] if env else []) + SUITE_DIRS:
        if d.is_dir():
            return d
    if ARCHIVE.is_file():
        import tarfile

        target = SUITE_DIRS[1].parent.parent  # tests/data
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(target, filter="data")
        if SUITE_DIRS[1].is_dir():
            return SUITE_DIRS[1]
    return None


def settings(case: Path) -> dict[str, str]:
    out = {}
    for line in (case / f"{case.name}-settings.txt").read_text(encoding="utf-8").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def sbml_file(case: Path) -> Path:
    for lv in ("l3v2", "l3v1", "l2v5", "l2v4", "l2v3", "l2v2", "l2v1", "l1v2"):
        f = case / f"{case.name}-sbml-{lv}.xml"
        if f.is_file():
            return f
    raise FileNotFoundError(case)


def _names(s: str) -> list[str]:
    return [v.strip() for v in s.split(",") if v.strip()]


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_case(case: Path) -> tuple[str, str, str]:
    """(case id, outcome, detail) for one case folder."""
    import simulator
    from simulator import PlasticityError
    from simulator._errors import SBMLUnsupportedError
    from simulator.engine.scipy_path import Tolerances
    from simulator.sbml.run import model_time_outputs

    st = settings(case)
    variables = _names(st["variables"])
    amount = set(_names(st.get("amount", "")))
    atol, rtol = float(st["absolute"]), float(st["relative"])
    expected = pd.read_csv(case / f"{case.name}-results.csv")  # columns: time, then `variables` in order (names may repeat)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        model = simulator.from_sbml(sbml_file(case))
        start, duration, steps = float(st["start"]), float(st["duration"]), int(float(st["steps"]))
        times = np.linspace(start, start + duration, steps + 1)
        tol = Tolerances(rtol=min(1e-8, rtol * 1e-4), atol=min(1e-12, atol * 1e-4))
        frames = model_time_outputs(model, times, tol, bases=("amount", "concentration"))
    except SBMLUnsupportedError as exc:
        return case.name, "refused", f"{exc.feature} | {exc}"
    except PlasticityError as exc:
        return case.name, "error", f"{type(exc).__name__}: {exc}"
    except _Timeout:
        return case.name, "crashed", f"over {CASE_SECONDS} s"
    except Exception as exc:  # noqa: BLE001 - the point is to count these
        return case.name, "crashed", f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    worst = ""
    for col, v in enumerate(variables, start=1):
        frame = frames["amount" if v in amount else "concentration"]
        if v not in frame:
            return case.name, "unreported", v
        got = frame[v].to_numpy(dtype=float)
        exp = expected.iloc[:, col].to_numpy(dtype=float)
        for i, (g, e) in enumerate(zip(got, exp, strict=True)):
            same_special = (math.isnan(e) and math.isnan(g)) or (math.isinf(e) and g == e)
            if not same_special and not abs(g - e) <= atol + rtol * abs(e):
                worst = f"{v} at t = {times[i]:g}: expected {e!r}, got {g!r}"
                return case.name, "wrong", worst
    return case.name, "pass", worst


def run_all(cases: list[Path], workers: int = 2) -> list[tuple[str, str, str]]:
    """Every case, in `workers` processes (fork: the workers share the imported engine)."""
    import multiprocessing as mp

    if workers <= 1:
        return [run_case(c) for c in cases]
    # the largest files first (they run longest), so no worker is left with a slow case at the end
    cases = sorted(cases, key=lambda c: -sbml_file(c).stat().st_size)
    with mp.get_context("fork").Pool(workers, maxtasksperchild=200) as pool:
        return sorted(pool.imap_unordered(run_case, cases, chunksize=4))


if __name__ == "__main__":  # python tests/sbml_suite.py [case ...]: a table of outcomes
    import sys
    from collections import Counter

    d = suite_dir()
    names = sys.argv[1:] or sorted(p.name for p in d.iterdir() if p.is_dir())
    res = run_all([d / n for n in names], workers=int(os.environ.get("WORKERS", "2")))
    for r in res:
        if r[1] != "pass":
            print(*r, sep="\t")
    print(Counter(r[1] for r in res))
