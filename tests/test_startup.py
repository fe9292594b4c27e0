"""Startup: the command line and `import simulator` load only what they need (issue 15).

Ratios, not absolute times: each command is timed against `python -c "import pandas"` in the same run,
best of several tries (the minimum is the least disturbed by other work on the machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

TRIES = 5
HELP_RATIO = 1.5  # issue 15: `plasticity --help` within 1.5x of `python -c "import pandas"`
COMPOUNDS_RATIO = 3.0  # ... and `plasticity compounds` within 3x


def _best(argv: list[str]) -> float:
    best = float("inf")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for _ in range(TRIES):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def _cli() -> list[str]:
    exe = shutil.which("plasticity", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "simulator.cli"]


def test_import_simulator_loads_no_heavy_library():
    code = "import sys, simulator; print(sorted(m for m in ('pandas', 'scipy', 'sympy', 'matplotlib', 'numba', 'pint') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, encoding="utf-8").stdout.strip()
    assert out == "[]"
    code = "import sys, simulator.cli; print(sorted(m for m in ('pandas', 'scipy', 'sympy', 'matplotlib', 'numba') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, encoding="utf-8").stdout.strip() == "[]"


def test_every_public_name_still_resolves():
    import simulator

    for name in simulator.__all__:
        assert getattr(simulator, name) is not None, name
    assert sorted(simulator.__all__, key=str.lower) == simulator.__all__
    with pytest.raises(AttributeError):
        simulator.no_such_name  # noqa: B018


def test_commands_start_within_the_ratios_of_importing_pandas(capsys):
    pandas = _best([sys.executable, "-c", "import pandas"])
    helps = _best([*_cli(), "--help"])
    compounds = _best([*_cli(), "compounds"])
    with capsys.disabled():
        print(f"\nstartup (best of {TRIES}): import pandas {pandas:.2f} s, plasticity --help {helps:.2f} s ({helps / pandas:.2f}x), "
              f"plasticity compounds {compounds:.2f} s ({compounds / pandas:.2f}x)")
    assert helps <= HELP_RATIO * pandas, f"--help took {helps:.2f} s, {helps / pandas:.2f}x import pandas ({pandas:.2f} s)"
    assert compounds <= COMPOUNDS_RATIO * pandas, f"compounds took {compounds:.2f} s, {compounds / pandas:.2f}x import pandas ({pandas:.2f} s)"
