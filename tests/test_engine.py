"""The compiled kernel (simulate's engine) agrees with the SciPy reference path, run by run."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator import Clamp
from simulator.engine import native, single

pytestmark = pytest.mark.skipif(not native.available(), reason="numba not installed")

RUNS = {
    "iv infusion": dict(regimen=["ketamine 0.5 mg/kg iv over 40 min"], species="human"),
    "oral, repeated": dict(regimen=["fluoxetine 10 mg/kg oral once daily for 3 days"], hours=96),
    "repeated ip": dict(regimen=["ketamine 10 mg/kg ip every 1 d x 3"]),
    "clamp": dict(regimen=["ketamine 10 mg/kg ip"], clamp=Clamp("mtorc1", 0.0, 2, 6)),
    "cut": dict(regimen=["ketamine 10 mg/kg ip"], cut="mtorc1_to_bdnf"),
    "psilocybin, rat": dict(regimen=["psilocybin 1 mg/kg ip"], species="rat", hours=48),
}


def _run(monkeypatch, engine: str, kw: dict):
    monkeypatch.setenv("PLASTICITY_ENGINE", engine)
    kw = dict(kw)
    return simulator.simulate(kw.pop("regimen"), **kw)


@pytest.mark.parametrize("name", list(RUNS))
def test_kernel_agrees_with_the_scipy_path(monkeypatch, name):
    """Every readout within 1e-4 relative or 100 x atol absolute: both hold each step to rtol 1e-7 and atol 1e-10 (the
    kernel by BDF, the reference by LSODA); a drug decayed to 1e-8 is solver noise in both."""
    fast = _run(monkeypatch, "native", RUNS[name])
    assert single.engine(simulator.Tolerances()) == "native"
    ref = _run(monkeypatch, "scipy", RUNS[name])
    assert single.engine(simulator.Tolerances()) == "scipy"
    assert list(fast.timecourse.columns) == list(ref.timecourse.columns)
    for col in ref.timecourse.columns:
        a, b = fast.timecourse[col].to_numpy(), ref.timecourse[col].to_numpy()
        err = np.max(np.abs(a - b) / (1e-4 * np.abs(b) + 100 * simulator.Tolerances().atol))
        assert err < 1.0, f"{name}: {col} differs by {err:.2g} of the allowed difference"


def test_inputs_in_force_switch_at_their_times():
    p = np.array([1.0, 0.0])
    kind, target = np.array([1, 1, 0]), np.array([1, 1, 0])
    amounts, ev_times = np.array([2.0, -2.0, 5.0]), np.array([1.0, 3.0, 0.0])
    p_t = single.inputs_in_force(p, kind, target, amounts, ev_times, np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    assert p_t[0].tolist() == [1.0] * 5
    assert p_t[1].tolist() == [0.0, 2.0, 2.0, 0.0, 0.0]


def test_tape_matches_the_generated_code(ket):
    """The interpreter's right-hand side and Jacobian equal the generated Python's at the steady state and off it."""
    mod, md = native.generic(), native.tape_args(ket.compiled)
    comp = ket.compiled
    rng = np.random.default_rng(1)
    for y in (ket.y0, ket.y0 * rng.uniform(0.5, 2.0, ket.y0.shape)):
        reg, f = mod.scratch(md), np.empty_like(y)
        mod.rhs_into(md, reg, 0.0, y, ket.p, f)
        ref = comp.rhs(0.0, y, ket.p)
        assert np.allclose(f, ref, rtol=1e-12, atol=1e-12)  # at the steady state f is round-off, in another order
        jac = np.zeros((comp.n_states, comp.n_states))
        mod.jac_into(md, reg, 0.0, y, ket.p, jac)
        ref = comp.jac(0.0, y, ket.p)
        assert np.allclose(jac, ref, rtol=1e-12, atol=1e-12)
