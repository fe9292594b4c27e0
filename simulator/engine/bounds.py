"""Bounds on the size of model expressions after assignments are substituted, measured without recursion.

Substituting assignments into each other shares subtrees in memory, but every later step (derivatives,
common subexpressions, printing) walks them as trees: `c_k = c_{k-1} * (c_{k-1} + 1)` doubles the tree with
each k, and forty such lines never finish. Nesting adds up the same way, and sympy's recursive walks
overflow Python's stack far below the nesting of one file expression times the number of assignments.
"""

from __future__ import annotations

import sympy as sp

from .._errors import ModelFileError
from .._limits import MAX_EXPANDED_NODES, MAX_EXPR_DEPTH


def tree_size(expr: sp.Basic, memo: dict) -> tuple[int, int]:
    """(nodes, depth) of `expr` read as a tree; iterative, linear in the distinct subexpressions (memo is shared)."""
    stack = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in memo:
            continue
        if ready:
            sizes = [memo[a] for a in node.args]
            memo[node] = (1 + sum(s for s, _ in sizes), 1 + max((d for _, d in sizes), default=0))
        else:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in memo)
    return memo[expr]


def check_expanded(name: str, expr: sp.Basic, memo: dict) -> None:
    """Refuse an assignment or equation whose substituted expression is larger or deeper than the limits."""
    nodes, depth = tree_size(expr, memo)
    if nodes > MAX_EXPANDED_NODES:
        raise ModelFileError("model files", name, f"grows to {nodes:,} terms once the assignments it uses are substituted, "
                             f"over the limit of {MAX_EXPANDED_NODES:,} (MAX_EXPANDED_NODES); use fewer chained assignments")
    if depth > MAX_EXPR_DEPTH:
        raise ModelFileError("model files", name, f"nests {depth} levels deep once the assignments it uses are substituted, "
                             f"over the limit of {MAX_EXPR_DEPTH} (MAX_EXPR_DEPTH)")
