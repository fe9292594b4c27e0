"""plasticity: a mechanistic simulator of how psychoplastogens rebuild cortical synapses.

Examples:
    >>> import simulator
    >>> result = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=72)
    >>> result.timecourse.head()

Public names are imported on first use (PEP 562), so `import simulator` and the `plasticity`
command start in a fraction of a second; `simulate` loads NumPy, SciPy and pandas when called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import ModelFileError, PlasticityError, RegimenError, SimulationError, UnknownNameError

# public name -> the module (relative to simulator) that defines it
_LAZY = {
    "add_compound": "model.extend",
    "compound_data": "model.extend",
    "Attribution": "analysis.attribution",
    "loop_attribution": "analysis.attribution",
    "run_batch": "engine.batch",
    "Clamp": "model.compose",
    "Comparison": "analysis.compare",
    "compare": "analysis.compare",
    "DoseResponse": "analysis.doseresponse",
    "dose_response": "analysis.doseresponse",
    "Experiment": "analysis.fit",
    "FitResult": "analysis.fit",
    "fit": "analysis.fitting",
    "metrics": "analysis.evaluate",
    "read_table": "_io",
    "load_result": "_load",
    "load_library": "model.files",
    "parameters": "model.parameters",
    "style": "_plot",
    "shade_window": "_plot",
    "save_figure": "_plot",
    "Dose": "model.regimen",
    "Regimen": "model.regimen",
    "parse_dose": "model.regimen",
    "from_sbml": "sbml.convert",
    "to_sbml": "sbml.export",
    "to_petab": "petab",
    "Sensitivity": "analysis.sensitivity",
    "global_sensitivity": "analysis.sensitivity",
    "local_sensitivity": "analysis.sensitivity",
    "range_scan": "analysis.sensitivity",
    "sensitivity": "analysis.sensitivity",
    "Result": "_simulate",
    "simulate": "_simulate",
    "version": "_simulate",
    "Tolerances": "engine.scipy_path",
    "Continuation": "analysis.steadystate",
    "SteadyState": "analysis.steadystate",
    "continuation": "analysis.steadystate",
    "steady_states": "analysis.steadystate",
    "sweep": "analysis.sweep",
    "show_model": "_textview",
    "load_targets": "validation.targets",
    "validate": "validation.targets",
}
# public submodules
_MODULES = ("teaching",)

__all__ = [  # a literal, for linters and the API reference; tests/test_docs.py checks it against _LAZY
    "add_compound",
    "Attribution",
    "Clamp",
    "compare",
    "Comparison",
    "compound_data",
    "Continuation",
    "continuation",
    "Dose",
    "dose_response",
    "DoseResponse",
    "Experiment",
    "fit",
    "FitResult",
    "from_sbml",
    "global_sensitivity",
    "load_library",
    "load_result",
    "load_targets",
    "local_sensitivity",
    "loop_attribution",
    "metrics",
    "ModelFileError",
    "parameters",
    "parse_dose",
    "PlasticityError",
    "range_scan",
    "read_table",
    "Regimen",
    "RegimenError",
    "Result",
    "run_batch",
    "save_figure",
    "Sensitivity",
    "sensitivity",
    "shade_window",
    "show_model",
    "simulate",
    "SimulationError",
    "steady_states",
    "SteadyState",
    "style",
    "sweep",
    "teaching",
    "to_petab",
    "to_sbml",
    "Tolerances",
    "UnknownNameError",
    "validate",
    "version",
]


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule, public or private) on first access."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _MODULES or (name.startswith("_") and not name.startswith("__")):
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError:
            raise AttributeError(f"module 'simulator' has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and the API reference: the same names, imported eagerly
    from . import teaching
    from ._io import read_table
    from ._load import load_result
    from ._plot import save_figure, shade_window, style
    from ._simulate import Result, simulate, version
    from ._textview import show_model
    from .analysis.attribution import Attribution, loop_attribution
    from .analysis.compare import Comparison, compare
    from .analysis.doseresponse import DoseResponse, dose_response
    from .analysis.evaluate import metrics
    from .analysis.fit import Experiment, FitResult
    from .analysis.fitting import fit
    from .analysis.sensitivity import Sensitivity, global_sensitivity, local_sensitivity, range_scan, sensitivity
    from .analysis.steadystate import Continuation, SteadyState, continuation, steady_states
    from .analysis.sweep import sweep
    from .engine.batch import run_batch
    from .engine.scipy_path import Tolerances
    from .model.compose import Clamp
    from .model.extend import add_compound, compound_data
    from .model.files import load_library
    from .model.parameters import parameters
    from .model.regimen import Dose, Regimen, parse_dose
    from .petab import to_petab
    from .sbml.convert import from_sbml
    from .sbml.export import to_sbml
    from .validation.targets import load_targets, validate
