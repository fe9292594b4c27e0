"""How a run is integrated: code generation, the compiled numba kernel, batches, and the SciPy reference path."""
