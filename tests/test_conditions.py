"""Conditions (models/conditions.toml) and 5-HT2A adaptation (issue 19).

Relations are asserted, not stored numbers: a stressed animal against an unstressed one, a rescue
against the loss, day 4 against day 1. The same quantities are validation targets 24a-25c.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator import ModelFileError, PlasticityError, UnknownNameError, load_library
from simulator.cli import main
from simulator.validation.targets import load_targets

REPO_MODELS = Path(__file__).resolve().parent.parent / "models"
STRESS = "chronic_stress"


def density0(condition: str = "none", species: str = "rat", **kw) -> float:
    return float(simulator.simulate([], species=species, hours=1, condition=condition, **kw).timecourse["spine_density"].iloc[0])


# ------------------------------------------------------------------------------------------ the file and the names
def test_conditions_file_every_multiplier_sourced_with_range():
    lib = load_library()
    assert {"none", STRESS, "chronic_corticosterone"} <= set(lib.conditions)
    assert lib.conditions["none"].multipliers == {}
    for c in lib.conditions.values():
        for name, m in c.multipliers.items():
            assert name in lib.pathway.parameters, name
            assert m.source and m.range is not None and m.range[0] <= m.value <= m.range[1], (c.name, name)
            assert m.value != 1.0, f"{c.name}.{name} changes nothing"


def test_new_pathway_parameters_have_unit_range_source():
    params = load_library().pathway.parameters
    for name in ("bdnf_expression", "mtorc1_capacity", "mature_spine_loss_factor", "k_ht2a_downregulation",
                 "k_ht2a_recovery", "k_ht2a_downregulation_lag", "ht2a_min_available"):
        p = params[name]
        assert p.unit and p.source and p.range is not None, name


def test_unknown_condition_is_a_typed_error_with_a_suggestion():
    with pytest.raises(UnknownNameError, match="Did you mean 'chronic_stress'"):
        simulator.simulate([], condition="chronic_stres", hours=1)
    with pytest.raises(PlasticityError, match="condition: expected a condition name"):
        simulator.simulate([], condition=3, hours=1)  # type: ignore[arg-type]


def test_cli_unknown_condition_exit_2_one_line(capsys):
    assert main(["simulate", "--condition", "chronic_stres", "--hours", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "chronic_stress" in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_condition_runs_and_says_so(capsys):
    assert main(["simulate", "--species", "rat", "--condition", "cus", "--hours", "24"]) == 0
    assert "condition chronic_stress" in capsys.readouterr().out


def test_alias_and_provenance():
    r = simulator.simulate([], species="rat", hours=1, condition="CUS")
    assert r.provenance["condition"] == STRESS
    assert r.provenance["parameters"]["condition_severity"] == 1.0
    assert r.provenance["parameters"]["condition_mature_spine_loss_factor"] > 1
    assert simulator.simulate([], hours=1).provenance["condition"] == "none"


def test_condition_none_changes_nothing():
    a = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=26)
    b = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=26, condition="none")
    assert a.timecourse.equals(b.timecourse)
    assert "condition_severity" not in a.provenance["parameters"]


def test_a_models_folder_without_conditions_has_only_none(tmp_path):
    dst = tmp_path / "models"
    shutil.copytree(REPO_MODELS, dst)
    (dst / "conditions.toml").unlink()
    lib = load_library(dst)
    assert list(lib.conditions) == ["none"]
    with pytest.raises(UnknownNameError):
        lib.condition(STRESS)


@pytest.mark.parametrize("text, words", [
    ('[x]\nmultipliers = { bdnf_expresion = { value = 0.9, unit = "1", source = "s" } }\n', ["Did you mean 'bdnf_expression'"]),
    ('[x]\nmultipliers = { bdnf_expression = { value = 0.9, unit = "1" } }\n', ["conditions.toml", "x.multipliers.bdnf_expression", "source"]),
    ('[x]\nmultipliers = { bdnf_expression = { value = -1, unit = "1", source = "s" } }\n', ["conditions.toml", "positive"]),
    ('[none]\nmultipliers = { bdnf_expression = { value = 0.9, unit = "1", source = "s" } }\n', ["none.multipliers", "changes nothing"]),
    ('[x]\nseverity = 2\n', ["unexpected key", "severity"]),
    ('[x]\naliases = ["cort"]\n[y]\naliases = ["cort"]\n', ["already used"]),
])
def test_a_broken_conditions_file_is_a_clear_error(tmp_path, text, words):
    dst = tmp_path / "models"
    shutil.copytree(REPO_MODELS, dst)
    (dst / "conditions.toml").write_text(text)
    with pytest.raises(PlasticityError) as info:
        load_library(dst)
    assert all(w in str(info.value) for w in words), str(info.value)


# ------------------------------------------------------------------------------------------ the stressed state
def test_stress_lowers_density_and_synaptic_protein_and_is_a_steady_state():
    base = density0()
    r = simulator.simulate([], species="rat", hours=72, condition=STRESS)
    tc = r.timecourse
    assert 0.6 <= tc["spine_density"].iloc[0] / base <= 0.9  # 10-40% below the unstressed baseline
    assert tc["synaptic_protein"].iloc[0] < 0.95 and tc["bdnf"].iloc[0] < 1 and tc["mtorc1"].iloc[0] < 1
    assert np.ptp(tc["spine_density"]) / tc["spine_density"].iloc[0] < 1e-6  # the vehicle stays flat
    assert tc["spine_elimination_rate"].iloc[0] > simulator.simulate([], species="rat", hours=1).timecourse["spine_elimination_rate"].iloc[0]


def test_chronic_corticosterone_lowers_density_in_mouse():
    assert density0("chronic_corticosterone", "mouse") < 0.95 * density0("none", "mouse")


def test_severity_grades_the_condition_and_zero_is_none():
    base, full = density0(), density0(STRESS)
    half = density0(STRESS, params={"condition_severity": 0.5})
    zero = density0(STRESS, params={"condition_severity": 0.0})
    assert zero == pytest.approx(base, rel=1e-9)
    assert full < half < base


def test_genotype_and_condition_compose():
    mm = density0("none", "mouse", genotype="met/met")
    assert density0(STRESS, "mouse", genotype="met/met") < min(mm, density0(STRESS, "mouse"))


def test_the_vehicle_of_a_graded_condition_is_the_same_condition():
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=25, condition=STRESS, params={"condition_severity": 0.5})
    v = r.vehicle
    assert v.provenance["condition"] == STRESS and v.provenance["parameters"]["condition_severity"] == 0.5
    assert v.timecourse["spine_density"].iloc[0] == pytest.approx(r.timecourse["spine_density"].iloc[0], rel=1e-9)


# ------------------------------------------------------------------------------------------ rescue
@pytest.fixture(scope="module")
def rescue():
    runs = {
        "veh": simulator.simulate([], species="rat", hours=26),
        "veh_s": simulator.simulate([], species="rat", hours=26, condition=STRESS),
        "ket": simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=26),
        "ket_s": simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=26, condition=STRESS),
        "rapa_s": simulator.simulate(["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"], species="rat", hours=26, condition=STRESS),
    }
    return {k: r.at("spine_density", 24) for k, r in runs.items()}


def test_ketamine_recovers_at_least_half_of_the_stress_loss_by_24h(rescue):
    lost = rescue["veh"] - rescue["veh_s"]
    assert lost > 0
    assert rescue["ket_s"] - rescue["veh_s"] >= 0.5 * lost


def test_rapamycin_leaves_at_most_a_quarter_of_the_rescue(rescue):
    assert rescue["rapa_s"] - rescue["veh_s"] <= 0.25 * (rescue["ket_s"] - rescue["veh_s"])


def test_rescue_in_stressed_rats_at_least_the_unstressed_gain(rescue):
    assert rescue["ket_s"] - rescue["veh_s"] >= rescue["ket"] - rescue["veh"] > 0


# ------------------------------------------------------------------------------------------ 5-HT2A adaptation
def day_peaks(regimen, days, hours):
    r = simulator.simulate(regimen, species="mouse", hours=hours, times=np.round(np.arange(0, hours + 1e-9, 1 / 60), 6))
    tc = r.timecourse
    return [float(tc.loc[(tc.time_h >= 24 * d) & (tc.time_h < 24 * d + 8), "hallucinogenic_signal"].max()) for d in days], r


def test_daily_lsd_builds_tolerance_and_loses_it_after_two_weeks():
    p, r = day_peaks(["lsd 0.1 mg/kg ip daily for 4 days"], range(4), 80)
    assert p[0] > p[1] > p[2] > p[3]
    assert p[3] <= 0.5 * p[0]
    assert r.timecourse["ht2a_available"].min() < 0.6
    q, _ = day_peaks(["lsd 0.1 mg/kg ip daily for 4 days", "lsd 0.1 mg/kg ip at 408 h"], [0, 17], 416)
    assert q[1] >= 0.8 * q[0]


def test_cross_tolerance_lsd_then_psilocybin():
    (naive,), _ = day_peaks(["psilocybin 1 mg/kg ip"], [0], 8)
    (after,), _ = day_peaks(["lsd 0.1 mg/kg ip daily for 3 days", "psilocybin 1 mg/kg ip at 72 h"], [3], 80)
    assert after <= 0.6 * naive


def test_one_dose_barely_changes_its_own_peak():
    """Receptor loss lags the drug (k_ht2a_downregulation_lag): the first peak is within 2% of a run without adaptation."""
    (with_,), _ = day_peaks(["lsd 0.1 mg/kg ip"], [0], 8)
    r = simulator.simulate(["lsd 0.1 mg/kg ip"], species="mouse", hours=8, times=np.round(np.arange(0, 8 + 1e-9, 1 / 60), 6),
                           params={"k_ht2a_downregulation": 1e-9})
    assert with_ == pytest.approx(r.timecourse["hallucinogenic_signal"].max(), rel=0.02)


def test_drugs_without_5ht2a_agonism_leave_the_receptors_alone():
    for reg in (["ketamine 10 mg/kg ip"], ["ketanserin 1 mg/kg ip"]):
        tc = simulator.simulate(reg, species="mouse", hours=24).timecourse
        assert np.allclose(tc["ht2a_available"], 1.0)


# ------------------------------------------------------------------------------------------ sweeps and validation
def test_condition_as_a_sweep_axis_and_severity_as_a_variable():
    df = simulator.sweep([], species="rat", hours=2, condition=["none", STRESS], vary={"k_akt": [197.9]})
    assert list(df["condition"]) == ["none", STRESS] and list(df["member"]) == [0, 1] and (df["status"] == "ok").all()
    sev = simulator.sweep(["ketamine 10 mg/kg ip"], species="rat", hours=25, condition=STRESS, vary={"condition_severity": [0.0, 1.0]})
    assert (sev["status"] == "ok").all()
    with pytest.raises(UnknownNameError, match="Did you mean 'chronic_stress'"):
        simulator.sweep([], species="rat", hours=2, condition=["none", "chronic_stres"])
    with pytest.raises(PlasticityError, match="twice"):
        simulator.sweep([], species="rat", hours=2, condition=["cus", STRESS])


def test_validation_experiments_take_a_condition(tmp_path):
    targets, experiments = load_targets()
    assert experiments["vehicle_rat_cus"].condition == STRESS
    assert {t.id for t in targets} >= {"24a", "24d", "24e", "24f", "25a", "25b", "25c"}
    text = (REPO_MODELS / "validation.toml").read_text(encoding="utf-8").replace('condition = "chronic_stress"\n', 'condition = "chronic_stres"\n', 1)
    bad = tmp_path / "validation.toml"
    bad.write_text(text)
    df = simulator.validate(["24a"], path=bad)
    assert df["status"].iloc[0] == "not run" and "Did you mean 'chronic_stress'" in df["note"].iloc[0]
    bad.write_text(text.replace('reference = "vehicle_rat_cus" }', 'reference = "no_such_experiment" }'))
    with pytest.raises(ModelFileError, match="no_such_experiment"):
        load_targets(bad)
