"""Fuzzing the ways input reaches the engine: regimen strings, regimen files, overrides and model files.

The property, for every generated case: it ends with a result or a PlasticityError (from the command
line: exit 0, or exit 2 with one 'error:' line), within CASE_TIMEOUT_S, in a process whose address
space is capped at MEMORY_CEILING (resource.RLIMIT_AS) - never another exception, a hang or a
blow-up. Cases run in one long-lived child process (tests/fuzz_worker.py), so a hang or a crash of
the interpreter is seen and reported with the case that caused it. Most cases are refused at
validation (fast); those that simulate run 0.5 h. The number of cases per surface is printed at the
end of the pytest run (tests/conftest.py).
"""

from __future__ import annotations

import math
import os

import pytest
from fuzz_worker import MODELS, Worker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator._limits import MAX_ADMINISTRATIONS, MAX_FACTOR, MAX_OVERRIDE, MAX_SPAN_H

CASE_TIMEOUT_S = 20.0  # per case; a case that simulates takes well under a second, a model-file case a few
MAX_RSS = 2 * 2**30  # resident memory of the worker, checked after every case
FUZZ = dict(deadline=None, derandomize=False, suppress_health_check=list(HealthCheck))
SCALE = float(os.environ.get("PLASTICITY_FUZZ_SCALE", "1"))  # fewer cases for a quick local run, e.g. 0.1


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


def run_clean(worker: Worker, case: tuple) -> tuple:
    """Run a case; fail unless it ended in a result, a typed error or a clean command-line exit, in time and memory."""
    outcome = worker.run(case, CASE_TIMEOUT_S)
    assert worker.peak_rss < MAX_RSS or outcome[0] in ("hang", "died"), f"resident memory {worker.peak_rss / 2**30:.1f} GiB after {case!r:.3000}"
    kind = outcome[0]
    if kind == "cli":
        rc, err = outcome[1], outcome[2]
        lines = err.strip().splitlines()
        assert rc in (0, 2), f"exit {rc} for {case!r:.3000}: {err[-2000:]}"
        if rc == 2:
            assert len(lines) == 1 and lines[0].startswith("error: "), f"not one error line for {case!r:.3000}: {err[-2000:]}"
        assert "Traceback" not in err, err
        return outcome
    assert kind in ("ok", "typed"), f"{kind} for {case!r:.3000}:\n{outcome[1]}"
    if kind == "typed":
        assert outcome[2].strip(), "an error must say what went wrong"
    return outcome


# ------------------------------------------------------------------------------------ numbers
SPECIAL = [0.0, -0.0, 5e-324, 1e-310, 2.2250738585072014e-308, 1e-300, 1e-12, 1e-9, 1.0, 1e9, 1e12, 1e300, 1e308,
           1.7976931348623157e308, -1.0, -1e308, math.inf, -math.inf, math.nan, MAX_OVERRIDE, MAX_FACTOR, MAX_SPAN_H]
any_float = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e4, 1e4))
plausible = st.floats(1e-3, 1e2)
short_time = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True), st.floats(-2, 2))  # hours


def num_text(x: float) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


# ------------------------------------------------------------------------------------ regimen strings
COMPOUNDS = ["ketamine", "psilocybin", "esketamine", "rapamycin", "ketamin", "lsd"]
UNITS = ["mg/kg", "ug/kg", "g/kg", "mg", "nmol", "nmol/kg", "mmol", "nM", "uM", "mg/lb"]
ROUTES = ["ip", "iv", "sc", "oral", "intranasal", "icv", "bath", "i.q."]
TIME_UNITS = ["s", "min", "h", "d", "w", "fortnight"]
time_text = st.builds(lambda x, u: f"{num_text(x)} {u}", any_float, st.sampled_from(TIME_UNITS))
count_text = st.one_of(st.integers(-3, 3 * MAX_ADMINISTRATIONS).map(str), st.sampled_from(["99999999999999999999999", "1e9", "2.9", "0", "x"]),
                       st.integers(0, 10**40).map(str))
clause = st.one_of(
    st.builds(lambda k, t: f"{k} {t}", st.sampled_from(["at", "over", "for", "every"]), time_text),
    count_text.map(lambda n: f"x {n}"),
    st.sampled_from(["daily for 14 d", "weekly x 4", "twice weekly for 4 weeks", "every 1 h x 3 x 1"]),
)
dose_string = st.builds(
    lambda c, a, u, r, cl: " ".join([c, a, u, r, *cl]),
    st.sampled_from(COMPOUNDS), st.one_of(any_float.map(num_text), plausible.map(num_text)), st.sampled_from(UNITS),
    st.sampled_from(ROUTES), st.lists(clause, max_size=3),
)
hours = st.one_of(st.sampled_from([0.5, 0.5, 0.5, 2.0]), any_float)


@settings(max_examples=examples(1300), **FUZZ)
@given(st.lists(dose_string, min_size=1, max_size=3), hours, st.sampled_from(["mouse", "rat", "human", "culture"]), st.booleans())
def test_fuzz_regimen_strings(worker, count_case, doses, h, species, via_cli):
    count_case("fuzz: regimen strings (Python and CLI)")
    if via_cli:
        argv = ["simulate", "--species", species, f"--hours={num_text(h)}"] + [a for d in doses for a in ("--dose", d)]
        case = ("cli", argv)
    else:
        case = ("call", "simulate", (doses,), dict(species=species, hours=h))
    run_clean(worker, case)


# ------------------------------------------------------------------------------------ overrides
from simulator import load_library  # noqa: E402

LIB = load_library()
PARAMS = sorted(LIB.pathway.parameters) + ["ketamine_clearance", "ketamine_nmda_int_potency", "k_glutamat"]


@st.composite
def overrides(draw):
    params = draw(st.dictionaries(st.sampled_from(PARAMS), st.one_of(any_float, plausible), max_size=2))
    # few nodes: each new set of scaled or clamped nodes is a new model structure to compile (about 1.5 s)
    scale = draw(st.dictionaries(st.sampled_from(["trkb", "mtorc1", "trkbb"]), st.one_of(any_float, st.floats(0, 3)), max_size=1))
    clamps = draw(st.lists(st.tuples(st.sampled_from(["mtorc1", "mtorc"]), st.one_of(any_float, st.floats(0, 2)),
                                     short_time, short_time), max_size=1))
    return params, scale, clamps


@settings(max_examples=examples(1000), **FUZZ)
@given(overrides(), st.sampled_from(["ketamine 10 mg/kg ip", None]), st.booleans())
def test_fuzz_overrides(worker, count_case, ov, dose, via_cli):
    count_case("fuzz: parameter, scale and clamp overrides")
    params, scale, clamps = ov
    if via_cli:
        argv = ["simulate", "--hours", "0.5"] + (["--dose", dose] if dose else [])
        argv += [f"--param={k}={num_text(v)}" for k, v in params.items()]
        argv += [f"--scale={k}={num_text(v)}" for k, v in scale.items()]
        argv += [f"--clamp={n}={num_text(lv)} from {num_text(a)} h to {num_text(b)} h" for n, lv, a, b in clamps]
        case = ("cli", argv)
    else:
        from simulator import Clamp

        kw = dict(hours=0.5, params=params, scale=scale, clamp=[Clamp(n, lv, a, b) for n, lv, a, b in clamps])
        case = ("call", "simulate", ([dose] if dose else [],), kw)
    outcome = run_clean(worker, case)
    out_of_range = any(not (math.isfinite(v) and 0 <= v <= MAX_OVERRIDE) for v in params.values()) or any(
        not (math.isfinite(v) and 0 <= v <= MAX_FACTOR) for v in scale.values())
    if out_of_range:
        assert outcome[0] == "typed" or (outcome[0] == "cli" and outcome[1] == 2), f"an out-of-range override was accepted: {case!r}"


# ------------------------------------------------------------------------------------ regimen files
def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in v) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"


def toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else toml_value(k)


def toml_document(data: dict) -> str:
    lines = []
    for k, v in data.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for table in v:
                lines.append(f"[[{toml_key(k)}]]")
                lines += [f"{toml_key(a)} = {toml_value(b)}" for a, b in table.items()]
        else:
            lines.insert(0, f"{toml_key(k)} = {toml_value(v)}")
    return "\n".join(lines) + "\n"


scalar = st.one_of(st.text(max_size=12), st.integers(-10**20, 10**20), any_float, st.booleans())
leaf = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=2)),
                    max_leaves=6)
TABLE_KEYS = ["compound", "amount", "route", "at", "over", "for", "every", "count", "at_h", "dose"]
dose_table = st.fixed_dictionaries(
    {},
    optional={
        "compound": st.one_of(st.sampled_from(COMPOUNDS), leaf),
        "amount": st.one_of(st.builds(lambda a, u: f"{num_text(a)} {u}", st.one_of(plausible, any_float), st.sampled_from(UNITS)), leaf),
        "route": st.one_of(st.sampled_from(ROUTES), leaf),
        "at": st.one_of(time_text, leaf),
        "every": st.one_of(time_text, leaf),
        "over": st.one_of(time_text, leaf),
        "count": st.one_of(st.integers(-2, 2 * MAX_ADMINISTRATIONS), leaf),
        "at_h": leaf,
    },
)
regimen_data = st.fixed_dictionaries(
    {},
    optional={"doses": st.one_of(st.lists(dose_string, max_size=3), leaf), "dose": st.lists(dose_table, max_size=3),
              "dosez": leaf, "hours": leaf},
)
VALID_FILE = 'doses = ["ketamine 10 mg/kg ip"]\n[[dose]]\ncompound = "psilocybin"\namount = "1 mg/kg"\nroute = "ip"\nat = "10 min"\n'


@st.composite
def regimen_file(draw) -> bytes:
    how = draw(st.sampled_from(["generated", "generated", "generated", "bytes", "encoding", "mutated", "nested"]))
    if how == "generated":
        return toml_document(draw(regimen_data)).encode()
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "encoding":
        text = draw(st.sampled_from([VALID_FILE, VALID_FILE.replace("ketamine", "kétamine"), toml_document(draw(regimen_data))]))
        return text.encode(draw(st.sampled_from(["utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252"])), errors="replace")
    if how == "nested":
        depth = draw(st.integers(1, 3000))
        return ("doses = " + "[" * depth + '"ketamine 10 mg/kg ip"' + "]" * depth + "\n").encode()
    data = bytearray(VALID_FILE.encode())
    for pos, byte in draw(st.lists(st.tuples(st.integers(0, len(data)), st.integers(0, 255)), min_size=1, max_size=4)):
        data[pos % len(data):pos % len(data) + 1] = bytes([byte])
    return bytes(data)


@settings(max_examples=examples(1500), **FUZZ)
@given(regimen_file())
def test_fuzz_regimen_files(worker, count_case, data):
    count_case("fuzz: regimen files (generated TOML, bytes, encodings)")
    case = ("regimen_file", data, dict(hours=0.5))
    run_clean(worker, case)


# ------------------------------------------------------------------------------------ model files
MODEL_FILES = ["pathway.toml", "species.toml", "genotypes.toml", "compounds/ketamine.toml", "compounds/norketamine.toml",
               "compounds/psilocybin.toml"]


@st.composite
def corrupted_model(draw) -> dict[str, bytes]:
    import tomllib

    rel = draw(st.sampled_from(MODEL_FILES))
    raw = (MODELS / rel).read_bytes()
    how = draw(st.sampled_from(["value", "value", "value", "bytes", "truncate"]))
    if how == "bytes":
        data = bytearray(raw)
        for pos, byte in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), min_size=1, max_size=3)):
            data[pos] = byte
        return {rel: bytes(data)}
    if how == "truncate":
        return {rel: raw[: draw(st.integers(0, len(raw)))]}
    doc = tomllib.loads(raw.decode())
    node, path = doc, []
    while True:  # walk down to a random leaf (or stop early at a table)
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        k = draw(st.sampled_from(keys))
        path.append(k)
        if not isinstance(node[k], (dict, list)) or draw(st.integers(0, 5)) == 0:
            break
        node = node[k]
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    replacement = draw(st.one_of(
        any_float, st.integers(-10**20, 10**20), st.booleans(), st.text(max_size=10),
        st.sampled_from(["mg", "1/h", "nM", "1/um", "furlong", "ketamine", "norketamine", "x ** 1e308", "1/0", "exp(1e5)",
                         "glutamate ** glutamate", "hill(glutamate, 1, 1e308)", "sqrt(-1)", "", "wt", "1e-320"]),
        st.lists(scalar, max_size=3), st.dictionaries(st.text(max_size=5), scalar, max_size=2),
    ))
    if path:
        parent[path[-1]] = replacement
    return {rel: toml_document_nested(doc).encode()}


def toml_document_nested(doc: dict) -> str:
    """TOML for a model file: plain values first, then each table as an inline table under its key."""
    return "\n".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"


@settings(max_examples=examples(200), **FUZZ)
@given(corrupted_model(), st.sampled_from([["ketamine 10 mg/kg ip"], ["psilocybin 1 mg/kg ip"], []]))
def test_fuzz_model_files(worker, count_case, files, regimen):
    count_case("fuzz: model files (corrupted copies of models/)")
    case = ("with_models", files, ("call", "simulate", (regimen,), dict(hours=0.5)))
    run_clean(worker, case)


# ==================================================================================== issue 26: received data
# ------------------------------------------------------------------------------------ unit strings
UNIT_ATOMS = ["h", "min", "d", "s", "nM", "uM", "mg", "kg", "L", "um", "mol", "g", "1", "fold", "furlong", "µM", "μg", "x"]
unit_token = st.one_of(st.sampled_from(UNIT_ATOMS), st.sampled_from(["*", "/", "**", "^", "(", ")", " ", "-", "+", ".", "e"]),
                       st.sampled_from(["2", "-1", "0.5", "9**9**9", "1e308", "1e999", "99", "(1+1)", "10000000000000"]))
unit_text = st.one_of(st.lists(unit_token, max_size=12).map("".join), st.text(max_size=20),
                      st.builds(lambda u, p: f"{u}**{p}", st.sampled_from(UNIT_ATOMS), st.text("0123456789*()-+.e", max_size=12)))


@settings(max_examples=examples(2200), **FUZZ)
@given(unit_text)
def test_fuzz_unit_strings(worker, count_case, text):
    count_case("fuzz: unit strings of model files")
    run_clean(worker, ("unit", text))


# ------------------------------------------------------------------------------------ question and catalogue files
TEACHING = MODELS.parent / "simulator" / "classroom"
leaf = st.one_of(any_float, st.integers(-10**20, 10**20), st.booleans(), st.text(max_size=12),
                 st.sampled_from(["ketamine", "mouse", "peak", "compare", "which", "mtorc1", "<!--<script>", "mtorc1=0 from 2 h to 6 h",
                                  "x" * 5000, "mtorc1=0 from " + "1 " * 500]),
                 st.lists(st.one_of(st.integers(-5, 50), st.text(max_size=5)), max_size=3),
                 st.dictionaries(st.sampled_from(["label", "setting", "compound", "dose", "clamp", "cuts", "x"]), st.text(max_size=8), max_size=3))


@st.composite
def corrupted_teaching_file(draw) -> tuple[str, bytes]:
    """A question or catalogue file with one leaf (or table) replaced, some bytes changed, or cut short."""
    import tomllib

    loader = draw(st.sampled_from(["questions", "catalogue"]))
    raw = (TEACHING / f"{loader}.toml").read_bytes()
    how = draw(st.sampled_from(["value", "value", "value", "bytes", "truncate", "deep"]))
    if how == "bytes":
        data = bytearray(raw)
        for pos, byte in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), min_size=1, max_size=3)):
            data[pos] = byte
        return loader, bytes(data)
    if how == "truncate":
        return loader, raw[: draw(st.integers(0, len(raw)))]
    if how == "deep":
        n = draw(st.integers(20, 5000))
        return loader, b"x = " + b"[" * n + b"]" * n + b"\n"
    doc = tomllib.loads(raw.decode())
    node, path = doc, []
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        k = draw(st.sampled_from(keys))
        path.append(k)
        if not isinstance(node[k], (dict, list)) or draw(st.integers(0, 4)) == 0:
            break
        node = node[k]
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if path:
        parent[path[-1]] = draw(leaf)
    return loader, toml_document_nested(doc).encode()


@settings(max_examples=examples(1700), **FUZZ)
@given(corrupted_teaching_file())
def test_fuzz_question_and_catalogue_files(worker, count_case, file):
    count_case("fuzz: question and catalogue files")
    run_clean(worker, ("toml_file", *file))


# ------------------------------------------------------------------------------------ SBML near its limits
SB_M = 'xmlns="http://www.w3.org/1998/Math/MathML"'
SB_T = '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol>'


@st.composite
def sbml_near_limits(draw) -> str:
    """Math nested near MAX_MATH_DEPTH, chained rules, huge powers in triggers, duplicate and dangling ids."""
    from simulator.sbml.mathml import MAX_MATH_DEPTH

    def nested(depth: int) -> str:
        ops = draw(st.lists(st.sampled_from(["exp", "sin", "minus", "abs", "floor"]), min_size=1, max_size=3))
        return "".join(f"<apply><{ops[i % len(ops)]}/>" for i in range(depth)) + "<ci>k</ci>" + "</apply>" * depth

    depth = draw(st.integers(MAX_MATH_DEPTH - 6, MAX_MATH_DEPTH + 4))
    n_chain = draw(st.integers(0, 45))
    extra_params, rules = [], [f'<rateRule variable="x"><math {SB_M}><apply><times/><cn>-1</cn><ci>k</ci><ci>x</ci></apply></math></rateRule>']
    for i in range(1, n_chain + 1):
        prev = "k" if i == 1 else f"a{i - 1}"
        extra_params.append(f'<parameter id="a{i}" constant="false"/>')
        rules.append(f'<assignmentRule variable="a{i}"><math {SB_M}><apply><times/><ci>{prev}</ci><apply><plus/><ci>{prev}</ci>'
                     f'<cn>1</cn></apply></apply></math></assignmentRule>')
    where = draw(st.sampled_from(["trigger", "assignment", "none"]))
    if where == "assignment":
        extra_params.append('<parameter id="deep" constant="false"/>')
        rules.append(f'<assignmentRule variable="deep"><math {SB_M}>{nested(depth)}</math></assignmentRule>')
    trigger_rhs = draw(st.sampled_from([
        nested(depth) if where == "trigger" else "<cn>1</cn>",
        f"<ci>a{n_chain}</ci>" if n_chain else "<cn>2</cn>",
        f'<apply><power/><apply><plus/><ci>k</ci><cn>1</cn></apply><cn type="integer">{draw(st.integers(2, 10**6))}</cn></apply>',
    ]))
    target = draw(st.sampled_from(["x", "k", "r", "nope", "s"]))
    dup = '<parameter id="k" value="5" constant="true"/>' if draw(st.booleans()) and draw(st.booleans()) else ""
    factor = f' conversionFactor="{draw(st.sampled_from(["k", "nope", "x"]))}"' if draw(st.booleans()) else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">'
            '<model id="m"><listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>'
            f'<listOfSpecies><species id="s" compartment="c" initialAmount="1" hasOnlySubstanceUnits="false" boundaryCondition="false" '
            f'constant="false"{factor}/></listOfSpecies>'
            f'<listOfParameters><parameter id="x" value="1" constant="false"/><parameter id="k" value="0.5" constant="{str(target != "k").lower()}"/>'
            f'{dup}{"".join(extra_params)}</listOfParameters><listOfRules>{"".join(rules)}</listOfRules>'
            '<listOfReactions><reaction id="r" reversible="false"><listOfReactants><speciesReference species="s" stoichiometry="1" '
            f'constant="true"/></listOfReactants><kineticLaw><math {SB_M}><apply><times/><ci>k</ci><ci>s</ci></apply></math></kineticLaw>'
            '</reaction></listOfReactions><listOfEvents><event id="e" useValuesFromTriggerTime="true"><trigger initialValue="false" '
            f'persistent="true"><math {SB_M}><apply><gt/>{SB_T}{trigger_rhs}</apply></math></trigger><listOfEventAssignments>'
            f'<eventAssignment variable="{target}"><math {SB_M}><cn>1</cn></math></eventAssignment></listOfEventAssignments></event>'
            '</listOfEvents></model></sbml>')


@settings(max_examples=examples(600), **FUZZ)
@given(sbml_near_limits())
def test_fuzz_sbml_near_its_limits(worker, count_case, text):
    count_case("fuzz: SBML near its documented limits")
    run_clean(worker, ("sbml", text, 0.05))


# ------------------------------------------------------------------------------------ received sweep folders
SWEEP_KW = dict(regimen="ketamine 10 mg/kg ip", vary={"dose:0": [0.5, 1.0, 2.0]}, hours=6, chunk_size=1, workers=1,
                metrics=["mtorc1_peak_fold"])
FOLDER_ENTRIES = ["_lock", "_manifest.json", "chunk-000000.parquet", "chunk-000001.parquet", "chunk-000002.parquet",
                  "chunk-000007.parquet", ".chunk-000001.parquet.1.x.part", "_lock.{pid}.tmp"]
planted = st.one_of(
    st.binary(max_size=64), st.just(b""), st.just(b"[" * 40_000), st.just(b'{"sweep": ' * 50 + b"}"),
    st.sampled_from([("link", "victim"), ("link", "/dev/zero"), ("link", "/nonexistent"), ("fifo",), ("dir",)]),
    st.builds(lambda i: ("copy", f"chunk-{i:06d}.parquet"), st.integers(0, 2)),
)


@settings(max_examples=examples(300), **FUZZ)
@given(st.dictionaries(st.sampled_from(FOLDER_ENTRIES), planted, min_size=1, max_size=4))
def test_fuzz_received_sweep_folders(worker, count_case, plants):
    count_case("fuzz: received sweep folders (files, links, FIFOs, edited chunks)")
    run_clean(worker, ("sweep_folder", plants, SWEEP_KW))


# ------------------------------------------------------------------------------------ model folders: units, chains, special files
@st.composite
def hostile_model_folder(draw) -> dict:
    how = draw(st.sampled_from(["unit", "chain", "special", "deep"]))
    if how == "special":
        what = draw(st.sampled_from([("fifo",), ("link", "/dev/zero"), ("link", "/dev/urandom"), ("link", "/nonexistent")]))
        return {draw(st.sampled_from(["compounds/planted.toml", "species.toml"])): what}
    text = (MODELS / "pathway.toml").read_text(encoding="utf-8")
    if how == "unit":
        unit = draw(unit_text).replace("\\", "").replace('"', "")
        return {"pathway.toml": text.replace('unit = "1/h"', f'unit = "{unit}"', 1).encode()}
    if how == "deep":
        n = draw(st.integers(20, 10_000))
        return {"compounds/planted.toml": b"x = " + b"[" * n + b"]" * n + b"\n"}
    n = draw(st.integers(14, 60))  # past MAX_EXPANDED_NODES (a shorter chain compiles a new model: seconds, not a hostile case)
    lines = ['chain_0 = { expr = "glutamate", unit = "1", description = "x" }'] + [
        f'chain_{k} = {{ expr = "chain_{k - 1} * (chain_{k - 1} + 1)", unit = "1", description = "x" }}' for k in range(1, n + 1)]
    text = text.replace("[assignments]\n", "[assignments]\n" + "\n".join(lines) + "\n", 1)
    old = 'ode = "k_glutamate * (glutamate_drive - glutamate)"'
    return {"pathway.toml": text.replace(old, old[:-1] + f' + 0 * k_glutamate * chain_{n}"', 1).encode()}


@settings(max_examples=examples(200), **FUZZ)
@given(hostile_model_folder())
def test_fuzz_hostile_model_folders(worker, count_case, files):
    count_case("fuzz: model folders (units, chains, special files)")
    run_clean(worker, ("with_models", files, ("call", "simulate", (["ketamine 10 mg/kg ip"],), dict(hours=0.5))))
