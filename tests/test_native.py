"""The compiled (numba) sweep engine: agreement with single runs, events per member, failures per member.

Speed is measured in benchmarks/, never here. One generic kernel runs every model structure as a tape
(compiled once, disk-cached); the module fixture keeps the cache for the whole file.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import close_rel

import simulator
from simulator._simulate import setup, time_grid
from simulator.engine import native as _native
from simulator.engine.batch import engine, observe_batch, run_batch
from simulator.engine.scipy_path import Tolerances

pytest.importorskip("numba")

KET = "ketamine 10 mg/kg ip"


def test_engine_is_native_with_numba(monkeypatch):
    assert engine() == "native"
    assert engine(Tolerances(method="Radau")) == "scipy"  # another SciPy method keeps SciPy
    monkeypatch.setenv("PLASTICITY_ENGINE", "scipy")
    assert engine() == "scipy"


CASES = [
    (["ketamine 10 mg/kg ip"], {}),
    (["ketamine 10 mg/kg ip every 1 d x 3"], {}),  # three doses: three segments
    (["ketamine 0.5 mg/kg iv over 40 min"], {}),  # an infusion: parameter events on and off
    (["psilocybin 1 mg/kg ip"], {"species": "rat"}),
    (["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"], {}),  # pretreatment: rows from -0.5 h
    (["ketamine 10 mg/kg ip"], {"clamp": simulator.Clamp("mtorc1", 0.0, 2, 6)}),
    (["ketamine 10 mg/kg ip"], {"cut": ["mtorc1_to_bdnf"]}),
    (["lsd 10 nM bath for 15 min"], {"species": "culture"}),
]


@pytest.mark.parametrize(("regimen", "kw"), CASES, ids=[" + ".join(r) + (f" {sorted(k)}" if k else "") for r, k in CASES])
def test_native_agrees_with_simulate(regimen, kw):
    single = simulator.simulate(regimen, hours=72, **kw)
    s = setup(regimen, **kw)
    t = single.timecourse["time_h"].to_numpy()
    out = run_batch(s, s.p[None, :], t)
    assert out[1] == ["ok"]
    obs = observe_batch(s, out[0], out.params)
    # observe_batch reads out with the parameters at the end of the run, so the clamped node's own
    # readout inside its window is not comparable; every other readout is (they see only the states)
    cols = [c for c in ("spine_density", "glutamate", "mtorc1", "bdnf", "trkb") if not ("clamp" in kw and c == "mtorc1")]
    for col in cols:
        assert close_rel(obs[col][0], single.timecourse[col]), col


def test_native_agrees_with_scipy_engine_across_members(ket, monkeypatch):
    t = time_grid(0.0, 72.0, None)
    P = np.tile(ket.p, (4, 1))
    P[:, ket.flat.params.index("ketamine_nmda_potency")] *= [0.5, 1.0, 2.0, 4.0]
    ds = np.array([0.3, 1.0, 2.0, 5.0])
    fast = run_batch(ket, P, t, dose_scale=ds)
    monkeypatch.setenv("PLASTICITY_ENGINE", "scipy")
    slow = run_batch(ket, P, t, dose_scale=ds)
    assert fast[1] == slow[1] == ["ok"] * 4
    a, b = observe_batch(ket, fast[0], fast.params), observe_batch(ket, slow[0], slow.params)
    for k in range(4):
        assert close_rel(a["spine_density"][k], b["spine_density"][k]), k
        # two integrators (BDF, LSODA) along 14 e-folds of decay: at 1e-6 of the peak, 8 h after the dose, they differ
        # by 2e-5 relative (2e-8 nM); the loop itself (spine_density above) agrees to 2e-7
        assert close_rel(a["ketamine_brain_nM"][k], b["ketamine_brain_nM"][k], floor_of_peak=1e-5), k
    assert not close_rel(a["spine_density"][0], a["spine_density"][3], rtol=1e-4)  # members really differ


def test_members_with_different_dose_times(ket):
    t = time_grid(0.0, 48.0, None)
    when = np.array([[0.0], [2.0], [7.35]])  # 7.35 h falls between output rows
    out = run_batch(ket, np.tile(ket.p, (3, 1)), t, dose_times=when)
    obs = observe_batch(ket, out[0], out.params)
    for k, h in enumerate(when[:, 0]):
        single = simulator.simulate([f"ketamine 10 mg/kg ip at {h} h"], times=t)
        assert close_rel(obs["spine_density"][k], single.timecourse["spine_density"]), h
        assert close_rel(obs["ketamine_brain_nM"][k], single.timecourse["ketamine_brain_nM"]), h
    # before its dose a member sits at its drug-free steady state; the row at the dose shows the dose
    depot = ket.flat.states.index("ketamine_depot_ip")
    row = int(np.searchsorted(t, 2.0))
    assert out[0][1, depot, row - 1] == pytest.approx(ket.y0[depot]) and out[0][1, depot, row] > 1.0


def test_member_the_kernel_gives_up_on_is_retried_on_the_scipy_path(ket, monkeypatch):
    ref, _ = run_batch(ket, np.tile(ket.p, (3, 1)), [0.0, 72.0], dose_scale=np.array([0.0, 1.0, 0.0]))
    monkeypatch.setattr(_native, "MAX_STEPS", 100)  # a dosed 72 h run needs hundreds of steps; vehicle needs few
    Y, status = run_batch(ket, np.tile(ket.p, (3, 1)), [0.0, 72.0], dose_scale=np.array([0.0, 1.0, 0.0]))
    assert status == ["ok", "ok", "ok"]
    np.testing.assert_allclose(Y, ref, rtol=1e-5, atol=1e-9)


def test_non_finite_member_fails_alone(ket):
    y0 = np.tile(ket.y0, (2, 1))
    y0[1, 3] = np.nan
    kind, target = np.zeros(1, np.int64), np.zeros(1, np.int64)
    amounts, when = np.full((2, 1), 1000.0), np.zeros((2, 1))
    out, codes = _native.integrate(
        ket.compiled, np.tile(ket.p, (2, 1)), y0, np.array([0.0, 24.0]), kind, target, amounts, when, Tolerances()
    )
    assert codes[0] == 0 and codes[1] != 0 and int(codes[1]) in _native.REASONS
    assert np.all(np.isfinite(out[0])) and np.all(np.isnan(out[1]))


def test_threads_do_not_change_results(ket):
    n = 40
    P = np.tile(ket.p, (n, 1))
    P[:, ket.flat.params.index("ketamine_clearance")] *= np.linspace(0.5, 2.0, n)
    kind, target = np.zeros(1, np.int64), np.zeros(1, np.int64)
    amounts, when = np.full((n, 1), 1000.0), np.zeros((n, 1))
    args = (ket.compiled, P, np.tile(ket.y0, (n, 1)), np.array([0.0, 12.0, 72.0]), kind, target, amounts, when, Tolerances())
    one, _ = _native.integrate(*args, threads=1)
    two, _ = _native.integrate(*args, threads=2)
    assert np.array_equal(one, two)  # each member is integrated alone: bit-identical whatever the threads


def test_compiled_functions_match_the_generated_source(ket):
    mod, md = _native.kernel(ket.compiled), _native.model_arg(ket.compiled)
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = ket.y0 * rng.uniform(0.5, 2.0, ket.y0.size) + rng.uniform(0, 10, ket.y0.size)
        f = np.empty_like(y)
        mod.rhs_into(md, mod.scratch(md), 0.0, y, ket.p, f)
        np.testing.assert_allclose(f, ket.compiled.rhs(0.0, y, ket.p), rtol=1e-12, atol=1e-12)
        J = np.zeros((y.size, y.size))
        mod.jac_into(md, mod.scratch(md), 0.0, y, ket.p, J)
        np.testing.assert_allclose(J, ket.compiled.jac(0.0, y, ket.p), rtol=1e-12, atol=1e-12)


def test_compiled_power_helpers_match_the_numpy_ones():
    """ppow's whole- and half-exponent shortcuts and dpow's flat left side agree with _codegen's pos/dpow."""
    from numba import njit

    from simulator.engine.codegen import dpow, pos

    ns = {"njit": lambda cache: njit, "np": np}  # the helpers' text as compiled into each kernel, without a disk cache
    exec(_native.HELPERS, ns)
    x = np.array([-1.0, 0.0, 0.3, 1.7, 25.0])
    for n in (0.5, 1.0, 1.5, 2.0, 3.0, 3.5, 3.064, 6.0, 14.86, 16.0):
        np.testing.assert_allclose([ns["ppow"](v, n) for v in x], pos(x) ** n, rtol=1e-13, atol=0)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose([ns["dpow"](v, n - 1.0) for v in x], dpow(x, n - 1.0), rtol=1e-13, atol=0)


def test_fast_powers_rewrites_only_powers_of_pos():
    src = "a = pos(x*(y + 1))**(p_3) + pos(z) + dpow(w, 2) + pos(pos(u)**(2.5))**(p_1)"
    assert _native.fast_powers(src) == "a = ppow(x*(y + 1), p_3) + pos(z) + dpow(w, 2) + ppow(ppow(u, 2.5), p_1)"


def test_kernel_is_cached_on_disk(ket):
    mod = _native.kernel(ket.compiled)
    assert _native.kernel(ket.compiled) is mod  # once per process
    assert mod.__file__ and _native.MARKER in open(mod.__file__).read()
    steady, ok = _native.steady_states(ket.compiled, ket.p[None, :], ket.compiled.initial(ket.p)[None, :], 60)
    assert ok[0] and close_rel(steady[0], ket.y0, rtol=1e-8)


def _ket_batch(ket, n: int) -> tuple:
    P = np.tile(ket.p, (n, 1))
    P[:, ket.flat.params.index("ketamine_clearance")] *= np.linspace(0.5, 2.0, n)
    kind, target = np.zeros(1, np.int64), np.array([ket.flat.states.index("ketamine_depot_ip")], np.int64)
    amounts, when = np.linspace(100.0, 3000.0, n)[:, None], np.zeros((n, 1))
    return (ket.compiled, P, np.tile(ket.y0, (n, 1)), np.linspace(0.0, 72.0, 73), kind, target, amounts, when, Tolerances())


def test_a_large_sweep_compiles_its_own_kernel_in_the_background_and_never_waits(ket, monkeypatch):
    started = []
    monkeypatch.setattr(_native, "_modules", {k: v for k, v in _native._modules.items() if k != ket.compiled.key})
    monkeypatch.setattr(_native, "_in_background", lambda what, call, message: started.append((what, call)))
    monkeypatch.setattr(_native, "_own_ready", lambda comp: False)
    monkeypatch.setattr(_native, "_preferred", set())
    monkeypatch.delenv("PLASTICITY_KERNEL", raising=False)
    _native.prefer_specialised(ket.compiled, _native.SPECIALISE_AT - 1)
    assert started == [] and not _native._preferred  # a small batch: the generic kernel, nothing started
    _native.prefer_specialised(ket.compiled, _native.SPECIALISE_AT)
    assert [w for w, _ in started] == [ket.compiled.key] and started[0][1].startswith("compile_placed(")
    assert _native._chosen(ket.compiled)[0] is _native.generic()  # not ready yet: the members run on the generic kernel meanwhile


@pytest.mark.slow
def test_the_models_own_kernel_gives_bit_identical_numbers(ket, monkeypatch):
    """What makes switching a sweep to the model's own kernel mid-way safe: the same operations in the same order.
    The own kernel is compiled as the background process does it (a cold compile where it is not cached yet)."""
    import subprocess
    import sys

    monkeypatch.setattr(_native, "_modules", {k: v for k, v in _native._modules.items() if k != ket.compiled.key})
    monkeypatch.setattr(_native, "_preferred", set())
    monkeypatch.delenv("PLASTICITY_KERNEL", raising=False)
    args = _ket_batch(ket, 12)
    generic, codes = _native.integrate(*args)
    assert np.all(codes == 0) and ket.compiled.key not in _native._modules
    name, path = _native._place(_native._specialised_source(ket.compiled))
    call = f"compile_placed({name!r}, {str(path)!r}, {ket.compiled.n_states}, {len(ket.flat.params)})"
    subprocess.run([sys.executable, "-c", f"from simulator.engine import native; native.{call}"], check=True, timeout=600)
    assert _native._own_ready(ket.compiled)
    _native.prefer_specialised(ket.compiled, _native.SPECIALISE_AT)
    own, codes = _native.integrate(*args)
    assert ket.compiled.key in _native._modules and np.all(codes == 0)
    assert np.array_equal(own, generic)
