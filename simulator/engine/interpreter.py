"""The generic model functions of the kernel: a model's tape (`tape.py`) interpreted, so one compile serves every model.

Like `kernel.py`, this file is not imported as a module: `native` writes its text (from the marker
line on), the helpers and the kernel's text into one module file in the user cache, compiled once
per engine version. `md` is `Tape.args()`; `reg` is the member's own register file (`scratch`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

ppow = dpow = ipow = None  # the helpers in native.HELPERS

# ---- interpreter (everything below this line is compiled together with the kernel) ----


@njit(cache=True)
def scratch(md):
    """A member's own register file, constants filled in (threads never share one)."""
    return md[2].copy()


@njit(cache=True)
def run_tape(ops, reg):
    for k in range(ops.shape[0]):
        code = ops[k, 0]
        a = reg[ops[k, 2]]
        if code == 2:
            r = a * reg[ops[k, 3]]
        elif code == 0:
            r = a + reg[ops[k, 3]]
        elif code == 1:
            r = a - reg[ops[k, 3]]
        elif code == 3:
            r = a / reg[ops[k, 3]]
        elif code == 4:
            r = ppow(a, reg[ops[k, 3]])
        elif code == 5:
            r = dpow(a, reg[ops[k, 3]])
        elif code == 6:
            r = ipow(a, ops[k, 3])
        elif code == 7:
            r = np.log(a)
        elif code == 8:
            r = np.exp(a)
        elif code == 9:
            r = -a
        else:
            r = np.sqrt(a if a > 0.0 else 0.0)
        reg[ops[k, 1]] = r


@njit(cache=True)
def load(reg, t, y, p):
    n = y.size
    for i in range(n):
        reg[i] = y[i]
    for j in range(p.size):
        reg[n + j] = p[j]
    reg[n + p.size] = t


@njit(cache=True)
def rhs_into(md, reg, t, y, p, out):
    load(reg, t, y, p)
    run_tape(md[0], reg)
    where = md[3]
    for i in range(out.size):
        out[i] = reg[where[i]]


@njit(cache=True)
def jac_into(md, reg, t, y, p, out):
    """Writes the entries of J's structure; the others are left as they are (0 from the caller)."""
    load(reg, t, y, p)
    run_tape(md[1], reg)
    where = md[4]
    for e in range(where.shape[0]):
        out[where[e, 0], where[e, 1]] = reg[where[e, 2]]


@njit(cache=True)
def factor_sparse(md, a, jac, c):
    """LU of a = I - cJ without pivoting over the fill pattern (pivots' reciprocals on the diagonal); False when a
    pivot is small next to its row, so the kernel falls back to a dense LU with partial pivoting."""
    fill, up_ptr, up_idx, bl_ptr, bl_idx = md[5], md[6], md[7], md[8], md[9]
    for e in range(fill.shape[0]):
        i = fill[e, 0]
        j = fill[e, 1]
        a[i, j] = (1.0 if i == j else 0.0) - c * jac[i, j]
    for k in range(a.shape[0]):
        big = 0.0
        for q in range(up_ptr[k], up_ptr[k + 1]):
            big = max(big, abs(a[k, up_idx[q]]))
        pivot = a[k, k]
        if not (abs(pivot) > 1e-10 * big and np.isfinite(pivot)):
            return False
        inv = 1.0 / pivot
        a[k, k] = inv
        for q in range(bl_ptr[k], bl_ptr[k + 1]):
            i = bl_idx[q]
            f = a[i, k] * inv
            a[i, k] = f
            for r in range(up_ptr[k], up_ptr[k + 1]):
                j = up_idx[r]
                a[i, j] -= f * a[k, j]
    return True


@njit(cache=True)
def solve_sparse(md, a, b):
    """Forward and back substitution in place with the factors of `factor_sparse`."""
    up_ptr, up_idx, lo_ptr, lo_idx = md[6], md[7], md[10], md[11]
    n = b.size
    for i in range(n):
        s = b[i]
        for q in range(lo_ptr[i], lo_ptr[i + 1]):
            s -= a[i, lo_idx[q]] * b[lo_idx[q]]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for q in range(up_ptr[i], up_ptr[i + 1]):
            s -= a[i, up_idx[q]] * b[up_idx[q]]
        b[i] = s * a[i, i]
