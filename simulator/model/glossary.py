"""Every output column and sweep metric with its unit and meaning, from the code and model files themselves.

The docs page (docs/parameters-and-units.md, via docs/hooks.py) is generated from these tables at build
time, and tests/test_toolkit.py checks that every column of a run is named here with the unit the run
reports (Result.units), so the page cannot drift from the model.
"""

from __future__ import annotations

import fnmatch

from .files import Library

# the columns composition adds for each compound and target, by pattern: (pattern, unit, meaning)
GENERATED_COLUMNS = (
    ("time_h", "h", "time after t = 0 (a pretreatment before it gives negative times)"),
    ("<compound>_brain_nM", "nM", "free (unbound) brain concentration of a dosed compound or active metabolite; in culture, the bath-equilibrated concentration"),
    ("<compound>_plasma_nM", "nM", "total plasma concentration (central compartment) of a compound with systemic PK"),
    ("occupancy_<target>", "1", "fraction of a target occupied by all compounds present, 0..1"),
)
UNIT_MEANINGS = {
    "fold": "fold over the drug-free baseline (1 = baseline)",
    "1": "dimensionless (a fraction 0..1 unless said otherwise)",
    "1/um": "spines per µm of dendrite",
    "1/d": "per day (a fraction of a pool per day)",
    "um": "µm",
    "nM": "nmol/L",
    "h": "hours",
}


def _glob(pattern: str) -> str:
    """'<compound>_brain_nM' -> '*_brain_nM'."""
    out, depth = "", 0
    for ch in pattern:
        if ch == "<":
            depth += 1
            out += "*" if depth == 1 else ""
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out += ch
    return out


def column_rows(lib: Library) -> list[tuple[str, str, str]]:
    """(column or pattern, unit, meaning): the generated columns, then the pathway's readouts as declared."""
    return [*GENERATED_COLUMNS, *((r.name, r.unit, r.description) for r in lib.pathway.readouts.values())]


def describe(column: str, lib: Library) -> tuple[str, str] | None:
    """(unit, meaning) of a time-course column, or None when nothing here names it."""
    rows = column_rows(lib)
    for name, unit, meaning in rows:  # an exact name first: 'spine_density' is a readout, not a pattern
        if name == column:
            return unit, meaning
    for name, unit, meaning in rows:
        if "<" in name and fnmatch.fnmatchcase(column, _glob(name)):
            return unit, meaning
    return None


def metric_definition(name: str) -> tuple[str, str] | None:
    """(unit, definition) of a sweep metric (analysis.metrics.METRIC_DEFINITIONS), or None."""
    from ..analysis.metrics import METRIC_DEFINITIONS

    for pattern, unit, definition in METRIC_DEFINITIONS:
        if fnmatch.fnmatchcase(name, _glob(pattern)):
            return unit, definition
    return None


def _md_table(header: tuple[str, ...], rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def glossary_markdown(lib: Library) -> str:
    """The units page's tables: units, time-course columns, sweep metrics."""
    from ..analysis.metrics import METRIC_DEFINITIONS

    lines = ["### Units", "", *_md_table(("unit", "meaning"), UNIT_MEANINGS.items()), "",
             "### Time-course columns (`Result.timecourse`, `Result.units`)", "",
             *_md_table(("column", "unit", "meaning"), ((f"`{n}`", f"`{u}`", d) for n, u, d in column_rows(lib))), "",
             "### Sweep metrics (`simulator.sweep`, `plasticity sweep`)", "",
             *_md_table(("metric", "unit", "definition"), ((f"`{n}`", u, d) for n, u, d in METRIC_DEFINITIONS))]
    return "\n".join(lines) + "\n"
