"""`simulator.fit`, the one entry point for parameter estimation: observations and their experiments
(analysis/fit.py) or a PEtab problem (simulator/petab). It sits above both, so neither imports the other's caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .._errors import PlasticityError
from ..petab import fit_petab
from .fit import Experiment, FitResult, fit_observations


def fit(
    data: str | Path | pd.DataFrame | None = None,
    params: Sequence[str] = (),
    *,
    regimen=(),
    species: str = "mouse",
    experiments: Mapping[str, Experiment] | None = None,
    start: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    overrides: Mapping[str, float] | None = None,
    level: float = 0.95,
    starts: int = 1,
    seed: int | None = None,
    profiles: bool | str = "auto",
    petab: str | Path | None = None,
) -> FitResult:
    """Least-squares fit of `params` (log-scale, bounded by their ranges in models/ or `bounds`) to `data`.

    One experiment: `regimen`, `species` and fixed `overrides`. Several: `experiments` maps the data's
    experiment column to `Experiment`s. `starts` > 1 adds local fits from a Latin hypercube over the
    log-bounds (reproducible with `seed`); `profiles` computes profile-likelihood intervals (by default
    for up to 4 parameters; else call `FitResult.profile(name)`). `petab` runs a PEtab problem instead.

    Examples:
        >>> f = fit("data.csv", ["k_mtorc1"], regimen=["ketamine 10 mg/kg ip"], species="rat")
    """
    if petab is not None:
        if data is not None or experiments is not None:
            raise PlasticityError("petab: a PEtab problem carries its own data and conditions; give no data or experiments with petab=")
        return fit_petab(petab, params=params, level=level, starts=starts, seed=seed, profiles=profiles)
    return fit_observations(
        data, params, regimen=regimen, species=species, experiments=experiments, start=start, bounds=bounds, overrides=overrides,
        level=level, starts=starts, seed=seed, profiles=profiles,
    )
