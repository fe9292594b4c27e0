"""Every hostile input of issue 16 (input surfaces) ends in one typed error, quickly and in bounded memory.

Each case runs in a child process capped at 3 GiB of address space (tests/fuzz_worker.py) and must end
within 10 s with resident memory under 2 GiB: from the command line, exit status 2 and one line
starting 'error:'; from Python, the named PlasticityError subclass. The message must name the field or
file and, for a limit, the limit (see simulator/_limits.py and the README's Errors section).
"""

from __future__ import annotations

import re

import pytest
from fuzz_worker import MODELS, Worker

from simulator import Clamp

TIME_LIMIT_S = 10.0
MAX_RSS = 2 * 2**30
KET = "ketamine 10 mg/kg ip"


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    w.run(("call", "simulate", ([KET],), dict(hours=0.5)), 120)  # start-up and first compile, outside the timed cases
    yield w
    w.stop()


def _run(worker: Worker, case: tuple) -> tuple:
    outcome = worker.run(case, TIME_LIMIT_S + 20)
    assert outcome[0] not in ("hang", "died", "crash", "memory"), outcome
    assert worker.seconds < TIME_LIMIT_S, f"took {worker.seconds:.1f} s"
    assert worker.peak_rss < MAX_RSS, f"resident memory {worker.peak_rss / 2**30:.2f} GiB"
    return outcome


def _model_edit(rel: str, old: str, new: str) -> dict[str, bytes]:
    text = (MODELS / rel).read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in models/{rel} any more; update this test"
    return {rel: text.replace(old, new, 1).encode()}


def _param_line(name: str) -> str:
    m = re.search(rf"^{name} = {{ value = [^,]+, unit = \"[^\"]+\"", (MODELS / "pathway.toml").read_text(encoding="utf-8"), re.M)
    assert m, name
    return m[0]


def _metabolite_of(rel: str) -> tuple[str, str]:
    m = re.search(r'\[\[pk\.mouse\.metabolites\]\]\ncompound = "([^"]+)"', (MODELS / rel).read_text(encoding="utf-8"))
    assert m, rel
    return m[0], m[1]


TOML_DOSE = '[[dose]]\ncompound = "ketamine"\namount = "10 mg/kg"\nroute = "ip"\n'
# (id, regimen file bytes or None, extra CLI args, model-file edit or None, words the message must contain)
CLI_CASES = [
    ("regimen file: unknown [[dose]] key", TOML_DOSE + 'at_h = "5 h"\n', [], None, ["dose[0]", "at_h", "Did you mean 'at'"]),
    ("regimen file: unknown top-level key", 'dosez = ["ketamine 10 mg/kg ip"]\n', [], None, ["dosez", "regimen file"]),
    ("regimen file: empty", "", [], None, ["no doses"]),
    ("--clamp of 120 kB", None, ["--clamp", "mtorc1=0 from " + "1 " * 60_000], None, ["--clamp", "MAX_INTERVENTION_CHARS"]),
    ("--scale of 120 kB", None, ["--scale", "trkb=" + "1" * 120_000], None, ["--scale", "MAX_INTERVENTION_CHARS"]),
    ("regimen file: every without a count", TOML_DOSE + 'every = "1 d"\n', [], None, ["dose[0]", "every", "count"]),
    ("regimen file: count = 2.9", TOML_DOSE + 'every = "1 h"\ncount = 2.9\n', [], None, ["dose[0]", "count", "2.9"]),
    ("regimen file: count = true", TOML_DOSE + 'every = "1 h"\ncount = true\n', [], None, ["dose[0]", "count", "True"]),
    ("regimen file: at = 5", TOML_DOSE + "at = 5\n", [], None, ["dose[0]", "at", "5", "unit"]),
    ("regimen file: dose as a string", 'dose = "ketamine 10 mg/kg ip"\n', [], None, ["dose", "[[dose]]"]),
    ("regimen file: binary", b"\x00\xff\xfe\x00binary", [], None, ["not UTF-8"]),
    ("regimen file: Latin-1", 'doses = ["k\xe9tamine 10 mg/kg ip"]\n'.encode("latin-1"), [], None, ["not UTF-8", "0xe9"]),
    ("regimen file: deeply nested", ("doses = " + "[" * 5000 + "]" * 5000 + "\n"), [], None, ["MAX_TOML_DEPTH"]),
    ("regimen file: 1e308 mg/kg", 'doses = ["ketamine 1e308 mg/kg ip"]\n', [], None, ["doses[0]", "amount", "MAX_DOSE"]),
    ("regimen file: /dev/zero", None, ["--regimen", "/dev/zero"], None, ["/dev/zero", "MAX_REGIMEN_FILE_BYTES"]),
    ("dose 1e308 mg/kg", None, ["--dose", "ketamine 1e308 mg/kg ip"], None, ["amount", "1e+308", "MAX_DOSE"]),
    ("dose at -1e308 h", None, ["--dose", "ketamine 10 mg/kg ip at -1e308 h"], None, ["at", "-1e308", "MAX_SPAN_H"]),
    ("dose at -1e9 h", None, ["--dose", "ketamine 10 mg/kg ip at -1e9 h"], None, ["at", "MAX_SPAN_H"]),
    ("every 1 min x 10000000", None, ["--dose", "ketamine 10 mg/kg ip every 1 min x 10000000"], None, ["x", "10,000,000", "MAX_ADMINISTRATIONS"]),
    ("x 99999999999999999999999", None, ["--dose", "ketamine 10 mg/kg ip every 1 h x 99999999999999999999999"], None, ["x", "MAX_ADMINISTRATIONS"]),
    ("x given twice", None, ["--dose", "ketamine 10 mg/kg ip every 1 h x 3 x 1"], None, ["x", "given twice"]),
    ("every 1e-9 h", None, ["--dose", "ketamine 10 mg/kg ip every 1e-9 h x 100"], None, ["every", "MIN_DURATION_H"]),
    ("hours 1e9", None, ["--hours", "1e9"], None, ["hours", "MAX_SPAN_H"]),
    ("hours 1e9 with a dose every second", None, ["--hours", "1e9", "--dose", "ketamine 1 mg/kg ip every 1 s x 1000"], None, ["MAX_SPAN_H"]),
    ("grid over the row limit", None, ["--hours", "100000"], None, ["MAX_OUTPUT_ROWS", "times="]),
    ("clamp from -1e308 h", None, ["--clamp", "mtorc1=0 from -1e308 h to 6 h"], None, ["clamp from", "MAX_SPAN_H"]),
    ("clamp after the end", None, ["--hours", "2", "--clamp", "mtorc1=0 from 5 h to 6 h"], None, ["clamp", "mtorc1", "after", "--hours 5"]),
    ("scale 1e300", None, ["--scale", "trkb=1e300"], None, ["scale", "trkb", "MAX_FACTOR"]),
    ("scale inf", None, ["--scale", "trkb=inf"], None, ["scale", "trkb", "finite"]),
    ("param 1e300", None, ["--param", "k_glutamate=1e300"], None, ["k_glutamate", "MAX_OVERRIDE"]),
    ("param subnormal rate", None, ["--param", "k_glutamate=5e-324"], None, ["k_glutamate", "MIN_RATE"]),
    ("model: rate in mg", None, [], ("pathway.toml", "k_glutamate", "mg"), ["pathway.toml", "states.glutamate.ode", "k_glutamate", "[mass]"]),
    ("model: aliases as a string", None, [], ("genotypes.toml", 'aliases = ["wt", "val/val"]', 'aliases = "wt"'), ["genotypes.toml", "aliases", "'wt'"]),
    ("model: own metabolite", None, [], ("compounds/ketamine.toml", "metabolite", None), ["ketamine.toml", "own metabolite"]),
    ("model: non-table target", None, [], ("pathway.toml", "[targets.nmda_int]", "[targets]\nbogus = 5\n\n[targets.nmda_int]"), ["pathway.toml", "targets.bogus"]),
    ("model: not UTF-8", None, [], ("pathway.toml", "[model]", "[model]\n# caf\udce9"), ["pathway.toml", "UTF-8"]),
]


def _models_for(edit) -> dict[str, bytes] | None:
    if edit is None:
        return None
    rel, old, new = edit
    if rel == "pathway.toml" and old == "k_glutamate":
        line = _param_line("k_glutamate")
        return _model_edit(rel, line, re.sub(r'unit = "[^"]+"', 'unit = "mg"', line))
    if old == "metabolite":
        block, _ = _metabolite_of(rel)
        return _model_edit(rel, block, '[[pk.mouse.metabolites]]\ncompound = "ketamine"')
    if "\udce9" in new:
        text = (MODELS / rel).read_text(encoding="utf-8").replace(old, new, 1)
        return {rel: text.encode("utf-8", "surrogateescape")}
    return _model_edit(rel, old, new)


@pytest.mark.parametrize("name, regimen_file, args, edit, words", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_hostile_input_from_the_command_line(worker, tmp_path, name, regimen_file, args, edit, words):
    argv = ["simulate", "--hours", "1", *args]
    if "--dose" not in args and "--regimen" not in args and regimen_file is None:
        argv += ["--dose", KET]
    if regimen_file is not None:
        path = tmp_path / "regimen.toml"
        path.write_bytes(regimen_file if isinstance(regimen_file, bytes) else regimen_file.encode())
        argv += ["--regimen", str(path)]
    case = ("cli", argv)
    files = _models_for(edit)
    if files is not None:
        case = ("with_models", files, case)
    outcome = _run(worker, case)
    rc, err = outcome[1], outcome[2]
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])


PY_CASES = [
    ("simulate(5)", ("call", "simulate", (5,), {}), "RegimenError", ["regimen", "int"]),
    ("simulate(b'...')", ("call", "simulate", (b"ketamine 10 mg/kg ip",), {}), "RegimenError", ["regimen", "bytes"]),
    ("Dose(unit=None)", ("call", "Dose", ("ketamine", 10, None, "ip"), {}), "RegimenError", ["unit", "None"]),
    ("Dose(route=None)", ("call", "Dose", ("ketamine", 10, "mg/kg", None), {}), "RegimenError", ["route", "None"]),
    ("Dose(amount=10**400)", ("call", "Dose", ("ketamine", 10**400, "mg/kg", "ip"), {}), "RegimenError", ["amount"]),
    ("Dose(count=10**9)", ("call", "Dose", ("ketamine", 10, "mg/kg", "ip"), dict(every_h=1.0, count=10**9)), "RegimenError",
     ["x", "MAX_ADMINISTRATIONS"]),
    ("every 1e-9 h x 1e9", ("call", "simulate", (["ketamine 10 mg/kg ip every 1e-9 h x 1e9"],), {}), "RegimenError", ["x", "whole number"]),
    ("every 1e-9 h x 1000000000", ("call", "simulate", (["ketamine 10 mg/kg ip every 1e-9 h x 1000000000"],), {}), "RegimenError",
     ["every", "MIN_DURATION_H"]),
    ("every 1 min x 1000000000", ("call", "simulate", (["ketamine 10 mg/kg ip every 1 min x 1000000000"],), {}), "RegimenError",
     ["x", "MAX_ADMINISTRATIONS"]),
    ("600 + 600 administrations", ("call", "simulate", (["ketamine 1 mg/kg ip every 1 h x 600", "ketamine 1 mg/kg ip every 1 h x 600"],),
                                   dict(hours=1200)), "RegimenError", ["1,200 administrations", "MAX_ADMINISTRATIONS"]),
    ("1e308 mg/kg", ("call", "simulate", (["ketamine 1e308 mg/kg ip"],), {}), "RegimenError", ["MAX_DOSE"]),
    ("times= over the row limit", ("call", "simulate", ([KET],), dict(times=[i * 0.01 for i in range(1_000_001)])), "PlasticityError",
     ["times", "MAX_OUTPUT_ROWS"]),
    ("clamp from -1e308 h", ("call", "simulate", ([KET],), dict(hours=6, clamp=Clamp("mtorc1", 0.0, -1e308, 6))), "RegimenError", ["MAX_SPAN_H"]),
    ("clamp level 1e300", ("call", "simulate", ([KET],), dict(hours=6, clamp=Clamp("mtorc1", 1e300, 0, 6))), "PlasticityError",
     ["clamp", "level", "MAX_FACTOR"]),
    ("clamp of 1e-300 h", ("call", "simulate", ([KET],), dict(hours=6, clamp=Clamp("mtorc1", 0.0, 0.0, 1e-300))), "PlasticityError",
     ["clamp", "MIN_DURATION_H"]),
    ("clamp after the end", ("call", "simulate", ([KET],), dict(hours=2, clamp=Clamp("mtorc1", 0.0, 5, 6))), "RegimenError",
     ["clamp", "after", "hours=5"]),
    ("scale 1e300", ("call", "simulate", ([KET],), dict(hours=1, scale={"trkb": 1e300})), "PlasticityError", ["MAX_FACTOR"]),
    ("params nan", ("call", "simulate", ([KET],), dict(hours=1, params={"k_glutamate": float("nan")})), "PlasticityError", ["finite"]),
    ("params 1e308", ("call", "simulate", ([KET],), dict(hours=1, params={"k_glutamate": 1e308})), "PlasticityError", ["MAX_OVERRIDE"]),
]


@pytest.mark.parametrize("name, case, error, words", PY_CASES, ids=[c[0] for c in PY_CASES])
def test_hostile_input_from_python(worker, name, case, error, words):
    outcome = _run(worker, case)
    assert outcome[0] == "typed", outcome
    import simulator

    assert issubclass(getattr(simulator, outcome[1]), getattr(simulator, error)), outcome
    for w in words:
        assert w in outcome[2], (w, outcome[2])


def test_a_huge_hill_coefficient_fails_without_contradicting_itself(worker):
    """A Hill coefficient of 1e3 overflows: the error says so, not 'the solver successfully reached the end'."""
    outcome = _run(worker, ("call", "simulate", ([KET],), dict(hours=2, params={"mtorc1_hill": 1e3})))
    if outcome[0] == "typed":
        assert outcome[1] == "SimulationError" and "successfully" not in outcome[2], outcome[2]
        assert "infinite or NaN" in outcome[2] or "gave up" in outcome[2] or "steady state" in outcome[2], outcome[2]


# ------------------------------------------------------------------------------------ question and catalogue files (issue 26)
QUESTION = '''[[question]]
id = "q"
prompt = "p"
kind = "{kind}"
readout = "mtorc1"
metric = "peak"
{extra}
'''
CATALOGUE = (MODELS.parent / "simulator" / "classroom" / "catalogue.toml").read_text(encoding="utf-8")
TEACHING_CASES = [
    ("question = 'abc'", "questions", b'question = "abc"\n', ["question", "expected [[question]] tables"]),
    ("question = [1, 2]", "questions", b"question = [1, 2]\n", ["question 1", "expected a [[question]] table"]),
    ("options without labels", "questions", QUESTION.format(kind="which", extra='options = [{ setting = {} }, { setting = {} }]').encode(),
     ["question 1 (q)", "label"]),
    ("options = 'xy'", "questions", QUESTION.format(kind="which", extra='options = "xy"').encode(), ["question 1 (q)"]),
    ("reference_value = 'big'", "questions", QUESTION.format(kind="compare", extra='reference_value = "big"').encode(),
     ["question 1 (q)", "ValueError"]),
    ("labels = 3", "questions", QUESTION.format(kind="compare", extra="reference_value = 1\nlabels = 3").encode(), ["question 1 (q)"]),
    ("setting.cuts = 5", "questions", QUESTION.format(kind="number", extra="setting = { cuts = 5 }").encode(), ["question 1 (q)"]),
    ("a 120 kB clamp", "questions", QUESTION.format(kind="number", extra='setting = { clamp = "mtorc1=0 from ' + "1 " * 60_000 + '" }').encode(),
     ["question 1 (q)", "MAX_INTERVENTION_CHARS"]),
    ("non-UTF-8 questions", "questions", b'[[question]]\nid = "\xff\xfe"\n', ["(file)", "UTF-8"]),
    ("questions nested 10,000 deep", "questions", b"x = " + b"[" * 10_000 + b"]" * 10_000 + b"\n", ["(file)", "MAX_JSON_DEPTH"]),
    ("compounds = 'x'", "catalogue", b'compounds = "x"\n', ["(file)", "AttributeError"]),
    ("compounds.ketamine = 'x'", "catalogue", b'[compounds]\nketamine = "x"\n', ["compounds.ketamine"]),
    ("species = 3", "catalogue", CATALOGUE.replace('species = ["mouse", "rat", "human"]', "species = 3", 1).encode(), ["(file)"]),
    ("doses = 'many'", "catalogue", CATALOGUE.replace("doses = [1, 3, 5, 10, 20, 30, 50, 80] }", 'doses = "many" }', 1).encode(),
     ["compounds.ketamine.mouse.doses"]),
    ("non-UTF-8 catalogue", "catalogue", CATALOGUE.encode() + b'\n# \xff\n', ["(file)", "UTF-8"]),
]


@pytest.mark.parametrize("name, loader, data, words", TEACHING_CASES, ids=[c[0] for c in TEACHING_CASES])
def test_a_bad_question_or_catalogue_file_is_one_teaching_file_error(worker, name, loader, data, words):
    outcome = _run(worker, ("toml_file", loader, data))
    assert outcome[0] == "typed" and outcome[1] == "TeachingFileError", outcome
    assert "received.toml" in outcome[2], outcome[2]
    for w in words:
        assert w in outcome[2], (w, outcome[2])


# ------------------------------------------------------------------------------------ analyses: one limit table (issue 26)
FIT_ROW = "time_h,readout,value\n24,mtorc1,1.5\n"
SENS = ["sensitivity", "--dose", KET, "--params", "k_glutamate,k_mtorc1"]
ANALYSIS_CASES = [
    ("sobol --n 0", [*SENS, "--method", "sobol", "--n", "0"], None, ["n", ">= 2"]),
    ("morris --n -5", [*SENS, "--method", "morris", "--n", "-5"], None, ["n", ">= 2"]),
    ("sobol --n 1000000000", [*SENS, "--method", "sobol", "--n", "1000000000"], None, ["n", "MAX_ANALYSIS_RUNS"]),
    ("morris --n 100000", [*SENS, "--method", "morris", "--n", "100000"], None, ["MAX_ANALYSIS_RUNS"]),
    ("sensitivity --times 1e300", [*SENS, "--times", "1,1e300"], None, ["times", "MAX_SPAN_H"]),
    ("fit: a value that is not a number", ["fit", "--param", "k_glutamate", "--dose", KET], FIT_ROW + "48,mtorc1,lots\n",
     ["data", "value", "row 2", "'lots'"]),
    ("fit: time_h = 1e300", ["fit", "--param", "k_glutamate", "--dose", KET], "time_h,readout,value\n1e300,mtorc1,1.5\n",
     ["times", "MAX_SPAN_H"]),
    ("fit: 2,000,000 rows", ["fit", "--param", "k_glutamate", "--dose", KET], "time_h,readout,value\n" + "24,mtorc1,1.5\n" * 2_000_000,
     ["data", "MAX_OUTPUT_ROWS"]),
]


@pytest.mark.parametrize("name, argv, data, words", ANALYSIS_CASES, ids=[c[0] for c in ANALYSIS_CASES])
def test_hostile_analysis_input_is_checked_before_any_work(worker, tmp_path, name, argv, data, words):
    if data is not None:
        path = tmp_path / "data.csv"
        path.write_text(data)
        argv = [*argv, "--data", str(path)]
    outcome = _run(worker, ("cli", argv))
    rc, err = outcome[1], outcome[2]
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
