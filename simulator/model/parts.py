"""The pieces of a flat model while it is being composed: each composition step adds to one of these.

Kept apart from compose.py so the steps (pharmacokinetics, receptors, the loop, interventions) can live
in their own modules and share one accumulator without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .files import Param


@dataclass
class ModelParts:
    """States (with their ODEs), assignments, readouts and parameter values gathered so far.

    Dicts keep insertion order, which fixes the order of states and parameters in the compiled model."""

    values: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Param] = field(default_factory=dict)
    states: dict[str, sp.Expr] = field(default_factory=dict)  # state -> its ODE right-hand side
    initial: dict[str, sp.Expr] = field(default_factory=dict)
    assign: dict[str, sp.Expr] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    readouts: list[tuple[str, sp.Expr, str]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    events: list = field(default_factory=list)  # DoseEvent (compose.py)

    def param(self, name: str, p: Param, value: float | None = None) -> sp.Symbol:
        """Add (or re-add) a parameter with its metadata; returns its symbol."""
        self.values[name] = p.value if value is None else value
        self.meta[name] = p
        return sp.Symbol(name)

    def state(self, name: str, ode: sp.Expr, unit: str, initial: sp.Expr = sp.Integer(0)) -> sp.Symbol:
        """Add a state with its ODE, unit and initial value; returns its symbol."""
        self.states[name] = ode
        self.initial[name] = initial
        self.units[name] = unit
        return sp.Symbol(name)

    def input(self, name: str) -> sp.Symbol:
        """A piecewise-constant input (infusion rate, bath concentration, clamp switch) that events set; starts at 0."""
        self.inputs.append(name)
        self.values[name] = 0.0
        return sp.Symbol(name)

    def substitute(self, sub: dict, *, initial: bool = True, keep: str | None = None) -> None:
        """Replace symbols everywhere they are read: ODEs, assignments, readouts and (unless `initial` is
        false) initial values; the ODE or assignment named `keep` is left as it is."""
        self.states = {n: (e if n == keep else e.xreplace(sub)) for n, e in self.states.items()}
        if initial:
            self.initial = {n: e.xreplace(sub) for n, e in self.initial.items()}
        self.assign = {n: (e if n == keep else e.xreplace(sub)) for n, e in self.assign.items()}
        self.readouts = [(r, e.xreplace(sub), u) for r, e, u in self.readouts]
