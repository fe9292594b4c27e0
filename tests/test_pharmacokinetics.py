"""Pharmacokinetics: mass is conserved through absorption, first pass, metabolism and elimination; the first pass
forms the metabolites the literature names; human PK of each compound and route against published values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import trapezoid

import simulator
from simulator.model.files import load_library

LIB = load_library()


def fine(hours: float, per_h: int = 240) -> np.ndarray:
    return np.linspace(0, hours, int(hours * per_h) + 1)


def dosed_nmol(r: simulator.Result) -> dict[str, float]:
    """nmol put into each state by the regimen's bolus events (amount x body weight / molar mass, as documented)."""
    p = r.provenance["parameters"]
    out: dict[str, float] = {}
    for e in r.setup.flat.events:
        assert e.kind == "state", "mass balance is checked on bolus doses"
        out[e.target] = out.get(e.target, 0.0) + e.amount * np.prod([p[s] for s in e.scale]) / np.prod([p[d] for d in e.divide])
    return out


def mass_balance(r: simulator.Result) -> tuple[float, np.ndarray]:
    """Total dose, and at each output time: what is still in the body (depots, central and peripheral compartments)
    plus what has left it, from the fluxes the compound files document:
    - systemic clearance CL x plasma concentration, except the shares that form a metabolite (those stay in the body);
    - the first pass: of what left a depot, (1 - F) x (1 - the shares named in first_pass_to)."""
    p, tc, st = r.provenance["parameters"], r.timecourse, r.states
    t = tc["time_h"].to_numpy()
    dose = dosed_nmol(r)
    accounted = np.zeros_like(t)
    for cid in r.setup.flat.compounds:
        pk = LIB.compounds[cid].pk[r.setup.species]
        for s in r.setup.flat.states:
            if s in (f"{cid}_central", f"{cid}_peripheral") or s.startswith(f"{cid}_depot_"):
                accounted += st[s].to_numpy()
        kept = sum(p[f"{cid}_to_{LIB.compound(m.compound).id}_fraction"] for m in pk.metabolites)
        cl = p[f"{cid}_clearance"] * p["body_weight"]
        c = tc[f"{cid}_plasma_nM"].to_numpy()
        cum = np.concatenate([[0.0], np.cumsum(np.diff(t) * (c[1:] + c[:-1]) / 2)])
        accounted += (1 - kept) * cl * cum
        for s in r.setup.flat.states:
            if s.startswith(f"{cid}_depot_"):
                route = s.removeprefix(f"{cid}_depot_")
                absorbed = dose.get(s, 0.0) - st[s].to_numpy()
                shares = sum(p[f"{cid}_{route}_first_pass_to_{LIB.compound(m).id}"] for m in pk.first_pass.get(route, {}))
                accounted += (1 - p[f"{cid}_{route}_bioavailability"]) * (1 - shares) * absorbed
    return sum(dose.values()), accounted


@pytest.mark.parametrize(("dose", "species", "hours"), [
    ("ketamine 10 mg/kg ip", "mouse", 8),  # first pass to norketamine, then (2R,6R)-HNK
    ("ketamine 0.25 mg/kg oral", "human", 12),
    ("ketamine 50 mg intranasal", "human", 12),
    ("psilocybin 25 mg oral", "human", 12),  # first-pass dephosphorylation to psilocin
    ("fluoxetine 10 mg/kg oral", "mouse", 12),
    ("lsd 100 ug oral", "human", 12),  # first pass with no named metabolite: all eliminated
])
def test_mass_is_conserved(dose, species, hours):
    r = simulator.simulate([dose], species=species, hours=hours, times=fine(hours))
    total, accounted = mass_balance(r)
    assert total > 0
    np.testing.assert_allclose(accounted, total, rtol=2e-3)


def auc_ratio(dose: str, params: dict | None = None) -> float:
    tc = simulator.simulate([dose], species="human", hours=48, times=fine(48, 60), params=params).timecourse
    return trapezoid(tc["norketamine_plasma_nM"], tc["time_h"]) / trapezoid(tc["ketamine_plasma_nM"], tc["time_h"])


def test_first_pass_raises_the_norketamine_ratio():
    """Published: norketamine/ketamine AUC ~0.2-2 after i.v. ketamine, ~4-4.5 after intranasal (Pharmacotherapy 2022
    42:298 Table 6), far higher after oral dosing (S-ketamine: 16.5 at steady state, Fanta 2015 Eur J Clin Pharmacol)."""
    iv = auc_ratio("ketamine 0.5 mg/kg iv over 40 min")
    nasal = auc_ratio("ketamine 50 mg intranasal")
    oral = auc_ratio("ketamine 0.25 mg/kg oral")
    assert oral >= 3 * iv
    assert iv < nasal < oral
    assert 2.5 <= nasal <= 8
    # without the first pass forming norketamine, oral dosing gives the i.v. ratio back
    assert auc_ratio("ketamine 0.25 mg/kg oral", {"ketamine_oral_first_pass_to_norketamine": 0.0}) == pytest.approx(iv, rel=0.1)


def metrics(dose: str, compound: str, hours: float, per_h: int = 60) -> dict[str, float]:
    tc = simulator.simulate([dose], species="human", hours=hours, times=fine(hours, per_h)).timecourse
    t, c = tc["time_h"].to_numpy(), tc[f"{compound}_plasma_nM"].to_numpy()
    i = int(np.argmax(c))
    sel = (t > t[i]) & (c < 0.05 * c[i]) & (c > 0.05 / 4 * c[i])
    half = float(np.log(2) / -np.polyfit(t[sel], np.log(c[sel]), 1)[0]) if sel.sum() > 2 else float("nan")
    return {"cmax_ng_ml": c[i] * LIB.compound(compound).molar_mass.value / 1e3, "tmax_h": t[i], "t_half_h": half, "last_ng_ml": c[-1] * LIB.compound(compound).molar_mass.value / 1e3}


# published human PK (mean or geometric mean; bounds: the reported spread or, for a single mean, about +-40%)
HUMAN_PK = [
    ("ketamine 50 mg intranasal", "ketamine", 24, "cmax_ng_ml", 40, 160, "Pharmacotherapy 2022 42:298 Table 6: 77.6 ng/mL (GSD 2.29)"),
    ("ketamine 50 mg intranasal", "ketamine", 24, "tmax_h", 0.1, 0.6, "same: 16 min"),
    ("ketamine 50 mg intranasal", "norketamine", 24, "cmax_ng_ml", 64, 171, "same: 105 ng/mL (GSD 1.63)"),
    ("ketamine 50 mg intranasal", "norketamine", 24, "tmax_h", 0.5, 1.6, "same: 56 min"),
    ("ketamine 0.5 mg/kg iv over 40 min", "norketamine", 48, "t_half_h", 5, 12, "Spravato label: noresketamine t1/2 ~8 h (secondary)"),
    ("psilocybin 25 mg oral", "psilocin", 24, "cmax_ng_ml", 12, 25, "Holze F et al. 2023 Clin Pharmacol Ther 113:822: 17 ng/mL (95% CI 16-19)"),
    ("psilocybin 25 mg oral", "psilocin", 24, "tmax_h", 1.3, 2.8, "same: 2 h"),
    ("fluoxetine 40 mg oral", "fluoxetine", 48, "cmax_ng_ml", 15, 55, "Prozac label: 15-55 ng/mL after 40 mg (recalled)"),
    ("fluoxetine 40 mg oral", "fluoxetine", 48, "tmax_h", 4, 10, "Prozac label: 6-8 h (recalled)"),
    ("fluoxetine 40 mg oral every 1 d x 30", "fluoxetine", 24 * 30, "last_ng_ml", 91, 302, "Prozac label: 91-302 ng/mL after 30 d on 40 mg/d (recalled)"),
    ("fluoxetine 40 mg oral every 1 d x 30", "norfluoxetine", 24 * 30, "last_ng_ml", 72, 258, "Prozac label: norfluoxetine 72-258 ng/mL (recalled)"),
    ("scopolamine 0.5 mg iv over 15 min", "scopolamine", 24, "cmax_ng_ml", 3.0, 7.0, "Renner UD et al. 2005 Ther Drug Monit: 5.0 ng/mL (secondary)"),
    ("scopolamine 0.5 mg oral", "scopolamine", 24, "tmax_h", 0.2, 0.6, "same: oral Tmax 23.5 min"),
    ("esketamine 56 mg intranasal", "esketamine", 48, "tmax_h", 0.33, 0.67, "Spravato label: Tmax 20-40 min"),
]


@pytest.mark.parametrize(("dose", "compound", "hours", "metric", "low", "high", "source"), HUMAN_PK,
                         ids=[f"{d}-{c}-{m}" for d, c, _, m, *_ in HUMAN_PK])
def test_human_pk_against_the_literature(dose, compound, hours, metric, low, high, source):
    value = metrics(dose, compound, hours, 60 if hours <= 48 else 4)[metric]
    assert low <= value <= high, f"{dose}: {compound} {metric} {value:.3g} outside [{low}, {high}] ({source})"


# ---------------------------------------------------------------- the first-pass key is checked
def edited(tmp_path, compound: str, old: str, new: str):
    import shutil

    root = tmp_path / "models"
    shutil.copytree(LIB.root, root)
    f = root / "compounds" / f"{compound}.toml"
    text = f.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    f.write_text(text.replace(old, new))
    return root


@pytest.mark.parametrize(("old", "new", "words"), [
    ('[pk.mouse.routes.iv]\nbioavailability = { value = 1.0, unit = "1", range = [1.0, 1.0], source = "by definition (i.v.)" }',
     '[pk.mouse.routes.iv]\nbioavailability = { value = 1.0, unit = "1", range = [1.0, 1.0], source = "by definition (i.v.)" }\n'
     'first_pass_to = { norketamine = { value = 0.5, unit = "1", source = "x" } }', "routes.iv.first_pass_to: route iv has no first pass"),
    ('first_pass_to = { norketamine = { value = 0.8, unit = "1", range = [0.5, 0.9], source = "assumed equal to norketamine\'s share of systemic clearance (0.8, metabolites below): the non-bioavailable',
     'first_pass_to = { norketamine = { value = 0.8, unit = "1", range = [0.5, 1.2], source = "assumed equal to norketamine\'s share of systemic clearance (0.8, metabolites below): the non-bioavailable',
     "first_pass_to.norketamine: expected a share between 0 and 1"),
    ('first_pass_to = { norketamine = { value = 0.8, unit = "1", range = [0.5, 0.9], source = "assumed equal to norketamine\'s share of systemic clearance (0.8, metabolites below): the non-bioavailable',
     'first_pass_to = { psilocin = { value = 0.1, unit = "1", source = "x" }, norketamine = { value = 0.8, unit = "1", range = [0.5, 0.9], source = "assumed equal to norketamine\'s share of systemic clearance (0.8, metabolites below): the non-bioavailable',
     "'psilocin' must also be listed"),
])
def test_first_pass_mistakes_are_refused(tmp_path, old, new, words):
    from simulator._errors import ModelFileError

    root = edited(tmp_path, "ketamine", old, new)
    with pytest.raises(ModelFileError) as info:
        load_library(root)
    assert "compounds/ketamine.toml" in str(info.value) and words in str(info.value), str(info.value)
