"""Fitting a lab's own data: several experiments, % vs vehicle with sem, profile likelihood, multi-start.

Every data set is made here from the current model with known parameters and seeded noise, so the
checks hold whatever the calibrated values are."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.analysis.evaluate import param_range
from simulator.analysis.fit import Experiment

EXPERIMENTS = {"mouse 10": Experiment(["ketamine 10 mg/kg ip"], species="mouse"), "rat 30": Experiment(["ketamine 30 mg/kg ip"], species="rat")}


def synthetic(true: dict[str, float], seed: int) -> pd.DataFrame:
    """mTORC1 as % vs vehicle (sem 3 points) and spine gain (sem 0.5 points) in two species."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, e in EXPERIMENTS.items():
        r = simulator.simulate(list(e.regimen), species=e.species, hours=24, params=true, times=[0, 0.5, 1, 2, 4, 8, 24])
        for t in (0.5, 1, 2, 4, 8):
            pct = 100 * (r.at("mtorc1", t) / r.vehicle.at("mtorc1", t) - 1)
            rows.append({"experiment": name, "time_h": t, "readout": "mtorc1", "scale": "% vs vehicle", "value": pct + rng.normal(0, 3), "sem": 3.0})
        for t in (8, 24):
            rows.append({"experiment": name, "time_h": t, "readout": "spine_gain", "value": r.spine_gain(t) + rng.normal(0, 0.5), "sem": 0.5})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def two_species():
    true = {"k_mtorc1": 5.0, "mtorc1_max_fold": 6.0}
    return true, synthetic(true, seed=0)


def test_several_experiments_in_pct_vs_vehicle_recover_the_truth_inside_profile_intervals(two_species, tmp_path):
    true, data = two_species
    f = simulator.fit(data, list(true), experiments=EXPERIMENTS)
    assert f.success
    assert set(f.profiles) == set(true)  # two parameters: profiles by default
    for name, v in true.items():
        lo, hi = f.ci[name]
        assert lo <= v <= hi, (name, v, f.ci[name])
        assert f.profiles[name].identifiable and hi / lo < 2.0
    # the model's prediction for the data is what simulate gives at the fitted values
    r = simulator.simulate(["ketamine 30 mg/kg ip"], species="rat", hours=24, params=f.params, times=[0, 2, 24])
    row = f.data[(f.data.experiment == "rat 30") & (f.data.time_h == 2) & (f.data.readout == "mtorc1")].iloc[0]
    assert row.predicted == pytest.approx(100 * (r.at("mtorc1", 2) / r.vehicle.at("mtorc1", 2) - 1), rel=1e-6)
    f.plot(tmp_path / "fit.png")


def test_a_parameter_the_data_cannot_see_is_flagged_not_identifiable(two_species):
    _, data = two_species
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = simulator.fit(data[data.readout == "mtorc1"], ["k_spine_head"], experiments=EXPERIMENTS)
    pr = f.profiles["k_spine_head"]
    assert pr.status == "flat" and not pr.identifiable and f.identifiable == {"k_spine_head": False}
    assert f.table.loc[0, "identifiable"] == False  # noqa: E712 (a pandas object column)
    assert any("not identifiable" in str(w.message) for w in caught)


def test_multistart_is_reproducible_and_keeps_the_best(two_species):
    true, data = two_species
    kw = dict(experiments=EXPERIMENTS, starts=3, seed=7, profiles=False)
    a = simulator.fit(data, list(true), **kw)
    b = simulator.fit(data, list(true), **kw)
    assert len(a.starts) == 3
    pd.testing.assert_frame_equal(a.starts, b.starts)
    assert a.cost == pytest.approx(a.starts.cost.min())
    lo, hi = param_range(a.setup, "k_mtorc1")
    assert all(lo * 0.999 <= v <= hi * 1.001 for v in a.starts.start_k_mtorc1)
    assert a.table.ci_method.tolist() == ["fisher", "fisher"]
    a.profile("k_mtorc1")  # on request
    assert a.table.ci_method.tolist() == ["profile", "fisher"]


def test_sd_with_group_size_is_the_error_of_the_mean():
    from simulator.analysis.fit import read_data

    d = read_data(pd.DataFrame({"time_h": [1.0, 2.0], "readout": ["mtorc1"] * 2, "value": [1.0, 2.0], "sd": [4.0, 4.0], "n": [4, 16]}))
    assert d.sigma.tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    "frame, kwargs, match",
    [
        ({"time_h": [1.0], "readout": ["mtorc1"], "value": [1.0], "scale": ["fold"]}, {}, "scale 'fold'"),
        ({"time_h": [1.0], "readout": ["mtorc1"], "value": [1.0], "sd": [1.0], "sem": [1.0]}, {}, "sd or as sem"),
        ({"time_h": [1.0], "readout": ["mtorc1"], "value": [1.0], "experiment": ["a"]}, {}, "experiments="),
        ({"time_h": [1.0], "readout": ["mtorc1"], "value": [1.0], "experiment": ["b"]}, {"experiments": {"a": Experiment()}}, "unknown experiment 'b'"),
        ({"time_h": [1.0], "readout": ["ketamine_brain_nM"], "value": [1.0], "scale": ["pct_vs_vehicle"]},
         {"regimen": ["ketamine 10 mg/kg ip"]}, "0 in the vehicle"),
        ({"time_h": [1.0], "readout": ["mtorc1"], "value": [1.0]}, {"starts": 0}, "starts"),
    ],
)
def test_bad_fit_input_names_the_field(frame, kwargs, match):
    with pytest.raises(simulator.PlasticityError, match=match):
        simulator.fit(pd.DataFrame(frame), ["k_mtorc1"], **kwargs)
