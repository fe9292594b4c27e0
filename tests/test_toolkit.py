"""The modeller's toolkit (issue 24, part A): the parameter table, units, reloading results, selections and
notebook views, compounds defined from Python."""

from __future__ import annotations

import math

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
    with pytest.raises(simulator.PlasticityError, match="anti-bdnf has no route .* in mouse"):
        simulator.parameters(species="mouse", compounds=["anti-bdnf"])


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
