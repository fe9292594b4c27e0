"""Reload a saved run as a Result: the table and its provenance back, the model recomposed from that provenance."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import PlasticityError

if TYPE_CHECKING:
    from ._simulate import Result
    from .model.files import Library
    from .sbml.model import ImportedModel

SUFFIXES = (".csv", ".parquet", ".pq")
_NEEDED = ("package", "species", "regimen", "hours", "parameters", "tolerances")  # what rebuilding a run of the built-in model needs
_NEEDED_IMPORTED = ("package", "model", "model_hash", "hours", "parameters", "tolerances", "species_as")  # ... of an imported model


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
    if not isinstance(prov, dict):
        raise PlasticityError(f"load_result: the provenance of '{path}' is not a record of a run; read the table with simulator.read_table")
    missing = [k for k in (_NEEDED_IMPORTED if "model" in prov else _NEEDED) if k not in prov]
    if prov.get("package") != "plasticity" or missing:
        raise PlasticityError(f"load_result: '{path}' holds no single run's provenance (missing {', '.join(missing) or 'package'}): "
                              "it is not a file Result.save wrote (a comparison's or a sweep's table, say); read it with simulator.read_table")
    if "time_h" not in df.columns:
        raise PlasticityError(f"load_result: '{path}' has no time_h column; it is not a time course Result.save wrote")
    units = prov.get("units")
    if isinstance(units, dict) and set(units) != set(df.columns):  # the sidecar's keys are sorted: compare as sets
        differ = sorted(set(df.columns) ^ set(units))
        raise PlasticityError(f"load_result: the columns of '{path}' are not those it was saved with (differ in: "
                              f"{', '.join(differ[:5])}); the table was edited after it was written")
    return df, prov


def load_result(path: str | Path, *, library: Library | None = None, model: ImportedModel | None = None) -> Result:
    """A Result from a file `Result.save` wrote (CSV with its provenance sidecar, or Parquet).

    The time course and provenance come from the file; the model is recomposed from the provenance
    (species, regimen, genotype, condition, interventions, parameter values), so `summary()`, `plot()`,
    `spine_gain()` and `vehicle` work as on the original run. A warning says when today's model files
    differ from those the run was made with (its `model_hash`): the vehicle run is then today's model.
    `states` holds only time_h (model states are not saved). `library` is the library the run used, when it
    was one of your own (`simulator.add_compound`). A run of an imported SBML model needs that model again
    (`model=simulator.from_sbml(path)`; the provenance records only its file name), and a warning says when
    it is not the same model (its hash).

    Examples:
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
    states = pd.DataFrame({"time_h": df["time_h"].to_numpy()})
    if "model" in prov:
        return _imported(path, df, states, prov, model)
    if model is not None:
        raise PlasticityError(f"load_result: '{path}' is a run of the built-in model; give no model= (that is for imported SBML runs)")
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
    return Result(df, states, prov, s)


def _imported(path: Path, df, states, prov: dict, model: ImportedModel | None) -> Result:
    """An imported model's saved run: its table and provenance, with the model given again (for units and the run without events)."""
    from ._simulate import ImportedResult, Setup
    from .engine.scipy_path import Tolerances
    from .model.compose import Interventions
    from .model.regimen import Regimen
    from .sbml.result import model_hash
    from .sbml.run import engine_of, start_values

    if model is None or getattr(model, "sbml_events", None) is None:
        raise PlasticityError(f"load_result: '{path}' is a run of the imported SBML model '{prov['model']}'; give that model again: "
                              f"load_result(path, model=simulator.from_sbml('{prov['model']}')), got model={model!r:.60}")
    if model_hash(model) != prov["model_hash"]:
        warnings.warn(f"'{path.name}' was simulated with an imported model of hash {prov['model_hash']}, the model given has "
                      f"{model_hash(model)}: its run without events (metrics) is this model's", stacklevel=3)
    eng = engine_of(model)
    defaults = dict(zip(model.params, start_values(model, eng, None)[0], strict=True))
    overrides = {k: float(v) for k, v in prov["parameters"].items() if k in defaults and defaults[k] != v}
    p, y0 = start_values(model, eng, overrides)
    setup = Setup(None, model, None, Regimen(()), "sbml", Interventions(), dict(zip(model.params, p, strict=True)), p, y0)
    basis = None if prov["species_as"] == "declared" else prov["species_as"]
    return ImportedResult(df, states, prov, setup, params=overrides, tolerances=Tolerances(**prov["tolerances"]), species_as=basis)
