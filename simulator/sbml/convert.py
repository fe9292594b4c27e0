"""Import of SBML core models into a FlatModel (the export lives in simulator/sbml/export.py).

Import reads SBML core (species, compartments, parameters, initial assignments, assignment and rate
rules, reactions, simple time events) into the same FlatModel the engine compiles, so
`simulate(model=...)` runs it on the compiled path.
"""

from __future__ import annotations

from pathlib import Path

from .._errors import SBMLError, SBMLLimitError, SBMLUnsupportedError
from .export import READOUT_PREFIX, _libsbml, flat_to_sbml, infix, sbml_errors, to_sbml

__all__ = ["READOUT_PREFIX", "flat_to_sbml", "from_sbml", "infix", "sbml_errors", "to_sbml"]  # the export's names, kept importable from here

# ------------------------------------------------------------------------------------------ import
MAX_SBML_BYTES = 20_000_000  # an SBML file or text; BioModels' largest kinetic models are a few MB
MAX_SBML_COMPONENTS = 3_000  # compartments + species + parameters + reactions + rules + events + species references
MAX_MATH_NODES = 200_000  # MathML nodes in the whole model after function definitions are expanded
_IGNORED_PACKAGES = {"l3v2extendedmath", "layout", "render"}  # no effect on what a simulation means


def _read_document(ls, source: str | Path):
    """(document, name for messages); size checked before parsing, parse errors with their line."""
    text = source if isinstance(source, str) and source.lstrip().startswith("<") else None
    if text is not None:
        where = "SBML text"
        if len(text) > MAX_SBML_BYTES:
            raise SBMLLimitError(where, "document", f"{len(text):,} characters exceeds the import limit MAX_SBML_BYTES = {MAX_SBML_BYTES:,}")
        doc = ls.readSBMLFromString(text)
    else:
        path = Path(source)
        where = path.name
        if not path.is_file():
            raise SBMLError(where, "file", f"'{path}' does not exist or is not a regular file")
        size = path.stat().st_size
        if size > MAX_SBML_BYTES:
            raise SBMLLimitError(where, "file", f"{size:,} bytes exceeds the import limit MAX_SBML_BYTES = {MAX_SBML_BYTES:,}")
        doc = ls.readSBMLFromFile(str(path))
    errs = [doc.getError(i) for i in range(doc.getNumErrors()) if doc.getError(i).getSeverity() >= ls.LIBSBML_SEV_ERROR]
    if errs:
        raise SBMLError(where, f"line {errs[0].getLine()}", errs[0].getMessage().strip())
    return doc, where


_UNIT_REFERENCES = {10311, 10312, 10313}  # unit ids and references to units: read by time_unit, which knows 'minute' and the like


def _check_references(ls, doc, where: str) -> None:
    """libsbml's identifier and general consistency checks (duplicate ids, references to ids that do not exist or
    are of the wrong kind, such as an event assigning a reaction or an unknown conversionFactor); the first error
    is refused with its element's line. Units, modelling practice and overdetermination are not checked here."""
    for category in ("UNITS_CONSISTENCY", "MATHML_CONSISTENCY", "SBO_CONSISTENCY", "OVERDETERMINED_MODEL", "MODELING_PRACTICE"):
        doc.setConsistencyChecks(getattr(ls, f"LIBSBML_CAT_{category}"), False)
    doc.setConsistencyChecks(ls.LIBSBML_CAT_IDENTIFIER_CONSISTENCY, True)
    doc.setConsistencyChecks(ls.LIBSBML_CAT_GENERAL_CONSISTENCY, True)
    before = doc.getNumErrors()
    doc.checkConsistency()
    for i in range(before, doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= ls.LIBSBML_SEV_ERROR and err.getErrorId() not in _UNIT_REFERENCES:  # the last line names the element
            specific = err.getMessage().strip().rsplit("\n", 1)[-1].strip()
            raise SBMLError(where, f"line {err.getLine()}", f"{err.getShortMessage()}: {specific[:400]} (libsbml check {err.getErrorId()})")


def _check_packages(doc, where: str) -> None:
    for i in range(doc.getNumPlugins()):
        name = doc.getPlugin(i).getPackageName()
        if name == "comp":
            raise SBMLUnsupportedError(where, "package 'comp'", "hierarchical model composition (the comp package)", "flatten the model first")
        if name == "fbc":
            raise SBMLUnsupportedError(where, "package 'fbc'", "flux balance constraints (the fbc package)")
        if name not in _IGNORED_PACKAGES:
            raise SBMLUnsupportedError(where, f"package '{name}'", f"the SBML Level 3 package '{name}'")
    if doc.getNumUnknownPackages():
        uri = doc.getUnknownPackageURI(0)
        if doc.getPackageRequired(uri) if hasattr(doc, "getPackageRequired") else True:
            raise SBMLUnsupportedError(where, f"package '{uri}'", "an SBML Level 3 package this libsbml does not know")


def _check_size(model, where: str) -> None:
    n = sum(lst.size() for lst in (model.getListOfCompartments(), model.getListOfSpecies(), model.getListOfParameters(),
                                   model.getListOfReactions(), model.getListOfRules(), model.getListOfEvents(),
                                   model.getListOfInitialAssignments(), model.getListOfFunctionDefinitions()))
    n += sum(r.getNumReactants() + r.getNumProducts() for r in model.getListOfReactions())
    if n > MAX_SBML_COMPONENTS:
        raise SBMLLimitError(where, "model", f"{n:,} components (compartments, species, parameters, reactions, rules, events, "
                             f"species references) exceed the import limit MAX_SBML_COMPONENTS = {MAX_SBML_COMPONENTS:,}")


def _maths(doc):
    """(element description, AST) for every math element of the document."""
    elements = doc.getListOfAllElements()
    for i in range(elements.getSize()):
        el = elements.get(i)
        if hasattr(el, "isSetMath") and el.isSetMath() and el.getMath() is not None:
            label = el.getElementName() + (f" '{el.getId()}'" if el.isSetId() else "")
            if hasattr(el, "getVariable") and el.getVariable():
                label += f" for '{el.getVariable()}'"
            if hasattr(el, "getSymbol") and el.getSymbol():
                label += f" for '{el.getSymbol()}'"
            yield label, el.getMath()


def _check_math(doc, where: str) -> None:
    from .mathml import MAX_MATH_DEPTH, MathError, check_depth

    for label, ast in _maths(doc):
        try:
            check_depth(ast)
        except MathError as exc:
            raise SBMLLimitError(where, label, exc.problem) from None
    model = doc.getModel()
    calls = {}
    for fd in model.getListOfFunctionDefinitions():
        names, stack = set(), [fd.getMath()] if fd.isSetMath() else []
        while stack:
            node = stack.pop()
            if node.getType() == _libsbml().AST_FUNCTION:
                names.add(node.getName())
            stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
        calls[fd.getId()] = names
    for start in calls:  # a function that calls itself, directly or not, never finishes expanding
        seen, stack = set(), [(start, [start])]
        while stack:
            f, path = stack.pop()
            for g in calls.get(f, ()):
                if g == start:
                    raise SBMLError(where, f"function definition '{start}'", "calls itself (" + " -> ".join(path + [g]) + "); recursion is not allowed in SBML")
                if g not in seen:
                    seen.add(g)
                    stack.append((g, path + [g]))
    del MAX_MATH_DEPTH


def _convert(ls, doc, where: str) -> None:
    """libsbml's own converters: to L3V2 (stoichiometryMath becomes rules), function definitions expanded,
    local parameters promoted to global ones."""
    for option in ("promoteLocalParameters", "expandFunctionDefinitions"):  # first: L3V2 forbids some L3V1 shadowing
        props = ls.ConversionProperties()
        props.addOption(option, True)
        if doc.convert(props) != ls.LIBSBML_OPERATION_SUCCESS:
            raise SBMLError(where, "document", f"libsbml's converter '{option}' failed")
    if (doc.getLevel(), doc.getVersion()) != (3, 2):
        props = ls.ConversionProperties(ls.SBMLNamespaces(3, 2))
        props.addOption("strict", False)
        props.addOption("setLevelAndVersion", True)
        if doc.convert(props) != ls.LIBSBML_OPERATION_SUCCESS:
            raise SBMLError(where, "document", f"libsbml could not convert level {doc.getLevel()} version {doc.getVersion()} to level 3 version 2")
    from .mathml import MathError, check_depth

    nodes = 0
    for label, ast in _maths(doc):
        try:
            check_depth(ast)  # again: an expanded function definition nests its body inside the call
        except MathError as exc:
            raise SBMLLimitError(where, label, exc.problem + ", after function definitions are expanded") from None
        stack = [ast]
        while stack:
            node = stack.pop()
            nodes += 1
            stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
        if nodes > MAX_MATH_NODES:
            raise SBMLLimitError(where, label, f"the model's math exceeds {MAX_MATH_NODES:,} nodes after function definitions are "
                                 f"expanded (import limit MAX_MATH_NODES)")


def from_sbml(source: str | Path):
    """Read an SBML model (a path, or the XML text itself; any level and version) for `simulate(model=...)`.

    Every refusal is an SBMLError naming the file and element; features the engine cannot express
    raise SBMLUnsupportedError (see the README's SBML section for the list)."""
    from .model import Builder, finish, time_unit
    from .run import check_finite, evaluate_initial

    ls = _libsbml()
    doc, where = _read_document(ls, source)
    model = doc.getModel()
    if model is None:
        raise SBMLError(where, "document", "has no model")
    _check_packages(doc, where)
    _check_size(model, where)
    _check_math(doc, where)
    _check_references(ls, doc, where)
    for r in model.getListOfReactions():  # checked before conversion: L3V2 has no fast attribute and would drop it
        if r.isSetFast() and r.getFast():
            raise SBMLUnsupportedError(where, f"reaction '{r.getId()}'", "a fast reaction (fast='true')")
    _convert(ls, doc, where)
    model = doc.getModel()
    hpu, unit = time_unit(ls, model, where)
    flat, init_def = Builder(ls, model, where).run()
    flat.hours_per_unit, flat.time_unit, flat.init_def = hpu, unit, init_def
    init = evaluate_initial(flat, init_def)
    check_finite(flat, init)
    return finish(flat, init)
