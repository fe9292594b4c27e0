"""plasticity: a mechanistic simulator of how psychoplastogens rebuild cortical synapses.

>>> import simulator
>>> result = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=72)
>>> result.timecourse.head()
"""

from ._analysis import metrics
from ._attribution import Attribution, loop_attribution
from ._batch import run_batch
from ._compose import Clamp
from ._doseresponse import DoseResponse, dose_response
from ._errors import ModelFileError, PlasticityError, RegimenError, SimulationError, UnknownNameError
from ._fit import FitResult, fit
from ._io import read_table
from ._modelfiles import load_library
from ._plot import style
from ._regimen import Dose, Regimen, parse_dose
from ._sbml import from_sbml, to_sbml
from ._sensitivity import Sensitivity, global_sensitivity, local_sensitivity, sensitivity
from ._simulate import Result, simulate, version
from ._solve import Tolerances
from ._steadystate import Continuation, SteadyState, continuation, steady_states
from ._sweep import sweep
from ._textview import show_model
from ._validation import load_targets, validate

__all__ = [
    "Attribution",
    "Clamp",
    "Continuation",
    "Dose",
    "FitResult",
    "DoseResponse",
    "ModelFileError",
    "PlasticityError",
    "Regimen",
    "RegimenError",
    "Result",
    "Sensitivity",
    "SimulationError",
    "SteadyState",
    "Tolerances",
    "UnknownNameError",
    "continuation",
    "dose_response",
    "fit",
    "global_sensitivity",
    "from_sbml",
    "load_library",
    "local_sensitivity",
    "loop_attribution",
    "metrics",
    "parse_dose",
    "read_table",
    "sensitivity",
    "steady_states",
    "run_batch",
    "show_model",
    "simulate",
    "style",
    "sweep",
    "to_sbml",
    "version",
    "load_targets",
    "validate",
]
