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
