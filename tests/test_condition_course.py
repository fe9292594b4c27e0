"""A condition as a process (issue 22's slow arm): stress with an onset and an end, and the steady-state
condition as its long-run limit.

Relations are asserted against runs of the model, not stored numbers: the density during onset against the
unstressed and the stressed set points, recovery against the stressed start, the long-run limit against the
steady-state condition.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator import PlasticityError, load_library
from simulator.model.course import Course, parse_course

REPO_MODELS = Path(__file__).resolve().parent.parent / "models"
DAYS = np.arange(0, 57, 1.0)


def density(condition: str, days: np.ndarray = DAYS, regimen: list[str] | None = None) -> np.ndarray:
    r = simulator.simulate(regimen or [], species="rat", hours=float(days[-1] * 24), times=days * 24, condition=condition)
    return r.timecourse["spine_density"].to_numpy()


@pytest.fixture(scope="module")
def set_points() -> tuple[float, float]:
    """(unstressed, stressed) drug-free spine densities: the two ends every course runs between."""
    return density("none", np.array([0.0, 1.0]))[0], density("chronic_stress", np.array([0.0, 1.0]))[0]


# ------------------------------------------------------------------------------------------ the grammar
@pytest.mark.parametrize("text, course", [
    ("chronic_stress", Course("chronic_stress")),
    ("cus from 0 d", Course("cus", 0.0)),
    ("chronic_stress until 2 weeks", Course("chronic_stress", end_h=336.0)),
    ("chronic_stress from -21 d until 0 h", Course("chronic_stress", -504.0, 0.0)),
    ("chronic_stress from 1 d for 3 d", Course("chronic_stress", 24.0, 96.0)),
])
def test_course_grammar(text, course):
    assert parse_course(text) == course


@pytest.mark.parametrize("text, words", [
    ("chronic_stress from 2 d until 1 d", ["start (48 h) must come before the end (24 h)"]),
    ("chronic_stress for 3 d", ["'for' is the length after 'from'"]),
    ("chronic_stress from 0 d from 1 d", ["'from' is given twice"]),
    ("chronic_stress from soon", ["condition from", "cannot read 'soon'"]),
    ("none from 0 d", ["'none' changes nothing"]),
])
def test_a_bad_course_is_one_clear_error(text, words):
    with pytest.raises(PlasticityError) as info:
        simulator.simulate([], species="rat", hours=1, condition=text)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_a_condition_starting_after_the_window_is_refused_not_dropped():
    with pytest.raises(PlasticityError, match=r"condition: 'chronic_stress from 240 h' starts after the end of the simulation at 72 h.*hours=240"):
        simulator.simulate([], species="rat", hours=72, condition="chronic_stress from 10 d")


def test_a_condition_without_its_course_is_a_clear_file_error(tmp_path):
    dst = tmp_path / "models"
    shutil.copytree(REPO_MODELS, dst)
    (dst / "conditions.toml").write_text('[x]\nmultipliers = { bdnf_expression = { value = 0.9, unit = "1", source = "s" } }\n')
    with pytest.raises(PlasticityError, match=r"x\.course.*onset and recovery"):
        load_library(dst)


def test_every_course_rate_is_sourced_with_a_range():
    for c in load_library().conditions.values():
        if c.multipliers:
            for p in (c.onset, c.recovery):
                assert p is not None and p.unit == "1/h" and p.source and p.range[0] <= p.value <= p.range[1], c.name


# ------------------------------------------------------------------------------------------ the process
def test_the_steady_state_condition_starts_at_its_set_point_and_stays(set_points):
    r = simulator.simulate([], species="rat", hours=72, condition="chronic_stress")
    assert r.timecourse["condition_load"].eq(1.0).all()
    assert np.ptp(r.timecourse["spine_density"]) < 1e-9 * set_points[1]
    assert "condition_load" not in simulator.simulate([], species="rat", hours=1).timecourse


def test_onset_spines_fall_toward_the_stressed_set_point(set_points):
    calm, stressed = set_points
    d = density("chronic_stress from 0 d")
    assert d[0] == pytest.approx(calm, rel=1e-9)  # stress starting at t = 0 finds the unstressed animal
    lost = (calm - d) / (calm - stressed)  # fraction of the long-run loss
    assert lost[1] < 0.1 < lost[7]  # the loss builds over days, not hours ...
    assert np.all(d[1:] < calm) and np.all(d > stressed)  # ... toward the stressed set point, never past it
    # (not monotone: the homeostatic set point of 26085d4 takes back part of the early loss in weeks 2-8)


# Known miss (README limits): the stress acts on spines through the loss of established ones, and the stable pool
# now turns over in years (Grutzendler 2002, c092b70), so the loss takes months where restraint studies see weeks.
@pytest.mark.xfail(strict=True, reason="spine loss under stress takes months in the model; Radley 2006: about 16% after 21 d")
def test_onset_loses_a_third_of_the_long_run_loss_in_three_weeks(set_points):
    calm, stressed = set_points
    d = density("chronic_stress from 0 d", np.array([0.0, 21.0]))
    assert (calm - d[-1]) / (calm - stressed) > 1 / 3


def test_recovery_starts_within_a_week_and_the_drive_fades(set_points):
    calm, stressed = set_points
    r = simulator.simulate([], species="rat", hours=DAYS[-1] * 24, times=DAYS * 24, condition="chronic_stress until 0 h").timecourse
    d = r["spine_density"].to_numpy()
    assert d[0] == pytest.approx(stressed, rel=1e-9)
    assert d[1] < stressed + 0.25 * (calm - stressed) < d[7]  # days, not hours
    assert r["condition_load"].iloc[0] == 1.0 and r["condition_load"].iloc[28] < 0.01
    assert np.all(d[1:] > stressed)


@pytest.mark.xfail(strict=True, reason="after the transient regrowth the depleted stable pool refills over months; Radley 2005, Bloss 2010: about 3 weeks")
def test_recovery_is_nearly_complete_after_four_weeks(set_points):
    calm, stressed = set_points
    d = density("chronic_stress until 0 h", np.array([0.0, 28.0, 56.0]))
    assert abs(d[1] - calm) < 0.25 * (calm - stressed) and abs(d[2] - calm) < 0.25 * (calm - stressed)


def test_the_steady_state_condition_is_the_long_run_limit_of_the_process():
    """The steady-state condition is the process's fixed point while the stress lasts, and onset runs toward it.

    Reaching it takes years (under stress the stable pool turns over with a time constant of about 4 years),
    so the limit is checked as a fixed point and an approach, not by simulating until it is reached."""
    steady = simulator.simulate([], species="rat", hours=1, condition="chronic_stress").timecourse.iloc[0]
    t = np.array([0.0, 1000.0, 4000.0]) * 24
    held = simulator.simulate([], species="rat", hours=t[-1], times=t, condition="chronic_stress until 4100 d").timecourse
    onset = simulator.simulate([], species="rat", hours=t[-1], times=t, condition="chronic_stress from 0 d").timecourse
    for col in ("spine_density", "synaptic_protein", "bdnf", "mtorc1", "condition_load"):
        assert held[col].to_numpy() == pytest.approx(np.full(3, steady[col]), rel=1e-6), col
    gap = np.abs(onset["spine_density"].to_numpy() - steady["spine_density"])
    assert gap[2] < gap[1] < gap[0] and gap[2] < 0.2 * gap[0]
    assert onset["synaptic_protein"].iloc[-1] == pytest.approx(steady["synaptic_protein"], rel=1e-3)


def test_treatment_during_stress_onset_is_judged_against_the_same_course():
    r = simulator.simulate(["ketamine 10 mg/kg ip at 14 d"], species="rat", hours=15 * 24, times=np.arange(0, 15.01, 0.25) * 24,
                           condition="chronic_stress from 0 d")
    assert np.allclose(r.vehicle.timecourse["condition_load"], r.timecourse["condition_load"], rtol=1e-5, atol=1e-9)
    assert r.at("spine_density", 15 * 24) > 1.05 * r.vehicle.at("spine_density", 15 * 24)
    assert math.isclose(r.at("spine_density", 13 * 24), r.vehicle.at("spine_density", 13 * 24), rel_tol=1e-6)
