"""Turn a flat model into fast Python functions, once: right-hand side, Jacobian, readouts.

The generated source is plain arithmetic over `y[i]` and `p[j]`, so the same text works for one
run (1-D arrays), for many members at once (arrays of shape (n, members)) and under numba.
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


def pos(x):
    """max(x, 0), elementwise; keeps non-integer powers real when a solver overshoots below 0."""
    return np.maximum(x, 0.0)


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

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        b = self.parenthesize(base, 100)
        if exp.is_Integer:
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


_printer = _Printer({"standard": "python3"})


def _expand(flat: FlatModel) -> tuple[dict[sp.Symbol, sp.Expr], list[sp.Expr]]:
    done: dict[sp.Symbol, sp.Expr] = {}
    memo: dict = {}
    for name, expr in flat.assignments:
        done[sp.Symbol(name)] = expr.xreplace(done)
        check_expanded(name, done[sp.Symbol(name)], memo)  # before any recursive walk of it
    odes = [e.xreplace(done) for e in flat.odes]
    for state, e in zip(flat.states, odes, strict=True):
        check_expanded(f"d{state}/dt", e, memo)
    return done, [_protect(e) for e in odes]


def _rename(flat: FlatModel) -> dict[sp.Symbol, sp.Symbol]:
    ren = {sp.Symbol(s): sp.Symbol(f"y_{i}") for i, s in enumerate(flat.states)}
    ren.update({sp.Symbol(p): sp.Symbol(f"p_{j}") for j, p in enumerate(flat.params)})
    return ren


def _function(name: str, args: str, flat: FlatModel, exprs: list[sp.Expr], targets: list[str], used: set[str]) -> str:
    subs, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("c_"), optimizations="basic")
    lines = [f"def {name}({args}):"]
    for i in range(len(flat.states)):
        if f"y_{i}" in used:
            lines.append(f"    y_{i} = y[{i}]")
    for j in range(len(flat.params)):
        if f"p_{j}" in used:
            lines.append(f"    p_{j} = p[{j}]")
    for sym, e in subs:
        lines.append(f"    {sym} = {_printer.doprint(e)}")
    for tgt, e in zip(targets, reduced):
        lines.append(f"    {tgt} = {_printer.doprint(e)}")
    lines.append("    return out" if "out" in args else "    return None")
    return "\n".join(lines)


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
    exprs: tuple = field(default=(), repr=False)  # (rhs, Jacobian entries, their (row, column)) over y_i, p_j, t: for `tape`

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
    return _compile_cached(flat.structure_key, Carry(flat))


@lru_cache(maxsize=64)
def _compile_cached(key: tuple, carry: Carry) -> Compiled:
    (flat,) = carry.objects
    done, odes = _expand(flat)
    ren = _rename(flat)
    odes_r = [e.xreplace(ren) for e in odes]
    ys = [sp.Symbol(f"y_{i}") for i in range(len(flat.states))]
    jac_entries, jac_targets, jac_index = [], [], []
    pattern = np.zeros((len(ys), len(ys)), dtype=bool)
    for i, f in enumerate(odes_r):
        syms = f.free_symbols
        for j, y in enumerate(ys):
            if y in syms:
                d = sp.diff(f, y)
                if d != 0:
                    jac_entries.append(d)
                    jac_targets.append(f"out[{i}, {j}]")
                    jac_index.append((i, j))
                    pattern[i, j] = True
    readouts = [e.xreplace(done).xreplace(ren) for _, e, _ in flat.readouts]
    inits = [e.xreplace(done).xreplace(ren) for e in flat.initial]

    def used(exprs):
        return {s.name for e in exprs for s in e.free_symbols}

    src = "\n\n".join(
        [
            _function("rhs_into", "t, y, p, out", flat, odes_r, [f"out[{i}]" for i in range(len(ys))], used(odes_r)),
            _function("jac_into", "t, y, p, out", flat, jac_entries, jac_targets, used(jac_entries)),
            _function("observe_into", "y, p, out", flat, readouts, [f"out[{i}]" for i in range(len(readouts))], used(readouts)),
            _function("init_into", "p, out", flat, inits, [f"out[{i}]" for i in range(len(inits))], used(inits)),
        ]
    )
    namespace: dict[str, object] = {"np": np, "pos": pos, "dpow": dpow}
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
        (odes_r, jac_entries, jac_index),
    )
