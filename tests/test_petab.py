"""PEtab in and out: to_petab writes a problem the petab linter accepts, and fit(petab=...) recovers
known parameters of a synthetic problem made from the current model (truth inside each profile interval)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.analysis.fit import Experiment

petab = pytest.importorskip("petab.v1")
pytest.importorskip("libsbml")

EXPERIMENTS = {"rat 10": Experiment(["ketamine 10 mg/kg ip"], species="rat"), "rat 30": Experiment(["ketamine 30 mg/kg ip"], species="rat")}
TRUE = {"k_mtorc1": 5.0, "mtorc1_max_fold": 6.0}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """mTORC1 (% vs vehicle), brain ketamine (absolute, 5 % noise) and spine gain, two doses, seeded noise."""
    rng = np.random.default_rng(0)
    rows = []
    for name, e in EXPERIMENTS.items():
        r = simulator.simulate(list(e.regimen), species=e.species, hours=24, params=TRUE, times=[0, 0.5, 1, 2, 4, 8, 24])
        for t in (0.5, 1, 2, 4, 8):
            pct = 100 * (r.at("mtorc1", t) / r.vehicle.at("mtorc1", t) - 1)
            rows.append({"experiment": name, "time_h": t, "readout": "mtorc1", "scale": "pct_vs_vehicle", "value": pct + rng.normal(0, 3), "sem": 3.0})
            c = r.at("ketamine_brain_nM", t)
            rows.append({"experiment": name, "time_h": t, "readout": "ketamine_brain_nM", "value": c * (1 + rng.normal(0, 0.05)), "sem": 0.05 * c})
        for t in (8, 24):
            rows.append({"experiment": name, "time_h": t, "readout": "spine_gain", "value": r.spine_gain(t) + rng.normal(0, 0.5), "sem": 0.5})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def problem(data, tmp_path_factory):
    return simulator.to_petab(tmp_path_factory.mktemp("petab"), data, list(TRUE), experiments=EXPERIMENTS)


def test_to_petab_passes_the_petab_linter(problem):
    prob = petab.Problem.from_yaml(str(problem))
    assert petab.lint_problem(prob) is False  # False: no errors found
    assert set(prob.parameter_df.index[prob.parameter_df.estimate == 1]) == set(TRUE)
    assert set(prob.condition_df.index) == {"rat_10", "rat_30"}


def test_fit_petab_recovers_the_truth_inside_profile_intervals_and_agrees_with_fit(problem, data):
    f = simulator.fit(petab=problem)
    assert f.success
    for name, v in TRUE.items():
        lo, hi = f.ci[name]
        assert f.profiles[name].identifiable
        assert lo <= v <= hi, (name, v, f.ci[name])
    direct = simulator.fit(data, list(TRUE), experiments=EXPERIMENTS, profiles=False)
    for name in TRUE:  # the same problem on the loop directly: the same optimum
        assert f.params[name] == pytest.approx(direct.params[name], rel=1e-3)


def test_petab_export_refusals_name_the_problem(data, tmp_path):
    with pytest.raises(simulator.PlasticityError, match="sd or sem"):
        simulator.to_petab(tmp_path, data.drop(columns="sem"), list(TRUE), experiments=EXPERIMENTS)
    with pytest.raises(simulator.PlasticityError, match="t >= 0"):
        simulator.to_petab(tmp_path, data, ["k_mtorc1"], experiments={**EXPERIMENTS, "rat 10": Experiment(["ketamine 10 mg/kg ip at -1 h"], species="rat")})
    with pytest.raises(simulator.PlasticityError, match="no data or experiments"):
        simulator.fit(data, petab=tmp_path / "problem.yaml")
    with pytest.raises(simulator.PlasticityError, match="not a file"):
        simulator.fit(petab=tmp_path / "missing.yaml")


def test_fit_petab_runs_a_problem_on_another_sbml_model(tmp_path):
    """Not the loop: a two-species Antimony model with a dose event, its PEtab tables written here, log10 parameters."""
    antimony = pytest.importorskip("antimony")
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString("""
        J1: A -> B; ka*A
        J2: B -> ; kb*B
        A = 0; B = 0; ka = 1.5; kb = 0.3; dose = 10
        E1: at time >= 1: A = A + dose
    """) >= 0
    (tmp_path / "model.xml").write_text(antimony.getSBMLString(antimony.getMainModuleName()))
    true = {"ka": 0.8, "kb": 0.2}
    times = np.array([1.5, 2.0, 3.0, 5.0, 8.0, 12.0])
    b = 10 * true["ka"] / (true["ka"] - true["kb"]) * (np.exp(-true["kb"] * (times - 1)) - np.exp(-true["ka"] * (times - 1)))
    rng = np.random.default_rng(5)
    pd.DataFrame({"observableId": "obs_B", "simulationConditionId": "c0", "time": times, "measurement": b + rng.normal(0, 0.1, len(b)),
                  "noiseParameters": 0.1}).to_csv(tmp_path / "measurements.tsv", sep="\t", index=False)
    pd.DataFrame({"conditionId": ["c0"], "dose": [10.0]}).to_csv(tmp_path / "conditions.tsv", sep="\t", index=False)
    pd.DataFrame({"observableId": ["obs_B"], "observableFormula": ["B"], "noiseFormula": ["noiseParameter1_obs_B"]}).to_csv(
        tmp_path / "observables.tsv", sep="\t", index=False)
    pd.DataFrame({"parameterId": ["ka", "kb"], "parameterScale": "log10", "lowerBound": [0.01, 0.01], "upperBound": [10.0, 10.0],
                  "nominalValue": [1.5, 0.3], "estimate": 1}).to_csv(tmp_path / "parameters.tsv", sep="\t", index=False)
    (tmp_path / "problem.yaml").write_text("format_version: 1\nparameter_file: parameters.tsv\nproblems:\n  - sbml_files: [model.xml]\n"
                                           "    condition_files: [conditions.tsv]\n    measurement_files: [measurements.tsv]\n"
                                           "    observable_files: [observables.tsv]\n")
    assert petab.lint_problem(petab.Problem.from_yaml(str(tmp_path / "problem.yaml"))) is False
    f = simulator.fit(petab=tmp_path / "problem.yaml")
    for name, v in true.items():
        lo, hi = f.ci[name]
        assert lo <= v <= hi and f.profiles[name].identifiable, (name, v, f.ci[name])
