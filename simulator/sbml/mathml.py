"""SBML MathML (libsbml ASTs) to sympy, with IEEE meanings where sympy would fold to complex or zoo.

Booleans and numbers mix in SBML (`true * 2`, `piecewise(x, 1, ...)`), so every node is turned into
the kind its parent needs: a number (a boolean becomes 1 or 0) or a condition (a number becomes x != 0).
Numbers that sympy would make complex (`ln(-1)`, `(-8)^0.5`) become NaN, `1/0` becomes +inf, as in
C and libRoadRunner. Depth is checked iteratively before any recursion (`check_depth`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import sympy as sp
from sympy.logic.boolalg import Boolean

TIME = sp.Symbol("t", real=True)  # prints as the generated functions' own `t`; never equal to an SBML id's Symbol
AVOGADRO = 6.02214179e23  # the value SBML L3 fixes for the avogadro csymbol
MAX_MATH_DEPTH = 100  # nesting of one math element (after function definitions are expanded); the deepest in the SBML
# Test Suite is under 20. sympy's walks (assumptions, substitution, printing) take several Python frames a level: at 200,
# nested exp() overflowed Python's recursion limit


class RateOf(sp.Function):
    """rateOf(x): replaced by the time derivative of x once every rule and reaction is known."""

    nargs = 1


class Rem(sp.Function):
    """rem(a, b): C fmod (the sign of the dividend), unlike sympy's Mod."""

    nargs = 2


class Quotient(sp.Function):
    """quotient(a, b): a / b truncated towards zero."""

    nargs = 2


class Factorial(sp.Function):
    """factorial(x) = gamma(x + 1), for any real x as libRoadRunner."""

    nargs = 1


class MathError(Exception):
    """Raised with (problem, feature or None); the importer adds the element and the file."""

    def __init__(self, problem: str, feature: str | None = None):
        super().__init__(problem)
        self.problem, self.feature = problem, feature


def check_depth(ast, limit: int = MAX_MATH_DEPTH) -> None:
    """Raise MathError if the AST nests deeper than `limit` (iterative: safe on any depth)."""
    stack = [(ast, 1)]
    while stack:
        node, d = stack.pop()
        if d > limit:
            raise MathError(f"math nested more than {limit} levels deep (import limit MAX_MATH_DEPTH = {limit})", None)
        for i in range(node.getNumChildren()):
            stack.append((node.getChild(i), d + 1))


def is_bool(e) -> bool:
    """A condition (comparison, logic, true/false); a Symbol is a sympy Boolean too, but a number here."""
    return isinstance(e, Boolean) and not isinstance(e, sp.Expr)


def num(e) -> sp.Expr:
    """e as a number: a condition becomes 1 (true) or 0 (false)."""
    if is_bool(e):
        if e is sp.true:
            return sp.Integer(1)
        if e is sp.false:
            return sp.Integer(0)
        return sp.Piecewise((sp.Integer(1), e), (sp.Integer(0), True))
    return e


def cond(e) -> Boolean:
    """e as a condition: a number is true where it is not 0."""
    if is_bool(e):
        return e
    return sp.Ne(e, 0)


def _fold(e: sp.Expr) -> sp.Expr:
    """A constant that sympy left complex or undefined becomes NaN (as C's libm gives)."""
    if not is_bool(e) and e.is_number:
        if e.has(sp.I) or e.has(sp.zoo) or e is sp.nan or (e.is_real is False):
            return sp.nan
    return e


def _divide(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    if b.is_number and b.is_zero:
        if a.is_number:
            if a.is_zero or a is sp.nan:
                return sp.nan
            return sp.oo if a.is_positive else (-sp.oo if a.is_negative else sp.nan)
        return a * sp.oo  # IEEE: x/0 is +-inf by the sign of x, 0/0 NaN
    return _fold(a / b)


def _power(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    if a.is_number and b.is_number:
        with np.errstate(all="ignore"):
            try:
                v = float(np.power(float(a), float(b)))
            except (TypeError, ValueError):
                return sp.nan
        if b.is_Integer and a.is_Rational and abs(int(b)) < 64 and not (a.is_zero and b.is_negative):
            return a**b
        return sp.Float(v) if math.isfinite(v) else (sp.oo if v > 0 else (-sp.oo if v < 0 else sp.nan))
    return sp.Pow(a, b)


_UNARY: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "AST_FUNCTION_EXP": sp.exp,
    "AST_FUNCTION_LN": sp.log,
    "AST_FUNCTION_ABS": sp.Abs,
    "AST_FUNCTION_FLOOR": sp.floor,
    "AST_FUNCTION_CEILING": sp.ceiling,
    "AST_FUNCTION_FACTORIAL": Factorial,
    "AST_FUNCTION_SIN": sp.sin,
    "AST_FUNCTION_COS": sp.cos,
    "AST_FUNCTION_TAN": sp.tan,
    "AST_FUNCTION_SINH": sp.sinh,
    "AST_FUNCTION_COSH": sp.cosh,
    "AST_FUNCTION_TANH": sp.tanh,
    "AST_FUNCTION_ARCSIN": sp.asin,
    "AST_FUNCTION_ARCCOS": sp.acos,
    "AST_FUNCTION_ARCTAN": sp.atan,
    "AST_FUNCTION_ARCSINH": sp.asinh,
    "AST_FUNCTION_ARCCOSH": sp.acosh,
    "AST_FUNCTION_ARCTANH": sp.atanh,
    "AST_FUNCTION_SEC": lambda x: 1 / sp.cos(x),
    "AST_FUNCTION_CSC": lambda x: 1 / sp.sin(x),
    "AST_FUNCTION_COT": lambda x: 1 / sp.tan(x),
    "AST_FUNCTION_SECH": lambda x: 1 / sp.cosh(x),
    "AST_FUNCTION_CSCH": lambda x: 1 / sp.sinh(x),
    "AST_FUNCTION_COTH": lambda x: 1 / sp.tanh(x),
    "AST_FUNCTION_ARCSEC": lambda x: sp.acos(1 / x),
    "AST_FUNCTION_ARCCSC": lambda x: sp.asin(1 / x),
    "AST_FUNCTION_ARCCOT": lambda x: sp.atan(1 / x),
    "AST_FUNCTION_ARCSECH": lambda x: sp.acosh(1 / x),
    "AST_FUNCTION_ARCCSCH": lambda x: sp.asinh(1 / x),
    "AST_FUNCTION_ARCCOTH": lambda x: sp.atanh(1 / x),
}
_REL = {
    "AST_RELATIONAL_EQ": sp.Eq,
    "AST_RELATIONAL_NEQ": sp.Ne,
    "AST_RELATIONAL_GT": sp.Gt,
    "AST_RELATIONAL_GEQ": sp.Ge,
    "AST_RELATIONAL_LT": sp.Lt,
    "AST_RELATIONAL_LEQ": sp.Le,
}


class MathReader:
    """Converts libsbml ASTs to sympy; `symbols` maps SBML ids to what they mean in expressions."""

    def __init__(self, libsbml, symbols: Mapping[str, sp.Expr]):
        self.ls = libsbml
        self.symbols = symbols
        self.names = {getattr(libsbml, n): n for n in dir(libsbml) if n.startswith("AST_")}

    def read(self, ast) -> sp.Expr:
        if ast is None:
            raise MathError("has no math", "an element without math")
        return self._node(ast)

    def _node(self, ast):
        ls = self.ls
        t = ast.getType()
        name = self.names.get(t, str(t))
        kids = [ast.getChild(i) for i in range(ast.getNumChildren())]

        def n(i: int) -> sp.Expr:
            return num(self._node(kids[i]))

        if t == ls.AST_NAME:
            sid = ast.getName()
            if sid not in self.symbols:
                raise MathError(f"refers to unknown id '{sid}'")
            return self.symbols[sid]
        if t == ls.AST_NAME_TIME:
            return TIME
        if t == ls.AST_NAME_AVOGADRO:
            return sp.Float(AVOGADRO)
        if t == ls.AST_INTEGER:
            return sp.Integer(ast.getInteger())
        if t in (ls.AST_REAL, ls.AST_REAL_E):
            v = ast.getReal()
            if math.isnan(v):
                return sp.nan
            if math.isinf(v):
                return sp.oo if v > 0 else -sp.oo
            return sp.Float(v, 17)
        if t == ls.AST_RATIONAL:
            return sp.Rational(ast.getNumerator(), ast.getDenominator())
        if t == ls.AST_CONSTANT_E:
            return sp.E
        if t == ls.AST_CONSTANT_PI:
            return sp.pi
        if t == ls.AST_CONSTANT_TRUE:
            return sp.true
        if t == ls.AST_CONSTANT_FALSE:
            return sp.false
        if t == ls.AST_PLUS:
            return _fold(sp.Add(*[n(i) for i in range(len(kids))])) if kids else sp.Integer(0)
        if t == ls.AST_TIMES:
            return _fold(sp.Mul(*[n(i) for i in range(len(kids))])) if kids else sp.Integer(1)
        if t == ls.AST_MINUS:
            return -n(0) if len(kids) == 1 else _fold(n(0) - n(1))
        if t == ls.AST_DIVIDE:
            return _divide(n(0), n(1))
        if t in (ls.AST_POWER, ls.AST_FUNCTION_POWER):
            return _power(n(0), n(1))
        if t == ls.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return _power(n(0), sp.Rational(1, 2))
            return _power(n(1), _divide(sp.Integer(1), n(0)))
        if t == ls.AST_FUNCTION_LOG:
            if len(kids) == 1:
                return _divide(_fold(sp.log(n(0))), sp.log(10))
            return _divide(_fold(sp.log(n(1))), _fold(sp.log(n(0))))
        if name in _UNARY:
            if len(kids) != 1:
                raise MathError(f"{name[13:].lower()} takes one argument, got {len(kids)}")
            return _fold(_UNARY[name](n(0)))
        if t == ls.AST_FUNCTION_MAX or t == ls.AST_FUNCTION_MIN:
            args = [n(i) for i in range(len(kids))]
            if not args:
                raise MathError("min/max without arguments")
            return (sp.Max if t == ls.AST_FUNCTION_MAX else sp.Min)(*args)
        if t == ls.AST_FUNCTION_REM:
            return Rem(n(0), n(1))
        if t == ls.AST_FUNCTION_QUOTIENT:
            return Quotient(n(0), n(1))
        if name in _REL:
            args = [n(i) for i in range(len(kids))]
            if len(args) < 2:
                return sp.true
            rel = _REL[name]
            if rel is sp.Ne and len(args) > 2:
                return sp.And(*[sp.Ne(a, b) for i, a in enumerate(args) for b in args[i + 1 :]])
            return sp.And(*[rel(a, b) for a, b in zip(args, args[1:])])
        if t in (ls.AST_LOGICAL_AND, ls.AST_LOGICAL_OR, ls.AST_LOGICAL_XOR):
            args = [cond(self._node(k)) for k in kids]
            op = {ls.AST_LOGICAL_AND: sp.And, ls.AST_LOGICAL_OR: sp.Or, ls.AST_LOGICAL_XOR: sp.Xor}[t]
            return op(*args)
        if t == ls.AST_LOGICAL_NOT:
            return sp.Not(cond(self._node(kids[0])))
        if t == ls.AST_LOGICAL_IMPLIES:
            return sp.Implies(cond(self._node(kids[0])), cond(self._node(kids[1])))
        if t == ls.AST_FUNCTION_PIECEWISE:
            pieces = []
            for i in range(0, len(kids) - 1, 2):
                pieces.append((n(i), cond(self._node(kids[i + 1]))))
            pieces.append((n(len(kids) - 1) if len(kids) % 2 else sp.nan, True))
            return sp.Piecewise(*pieces)
        if t == ls.AST_FUNCTION_RATE_OF:
            target = kids[0] if kids else None
            if target is None or target.getType() != ls.AST_NAME:
                raise MathError("rateOf() of something other than an id", "rateOf of an expression")
            return RateOf(self._node(target))
        if t == ls.AST_FUNCTION_DELAY:
            raise MathError("uses delay()", "delay() in math (delay differential equations)")
        if t == ls.AST_FUNCTION:
            raise MathError(f"calls function '{ast.getName()}', which is not defined")
        if t == ls.AST_LAMBDA:
            raise MathError("has a lambda outside a function definition")
        raise MathError(f"uses MathML '{name}'", f"MathML element '{name}'")
