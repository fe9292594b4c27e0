"""Analysis tools: metrics, dose-response, sensitivity, steady states, fitting, loop attribution."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.analysis.doseresponse import analyse_dose_response
from simulator.analysis.evaluate import ReadoutSpec, timecourse_metrics


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
    assert m["spine_gain_24h_pct"] == pytest.approx(r.spine_gain(24), rel=1e-6, abs=1e-9)
    assert m["peak"] >= m["spine_gain_24h_pct"] and m["peak"] >= m["spine_gain_48h_pct"]
    assert "at_72h" not in m
    g = simulator.metrics(r, "glutamate")
    assert g["peak"] == pytest.approx(r.peak("glutamate")[0])


def test_readout_spec_errors_name_the_grammar():
    assert ReadoutSpec.parse("spine_gain_24h_pct") == ReadoutSpec("spine_gain", "at", 24.0) == ReadoutSpec.parse("spine_gain_24h")
    assert ReadoutSpec.parse("spine_gain_24h").name == "spine_gain_24h_pct" and ReadoutSpec.parse("mtorc1_6h").name == "mtorc1_6h"
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


def _narrow_peak(d, at=7.0, width=0.5, top=5.0):
    """A sharp inverted U in log-dose (the shape the loop gives), peaking at `at` between grid doses."""
    return top * np.exp(-(((np.log(d) - np.log(at)) / width) ** 2))


def test_inverted_u_peak_is_never_below_the_best_grid_point_from_the_table_alone():
    # a five-point parabola through this sharp peak puts its maximum far below the best point; the
    # three-point parabola through the best dose and its neighbours cannot
    d = np.array([1, 3, 10, 30, 100])
    v = _narrow_peak(d)
    dr = analyse_dose_response("x {dose} mg/kg ip", "mouse", "r", d, v, e0=0.0)
    assert dr.inverted_u and dr.refine_runs == 0
    assert dr.peak_value >= v.max()
    assert 3 < dr.peak_dose < 30


def test_inverted_u_peak_is_located_on_the_response_when_it_can_simulate():
    d = np.array([1, 3, 10, 30, 100])
    calls = []

    def respond(x):
        calls.append(len(x))
        return _narrow_peak(np.asarray(x))

    dr = analyse_dose_response("x {dose} mg/kg ip", "mouse", "r", d, _narrow_peak(d), e0=0.0, respond=respond)
    assert dr.inverted_u and dr.refine_runs == sum(calls) > 0
    assert dr.peak_dose == pytest.approx(7.0, rel=1e-3)
    assert dr.peak_value == pytest.approx(5.0, rel=1e-6) and dr.peak_value >= _narrow_peak(d).max()
    x, y = dr.fit_curve
    assert np.all(np.diff(x) > 0) and x[0] == pytest.approx(3) and x[-1] == pytest.approx(30)
    assert np.allclose(y, _narrow_peak(x))  # the drawn curve is the response itself, not a model of it


def test_inverted_u_peak_keeps_the_grid_point_when_refinement_finds_nothing_higher():
    d = np.array([1, 3, 10, 30, 100])
    v = np.array([0.0, 1.0, 5.0, 1.0, 0.0])
    spike = lambda x: np.where(np.isclose(x, 10.0), 5.0, 0.5)  # noqa: E731 - higher only exactly at the grid dose
    dr = analyse_dose_response("x {dose} mg/kg ip", "mouse", "r", d, v, e0=0.0, respond=spike)
    assert dr.peak_value == 5.0 and dr.peak_dose == pytest.approx(10.0)


def test_dose_response_maximum_is_a_simulated_value_at_least_the_best_dose():
    dr = simulator.dose_response("ketamine", [1, 3, 10, 30, 80], species="mouse", readout="spine_gain_24h_pct")
    if not dr.inverted_u:
        pytest.skip(f"the current calibration gives no inverted U here: {dr.summary()}")
    assert dr.refine_runs > 0 and dr.peak_value >= dr.values.max()
    at_peak = simulator.simulate([f"ketamine {dr.peak_dose} mg/kg ip"], species="mouse", hours=24).spine_gain(24)
    assert dr.peak_value == pytest.approx(at_peak, rel=1e-3, abs=1e-6)


def test_dose_response_batch_matches_single_runs(tmp_path):
    dr = simulator.dose_response("ketamine", [1, 10, 30], species="mouse", readout="spine_gain_24h_pct")
    single = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=24).spine_gain(24)
    assert dr.values[1] == pytest.approx(single, rel=1e-3, abs=1e-6)
    dr.plot(tmp_path / "dr.png")
    assert (tmp_path / "dr.png").stat().st_size > 0


@pytest.mark.validation
def test_mouse_ketamine_spine_gain_is_an_inverted_u_peaking_between_3_and_30():
    dr = simulator.dose_response("ketamine", [1, 3, 10, 30, 80], species="mouse", readout="spine_gain_24h_pct")
    assert dr.inverted_u, dr.summary()
    assert 3 <= dr.peak_dose <= 30, dr.summary()


# ---------------------------------------------------------------- sensitivity
SOBOL_PARAMS = ["k_glutamate", "w_bdnf_feedback", "k_synaptic_protein", "mtorc1_max_fold"]


def test_local_sensitivity_matches_independent_single_runs():
    sens = simulator.local_sensitivity(["ketamine 10 mg/kg ip"], params=["k_synaptic_protein", "w_bdnf_feedback"], times=[6, 24])
    for name in ("k_synaptic_protein", "w_bdnf_feedback"):
        v = simulator.load_library().pathway.parameters[name].value
        h = 0.01
        up = simulator.simulate(["ketamine 10 mg/kg ip"], hours=24, params={name: v * math.exp(h)}).spine_gain(24)
        dn = simulator.simulate(["ketamine 10 mg/kg ip"], hours=24, params={name: v * math.exp(-h)}).spine_gain(24)
        mid = simulator.simulate(["ketamine 10 mg/kg ip"], hours=24).spine_gain(24)
        expected = (up - dn) / (2 * h) / mid
        got = sens.table.query("param == @name and time_h == 24")["s"].item()
        assert got == pytest.approx(expected, rel=0.02, abs=1e-4)


def test_sobol_indices_are_consistent_at_every_time(tmp_path):
    times = list(range(1, 25))
    sens = simulator.global_sensitivity(["ketamine 10 mg/kg ip"], method="sobol", params=SOBOL_PARAMS, times=times, n=64)
    tab = sens.table
    assert sorted(tab["time_h"].unique()) == times and len(tab) == len(times) * len(SOBOL_PARAMS)
    assert (tab["S1"] >= -tab["S1_conf"]).all() and (tab["S1"] <= 1 + tab["S1_conf"]).all()
    assert (tab["ST"] >= tab["S1"] - tab["S1_conf"] - tab["ST_conf"]).all()
    sens.plot(tmp_path / "sobol.png", time_h=24)
    assert (tmp_path / "sobol.png").stat().st_size > 0


def test_morris_ranks_an_irrelevant_parameter_low():
    # k_glutamate sets how fast glutamate relaxes; it hardly moves spines at 24 h against the feedback weights
    sens = simulator.global_sensitivity(["ketamine 10 mg/kg ip"], method="morris", params=SOBOL_PARAMS, times=[24], n=8)
    mu = sens.table.set_index("param")["mu_star"]
    assert (mu >= 0).all() and mu.max() > 0


def test_jacobian_is_finite_and_matches_the_rhs_where_a_state_overshoots_below_zero():
    # The steady-state Newton search can step to a negative fold (synaptic protein, say). There the
    # right-hand side's pos(x)**n is flat, so its derivative is 0; printing it as pos(x)**(n - 1)
    # gave 0 ** (negative) = inf and the "divide by zero" RuntimeWarning seen in Sobol runs.
    from simulator._simulate import setup

    s = setup(simulator.Regimen.coerce(["ketamine 10 mg/kg ip"]), species="mouse")
    comp, states = s.compiled, s.flat.states
    y = s.y0.copy()
    for name in ("synaptic_protein", "mtorc1", "trkb_active"):
        y[states.index(name)] = -0.02
    for i, name in enumerate(states):  # drugs present, so no state sits exactly on the kink at 0
        if name.endswith(("_brain", "_central", "_ip")):
            y[i] = 50.0 + i
    with np.errstate(all="raise"):
        jac = comp.jac(0.0, y, s.p)
    assert np.all(np.isfinite(jac))
    h = 1e-7
    fd = np.column_stack([(comp.rhs(0.0, y + h * e, s.p) - comp.rhs(0.0, y - h * e, s.p)) / (2 * h) for e in np.eye(len(y))])
    assert np.allclose(jac, fd, rtol=1e-4, atol=1e-6)


def test_jacobian_factor_is_the_derivative_of_pos_power_and_zero_left_of_zero():
    from simulator.engine.codegen import dpow, pos

    x = np.array([-1.0, 0.0, 0.25, 4.0])
    with np.errstate(all="raise"):
        assert np.array_equal(dpow(x, -0.5), [0.0, 0.0, 2.0, 0.5])
        assert np.array_equal(dpow(x, 0.0), [0.0, 1.0, 1.0, 1.0])  # pos(x): flat left of 0, slope 1 from 0 on
        assert np.array_equal(dpow(x, 1.5), pos(x) ** 1.5)


def test_range_scan_moves_one_parameter_at_a_time_across_its_declared_range():
    from simulator.analysis.sensitivity import range_scan

    names = ["w_bdnf_feedback", "k_synaptic_protein"]
    scan = range_scan(["ketamine 10 mg/kg ip"], params=names, times=[24], points=5)
    assert list(scan.param.unique()) == names and len(scan) == 2 * 5
    lib = simulator.load_library().pathway.parameters
    for name in names:
        values = scan[scan.param == name].value.to_numpy()
        assert values[0] == pytest.approx(lib[name].range[0]) and values[-1] == pytest.approx(lib[name].range[1])
    row = scan[scan.param == "k_synaptic_protein"].iloc[2]  # the others stay at their model values
    single = simulator.simulate(["ketamine 10 mg/kg ip"], hours=24, params={"k_synaptic_protein": row.value}).spine_gain(24)
    assert row.spine_gain == pytest.approx(single, rel=1e-3, abs=1e-6)


def test_global_sensitivity_rejects_times_without_variance():
    with pytest.raises(simulator.PlasticityError, match="does not vary"):
        simulator.global_sensitivity(["ketamine 10 mg/kg ip at 1 h"], params=SOBOL_PARAMS[:2], times=[1], n=8)


# ---------------------------------------------------------------- steady states and continuation
def test_baseline_is_a_stable_steady_state_and_is_found():
    found = simulator.steady_states(starts=12)
    assert found
    base = [ss for ss in found if abs(ss["mtorc1"] - 1.0) < 1e-6]
    assert base and base[0].stable
    for ss in found:  # every reported state really is one
        assert np.all(ss.y >= -1e-9)


def test_continuation_tracks_stability_from_eigenvalues(tmp_path):
    c = simulator.continuation("w_bdnf_feedback", np.linspace(0.0, 3.0, 7), starts=3)
    fwd = c.table[c.table["branch"] == "forward"]
    assert len(fwd) + sum(1 for f in c.failed if f[1] == "forward") == 7
    assert (c.table["stable"] == (c.table["max_real_eig"] < 0)).all()
    assert isinstance(c.bistable, bool) and c.param in c.summary()
    c.plot(tmp_path / "cont.png")
    with pytest.raises(simulator.UnknownNameError):
        simulator.continuation("w_bdnf_feedbak", [0.1, 0.2])


# ---------------------------------------------------------------- fitting
def test_fit_recovers_true_parameters_within_their_confidence_intervals(tmp_path):
    true = {"k_synaptic_protein": 0.08, "mtorc1_max_fold": 6.0}  # inside the documented ranges (k_synaptic_protein 0.015-0.1/h)
    r = simulator.simulate(["ketamine 10 mg/kg ip"], hours=24, params=true, times=np.arange(0.5, 24.1, 1.5))
    rng = np.random.default_rng(1)  # seeded noise; the intervals are profile likelihoods (two parameters)
    rows = [
        (t, c, v + rng.normal(0, 0.01), 0.01)
        for c in ("mtorc1", "synaptic_protein")
        for t, v in zip(r.timecourse.time_h, r.timecourse[c], strict=True)
    ]
    csv = tmp_path / "data.csv"
    pd.DataFrame(rows, columns=["time_h", "readout", "value", "sd"]).to_csv(csv, index=False)
    f = simulator.fit(csv, list(true), regimen=["ketamine 10 mg/kg ip"], start={"k_synaptic_protein": 0.04, "mtorc1_max_fold": 12.0})
    assert f.success
    for name, v in true.items():
        lo, hi = f.ci[name]
        assert lo <= v <= hi, (name, v, f.ci[name])
        assert hi / lo < 2.0  # informative, not a vacuous interval
    f.plot(tmp_path / "fit.png")


def test_fit_data_errors_name_the_columns():
    with pytest.raises(simulator.PlasticityError, match="missing column"):
        simulator.fit(pd.DataFrame({"time_h": [1.0], "value": [1.0]}), ["k_glutamate"])
    with pytest.raises(simulator.PlasticityError, match="sd"):
        simulator.fit(pd.DataFrame({"time_h": [1.0], "readout": ["mtorc1"], "value": [1.0], "sd": [0.0]}), ["k_glutamate"])


# ---------------------------------------------------------------- loop attribution
def test_loop_attribution_matches_cut_runs(tmp_path):
    att = simulator.loop_attribution(["ketamine 10 mg/kg ip"], hours=48)
    assert set(att.edges) == set(simulator.load_library().pathway.edges)
    cut = simulator.simulate(["ketamine 10 mg/kg ip"], hours=48, cut=[att.edges[0]])
    g24 = att.table.set_index("time_h").loc[24.0]
    assert g24[f"gain_cut_{att.edges[0]}"] == pytest.approx(cut.spine_gain(24), rel=1e-6, abs=1e-9)
    closed = g24["gain_closed"]
    assert att.at(24)[att.edges[0]] == pytest.approx((closed - cut.spine_gain(24)) / closed, rel=1e-6)
    att.plot(tmp_path / "attr.png")


# ---------------------------------------------------------------- command line
def test_cli_dose_response_and_fit_errors(tmp_path, capsys):
    from simulator.cli import main

    png = tmp_path / "dr.png"
    assert main(["dose-response", "--compound", "ketamine", "--doses", "1,10,30", "--species", "mouse", "--plot", str(png)]) == 0
    assert "spine_gain_24h_pct" in capsys.readouterr().out and png.stat().st_size > 0
    assert main(["fit", "--data", str(tmp_path / "missing.csv"), "--param", "k_glutamate"]) == 2
    assert "data: cannot read" in capsys.readouterr().err
    assert main(["dose-response", "--doses", "1,x"]) == 2


def test_cli_sensitivity_local(tmp_path, capsys):
    from simulator.cli import main

    out = tmp_path / "s.csv"
    assert (
        main(
            [
                "sensitivity",
                "--dose",
                "ketamine 10 mg/kg ip",
                "--params",
                "k_glutamate,w_bdnf_feedback",
                "--times",
                "6,24",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "local sensitivity" in capsys.readouterr().out
    assert set(pd.read_csv(out)["param"]) == {"k_glutamate", "w_bdnf_feedback"}


# ---------------------------------------------------------------- teaching
def test_reveal_sets_predictions_beside_the_model_answers():
    from simulator.classroom.snapshots import reveal

    t = reveal(
        {"hours": 3.0, "shape": "Inverted U", "ranking": ["a", "b"], "arrows": {"x"}, "kept most": None},
        {"hours": 10.0, "shape": "inverted U", "ranking": ["a", "b"], "arrows": {"x", "y"}, "kept most": False},
    )
    agree = t["agree?"]
    assert agree["hours"].startswith("no") and agree["shape"] == "yes" and agree["ranking"] == "yes"
    assert agree["arrows"].startswith("partly") and agree["kept most"] == "no prediction written"
    assert list(t.index) == ["hours", "shape", "ranking", "arrows", "kept most"]


def test_analysis_refuses_doses_after_its_last_time():
    """dose_response, sensitivities and fits run through evaluate(), which checks the dose window as simulate does."""
    with pytest.raises(simulator.RegimenError, match=r"given at 80 h, after the last output time 72 h"):
        simulator.local_sensitivity(["ketamine 10 mg/kg ip at 80 h"], params=["k_glutamate"], times=[1, 24, 72])
