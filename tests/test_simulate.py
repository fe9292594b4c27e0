"""The foundation: vehicle steady state, the ketamine time course, the inverted U, the CLI front door."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.cli import main

FLOOR = 1e-9  # 10 x the default absolute tolerance: values closer to 0 than this are solver noise
READOUTS = ["glutamate", "ampa", "bdnf", "trkb", "mtorc1", "synaptic_protein", "spine_density"]


def halflife(t: np.ndarray, c: np.ndarray) -> float:
    """Half-life from the log-linear decline between 50% and 10% of the peak."""
    i = int(np.argmax(c))
    sel = (t > t[i]) & (c < 0.5 * c[i]) & (c > 0.1 * c[i])
    slope = np.polyfit(t[sel], np.log(c[sel]), 1)[0]
    return float(np.log(2) / -slope)


@pytest.fixture(scope="module")
def ket_mouse() -> simulator.Result:
    return simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=72)


def test_vehicle_is_a_steady_state_over_30_days():
    tc = simulator.simulate([], species="mouse", hours=30 * 24).timecourse
    for col in tc.columns.drop("time_h"):
        base = tc[col].iloc[0]
        drift = np.max(np.abs(tc[col] - base)) / max(abs(base), FLOOR)
        assert drift <= 1e-3, f"{col} drifts {drift:.2e} over 30 days"


def test_readout_columns_and_grid(ket_mouse):
    tc = ket_mouse.timecourse
    assert list(tc.columns[:1]) == ["time_h"]
    assert set(READOUTS + ["ketamine_brain_nM", "norketamine_brain_nM"]) <= set(tc.columns)
    assert np.all(np.diff(tc["time_h"]) <= 0.1 + 1e-9)
    assert tc["time_h"].iloc[0] == 0 and tc["time_h"].iloc[-1] == pytest.approx(72)
    values = tc.drop(columns="time_h").to_numpy()
    assert np.all(np.isfinite(values)) and values.min() >= -FLOOR


def test_ketamine_mouse_time_course(ket_mouse):
    tc = ket_mouse.timecourse
    t, c = tc["time_h"].to_numpy(), tc["ketamine_brain_nM"].to_numpy()
    assert 10 <= halflife(t, c) * 60 <= 35
    g, tg = ket_mouse.peak("glutamate")
    assert g > 1.2 and tg <= 80 / 60
    # the return below 1.2x within 3 h (literature.md item 4) is validation target 4e, a reported miss since the
    # graded disinhibition of issue 14 (docs/validation/validation.md); here only that the burst is over by 6 h
    assert ket_mouse.at("glutamate", 6.0) < 1.1
    m, tm = ket_mouse.peak("mtorc1")
    assert m > 1.2 and 0.5 <= tm <= 2.0
    for h in (24, 48, 72):
        assert ket_mouse.spine_gain(h) > 0


def test_pretreatment_starts_the_time_axis_and_dose_rows_show_the_state_after_the_dose():
    r = simulator.simulate(["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"], species="rat", hours=2)
    tc = r.timecourse
    assert tc["time_h"].iloc[0] == pytest.approx(-0.5)
    assert tc["rapamycin_brain_nM"].iloc[0] > 0
    depot = r.states.loc[r.states["time_h"] == 0.0, "ketamine_depot_ip"].iloc[0]
    assert depot > 0


def test_inverted_u_glutamate():
    peak = {d: simulator.simulate([f"ketamine {d} mg/kg ip"], species="mouse", hours=6).peak("glutamate")[0] for d in (10, 80)}
    assert peak[80] < peak[10]


def test_times_argument_and_provenance():
    r = simulator.simulate(["ketamine 10 mg/kg ip"], hours=5, times=[0, 1, 2.5, 5])
    assert list(r.timecourse["time_h"]) == [0, 1, 2.5, 5]
    prov = r.provenance
    assert prov["regimen"] == ["ketamine 10 mg/kg ip"] and prov["species"] == "mouse"
    assert len(prov["model_hash"]) == 16 and "k_glutamate" in prov["parameters"]
    assert prov["tolerances"]["rtol"] == simulator.Tolerances().rtol


def test_params_override_changes_the_run():
    base = simulator.simulate(["ketamine 10 mg/kg ip"], hours=3).peak("glutamate")[0]
    lower = simulator.simulate(["ketamine 10 mg/kg ip"], hours=3, params={"w_disinhibition_nmda": 0.5}).peak("glutamate")[0]
    assert lower < base


def test_cli_front_door(tmp_path, capsys):
    out, png = tmp_path / "ketamine.csv", tmp_path / "ketamine.png"
    rc = main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--species", "mouse", "--hours", "72", "--out", str(out), "--plot", str(png)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "glutamate peak" in text and "mTORC1 peak" in text and "vs vehicle at 72 h" in text
    df, prov = simulator.read_table(out)
    assert isinstance(df, pd.DataFrame) and "spine_density" in df and prov["regimen"] == ["ketamine 10 mg/kg ip"]
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--dose", "ketamin 10 mg/kg ip"],
        ["simulate", "--dose", "ketamine -3 mg/kg ip"],
        ["simulate", "--dose", "ketamine abc mg/kg ip"],
        ["simulate", "--dose", "ketamine 10 mg/lb ip"],
        ["simulate", "--dose", "ketamine 10 mg/kg intraocular"],
        ["simulate", "--species", "dog"],
        ["simulate", "--hours", "0"],
    ],
)
def test_cli_bad_input_one_line_and_nonzero(argv, capsys):
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and err.count("\n") == 1


def test_python_errors_are_typed():
    with pytest.raises(simulator.UnknownNameError, match="Did you mean 'ketamine'"):
        simulator.simulate(["ketamin 10 mg/kg ip"])
    with pytest.raises(simulator.RegimenError):
        simulator.simulate(["ketamine -1 mg/kg ip"])
    with pytest.raises(simulator.PlasticityError):
        simulator.simulate([], hours=-1)


def test_a_crawling_solve_ends_with_an_error_not_a_hang(monkeypatch):
    """The work limit ends a solve that needs more right-hand sides than allowed. The reworked loop has no parameter
    setting in range that crawls (a near-0 disinhibition Hill coefficient did before issue 14), so the limit is lowered
    until an ordinary 2 h ketamine run exceeds it: the compiled kernel's step limit first (it hands the run to the
    SciPy path), then the SciPy path's limit on right-hand sides."""
    from simulator.engine import native
    from simulator.engine import scipy_path as _solve

    monkeypatch.setattr(native, "MAX_STEPS", 20)
    monkeypatch.setattr(_solve, "MAX_RHS_EVALS", 50)
    with pytest.raises(simulator.SimulationError, match=r"gave up between t = 0 h and 2 h after 50 right-hand-side"):
        simulator.simulate(["ketamine 10 mg/kg ip"], hours=2, params={"k_glutamate": 4.5})


def test_a_negative_drug_free_steady_state_is_refused():
    """spine_turnover of 10/day (range 0.2-1%/day) makes new spines alone exceed the baseline: stable spines < 0."""
    with pytest.raises(simulator.SimulationError, match=r"drug-free steady state is negative \(spine_stable = -[0-9.]+\)"):
        simulator.simulate(["ketamine 10 mg/kg ip"], hours=2, params={"spine_turnover": 10 / 24})


def test_round_off_below_atol_is_reported_as_zero(tmp_path):
    """A drug that has left leaves solver round-off (-4.6e-28 nM before): reported as 0, in the frame and the CSV."""
    from simulator._simulate import numerical_zero

    atol = simulator.Tolerances().atol
    assert list(numerical_zero(np.array([-0.5 * atol, 0.5 * atol, -2 * atol, 3.0]), atol)) == [0.0, 0.0, -2 * atol, 3.0]
    r = simulator.simulate(["ketamine 10 mg/kg ip", "psilocybin 1 mg/kg ip at 30 h"], species="mouse", hours=72)
    for frame in (r.timecourse, r.states):
        assert frame.drop(columns="time_h").to_numpy().min() >= -atol
    assert (r.timecourse["ketamine_brain_nM"].iloc[-1], r.timecourse["ketamine_brain_nM"].iloc[0]) == (0.0, 0.0)
    r.save(tmp_path / "run.csv")
    df = pd.read_csv(tmp_path / "run.csv", comment="#")
    assert (df.select_dtypes("number") >= 0).all().all()
