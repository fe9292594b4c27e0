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


def _sympy_functions(comp):
    """rhs_into and jac_into printed from sympy, the Jacobian differentiated by sympy: a reference made apart from the tape."""
    import sympy as sp

    from simulator.engine import codegen

    flat = comp.flat
    ren = codegen._rename(flat)
    lines = [(ren[sp.Symbol(name)], codegen._protect(e.xreplace(ren))) for name, e in flat.assignments]
    odes = [codegen._protect(e.xreplace(ren)) for e in flat.odes]
    model, pattern = codegen._sympy_model(lines, odes, comp.n_states, len(flat.params))
    ns = {"np": np, "pos": codegen.pos, "dpow": codegen.dpow, "ppow": codegen.ppow}
    exec("\n\n".join(model), ns)
    return ns["rhs_into"], ns["jac_into"], pattern


def test_tape_matches_sympy(ket):
    """The tape's right-hand side and its op-by-op Jacobian, run by the interpreter and as printed Python, equal sympy's
    at the steady state and off it (where powers of negative overshoots are clipped)."""
    comp = ket.compiled
    n = comp.n_states
    rhs_ref, jac_ref, pattern = _sympy_functions(comp)
    assert np.array_equal(pattern, comp.jac_pattern)
    mod, md = native.generic(), native.tape_args(comp)
    rng = np.random.default_rng(1)
    for y in (ket.y0, ket.y0 * rng.uniform(0.5, 2.0, n), ket.y0 * rng.uniform(-1.0, 2.0, n)):
        ref, jref = rhs_ref(0.0, y, ket.p, np.empty(n)), jac_ref(0.0, y, ket.p, np.zeros((n, n)))
        f, jac = np.empty(n), np.zeros((n, n))
        mod.rhs_into(md, mod.scratch(md), 0.0, y, ket.p, f)
        mod.jac_into(md, mod.scratch(md), 0.0, y, ket.p, jac)
        for got in (f, comp.rhs(0.0, y, ket.p)):  # at the steady state f is round-off, summed in another order
            assert np.allclose(got, ref, rtol=1e-12, atol=1e-12)
        for got in (jac, comp.jac(0.0, y, ket.p)):
            assert np.allclose(got, jref, rtol=1e-12, atol=1e-12)


def test_a_new_structure_needs_no_compile(monkeypatch):
    """A compound never run in this process reaches the generic kernel as a tape: nothing is compiled for it."""
    from simulator._simulate import setup

    monkeypatch.setenv("PLASTICITY_ENGINE", "native")
    native.generic()
    before = dict(native.compile_seconds)
    s = setup(["ketamine 10 mg/kg ip", "lsd 0.1 mg/kg ip at 12 h"], species="rat")
    assert s.compiled.tape is not None
    out, status = native.integrate(s.compiled, s.p[None, :], s.y0[None, :], np.array([0.0, 24.0]), np.zeros(0, np.int64),
                                   np.zeros(0, np.int64), np.zeros((1, 0)), np.zeros((1, 0)), simulator.Tolerances())
    assert status[0] == 0 and np.all(np.isfinite(out))
    assert native.compile_seconds == before


def test_tape_differentiates_a_state_dependent_exponent():
    """A parameter raised to a power that a state sets (a loss factor to the power of a stress level that is itself a
    state) runs on the tape, with the Jacobian sympy gives: such a model needs no compile of its own."""
    import sympy as sp

    from simulator.engine import codegen
    from simulator.engine.tape import build

    y0, y1, p0, p1 = sp.symbols("y_0 y_1 p_0 p_1")
    odes = [codegen._protect(-(p0 ** (p1 * y1)) * y0), codegen._protect(p1 - y1 ** sp.Rational(3, 2) * y0)]
    tape = build([], odes, 2, 2)
    ns = {"np": np, "pos": codegen.pos, "dpow": codegen.dpow, "ppow": codegen.ppow}
    exec("\n\n".join([codegen.python_source(tape, "rhs", 2, 2), codegen.python_source(tape, "jac", 2, 2)]), ns)
    got_rhs, got_jac = ns["rhs_into"], ns["jac_into"]
    ref_ns = dict(ns)
    exec("\n\n".join(codegen._sympy_model([], odes, 2, 2)[0]), ref_ns)
    y, p = np.array([0.7, 1.3]), np.array([1.25, 0.8])
    jac, ref = np.zeros((2, 2)), np.zeros((2, 2))
    got_jac(0.0, y, p, jac)
    ref_ns["jac_into"](0.0, y, p, ref)
    assert np.allclose(got_rhs(0.0, y, p, np.empty(2)), ref_ns["rhs_into"](0.0, y, p, np.empty(2)), rtol=1e-13)
    assert ref[0, 1] != 0.0 and np.allclose(jac, ref, rtol=1e-12, atol=1e-14)
