"""Turn a flat model into fast Python functions, once: right-hand side, Jacobian, readouts.

The generated source is plain arithmetic over `y[i]` and `p[j]`, so the same text works for one
run (1-D arrays), for many members at once (arrays of shape (n, members)) and under numba. The
right-hand side and Jacobian are printed from the model's tape (`tape.py`: the Jacobian differentiated
op by op, no sympy diff), which the compiled kernel also runs; the readouts and initial values by sympy.
Non-integer powers use `pos(x) ** n`, so a solver's tiny negative overshoot never becomes NaN;
their derivatives use `dpow(x, m)`, which is 0 where pos(x) is flat (x < 0) instead of 0 ** m.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from ..model.compose import Carry, FlatModel
from .bounds import check_expanded
from .tape import Tape, UnsupportedExpression, build, python_source


def pos(x):
    """max(x, 0), elementwise; keeps non-integer powers real when a solver overshoots below 0."""
    return np.maximum(x, 0.0)


def ppow(x, n):
    """pos(x) ** n, elementwise (the tape's protected power)."""
    return pos(x) ** n


def dpow(x, m):
    """The derivative factor of pos(x)**n, with m = n - 1: x**m for x > 0 and 0 for x < 0, elementwise.

    Left of 0, pos(x)**n is flat, so 0 is the exact derivative there; printing the factor as
    pos(x)**m instead gave 0 ** (negative) = inf (and 1 for n = 1) wherever a Newton step of the
    steady-state search overshot below 0. At x = 0 it takes the one-sided derivative from the
    right where that is finite (1 for n = 1, 0 for n > 1, so a drug state starting at 0 keeps
    its slope) and 0 where that is infinite (n < 1).
    """
    inside = x > 0
    return np.where(inside, np.where(inside, x, 1.0) ** m, np.where((x == 0) & (m == 0), 1.0, 0.0))


class PPow(sp.Function):
    """x**n for non-integer n, printed as pos(x)**n, with the derivative n*PPow(x, n-1).

    sympy differentiates x**n as n*x**n/x, which is 0/0 at x = 0 (a drug-free state); this form
    stays finite there for n >= 1.
    """

    nargs = 2

    def fdiff(self, argindex=1):
        x, n = self.args
        if argindex == 1:
            return n * DPow(x, n - 1)
        return PPow(x, n) * sp.log(x)


class DPow(sp.Function):
    """The derivative factor of PPow (see `dpow`, as which it is printed)."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, m = self.args
        if argindex == 1:
            return m * DPow(x, m - 1)
        return DPow(x, m) * sp.log(x)


def _protect(expr: sp.Expr) -> sp.Expr:
    return expr.replace(lambda e: e.is_Pow and not e.exp.is_Integer, lambda e: PPow(e.base, e.exp))


class _Printer(PythonCodePrinter):
    def _print_PPow(self, expr):
        x, n = expr.args
        if n == 0:
            return "1.0"
        return f"pos({self._print(x)})**({self._print(n)})"

    def _print_DPow(self, expr):
        x, m = expr.args
        return f"dpow({self._print(x)}, {self._print(m)})"

    def _print_Integer(self, expr):  # numba types an integer literal as int64: a larger one (2**996) is a float
        return super()._print_Integer(expr) if abs(expr) <= _MAX_INT else repr(float(expr))

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        b = self.parenthesize(base, 100)
        if exp.is_Integer and abs(exp) <= _MAX_INT:
            return f"{b}**{int(exp)}" if exp > 0 else f"{b}**({int(exp)})"
        if exp == sp.S.Half:
            return f"np.sqrt(pos({self._print(base)}))"
        return f"pos({self._print(base)})**({self._print(exp)})"

    def _print_Function(self, expr):
        name = type(expr).__name__
        if name in ("exp", "log"):
            return f"np.{name}({self._print(expr.args[0])})"
        return super()._print_Function(expr)

    def _print_Max(self, expr):  # builtin max() refuses arrays (the batched readouts of an imported model with max(x, 0))
        return self._fold("np.maximum", expr.args)

    def _print_Min(self, expr):
        return self._fold("np.minimum", expr.args)

    def _fold(self, fn: str, args) -> str:
        text = self._print(args[0])
        for a in args[1:]:
            text = f"{fn}({text}, {self._print(a)})"
        return text

    def _print_Infinity(self, expr):  # sympy's default prints math.inf, and the namespace has no math
        return "np.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-np.inf)"

    def _print_NaN(self, expr):
        return "np.nan"

    def _print_exp(self, expr):
        return f"np.exp({self._print(expr.args[0])})"

    def _print_log(self, expr):
        return f"np.log({self._print(expr.args[0])})"


_MAX_INT = 2**53  # integers printed as such; above, as floats (exact up to here, and int64 in numba)
_printer = _Printer({"standard": "python3"})


def _expand(flat: FlatModel) -> dict[sp.Symbol, sp.Expr]:
    """Each assignment with the ones it uses substituted, after checking every substituted size (engine/bounds.py)."""
    done: dict[sp.Symbol, sp.Expr] = {}
    memo: dict = {}
    for name, expr in flat.assignments:
        done[sp.Symbol(name)] = expr.xreplace(done)
        check_expanded(name, done[sp.Symbol(name)], memo)  # before any recursive walk of it
    odes = [e.xreplace(done) for e in flat.odes]
    for state, e in zip(flat.states, odes, strict=True):
        check_expanded(f"d{state}/dt", e, memo)
    return done


def _rename(flat: FlatModel) -> dict[sp.Symbol, sp.Symbol]:
    ren = {sp.Symbol(s): sp.Symbol(f"y_{i}") for i, s in enumerate(flat.states)}
    ren.update({sp.Symbol(p): sp.Symbol(f"p_{j}") for j, p in enumerate(flat.params)})
    ren.update({sp.Symbol(name): sp.Symbol(f"a_{k}") for k, (name, _) in enumerate(flat.assignments)})
    return ren


Line = tuple[sp.Symbol, sp.Expr]


def _gradient(e: sp.Expr, grad: dict[sp.Symbol, dict[int, sp.Expr]]) -> dict[int, sp.Expr]:
    """The nonzero derivatives of `e` by each state, by the chain rule through the assignments (whose `grad` is known)."""
    out: dict[int, sp.Expr] = {}
    for s in e.free_symbols:
        g = grad.get(s)
        if not g:
            continue
        de = sp.diff(e, s)
        if de == 0:
            continue
        for j, dj in g.items():
            out[j] = out.get(j, sp.S.Zero) + de * dj
    return {j: d for j, d in out.items() if d != 0}


def _chain(lines: list[Line], n_states: int) -> tuple[list[Line], dict[sp.Symbol, dict[int, sp.Expr]]]:
    """Each assignment's derivatives by the states as lines of their own (`da_k_j`), each from its direct inputs.

    Differentiating the substituted equations instead made sympy walk and simplify the whole expanded tree
    for every entry: seconds to a minute per new model structure; this is linear in the assignments."""
    grad: dict[sp.Symbol, dict[int, sp.Expr]] = {sp.Symbol(f"y_{i}"): {i: sp.S.One} for i in range(n_states)}
    dlines: list[Line] = []
    for sym, e in lines:
        g = {}
        for j, d in _gradient(e, grad).items():
            if d.is_Atom:
                g[j] = d
            else:
                g[j] = sp.Symbol(f"d{sym.name}_{j}")
                dlines.append((g[j], d))
        grad[sym] = g
    return dlines, grad


def _needed(lines: list[Line], outputs: list[sp.Expr]) -> list[Line]:
    """The lines the outputs depend on, in order."""
    need = {s for e in outputs for s in e.free_symbols}
    keep = []
    for sym, e in reversed(lines):
        if sym in need:
            keep.append((sym, e))
            need |= e.free_symbols
    return keep[::-1]


def _function(name: str, args: str, lines: list[Line], outputs: list[sp.Expr], targets: list[str], n_states: int, n_params: int) -> str:
    used = {s.name for e in [e for _, e in lines] + outputs for s in e.free_symbols}
    text = [f"def {name}({args}):"]
    text += [f"    y_{i} = y[{i}]" for i in range(n_states) if f"y_{i}" in used]
    text += [f"    p_{j} = p[{j}]" for j in range(n_params) if f"p_{j}" in used]
    text += [f"    {sym} = {_printer.doprint(e)}" for sym, e in lines]
    text += [f"    {tgt} = {_printer.doprint(e)}" for tgt, e in zip(targets, outputs)]
    text.append("    return out" if "out" in args else "    return None")
    return "\n".join(text)


@dataclass
class Compiled:
    """The compiled functions of one model structure; parameter values and dose events come in at
    call time (`flat` is the first model of this structure: use it for names, not for events)."""

    flat: FlatModel
    source: str
    rhs_into: object
    jac_into: object
    observe_into: object
    init_into: object
    jac_pattern: np.ndarray
    key: str
    tape: Tape | None = field(default=None, repr=False)  # for the generic kernel; None where the tape lacks an operation

    @property
    def n_states(self) -> int:
        return len(self.flat.states)

    def rhs(self, t: float, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        return self.rhs_into(t, y, p, np.empty_like(y, dtype=float))

    def jac(self, t: float, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        n = self.n_states
        return self.jac_into(t, y, p, np.zeros((n, n) + np.shape(y)[1:]))

    def observe(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Readouts for states y of shape (n_states, ...) -> array (n_readouts, ...)."""
        out = np.empty((len(self.flat.readouts),) + np.shape(y)[1:])
        return self.observe_into(y, p, out)

    def initial(self, p: np.ndarray) -> np.ndarray:
        return self.init_into(p, np.empty(self.n_states))


def compile_model(flat: FlatModel) -> Compiled:
    """Generate and compile the model's functions (cached by structure)."""
    key = (tuple(flat.states), tuple(flat.params), tuple(flat.odes), tuple(flat.initial), tuple(flat.assignments),
           tuple((r[0], r[1]) for r in flat.readouts))
    return _compile_cached(key, Carry(flat))  # the expressions themselves: sympy hashes them once; printing them was slow


@lru_cache(maxsize=64)
def _compile_cached(key: tuple, carry: Carry) -> Compiled:
    (flat,) = carry.objects
    done = _expand(flat)  # checks the substituted sizes; the initial values use it
    ren = _rename(flat)
    n, n_params = len(flat.states), len(flat.params)
    lines = [(ren[sp.Symbol(name)], _protect(e.xreplace(ren))) for name, e in flat.assignments]
    odes = [_protect(e.xreplace(ren)) for e in flat.odes]
    try:
        tape = build(lines, odes, n, n_params)
        model = [python_source(tape, "rhs", n, n_params), python_source(tape, "jac", n, n_params)]
        pattern = tape.pattern
    except UnsupportedExpression:  # e.g. an imported model's piecewise: sympy differentiates, the model gets its own kernel
        tape = None
        model, pattern = _sympy_model(lines, odes, n, n_params)
    readouts = [e.xreplace(ren) for _, e, _ in flat.readouts]
    inits = [e.xreplace(done).xreplace(ren) for e in flat.initial]
    src = "\n\n".join(
        model + [
            _function("observe_into", "y, p, out", _needed(lines, readouts), readouts, [f"out[{i}]" for i in range(len(readouts))], n, n_params),
            _function("init_into", "p, out", [], inits, [f"out[{i}]" for i in range(len(inits))], n, n_params),
        ]
    )
    namespace: dict[str, object] = {"np": np, "pos": pos, "dpow": dpow, "ppow": ppow}
    exec(compile(src, f"<plasticity model {hashlib.sha1(src.encode()).hexdigest()[:8]}>", "exec"), namespace)
    return Compiled(
        flat,
        src,
        namespace["rhs_into"],
        namespace["jac_into"],
        namespace["observe_into"],
        namespace["init_into"],
        pattern,
        hashlib.sha1(src.encode()).hexdigest()[:12],
        tape,
    )


def _sympy_model(lines: list[Line], odes: list[sp.Expr], n: int, n_params: int) -> tuple[list[str], np.ndarray]:
    """rhs_into and jac_into printed from sympy (the Jacobian by the chain rule through the assignments), and J's structure."""
    dlines, grad = _chain(lines, n)
    entries, targets = [], []
    pattern = np.zeros((n, n), dtype=bool)
    for i, f in enumerate(odes):
        for j, d in sorted(_gradient(f, grad).items()):
            entries.append(d)
            targets.append(f"out[{i}, {j}]")
            pattern[i, j] = True
    rhs = _function("rhs_into", "t, y, p, out", _needed(lines, odes), odes, [f"out[{i}]" for i in range(n)], n, n_params)
    jac = _function("jac_into", "t, y, p, out", _needed(lines + dlines, entries), entries, targets, n, n_params)
    return [rhs, jac], pattern
