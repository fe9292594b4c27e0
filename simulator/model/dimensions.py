"""Dimensional check of the pathway's expressions: every parameter's unit must fit where it is used.

A rate given in "mg" (a mass) where the glutamate equation needs a rate (1/time) would be converted
and used silently; here it is a ModelFileError naming the expression and the units of the parameters
in it. Dimensions are pint's (time, length, substance ...); names the pathway does not define
(compound terms the composer adds) are left unchecked. The expressions are read with `ast` only:
nothing is evaluated, and anything outside the grammar is left to `_compose.parse_expr` to refuse.
"""

from __future__ import annotations

import ast

from .._errors import ModelFileError
from .._limits import MAX_EXPR_CHARS, MAX_EXPR_DEPTH
from .units import check_unit_text, ureg

Dim = object  # a pint UnitsContainer of dimensions, or None for "not known here"

SPECIES_UNITS = {"body_weight": "kg", "baseline_spine_density": "1/um", "baseline_head_diameter": "um"}
ENGAGEMENT_PREFIXES = {"occ_": "1", "drive_": "1", "halluc_": "1", "conc_": "nM"}


def dim(unit: str) -> Dim:
    text = str(unit).strip().replace("µ", "u").replace("μ", "u")
    if text not in ("", "1"):
        check_unit_text(text)
    return ureg.parse_units("dimensionless" if text in ("", "1") else text).dimensionality


DIMENSIONLESS = dim("1")
PER_HOUR = dim("1/h")


def show(d: Dim) -> str:
    return "dimensionless" if d == DIMENSIONLESS else str(d)


class _Mismatch(Exception):
    pass


class _Walker:
    def __init__(self, env: dict[str, Dim]):
        self.env = env

    def walk(self, node: ast.AST, depth: int = 0) -> Dim:
        if depth > MAX_EXPR_DEPTH:
            return None
        if isinstance(node, ast.Constant):
            return DIMENSIONLESS
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.UnaryOp):
            return self.walk(node.operand, depth + 1)
        if isinstance(node, ast.BinOp):
            a, b = self.walk(node.left, depth + 1), self.walk(node.right, depth + 1)
            if isinstance(node.op, (ast.Add, ast.Sub)):
                self.same(a, b, node.left, node.right)
                return a if a is not None else b
            if isinstance(node.op, ast.Mult):
                return None if a is None or b is None else a * b
            if isinstance(node.op, ast.Div):
                return None if a is None or b is None else a / b
            if isinstance(node.op, ast.Pow):
                self.same(b, DIMENSIONLESS, node.right, None)
                if a is None or a == DIMENSIONLESS:
                    return a
                if isinstance(node.right, ast.Constant) and isinstance(node.right.value, (int, float)):
                    return a ** node.right.value
                raise _Mismatch(f"{ast.unparse(node.left)} has units ({show(a)}) and is raised to a non-numeric power")
            return None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [self.walk(a, depth + 1) for a in node.args]
            name = node.func.id
            if name in ("exp", "log") and len(args) == 1:
                self.same(args[0], DIMENSIONLESS, node.args[0], None)
                return DIMENSIONLESS
            if name == "sqrt" and len(args) == 1:
                return None if args[0] is None else args[0] ** 0.5
            if name in ("hill", "nhill") and len(args) == 3:
                self.same(args[0], args[1], node.args[0], node.args[1])
                if name == "nhill":  # normalised to 1 at x = 1: x and K are folds
                    self.same(args[0], DIMENSIONLESS, node.args[0], None)
                self.same(args[2], DIMENSIONLESS, node.args[2], None)
                return DIMENSIONLESS
        return None

    @staticmethod
    def same(a: Dim, b: Dim, left: ast.AST, right: ast.AST | None) -> None:
        if a is None or b is None or a == b:
            return
        if right is None:
            raise _Mismatch(f"{ast.unparse(left)} has units ({show(a)}) where a plain number is needed")
        raise _Mismatch(f"{ast.unparse(left)} ({show(a)}) and {ast.unparse(right)} ({show(b)}) have different units")


def check_pathway_dimensions(pathway) -> None:
    """Every ODE is in its state's unit per hour, every initial value, assignment and readout in its declared unit."""
    file = pathway.file
    env: dict[str, Dim] = {}
    units: dict[str, str] = {}
    for name, unit in SPECIES_UNITS.items():
        env[name], units[name] = dim(unit), unit
    for t in pathway.targets.values():
        for prefix, unit in ENGAGEMENT_PREFIXES.items():
            env[prefix + t.name] = dim(unit)
    declared: dict[str, tuple[str, str]] = {}  # name -> (key, unit) of what each name's unit comes from
    for name, s in pathway.states.items():
        declared[name] = (f"states.{name}.unit", s.unit)
    for name, a in pathway.assignments.items():
        declared[name] = (f"assignments.{name}.unit", a.unit)
    for name, (key, unit) in declared.items():
        try:
            env[name], units[name] = dim(unit), unit
        except Exception:  # pint raises several types for unknown units
            raise ModelFileError(file, key, f"unknown unit {unit!r}") from None
    for e in pathway.edges.values():
        env[e.name], units[e.name] = env.get(e.source), units.get(e.source, "?")
    for name, p in pathway.parameters.items():
        env[name], units[name] = dim(p.unit), p.unit
    checks = []
    for name, s in pathway.states.items():
        checks.append((f"states.{name}.ode", s.ode, env[name] * PER_HOUR, f"{s.unit} per hour"))
        checks.append((f"states.{name}.initial", s.initial, env[name], s.unit))
    for name, a in pathway.assignments.items():
        checks.append((f"assignments.{name}", a.expr, env[name], a.unit))
    for name, r in pathway.readouts.items():
        try:
            want = dim(r.unit)
        except Exception:
            raise ModelFileError(file, f"readouts.{name}.unit", f"unknown unit {r.unit!r}") from None
        checks.append((f"readouts.{name}", r.expr, want, r.unit))
    walker = _Walker(env)
    for key, text, want, want_text in checks:
        if not isinstance(text, str) or len(text) > MAX_EXPR_CHARS:
            continue  # refused with its reason when the model is composed
        try:
            tree = ast.parse(text.strip(), mode="eval")
            got = walker.walk(tree.body)
            if got is not None and got != want:
                raise _Mismatch(f"the expression has units ({show(got)}), expected {want_text} ({show(want)})")
        except _Mismatch as exc:
            names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in pathway.parameters})
            hint = f"; check the units of {', '.join(f'{n} ({show(env[n])})' for n in names)}" if names else ""
            raise ModelFileError(file, key, f"units do not fit: {exc}{hint}") from None
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            continue  # refused with its reason when the model is composed
