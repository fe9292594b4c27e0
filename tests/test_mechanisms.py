"""The loop right between its fitted numbers (issue 22): envelopes, cascade order, every class through its route,
rapastinel without a burst, the slow arm under chronic fluoxetine, no undershoot.

Every bound is the issue's; scripts/mechanisms.py prints the same measurements as a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import simulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from mechanisms import CLASSES, RAPAMYCIN, STAGES, folds, peak_time  # noqa: E402  (one copy of the cases)


@pytest.fixture(scope="module")
def mouse_ketamine():
    return folds(["ketamine 10 mg/kg ip"], "mouse")


@pytest.mark.parametrize("species", ["mouse", "rat"])
def test_synaptic_protein_rises_by_tens_of_percent_not_multiples(species):
    tc = folds(["ketamine 10 mg/kg ip"], species)
    assert 1.1 <= tc.synaptic_protein.max() <= 2.0


@pytest.mark.parametrize("species, dose", [("mouse", "ketamine 10 mg/kg ip"), ("rat", "ketamine 10 mg/kg ip"), ("mouse", "psilocybin 1 mg/kg ip")])
def test_spine_formation_stays_within_four_times_vehicle(species, dose):
    tc = folds([dose], species)
    assert 1.2 <= tc.formation_fold.max() <= 4.0


@pytest.mark.parametrize("dose", ["ketamine 10 mg/kg ip", "psilocybin 1 mg/kg ip"])
def test_no_loop_stage_undershoots_after_one_dose(dose):
    tc = folds([dose], "mouse")
    low = {s: round(float(tc[s].min()), 3) for s in STAGES}
    assert min(low.values()) >= 0.85, low


def test_cascade_order_mtorc1_then_protein_then_spines(mouse_ketamine):
    tc = mouse_ketamine
    assert peak_time(tc, "mtorc1") <= 2.0
    assert 2.0 <= peak_time(tc, "synaptic_protein") <= 12.0
    assert peak_time(tc, "gain") >= 12.0


@pytest.mark.slow
@pytest.mark.parametrize("species, dose", CLASSES)
def test_every_class_raises_spines_through_mtorc1(species, dose):
    g = simulator.simulate([dose], species=species, hours=24.5).spine_gain(24)
    gr = simulator.simulate([RAPAMYCIN, dose], species=species, hours=24.5).spine_gain(24)
    assert g >= 5.0, f"{dose} in {species}: {g:+.1f}% at 24 h"
    assert gr <= 0.25 * g, f"{dose} in {species} after rapamycin: {gr:+.1f}% of {g:+.1f}%"


def test_rapastinel_acts_on_mtorc1_without_a_glutamate_burst():
    tc = folds(["rapastinel 3 mg/kg iv"], "rat", hours=3)
    assert tc.glutamate.max() <= 1.2
    assert tc.mtorc1[tc.time_h <= 2].max() >= 1.2


def test_direct_trkb_binding_is_a_switch():
    on = simulator.simulate(["psilocybin 1 mg/kg ip"], species="mouse", hours=24.5).spine_gain(24)
    off = simulator.simulate(["psilocybin 1 mg/kg ip"], species="mouse", hours=24.5, params={"trkb_direct_binding": 0}).spine_gain(24)
    assert 5.0 <= off < on  # the 5-HT2A route alone still moves spines; the hypothesis adds to it


@pytest.mark.slow
def test_chronic_fluoxetine_builds_over_weeks():
    r = simulator.simulate(["fluoxetine 10 mg/kg ip every 1 d x 28"], species="mouse", hours=28 * 24 + 1)
    g7, g28 = r.spine_gain(7 * 24), r.spine_gain(28 * 24)
    assert g28 > 0 and g28 >= 2 * g7, (g7, g28)


@pytest.mark.slow
def test_the_slow_arm_alone_builds_over_weeks():
    """Without the TrkB-binding hypothesis fluoxetine acts only through the slow CREB -> BDNF transcription arm."""
    r = simulator.simulate(["fluoxetine 10 mg/kg ip every 1 d x 28"], species="mouse", hours=28 * 24 + 1, params={"trkb_direct_binding": 0})
    g7, g28 = r.spine_gain(7 * 24), r.spine_gain(28 * 24)
    assert g28 > 0 and g28 >= 2 * g7, (g7, g28)
