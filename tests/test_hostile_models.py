"""Model files are data, never code: hostile expressions end in a ModelFileError and run nothing.

An earlier parser checked an expression with `ast` and then handed the text to sympy, which re-read
it differently (it drops newlines), so a crafted string literal smuggled code past the check. The
expression is now built from the checked syntax tree itself; these cases are the payload that worked
then and its variants (newline, backslash, unicode escape, comment, triple quotes, dunder access).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import simulator
from simulator import ModelFileError, PlasticityError
from simulator.cli import main

REPO_MODELS = Path(__file__).resolve().parent.parent / "models"
CLEAN = "k_glutamate * (glutamate_drive - glutamate)"


def payloads(marker: Path) -> list[str]:
    cmd = f'__import__("os").system("touch {marker}")'
    return [
        CLEAN + " + 0*('\\\n', ' , " + cmd + ")[1] #')",  # the reported payload: '\<newline>' is '' to ast, an escaped quote to sympify
        CLEAN + " + 0*('\\\r\n', ' , " + cmd + ")[1] #')",
        CLEAN + " + 0*('\\\n\\\n', ' , " + cmd + ")[1] #')",
        CLEAN + " + 0*(" + cmd + ")",
        CLEAN + " + 0*('\\u0027 + " + cmd.replace('"', "\\u0022") + "')",
        CLEAN + " # " + cmd,
        CLEAN + ' + 0*"""\n""" + ' + cmd,
        CLEAN + " + (lambda: " + cmd + ")()",
        CLEAN + " + glutamate.__class__.__mro__[1]",
        CLEAN + " + exp.__globals__",
        "exec('import os')",
        "'" + cmd + "'",
    ]


@pytest.fixture
def models(tmp_path: Path) -> Path:
    dst = tmp_path / "models"
    shutil.copytree(REPO_MODELS, dst)
    return dst


def _plant(models: Path, field: str, expression: str) -> None:
    """Put `expression` into one field of pathway.toml as a TOML literal that keeps every character."""
    path = models / "pathway.toml"
    text = path.read_text(encoding="utf-8")
    escaped = expression.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    old = f'ode = "{CLEAN}"' if field == "ode" else None
    assert old and text.count(old) == 1
    path.write_text(text.replace(old, f'ode = "{escaped}"'))


@pytest.mark.parametrize("i", range(12))
def test_a_model_file_never_runs_code(models, tmp_path, monkeypatch, capsys, i):
    marker = tmp_path / f"pwned-{i}"
    expression = payloads(marker)[i]
    _plant(models, "ode", expression)
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    with pytest.raises(ModelFileError) as info:
        simulator.simulate(["ketamine 10 mg/kg ip"], hours=1)
    assert "pathway.toml" in str(info.value) and "states.glutamate.ode" in str(info.value)
    for argv in (["simulate", "--dose", "ketamine 10 mg/kg ip", "--hours", "1"], ["show-model"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert not marker.exists(), "the model file ran code"


def test_the_parser_builds_what_the_text_says():
    import sympy as sp

    from simulator.model.compose import parse_expr

    known = {"a", "b", "x"}
    assert parse_expr("a * (b - x) ** 2 / 4", known, "f", "k") == sp.Symbol("a") * (sp.Symbol("b") - sp.Symbol("x")) ** 2 / 4
    assert parse_expr("-x + hill(x, a, 2)", known, "f", "k") == -sp.Symbol("x") + sp.Symbol("x") ** 2 / (sp.Symbol("x") ** 2 + sp.Symbol("a") ** 2)
    assert parse_expr("2 ** 3 * x ** 0.5", known, "f", "k") == 8 * sp.Symbol("x") ** sp.Float(0.5)


@pytest.mark.parametrize(
    "expression, words",
    [
        ("1/0", "infinite"),
        ("log(0)", "infinite"),
        ("sqrt(-1)", "complex"),
        ("9**9**9", "constant power"),
        ("1e999", "finite"),
        ("(" * 500 + "x" + ")" * 500, "nested"),
        ("-" * 200 + "x", "nested"),
        ("x + " * 10_000 + "x", "characters"),
        ("True", "constant"),
        ("'text'", "constant"),
        ("x if a else b", "unsupported syntax"),
        ("x < a", "unsupported syntax"),
        ("x ^ 2", "'**'"),
        ("exp(x, a)", "argument"),
        ("hill(x, a, n=2)", "positional"),
        ("exp", "without arguments"),
        ("x // a", "unsupported operator"),
    ],
)
def test_bad_expressions_are_model_file_errors(expression, words):
    from simulator.model.compose import parse_expr

    with pytest.raises(ModelFileError, match="f: k:") as info:
        parse_expr(expression, {"x", "a", "b"}, "f", "k")
    assert words in str(info.value)


@pytest.mark.parametrize("value", [None, 3, ["x"], {"a": 1}])
def test_an_expression_that_is_not_a_string_is_refused(value):
    from simulator.model.compose import parse_expr

    with pytest.raises(PlasticityError, match="expected an expression as a string"):
        parse_expr(value, {"x"}, "f", "k")


def test_no_eval_or_sympify_of_model_text():
    """The guard against regressions: the composer never hands text to sympy's parser."""
    source = (Path(simulator.__file__).parent / "model" / "compose.py").read_text(encoding="utf-8")
    for call in ("sympify(", "sp.parse_expr(", "sympy.parsing", "eval(", "exec("):
        assert call not in source, call


# ------------------------------------------------------------------------------------ issue 26: units, chains, special files
def _assignments(models: Path, lines: list[str], used: str) -> None:
    """Prepend assignments to pathway.toml and make glutamate's equation use `used` (times 0, in its units)."""
    path = models / "pathway.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count("[assignments]\n") == 1 and text.count(f'ode = "{CLEAN}"') == 1
    text = text.replace("[assignments]\n", "[assignments]\n" + "\n".join(lines) + "\n", 1)
    path.write_text(text.replace(f'ode = "{CLEAN}"', f'ode = "{CLEAN} + 0 * k_glutamate * {used}"', 1))


def _one_line_error(capsys) -> str:
    assert main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--hours", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("unit, words", [("h**(9**9**9)", "literal number"), ("h**99", "at most"), ("h^(1+1)", "literal number"),
                                         ("1e999 h", "above"), ("h;import os", "unexpected character"), ("((((( h)))))", "nested")])
def test_a_unit_outside_our_grammar_never_reaches_pint(models, monkeypatch, capsys, unit, words):
    import re
    import time

    path = models / "pathway.toml"
    text, n = re.subn(r'(k_glutamate = \{ value = [^,]+, unit = )"[^"]+"', lambda m: m[1] + '"' + unit + '"', path.read_text(encoding="utf-8"), count=1)
    assert n == 1
    path.write_text(text)
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    t0 = time.monotonic()
    assert "parameters.k_glutamate.unit" in _one_line_error(capsys)
    with pytest.raises(ModelFileError, match=re.escape(words)):
        simulator.load_library()
    assert time.monotonic() - t0 < 20


def test_a_chain_of_assignments_is_refused_at_a_size_not_expanded(models, monkeypatch, capsys):
    import time

    n = 40  # doubling with each line: 2**40 terms as a tree
    lines = ['chain_0 = { expr = "glutamate", unit = "1", description = "x" }'] + [
        f'chain_{k} = {{ expr = "chain_{k - 1} * (chain_{k - 1} + 1)", unit = "1", description = "x" }}' for k in range(1, n + 1)]
    _assignments(models, lines, f"chain_{n}")
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    t0 = time.monotonic()
    err = _one_line_error(capsys)
    assert "MAX_EXPANDED_NODES" in err and "chain_" in err and time.monotonic() - t0 < 20


def test_assignments_nested_within_the_limit_each_but_deep_together_are_refused(models, monkeypatch, capsys):
    lines, prev = [], "glutamate"
    for k in range(4):
        lines.append(f'deep_{k} = {{ expr = "{"exp(" * 25 + prev + ")" * 25}", unit = "1", description = "x" }}')
        prev = f"deep_{k}"
    _assignments(models, lines, prev)
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    err = _one_line_error(capsys)
    assert "MAX_EXPR_DEPTH" in err and "deep_" in err


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge", "deep"])
def test_a_compound_file_that_is_special_or_huge_is_refused_at_once(models, monkeypatch, capsys, kind):
    import os

    target = models / "compounds" / "planted.toml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    elif kind == "huge":
        with open(target, "wb") as fh:
            fh.truncate(64 * 2**20)
    else:
        target.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    err = _one_line_error(capsys)
    assert "planted.toml" in err and ("regular" in err or "limit" in err or "MAX_JSON_DEPTH" in err), err


def test_an_integer_beyond_int64_in_an_expression_compiles(models, monkeypatch):
    """`x ** (2 ** 996)` folded to an exact integer once reached numba as an int literal it cannot type (TypingError)."""
    from simulator import SimulationError

    path = models / "pathway.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(f'ode = "{CLEAN}"') == 1
    path.write_text(text.replace(f'ode = "{CLEAN}"', f'ode = "{CLEAN} * (glutamate / (glutamate + 1)) ** (2 ** 996)"', 1))
    monkeypatch.setenv("PLASTICITY_MODELS", str(models))
    try:
        simulator.simulate(["ketamine 10 mg/kg ip"], hours=0.5)
    except SimulationError:
        pass  # the rate law is extreme (a power of 2**996): a typed failure of the run is a fine answer; a TypingError is not
