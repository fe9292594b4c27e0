"""SBML export/import: libsbml consistency, agreement with libRoadRunner, round trip, Antimony-built models, CLI."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator import PlasticityError, Tolerances
from simulator._errors import SBMLUnsupportedError
from simulator._sbml import READOUT_PREFIX, sbml_errors
from simulator.cli import main

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")
antimony = pytest.importorskip("antimony")

TIGHT = Tolerances(rtol=1e-10, atol=1e-12)
# the round trip compares two runs of our own solver at 1e-8: LSODA's global error at rtol 1e-10 is itself ~1e-8
# near the dose peak, so both runs use tighter settings (the comparison tolerance is unchanged)
ROUND_TRIP = Tolerances(rtol=1e-12, atol=1e-14)
HOURS = 24.0


def close(got: np.ndarray, ref: np.ndarray, rtol: float, floor: float) -> float:
    """Largest excess of |got - ref| over rtol * |ref| + floor (<= 0 means within tolerance)."""
    return float(np.max(np.abs(got - ref) - (rtol * np.abs(ref) + floor)))


def rr_run(sbml: str, times: np.ndarray, selections: list[str]) -> np.ndarray:
    r = roadrunner.RoadRunner(sbml)
    r.integrator.relative_tolerance = 1e-10
    r.integrator.absolute_tolerance = 1e-12
    r.integrator.setValue("max_output_rows", 100000) if "max_output_rows" in r.integrator.getSettings() else None
    return np.asarray(r.simulate(times=list(times), selections=["time"] + selections))


@pytest.fixture(scope="module")
def exported() -> dict[str, tuple[str, simulator.Result]]:
    out = {}
    for label, regimen in (("vehicle", []), ("ketamine", ["ketamine 10 mg/kg ip"]), ("psilocybin", ["psilocybin 1 mg/kg ip"])):
        xml = simulator.to_sbml(regimen, species="mouse")
        res = simulator.simulate(regimen, species="mouse", hours=HOURS, tolerances=TIGHT)
        out[label] = (xml, res)
    return out


@pytest.mark.parametrize("label", ["vehicle", "ketamine", "psilocybin"])
def test_export_is_consistent_sbml(exported, label):
    xml, res = exported[label]
    assert sbml_errors(xml) == []
    doc = libsbml.readSBMLFromString(xml)
    m = doc.getModel()
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    assert m.getTimeUnits() == "hour"
    flat = res.setup.flat
    assert m.getNumRules() == len(flat.states) + len(flat.assignments) + len(flat.readouts)
    assert m.getNumEvents() == len(flat.events)
    k = m.getParameter("k_glutamate")
    assert k.getUnits() == "per_hour" and k.isSetNotes()
    assert flat.meta["k_glutamate"].source.split()[0] in k.getNotesString()


@pytest.mark.parametrize("label", ["vehicle", "ketamine", "psilocybin"])
def test_roadrunner_matches_simulate(exported, label):
    xml, res = exported[label]
    tc = res.timecourse
    cols = [c for c in tc.columns if c != "time_h"]
    got = rr_run(xml, tc["time_h"].to_numpy(), [READOUT_PREFIX + c for c in cols])
    assert np.allclose(got[:, 0], tc["time_h"])
    for i, c in enumerate(cols):
        assert close(got[:, i + 1], tc[c].to_numpy(), 1e-5, 10 * TIGHT.atol) <= 0, c


@pytest.mark.parametrize("label", ["ketamine", "psilocybin"])
def test_round_trip_export_import_simulate(exported, label):
    xml, _ = exported[label]
    regimen = ["ketamine 10 mg/kg ip"] if label == "ketamine" else ["psilocybin 1 mg/kg ip"]
    res = simulator.simulate(regimen, species="mouse", hours=HOURS, tolerances=ROUND_TRIP)
    back = simulator.simulate(model=simulator.from_sbml(xml), hours=HOURS, tolerances=ROUND_TRIP)
    tc = res.timecourse
    assert np.array_equal(back.timecourse["time_h"], tc["time_h"])
    for c in tc.columns[1:]:
        assert close(back.timecourse[READOUT_PREFIX + c].to_numpy(), tc[c].to_numpy(), 1e-8, 100 * ROUND_TRIP.atol) <= 0, c
    assert res.at("mtorc1", 2.0) > res.setup.y0[res.setup.flat.states.index("mtorc1")]  # the dose did something


def test_export_interventions_round_trip(tmp_path):
    # states, not readouts: Result readouts are observed with the pre-dose inputs (clamp switch, infusion rate)
    kw = dict(species="rat", cut=["mtorc1_to_bdnf"], clamp=simulator.Clamp("mtorc1", 0.0, 1, 3))
    regimen = ["ketamine 0.5 mg/kg iv over 40 min"]
    path = tmp_path / "k.xml"
    simulator.to_sbml(regimen, path=path, **kw)
    ref = simulator.simulate(regimen, hours=6, tolerances=TIGHT, **kw).states
    states = list(ref.columns[1:])
    got = rr_run(path.read_text(), ref["time_h"].to_numpy(), states)
    for i, s in enumerate(states):
        assert close(got[:, i + 1], ref[s].to_numpy(), 1e-5, 10 * TIGHT.atol) <= 0, s
    ref = simulator.simulate(regimen, hours=6, tolerances=ROUND_TRIP, **kw).states
    back = simulator.simulate(model=simulator.from_sbml(path), hours=6, tolerances=ROUND_TRIP).states
    for s in states:
        assert close(back[s].to_numpy(), ref[s].to_numpy(), 1e-8, 100 * ROUND_TRIP.atol) <= 0, s
    assert ref["bdnf_protein"].iloc[-1] != ref["bdnf_protein"].iloc[0]


ANTIMONY = {
    "mass_action": """
        J1: S1 -> S2; k1*S1
        J2: S2 + S1 -> S3; k2*S1*S2
        J3: S3 -> ; k3*S3
        S1 = 10; S2 = 1; S3 = 0; k1 = 0.4; k2 = 0.05; k3 = 0.2
    """,
    "michaelis_menten": """
        J1: S -> P; Vm*S/(Km + S)
        J2: P -> S; kr*P
        S = 5; P = 0; Vm = 2; Km = 0.7; kr = 0.1
    """,
    "rules": """
        x' = -k*x + a*y
        z' = y^1.5 - kz*z
        y := x^2/(1 + x^2) + b
        x = 2; z = 0.1; k = 0.3; a = 0.5; b = 0.2; kz = 0.4
        q = k*3
        x2 := q*x
    """,
    "events": """
        J1: -> S; kin
        J2: S -> ; kout*S
        S = 1; kin = 1; kout = 0.5
        E1: at time >= 3: S = S + 4
        E2: at time >= 6.5: kin = 0.2
    """,
    "state_events_delays_priorities": """
        J1: -> S; kin
        J2: S -> ; kout*S
        S = 1; kin = 1; kout = 0.5; n = 0
        E1: at S > 1.5, t0=false: S = S - 1, n = n + 1
        E2: at 0.5 after time >= 4, priority = 2: kin = 2
        E3: at time >= 4, priority = 1: kout = kout * 2
        E4: at time > 7, persistent=false: S = 0.1
    """,
    "piecewise_time_and_rules": """
        x' = piecewise(1, time < 3, -0.5*x) + 0.1*sin(time)
        y := x^2 + floor(time)
        x = 0.5
    """,
    "compartment_resized_by_event": """
        compartment C = 2
        species A in C, B in C
        J1: A -> B; k*A*C
        A = 3; B = 0; k = 0.7
        E1: at time >= 2: C = 0.5
    """,
    "compartments": """
        compartment C1 = 2, C2 = 0.5
        species A in C1, B in C2
        substanceOnly species N in C2
        J1: A -> B; k*A*C1
        J2: B -> N; kb*B*C2
        A = 3; B = 0; N = 0; k = 0.7; kb = 0.3
    """,
}


def antimony_sbml(text: str) -> str:
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString("model m()\n" + text + "\nend") >= 0, antimony.getLastError()
    return antimony.getSBMLString("m")


@pytest.mark.parametrize("name", list(ANTIMONY))
def test_import_antimony_models_match_roadrunner(name):
    xml = antimony_sbml(ANTIMONY[name])
    model = simulator.from_sbml(xml)
    times = np.linspace(0.0, 10.0, 41)
    ours = simulator.simulate(model=model, hours=10.0, times=times, tolerances=TIGHT).timecourse
    doc = libsbml.readSBMLFromString(xml).getModel()
    conc = {doc.getSpecies(i).getId() for i in range(doc.getNumSpecies()) if not doc.getSpecies(i).getHasOnlySubstanceUnits()}
    cols = [c for c in ours.columns if c != "time_h"]
    ref = rr_run(xml, times, [f"[{c}]" if c in conc else c for c in cols])
    for i, c in enumerate(cols):
        assert close(ours[c].to_numpy(), ref[:, i + 1], 1e-6, 10 * TIGHT.atol) <= 0, c
    assert any(np.ptp(ours[c].to_numpy()) > 0 for c in cols)  # it moved


def test_compartment_volumes_scale_concentration_changes():
    model = simulator.from_sbml(antimony_sbml(ANTIMONY["compartments"]))
    tc = simulator.simulate(model=model, hours=5.0, times=np.linspace(0, 5, 11), tolerances=TIGHT).timecourse
    # J1 moves amount from C1 (2 L) to C2 (0.5 L): [B] rises 4x as fast as [A] falls, so A*2 + B*0.5 + N is conserved
    total = 2 * tc["A"] + 0.5 * tc["B"] + tc["N"]
    assert np.allclose(total, total.iloc[0], rtol=1e-8)


def test_species_in_both_bases_match_roadrunner():
    xml = antimony_sbml(ANTIMONY["compartment_resized_by_event"])
    model = simulator.from_sbml(xml)
    times = np.linspace(0.0, 5.0, 21)
    for basis, sel in (("amount", "{}"), ("concentration", "[{}]")):
        ours = simulator.simulate(model=model, hours=5.0, times=times, tolerances=TIGHT, species_as=basis).timecourse
        ref = rr_run(xml, times, [sel.format("A"), sel.format("B")])
        for i, c in enumerate(["A", "B"]):
            assert close(ours[c].to_numpy(), ref[:, i + 1], 1e-6, 10 * TIGHT.atol) <= 0, (basis, c)
    amount = simulator.simulate(model=model, hours=5.0, times=times, species_as="amount").timecourse
    conc = simulator.simulate(model=model, hours=5.0, times=times).timecourse  # declared: concentrations
    assert np.allclose(amount["A"], conc["A"] * conc["C"], rtol=1e-12)
    # at 2 h the event shrinks C from 2 to 0.5: the concentration jumps about 4-fold, the amount does not jump
    assert conc["A"].iloc[8] > 3 * conc["A"].iloc[7] and amount["A"].iloc[8] < amount["A"].iloc[7]
    with pytest.raises(PlasticityError, match="species_as"):
        simulator.simulate(model=model, hours=1.0, species_as="moles")
    with pytest.raises(PlasticityError, match="species_as"):
        simulator.simulate([], hours=1.0, species_as="amount")


@pytest.mark.parametrize(
    "text, element, feature",
    [
        ("x' = -k*delay(x, 1)\nx = 1; k = 1", "rate rule for 'x'", "delay"),
    ],
)
def test_unsupported_constructs_name_the_element(text, element, feature):
    with pytest.raises(SBMLUnsupportedError, match=element) as info:
        simulator.from_sbml(antimony_sbml(text))
    assert feature in info.value.feature


def test_fast_reaction_is_refused_before_conversion():
    doc = libsbml.readSBMLFromString(antimony_sbml("J1: S -> P; k*S\nS = 1; P = 0; k = 1"))
    doc.setLevelAndVersion(3, 1, False)
    doc.getModel().getReaction("J1").setFast(True)
    with pytest.raises(SBMLUnsupportedError, match="reaction 'J1'.*fast"):
        simulator.from_sbml(libsbml.writeSBMLToString(doc))


def test_algebraic_rule_is_rejected():
    doc = libsbml.readSBMLFromString(antimony_sbml("x' = -k*x\ny = 0\nx = 1; k = 1"))
    rule = doc.getModel().createAlgebraicRule()
    rule.setMetaId("alg1")
    rule.setMath(libsbml.parseL3Formula("x + y - 1"))
    doc.getModel().getParameter("y").setConstant(False)
    with pytest.raises(SBMLUnsupportedError, match="algebraic rule.*alg1"):
        simulator.from_sbml(libsbml.writeSBMLToString(doc))


def test_missing_file_and_model_with_regimen(tmp_path):
    with pytest.raises(PlasticityError, match="does not exist"):
        simulator.from_sbml(tmp_path / "nope.xml")
    model = simulator.from_sbml(antimony_sbml(ANTIMONY["michaelis_menten"]))
    with pytest.raises(PlasticityError, match="model"):
        simulator.simulate(["ketamine 10 mg/kg ip"], model=model, hours=1)


def test_cli_export_and_show_model(tmp_path, capsys):
    out = tmp_path / "m.xml"
    assert main(["export", "--format", "sbml", "-o", str(out), "--dose", "ketamine 10 mg/kg ip", "--species", "rat"]) == 0
    assert sbml_errors(out.read_text()) == []
    assert main(["show-model", "--dose", "ketamine 10 mg/kg ip"]) == 0
    text = capsys.readouterr().out
    flat = simulator._simulate.setup(["ketamine 10 mg/kg ip"]).flat
    for s in flat.states:
        assert f"\n  {s}' = " in text
    assert "k_glutamate = " in text and "ketamine 10 mg/kg ip" in text
    assert main(["export", "-o", str(out), "--species", "rta"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Did you mean 'rat'" in err
    assert main(["export", "--format", "cellml", "-o", str(out)]) == 2
    assert main(["show-model", "--dose", "ketamine 10 mg/kg xx"]) == 2
