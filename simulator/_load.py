"""Reload a saved run as a Result: the table and its provenance back, the model recomposed from that provenance."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import PlasticityError

if TYPE_CHECKING:
    from ._simulate import Result
    from .model.files import Library

SUFFIXES = (".csv", ".parquet", ".pq")
_NEEDED = ("package", "species", "regimen", "hours", "parameters", "tolerances")  # what rebuilding the run needs


def _read(path: Path):
    """The table and provenance of a file `Result.save` wrote, or one clear error saying why it is not one."""
    from ._io import SIDECAR_SUFFIX, read_table, sidecar_path

    if path.suffix.lower() not in SUFFIXES:
        raise PlasticityError(f"load_result: '{path}' is not a file Result.save writes; expected a .csv (with its "
                              f"'{path.name}{SIDECAR_SUFFIX}' sidecar) or a .parquet file")
    try:
        df, prov = read_table(path)
    except PlasticityError:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas and pyarrow raise many types on a file that is not a table
        raise PlasticityError(f"load_result: cannot read '{path}' as a {path.suffix.lstrip('.')} table "
                              f"({type(exc).__name__}: {str(exc)[:200]})") from None
    if not prov:
        where = f"no '{sidecar_path(path).name}' beside it" if path.suffix.lower() == ".csv" else "no plasticity metadata in its schema"
        raise PlasticityError(f"load_result: '{path}' has no run provenance ({where}); only a file Result.save (or "
                              "'plasticity simulate --out') wrote can come back as a Result; read other tables with pandas")
    missing = [k for k in _NEEDED if k not in prov]
    if not isinstance(prov, dict) or prov.get("package") != "plasticity" or missing:
        what = "an imported SBML model's run" if isinstance(prov, dict) and "model" in prov else "not a single run's provenance"
        raise PlasticityError(f"load_result: '{path}' holds {what} (missing {', '.join(missing) or 'package'}); "
                              "load_result rebuilds runs of the built-in model; read this table with simulator.read_table")
    if "time_h" not in df.columns:
        raise PlasticityError(f"load_result: '{path}' has no time_h column; it is not a time course Result.save wrote")
    units = prov.get("units")
    if isinstance(units, dict) and set(units) != set(df.columns):  # the sidecar's keys are sorted: compare as sets
        differ = sorted(set(df.columns) ^ set(units))
        raise PlasticityError(f"load_result: the columns of '{path}' are not those it was saved with (differ in: "
                              f"{', '.join(differ[:5])}); the table was edited after it was written")
    return df, prov


def load_result(path: str | Path, *, library: Library | None = None) -> Result:
    """A Result from a file `Result.save` wrote (CSV with its provenance sidecar, or Parquet).

    The time course and provenance come from the file; the model is recomposed from the provenance
    (species, regimen, genotype, condition, interventions, parameter values), so `summary()`, `plot()`,
    `spine_gain()` and `vehicle` work as on the original run. A warning says when today's model files
    differ from those the run was made with (its `model_hash`): the vehicle run is then today's model.
    `states` holds only time_h (model states are not saved). `library` is the library the run used, when it
    was one of your own (`simulator.add_compound`).

    >>> result.save("ketamine.parquet")
    >>> again = simulator.load_result("ketamine.parquet")
    >>> again.summary() == result.summary()
    """
    import pandas as pd

    from ._simulate import Result, setup
    from .engine.scipy_path import Tolerances
    from .model.compose import Clamp
    from .model.files import load_library

    path = Path(path)
    if not path.is_file():
        raise PlasticityError(f"load_result: no file '{path}'")
    df, prov = _read(path)
    lib = library or load_library()
    if prov.get("model_hash") and prov["model_hash"] != lib.hash:
        warnings.warn(f"'{path.name}' was simulated with model files {prov['model_hash']}, the library now is {lib.hash}: "
                      "its vehicle run (summary, plot) is recomputed with today's model", stacklevel=2)
    try:
        s = setup(prov["regimen"], species=prov["species"], params=prov["parameters"], genotype=prov.get("genotype", "wild_type"),
                  cut=prov.get("cut", ()), scale=prov.get("scale") or None, clamp=[Clamp(**c) for c in prov.get("clamp", ())],
                  library=lib, condition=prov.get("condition", "none"))
        Tolerances(**prov["tolerances"])
    except (TypeError, KeyError) as exc:
        raise PlasticityError(f"load_result: the provenance of '{path}' cannot be read back ({type(exc).__name__}: {exc})") from None
    return Result(df, pd.DataFrame({"time_h": df["time_h"].to_numpy()}), prov, s)
