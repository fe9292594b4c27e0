"""Errors are part of the interface: one typed error naming the field, the value and what was expected.

Python raises a PlasticityError subclass; the CLI prints one line starting 'error:' on stderr, exits 2
and never shows a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import simulator
from simulator import PlasticityError, RegimenError, UnknownNameError
from simulator.cli import main

# (python call kwargs, CLI args, error type, words the message must contain)
CASES = [
    ("unknown compound", dict(regimen=["ketamin 10 mg/kg ip"]), ["--dose", "ketamin 10 mg/kg ip"], UnknownNameError,
     ["compound", "'ketamin'", "Did you mean 'ketamine'"]),
    ("negative dose", dict(regimen=["ketamine -10 mg/kg ip"]), ["--dose", "ketamine -10 mg/kg ip"], RegimenError, ["amount", "-10", "positive"]),
    ("zero dose", dict(regimen=["ketamine 0 mg/kg ip"]), ["--dose", "ketamine 0 mg/kg ip"], RegimenError, ["amount", "positive"]),
    ("non-numeric dose", dict(regimen=["ketamine ten mg/kg ip"]), ["--dose", "ketamine ten mg/kg ip"], RegimenError, ["amount", "'ten'", "not a number"]),
    ("unknown unit", dict(regimen=["ketamine 10 mg/lb ip"]), ["--dose", "ketamine 10 mg/lb ip"], UnknownNameError, ["dose unit", "'mg/lb'", "mg/kg"]),
    ("unknown route", dict(regimen=["ketamine 10 mg/kg i.q."]), ["--dose", "ketamine 10 mg/kg i.q."], UnknownNameError, ["route", "'i.q.'", "ip"]),
    ("unknown species", dict(regimen=["ketamine 10 mg/kg ip"], species="mose"), ["--dose", "ketamine 10 mg/kg ip", "--species", "mose"],
     UnknownNameError, ["species", "'mose'", "Did you mean 'mouse'"]),
    ("unknown genotype", dict(regimen=["ketamine 10 mg/kg ip"], genotype="met/mett"), ["--dose", "ketamine 10 mg/kg ip", "--genotype", "met/mett"],
     UnknownNameError, ["genotype", "'met/mett'", "Did you mean 'met/met'"]),
    ("unknown parameter", dict(regimen=["ketamine 10 mg/kg ip"], params={"k_glutamat": 5.0}), ["--dose", "ketamine 10 mg/kg ip", "--param", "k_glutamat=5"],
     UnknownNameError, ["parameter", "'k_glutamat'", "Did you mean 'k_glutamate'"]),
    ("negative parameter", dict(params={"k_glutamate": -1.0}), ["--param", "k_glutamate=-1"], PlasticityError, ["k_glutamate", "-1", "positive"]),
    ("nan parameter", dict(params={"k_glutamate": float("nan")}), ["--param", "k_glutamate=nan"], PlasticityError, ["k_glutamate", "nan", "finite"]),
    ("zero hours", dict(hours=0), ["--hours", "0"], PlasticityError, ["hours", "0", "positive"]),
    ("negative hours", dict(hours=-5), ["--hours=-5"], PlasticityError, ["hours", "-5", "positive"]),
    ("route without PK", dict(regimen=["ketamine 10 mg/kg oral"], species="mouse"), ["--dose", "ketamine 10 mg/kg po", "--species", "mouse"],
     UnknownNameError, ["route", "'oral'", "ketamine in mouse", "ip"]),
    ("bath outside culture", dict(regimen=["lsd 10 nM bath for 15 min"], species="rat"), ["--dose", "lsd 10 nM bath for 15 min", "--species", "rat"],
     RegimenError, ["route", "bath", "culture", "'rat'"]),
    ("injection in culture", dict(regimen=["ketamine 10 mg/kg ip"], species="culture"), ["--dose", "ketamine 10 mg/kg ip", "--species", "culture"],
     RegimenError, ["route", "culture", "bath"]),
    ("bad time unit", dict(regimen=["ketamine 10 mg/kg ip at 2 fortnights"]), ["--dose", "ketamine 10 mg/kg ip at 2 fortnights"],
     UnknownNameError, ["time unit", "'fortnights'"]),
    ("dose after hours", dict(regimen=["ketamine 10 mg/kg ip at 80 h"], hours=72), ["--dose", "ketamine 10 mg/kg ip at 80 h", "--hours", "72"],
     RegimenError, ["dose", "'ketamine 10 mg/kg ip at 80 h'", "at 80 h", "72 h", "hours=80", "--hours 80"]),
    ("repeated doses past hours", dict(regimen=["esketamine 56 mg intranasal every 3.5 d x 8"], species="human", hours=72),
     ["--dose", "esketamine 56 mg intranasal every 3.5 d x 8", "--species", "human", "--hours", "72"],
     RegimenError, ["dose", "7 of its 8 administrations", "84 h to 588 h", "72 h", "--hours 588", "x 1"]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, kwargs, argv, error, words", CASES, ids=IDS)
def test_python_raises_one_typed_error(name, kwargs, argv, error, words):
    kwargs = dict(kwargs)
    regimen = kwargs.pop("regimen", [])
    kwargs.setdefault("hours", 1.0)
    with pytest.raises(PlasticityError) as info:
        simulator.simulate(regimen, **kwargs)
    assert isinstance(info.value, error), (type(info.value), str(info.value))
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize("name, kwargs, argv, error, words", CASES, ids=IDS)
def test_cli_prints_one_error_line_and_exits_2(name, kwargs, argv, error, words, capsys):
    full = ["simulate", *argv]
    if "--hours" not in " ".join(argv):
        full += ["--hours", "1"]
    code = main(full)
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err + out
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize(
    "argv, words",
    [
        (["simulate", "--param", "k_glutamate"], ["--param", "NAME=VALUE"]),
        (["simulate", "--param", "k_glutamate=fast"], ["--param", "'fast'", "not a number"]),
        (["simulate", "--scale", "trkb=half"], ["--scale", "'half'"]),
        (["simulate", "--clamp", "mtorc1=zero"], ["--clamp", "'zero'"]),
        (["simulate", "--cut", "mtorc1_to_bdnff", "--hours", "1"], ["feedback edge", "Did you mean 'mtorc1_to_bdnf'"]),
        (["simulate", "--hours", "1", "--out", "/nonexistent-folder-plasticity/x.csv"], ["output", "does not exist"]),
        (["simulate", "--hours", "1", "--out", "x.xlsx"], ["output", ".xlsx", ".csv or .parquet"]),
        (["compounds", "ketamin"], ["compound", "Did you mean 'ketamine'"]),
        (["simulate", "--hour", "2"], ["unknown option '--hour'", "Did you mean '--hours'"]),  # no silent abbreviation
        (["sweep", "--dose", "ketamine 10 mg/kg ip", "--vary", "dose:0=0.5:1", "--n", "2", "--design", "lhs", "--workers", "-1"], ["workers", "-1", "positive"]),
    ],
)
def test_cli_other_bad_inputs(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_regimen_file_errors(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text('doses = ["ketamine -1 mg/kg ip"]\n')
    assert main(["simulate", "--regimen", str(f), "--hours", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.toml: doses[0]: amount" in err, err
    assert main(["simulate", "--regimen", str(tmp_path / "missing.toml"), "--hours", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.toml" in err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["simulate", "--dose", "ketamin 10 mg/kg ip", "--hours", "1"], ["Did you mean 'ketamine'"]),
        (["simulate", "--dose", "ketamine 10 mg/kg ip", "--hours", "0"], ["hours"]),
    ],
)
def test_cli_in_a_real_process(argv, words):
    """The installed entry point: exit code 2, one 'error:' line on stderr, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", *argv], capture_output=True, text=True, encoding="utf-8", timeout=120, env={**os.environ})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for w in words:
        assert w in lines[0]


def test_every_error_is_a_value_error_subclass():
    """Callers can catch PlasticityError (or ValueError) and nothing else."""
    for cls in (simulator.ModelFileError, RegimenError, UnknownNameError, simulator.SimulationError):
        assert issubclass(cls, PlasticityError) and issubclass(cls, ValueError)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(params=[("k_glutamate", 5.0)]), ["params", "mapping"]),
        (dict(params={"k_glutamate": "5"}), ["k_glutamate", "'5'", "finite number"]),
        (dict(params={"k_glutamate": True}), ["k_glutamate", "True"]),
        (dict(params={"k_glutamate": float("inf")}), ["k_glutamate", "inf"]),
        (dict(params={"k_glutamate": 0.0}), ["k_glutamate", "positive"]),
        (dict(hours=float("nan")), ["hours", "nan"]),
        (dict(hours="72"), ["hours", "'72'"]),
        (dict(times=[2.0, 1.0]), ["times", "increasing"]),
        (dict(times=[]), ["times", "non-empty"]),
        (dict(scale={"trkb": -1.0}), ["scale", "trkb", ">= 0"]),
        (dict(scale={"trkbb": 0.5}), ["trkbb", "Did you mean 'trkb'"]),
        (dict(regimen=[42]), ["dose", "42"]),
    ],
)
def test_python_bad_keyword_values(kwargs, words):
    kwargs = dict(kwargs)
    regimen = kwargs.pop("regimen", [])
    kwargs.setdefault("hours", 1.0)
    with pytest.raises(PlasticityError) as info:
        simulator.simulate(regimen, **kwargs)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_unknown_name_error_lists_and_suggests():
    e = UnknownNameError("species", "rta", ["mouse", "rat", "human", "culture"])
    assert "Did you mean 'rat'" in str(e) and "Expected one of: culture, human, mouse, rat." in str(e)
    assert e.kind == "species" and e.name == "rta"
    e = UnknownNameError("species", "zebrafish", ["mouse", "rat"])
    assert "Did you mean" not in str(e)


# ------------------------------------------------------------------------------ doses after the simulated window
def test_dose_after_the_window_given_by_times_is_refused():
    with pytest.raises(RegimenError) as info:
        simulator.simulate(["ketamine 10 mg/kg ip at 3 h"], times=[0.0, 1.0, 2.0])
    assert "last output time 2 h" in str(info.value) and "Extend times to 3 h or later, or move the dose earlier" in str(info.value)


def test_doses_inside_the_window_still_run():
    """A dose exactly at the end, an infusion running past it and a schedule ending inside it are all simulated."""
    at_end = simulator.simulate(["ketamine 10 mg/kg iv at 2 h"], hours=2)
    assert at_end.timecourse["ketamine_plasma_nM"].iloc[-1] > 0  # the last row shows the state just after the dose
    running = simulator.simulate(["ketamine 0.5 mg/kg iv at 71 h over 2 h"], hours=72)
    assert running.timecourse["ketamine_brain_nM"].iloc[-1] > 0
    repeated = simulator.simulate(["esketamine 56 mg intranasal every 3.5 d x 3"], species="human", hours=168)
    assert repeated.timecourse["time_h"].iloc[-1] == 168


def test_sweep_refuses_doses_after_hours():
    with pytest.raises(RegimenError) as info:  # a dose time varied past the end, in some members only
        simulator.sweep("ketamine 10 mg/kg ip", vary={"time:0": [0.0, 50.0, 80.0]}, hours=72, workers=1)
    for w in ("vary", "'time:0'", "80 h", "72 h", "hours=80"):
        assert w in str(info.value), (w, str(info.value))
    with pytest.raises(RegimenError, match=r"dose: 'ketamine 10 mg/kg ip at 2 h' is given at 2 h.*hours=1\)"):
        simulator.sweep("ketamine 10 mg/kg ip at 2 h", vary={"dose:0": [1.0, 2.0]}, hours=1, workers=1)
    with pytest.raises(RegimenError, match="its last administration at 58 h"):  # a schedule moved: its last dose counts
        simulator.sweep("ketamine 10 mg/kg ip every 1 d x 3", vary={"time:0": [0.0, 10.0]}, hours=48, workers=1)


def test_cli_sweep_refuses_doses_after_hours(capsys):
    code = main(["sweep", "--dose", "ketamine 10 mg/kg ip", "--vary", "time:0=0,80", "--hours", "72", "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: vary: 'time:0'") and len(err.strip().splitlines()) == 1, err
    assert "--hours 80" in err


# ------------------------------------------------------------------------------ command-line usage errors
@pytest.mark.parametrize(
    "argv, words",
    [
        (["simulat"], ["unknown command 'simulat'", "Did you mean 'simulate'", "compounds, dose-response"]),
        (["show-modl"], ["Did you mean 'show-model'"]),
        ([], ["no command given", "simulate", "sweep"]),
        (["simulate", "--specis", "rat"], ["simulate:", "unknown option '--specis'", "Did you mean '--species'", "plasticity simulate --help"]),
        (["simulate", "--hourz=3"], ["unknown option '--hourz'", "Did you mean '--hours'"]),
        (["simulate", "extra"], ["simulate:", "unexpected argument 'extra'"]),
        (["simulate", "--hours", "abc"], ["simulate:", "--hours", "expected a number", "'abc'"]),
        (["simulate", "--hours"], ["--hours", "expected a value"]),
        (["sweep", "--n", "2.5"], ["sweep:", "--n", "whole number", "'2.5'"]),
        (["sensitivity", "--method", "sobl"], ["sensitivity:", "--method", "'sobl'", "Did you mean 'sobol'"]),
        (["export"], ["export:", "missing required", "--out"]),
        (["fit", "--data", "x.csv"], ["fit:", "missing required", "--param"]),
        (["sensitivity", "--para", "x"], ["unknown option '--para'", "Did you mean '--param'"]),  # abbreviations are not expanded
        (["--version"], ["unknown option '--version'"]),
    ],
)
def test_cli_usage_errors_are_one_line(argv, words, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "usage:" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_cli_usage_error_in_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "simulat", "--dose", "ketamine 10 mg/kg ip"],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "Did you mean 'simulate'" in proc.stderr
    assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr


def test_cli_help_still_prints_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--help"])
    assert info.value.code == 0 and "usage: plasticity simulate" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["simulate", "--hours", "1", "--plot", "fig.xyz"], ["--plot", "unsupported image type '.xyz'", ".png", ".pdf"]),
        (["dose-response", "--doses", "1,3,10", "--plot", "/nonexistent-folder-plasticity/dr.png"], ["--plot", "folder", "does not exist"]),
        (["sensitivity", "--dose", "ketamine 10 mg/kg ip", "--out", "/nonexistent-folder-plasticity/s.csv"], ["--out", "folder", "does not exist"]),
        (["sweep", "--dose", "ketamine 10 mg/kg ip", "--vary", "dose:0=1,2", "--out", "/nonexistent-folder-plasticity/s.parquet"],
         ["--out", "does not exist"]),
    ],
)
def test_cli_output_paths_are_checked_before_any_work(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    assert not list(tmp_path.iterdir())


def test_cli_file_system_errors_are_one_line(capsys, monkeypatch):
    """An OSError from deep inside a command (a full disk, a read-only folder) is one line, not a traceback."""
    import simulator.cli as cli

    def full_disk(args):
        raise OSError(28, "No space left on device", "/data/out.csv")

    monkeypatch.setattr(cli, "_compounds", full_disk)
    assert main(["compounds"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: output: '/data/out.csv': No space left on device; check the path, free disk space and permissions"
