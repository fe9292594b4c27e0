"""Issue 15, a newcomer's first hour: clinical schedules, plain files, quick commands, one name per quantity."""

from __future__ import annotations

import pytest

import simulator
from simulator import RegimenError, parse_dose


# ---------------------------------------------------------------- clinical schedules in the grammar
@pytest.mark.parametrize(
    "text, count, every_h",
    [
        ("ketamine 10 mg/kg ip daily for 14 d", 14, 24.0),
        ("esketamine 56 mg intranasal twice weekly for 4 weeks", 8, 84.0),
        ("esketamine 56 mg intranasal every 3.5 d for 4 weeks", 8, 84.0),
        ("psilocybin 1 mg/kg ip weekly x 4", 4, 168.0),
        ("fluoxetine 10 mg/kg oral once daily for 28 days", 28, 24.0),
        ("ketamine 10 mg/kg ip every 5 d for 2 weeks", 3, 120.0),  # starts at 0, 5 and 10 d fall within 14 d
        ("ketamine 10 mg/kg ip every other day x 3", 3, 48.0),
        ("ketamine 10 mg/kg ip twice daily for 2 d", 4, 12.0),
    ],
)
def test_clinical_schedules_read_as_meant(text, count, every_h):
    d = parse_dose(text)
    assert d.count == count and d.every_h == every_h and d.over_h is None
    assert len(d.times_h) == count
    assert parse_dose(str(d)) == d  # the canonical text reads back to the same dose


def test_for_before_a_repetition_is_still_an_infusion_or_a_bath():
    assert parse_dose("lsd 10 nM bath for 15 min").over_h == pytest.approx(0.25)
    d = parse_dose("ketamine 0.5 mg/kg iv over 40 min twice weekly for 2 weeks")
    assert d.over_h == pytest.approx(40 / 60) and d.count == 4
    d = parse_dose("ketamine 10 mg/kg ip at 2 h daily for 3 d")
    assert d.times_h == [2.0, 26.0, 50.0]


@pytest.mark.parametrize(
    "text, words",
    [
        ("ketamine 10 mg/kg ip daily", ["how many doses", "daily for 14 d", "daily x 14"]),
        ("ketamine 10 mg/kg ip daily x 3 for 3 d", ["not both"]),
        ("ketamine 10 mg/kg ip daily weekly x 2", ["given twice"]),
        ("ketamine 10 mg/kg ip daily for 0 d", ["must be positive"]),
        ("ketamine 10 mg/kg ip daily for 2 d for 3 d", ["given twice"]),
    ],
)
def test_schedule_mistakes_are_named(text, words):
    with pytest.raises(RegimenError) as err:
        parse_dose(text)
    for w in words:
        assert w in str(err.value)


# ---------------------------------------------------------------- the summary answers the question asked
HUMAN_COURSE = "esketamine 56 mg intranasal twice weekly for 4 weeks"


def test_cli_prints_the_summary_at_the_times_asked(capsys):
    from simulator.cli import main

    argv = ["simulate", "--dose", HUMAN_COURSE, "--species", "human", "--hours", "700", "--at", "24,168,672"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for h in (24, 168, 672):
        assert f"vs vehicle at {h} h" in out
    assert "at 48 h" not in out and "at 700 h" not in out


def test_cli_extends_hours_for_a_long_regimen_and_says_so(capsys):
    from simulator.cli import main

    assert main(["simulate", "--dose", HUMAN_COURSE, "--species", "human"]) == 0
    cap = capsys.readouterr()
    last = max(parse_dose(HUMAN_COURSE).times_h)
    assert "no --hours given; simulating to" in cap.err and f"{last:g} h" in cap.err
    assert "vs vehicle at 72 h" in cap.out and f"vs vehicle at {last + 72:g} h" in cap.out  # defaults plus the last time


def test_summary_defaults_and_explicit_times():
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=100)
    assert r.summary_times() == [24.0, 48.0, 72.0, 100.0]
    s = r.summary([6, 30])
    assert s["spine_gain_30h_pct"] == pytest.approx(r.spine_gain(30)) and "spine_gain_24h_pct" not in s
    assert s["mtorc1_6h"] == pytest.approx(r.at("mtorc1", 6))
    with pytest.raises(simulator.PlasticityError, match="outside the simulated"):
        r.summary([200])


def test_a_readout_that_only_falls_is_reported_as_a_minimum_never_a_peak(capsys):
    from simulator.cli import main

    r = simulator.simulate(["rapamycin 0.2 nmol icv at -30 min"], species="rat", hours=24)
    s = r.summary()
    assert "mtorc1_peak_fold" not in s and s["mtorc1_min_fold"] < 1.0
    assert main(["simulate", "--dose", "rapamycin 0.2 nmol icv at -30 min", "--species", "rat", "--hours", "24"]) == 0
    out = capsys.readouterr().out
    assert "mTORC1 minimum" in out and "mTORC1 peak" not in out


# ---------------------------------------------------------------- figures
def test_plot_shades_the_window_only_for_window_runs_and_otherwise_marks_doses():
    from simulator._plot import is_window_run

    assert is_window_run(72, [0.0]) and is_window_run(72, [-0.5, 0.0])
    assert not is_window_run(700, [0.0, 84.0]) and not is_window_run(72, [0.0, 30.0]) and not is_window_run(12, [0.0])
    fig = simulator.simulate(["esketamine 56 mg intranasal twice weekly x 2"], species="human", hours=200).plot()
    ax = fig.axes[0]
    assert not [p for p in ax.patches]  # no 24-72 h shading on a long course
    assert ax.get_yscale() == "log" and ax.get_ylim()[0] > 0  # a log axis with a floor, no linear break at 1 nM
    assert "dotted: doses" in fig.axes[-1].get_xlabel()


def test_legends_sit_beside_the_panels_not_over_the_curves():
    fig = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=72).plot()
    fig.canvas.draw()
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is not None:
            assert leg.get_window_extent().x0 >= ax.get_window_extent().x1  # wholly to the right of the axes


def test_dose_response_labels_carry_units():
    dr = simulator.dose_response("ketamine", [1, 10, 30], species="mouse")
    assert dr.readout == "spine_gain_24h_pct" and "spine_gain_24h_pct" in dr.table
    fig = dr.plot()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "dose (mg/kg i.p.)" and ax.get_ylabel() == "spine gain at 24 h (% vs vehicle)"
    if dr.inverted_u:
        assert f"at {dr.peak_dose:.3g} mg/kg" in dr.summary()


def test_compare_overlays_runs_and_the_cli_vs_writes_one_figure(tmp_path, capsys):
    from simulator.cli import main

    r1 = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=24)
    cmp = simulator.compare({"ketamine": r1, "rapamycin + ketamine": ["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"]})
    assert list(cmp.summary([24]).index) == ["ketamine", "rapamycin + ketamine"]
    with pytest.raises(simulator.PlasticityError, match="already a Result"):
        simulator.compare({"ketamine": r1}, species="rat")
    cmp = simulator.compare({"ketamine": "ketamine 10 mg/kg ip", "vehicle": []}, species="rat", hours=24)
    assert cmp.timecourse.columns[0] == "run" and set(cmp.timecourse["run"]) == {"ketamine", "vehicle"}
    fig = cmp.plot(tmp_path / "cmp.png")
    assert (tmp_path / "cmp.png").stat().st_size > 10_000 and len(fig.axes[-1].get_lines()) >= 2
    png = tmp_path / "vs.png"
    argv = ["simulate", "--dose", "ketamine 10 mg/kg ip", "--vs", "rapamycin 0.2 nmol icv at -30 min; ketamine 10 mg/kg ip",
            "--species", "rat", "--hours", "24", "--plot", str(png)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("| species rat") == 2 and png.stat().st_size > 10_000


# ---------------------------------------------------------------- sweep tables: one name, the actual dose
def test_sweep_tables_name_the_gain_and_show_the_actual_dose():
    df = simulator.sweep("ketamine 10 mg/kg ip", vary={"dose:0": [0.5, 3.0]}, hours=24, workers=1)
    assert "spine_gain_24h_pct" in df and not any(c.startswith("spine_change") for c in df.columns)
    assert list(df.columns[:3]) == ["member", "dose:0", "dose:0_mg_per_kg"]
    assert df["dose:0_mg_per_kg"].tolist() == [5.0, 30.0]  # the multiplier times the regimen's 10 mg/kg


# ---------------------------------------------------------------- the README's first screen
def test_readme_first_screen_has_the_two_commands_and_the_figure():
    from pathlib import Path

    lines = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").splitlines()[:24]
    screen = "\n".join(lines)
    assert 'pip install . && plasticity simulate --dose "ketamine 10 mg/kg ip"' in screen
    assert "python -m pytest" in screen and "docs" in screen.split("python -m pytest")[0]  # the docs extra: the site builds in the tests
    assert "![ketamine in a mouse](docs/figures/ketamine_mouse.png)" in screen
    assert (Path(__file__).resolve().parents[1] / "docs/figures/ketamine_mouse.png").is_file()


def test_compounds_list_shows_one_display_name_and_one_id(capsys):
    from simulator.cli import main

    assert main(["compounds"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("(2r,6r)-hnk"))
    assert row.split()[1] == "hnk_2r6r"
    lib = simulator.load_library()
    assert lib.compound("hnk_2r6r") is lib.compound("(2R,6R)-HNK")
    fig = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=24).plot()
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert lib.compound("hnk_2r6r").name in labels and "hnk_2r6r" not in labels  # figures use the display name


# ---------------------------------------------------------------- an edge renamed for what it does, its old name kept
NEW_EDGE, OLD_EDGE = "synaptic_protein_to_ampa", "mtorc1_to_ampa"


def _renamed_models(tmp_path, *, rename_in_odes: bool):
    """A copy of models/ whose AMPA feedback edge carries its new name and the old one as an alias."""
    import re
    import shutil
    from pathlib import Path

    dst = tmp_path / "models"
    shutil.copytree(Path(__file__).resolve().parents[1] / "models", dst)
    pw = dst / "pathway.toml"
    text = pw.read_text(encoding="utf-8")
    if f"[edges.{NEW_EDGE}]" not in text:
        if rename_in_odes:
            text = re.sub(rf"\b{OLD_EDGE}\b", "@EDGE@", text)
        text, n = re.subn(rf"^\[edges\.(?:{OLD_EDGE}|@EDGE@)\]\n", f'[edges.{NEW_EDGE}]\naliases = ["{OLD_EDGE}"]\n', text, flags=re.M)
        assert n == 1
        text = text.replace("@EDGE@", NEW_EDGE)
    pw.write_text(text)
    return dst


@pytest.mark.parametrize("rename_in_odes", [True, False])
def test_a_renamed_edge_cuts_the_same_by_its_old_name(tmp_path, monkeypatch, rename_in_odes):
    monkeypatch.setenv("PLASTICITY_MODELS", str(_renamed_models(tmp_path, rename_in_odes=rename_in_odes)))
    lib = simulator.load_library()
    assert lib.pathway.edge_name(OLD_EDGE) == NEW_EDGE == lib.pathway.edge_name(NEW_EDGE)
    run = {cut: simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=24, cut=cut).spine_gain(24) for cut in ((), (NEW_EDGE,), (OLD_EDGE,))}
    assert run[(NEW_EDGE,)] == run[(OLD_EDGE,)] != run[()]
    with pytest.raises(simulator.UnknownNameError, match=f"Did you mean '{NEW_EDGE}'"):
        simulator.simulate([], hours=1, cut=["synaptic_protein_to_amp"])


def test_an_alias_that_clashes_with_another_name_is_a_model_file_error(tmp_path):
    dst = _renamed_models(tmp_path, rename_in_odes=True)
    pw = dst / "pathway.toml"
    pw.write_text(pw.read_text(encoding="utf-8").replace(f'aliases = ["{OLD_EDGE}"]', 'aliases = ["mtorc1"]', 1))
    with pytest.raises(simulator.ModelFileError, match="duplicate name 'mtorc1'"):
        simulator.load_library(dst)


# ---------------------------------------------------------------- notebooks: public API, figures that do not churn
def test_notebooks_use_only_the_public_api_and_save_figures_with_fixed_metadata():
    import json
    import re
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code")
        assert not re.search(r"simulator\._\w", code), f"{path.name} uses a private module"
        assert ".savefig(" not in code, f"{path.name}: save key figures with simulator.save_figure (fixed metadata)"
        for name in re.findall(r"simulator\.(\w+)", code):
            assert name in simulator.__all__, f"{path.name}: simulator.{name} is not public"


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_save_figure_gives_the_same_bytes_for_the_same_figure(tmp_path, suffix):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 3, 2], label="x")
    ax.legend()
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    simulator.save_figure(fig, a, dpi=80)
    simulator.save_figure(fig, b, dpi=80)
    assert a.read_bytes() == b.read_bytes()
    assert b"Matplotlib version" not in a.read_bytes() and matplotlib.__version__.encode() not in a.read_bytes()
