"""Typed errors: every message names the field, the value and what was expected."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PlasticityError(ValueError):
    """Base class of every error the simulator raises on bad input."""


class ModelFileError(PlasticityError):
    """A file under models/ is malformed; the message names the file, the key and the fix."""

    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}")


class RegimenError(PlasticityError):
    """A dose or regimen cannot be understood."""


class UnknownNameError(PlasticityError):
    """A name (compound, species, route, parameter ...) is not known; suggests the closest one."""

    def __init__(self, kind: str, name: str, known: Iterable[str], context: str = ""):
        known = sorted(set(known))
        self.kind, self.name, self.known = kind, name, known
        close = difflib.get_close_matches(str(name).lower(), [k.lower() for k in known], n=1, cutoff=0.5)
        hint = ""
        if close:
            hint = f" Did you mean '{next(k for k in known if k.lower() == close[0])}'?"
        listing = ", ".join(known) if len(known) <= 12 else ", ".join(known[:12]) + ", ..."
        where = f" in {context}" if context else ""
        super().__init__(f"unknown {kind} '{name}'{where}.{hint} Expected one of: {listing}.")


class SimulationError(PlasticityError):
    """The solver failed; carries the time, the state and a suggestion."""


def suggest(name: str, known: Iterable[str]) -> str | None:
    """The closest known name to `name`, or None."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return close[0] if close else None


class SBMLError(PlasticityError):
    """An SBML document cannot be read or simulated as written; names the file, the element and the problem."""

    def __init__(self, source: str, element: str, problem: str):
        self.source, self.element, self.problem = source, element, problem
        super().__init__(f"sbml import ({source}): {element}: {problem}")


class SBMLUnsupportedError(SBMLError):
    """The document uses an SBML feature the engine cannot express; `feature` names it (see the README's SBML section)."""

    def __init__(self, source: str, element: str, feature: str, detail: str = ""):
        self.feature = feature
        super().__init__(source, element, f"{feature} is not supported{': ' + detail if detail else ''}")


class SBMLLimitError(SBMLError):
    """The document is larger or deeper than a stated import limit; the message names the limit."""
