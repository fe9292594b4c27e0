"""The engine checks its own answer: no result with a state or readout below the floor, a non-finite readout,
or a % change against a vehicle with no spines is ever returned; it refines once, then reports a failure.

The draws are read from models/pathway.toml (every parameter with a `range`), so the test follows the model
as it is recalibrated; no number of the biological model is written here.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import simulator
from simulator import SimulationError
from simulator._simulate import setup, time_grid
from simulator.engine.batch import OK, check_readouts, observe_batch, run_batch
from simulator.engine.scipy_path import AnswerCheckError, Tolerances, check_answer, floor

KET = "ketamine 10 mg/kg ip"
FLOOR = floor(Tolerances())
PYTHON_ERRORS = ("Error:", "Error(", "Traceback", "division by zero")  # a raw exception leaking into a status


def _ranges(s) -> dict[str, tuple[float, float]]:
    params = s.library.pathway.parameters
    return {n: (float(p.range[0]), float(p.range[1])) for n, p in params.items()
            if p.range is not None and n in s.flat.params and n not in s.flat.inputs and p.range[0] < p.range[1]}


def _assert_valid(readouts: dict[str, np.ndarray], what: str) -> None:
    for name, v in readouts.items():
        v = np.asarray(v, dtype=float)
        assert np.all(np.isfinite(v)), f"{what}: readout {name} is not finite"
        assert v.min() >= -FLOOR, f"{what}: readout {name} = {v.min():.3g} is below the floor"
    assert np.asarray(readouts["spine_density"]).min() > 0, f"{what}: no spines"


def _assert_failure_is_typed(status: str) -> None:
    assert status.startswith("failed: ") and not any(p in status for p in PYTHON_ERRORS), status


@pytest.fixture(scope="module")
def ket_setup():
    return setup([KET])


def test_300_draws_inside_the_documented_ranges_end_valid_or_failed(ket_setup, count_case):
    """Latin-hypercube draws of every pathway parameter over its range, through the batched engine (sweep)."""
    vary = _ranges(ket_setup)
    df, traj = simulator.sweep(KET, vary=vary, design="lhs", n=300, seed=16, hours=72, trajectories=True, workers=1)
    assert len(df) == 300
    ok = (df["status"] == OK).to_numpy()
    for status in df.loc[~ok, "status"]:
        _assert_failure_is_typed(status)
    _assert_valid({name: np.asarray(traj[name])[ok] for name in traj.data_vars}, "ok members")
    metrics = [c for c in df.columns if c.startswith("spine_gain_") and c.endswith("_pct")]
    assert metrics and np.all(np.isfinite(df.loc[ok, metrics].to_numpy()))
    assert np.all(np.isnan(df.loc[~ok, metrics].to_numpy()))
    assert ok.sum() >= 150, f"only {ok.sum()} of 300 draws inside the ranges gave a result"
    for _ in range(300):
        count_case("self-check: draws inside the documented ranges (batched)")


def test_corner_draws_through_run_batch(ket_setup, count_case):
    """Every parameter at one end of its range (the draws that gave a vehicle density of exactly 0)."""
    s, vary = ket_setup, _ranges(ket_setup)
    rng = np.random.default_rng(150)
    P = np.tile(s.p, (60, 1))
    for name, (lo, hi) in vary.items():
        P[:, s.flat.params.index(name)] = np.where(rng.random(60) < 0.5, lo, hi)
    t = time_grid(0.0, 72.0, None)
    for scale in (1.0, 0.0):  # the dosed run and its vehicle
        out = run_batch(s, P, t, dose_scale=scale)
        status = list(out[1])
        obs = observe_batch(s, out[0], out.params, out.inputs)
        check_readouts(obs, t, status)
        ok = np.array([st == OK for st in status])
        for st in np.array(status)[~ok]:
            _assert_failure_is_typed(st)
        _assert_valid({k: v[ok] for k, v in obs.items()}, f"corner draws, dose x {scale}")
        for _ in range(len(status)):
            count_case("self-check: corner draws (batched)")


def test_draws_through_simulate_end_in_a_result_or_simulation_error(ket_setup, count_case):
    """The SciPy path (simulate, spine_gain): uniform and corner draws."""
    vary = _ranges(ket_setup)
    rng = np.random.default_rng(7)
    for i in range(8):
        draw = {n: float(rng.uniform(lo, hi) if i % 2 else (lo if rng.random() < 0.5 else hi)) for n, (lo, hi) in vary.items()}
        try:
            r = simulator.simulate([KET], params=draw, hours=48)
            _assert_valid({c: r.timecourse[c].to_numpy() for c in r.timecourse.columns if c != "time_h"}, f"draw {i}")
            assert np.isfinite(r.spine_gain(24))
        except SimulationError:
            pass
        count_case("self-check: draws through simulate")


def test_check_answer_names_the_state_time_and_value():
    values = np.array([[1.0, 0.5, 0.2], [0.0, -1e-9, -0.56]])
    with pytest.raises(AnswerCheckError, match=r"state 'b' = -0.56 at t = 2 h is below the floor"):
        check_answer(["a", "b"], values, np.array([0.0, 1.0, 2.0]), Tolerances())
    with pytest.raises(AnswerCheckError, match="'a' = nan at t = 1 h is not finite"):
        check_answer(["a", "b"], np.array([[1.0, np.nan, 1.0], [0.0, 0.0, 0.0]]), np.array([0.0, 1.0, 2.0]), Tolerances())
    check_answer(["a", "b"], np.array([[1.0], [-FLOOR]]), np.array([0.0]), Tolerances())  # at the floor is fine


def test_check_readouts_fails_only_the_member_and_nans_its_rows():
    t = np.array([0.0, 1.0, 2.0])
    obs = {"x": np.array([[1.0, 1.0, 1.0], [1.0, -0.5, 1.0], [1.0, np.inf, 1.0]]), "y": np.ones((3, 3))}
    status = [OK, OK, OK]
    check_readouts(obs, t, status)
    assert status[0] == OK
    assert status[1].startswith("failed: readout 'x' = -0.5 at t = 1 h is below the floor")
    assert status[2].startswith("failed: readout 'x' = inf at t = 1 h is not finite")
    assert np.isnan(obs["y"][1:]).all() and np.all(obs["y"][0] == 1.0)


def test_simulate_refines_a_wrong_answer_and_says_which_tolerances(monkeypatch):
    """A check that fails at the default tolerances is retried once, tighter and with BDF; the provenance says so."""
    from simulator import _simulate

    real = _simulate.integrate
    calls = []

    def first_attempt_goes_negative(comp, events, p, y0, times, tol, **kw):
        calls.append(tol)
        y, p_t = real(comp, events, p, y0, times, tol, **kw)
        if len(calls) == 1:
            y = y.copy()
            y[-1, 5] = -0.56
            check_answer(comp.flat.states, y, times, tol)
        return y, p_t

    monkeypatch.setattr(_simulate, "integrate", first_attempt_goes_negative)
    r = simulator.simulate([KET], hours=6)
    assert [c.method for c in calls] == ["LSODA", "BDF"] and calls[1].rtol == pytest.approx(calls[0].rtol * 1e-2)
    assert r.provenance["tolerances"]["method"] == "BDF"


def test_simulate_reports_an_answer_wrong_even_after_refining(monkeypatch):
    from simulator import _simulate

    real = _simulate.integrate

    def always_negative(comp, events, p, y0, times, tol, **kw):
        y, p_t = real(comp, events, p, y0, times, tol, **kw)
        y = y.copy()
        y[-1, 3] = -0.56
        check_answer(comp.flat.states, y, times, tol)
        return y, p_t

    monkeypatch.setattr(_simulate, "integrate", always_negative)
    last = setup([KET]).flat.states[-1]
    with pytest.raises(SimulationError, match=rf"'{last}' = -0.56 .* at rtol 1e-07 \(LSODA\) and again at rtol 1e-09 \(BDF\)"):
        simulator.simulate([KET], hours=6)


def test_spine_gain_against_a_vehicle_without_spines_is_a_simulation_error():
    r = simulator.simulate([KET], hours=24)
    veh = r.vehicle
    tc = veh.timecourse.copy()
    tc["spine_density"] = 0.0
    r.__dict__["vehicle"] = dataclasses.replace(veh, timecourse=tc)
    with pytest.raises(SimulationError, match="vehicle run's spine density at 24 h is 0 spines/um"):
        r.spine_gain(24)


def test_kernel_flags_a_state_below_the_floor(ket_setup):
    from simulator.engine import native as _native

    if not _native.available():
        pytest.skip("needs numba")
    s = ket_setup
    y0 = s.y0.copy()
    y0[-1] = -0.5
    times = np.linspace(0.0, 1.0, 11)
    out, codes = _native.integrate(s.compiled, s.p[None, :], y0[None, :], times, np.zeros(0, np.int64), np.zeros(0, np.int64),
                                   np.zeros((1, 0)), np.zeros((1, 0)), Tolerances())
    assert codes[0] == _native.BELOW_FLOOR and out[0, -1, 0] == -0.5


def test_evaluate_fails_a_member_whose_vehicle_has_no_spines(ket_setup, monkeypatch):
    """dose_response, sensitivities and fits (evaluate) compute no % change against a drug-free state without spines."""
    from simulator.analysis import evaluate as _analysis

    real = _analysis.observe_batch

    def no_spines_for_member_1(*args, **kwargs):
        obs = real(*args, **kwargs)
        obs["spine_density"][1] = 0.0
        return obs

    monkeypatch.setattr(_analysis, "observe_batch", no_spines_for_member_1)
    name = next(iter(_ranges(ket_setup)))
    values = np.array([[ket_setup.values[name]]] * 2)
    out, status = _analysis.evaluate(ket_setup, [name], values, [24.0], ["spine_gain"], strict=False)
    assert status[0] == OK and np.isfinite(out["spine_gain"][0]).all()
    assert status[1].startswith("failed: the drug-free spine density is 0 spines/um") and np.isnan(out["spine_gain"][1]).all()
    with pytest.raises(SimulationError, match="1 of 2 runs failed"):
        _analysis.evaluate(ket_setup, [name], values, [24.0], ["spine_gain"])
