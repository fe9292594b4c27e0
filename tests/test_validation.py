"""Validation framework: the target table, each observation kind on synthetic data, and the full validation (marked)."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import ModelFileError
from simulator.validation import targets as V

T = np.linspace(0.0, 10.0, 2001)


ROOT = Path(__file__).resolve().parents[1]


def _split_script():
    sys.path.insert(0, str(ROOT / "scripts"))
    import split_evidence

    return split_evidence


def test_table_loads_and_rows_are_well_formed():
    targets, experiments = V.load_targets()
    # section 10's items 1-19, issue 14's 20-23, issue 19's 24-25, issue 22's 26-40
    assert {t.item for t in targets} == set(range(1, 41))
    for t in targets:
        assert t.confidence in ("R", "C") and t.expected and t.source and t.title
        if t.kind in V.SKIP_KINDS:
            assert t.reason
        else:
            assert t.experiment in experiments
            assert t.kind == "less_than" or t.low <= t.high


def test_evidence_base_size_and_sources():
    """Issue 22: >= 200 targets from >= 50 papers; every target names its paper (a key of the bibliography in
    docs/validation/literature.md) and how its number was read (digitised, read or recalled)."""
    targets, _ = V.load_targets()
    assert len(targets) >= 200
    papers = {t.paper for t in targets}
    assert "" not in papers, [t.id for t in targets if not t.paper]
    assert len(papers) >= 50
    assert all(t.reading in V.READINGS for t in targets), [t.id for t in targets if t.reading not in V.READINGS]
    bib = (ROOT / "docs" / "validation" / "literature.md").read_text(encoding="utf-8")
    entries = set(re.findall(r"^- \*\*(.+?)\*\*", bib.split("## Bibliography", 1)[1], re.M))
    assert papers <= entries, sorted(papers - entries)
    judged = [t for t in targets if t.kind not in V.SKIP_KINDS]
    assert len(judged) >= 0.9 * len(targets)  # most targets are judgeable, not "unavailable" or "out of scope"


def test_split_is_by_whole_paper_and_reproducible():
    """The split: >= 35% of papers and of targets in the prediction set, by whole paper, and the committed sets are what
    scripts/split_evidence.py draws again from its record (seed 20261207)."""
    split = _split_script()
    record = split.load_record()
    assert record["seed"] == 20261207 and record["date"] == "2026-12-07"
    chosen = split.redo(record)
    assert chosen == list(record["prediction"])
    counts = dict(record["papers"])
    assert len(chosen) >= 0.35 * len(counts)
    assert sum(counts[p] for p in chosen) >= 0.35 * sum(counts.values())
    targets, _ = V.load_targets()
    for t in targets:
        assert t.set == ("prediction" if t.paper in chosen else "calibration"), t.id
    for paper in {t.paper for t in targets}:
        assert len({t.set for t in targets if t.paper == paper}) == 1, paper
    pred = sum(t.set == "prediction" for t in targets)
    assert pred >= 0.35 * len(targets)
    assert split.main([]) == 0


def test_split_draw_is_seeded():
    split = _split_script()
    counts = {f"Author {i} 20{i:02d}": 1 + i % 4 for i in range(40)}
    a, order = split.draw(counts, seed=1)
    assert (a, order) == split.draw(counts, seed=1) and a == order[: len(a)]
    assert len(a) >= 14 and sum(counts[p] for p in a) >= 0.35 * sum(counts.values())
    assert split.draw(counts, seed=2)[1] != order


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "validation.toml"
    p.write_text('[experiments.e]\nregimen = []\nspecies = "mouse"\nhours = 1\n\n' + text)
    return p


GOOD = '[[targets]]\nid = "x1"\nitem = 1\ntitle = "t"\nconfidence = "R"\nexpected = "e"\nsource = "s"\nexperiment = "e"\n'


@pytest.mark.parametrize(
    "extra, key",
    [
        ('kind = "peak"\ncolumn = "glutamate"\n', "range"),
        ('kind = "peak"\nrange = [1, 2]\n', "column"),
        ('kind = "nonsense"\nrange = [1, 2]\n', "kind"),
        ('kind = "peak"\ncolumn = "glutamate"\nrange = [3, 2]\n', "range"),
        ('kind = "peak_time"\ncolumn = "glutamate"\nrange = [1, 2]\nunit = "fortnight"\n', "unit"),
        ('kind = "peak"\ncolumn = "glutamate"\nrange = [1, 2]\nbogus = 1\n', "bogus"),
        ('kind = "out_of_scope"\n', "reason"),
        ('kind = "peak"\ncolumn = "glutamate"\nrange = [1, 2]\nreading = "guessed"\n', "reading"),
        ('kind = "curve"\ncolumn = "glutamate"\nrange = [0.5, 1]\ntimes_h = [1, 2]\nvalues = [1]\nerrors = [0.1]\n', "values"),
        ('kind = "curve"\ncolumn = "glutamate"\nrange = [0.5, 1]\ntimes_h = [1]\nvalues = [1]\nerrors = [0.1]\ncompare = "odd"\n', "compare"),
    ],
)
def test_malformed_row_names_row_and_key(tmp_path, extra, key):
    with pytest.raises(ModelFileError) as err:
        V.load_targets(_write(tmp_path, GOOD + extra))
    assert "x1" in str(err.value) and key in str(err.value)


def test_unknown_experiment_and_bad_confidence(tmp_path):
    with pytest.raises(ModelFileError, match="unknown experiment"):
        V.load_targets(_write(tmp_path, GOOD.replace('experiment = "e"', 'experiment = "zz"') + 'kind = "peak"\ncolumn = "a"\nrange = [0, 1]\n'))
    with pytest.raises(ModelFileError, match="confidence"):
        V.load_targets(_write(tmp_path, GOOD.replace('"R"', '"maybe"') + 'kind = "peak"\ncolumn = "a"\nrange = [0, 1]\n'))


# ------------------------------------------------------------------------------------------ observation kinds, known answers
def test_halflife_of_exponential():
    x = 100 * np.exp(-math.log(2) * T / 1.5)
    assert V.halflife(T, x) == pytest.approx(1.5, rel=1e-3)
    assert V.halflife(T, x, window=[2, 8]) == pytest.approx(1.5, rel=1e-3)
    assert math.isnan(V.halflife(T, np.ones_like(T)))


def test_halflife_after_absorption_peak():
    ka, ke = 5.0, math.log(2) / 2.0
    x = (np.exp(-ke * T) - np.exp(-ka * T))
    assert V.halflife(T, x, window=[4, 10]) == pytest.approx(2.0, rel=1e-3)


def test_peak_peak_time_value_at_fraction():
    x = 1 + 2 * np.exp(-((T - 3) ** 2))
    assert V.peak(T, x) == pytest.approx(3.0)
    assert V.peak_time(T, x) == pytest.approx(3.0)
    assert V.peak_time(T, x, window=[5, 10]) == pytest.approx(5.0)
    assert V.value_at(T, x, 3.0) == pytest.approx(3.0)
    assert V.fraction_of_peak_at(T, x, 3.0 + math.sqrt(math.log(2)), baseline=1.0) == pytest.approx(0.5, rel=1e-3)


def test_return_time():
    x = 1 + 2 * np.exp(-T)  # peak 3 at t = 0, below 1.2 when 2 e^-t = 0.2
    assert V.return_time(T, x, threshold=1.2) == pytest.approx(math.log(10), rel=1e-4)
    assert V.return_time(T, x, threshold_fraction=0.5, from_h=1.0) == pytest.approx(math.log(4) - 1.0, rel=1e-3)
    assert math.isnan(V.return_time(T, x, threshold=0.5))


def test_curve_fraction():
    t = np.linspace(0.0, 10.0, 101)
    x = 1 + np.exp(-t)
    times, values = [0.0, 1.0, 5.0], [2.0, 1.37, 1.0]
    assert V.curve_fraction(t, x, times, values, [0.01, 0.01, 0.01]) == pytest.approx(1.0)
    assert V.curve_fraction(t, x, times, [2.0, 1.6, 1.0], [0.01, 0.1, 0.01]) == pytest.approx(2 / 3)
    assert V.curve_fraction(t, x, times, [2.0, 1.6, 1.0], [0.01, 0.1, 0.01], error_factor=3) == pytest.approx(1.0)
    assert V.curve_fraction(t, x, [1.0], [50.0], [1.0], vehicle=np.full_like(t, 0.9), compare="pct_vehicle") == pytest.approx(0.0)
    assert V.curve_fraction(t, x, [0.0, 10.0], [1.0, 0.0], [0.01, 0.01], compare="fraction_of_peak_excess") == pytest.approx(0.0)
    y = 1 + t * np.exp(-t)  # peak at t = 1
    assert V.curve_fraction(t, y, [0.0, 1.0], [0.0, 1.0], [0.01, 0.01], compare="fraction_of_peak_excess") == pytest.approx(1.0)


def test_drift_auc_ec50():
    assert V.max_abs_drift_pct(T, 1 + 0.01 * T) == pytest.approx(10.0)
    assert V.auc(T, np.full_like(T, 2.0)) == pytest.approx(20.0)
    c = np.logspace(-2, 3, 40)
    assert V.ec50(c, c / (c + 1.7)) == pytest.approx(1.7, rel=0.05)
    assert V.ec50(c, c / (c + 1.7), level=0.5) == pytest.approx(1.7, rel=0.02)


class FakeRunner:
    """Synthetic time courses: a drug run, a reference run and a vehicle."""

    def __init__(self):
        t = T
        self.tc = {
            "drug": pd.DataFrame({"time_h": t, "spine_density": 1.0 + 0.4 * (1 - np.exp(-t)), "x_plasma_nM": 1000 * np.exp(-t)}),
            "half": pd.DataFrame({"time_h": t, "spine_density": 1.0 + 0.2 * (1 - np.exp(-t)), "x_plasma_nM": 500 * np.exp(-t)}),
        }

    def run(self, name, c=None):
        if c is not None:
            return pd.DataFrame({"time_h": T, "occ": np.full_like(T, c / (c + 300.0))})
        return self.tc[name]

    def vehicle(self, name):
        return pd.DataFrame({"time_h": T, "spine_density": np.ones_like(T), "x_plasma_nM": np.zeros_like(T)})

    def molar_mass(self, compound):
        return 250.0


def test_composite_kinds_on_fake_runner():
    r = FakeRunner()
    gain = {"kind": "change_pct", "column": "spine_density", "at_h": 10}
    assert V.observe(gain, "drug", r) == pytest.approx(40 * (1 - math.exp(-10)), rel=1e-6)
    assert V.observe({"kind": "ratio_to_reference", "metric": gain, "reference": "drug"}, "half", r) == pytest.approx(0.5)
    assert V.observe({"kind": "less_than", "metric": gain, "reference": "drug"}, "half", r) < 0
    assert V.observe({"kind": "excess_at", "column": "spine_density", "at_h": 10}, "drug", r) == pytest.approx(0.4, rel=1e-3)
    assert V.observe({"kind": "conc_ng_ml", "compound": "x", "at_h": 0}, "drug", r) == pytest.approx(250.0)
    assert V.observe({"kind": "peak_time", "column": "x_plasma_nM"}, "drug", r, "min") == pytest.approx(0.0)
    assert V.observe({"kind": "halflife", "column": "x_plasma_nM"}, "drug", r, "min") == pytest.approx(60 * math.log(2), rel=1e-3)
    assert V.observe({"kind": "tau", "column": "x_plasma_nM"}, "drug", r, "h") == pytest.approx(1.0, rel=1e-3)
    conc = {"kind": "ec50", "column": "occ", "concentrations": list(np.logspace(0, 5, 60)), "at_h": 0.5, "level": 0.5}
    assert V.observe(conc, "series", r, "uM") == pytest.approx(0.3, rel=0.02)
    window = {"kind": "change_pct", "column": "spine_density", "window": [0, 10], "stat": "max"}
    assert V.observe(window, "drug", r) == pytest.approx(40 * (1 - math.exp(-10)), rel=1e-3)


def test_judge_statuses():
    t = V.Target("a", 1, "t", "R", "peak", "e", "s", low=1.0, high=2.0)
    assert V._judge(t, 1.5)[0] == "pass"
    assert V._judge(t, 2.5) == ("miss", "2.5 is above the accepted range [1, 2]")
    assert V._judge(t, math.nan)[0] == "miss"


def test_validate_subset_missing_compound_and_skips(tmp_path):
    p = tmp_path / "v.toml"
    p.write_text(
        '[experiments.nope]\nregimen = ["unobtainium 1 mg/kg ip"]\nspecies = "mouse"\nhours = 1\n\n'
        '[[targets]]\nid = "1a"\nitem = 1\ntitle = "t"\nconfidence = "R"\nexpected = "e"\nsource = "s"\nexperiment = "nope"\n'
        'kind = "peak"\ncolumn = "glutamate"\nrange = [1, 2]\n\n'
        '[[targets]]\nid = "2a"\nitem = 2\ntitle = "swim"\nconfidence = "C"\nexpected = "e"\nsource = "s"\nkind = "out_of_scope"\nreason = "behaviour"\n'
    )
    df = simulator.validate(path=p)
    assert list(df.columns) == V.COLUMNS
    assert df.set_index("id")["status"].to_dict() == {"1a": "not run", "2a": "out of scope"}
    assert "unobtainium" in df.set_index("id").loc["1a", "note"]
    assert list(simulator.validate(["2"], path=p)["id"]) == ["2a"]
    with pytest.raises(simulator.UnknownNameError):
        simulator.validate(["99z"], path=p)


def test_validate_runs_one_real_item_and_reports(tmp_path):
    details: dict = {}
    df = simulator.validate(["16"], _details=details)
    assert set(df["id"]) == {"16a", "16b", "16c"}
    assert df["status"].isin(["pass", "miss"]).all() and df["simulated"].notna().all()
    assert len(details["runner"].cache) == 1  # the three rows share one vehicle run
    from simulator.validation.report import write_report

    md, png = write_report(df, details["runner"], tmp_path)
    assert "16a" in md.read_text(encoding="utf-8") and png.stat().st_size > 1000


def test_cli_validate_exit_codes(tmp_path, capsys):
    from simulator.cli import main

    assert main(["validate", "--ids", "16c", "2c"]) == 0
    out = capsys.readouterr().out
    assert "16c" in out and "out of scope" in out
    assert main(["validate", "--ids", "nonexistent"]) == 2


KNOWN_R_MISSES: set[str] = set()


@pytest.mark.validation
@pytest.mark.xfail(strict=True, reason="issue 22's bar is not met yet (at 2026-12-08: calibration 93% of 193 judged and prediction 93% "
                   "meet it, but one (R) target misses: 17c, in the README's limits); strict, so the mark must go when the model meets it")
def test_full_validation_meets_the_bar():
    """Issue 22's bar: every (R) target passes, >= 90% of the calibration set and >= 80% of the prediction set pass, and
    the only targets not run are those the file marks unavailable (a compound, genotype or readout the model lacks)."""
    df = simulator.validate()
    targets, _ = V.load_targets()
    unavailable = {t.id for t in targets if t.kind == "unavailable"}
    assert set(df.loc[df["status"] == "not run", "id"]) == unavailable
    r_miss = df[(df["confidence"] == "R") & (df["status"] == "miss")]
    assert set(r_miss["id"]) <= KNOWN_R_MISSES, "(R) targets missing:\n" + r_miss[["id", "title", "simulated", "note"]].to_string()
    rates = V.pass_rates(df)
    for name, bar in (("calibration", 0.9), ("prediction", 0.8)):
        passed, judged = rates[name]
        assert passed >= bar * judged, f"{name}: {passed} of {judged} pass, below {bar:.0%}"


@pytest.mark.slow
@pytest.mark.validation
def test_calibration_fits_the_calibration_set_only():
    """scripts/calibrate.py never evaluates a prediction-set target."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import calibrate

    ids = calibrate.calibration_ids(calibrate.CULTURE_ITEMS + calibrate.INVIVO_ITEMS)
    targets, _ = V.load_targets()
    sets = {t.id: t.set for t in targets}
    assert ids and all(sets[i] == "calibration" for i in ids)


def test_preexisting_elimination_follows_the_cohort_exactly():
    """Constant rates: the cohort's pools follow the closed-form solution of new -> maturing -> stable."""
    t = np.linspace(0.0, 240.0, 41)
    kn, st, km, kc, ks = 0.3, 0.1, 0.05, 0.006, 0.0002  # per day
    n0, m0, s0 = 0.0125, 0.0224, 0.9651
    tc = pd.DataFrame({"time_h": t, "new_spine_loss_rate": kn, "spine_stabilisation_rate": st, "maturing_spine_loss_rate": km,
                       "spine_consolidation_rate": kc, "stable_spine_loss_rate": ks, "spine_new": n0, "spine_maturing": m0, "spine_stable": s0})
    times, rate = V.preexisting_elimination(tc)
    from scipy.integrate import solve_ivp

    mat = np.array([[-(kn + st), 0.0, 0.0], [st, -(km + kc), 0.0], [0.0, kc, -ks]])
    sol = solve_ivp(lambda _t, y: mat @ y, (0.0, 10.0), [n0, m0, s0], t_eval=times / 24.0, rtol=1e-12, atol=1e-15)
    n, m, s = sol.y
    np.testing.assert_allclose(rate, (kn * n + km * m + ks * s) / (n + m + s), rtol=1e-8)
    assert rate[0] == pytest.approx(kn * n0 + km * m0 + ks * s0)
    assert np.all(np.diff(rate) < 0)  # the labile part of the cohort is used up; nothing new joins it


def test_vehicle_preexisting_elimination_starts_at_the_population_rate():
    """At the first time the cohort is the whole population, so its loss is the instantaneous elimination of all spines."""
    tc = simulator.simulate([], species="mouse", hours=48).timecourse
    _, rate = V.preexisting_elimination(tc)
    assert rate[0] == pytest.approx(tc["spine_elimination_flux"].iloc[0], rel=1e-9)


def test_imaging_counts_far_less_turnover_than_happens():
    """Labile spines born and lost between two sessions weeks apart are never seen: at rest the imaging-counted
    formation and elimination match each other and sit far below the instantaneous turnover (Zuo 2005 vs Holtmaat 2005)."""
    tc = simulator.simulate([], species="mouse", hours=1).timecourse.iloc[0]
    assert tc["spine_formation_rate"] == pytest.approx(tc["spine_elimination_rate"], rel=0.3)
    assert tc["spine_formation_rate"] < 0.1 * tc["spine_formation_flux"]
    assert tc["spine_elimination_rate"] < 0.1 * tc["spine_elimination_flux"]


def test_a_drug_leaves_the_fate_of_pre_existing_spines_alone():
    """Ketamine's new spines are stabilised as they form; the spines present at the dose keep their resting fate."""
    dosed = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=72).timecourse
    vehicle = simulator.simulate([], species="mouse", hours=72).timecourse
    _, drug_rate = V.preexisting_elimination(dosed)
    _, vehicle_rate = V.preexisting_elimination(vehicle)
    np.testing.assert_allclose(drug_rate, vehicle_rate, rtol=1e-6)
    assert dosed["spine_maturing"].iloc[-1] > 1.5 * vehicle["spine_maturing"].iloc[-1]
