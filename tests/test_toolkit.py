"""The modeller's toolkit (issue 24, part A): the parameter table, units, reloading results, selections and
notebook views, compounds defined from Python."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import simulator
from simulator.cli import main
from simulator.model.parameters import source_kind


# ------------------------------------------------------------------------------------------ parameter table
def test_parameter_table_of_mouse_ketamine_has_every_unit_source_and_file():
    table = simulator.parameters(species="mouse", compounds=["ketamine"])
    assert len(table) >= 60
    assert list(table.columns[:3]) == ["name", "value", "unit"]
    assert table["name"].is_unique
    for col in ("unit", "source", "file", "kind"):
        assert table[col].map(lambda s: isinstance(s, str) and bool(s.strip())).all(), col
    assert set(table["kind"]) <= {"calibrated", "assumed", "literature", "setting"}
    by_name = table.set_index("name")
    # every parameter of the composed model, with the value the engine uses
    lib = simulator.load_library()
    assert by_name.loc["k_glutamate", "value"] == lib.pathway.parameters["k_glutamate"].value
    assert by_name.loc["k_glutamate", "file"] == "pathway.toml"
    assert by_name.loc["ketamine_clearance", "file"] == "compounds/ketamine.toml"
    assert by_name.loc["norketamine_clearance", "file"] == "compounds/norketamine.toml"  # metabolites come along
    assert by_name.loc["body_weight", "unit"] == "kg" and by_name.loc["body_weight", "file"] == "species.toml"
    assert {"ketamine_ip_bioavailability", "ketamine_sc_absorption_halflife"} <= set(table["name"])  # every route in the species
    lo, hi = by_name.loc["k_glutamate", ["range_low", "range_high"]]
    assert lo <= by_name.loc["k_glutamate", "value"] <= hi


def test_parameter_table_follows_species_condition_and_genotype():
    human = simulator.parameters(species="human", compounds="ketamine").set_index("name")
    mouse = simulator.parameters(species="mouse", compounds="ketamine").set_index("name")
    assert human.loc["body_weight", "value"] > 10 * mouse.loc["body_weight", "value"]
    assert "ketamine_intranasal_bioavailability" in human.index and "ketamine_intranasal_bioavailability" not in mouse.index
    stressed = simulator.parameters(condition="chronic_stress").set_index("name")
    assert stressed.loc["condition_severity", "kind"] == "setting"
    assert (stressed.filter(like="condition_", axis=0)["file"] != "pathway.toml").all()
    drug_free = simulator.parameters()
    assert not drug_free["name"].str.startswith("ketamine_").any()
    lib = simulator.load_library()
    mult = lib.genotype("met/met").multipliers
    name, m = next(iter(mult.items()))
    met = simulator.parameters(genotype="met/met").set_index("name")
    assert math.isclose(met.loc[name, "value"], lib.pathway.parameters[name].value * m.value)


def test_parameter_table_refuses_unknown_names_and_dose_only_metabolites():
    with pytest.raises(simulator.UnknownNameError, match="Did you mean 'ketamine'"):
        simulator.parameters(compounds=["ketamin"])
    with pytest.raises(simulator.UnknownNameError, match="species"):
        simulator.parameters(species="mose")
    with pytest.raises(simulator.PlasticityError, match=r"anti-bdnf has no route .* in mouse \(it has in: rat\)"):
        simulator.parameters(species="mouse", compounds=["anti-bdnf"])
    with pytest.raises(simulator.PlasticityError, match="bdnf has no PK in any species; .* species='culture'"):
        simulator.parameters(species="rat", compounds=["bdnf"])
    culture = simulator.parameters(species="culture", compounds=["bdnf"]).set_index("name")
    assert culture.loc["bdnf_molar_mass", "file"] == "compounds/bdnf.toml"
    assert culture.loc["bath_exchange_rate", "file"] == "built in (simulator/model)"


@pytest.mark.parametrize(("source", "kind"), [
    ("calibrated (scripts/calibrate.py): burst", "calibrated"),
    ("assumed: surface AMPA pool", "assumed"),
    ("typical adult C57BL/6 mouse (assumed)", "assumed"),
    ("Shaffer CL et al. 2014 Biochem Pharmacol", "literature"),
    ("condition chronic_stress: assumed: a guess", "assumed"),
    ("condition: 0 = none, 1 = as sourced", "setting"),
])
def test_source_kind_reads_the_convention_of_the_model_files(source, kind):
    assert source_kind(source) == kind


def test_cli_parameters_prints_aligned_and_writes_csv(tmp_path, capsys):
    import pandas as pd

    assert main(["parameters", "--compound", "ketamine"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "value", "unit", "range"]
    at = lines[0].index("unit")
    assert all(len(line) <= at or line[at - 1] == " " for line in lines[1:])  # the unit column starts at one place
    out = tmp_path / "p.csv"
    assert main(["parameters", "--compound", "ketamine", "--species", "rat", "--csv", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == len(simulator.parameters(species="rat", compounds=["ketamine"]))
    assert main(["parameters", "--compound", "ketamin"]) == 2
    assert "Did you mean 'ketamine'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ units and reloading
@pytest.fixture(scope="module")
def ketamine():
    return simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=72, genotype="val/met", params={"k_glutamate": 6.0})


def test_every_timecourse_column_has_a_unit(ketamine):
    units = ketamine.units
    assert list(units) == list(ketamine.timecourse.columns)
    assert all(units.values()), [c for c, u in units.items() if not u]
    assert units["time_h"] == "h" and units["ketamine_brain_nM"] == "nM" and units["spine_density"] == "1/um"
    assert units["mtorc1"] == "fold" and units["spine_formation_rate"] == "1/d" and units["occupancy_nmda_int"] == "1"
    lib = simulator.load_library()
    assert all(units[name] == r.unit for name, r in lib.pathway.readouts.items())  # as the pathway file declares them


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_load_result_round_trips_summary_units_and_plot(ketamine, tmp_path, suffix):
    import json

    path = ketamine.save(tmp_path / f"run.{suffix}")
    if suffix == "csv":  # the sidecar carries the units
        side = json.loads((tmp_path / "run.csv.provenance.json").read_text(encoding="utf-8"))
        assert side["provenance"]["units"] == ketamine.units
    else:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        assert json.loads(schema.metadata[b"plasticity"])["units"] == ketamine.units
        assert {f.name: f.metadata[b"unit"].decode() for f in schema} == ketamine.units  # and on each field
    again = simulator.load_result(path)
    assert isinstance(again, simulator.Result)
    assert again.summary() == ketamine.summary()
    assert again.units == ketamine.units and again.provenance == json.loads(json.dumps(ketamine.provenance, default=str))
    assert again.timecourse.equals(ketamine.timecourse)
    fig = again.plot(columns=["mtorc1", "spine_density"])
    assert [ax.get_ylabel() for ax in fig.axes] == ["mtorc1 (fold baseline)", "spine_density (spines per µm)"]


def test_load_result_refuses_files_that_are_not_saved_runs(tmp_path, ketamine):
    import pandas as pd

    plain = tmp_path / "plain.csv"
    pd.DataFrame({"time_h": [0.0, 1.0], "x": [1.0, 2.0]}).to_csv(plain, index=False)
    with pytest.raises(simulator.PlasticityError, match="no run provenance"):
        simulator.load_result(plain)
    with pytest.raises(simulator.PlasticityError, match="not a file Result.save writes"):
        simulator.load_result(ketamine.plot(tmp_path / "fig.png") and tmp_path / "fig.png")
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(simulator.PlasticityError, match="junk.parquet"):
        simulator.load_result(junk)
    with pytest.raises(simulator.PlasticityError, match="no file"):
        simulator.load_result(tmp_path / "missing.csv")
    assert main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--vs", "vehicle", "--hours", "2", "--out", str(tmp_path / "vs.csv")]) == 0
    with pytest.raises(simulator.PlasticityError, match="no single run's provenance .*comparison's"):
        simulator.load_result(tmp_path / "vs.csv")
    edited = ketamine.save(tmp_path / "edited.csv")
    pd.read_csv(edited).drop(columns=["mtorc1"]).to_csv(edited, index=False)
    with pytest.raises(simulator.PlasticityError, match="differ in: mtorc1"), pytest.warns(UserWarning, match="changed after"):
        simulator.load_result(edited)


# ------------------------------------------------------------------------------------------ selections and views
def _lines(ax):
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]  # curves, not dose marks or window edges


def test_result_plot_draws_just_the_columns_asked_for(ketamine):
    fig = ketamine.plot(columns=["mtorc1", "spine_density", "ketamine_brain_nM"])
    assert [ax.get_title(loc="left") for ax in fig.axes[:3]] == ["mtorc1", "spine_density", "ketamine_brain_nM"]
    assert len(fig.axes) == 3
    run, vehicle = _lines(fig.axes[0])
    assert list(run.get_ydata()) == list(ketamine.timecourse["mtorc1"])
    assert fig.axes[2].get_yscale() == "log" and len(_lines(fig.axes[2])) == 1  # a concentration: log axis, no vehicle
    with pytest.raises(simulator.UnknownNameError, match="Did you mean 'mtorc1'"):
        ketamine.plot(columns=["mtorc"])
    default = ketamine.plot()
    assert "fold baseline" in default.axes[1].get_ylabel() and "spines per µm" == default.axes[-1].get_ylabel()


def test_comparison_plot_selects_columns_and_keeps_every_run_visible(ketamine):
    same = simulator.compare({"first": ketamine, "again": ketamine})  # identical runs: the second must not hide the first
    fig = same.plot(columns=["mtorc1", "spine_gain"])
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Drug in brain", "mTORC1", "Spine gain"]
    a, b = _lines(fig.axes[1])
    assert a.get_linestyle() != b.get_linestyle() and b.get_linewidth() < a.get_linewidth() and b.get_zorder() > a.get_zorder()
    drug = _lines(fig.axes[0])
    assert len({line.get_linestyle() for line in drug}) == 2 and len({line.get_marker() for line in drug}) == 3  # runs x compounds
    assert fig.axes[2].get_ylabel() == "% vs vehicle"
    with pytest.raises(simulator.UnknownNameError, match="Did you mean 'spine_gain'"):
        same.plot(columns=["spine_gian"])


def test_notebook_views_are_short_and_say_what_was_run(ketamine):
    text, page = repr(ketamine), ketamine._repr_html_()
    assert len(text) < 400 and "ketamine 10 mg/kg ip" in text and "val/met" in text and "k_glutamate" not in text
    assert len(page) < 3000 and "spine_gain_24h_pct" in page and "k_glutamate" not in page
    cmp = simulator.compare({"ketamine": ketamine, "vehicle": ketamine.vehicle})
    assert len(repr(cmp)) < 500 and len(cmp._repr_html_()) < 3000 and "vehicle" in repr(cmp)
    from simulator.analysis.doseresponse import analyse_dose_response

    dr = analyse_dose_response("ketamine {dose} mg/kg ip", "mouse", "spine_gain_24h_pct", [1, 3, 10, 30], [1.0, 5.0, 12.0, 3.0], e0=0.0)
    assert "inverted U" in repr(dr) and "4 doses 1–30 mg/kg" in repr(dr) and "<table>" in dr._repr_html_()
    from simulator.analysis.fit import FitResult

    fr = FitResult({"k_mtorc1": 7.5}, {"k_mtorc1": (6.0, 9.0)}, None, ketamine.timecourse.head(3), None, 0.5, True, "ok", 0.95, None)
    assert repr(fr) == "<FitResult converged, cost 0.5, 3 points: k_mtorc1 = 7.5 [6, 9]>"
    assert "95% CI low" in fr._repr_html_()


# ------------------------------------------------------------------------------------------ compounds from Python
def _mydrug() -> dict:
    """A new NMDA blocker with one-compartment mouse PK, as a user would write it."""
    def num(value, unit, source="assumed: a test compound", **kw):
        return {"value": value, "unit": unit, "source": source, **kw}

    return {
        "name": "Test Blocker",
        "molar_mass": num(250.0, "g/mol", "computed from its formula"),
        "targets": {"nmda": {"potency": num(800.0, "nM", range=(200.0, 3000.0)), "hill": num(1.0, "1")}},
        "pk": {"mouse": {
            "clearance": num(4.0, "L/h/kg"), "volume": num(2.0, "L/kg"), "fraction_unbound": num(0.6, "1"),
            "brain_partition": num(1.0, "1"), "brain_equilibration_halflife": num(2.0, "min"),
            "routes": {"ip": {"bioavailability": num(0.7, "1"), "absorption_halflife": num(5.0, "min")}},
        }},
    }


def test_a_compound_from_python_simulates_like_a_file_compound(tmp_path):
    lib = simulator.add_compound(_mydrug())
    assert lib.hash != simulator.load_library().hash and "test_blocker" not in simulator.load_library().compounds
    r = simulator.simulate("test blocker 10 mg/kg ip", hours=24, library=lib)
    peak, _ = r.peak("test_blocker_brain_nM")
    assert peak > 0 and r.peak("occupancy_nmda_int")[0] > 0.1
    assert r.summary()["glutamate_peak_fold"] > 1.0  # an NMDA blocker disinhibits, as ketamine does
    table = simulator.parameters(compounds=["test blocker"], library=lib).set_index("name")
    assert table.loc["test_blocker_nmda_potency", "file"] == "add_compound('test_blocker')"
    assert table.loc["test_blocker_brain_equilibration_halflife", "value"] == pytest.approx(2.0 / 60)  # converted to h
    assert table.loc["test_blocker_nmda_potency", "range_high"] == 3000.0
    again = simulator.load_result(r.save(tmp_path / "mine.parquet"), library=lib)
    assert again.summary() == r.summary()


def test_changing_a_file_compound_from_python_changes_only_the_copy():
    data = simulator.compound_data("ketamine")
    data["pk"]["mouse"]["clearance"]["value"] = 8.0
    lib = simulator.add_compound(data)
    assert lib.compound("ketalar").pk["mouse"].params["clearance"].value == 8.0  # aliases follow the replacement
    assert simulator.load_library().compound("ketamine").pk["mouse"].params["clearance"].value != 8.0
    faster = simulator.simulate("ketamine 10 mg/kg ip", hours=6, library=lib)
    usual = simulator.simulate("ketamine 10 mg/kg ip", hours=6)
    assert faster.peak("ketamine_brain_nM")[0] < usual.peak("ketamine_brain_nM")[0]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["pk"]["mouse"]["clearance"].pop("unit"), r"add_compound\('test_blocker'\): pk.mouse.clearance: missing 'unit'"),
    (lambda d: d["pk"]["mouse"]["clearance"].pop("source"), r"pk.mouse.clearance: missing 'source'"),
    (lambda d: d["pk"]["mouse"]["clearance"].update(unit="nM"), r"pk.mouse.clearance.unit: .*wrong dimension"),
    (lambda d: d["targets"].update(nmdaa=d["targets"].pop("nmda")), r"unknown target 'nmdaa'.*Did you mean 'nmda'"),
    (lambda d: d["pk"].update(mose=d["pk"].pop("mouse")), r"unknown species 'mose'.*Did you mean 'mouse'"),
    (lambda d: d.update(aliases=["ketalar"]), r"name 'ketalar' is already used by compounds/ketamine.toml"),
    (lambda d: d["targets"]["nmda"]["potency"].update(value=50.0), r"targets.nmda.potency.value: 50.0 lies outside its range"),
    (lambda d: d["targets"]["nmda"].update(potency=object()), r"targets.nmda.potency: expected a table, list, text or number"),
])
def test_a_compound_from_python_is_checked_as_strictly_as_a_file(change, message):
    data = _mydrug()
    change(data)
    with pytest.raises(simulator.PlasticityError, match=message):
        simulator.add_compound(data)


# ------------------------------------------------------------------------------------------ the docs pages
DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_units_page_names_every_column_and_metric_with_the_unit_runs_report():
    from simulator.analysis.metrics import METRICS
    from simulator.model.glossary import describe, glossary_markdown, metric_definition

    lib = simulator.load_library()
    runs = [simulator.simulate(["ketamine 10 mg/kg ip", "psilocybin 1 mg/kg ip"], hours=2),
            simulator.simulate("lsd 10 nM bath for 15 min", species="culture", hours=1)]
    for run in runs:
        for column, unit in run.units.items():
            named = describe(column, lib)
            assert named is not None, f"docs/parameters-and-units.md does not name column {column!r}"
            assert named[0] == unit, (column, named[0], unit)
    for name in METRICS:
        assert metric_definition(name) is not None, f"no definition of sweep metric {name!r}"
    assert metric_definition("glutamate_auc")[0] == "fold·h" and metric_definition("mtorc1_time_above_h")[0] == "h"
    page = glossary_markdown(lib)
    assert all(f"`{name}`" in page for name in lib.pathway.readouts)
    assert "<!-- plasticity:units -->" in (DOCS / "parameters-and-units.md").read_text(encoding="utf-8")  # where the hook puts the tables


def test_the_python_example_of_adding_a_compound_runs():
    page = (DOCS / "adding-a-compound.md").read_text(encoding="utf-8")
    code = page.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "docs/adding-a-compound.md", "exec"), scope)  # noqa: S102 - our own docs page
    assert scope["result"].peak("example_blocker_brain_nM")[0] > 0
    assert scope["run"].provenance["model_hash"] == scope["faster"].hash != scope["lib"].hash
    assert "example_blocker" in scope["faster"].compounds  # the replacement kept the compound added before
    toml = page.split("```toml\n", 1)[1].split("```", 1)[0]
    from simulator.model.files import parse_toml

    assert simulator.add_compound(parse_toml(toml.encode(), "page")).compound("exb-1").pk["mouse"].params == \
        scope["lib"].compound("exb-1").pk["mouse"].params  # the file and the dict say the same


def test_every_file_compound_passes_through_add_compound_unchanged():
    from dataclasses import replace

    lib = simulator.load_library()
    for cid, c in lib.compounds.items():
        copy = simulator.add_compound(simulator.compound_data(c.name), library=lib)
        assert replace(copy.compounds[cid], file=c.file) == c, cid  # every key the loader reads, with the compound's own id
        assert len(copy.compounds) == len(lib.compounds)


def test_receptor_actions_from_python_reach_the_loop():
    def num(value, unit="1", source="assumed: a test agonist"):
        return {"value": value, "unit": unit, "source": source}

    lib = simulator.add_compound({"name": "test agonist", "molar_mass": num(300.0, "g/mol"),
                                  "targets": {"ht2a": {"potency": num(20.0, "nM"), "hill": num(1.0), "efficacy": num(0.8),
                                                       "hallucinogenic_efficacy": num(0.5)}}}, id="agonist_x")
    r = simulator.simulate("test agonist 100 nM bath for 15 min", species="culture", hours=2, library=lib)
    assert r.peak("occupancy_ht2a")[0] > 0.5 and r.peak("hallucinogenic_signal")[0] > 0.1
    names = set(simulator.parameters("culture", ["test agonist"], library=lib)["name"])
    assert {"agonist_x_ht2a_efficacy", "agonist_x_ht2a_hallucinogenic_efficacy"} <= names
    with pytest.raises(simulator.PlasticityError, match="id: expected lower-case"):
        simulator.add_compound(simulator.compound_data("lsd"), id="My LSD")


def test_load_result_brings_back_a_run_of_an_imported_model(tmp_path):
    antimony = pytest.importorskip("antimony")
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString("model m()\n J1: -> S; kin\n J2: S -> ; kout*S\n S = 1; kin = 1; kout = 0.5\n"
                                       " at time > 3: kin = 0.2\nend") >= 0
    sbml = tmp_path / "m.xml"
    sbml.write_text(antimony.getSBMLString("m"))
    model = simulator.from_sbml(sbml)
    run = simulator.simulate(model=model, hours=10.0, params={"kout": 0.4})
    path = run.save(tmp_path / "m.csv")
    with pytest.raises(simulator.PlasticityError, match=r"model=simulator.from_sbml\('m.xml'\)"):
        simulator.load_result(path)
    again = simulator.load_result(path, model=simulator.from_sbml(sbml))
    assert again.summary() == run.summary() and again.units == run.units
    assert again.vehicle.timecourse.equals(run.vehicle.timecourse)  # the run without events, with the same override
    assert again.plot(columns=["S"]).axes


def test_dose_response_takes_a_library_of_your_own():
    lib = simulator.add_compound(_mydrug())
    dr = simulator.dose_response("test blocker {dose} mg/kg ip", [1, 3, 10], library=lib, readout="glutamate_peak", progress=False)
    assert dr.values[-1] > dr.values[0] > 1.0  # more NMDA block, a larger burst over this range
    with pytest.raises(simulator.UnknownNameError, match="test blocker"):
        simulator.dose_response("test blocker {dose} mg/kg ip", [1, 3, 10], progress=False)


def test_cli_simulate_plots_just_the_columns_named(tmp_path, capsys):
    out = tmp_path / "sel.png"
    assert main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--hours", "24", "--plot", str(out), "--columns", "mtorc1, spine_density"]) == 0
    assert out.stat().st_size > 0
    assert main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--hours", "24", "--plot", str(out), "--columns", "mtorc"]) == 2
    assert "Did you mean 'mtorc1'" in capsys.readouterr().err
