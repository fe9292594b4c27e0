"""Shared test helpers: session-wide counts printed in the terminal summary.

- generated (property-based) cases, counted by tests/test_properties.py through `count_case`;
- sweeps killed with SIGKILL and resumed, counted by tests/test_resume.py through `count_kill`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

GENERATED: Counter[str] = Counter()
KILLS: Counter[str] = Counter()


def close_rel(a, b, rtol=2e-5, floor_of_peak=1e-6) -> bool:
    """Relative agreement with an absolute floor (drug concentrations decay to solver noise)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    floor = max(1e-8, floor_of_peak * np.max(np.abs(b)))
    return bool(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)) < rtol)


@pytest.fixture(scope="module")
def ket():
    """The ketamine 10 mg/kg i.p. model, set up once per test module."""
    from simulator._simulate import setup

    return setup(["ketamine 10 mg/kg ip"])


@pytest.fixture(scope="session")
def count_case():
    """Call count_case("test name") once per generated case (session-scoped, so hypothesis accepts it)."""

    def count(name: str) -> None:
        GENERATED[name] += 1

    return count


@pytest.fixture(scope="session")
def count_kill():
    """Call count_kill("what was killed", n) with the number of SIGKILLs a resumed run survived."""

    def count(name: str, n: int = 1) -> None:
        KILLS[name] += n

    return count


def _section(terminalreporter, title: str, counts: Counter[str]) -> None:
    terminalreporter.section(title)
    for name, n in sorted(counts.items()):
        terminalreporter.write_line(f"{n:>6}  {name}")
    terminalreporter.write_line(f"{sum(counts.values()):>6}  total")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if GENERATED:
        _section(terminalreporter, "generated cases (hypothesis)", GENERATED)
    if KILLS:
        _section(terminalreporter, "kills survived (SIGKILL, then resumed to the uninterrupted table)", KILLS)
