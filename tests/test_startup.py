"""Startup: the command line and `import simulator` load only what they need (issue 15).

What they load is checked here; how long they take is a timing, measured against `python -c "import pandas"` in
`benchmarks/startup.py`."""

from __future__ import annotations

import subprocess
import sys

import pytest


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
