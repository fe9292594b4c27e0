"""What an imported model's results need besides the built-in model's: its time unit, its hash for provenance and
the same model without its events (the baseline its metrics compare with). `simulate(model=...)` and the
ImportedResult it returns live in simulator/_simulate.py, beside the built-in run, so nothing here imports them back.

Time: `hours` and `times` are hours, as everywhere; a model that declares its time unit (second,
minute, day, or a multiple of the second) is integrated in it and reported in hours (`time_h`). A
model that declares none is read as in hours, and its provenance says so.
"""

from __future__ import annotations

import copy
import hashlib

from .model import ImportedModel


def hours_per_unit(model: ImportedModel) -> float:
    return model.hours_per_unit if model.hours_per_unit is not None else 1.0


def model_hash(model: ImportedModel) -> str:
    return hashlib.sha1(repr(model.structure_key).encode() + repr(sorted(model.values.items())).encode()).hexdigest()[:12]


def without_events(model: ImportedModel) -> ImportedModel:
    """The same model with its events removed (the baseline `metrics` compares an imported run with)."""
    bare = copy.copy(model)
    bare.sbml_events, bare.events, bare.inputs = [], [], []
    bare.__dict__.pop("_engine", None)
    return bare
