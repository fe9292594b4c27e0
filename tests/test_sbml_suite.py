"""Every semantic case of the SBML Test Suite, judged by the suite's own rule (tests/sbml_suite.py).

Runs from ../shared/sbml-test-suite/semantic when it is there (or $SBML_TEST_SUITE, or
tests/data/sbml-test-suite/semantic); about 1-2 minutes on two cores. The counts are the claim the
README makes: no case may give wrong numbers, crash, or leave a requested variable out, and a new
kind of refusal shows up here as a changed table.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from sbml_suite import run_all, suite_dir

pytest.importorskip("libsbml")

SUITE = suite_dir()
MIN_PASS = 1400

# feature refused -> cases: the only SBML the engine does not simulate (the README's SBML section lists them)
REFUSED = {
    "hierarchical model composition (the comp package)": 123,
    "an algebraic rule": 116,
    "delay() in math (delay differential equations)": 48,
    "a fast reaction (fast='true')": 35,
    "flux balance constraints (the fbc package)": 34,
}


@pytest.fixture(scope="module")
def outcomes() -> list[tuple[str, str, str]]:
    assert SUITE is not None, "SBML Test Suite not found: tests/data/sbml-test-suite.tar.xz is missing"
    cases = sorted(p for p in SUITE.iterdir() if p.is_dir() and p.name.isdigit())
    return run_all(cases, workers=max(1, min(4, os.cpu_count() or 1)))


@pytest.mark.slow
def test_suite_counts(outcomes, capsys):
    counts = Counter(o for _, o, _ in outcomes)
    with capsys.disabled():
        print("\nSBML Test Suite semantic cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f" (of {len(outcomes)})")
    bad = [f"{c} {o}: {d}" for c, o, d in outcomes if o not in ("pass", "refused")]
    assert not bad, f"{len(bad)} cases wrong, unreported, crashed or failed:\n" + "\n".join(bad[:40])
    assert counts["pass"] >= MIN_PASS
    assert len(outcomes) >= 1800  # the whole suite ran, not a part of it


@pytest.mark.slow
def test_refusals_name_element_and_feature(outcomes):
    refused = [(c, d) for c, o, d in outcomes if o == "refused"]
    table = Counter(d.split(" | ", 1)[0] for _, d in refused)
    assert dict(table) == REFUSED
    for case, detail in refused:
        feature, message = detail.split(" | ", 1)
        # 'sbml import (<file>): <element>: <feature> is not supported'
        assert message.startswith(f"sbml import ({case}-sbml-") and f": {feature} is not supported" in message, (case, message)
        element = message.split("): ", 1)[1].split(f": {feature}", 1)[0]
        assert element.strip(), (case, message)
