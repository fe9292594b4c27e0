"""An Antimony-like readable text view of a composed model, generated from the same FlatModel."""

from __future__ import annotations

import math
from collections.abc import Iterable

import sympy as sp

from .model.compose import FlatModel


def _expr(e: sp.Expr) -> str:
    return sp.sstr(e, full_prec=False).replace("**", "^")


def model_text(flat: FlatModel, p: Iterable[float] | None = None, y0: Iterable[float] | None = None, *, title: str = "plasticity") -> str:
    """States with their ODEs and initial values, assignments, readouts, parameters (value, unit, source) and dose events."""
    values = dict(zip(flat.params, p, strict=True)) if p is not None else dict(flat.values)
    init = dict(zip(flat.states, y0, strict=True)) if y0 is not None else {}
    lines = [f"model {title}", "", "  // states (d/dt, time in h)"]
    for name, ode in zip(flat.states, flat.odes, strict=True):
        unit = flat.units.get(name, "")
        desc = flat.descriptions.get(name, "")
        tail = "  // " + ", ".join(x for x in (unit, desc) if x) if unit or desc else ""
        lines.append(f"  {name}' = {_expr(ode)}{tail}")
    if init:
        lines += ["", "  // initial values (drug-free steady state)"]
        lines += [f"  {name} = {float(init[name]):.6g}" for name in flat.states]
    lines += ["", "  // assignments"]
    for name, e in flat.assignments:
        unit = flat.units.get(name, "")
        lines.append(f"  {name} := {_expr(e)}" + (f"  // {unit}" if unit else ""))
    lines += ["", "  // readouts"]
    lines += [f"  {col} := {_expr(e)}  // {unit}" for col, e, unit in flat.readouts]
    lines += ["", "  // parameters: value unit [source]"]
    for name in flat.params:
        m = flat.meta.get(name)
        if name in flat.inputs:
            lines.append(f"  {name} = {float(values[name]):.6g}  // input, changed by dose events")
            continue
        unit = m.unit if m else ""
        src = f" [{m.source}]" if m and m.source else ""
        lines.append(f"  {name} = {float(values[name]):.6g} {unit}{src}".rstrip())
    if flat.events:
        lines += ["", "  // dose events"]
        for ev in flat.events:
            when = "before the run" if ev.time_h == -math.inf else f"time >= {ev.time_h:g}"
            factor = "".join(f" * {s}" for s in ev.scale) + "".join(f" / {d}" for d in ev.divide)
            lines.append(f"  at {when}: {ev.target} = {ev.target} + {ev.amount:g}{factor}  // {ev.label}")
    lines.append("end")
    return "\n".join(lines) + "\n"


def show_model(regimen=(), **options) -> str:
    """The text view of the model `setup(regimen, **options)` builds (species, params, genotype, condition, cut, scale, clamp)."""
    from ._simulate import setup

    s = setup(regimen, **options)
    return model_text(s.flat, s.p, s.y0, title=f"plasticity_{s.species}")
