"""Imported models as first-class results: `simulate(model=...)`, their own plot, their own baseline.

Time: `hours` and `times` are hours, as everywhere; a model that declares its time unit (second,
minute, day, or a multiple of the second) is integrated in it and reported in hours (`time_h`). A
model that declares none is read as in hours, and its provenance says so.
"""

from __future__ import annotations

import copy
import hashlib
import platform
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import PlasticityError, UnknownNameError
from ..engine.scipy_path import Tolerances
from .model import ImportedModel
from .run import _frame, _Run, engine_of, start_values


def hours_per_unit(model: ImportedModel) -> float:
    return model.hours_per_unit if model.hours_per_unit is not None else 1.0


def simulate_imported(model: ImportedModel, *, hours: float, params, times, tolerances: Tolerances, species_as: str | None):
    """The `simulate(model=...)` path for an SBML model: its own initial values and events."""
    from .._simulate import Setup, time_grid, version
    from ..model.compose import Interventions
    from ..model.regimen import Regimen

    grid = time_grid(0.0, hours, times)
    if grid[0] < 0:
        raise PlasticityError(f"times: an imported model starts at time 0 h; got {grid[0]:g} h")
    if species_as not in (None, "amount", "concentration"):
        raise PlasticityError(f"species_as: expected 'amount', 'concentration' or None (each species in its declared basis), got {species_as!r}")
    eng = engine_of(model)
    p, y0 = start_values(model, eng, params)
    hpu = hours_per_unit(model)
    with np.errstate(all="ignore"):
        out = _Run(eng, p, y0, tolerances, hpu).run(grid / hpu)
    tc = _frame(model, out, species_as, "time_h", grid)
    states = pd.DataFrame({"time_h": grid, **{s: out[eng.n_out - len(model.states) + i] for i, s in enumerate(model.states)}})
    values = dict(zip(model.params, p, strict=True))
    setup = Setup(None, model, None, Regimen(()), "sbml", Interventions(), values, p, y0)
    prov = {
        "package": "plasticity",
        "version": version(),
        "model": model.source,
        "model_hash": model_hash(model),
        "time_unit": model.time_unit or "undeclared (read as hours)",
        "hours_per_model_time_unit": hpu,
        "species_as": species_as or "declared",
        "hours": hours,
        "parameters": {k: float(v) for k, v in values.items()},
        "tolerances": vars(tolerances),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    return ImportedResult(tc, states, prov, setup, params=dict(params or {}), tolerances=tolerances, species_as=species_as)


def model_hash(model: ImportedModel) -> str:
    return hashlib.sha1(repr(model.structure_key).encode() + repr(sorted(model.values.items())).encode()).hexdigest()[:12]


def without_events(model: ImportedModel) -> ImportedModel:
    """The same model with its events removed (the baseline `metrics` compares an imported run with)."""
    bare = copy.copy(model)
    bare.sbml_events, bare.events, bare.inputs = [], [], []
    bare.__dict__.pop("_engine", None)
    return bare


def _result_base():
    from .._simulate import Result

    return Result


@dataclass
class _Extra:
    params: dict
    tolerances: Tolerances
    species_as: str | None


class ImportedResult(_result_base()):
    """A Result of an imported model: its columns are the model's own ids."""

    def __init__(self, timecourse, states, provenance, setup, *, params, tolerances, species_as):
        super().__init__(timecourse, states, provenance, setup)
        self._extra = _Extra(params, tolerances, species_as)

    @cached_property
    def vehicle(self):
        """The model's own run without its events, at the same times and parameters."""
        model = self.setup.flat
        if not model.sbml_events:
            raise PlasticityError("metrics: the imported model has no events, so there is no run without them to compare with; "
                                  "read the time course itself (result.timecourse)")
        e = self._extra
        return simulate_imported(without_events(model), hours=self.provenance["hours"], params=e.params,
                                 times=self.timecourse["time_h"].to_numpy(), tolerances=e.tolerances, species_as=e.species_as)

    def spine_gain(self, time_h: float) -> float:
        raise PlasticityError("spine_gain: an imported model has no spine_density readout; use result.at(column, time) "
                              "or simulator.metrics(result, column)")

    def summary(self) -> dict[str, float]:
        """Peak and time of peak of every column that changes."""
        out = {}
        for c in self.timecourse.columns[1:]:
            col = self.timecourse[c].to_numpy()
            if np.all(np.isfinite(col)) and np.ptp(col) > 0:
                v, t = self.peak(c)
                out[f"{c}_peak"], out[f"{c}_peak_h"] = v, t
        return out

    def plot(self, path: str | Path | None = None, *, columns=None, vehicle: bool = False):
        """The model's own variables over time (those that change, or `columns`); saved to `path` if given."""
        from .._plot import _use_agg

        _use_agg()
        import matplotlib.pyplot as plt

        from .._plot import style, unit_label

        tc = self.timecourse
        if columns is None:
            columns = [c for c in tc.columns[1:] if np.all(np.isfinite(tc[c])) and np.ptp(tc[c].to_numpy()) > 0] or list(tc.columns[1:2])
        for c in columns:
            if c not in tc:
                raise UnknownNameError("column", c, tc.columns[1:])
        with style():
            fig, ax = plt.subplots(figsize=(7, 4))
            units = self.units
            for c in columns:
                ax.plot(tc["time_h"], tc[c], label=f"{c} ({units[c]})" if units[c] else c)
            ax.set_xlabel("time (h)")
            shared = {units[c] for c in columns}
            ax.set_ylabel(unit_label(shared.pop()) if len(shared) == 1 else "value (model units; see the legend)")
            ax.set_title(self.provenance["model"])
            if len(columns) <= 12:
                ax.legend(fontsize="small")
            fig.tight_layout()
        if path is not None:
            from .._io import atomic_write

            atomic_write(path, lambda tmp: fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png"))
        return fig
