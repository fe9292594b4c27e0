"""The parameter table of a composed model: every number with its unit, documented range, source and file.

What roadrunner's `getGlobalParameterIds()` or SimBiology's parameter table give: the flat model a run
would use for a species, a set of compounds and a condition, one row per parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._errors import PlasticityError
from .compose import Interventions, compose
from .files import CONDITIONS_FILE, Library, Param, load_library
from .regimen import Dose, Regimen

if TYPE_CHECKING:
    import pandas as pd

    from .compose import FlatModel

COLUMNS = ("name", "value", "unit", "range_low", "range_high", "kind", "source", "file", "note")
KINDS = ("calibrated", "assumed", "literature", "setting")
BUILT_IN = "built in (simulator/model)"  # numbers composition adds itself (bath exchange in culture, condition severity and course)
_SPECIES_KEYS = ("body_weight", "baseline_spine_density", "baseline_head_diameter")


def source_kind(source: str) -> str:
    """'calibrated', 'assumed', 'setting' (a knob of a run, such as the condition's severity) or 'literature'.

    Read from the start of the source text, the convention of models/ ("calibrated (scripts/...)",
    "assumed: ..."); a condition multiplier's source ("condition chronic_stress: <source>") is judged
    by the source it quotes. "(assumed)" anywhere marks a value a paper did not give (a typical body weight)."""
    text = source.strip().lower()
    if text.startswith("condition") and ":" in text:
        head, _, rest = text.partition(":")
        if head.strip() == "condition":  # the severity knob: "condition: 0 = none, 1 = as sourced ..."
            return "setting"
        text = rest.strip()
    if text.startswith("intervention"):
        return "setting"
    if text.startswith("calibrated"):
        return "calibrated"
    if text.startswith("assumed") or "(assumed" in text:
        return "assumed"
    return "literature"


def _probe_regimen(lib: Library, compounds: Iterable[str], species: str) -> Regimen:
    """One nominal dose of each compound by every route it has in `species` (bath in culture), so the composed
    model carries every PK and route parameter those compounds can bring."""
    sp_ = lib.get_species(species)
    doses = []
    for name in compounds:
        if not isinstance(name, str):
            raise PlasticityError(f"compounds: expected compound names such as 'ketamine', got {name!r}")
        c = lib.compound(name)
        if sp_.bath:
            doses.append(Dose(c.name, 1.0, "nM", "bath"))
            continue
        routes = c.routes(sp_.name)
        if not routes:
            having = [s for s in c.pk if c.routes(s)]
            if not having:
                raise PlasticityError(f"compounds: {c.name} has no PK in any species; it is applied in culture: use species='culture'")
            raise PlasticityError(f"compounds: {c.name} has no route of administration in {sp_.name} (it has in: {', '.join(having)}); "
                                  "if it forms from another compound, list that one")
        doses.extend(Dose(c.name, 1.0, "nmol", r) for r in routes)
    return Regimen(tuple(doses))


def _file_of(name: str, lib: Library, flat: FlatModel) -> str:
    """The model file (relative to the models folder) a parameter of the flat model comes from."""
    if name in lib.pathway.parameters:
        return lib.pathway.file
    if name in _SPECIES_KEYS:
        return "species.toml"
    if name.startswith("condition_") and name not in ("condition_severity", "condition_ongoing"):  # two knobs of the run
        return CONDITIONS_FILE
    for cid in sorted(flat.compounds, key=len, reverse=True):  # longest id first: 'norketamine_' before 'ketamine_'
        if name.startswith(f"{cid}_"):
            return lib.compounds[cid].file
    return BUILT_IN


def parameters_of(flat: FlatModel, lib: Library) -> pd.DataFrame:
    """The table for an already composed model (its regimen's compounds and routes, its interventions)."""
    import pandas as pd

    rows = []
    for name in flat.params:
        if name in flat.inputs:  # set by dose events and clamps during a run, not a parameter
            continue
        p: Param | None = flat.meta.get(name)
        if p is None:
            raise PlasticityError(f"parameters: '{name}' has no unit or source in the composed model")
        lo, hi = p.range if p.range is not None else (math.nan, math.nan)
        rows.append({"name": name, "value": float(flat.values[name]), "unit": p.unit, "range_low": lo, "range_high": hi,
                     "kind": source_kind(p.source), "source": p.source, "file": _file_of(name, lib, flat), "note": p.note})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def parameters(
    species: str = "mouse",
    compounds: Iterable[str] | str = (),
    *,
    condition: str = "none",
    genotype: str = "wild_type",
    library: Library | None = None,
) -> pd.DataFrame:
    """One row per parameter of the model composed for `species`, `compounds` and `condition`.

    Columns: `name`, `value` and `unit` (the engine's canonical units: h, nM, nmol, L, kg, um; '1' is
    dimensionless), `range_low` / `range_high` (the documented plausible range, NaN where none is given),
    `kind` ('calibrated', 'assumed', 'literature', or 'setting' for a knob such as the condition's
    severity), `source`, `file` (relative to the models folder) and `note`. Each compound brings its PK
    for every route it has in the species, its metabolites and its target potencies. Values include the
    genotype's multipliers; `library` is a library of your own (see `simulator.add_compound`).

    Examples:
        >>> table = simulator.parameters(species="mouse", compounds=["ketamine"])
        >>> table[table.kind == "assumed"]
    """
    lib = library or load_library()
    if isinstance(compounds, str):
        compounds = [compounds]
    sp_ = lib.get_species(species)
    regimen = _probe_regimen(lib, list(compounds), sp_.name)
    cond = lib.condition(condition).name
    lib.genotype(genotype)  # an unknown genotype names the closest one
    flat = compose(lib, regimen, sp_, Interventions(genotype=str(genotype), condition=cond))
    return parameters_of(flat, lib)


def table_text(table: pd.DataFrame, source_width: int = 70) -> str:
    """The table as aligned text for the terminal: the source cut to `source_width` characters (the CSV has it whole)."""
    def rng(lo: float, hi: float) -> str:
        return "" if math.isnan(lo) else f"{lo:.4g}..{hi:.4g}"

    def cut(s: str) -> str:
        s = " ".join(s.split())
        return s if len(s) <= source_width else s[: source_width - 1] + "…"

    rows = [(r.name, f"{r.value:.6g}", r.unit, rng(r.range_low, r.range_high), r.kind, r.file, cut(r.source)) for r in table.itertuples()]
    head = ("name", "value", "unit", "range", "kind", "file", "source")
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
