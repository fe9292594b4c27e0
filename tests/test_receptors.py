"""Receptor pharmacology: ligands compete for a site by mass action, agonists act through Black & Leff's operational
model, the hallucinogenic signal is a response (not an occupancy), and LSD binds 5-HT2A kinetically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import simulator
from simulator._errors import ModelFileError
from simulator.model.compose import compose
from simulator.model.files import load_library
from simulator.model.regimen import Regimen

LIB = load_library()


def engagement(bath: dict[str, float], *names: str) -> list[float]:
    """The composed model's engagement terms at fixed free concentrations (nM) in culture, read from its own
    assignments: the receptor layer alone, at equilibrium, without integrating anything."""
    flat = compose(LIB, Regimen.coerce([f"{c} 1 nM bath" for c in bath]), LIB.get_species("culture"))
    env = {sp.Symbol(n): v for n, v in flat.values.items()}
    env.update({sp.Symbol(f"{LIB.compound(c).id}_brain"): v for c, v in bath.items()})
    exprs = dict(flat.assignments)

    def value(name: str) -> float:
        expr = exprs[name]
        for s in expr.free_symbols:
            if s not in env:
                env[s] = value(s.name)
        return float(expr.xreplace(env))

    return [value(n) for n in names]


def test_an_antagonist_occupies_without_a_response():
    occ, drive, hal = engagement({"ketanserin": 10.0}, "occ_ht2a", "drive_ht2a", "halluc_ht2a")
    assert occ > 0.8
    assert drive == 0.0 and hal == 0.0


@pytest.mark.parametrize("psilocin_nM", [3.0, 30.0, 300.0])
def test_competition_follows_the_schild_law(psilocin_nM):
    """An antagonist at its own K_B shifts the agonist's curve two-fold: response(2C + K_B) = response(C)."""
    kb = LIB.compound("ketanserin").targets["ht2a"].potency.value
    alone = engagement({"psilocin": psilocin_nM}, "drive_ht2a")[0]
    shifted = engagement({"psilocin": 2 * psilocin_nM, "ketanserin": kb}, "drive_ht2a")[0]
    assert shifted == pytest.approx(alone, rel=1e-9)
    assert engagement({"psilocin": psilocin_nM, "ketanserin": kb}, "drive_ht2a")[0] < alone


def test_the_response_saturates_at_the_ligands_efficacy():
    """At saturating concentrations the response tends to tau / (1 + tau), the ligand's maximal response."""
    tau = LIB.compound("psilocin").targets["ht2a"].tau.value * LIB.pathway.parameters["ht2a_tissue_coupling"].value
    drive = engagement({"psilocin": 1e7}, "drive_ht2a")[0]
    assert drive == pytest.approx(tau / (1 + tau), rel=1e-3)


def test_a_partial_agonist_lowers_a_full_agonists_response():
    """Lisuride (low tau) at saturating levels takes the receptors from psilocin: the response falls towards lisuride's
    own maximum, and the hallucinogenic signal further (lisuride's hallucinogenic efficacy is low)."""
    psi_drive, psi_hal = engagement({"psilocin": 300.0}, "drive_ht2a", "halluc_ht2a")
    mix_drive, mix_hal = engagement({"psilocin": 300.0, "lisuride": 1e4}, "drive_ht2a", "halluc_ht2a")
    lis_drive = engagement({"lisuride": 1e4}, "drive_ht2a")[0]
    assert lis_drive < mix_drive < psi_drive
    assert mix_hal < 0.25 * psi_hal


def test_non_hallucinogenic_agonist_drives_without_signal():
    drive, hal = engagement({"tabernanthalog": 3000.0}, "drive_ht2a", "halluc_ht2a")
    assert drive > 0.1 and hal == 0.0


@pytest.mark.parametrize("psilocin_nM", [1.0, 10.0, 100.0, 1000.0])
def test_the_hallucinogenic_response_has_its_own_transducer(psilocin_nM):
    """The hallucinogenic response is (g S)^n / (1 + (g S)^n) of the receptor stimulus S, the operational model with
    its own slope n and gain g (pathway.toml), while the drive keeps S / (1 + S): psilocin's hallucinogenic efficacy is 1,
    so its signal follows from its drive alone."""
    n = LIB.pathway.parameters["ht2a_hallucinogenic_slope"].value
    g = LIB.pathway.parameters["ht2a_hallucinogenic_gain"].value
    drive, hal = engagement({"psilocin": psilocin_nM}, "drive_ht2a", "halluc_ht2a")
    stimulus = drive / (1 - drive)
    assert hal == pytest.approx((g * stimulus) ** n / (1 + (g * stimulus) ** n), rel=1e-9)


def test_the_hallucinogenic_response_is_steeper_than_the_drive():
    """A 3-fold lower psilocin level loses more than 3-fold of the hallucinogenic signal at low levels (slope n > 1),
    but less than 3-fold of the drive."""
    (d_hi, h_hi), (d_lo, h_lo) = (engagement({"psilocin": c}, "drive_ht2a", "halluc_ht2a") for c in (3.0, 1.0))
    assert d_hi / d_lo < 3 < h_hi / h_lo


def test_modulators_add_efficacy_times_occupancy():
    """An allosteric modulator's potentiation is its maximal effect times its occupancy (issue 22 keeps PAM targets so)."""
    c = LIB.compound("(2r,6r)-hnk").targets["ampa_pam"]
    k, e = c.potency.value, c.efficacy.value
    assert engagement({"(2r,6r)-hnk": k}, "drive_ampa_pam")[0] == pytest.approx(e * 0.5, rel=1e-9)


def test_kinetic_binding_reaches_the_affinity_at_equilibrium():
    """LSD binds through a bound-receptor state (kon = koff / K): held at its K for a day, half the receptors are bound."""
    k = LIB.compound("lsd").targets["ht2a"].potency.value
    r = simulator.simulate([f"lsd {k} nM bath"], species="culture", hours=48)
    assert r.at("occupancy_ht2a", 48) == pytest.approx(0.5, rel=1e-3)
    assert r.at("occupancy_ht2a", 0.25) < 0.2  # slow to bind: far from equilibrium after 15 min


def peak(dose: list[str]) -> float:
    return float(simulator.simulate(dose, species="mouse", hours=6).timecourse["hallucinogenic_signal"].max())


def test_ketanserin_blocks_psilocybins_hallucinogenic_signal():
    """Must-show (issue 22): ketanserin 1 mg/kg i.p. 30 min before psilocybin 1 mg/kg i.p. in mouse leaves at most half of
    the peak signal (ketanserin pretreatment abolishes psilocybin's head twitch: Shao LX et al. 2021 Neuron, recalled)."""
    alone = peak(["psilocybin 1 mg/kg ip"])
    blocked = peak(["ketanserin 1 mg/kg ip at -30 min", "psilocybin 1 mg/kg ip"])
    assert alone > 0.1
    assert blocked <= 0.5 * alone


def span(t: np.ndarray, y: np.ndarray, frac: float = 0.5) -> float:
    """How long `y` stays at or above `frac` of its peak."""
    above = t[y >= frac * y.max()]
    return float(above.max() - above.min())


def test_lsds_signal_outlasts_its_concentration():
    """Slow dissociation from 5-HT2A (Wacker 2017 Cell): after LSD 0.1 mg/kg in mouse the signal lasts longer than the
    brain concentration, and longer than it would with fast binding (by about half: a residence of 1.2 h, bounded by the
    human PK-PD, against a mouse brain half-life of about 20 min)."""
    times = np.linspace(0, 24, 24 * 60 + 1)
    slow = simulator.simulate(["lsd 0.1 mg/kg ip"], species="mouse", hours=24, times=times).timecourse
    fast = simulator.simulate(["lsd 0.1 mg/kg ip"], species="mouse", hours=24, times=times, params={"lsd_ht2a_koff": 1000.0}).timecourse
    t = slow["time_h"].to_numpy()
    signal = span(t, slow["hallucinogenic_signal"].to_numpy())
    assert signal > 2 * span(t, slow["lsd_brain_nM"].to_numpy())
    assert signal > 1.3 * span(t, fast["hallucinogenic_signal"].to_numpy())


# ---------------------------------------------------------------- the compound files' new keys are checked
def edited(tmp_path: Path, compound: str, old: str, new: str) -> Path:
    import shutil

    root = tmp_path / "models"
    shutil.copytree(LIB.root, root)
    f = root / "compounds" / f"{compound}.toml"
    text = f.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    f.write_text(text.replace(old, new))
    return root


def test_efficacy_and_tau_together_are_refused(tmp_path):
    root = edited(tmp_path, "lisuride", "tau = { value = 0.67,", 'efficacy = { value = 0.4, unit = "1", source = "x" }\ntau = { value = 0.67,')
    with pytest.raises(ModelFileError, match="targets.ht2a.tau.*either efficacy"):
        load_library(root)


def test_kinetic_binding_needs_a_hill_slope_of_one(tmp_path):
    root = edited(tmp_path, "lsd", 'hill = { value = 1.0, unit = "1", range = [0.8, 1.5], source = "assumed", note = "Slope of a single-site binding/occupancy curve, n ~ 1; no measured Hill slope read." }\ntau',
                  'hill = { value = 1.2, unit = "1", range = [0.8, 1.5], source = "assumed" }\ntau')
    with pytest.raises(ModelFileError, match="targets.ht2a.hill.*hill must be 1"):
        load_library(root)


def test_a_full_agonist_needs_tau(tmp_path):
    root = edited(tmp_path, "lisuride", 'tau = { value = 0.67, unit = "1", range = [0.25, 2.3],', 'efficacy = { value = 0.9, unit = "1", range = [0.5, 1.0],')
    lib = load_library(root)
    with pytest.raises(ModelFileError, match="lisuride.toml.*targets.ht2a.efficacy.*infinite"):
        compose(lib, Regimen.coerce(["lisuride 1 mg/kg ip"]), lib.get_species("mouse"))


def test_a_hallucinogenic_transducer_belongs_to_an_agonist_target(tmp_path):
    """Only an agonist target has a response to shape: the slope on a block target is refused, naming the key."""
    import shutil

    root = tmp_path / "models"
    shutil.copytree(LIB.root, root)
    f = root / "pathway.toml"
    text = f.read_text(encoding="utf-8")
    old = '[targets.m1]\nkind = "block"\n'
    assert text.count(old) == 1
    f.write_text(text.replace(old, old + 'hallucinogenic_slope = "ht2a_hallucinogenic_slope"\n'), encoding="utf-8")
    with pytest.raises(ModelFileError, match="targets.m1.hallucinogenic_slope.*only an agonist target"):
        load_library(root)
