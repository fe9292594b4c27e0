"""Model-file checks: each broken file gives one typed error naming the file and the key.

Every test edits a temporary copy of models/ (never the real one) and loads it with
load_library(copy) or, through the whole engine, with PLASTICITY_MODELS=copy.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import simulator
from simulator import ModelFileError, PlasticityError, UnknownNameError, load_library
from simulator._simulate import setup
from simulator.cli import main
from simulator.model.files import models_dir

REPO_MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture
def models(tmp_path: Path) -> Path:
    dst = tmp_path / "models"
    shutil.copytree(REPO_MODELS, dst)
    return dst


def edit(path: Path, pattern: str, replacement: str, *, flags: int = re.MULTILINE) -> None:
    """Replace exactly one regex match, so a test fails loudly if the file's shape changes."""
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(pattern, replacement, text, count=1, flags=flags)
    assert n == 1, f"pattern {pattern!r} not found in {path.name}"
    path.write_text(new)


def set_param(path: Path, name: str, table: str) -> None:
    """Replace the one-line inline table of parameter `name` by `table`."""
    edit(path, rf"^{re.escape(name)}\s*=\s*\{{.*\}}\s*$", f"{name} = {table}")


def expect(exc_type, root: Path, file: str, key: str, *words: str, compile_model: bool = False):
    with pytest.raises(PlasticityError) as info:
        lib = load_library(root)
        if compile_model:
            setup(["ketamine 10 mg/kg ip"], species="mouse", library=lib)
    err = info.value
    assert type(err) is exc_type, (type(err), str(err))
    msg = str(err)
    assert file in msg and key in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    if isinstance(err, ModelFileError):
        assert err.file.startswith(file) and err.key.startswith(key)
    return err


def test_the_copy_loads_and_has_the_same_hash(models):
    assert load_library(models).hash == load_library().hash


# ------------------------------------------------------------------------------- malformed / missing
def test_malformed_toml(models):
    (models / "pathway.toml").write_text((models / "pathway.toml").read_text(encoding="utf-8") + "\n[[[ not toml\n")
    expect(ModelFileError, models, "pathway.toml", "(file)", "malformed TOML")


def test_malformed_compound_file(models):
    (models / "compounds" / "ketamine.toml").write_text('name = "ketamine\n')
    expect(ModelFileError, models, "ketamine.toml", "(file)", "malformed TOML")


def test_missing_file(models):
    (models / "species.toml").unlink()
    expect(ModelFileError, models, "species.toml", "(file)", "cannot read")


def test_missing_unit(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 4.0, range = [1.0, 20.0], source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate", "missing 'unit'")


def test_missing_source(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 4.0, unit = "1/h" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate", "missing 'source'")


def test_missing_molar_mass(models):
    edit(models / "compounds" / "ketamine.toml", r"^molar_mass = .*\n", "")
    expect(ModelFileError, models, "compounds/ketamine.toml", "molar_mass", "expected a table")


def test_missing_state_ode(models):
    edit(models / "pathway.toml", r'^(\[states\.glutamate\][^\[]*?)^ode = .*\n', r"\1", flags=re.MULTILINE | re.DOTALL)
    expect(ModelFileError, models, "pathway.toml", "states.glutamate.ode", "missing")


def test_missing_systemic_pk(models):
    edit(models / "compounds" / "ketamine.toml", r"^(\[pk\.mouse\]\n)clearance = .*\n", r"\1")
    expect(ModelFileError, models, "compounds/ketamine.toml", "pk.mouse", "missing clearance")


def test_unexpected_field(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 4.0, unit = "1/h", source = "test", rnage = [1, 20] }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate", "unexpected field", "rnage")


def test_species_entry_not_a_table(models):
    (models / "species.toml").write_text('zebrafish = "small"\n' + (models / "species.toml").read_text(encoding="utf-8"))
    expect(ModelFileError, models, "species.toml", "zebrafish", "expected a table")


# ------------------------------------------------------------------------------- numbers and units
def test_non_positive_rate_constant(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = -4.0, unit = "1/h", source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate.value", "positive", "-4.0")


def test_zero_rate_constant(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 0.0, unit = "1/h", source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate.value", "positive")


def test_non_finite_value(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = nan, unit = "1/h", source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate.value", "finite")


def test_value_outside_range(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 40.0, unit = "1/h", range = [1.0, 20.0], source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate.value", "40.0", "outside its range")


def test_range_low_above_high(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 4.0, unit = "1/h", range = [20.0, 1.0], source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate.range", "low 20.0 is above high 1.0")


def test_range_not_a_pair(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 4.0, unit = "1/h", range = [1.0], source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate.range", "[low, high]")


def test_unknown_unit(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 4.0, unit = "1/blorb", source = "test" }')
    expect(ModelFileError, models, "pathway.toml", "parameters.k_glutamate.unit", "'1/blorb'")


def test_a_rate_in_other_time_units_is_converted(models):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 0.1, unit = "1/min", range = [0.01, 1.0], source = "test" }')
    assert load_library(models).pathway.parameters["k_glutamate"].value == pytest.approx(6.0)


@pytest.mark.parametrize(
    "pattern, replacement, key, expected",
    [
        (r'^(clearance = \{ value = [\d.]+, unit = )"L/h/kg"', r'\1"L/h"', "pk.mouse.clearance.unit", "L/h/kg"),
        (r'^(volume = \{ value = [\d.]+, unit = )"L/kg"', r'\1"nM"', "pk.mouse.volume.unit", "L/kg"),
        (r'^(molar_mass = \{ value = [\d.]+, unit = )"g/mol"', r'\1"g"', "molar_mass.unit", "g/mol"),
        (r'^(potency = \{ value = [\d.]+, unit = )"nM"', r'\1"h"', "targets.nmda.potency.unit", "nM"),
    ],
)
def test_inconsistent_units_in_a_compound(models, pattern, replacement, key, expected):
    edit(models / "compounds" / "ketamine.toml", pattern, replacement)
    expect(ModelFileError, models, "compounds/ketamine.toml", key, "wrong dimension", expected)


def test_inconsistent_units_in_species(models):
    edit(models / "species.toml", r'^(body_weight = \{ value = [\d.]+, unit = )"kg"', r'\1"cm"')
    expect(ModelFileError, models, "species.toml", "mouse.body_weight.unit", "wrong dimension", "'kg'")


def test_a_per_kg_number_in_grams_is_converted(models):
    edit(models / "species.toml", r'^body_weight = \{ value = [\d.]+, unit = "kg", range = \[[\d.]+, [\d.]+\]', 'body_weight = { value = 25, unit = "g", range = [18, 35]')
    assert load_library(models).species["mouse"].body_weight.value == pytest.approx(0.025)


# ------------------------------------------------------------------------------- names
def test_unknown_name_in_an_expression_suggests(models):
    edit(models / "pathway.toml", r'^ode = "k_glutamate \*', 'ode = "k_glutamat *')
    err = expect(UnknownNameError, models, "pathway.toml", "states.glutamate", "'k_glutamat'", "Did you mean 'k_glutamate'", compile_model=True)
    assert err.name == "k_glutamat"


def test_unknown_name_in_an_assignment(models):
    edit(models / "pathway.toml", r'^(glutamate_drive = \{ expr = ")', r"\1glutamat_boost * ")
    expect(UnknownNameError, models, "pathway.toml", "assignments.glutamate_drive", "'glutamat_boost'", compile_model=True)


def test_power_written_with_caret(models):
    edit(models / "pathway.toml", r'^ode = "k_glutamate \*', 'ode = "k_glutamate ^ 2 *')
    expect(ModelFileError, models, "pathway.toml", "states.glutamate", "'**'", compile_model=True)


def test_circular_assignments(models):
    edit(models / "pathway.toml", r"^\[assignments\]\n",
         '[assignments]\nloop_a = { expr = "1 + loop_b", unit = "1" }\nloop_b = { expr = "0.5 * loop_a", unit = "1" }\n')
    expect(ModelFileError, models, "pathway.toml", "assignments.loop_", "circular assignment", "loop_a -> loop_b -> loop_a", compile_model=True)


def test_duplicate_name_across_sections(models):
    edit(models / "pathway.toml", r"^\[parameters\]\n", '[parameters]\nglutamate = { value = 1.0, unit = "1", source = "test" }\n')
    expect(ModelFileError, models, "pathway.toml", "parameters.glutamate", "duplicate name", "[states]")


def test_duplicate_key_in_one_table_is_malformed_toml(models):
    edit(models / "pathway.toml", r"^\[parameters\]\n", '[parameters]\nk_glutamate = { value = 1.0, unit = "1/h", source = "test" }\n')
    expect(ModelFileError, models, "pathway.toml", "(file)", "malformed TOML")


def test_duplicate_compound_alias(models):
    edit(models / "compounds" / "esketamine.toml", r"^aliases = \[", 'aliases = ["ketamine", ')
    expect(ModelFileError, models, "compounds/", "aliases", "'ketamine' is already used")


def test_unknown_target_in_a_compound(models):
    edit(models / "compounds" / "ketamine.toml", r"^\[targets\.nmda\]", "[targets.nmdaa]")
    expect(UnknownNameError, models, "compounds/ketamine.toml", "targets.nmdaa", "Did you mean 'nmda'")


def test_unknown_species_in_a_compound(models):
    edit(models / "compounds" / "ketamine.toml", r"^\[pk\.mouse\]", "[pk.mouze]")
    edit(models / "compounds" / "ketamine.toml", r"^\[pk\.mouse\.routes\.ip\]", "[pk.mouze.routes.ip]")
    expect(UnknownNameError, models, "compounds/ketamine.toml", "pk.mouze", "Did you mean 'mouse'")


def test_unknown_route_in_a_compound(models):
    edit(models / "compounds" / "ketamine.toml", r"^\[pk\.mouse\.routes\.sc\]", "[pk.mouse.routes.scc]")
    expect(UnknownNameError, models, "compounds/ketamine.toml", "pk.mouse.routes.scc", "Did you mean 'sc'")


def test_unknown_metabolite(models):
    edit(models / "compounds" / "ketamine.toml", r'^compound = "norketamine"', 'compound = "norketamin"')
    expect(UnknownNameError, models, "compounds/ketamine.toml", "metabolites", "'norketamin'", "Did you mean 'norketamine'")


def test_unknown_parameter_in_a_genotype(models):
    edit(models / "genotypes.toml", r"bdnf_release_efficiency = \{", "bdnf_release_eficiency = {")
    expect(UnknownNameError, models, "genotypes.toml", "multipliers", "Did you mean 'bdnf_release_efficiency'")


# ------------------------------------------------------------------------------- PLASTICITY_MODELS
def test_plasticity_models_points_the_engine_at_a_copy(models, monkeypatch):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = 8.0, unit = "1/h", range = [1.0, 20.0], source = "test" }')
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    assert models_dir() == models.resolve()
    r = simulator.simulate(["ketamine 10 mg/kg ip"], hours=1)
    assert r.provenance["parameters"]["k_glutamate"] == 8.0
    assert r.provenance["model_hash"] != load_library(REPO_MODELS).hash


def test_plasticity_models_broken_copy_in_python_and_cli(models, monkeypatch, capsys):
    set_param(models / "pathway.toml", "k_glutamate", '{ value = -1.0, unit = "1/h", source = "test" }')
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    with pytest.raises(ModelFileError, match="pathway.toml: parameters.k_glutamate.value"):
        simulator.simulate(["ketamine 10 mg/kg ip"], hours=1)
    assert main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--hours", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: pathway.toml: parameters.k_glutamate.value") and len(err.strip().splitlines()) == 1


def test_plasticity_models_not_a_models_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLASTICITY_MODELS", str(tmp_path / "nowhere"))
    with pytest.raises(ModelFileError, match="PLASTICITY_MODELS"):
        load_library()
    assert main(["compounds"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
