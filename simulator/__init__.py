"""plasticity: a mechanistic simulator of how psychoplastogens rebuild cortical synapses.

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

# public name -> private module that defines it
_LAZY = {
    "Attribution": "_attribution",
    "loop_attribution": "_attribution",
    "run_batch": "_batch",
    "Clamp": "_compose",
    "Comparison": "_compare",
    "compare": "_compare",
    "DoseResponse": "_doseresponse",
    "dose_response": "_doseresponse",
    "FitResult": "_fit",
    "fit": "_fit",
    "metrics": "_analysis",
    "read_table": "_io",
    "load_library": "_modelfiles",
    "style": "_plot",
    "shade_window": "_plot",
    "save_figure": "_plot",
    "Dose": "_regimen",
    "Regimen": "_regimen",
    "parse_dose": "_regimen",
    "from_sbml": "_sbml",
    "to_sbml": "_sbml",
    "Sensitivity": "_sensitivity",
    "global_sensitivity": "_sensitivity",
    "local_sensitivity": "_sensitivity",
    "range_scan": "_sensitivity",
    "sensitivity": "_sensitivity",
    "Result": "_simulate",
    "simulate": "_simulate",
    "version": "_simulate",
    "Tolerances": "_solve",
    "Continuation": "_steadystate",
    "SteadyState": "_steadystate",
    "continuation": "_steadystate",
    "steady_states": "_steadystate",
    "sweep": "_sweep",
    "show_model": "_textview",
    "load_targets": "_validation",
    "validate": "_validation",
}
# public submodules
_MODULES = ("teaching",)

__all__ = [  # a literal, for linters and the API reference; tests/test_docs.py checks it against _LAZY
    "Attribution",
    "Clamp",
    "compare",
    "Comparison",
    "Continuation",
    "continuation",
    "Dose",
    "dose_response",
    "DoseResponse",
    "fit",
    "FitResult",
    "from_sbml",
    "global_sensitivity",
    "load_library",
    "load_targets",
    "local_sensitivity",
    "loop_attribution",
    "metrics",
    "ModelFileError",
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
    from ._analysis import metrics
    from ._attribution import Attribution, loop_attribution
    from ._batch import run_batch
    from ._compare import Comparison, compare
    from ._compose import Clamp
    from ._doseresponse import DoseResponse, dose_response
    from ._fit import FitResult, fit
    from ._io import read_table
    from ._modelfiles import load_library
    from ._plot import save_figure, shade_window, style
    from ._regimen import Dose, Regimen, parse_dose
    from ._sbml import from_sbml, to_sbml
    from ._sensitivity import Sensitivity, global_sensitivity, local_sensitivity, range_scan, sensitivity
    from ._simulate import Result, simulate, version
    from ._solve import Tolerances
    from ._steadystate import Continuation, SteadyState, continuation, steady_states
    from ._sweep import sweep
    from ._textview import show_model
    from ._validation import load_targets, validate
