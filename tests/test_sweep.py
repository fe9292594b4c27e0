"""Batched engine, sweeps, resume and Dask: agreement with single runs and properties, never exact values."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from conftest import close_rel

import simulator
from simulator._simulate import time_grid
from simulator.analysis.metrics import standard_metrics
from simulator.analysis.sweep import LOCK, _vehicle_columns, sample, sweep
from simulator.engine.batch import observe_batch, run_batch

KET = "ketamine 10 mg/kg ip"
POT = "ketamine_nmda_potency"


def test_batch_agrees_with_single_runs(ket):
    t = time_grid(0.0, 72.0, None)
    i = ket.flat.params.index(POT)
    P = np.tile(ket.p, (3, 1))
    P[:, i] = ket.p[i] * np.array([0.5, 1.0, 3.0])
    ds = np.array([2.0, 1.0, 0.3])
    out = run_batch(ket, P, t, dose_scale=ds)
    Y, status = out
    assert status == ["ok"] * 3 and Y.shape == (3, len(ket.flat.states), len(t))
    obs = observe_batch(ket, Y, out.params)
    for k in range(3):
        r = simulator.simulate([f"ketamine {10 * ds[k]} mg/kg ip"], params={POT: P[k, i]})
        for col in ("spine_density", "glutamate", "mtorc1", "ketamine_brain_nM"):
            assert close_rel(obs[col][k], r.timecourse[col]), (k, col)
    # the members really differ: the test could fail if parameters were ignored
    assert not close_rel(obs["spine_density"][0], obs["spine_density"][2], rtol=1e-4)


def test_failed_member_does_not_stop_the_batch(ket):
    t = np.linspace(0, 24, 25)
    i = ket.flat.params.index(POT)
    P = np.tile(ket.p, (3, 1))
    P[1, i] = np.nan
    P[2, ket.flat.params.index("ketamine_clearance")] = -1.0
    Y, status = run_batch(ket, P, t)
    assert status[0] == "ok"
    assert status[1].startswith("failed:") and POT in status[1]
    assert status[2].startswith("failed:") and "ketamine_clearance" in status[2]
    assert np.all(np.isnan(Y[1:])) and np.all(np.isfinite(Y[0]))
    single = simulator.simulate([KET], times=t)
    assert close_rel(observe_batch(ket, Y[:1], P[:1])["spine_density"][0], single.timecourse["spine_density"])


def test_run_batch_rejects_wrong_shape(ket):
    with pytest.raises(simulator.PlasticityError, match="param_matrix"):
        run_batch(ket, np.ones((2, 3)), [0.0, 1.0])


def test_metrics_single_run_equals_batch_row(ket):
    t = time_grid(0.0, 72.0, None)
    P = np.tile(ket.p, (2, 1))
    out = run_batch(ket, P, t, dose_scale=np.array([1.0, 2.0]))
    veh = run_batch(ket, P, t, dose_scale=0.0)
    obs, vobs = observe_batch(ket, out[0], out.params), observe_batch(ket, veh[0], veh.params)
    batch = standard_metrics(t, obs, vobs)
    one = standard_metrics(t, {k: v[1] for k, v in obs.items()}, {k: v[1] for k, v in vobs.items()})
    assert set(batch) == set(one)
    for k in one:
        assert isinstance(one[k], float) and one[k] == pytest.approx(batch[k][1], rel=1e-12, abs=1e-12)
    r = simulator.simulate(["ketamine 20 mg/kg ip"])
    assert batch["spine_gain_72h_pct"][1] == pytest.approx(r.spine_gain(72), rel=1e-4, abs=1e-4)


def test_samplers_are_seeded_and_shaped():
    a = sample({"x": (0.0, 1.0), "y": (10.0, 20.0)}, design="lhs", n=50, seed=3)
    b = sample({"x": (0.0, 1.0), "y": (10.0, 20.0)}, design="lhs", n=50, seed=3)
    c = sample({"x": (0.0, 1.0), "y": (10.0, 20.0)}, design="lhs", n=50, seed=4)
    assert a.equals(b) and not a.equals(c)
    # Latin hypercube: one point in each of the n strata of every axis
    assert sorted(np.floor(a["x"] * 50).astype(int)) == list(range(50))
    s = sample({"x": (2.0, 3.0)}, design="sobol", n=64, seed=1)
    assert s["x"].between(2, 3).all() and len(s) == 64
    g = sample({"x": [1, 2, 3], "y": (0.0, 1.0)}, design="grid", n=2)
    assert len(g) == 6 and set(g["y"]) == {0.0, 1.0}
    p1 = sample(None, design="population", n=20000, seed=7, population={"k": 0.3}, base={"k": 2.0})
    p2 = sample(None, design="population", n=20000, seed=7, population={"k": 0.3}, base={"k": 2.0})
    assert p1["k"].to_numpy().tobytes() == p2["k"].to_numpy().tobytes()
    assert p1["k"].mean() == pytest.approx(2.0, rel=0.02)
    assert p1["k"].std() / p1["k"].mean() == pytest.approx(0.3, rel=0.05)
    with pytest.raises(simulator.PlasticityError, match="range"):
        sample({"x": [1, 2]}, design="lhs", n=4)


def test_unknown_names_suggest():
    with pytest.raises(simulator.UnknownNameError, match="Did you mean 'ketamine_nmda_potency'"):
        sweep(KET, vary={"ketamine_nmda_potenc": [1000.0]})
    with pytest.raises(simulator.UnknownNameError, match="dose"):
        sweep(KET, vary={"dose:psilocybin": [1.0]})
    with pytest.raises(simulator.UnknownNameError, match="metric"):
        sweep(KET, vary={"dose:0": [1.0]}, metrics=["spine_gain"])


def test_sweep_matches_single_runs_for_params_dose_and_time():
    df = sweep(KET, vary={POT: [800.0, 2500.0], "dose:ketamine": [0.5, 2.0], "time:0": [0.0, 3.0]}, workers=1)
    assert list(df["member"]) == list(range(8)) and (df["status"] == "ok").all()
    for _, row in df.iloc[[1, 6]].iterrows():
        r = simulator.simulate([f"ketamine {10 * row['dose:ketamine']} mg/kg ip at {row['time:0']} h"], params={POT: row[POT]})
        assert row["spine_gain_72h_pct"] == pytest.approx(r.spine_gain(72), rel=1e-4, abs=1e-4)
        assert row["glutamate_peak_fold"] == pytest.approx(r.summary()["glutamate_peak_fold"], rel=1e-5)


def test_vehicle_runs_are_shared_only_across_compound_parameters(ket):
    names = [ket.flat.params[j] for j in _vehicle_columns(ket)]
    assert "k_glutamate" in names and "body_weight" in names
    assert POT not in names and "ketamine_clearance" not in names
    # a pathway parameter changes the vehicle too: each member is compared with its own
    df = sweep(KET, vary={"k_glutamate": [2.0, 8.0], POT: [800.0, 2500.0]}, workers=1, metrics=["spine_gain_24h_pct"])
    for _, row in df.iterrows():
        r = simulator.simulate(KET, params={"k_glutamate": row["k_glutamate"], POT: row[POT]})
        assert row["spine_gain_24h_pct"] == pytest.approx(r.spine_gain(24), rel=1e-4, abs=1e-4)


def test_sweep_readouts_see_a_clamp_while_it_holds():
    """Readouts of a clamped node follow the clamp's input over time, as in simulate (they used the start values)."""
    clamp = simulator.Clamp("mtorc1", 0.0, 2, 6)
    times = [1.0, 2.0, 3.0, 6.0, 7.0]
    r = simulator.simulate(KET, hours=8, clamp=clamp, times=times)
    _, traj = sweep(KET, hours=8, clamp=clamp, vary={"dose:0": [1.0]}, trajectories=True, workers=1)
    for col in ("mtorc1", "spine_density", "synaptic_protein"):
        got = traj[col].sel(time_h=times, method="nearest").values[0]
        assert close_rel(got, r.timecourse[col], 1e-4), col
    assert r.timecourse["mtorc1"].iloc[2] == 0.0  # held at 0 x baseline at 3 h


def test_sweep_member_failure_is_reported():
    df = sweep(KET, vary={"ketamine_clearance": [1.0, -2.0]}, workers=1, metrics=["spine_gain_72h_pct"])
    assert df["status"].iloc[0] == "ok" and df["status"].iloc[1].startswith("failed:")
    assert np.isfinite(df["spine_gain_72h_pct"].iloc[0]) and np.isnan(df["spine_gain_72h_pct"].iloc[1])


def test_sweep_trajectories():
    df, traj = sweep(KET, vary={"dose:0": [1.0, 3.0]}, hours=24, workers=1, trajectories=True)
    spine = np.asarray(traj["spine_density"])
    assert spine.shape[0] == 2 and spine.shape[1] == len(time_grid(0.0, 24.0, None))
    assert spine[1, -1] != spine[0, -1]


_SCRIPT = textwrap.dedent(
    """
    import sys, simulator
    simulator.sweep("ketamine 10 mg/kg ip", vary={"ketamine_nmda_potency": (500, 3000), "dose:0": (1, 30)}, design="lhs", n=64,
                    seed=1, hours=24, chunk_size=2, workers=1, out=sys.argv[1], metrics=["spine_gain_24h_pct", "mtorc1_peak_fold"])
    """
)


def test_killed_sweep_resumes_to_the_same_table(tmp_path):
    out = tmp_path / "sweep.parquet"
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(out)])
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("chunk-*.parquet"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(list(out.glob("chunk-*.parquet")))
    assert 2 <= partial < 32, "the kill should land part-way through the sweep"
    assert (out / LOCK).exists()  # a stale lock: its pid is dead, so the rerun takes over
    subprocess.run([sys.executable, str(script), str(out)], check=True)
    resumed = pd.read_parquet(out)
    clean = sweep("ketamine 10 mg/kg ip", vary={POT: (500, 3000), "dose:0": (1, 30)}, design="lhs", n=64, seed=1, hours=24,
                  chunk_size=2, workers=1, metrics=["spine_gain_24h_pct", "mtorc1_peak_fold"])
    resumed = resumed.sort_values("member").reset_index(drop=True)
    assert list(resumed["member"]) == list(range(64))
    pd.testing.assert_frame_equal(resumed, clean, check_exact=False, rtol=1e-9)
    assert not (out / LOCK).exists()


def test_concurrent_sweep_is_refused(tmp_path):
    out = tmp_path / "s.parquet"
    out.mkdir()
    (out / LOCK).write_text(str(os.getpid()))  # a live process holds it
    with pytest.raises(simulator.PlasticityError, match=f"pid {os.getpid()}"):
        sweep(KET, vary={"dose:0": [1.0]}, hours=6, out=out, workers=1)
    (out / LOCK).unlink()
    df = sweep(KET, vary={"dose:0": [1.0]}, hours=6, out=out, workers=1)
    with pytest.raises(simulator.PlasticityError, match="different sweep"):
        sweep(KET, vary={"dose:0": [2.0]}, hours=6, out=out, workers=1)
    assert len(df) == 1


def test_process_pool_and_dask_give_the_same_table():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    kw = dict(vary={POT: (500.0, 3000.0), "dose:0": (1.0, 30.0)}, design="sobol", n=8, seed=2, hours=24, chunk_size=4)
    inline = sweep(KET, workers=1, **kw)
    pool = sweep(KET, workers=2, **kw)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        dask = sweep(KET, scheduler=client, **kw)
    pd.testing.assert_frame_equal(pool, inline)
    pd.testing.assert_frame_equal(dask, inline)


def test_cli_sweep(tmp_path, capsys):
    from simulator.cli import main

    out = tmp_path / "cli.parquet"
    rc = main(["sweep", "--dose", KET, "--vary", f"{POT}=500:3000", "--vary", "dose:0=1:30", "--design", "lhs", "--n", "3",
               "--seed", "1", "--hours", "12", "--workers", "1", "--out", str(out)])
    assert rc == 0 and "3 members, 3 ok" in capsys.readouterr().out
    assert len(pd.read_parquet(out)) == 3
    assert main(["sweep", "--dose", KET, "--vary", "nonsense"]) == 2


def test_a_design_past_a_documented_range_is_warned_about():
    """Wild-type knobs sit at the top of their range: a CV of 0.3 puts ~44% of the draws above it (exact for a log-normal)."""
    import warnings

    with pytest.warns(UserWarning, match=r"about 44% of the draws of 'trkb_expression' .* documented range \[0, 1\]"):
        sweep(KET, design="population", n=2, seed=1, population={"trkb_expression": 0.3}, hours=6, workers=1)
    with pytest.warns(UserWarning, match=r"'trkb_expression' goes from 0.5 to 1.2, beyond its documented range"):
        sweep(KET, vary={"trkb_expression": [0.5, 1.2]}, hours=6, workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inside the range (and a dose multiplier, which has none): silent
        sweep(KET, vary={"trkb_expression": [0.5, 1.0], "dose:0": [1.0, 3.0]}, hours=6, workers=1)
