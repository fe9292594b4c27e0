"""A model's right-hand side and Jacobian as a tape of register operations, run by one compiled interpreter.

The generic kernel (`interpreter.py` + `kernel.py`) is compiled once per engine version; a model
reaches it as arrays, so a new compound, species, condition, pretreatment or cut costs no compile.
Registers: the states, the parameters, the time, the constants, then the temporaries of the tape.
Each operation is a row (opcode, destination, a, b) of int64; `a` and `b` are registers (for IPOW
`b` is the whole exponent itself). The sparse LU of I - cJ runs over index arrays of the fill pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

ADD, SUB, MUL, DIV, PPOW, DPOW, IPOW, LOG, EXP, NEG, SQRT = range(11)
MAX_IPOW = 2**62  # the largest whole exponent kept in an op's int64 row


class UnsupportedExpression(ValueError):
    """An expression the tape has no operation for (the generated-code path takes such a model)."""


@dataclass(frozen=True)
class Tape:
    """The arrays the generic kernel runs; `args()` is what the kernel takes as its model argument."""

    rhs_ops: np.ndarray
    jac_ops: np.ndarray
    registers: np.ndarray  # initial register file: constants filled in, the rest 0
    rhs_out: np.ndarray  # register of each state's derivative
    jac_out: np.ndarray  # (entries, 3): row, column, register
    fill: np.ndarray  # (entries, 2) of the LU fill pattern
    upper_ptr: np.ndarray
    upper_idx: np.ndarray
    below_ptr: np.ndarray
    below_idx: np.ndarray
    lower_ptr: np.ndarray
    lower_idx: np.ndarray
    pattern: np.ndarray  # J's structure (states x states)

    def args(self) -> tuple:
        return (self.rhs_ops, self.jac_ops, self.registers, self.rhs_out, self.jac_out, self.fill,
                self.upper_ptr, self.upper_idx, self.below_ptr, self.below_idx, self.lower_ptr, self.lower_idx)


class _Emitter:
    """Writes sympy expressions as operations, one register per distinct subexpression."""

    def __init__(self, names: dict[sp.Symbol, int], consts: dict[float, int], n_fixed: list[int]):
        self.names = names  # symbols with a register: states, parameters, t, and CSE temporaries
        self.consts = consts  # shared between the rhs and Jacobian tapes (one register file)
        self.n_fixed = n_fixed  # [next free register], shared
        self.ops: list[tuple[int, int, int, int]] = []
        self.memo: dict[sp.Expr, int] = {}

    def _new(self) -> int:
        r = self.n_fixed[0]
        self.n_fixed[0] += 1
        return r

    def const(self, v: float) -> int:
        v = float(v)
        if v not in self.consts:
            self.consts[v] = self._new()
        return self.consts[v]

    def op(self, code: int, a: int, b: int = 0) -> int:
        dst = self._new()
        self.ops.append((code, dst, a, b))
        return dst

    def emit(self, e: sp.Expr) -> int:
        if e in self.memo:
            return self.memo[e]
        r = self._emit(e)
        self.memo[e] = r
        return r

    def _emit(self, e: sp.Expr) -> int:
        if e.is_Symbol:
            if e not in self.names:
                raise UnsupportedExpression(f"symbol {e} has no register")
            return self.names[e]
        if e is sp.S.NaN:
            return self.const(float("nan"))
        if e.is_Number:
            if not e.is_real:
                raise UnsupportedExpression(f"number {e}")
            return self.const(float(e))
        if e.is_Add:
            terms = list(e.args)
            acc = self.emit(terms[0])
            for t in terms[1:]:
                c, rest = t.as_coeff_Mul()
                if c.is_Number and c < 0:  # a - b rather than a + (-1) * b
                    acc = self.op(SUB, acc, self.emit(-c * rest))
                else:
                    acc = self.op(ADD, acc, self.emit(t))
            return acc
        if e.is_Mul:
            num, den = [], []
            for f in e.args:
                if f.is_Pow and f.exp.is_Integer and f.exp < 0:
                    den.append(f.base if f.exp == -1 else f.base ** (-f.exp))
                else:
                    num.append(f)
            neg = False
            if num and num[0].is_Number and num[0] == -1:
                neg, num = True, num[1:]
            acc = self.emit(num[0]) if num else self.const(1.0)
            for f in num[1:]:
                acc = self.op(MUL, acc, self.emit(f))
            if den:
                d = self.emit(den[0])
                for f in den[1:]:
                    d = self.op(MUL, d, self.emit(f))
                acc = self.op(DIV, acc, d)
            return self.op(NEG, acc) if neg else acc
        if e.is_Pow:
            if not e.exp.is_Integer:
                raise UnsupportedExpression(f"unprotected power {e}")
            k = int(e.exp)
            if k < 0:
                return self.op(DIV, self.const(1.0), self.emit(e.base ** (-k)))
            if k > MAX_IPOW:  # beyond an int64 row: x**k = x**(k mod 2) * (x*x)**(k // 2), the latter a float power of x*x >= 0
                x = self.emit(e.base)
                even = self.op(PPOW, self.op(IPOW, x, 2), self.const(float(k // 2)))
                return self.op(MUL, x, even) if k % 2 else even
            return self.op(IPOW, self.emit(e.base), k)
        if type(e).__name__ == "PPow":  # codegen's protected power (imports run one way: codegen -> tape)
            x, n = e.args
            if n == 0:
                return self.const(1.0)
            return self.op(PPOW, self.emit(x), self.emit(n))
        if type(e).__name__ == "DPow":
            x, m = e.args
            return self.op(DPOW, self.emit(x), self.emit(m))
        if isinstance(e, sp.log) and len(e.args) == 1:
            return self.op(LOG, self.emit(e.args[0]))
        if isinstance(e, sp.exp):
            return self.op(EXP, self.emit(e.args[0]))
        raise UnsupportedExpression(f"{type(e).__name__}: {e}")


def fill_pattern(pattern: np.ndarray) -> np.ndarray:
    """Entries of a no-pivoting LU of I - cJ: J's structure, the diagonal, and the fill-in."""
    n = pattern.shape[0]
    s = np.asarray(pattern, dtype=bool) | np.eye(n, dtype=bool)
    for k in range(n):
        rows = [i for i in range(k + 1, n) if s[i, k]]
        cols = [j for j in range(k + 1, n) if s[k, j]]
        for i in rows:
            s[i, cols] = True
    return s


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    idx = np.array([j for x in lists for j in x], dtype=np.int64)
    return ptr, idx


def _scheduled(ops: np.ndarray) -> np.ndarray:
    """The ops sorted by (dependency level, opcode): each register is written once, so ops of one level may run in
    any order, and runs of one opcode let the interpreter's branch be predicted (it cost most of an op's time)."""
    level: dict[int, int] = {}
    levels = np.empty(len(ops), dtype=np.int64)
    for k, (code, dst, a, b) in enumerate(ops):
        lv = level.get(a, 0) if code == IPOW else max(level.get(a, 0), level.get(b, 0))
        level[dst] = levels[k] = lv + 1
    return ops[np.lexsort((ops[:, 0], levels))] if len(ops) else ops


def _live(ops: list[tuple[int, int, int, int]], outputs) -> np.ndarray:
    """The ops the outputs depend on, in order."""
    need = set(outputs)
    keep = []
    for op in reversed(ops):
        if op[1] in need:
            keep.append(op)
            need.add(op[2])
            if op[0] != IPOW:
                need.add(op[3])
    return np.array(keep[::-1], dtype=np.int64).reshape(-1, 4)


class _Derivatives:
    """Forward-mode differentiation of the emitted ops: each register's nonzero derivatives by the states, as
    registers written by new ops. Rules as codegen's PPow and DPow differentiate (0 left of a power's kink)."""

    def __init__(self, em: _Emitter, n_states: int):
        self.em = em
        self.grad: dict[int, dict[int, int]] = {i: {i: em.const(1.0)} for i in range(n_states)}

    def _scaled(self, g: dict[int, int], factor: int) -> dict[int, int]:
        return {j: self.em.op(MUL, factor, d) for j, d in g.items()}

    def _sum(self, ga: dict[int, int], gb: dict[int, int], code: int = ADD) -> dict[int, int]:
        out = dict(ga)
        for j, d in gb.items():
            out[j] = self.em.op(code, out[j], d) if j in out else (d if code == ADD else self.em.op(NEG, d))
        return out

    def run(self, ops: list[tuple[int, int, int, int]]) -> None:
        em, grad = self.em, self.grad
        for code, dst, a, b in ops:
            ga = grad.get(a, {})
            gb = {} if code == IPOW else grad.get(b, {})
            if not ga and not gb:
                continue
            if code in (ADD, SUB):
                g = self._sum(ga, gb, code)
            elif code == MUL:
                g = self._sum(self._scaled(ga, b), self._scaled(gb, a))
            elif code == DIV:  # (ga - r gb) / b
                g = self._sum(ga, self._scaled(gb, dst), SUB)
                g = {j: em.op(DIV, d, b) for j, d in g.items()}
            elif code in (PPOW, DPOW):  # n dpow(a, n - 1) ga + pow(a, n) log(a) gn (DPow alike, with m)
                g = self._scaled(ga, em.op(MUL, b, em.op(DPOW, a, em.op(SUB, b, em.const(1.0))))) if ga else {}
                if gb:  # a state-dependent exponent, e.g. a factor raised to a stress level that is itself a state
                    g = self._sum(g, self._scaled(gb, em.op(MUL, dst, em.op(LOG, a))))
            elif code == IPOW:
                g = self._scaled(ga, em.op(MUL, em.const(b), em.op(IPOW, a, b - 1)) if b > 1 else em.const(1.0))
            elif code == LOG:
                g = {j: em.op(DIV, d, a) for j, d in ga.items()}
            elif code == EXP:
                g = self._scaled(ga, dst)
            elif code == NEG:
                g = {j: em.op(NEG, d) for j, d in ga.items()}
            else:
                raise UnsupportedExpression(f"no derivative rule for opcode {code} with a state-dependent operand")
            grad[dst] = g


def _names(n_states: int, n_params: int) -> dict[sp.Symbol, int]:
    names = {sp.Symbol(f"y_{i}"): i for i in range(n_states)}
    names.update({sp.Symbol(f"p_{j}"): n_states + j for j in range(n_params)})
    names[sp.Symbol("t")] = n_states + n_params
    return names


def build(lines: list[tuple[sp.Symbol, sp.Expr]], odes: list[sp.Expr], n_states: int, n_params: int) -> Tape:
    """The tape of a model: `lines` (assignments, in order) and `odes` over `y_i`, `p_j`, `t` and the lines' symbols
    (as `codegen` writes them). The Jacobian is differentiated here, op by op (sympy's diff of the substituted
    equations took seconds to a minute per model structure); raises UnsupportedExpression for what it cannot run."""
    consts: dict[float, int] = {}
    em = _Emitter(_names(n_states, n_params), consts, [n_states + n_params + 1])
    for sym, e in lines:
        em.names[sym] = em.emit(e)
    rhs_out = [em.emit(e) for e in odes]
    n_rhs = len(em.ops)
    d = _Derivatives(em, n_states)
    d.run(em.ops[:n_rhs])
    jac = sorted((i, j, r) for i, out in enumerate(rhs_out) for j, r in d.grad.get(out, {}).items())
    registers = np.zeros(em.n_fixed[0])
    for v, r in consts.items():
        registers[r] = v
    pattern = np.zeros((n_states, n_states), dtype=bool)
    for i, j, _ in jac:
        pattern[i, j] = True
    fill = fill_pattern(pattern)
    n = n_states
    upper = [[j for j in range(i + 1, n) if fill[i, j]] for i in range(n)]
    below = [[i for i in range(k + 1, n) if fill[i, k]] for k in range(n)]
    lower = [[j for j in range(i) if fill[i, j]] for i in range(n)]
    jac_out = np.array(jac, dtype=np.int64).reshape(-1, 3)
    return Tape(_scheduled(_live(em.ops[:n_rhs], rhs_out)), _scheduled(_live(em.ops, jac_out[:, 2])), registers,
                np.array(rhs_out, dtype=np.int64), jac_out, np.array(np.nonzero(fill), dtype=np.int64).T.copy(),
                *_csr(upper), *_csr(below), *_csr(lower), pattern)


_PRINT = {ADD: "{a} + {b}", SUB: "{a} - {b}", MUL: "{a} * {b}", DIV: "{a} / {b}", PPOW: "pos({a})**({b})", DPOW: "dpow({a}, {b})",
          IPOW: "{a}**{k}", LOG: "np.log({a})", EXP: "np.exp({a})", NEG: "-{a}", SQRT: "np.sqrt(pos({a}))"}
MAX_INLINE_DEPTH = 40  # nested operations printed in one expression (Python's parser allows 200 parentheses)


def python_source(tape: Tape, which: str, n_states: int, n_params: int) -> str:
    """`rhs_into(t, y, p, out)` or `jac_into(t, y, p, out)` as Python text over numpy (or numba) from the tape, with
    `dpow` and `pos` from the caller's namespace: the SciPy path and the specialised kernel run the same ops. A value
    used once is printed inside its one user (a statement per op made the SciPy path's right-hand side 2.5x dearer)."""
    ops = tape.rhs_ops if which == "rhs" else tape.jac_ops
    outs = [int(r) for r in (tape.rhs_out if which == "rhs" else tape.jac_out[:, 2])]
    uses: dict[int, int] = {}
    for r in [int(x) for op in ops for x in (op[2], *(() if op[0] == IPOW else (op[3],)))] + outs:
        uses[r] = uses.get(r, 0) + 1
    made = {int(op[1]) for op in ops}
    text = [f"def {which}_into(t, y, p, out):"]
    for r in sorted(set(uses) - made):
        if r < n_states:
            text.append(f"    r{r} = y[{r}]")
        elif r < n_states + n_params:
            text.append(f"    r{r} = p[{r - n_states}]")
        elif r == n_states + n_params:
            text.append(f"    r{r} = t")
        else:
            v = float(tape.registers[r])
            text.append(f"    r{r} = {repr(v) if np.isfinite(v) else ('np.nan' if np.isnan(v) else ('np.inf' if v > 0 else '-np.inf'))}")
    inline: dict[int, tuple[str, int]] = {}  # register -> (its expression, its nesting depth)

    def operand(r: int) -> tuple[str, int]:
        return inline.pop(r) if r in inline else (f"r{r}", 0)

    for code, dst, a, b in ops:
        (ea, da), (eb, db) = operand(int(a)), ((str(int(b)), 0) if code == IPOW else operand(int(b)))
        expr, depth = _PRINT[int(code)].format(a=ea, b=eb, k=int(b)), max(da, db) + 1
        if uses.get(int(dst)) == 1 and depth < MAX_INLINE_DEPTH:
            inline[int(dst)] = (f"({expr})", depth)
        else:
            text.append(f"    r{dst} = {expr}")
    targets = [f"out[{i}]" for i in range(len(outs))] if which == "rhs" else [f"out[{i}, {j}]" for i, j, _ in tape.jac_out]
    text += [f"    {tgt} = {operand(r)[0]}" for tgt, r in zip(targets, outs)]
    text.append("    return out")
    return "\n".join(text)
