"""Shared test helpers: a session-wide count of generated (property-based) cases, printed at the end."""

from __future__ import annotations

from collections import Counter

import pytest

GENERATED: Counter[str] = Counter()


@pytest.fixture(scope="session")
def count_case():
    """Call count_case("test name") once per generated case (session-scoped, so hypothesis accepts it)."""

    def count(name: str) -> None:
        GENERATED[name] += 1

    return count


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if GENERATED:
        terminalreporter.section("generated cases (hypothesis)")
        for name, n in sorted(GENERATED.items()):
            terminalreporter.write_line(f"{n:>6}  {name}")
        terminalreporter.write_line(f"{sum(GENERATED.values()):>6}  total")
