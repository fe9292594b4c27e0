"""Analysis tools: metrics, dose-response, sensitivity, steady states, fitting, loop attribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from simulator._analysis import ReadoutSpec, timecourse_metrics
from simulator._doseresponse import analyse_dose_response


# ---------------------------------------------------------------- metrics
def test_timecourse_metrics_on_a_known_curve():
    t = np.linspace(0, 100, 10001)
    y = 1.0 + 2.0 * np.where(t < 10, t / 10, np.exp(-(t - 10) * math.log(2) / 20))  # peak 3 at 10 h, half-life 20 h
    m = timecourse_metrics(t, y, 1.0)
    assert m["peak"] == pytest.approx(3.0, rel=1e-6)
    assert m["time_to_peak"] == pytest.approx(10.0, abs=0.011)
    assert m["half_life"] == pytest.approx(20.0, rel=1e-3)
    assert m["auc"] == pytest.approx(10.0 + 2 * 20 / math.log(2) * (1 - 2 ** (-90 / 20)), rel=1e-3)


def test_half_life_extrapolated_when_run_ends_first():
    t = np.linspace(0, 10, 1001)
    m = timecourse_metrics(t, np.exp(-t * math.log(2) / 30), 0.0)
    assert m["half_life"] == pytest.approx(30.0, rel=1e-3)


def test_metrics_of_a_result_agree_with_spine_gain():
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=48)
    m = simulator.metrics(r)
    assert m["at_24h"] == pytest.approx(r.spine_gain(24), rel=1e-6, abs=1e-9)
    assert m["peak"] >= m["at_24h"] and m["peak"] >= m["at_48h"]
    assert "at_72h" not in m
    g = simulator.metrics(r, "glutamate")
    assert g["peak"] == pytest.approx(r.peak("glutamate")[0])


def test_readout_spec_errors_name_the_grammar():
    assert ReadoutSpec.parse("spine_gain_24h") == ReadoutSpec("spine_gain", "at", 24.0)
    assert ReadoutSpec.parse("mtorc1_time_to_peak").metric == "time_to_peak"
    with pytest.raises(simulator.PlasticityError, match="readout"):
        ReadoutSpec.parse("mtorc1")


# ---------------------------------------------------------------- dose-response
def test_analyse_recovers_hill_parameters():
    d = np.array([0.3, 1, 3, 10, 30, 100, 300])
    v = 5 + 40 * d**1.5 / (8**1.5 + d**1.5)
    dr = analyse_dose_response("x {dose} mg/kg ip", "mouse", "r", d, v, e0=5.0)
    assert not dr.inverted_u
    assert dr.ec50 == pytest.approx(8, rel=1e-3) and dr.hill == pytest.approx(1.5, rel=1e-3) and dr.emax == pytest.approx(40, rel=1e-3)


def test_analyse_finds_inverted_u_peak_in_log_dose():
    d = np.array([1, 3, 10, 30, 100])
    v = 10 - (np.log(d) - np.log(12)) ** 2
    dr = analyse_dose_response("x {dose} mg/kg ip", "mouse", "r", d, v, e0=0.0)
    assert dr.inverted_u and dr.peak_dose == pytest.approx(12, rel=1e-6)


def test_dose_response_batch_matches_single_runs(tmp_path):
    dr = simulator.dose_response("ketamine", [1, 10, 30], species="mouse", readout="spine_gain_24h")
    single = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=24).spine_gain(24)
    assert dr.values[1] == pytest.approx(single, rel=1e-3, abs=1e-6)
    dr.plot(tmp_path / "dr.png")
    assert (tmp_path / "dr.png").stat().st_size > 0


@pytest.mark.validation
def test_mouse_ketamine_spine_gain_is_an_inverted_u_peaking_between_3_and_30():
    dr = simulator.dose_response("ketamine", [1, 3, 10, 30, 80], species="mouse", readout="spine_gain_24h")
    assert dr.inverted_u, dr.summary()
    assert 3 <= dr.peak_dose <= 30, dr.summary()
