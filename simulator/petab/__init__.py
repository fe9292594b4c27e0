"""PEtab v1 in and out: `to_petab` writes a fit problem on the loop; `fit(petab=...)` runs one on the engine."""

from .read import fit_petab
from .write import to_petab

__all__ = ["fit_petab", "to_petab"]
