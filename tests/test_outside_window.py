"""The model outside its calibration window (issue 14): chronic dosing, decay, humans, dose window, Val66Met, robustness.

Every bound is the one stated in the issue; scripts/outside_window.py prints the same numbers as a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import simulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from outside_window import CHRONIC  # noqa: E402  (one list of the issue's regimens)

DAY = 24.0


def gain(regimen, species="mouse", hours=25.0, at=(24.0,), **kw):
    r = simulator.simulate(regimen, species=species, hours=hours, **kw)
    return [r.spine_gain(h) for h in at]


@pytest.fixture(scope="module")
def mouse_ketamine():
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=56 * DAY + 1)
    v = simulator.simulate([], species="mouse", hours=56 * DAY + 1, times=r.timecourse.time_h.to_numpy())
    excess = 100 * (r.timecourse.spine_density / v.timecourse.spine_density - 1)
    return r.timecourse.time_h.to_numpy(), excess.to_numpy(), r


@pytest.mark.slow
@pytest.mark.parametrize("species, regimen", CHRONIC)
def test_eight_weeks_of_repeated_dosing_are_bounded_and_settle(species, regimen):
    times = np.arange(0.0, 56 * DAY + 1, 2.0)
    r = simulator.simulate([regimen], species=species, hours=56 * DAY, times=times)
    v = simulator.simulate([], species=species, hours=56 * DAY, times=times)
    excess = 100 * (r.timecourse.spine_density / v.timecourse.spine_density - 1)
    assert excess.max() <= 60.0, f"{regimen}: spine density {excess.max():+.1f}% over vehicle"
    assert abs(r.spine_gain(56 * DAY) - r.spine_gain(49 * DAY)) <= 2.0


def test_one_ketamine_dose_wears_off_over_weeks(mouse_ketamine):
    t, excess, r = mouse_ketamine
    at = {d: np.interp(d * DAY, t, excess) for d in (1, 14, 28, 56)}
    peak = excess.max()
    assert at[14] > 0 and at[1] > 0
    assert at[28] <= peak / 3
    assert at[56] <= peak / 6


def test_one_ketamine_dose_keeps_a_third_of_its_excess_at_two_weeks(mouse_ketamine):
    t, excess, _ = mouse_ketamine
    assert np.interp(14 * DAY, t, excess) >= 0.3 * np.interp(DAY, t, excess)


def test_psilocybin_in_mice_stays_within_forty_percent():
    r = simulator.simulate(["psilocybin 1 mg/kg ip"], species="mouse", hours=14 * DAY)
    v = simulator.simulate([], species="mouse", hours=14 * DAY, times=r.timecourse.time_h.to_numpy())
    assert (100 * (r.timecourse.spine_density / v.timecourse.spine_density - 1)).max() <= 40.0


def test_clinical_ketamine_works_like_the_rodent_dose_and_fades(mouse_ketamine):
    t, excess, _ = mouse_ketamine
    mouse24 = np.interp(24.0, t, excess)
    h24, h14 = gain(["ketamine 0.5 mg/kg iv over 40 min"], "human", 14 * DAY + 1, (24.0, 14 * DAY))
    (low,) = gain(["ketamine 0.1 mg/kg iv over 40 min"], "human")
    (high,) = gain(["ketamine 1.0 mg/kg iv over 40 min"], "human")
    assert h24 >= 0.3 * mouse24 > 0
    assert h14 <= 0.5 * h24
    assert low <= 0.3 * h24
    assert high >= h24


def test_clinical_esketamine_reaches_a_third_of_the_rodent_gain(mouse_ketamine):
    t, excess, _ = mouse_ketamine
    (esk,) = gain(["esketamine 56 mg intranasal"], "human")
    assert esk >= 0.3 * np.interp(24.0, t, excess)


def test_clinical_psilocybin_is_positive_and_bounded():
    r = simulator.simulate(["psilocybin 25 mg oral"], species="human", hours=14 * DAY)
    v = simulator.simulate([], species="human", hours=14 * DAY, times=r.timecourse.time_h.to_numpy())
    excess = 100 * (r.timecourse.spine_density / v.timecourse.spine_density - 1)
    assert 0 < excess.max() <= 40.0 and r.spine_gain(24) > 0


def test_the_dose_window_is_graded_from_3_to_30_mg_per_kg():
    g = {d: gain([f"ketamine {d} mg/kg ip"])[0] for d in (3, 10, 30, 100)}
    best = max(g[3], g[10], g[30])
    assert all(g[d] >= 0.25 * best for d in (3, 10, 30)), g
    assert g[100] <= 0.25 * best, g


def test_val66met_lowers_density_and_the_ketamine_response():
    def density(genotype):
        return simulator.simulate([], species="mouse", genotype=genotype, hours=1).timecourse.spine_density.iloc[-1]

    wt, vm, mm = density("wild_type"), density("val/met"), density("met/met")
    assert 0.60 <= mm / wt <= 0.95
    assert mm / wt + 0.02 <= vm / wt <= 0.98
    (g_wt,) = gain(["ketamine 10 mg/kg ip"])
    (g_mm,) = gain(["ketamine 10 mg/kg ip"], genotype="met/met")
    assert g_mm <= 0.5 * g_wt


@pytest.mark.slow
def test_each_parameter_moved_by_ten_percent_keeps_baseline_and_response():
    lib = simulator.load_library()
    base_d = simulator.simulate([], species="mouse", hours=1).timecourse.spine_density.iloc[-1]
    (base_g,) = gain(["ketamine 10 mg/kg ip"])
    broken = []
    for name, p in lib.pathway.parameters.items():
        for f in (0.9, 1.1):
            params = {name: p.value * f}
            d = simulator.simulate([], species="mouse", hours=1, params=params).timecourse.spine_density.iloc[-1] / base_d
            (g,) = gain(["ketamine 10 mg/kg ip"], params=params)
            if not (abs(d - 1) <= 0.10 and base_g / 1.5 <= g <= 1.5 * base_g):
                broken.append((name, f, round(d, 3), round(g / base_g, 2)))
    assert not broken, broken
