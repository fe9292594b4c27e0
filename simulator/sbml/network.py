"""The loop's ODEs as a reaction network, for an SBML export that COPASI or CellDesigner can draw.

Each state's right-hand side is distributed over its top-level products (k*(a - b) -> k*a - k*b) and
split into terms: a negative term is a loss, a positive one a production. A production of B that
equals a loss of A (new spines stabilising into maturing ones), or, for amounts in nmol, is a
state-free multiple of it (depot to central, central to peripheral, a parent drug to its metabolite),
is a transfer A -> B; what the loss of A keeps beyond its transfers is a loss reaction (first-pass
loss, elimination). Signalling terms that merely share a factor are not transfers: a fold is not mass. The rates sum to each ODE
exactly, so the network integrates to the same trajectories as the rate rules did.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..model.compose import FlatModel

TRANSFER, LOSS, PRODUCTION = "transfer", "loss", "production"


@dataclass
class Reaction:
    """One reaction: `reactant` -> `product` (None for the source or sink) at `rate`."""

    id: str
    kind: str  # transfer | loss | production
    reactant: str | None
    product: str | None
    rate: sp.Expr
    modifiers: list[str] = field(default_factory=list)  # states the rate reads besides the reactant


def _terms(expr: sp.Expr) -> list[sp.Expr]:
    return list(sp.Add.make_args(sp.expand(expr, deep=False, power_base=False, power_exp=False, log=False, multinomial=False)))


def reactions(flat: FlatModel) -> list[Reaction]:
    """The network of `flat`: transfers, losses and productions whose rates add up to every ODE."""
    states = {sp.Symbol(s): s for s in flat.states}
    unit = {s: flat.units.get(s, "") for s in flat.states}
    losses: dict[str, list[sp.Expr]] = {}
    gains: dict[str, list[sp.Expr]] = {}
    for name, ode in zip(flat.states, flat.odes, strict=True):
        for t in _terms(ode):
            if t == 0:
                continue
            (losses if t.could_extract_minus_sign() else gains).setdefault(name, []).append(-t if t.could_extract_minus_sign() else t)
    out: list[Reaction] = []
    taken: dict[tuple[str, int], list[sp.Expr]] = {}  # (state, loss index) -> the transfers that draw on it

    def stateset(e: sp.Expr) -> frozenset[str]:
        return frozenset(states[s] for s in e.free_symbols if s in states)

    for b, plus in gains.items():
        for term in plus:
            src = None
            for a, minus in losses.items():
                if a == b or unit[a] != unit[b] or a not in stateset(term):
                    continue
                for k, loss in enumerate(minus):
                    if stateset(loss) != stateset(term):
                        continue
                    if sp.simplify(term - loss) == 0 or (unit[a] == "nmol" and not (sp.cancel(term / loss).free_symbols & set(states))):
                        src = (a, k)
                        break
                if src:
                    break
            if src:
                taken.setdefault(src, []).append(term)
                out.append(Reaction("", TRANSFER, src[0], b, term))
            else:
                out.append(Reaction("", PRODUCTION, None, b, term))
    for a, minus in losses.items():
        for k, loss in enumerate(minus):
            rest = loss - sum(taken.get((a, k), []))
            if (a, k) in taken:
                rest = sp.factor_terms(sp.expand(rest, deep=False))
            if rest != 0:
                out.append(Reaction("", LOSS, a, None, rest))
    counts: dict[str, int] = {}
    for r in out:
        base = {TRANSFER: f"{r.reactant}_to_{r.product}", LOSS: f"{r.reactant}_loss", PRODUCTION: f"{r.product}_production"}[r.kind]
        counts[base] = counts.get(base, 0) + 1
        r.id = base if counts[base] == 1 else f"{base}_{counts[base]}"
        r.modifiers = sorted(stateset(r.rate) - {r.reactant, r.product})
    return out
