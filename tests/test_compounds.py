"""The compound library: every compound, species and route; PK targets; blockers and genotypes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import trapezoid

import simulator
from simulator.cli import main
from simulator.model.files import load_library

LIB = load_library()
FLOOR = 1e-9
DOSE = {"icv": "0.2 nmol", "intranasal": "1 mg/kg", "oral": "1 mg/kg"}
CASES = [(c.name, sp, r) for c in LIB.compounds.values() for sp, pk in c.pk.items() for r in sorted(pk.routes)]


def halflife(t: np.ndarray, c: np.ndarray, lo: float = 0.1) -> float:
    """Terminal half-life from the log-linear decline below `lo` x peak (down to lo/4)."""
    i = int(np.argmax(c))
    sel = (t > t[i]) & (c < lo * c[i]) & (c > lo / 4 * c[i])
    return float(np.log(2) / -np.polyfit(t[sel], np.log(c[sel]), 1)[0])


def test_library_is_complete():
    names = {c.name for c in LIB.compounds.values()}
    wanted = {"ketamine", "esketamine", "arketamine", "norketamine", "(2r,6r)-hnk", "psilocybin", "psilocin", "lsd", "dmt",
              "lisuride", "tabernanthalog", "scopolamine", "rapastinel", "fluoxetine", "rapamycin", "nbqx", "ana-12",
              "ketanserin", "anisomycin", "bdnf"}
    assert wanted <= names
    assert LIB.compound("GLYX-13").name == "rapastinel"
    assert LIB.compound("HNK").name == "(2r,6r)-hnk"


@pytest.mark.parametrize(("compound", "species", "route"), CASES, ids=[f"{c}-{s}-{r}" for c, s, r in CASES])
def test_every_compound_species_route_simulates(compound, species, route):
    amount = DOSE.get(route, "1 mg/kg")
    r = simulator.simulate([f"{compound} {amount} {route}"], species=species, hours=6, times=np.linspace(0, 6, 61))
    values = r.timecourse.drop(columns="time_h").to_numpy()
    assert np.all(np.isfinite(values)) and values.min() >= -FLOOR
    cid = LIB.compound(compound).id
    assert r.timecourse[f"{cid}_brain_nM"].max() > 0


@pytest.mark.parametrize("compound", sorted(c.name for c in LIB.compounds.values() if c.targets))
def test_every_compound_in_culture_bath(compound):
    r = simulator.simulate([f"{compound} 10 nM bath for 15 min"], species="culture", hours=2)
    values = r.timecourse.drop(columns="time_h").to_numpy()
    assert np.all(np.isfinite(values)) and values.min() >= -FLOOR


def test_cli_compounds_lists_and_shows(capsys):
    assert main(["compounds"]) == 0
    listing = capsys.readouterr().out
    assert "ketamine" in listing and "rapastinel" in listing
    assert main(["compounds", "ketamine"]) == 0
    shown = capsys.readouterr().out
    assert "nmda" in shown and "PK in mouse" in shown and "Shaffer" in shown
    assert main(["simulate", "--dose", "psilocybin 1 mg/kg ip", "--hours", "4"]) == 0


# ---------------------------------------------------------------- PK targets (literature.md section 10)
def test_mouse_ketamine_pk():
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=4, times=np.arange(0, 4.001, 1 / 120))
    t, c = r.timecourse["time_h"].to_numpy(), r.timecourse["ketamine_brain_nM"].to_numpy()
    assert t[np.argmax(c)] <= 0.25
    i = int(np.argmax(c))
    sel = (t > t[i]) & (c < 0.5 * c[i]) & (c > 0.05 * c[i])
    assert 10 <= np.log(2) / -np.polyfit(t[sel], np.log(c[sel]), 1)[0] * 60 <= 35
    assert r.at("ketamine_brain_nM", 3.0) < 0.05 * c.max()


def test_human_ketamine_infusion_pk():
    r = simulator.simulate(["ketamine 0.5 mg/kg iv over 40 min"], species="human", hours=24, times=np.arange(0, 24.001, 1 / 60))
    ng_ml = r.at("ketamine_plasma_nM", 40 / 60) * 237.73 / 1e3
    assert 100 <= ng_ml <= 250
    tc = r.timecourse
    assert 1.5 <= halflife(tc["time_h"].to_numpy(), tc["ketamine_plasma_nM"].to_numpy()) <= 4.0


def test_esketamine_intranasal_pk():
    r = simulator.simulate(["esketamine 56 mg intranasal"], species="human", hours=48, times=np.arange(0, 48.001, 1 / 60))
    tc = r.timecourse
    t, c = tc["time_h"].to_numpy(), tc["esketamine_plasma_nM"].to_numpy()
    assert 20 / 60 * 0.7 <= t[np.argmax(c)] <= 40 / 60 * 1.3
    assert 7 * 0.7 <= halflife(t, c, lo=0.05) <= 12 * 1.3


def test_psilocin_lsd_dmt_pk():
    psi = simulator.simulate(["psilocybin 25 mg oral"], species="human", hours=24, times=np.arange(0, 24.001, 1 / 30)).timecourse
    assert 3 * 0.7 <= halflife(psi["time_h"].to_numpy(), psi["psilocin_plasma_nM"].to_numpy()) <= 3 * 1.3
    lsd = simulator.simulate(["lsd 100 ug oral"], species="human", hours=24, times=np.arange(0, 24.001, 1 / 30)).timecourse
    t, c = lsd["time_h"].to_numpy(), lsd["lsd_plasma_nM"].to_numpy()
    assert 1.7 * 0.7 <= t[np.argmax(c)] <= 1.7 * 1.3
    assert 1.7 * 0.7 <= c.max() * 323.43 / 1e3 <= 1.7 * 1.3  # ng/mL
    assert 3.6 * 0.7 <= halflife(t, c) <= 3.6 * 1.3
    dmt = simulator.simulate(["dmt 0.3 mg/kg iv"], species="human", hours=2, times=np.arange(0, 2.001, 1 / 240)).timecourse
    assert halflife(dmt["time_h"].to_numpy(), dmt["dmt_plasma_nM"].to_numpy()) * 60 <= 15 * 1.3


# ---------------------------------------------------------------- blockers and genotypes (rat, ketamine 10 mg/kg ip)
@pytest.fixture(scope="module")
def ket_gain() -> float:
    return simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=24).spine_gain(24)


def test_ketamine_raises_spines_in_rat(ket_gain):
    assert ket_gain > 5


@pytest.mark.parametrize("pre", ["rapamycin 0.2 nmol icv at -30 min", "nbqx 10 mg/kg ip at -30 min"])
def test_pretreatment_blocks_the_spine_gain(pre, ket_gain):
    gain = simulator.simulate([pre, "ketamine 10 mg/kg ip"], species="rat", hours=24).spine_gain(24)
    assert gain <= 0.25 * ket_gain


@pytest.mark.xfail(strict=True, reason="known model property: since the homeostatic set point (k_plasticity_setpoint) NBQX's dip in "
                   "synaptic protein no longer lowers the sliding reference within hours (-2.1% at 24 h), but the slow tail of its "
                   "recovery still leaves +0.46% spine density at 72 h (+7% before)")
def test_nbqx_alone_does_not_raise_spines():
    r = simulator.simulate(["nbqx 10 mg/kg ip"], species="rat", hours=72)
    assert max(r.spine_gain(h) for h in (6, 24, 48, 72)) <= 0.0 + 1e-6


def test_met_met_halves_the_gain(ket_gain):
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=24, genotype="met/met")
    assert r.spine_gain(24) <= 0.5 * ket_gain
    wt0 = simulator.simulate([], species="rat", hours=1).at("spine_density", 0)
    assert r.at("spine_density", 0) < wt0  # lower baseline density in Met/Met


def test_cutting_mtorc1_to_bdnf_shortens_the_spine_gain():
    """How long the gain lasts: time until the excess falls below half of its maximum."""
    def half_life_of_gain(cut):
        r = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=24 * 21, cut=cut, times=np.arange(0, 24 * 21 + 1e-9, 2.0))
        gains = np.array([r.spine_gain(t) for t in r.timecourse["time_h"]])
        i = int(np.argmax(gains))
        below = np.nonzero(gains[i:] < 0.5 * gains[i])[0]
        return r.timecourse["time_h"].iloc[i + below[0]] if len(below) else np.inf, gains[i]

    closed, g_closed = half_life_of_gain(())
    open_, g_open = half_life_of_gain(["mtorc1_to_bdnf"])
    assert g_open < g_closed
    assert open_ < closed


def test_interventions_leave_the_vehicle_steady_state():
    base = simulator.simulate([], species="mouse", hours=48).timecourse
    cut = simulator.simulate([], species="mouse", hours=48, cut=["mtorc1_to_bdnf", "mtorc1_to_ampa"]).timecourse
    cols = ["glutamate", "bdnf", "mtorc1", "spine_density"]
    np.testing.assert_allclose(cut[cols].to_numpy(), base[cols].to_numpy(), rtol=1e-6)


def test_clamp_blocks_mtorc1_in_its_window():
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=8, clamp=simulator.Clamp("mtorc1", 0.0, 2, 6))
    assert r.at("mtorc1", 3.0) == pytest.approx(0.0, abs=1e-9)
    assert r.at("mtorc1", 1.0) > 1.0
    assert r.at("mtorc1", 7.0) > 0.0


def test_hallucinogenic_signal_separates_lsd_from_ketanserin_and_tabernanthalog():
    def exposure(dose, species="mouse"):
        tc = simulator.simulate([dose], species=species, hours=6).timecourse
        return trapezoid(tc["hallucinogenic_signal"], tc["time_h"])

    assert exposure("lsd 0.1 mg/kg ip") > 0.05
    assert exposure("ketanserin 1 mg/kg ip") == pytest.approx(0.0, abs=1e-12)
    assert exposure("tabernanthalog 50 mg/kg ip") < 0.1 * exposure("lsd 0.1 mg/kg ip")
