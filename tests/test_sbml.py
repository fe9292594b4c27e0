"""SBML export/import: libsbml consistency, agreement with libRoadRunner, round trip, Antimony-built models, CLI."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator import PlasticityError, Tolerances
from simulator._errors import SBMLError, SBMLLimitError, SBMLUnsupportedError
from simulator.cli import main
from simulator.sbml.export import READOUT_PREFIX, sbml_errors

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
    assert m.getNumRules() == len(flat.assignments) + len(flat.readouts)  # states are species changed by reactions
    assert sorted(x.getId() for x in m.getListOfSpecies()) == sorted(flat.states)
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
def test_drug_species_start_at_exactly_zero(exported, label):
    """libRoadRunner scales each species' absolute tolerance by its nonzero initial amount: a round-off -1.6e-32
    left by the steady-state Newton in psilocin (coupled to the loop through 5-HT2A occupancy) made CVODE fail at t = 0."""
    m = libsbml.readSBMLFromString(exported[label][0]).getModel()
    drug = [s for s in m.getListOfSpecies() if s.getCompartment() != "synapse"]
    assert drug
    for s in drug:
        assert (s.getInitialAmount() if s.isSetInitialAmount() else s.getInitialConcentration()) == 0.0, s.getId()


@pytest.mark.parametrize("label", ["ketamine", "psilocybin"])
def test_round_trip_export_import_simulate(exported, label, monkeypatch):
    """At rtol 1e-12 the two runs agree to 1e-8: the translation, not the solver, is under test, so the built-in run takes
    the SciPy path an imported model still runs on (the compiled kernel's BDF differs from LSODA by ~1e-11 here)."""
    monkeypatch.setenv("PLASTICITY_ENGINE", "scipy")
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
    got = rr_run(path.read_text(encoding="utf-8"), ref["time_h"].to_numpy(), states)
    for i, s in enumerate(states):
        assert close(got[:, i + 1], ref[s].to_numpy(), 1e-5, 10 * TIGHT.atol) <= 0, s
    ref = simulator.simulate(regimen, hours=6, tolerances=ROUND_TRIP, **kw).states
    back = simulator.simulate(model=simulator.from_sbml(path), hours=6, tolerances=ROUND_TRIP).timecourse  # states are species: a column each
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
    assert sbml_errors(out.read_text(encoding="utf-8")) == []
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


# ------------------------------------------------------------------ hostile and odd SBML (issue 16): typed errors, no crashes
def sbml_doc(body: str, model_attrs: str = "", prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" '
            f'version="2"><model id="m" {model_attrs}>{body}</model></sbml>')


MATHML = 'xmlns="http://www.w3.org/1998/Math/MathML"'


def decay_model(k: str, model_attrs: str = "", extra_params: str = "", rate: str = "<apply><times/><cn>-1</cn><ci>k</ci><ci>x</ci></apply>") -> str:
    return sbml_doc(
        f'<listOfParameters><parameter id="x" value="1" constant="false"/><parameter id="k" value="{k}" constant="true"/>{extra_params}'
        f'</listOfParameters><listOfRules><rateRule variable="x"><math {MATHML}>{rate}</math></rateRule></listOfRules>',
        model_attrs,
    )


def test_infinite_and_nan_constants_compile():
    # a <cn> INF in a rate law printed as math.inf in the generated code (NameError); now it is np.inf
    rate = ("<apply><times/><cn>-1</cn><ci>x</ci><piecewise><piece><cn>1</cn><apply><lt/><ci>x</ci><infinity/></apply></piece>"
            "<otherwise><notanumber/></otherwise></piecewise></apply>")
    model = simulator.from_sbml(decay_model("1", rate=rate, extra_params='<parameter id="q" value="NaN" constant="true"/>'))
    tc = simulator.simulate(model=model, hours=1.0, times=[0, 1]).timecourse
    assert tc["x"].iloc[-1] == pytest.approx(np.exp(-1), rel=1e-6)
    assert np.isnan(tc["q"]).all()  # nothing depends on q: reported as what it is
    from simulator.engine.codegen import compile_model

    assert compile_model(model).rhs(0.0, np.array([1.0]), model_param_vector(model))[0] == pytest.approx(-1.0)


def model_param_vector(model) -> np.ndarray:
    return np.array([model.values[p] for p in model.params])


def test_deep_math_and_recursive_functions_are_limits_not_recursion_errors():
    deep = "<apply><plus/>" * 5000 + "<cn>1</cn>" + "<cn>1</cn></apply>" * 5000
    text = decay_model("1", rate=deep)
    with pytest.raises(SBMLLimitError, match=r"rateRule 'x'.*nested more than 100 levels.*MAX_MATH_DEPTH"):
        simulator.from_sbml(text)
    rec = sbml_doc(
        f'<listOfFunctionDefinitions><functionDefinition id="f"><math {MATHML}><lambda><bvar><ci>y</ci></bvar>'
        f'<apply><ci>g</ci><ci>y</ci></apply></lambda></math></functionDefinition><functionDefinition id="g"><math {MATHML}>'
        f'<lambda><bvar><ci>y</ci></bvar><apply><ci>f</ci><ci>y</ci></apply></lambda></math></functionDefinition>'
        f'</listOfFunctionDefinitions><listOfParameters><parameter id="p" constant="false"/></listOfParameters><listOfRules>'
        f'<assignmentRule variable="p"><math {MATHML}><apply><ci>f</ci><cn>1</cn></apply></math></assignmentRule></listOfRules>'
    )
    with pytest.raises(SBMLError, match=r"function definition '[fg]'.*calls itself"):
        simulator.from_sbml(rec)


@pytest.mark.parametrize("math", ["<apply><divide/><cn>1</cn><cn>0</cn></apply>", "<apply><ln/><cn>-1</cn></apply>"])
def test_non_finite_initial_values_are_refused_naming_the_element(math):
    # 1/0 and ln(-1) gave 'TypeError: Cannot convert complex to float'
    text = sbml_doc(
        f'<listOfParameters><parameter id="x" value="1" constant="false"/><parameter id="k" constant="true"/></listOfParameters>'
        f'<listOfInitialAssignments><initialAssignment symbol="k"><math {MATHML}>{math}</math></initialAssignment></listOfInitialAssignments>'
        f'<listOfRules><rateRule variable="x"><math {MATHML}><apply><times/><cn>-1</cn><ci>k</ci><ci>x</ci></apply></math></rateRule></listOfRules>'
    )
    with pytest.raises(SBMLUnsupportedError, match=r"initial value of 'k'.*non-finite"):
        simulator.from_sbml(text)


@pytest.mark.parametrize("units, hours_per_unit", [('timeUnits="second"', 1 / 3600), ('timeUnits="minute"', 1 / 60), ("", 1.0)])
def test_time_units_are_converted_to_hours(units, hours_per_unit):
    # k = 1 per model time unit: after 1 h, x = exp(-1 h / (hours per unit)); 'second' used to be ignored (hours=1 ran 1 s)
    model = simulator.from_sbml(decay_model("0.001", units))
    res = simulator.simulate(model=model, hours=1.0, times=[0.0, 0.5, 1.0], tolerances=TIGHT)
    assert res.timecourse["x"].iloc[-1] == pytest.approx(np.exp(-0.001 / hours_per_unit), rel=1e-7)
    assert res.provenance["hours_per_model_time_unit"] == pytest.approx(hours_per_unit)
    assert res.provenance["time_unit"] == (units.split('"')[1] if units else "undeclared (read as hours)")


def test_a_parameter_named_like_time_is_a_parameter():
    # '__time__' (and 't') used to be taken for model time
    for pid in ("__time__", "t"):
        text = sbml_doc(
            f'<listOfParameters><parameter id="x" value="0" constant="false"/><parameter id="{pid}" value="5" constant="true"/>'
            f'</listOfParameters><listOfRules><rateRule variable="x"><math {MATHML}><apply><plus/><ci>{pid}</ci>'
            f'<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">time</csymbol></apply></math>'
            f'</rateRule></listOfRules>'
        )
        tc = simulator.simulate(model=simulator.from_sbml(text), hours=2.0, times=[0, 2], tolerances=TIGHT).timecourse
        assert tc["x"].iloc[-1] == pytest.approx(5 * 2 + 2**2 / 2, rel=1e-8), pid


def test_ten_thousand_species_is_refused_at_once():
    import time

    species = "".join(f'<species id="s{i}" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false" '
                      f'boundaryCondition="false" constant="false"/>' for i in range(10_000))
    text = sbml_doc(f'<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments><listOfSpecies>{species}</listOfSpecies>')
    start = time.perf_counter()
    with pytest.raises(SBMLLimitError, match="10,001 components.*MAX_SBML_COMPONENTS = 3,000"):
        simulator.from_sbml(text)
    assert time.perf_counter() - start < 10


def test_malformed_xml_and_entities_are_typed_errors_naming_file_and_line(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    laughs = '<!ENTITY a0 "aaaaaaaaaa">' + "".join(f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 10))
    cases = {
        "truncated.xml": decay_model("1")[:-40],
        "laughs.xml": sbml_doc("", prolog="<!DOCTYPE sbml [" + laughs + "]>\n").replace('id="m"', 'id="m" name="&a9;"'),  # 10^10 bytes
        "external.xml": sbml_doc("", prolog=f'<!DOCTYPE sbml [<!ENTITY x SYSTEM "file://{secret}">]>\n').replace('id="m"', 'id="m" name="&x;"'),
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(SBMLError, match=rf"sbml import \({name}\): line \d+: ") as info:
            simulator.from_sbml(path)
        assert "TOP-SECRET" not in str(info.value)


def test_repeated_output_times_are_refused_clearly():
    # the built-in model crashed in SciPy ('t_eval not properly sorted'); both paths now say what is wrong
    model = simulator.from_sbml(decay_model("1"))
    for kw in ({"model": model}, {}):
        with pytest.raises(PlasticityError, match="times: 1 h is given more than once"):
            simulator.simulate(hours=2.0, times=[0, 1, 1, 2], **kw)


# ------------------------------------------------------------------ imported models are first-class
@pytest.fixture(scope="module")
def events_model():
    return simulator.from_sbml(antimony_sbml(ANTIMONY["events"]))


def test_imported_plot_draws_its_own_columns(events_model, tmp_path):
    res = simulator.simulate(model=events_model, hours=10.0)
    fig = res.plot(tmp_path / "m.png")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "S" in labels and "kin" in labels  # what changes: S, and kin (set by an event)
    assert (tmp_path / "m.png").stat().st_size > 0
    with pytest.raises(PlasticityError, match="column"):
        res.plot(columns=["bdnf"])


def test_imported_metrics_compare_with_the_models_own_run_without_events(events_model):
    res = simulator.simulate(model=events_model, hours=10.0)
    base = res.vehicle.timecourse
    assert base["kin"].nunique() == 1 and res.timecourse["kin"].iloc[-1] == pytest.approx(0.2)  # the baseline has no events
    m = simulator.metrics(res, "S")
    # without events S relaxes from 1 towards kin/kout = 2: S(t) = 2 - exp(-kout t); the metric's baseline is that run's
    # start, not any built-in vehicle
    assert base["S"].iloc[-1] == pytest.approx(2.0 - np.exp(-5.0), rel=1e-6)
    peak = res.timecourse["S"].max()
    assert m["peak"] == pytest.approx(peak) and m["time_to_peak"] == pytest.approx(3.0)
    with pytest.raises(PlasticityError, match="spine_gain"):
        simulator.metrics(res)
    with pytest.raises(PlasticityError, match="spine_density"):
        res.spine_gain(5)
    no_events = simulator.simulate(model=simulator.from_sbml(antimony_sbml(ANTIMONY["michaelis_menten"])), hours=2.0)
    with pytest.raises(PlasticityError, match="no events"):
        simulator.metrics(no_events, "S")


def test_imported_sweep_runs_on_the_batched_engine_and_agrees_with_simulate(events_model):
    from simulator.engine.batch import engine

    df = simulator.sweep(model=events_model, vary={"kout": [0.25, 0.5, 1.0]}, hours=10.0)
    assert list(df["status"]) == ["ok"] * 3 and engine() in ("native", "scipy")
    for _, row in df.iterrows():
        ref = simulator.simulate(model=events_model, hours=10.0, params={"kout": row["kout"]}, tolerances=TIGHT).timecourse
        assert row["S_end"] == pytest.approx(ref["S"].iloc[-1], rel=1e-5)
        assert row["S_peak"] == pytest.approx(ref["S"].max(), rel=1e-5) and row["S_peak_h"] == pytest.approx(ref["time_h"][ref["S"].idxmax()])
    assert df["S_end"].is_monotonic_decreasing  # faster loss, less S
    with pytest.raises(PlasticityError, match="kin"):  # an event sets kin: varying it would be overwritten
        simulator.sweep(model=events_model, vary={"kin": [1, 2]}, hours=10.0)
    state_trigger = simulator.from_sbml(antimony_sbml(ANTIMONY["state_events_delays_priorities"]))
    with pytest.raises(PlasticityError, match="batched engine"):
        simulator.sweep(model=state_trigger, vary={"kout": [0.5, 1.0]}, hours=10.0)


def test_imported_local_sensitivity(events_model):
    times = [2.0, 5.0, 9.0]
    sens = simulator.local_sensitivity(model=events_model, readout="S", params=["kout"], times=times)
    h = 1e-3
    for t in times:
        up = simulator.simulate(model=events_model, hours=10.0, params={"kout": 0.5 * np.exp(h)}, times=[0, t], tolerances=TIGHT).timecourse
        dn = simulator.simulate(model=events_model, hours=10.0, params={"kout": 0.5 * np.exp(-h)}, times=[0, t], tolerances=TIGHT).timecourse
        mid = simulator.simulate(model=events_model, hours=10.0, times=[0, t], tolerances=TIGHT).timecourse
        expect = (up["S"].iloc[-1] - dn["S"].iloc[-1]) / (2 * h) / mid["S"].iloc[-1]
        got = float(sens.table.query("time_h == @t")["s"].iloc[0])
        assert got == pytest.approx(expect, rel=1e-3, abs=1e-5)
        assert got < 0  # more loss, less S
