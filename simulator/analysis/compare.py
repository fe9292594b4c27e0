"""Several runs side by side: one overlay figure and one summary table (the blocker experiment's figure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import PlasticityError

if TYPE_CHECKING:
    import pandas as pd

    from .._simulate import Result

SPINE_GAIN = "spine_gain"
DEFAULT_READOUTS = ("glutamate", "mtorc1", "synaptic_protein", SPINE_GAIN)
_TITLES = {"glutamate": "Glutamate", "mtorc1": "mTORC1", "synaptic_protein": "Synaptic protein", "spine_density": "Spine density",
           SPINE_GAIN: "Spine gain"}


@dataclass
class Comparison:
    """Named runs to compare: `plot()` overlays them, `summary()` tabulates them, `timecourse` stacks them.

    Examples:
        >>> cmp = simulator.compare({"ketamine": r1, "rapamycin + ketamine": r2})
        >>> cmp.plot("blocker.png"); cmp.summary([24, 72])
    """

    runs: dict[str, Result]

    def __repr__(self) -> str:
        from .._views import comparison_repr

        return comparison_repr(self)

    def _repr_html_(self) -> str:
        from .._views import comparison_html

        return comparison_html(self)

    @property
    def timecourse(self) -> pd.DataFrame:
        """Every run's time course stacked, with a first column `run` (the name given)."""
        import pandas as pd

        return pd.concat([r.timecourse.assign(run=name)[["run", *r.timecourse.columns]] for name, r in self.runs.items()], ignore_index=True)

    def summary(self, times: Iterable[float] | None = None) -> pd.DataFrame:
        """One row per run (indexed by name): `Result.summary(times)` of each."""
        import pandas as pd

        rows = {name: r.summary(times) for name, r in self.runs.items()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def plot(self, path: str | Path | None = None, *, columns: Sequence[str] = DEFAULT_READOUTS, drug: bool = True):
        """Overlay the runs: the drug (if `drug`), then each of `columns` ('spine_gain' is % vs each run's vehicle),
        each labelled with its unit; an unknown column is an UnknownNameError naming the closest.

        Each run has one colour and one line style in every panel, and each later run is drawn thinner and on
        top, so runs that coincide stay visible; in the drug panel a marker tells the compounds apart. Doses
        are marked per run (or the 24-72 h window shaded when every run is about it); the legend sits below
        the panels. Saved to `path` if given.

        Examples:
            >>> cmp.plot(columns=["mtorc1", "spine_gain"])
        """
        import matplotlib.pyplot as plt
        import numpy as np

        from .._plot import (
            DRUG_MARKERS,
            _use_agg,
            check_columns,
            compound_label,
            dose_times,
            drug_axis,
            is_window_run,
            mark_doses,
            run_style,
            save_figure,
            shade_window,
            style,
            unit_label,
        )

        _use_agg()
        shared = [c for c in next(iter(self.runs.values())).timecourse.columns[1:] if all(c in r.timecourse for r in self.runs.values())]
        readouts = check_columns(columns, [*shared, SPINE_GAIN], "Comparison.plot")
        units = {SPINE_GAIN: "% vs vehicle", **next(iter(self.runs.values())).units}
        ends = [float(r.timecourse["time_h"].iloc[-1]) for r in self.runs.values()]
        starts = [float(r.timecourse["time_h"].iloc[0]) for r in self.runs.values()]
        window = all(is_window_run(e, dose_times(r)) for e, r in zip(ends, self.runs.values()))
        panels = (["drug"] if drug else []) + list(readouts)
        with style():
            colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
            fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 1.9 * len(panels) + 1.0), sharex=True, layout="constrained", squeeze=False)
            axes = axes[:, 0]
            peak = 0.0
            drug_markers: dict[str, str] = {}
            for k, (name, run) in enumerate(self.runs.items()):
                colour, line = colours[k % len(colours)], run_style(k)
                tc = run.timecourse
                t = tc["time_h"].to_numpy()
                for ax, panel in zip(axes, panels):
                    if panel == "drug":  # colour and line style: the run; marker: the compound (legend beside the panel)
                        for c in (c for c in tc.columns if c.endswith("_brain_nM")):
                            y = tc[c].to_numpy()
                            peak = max(peak, float(np.nanmax(y)))
                            marker = drug_markers.setdefault(compound_label(run, c), DRUG_MARKERS[len(drug_markers) % len(DRUG_MARKERS)])
                            ax.plot(t, np.where(y > 0, y, np.nan), color=colour, marker=marker, ms=4, markevery=(0.02 * (k + 1), 0.1), **line)
                        continue
                    if panel == SPINE_GAIN:
                        veh = run.vehicle.timecourse["spine_density"].to_numpy()
                        y = 100.0 * (tc["spine_density"].to_numpy() - veh) / veh
                    else:
                        y = tc[panel].to_numpy()
                    ax.plot(t, y, color=colour, label=name if panel == panels[-1] else None, **line)
                    if not window:
                        mark_doses(ax, dose_times(run), color=colour)
            for ax, panel in zip(axes, panels):
                if window:
                    shade_window(ax, max(ends))
                title, unit = _TITLES.get(panel, panel), unit_label(units.get(panel, ""))
                if panel == "drug":
                    title, unit = "Drug in brain", "free brain conc. (nM)"
                    if peak > 0:
                        floor = drug_axis(ax, peak)
                        unit = f"free brain conc.\n(nM, log; floor {floor:.2g})"
                    if drug_markers:
                        from matplotlib.lines import Line2D

                        handles = [Line2D([], [], color="0.3", ls="", marker=m, ms=4, label=label) for label, m in drug_markers.items()]
                        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7)
                if panel == SPINE_GAIN:
                    ax.axhline(0.0, color="0.5", lw=0.8, ls="--")
                ax.set_title(title, loc="left", fontweight="bold")
                ax.set_ylabel(unit)
            axes[0].set_xlim(min(starts), max(ends))
            what = "shaded: 24–72 h window" if window else "dotted: doses, in each run's colour"
            axes[-1].set_xlabel(f"time after dosing (h); {what}")
            species = sorted({r.provenance["species"] for r in self.runs.values()})
            fig.suptitle(f"{' vs '.join(self.runs)} — {', '.join(species)}", fontsize=10)
            fig.legend(*axes[-1].get_legend_handles_labels(), loc="outside lower center", ncol=min(len(self.runs), 3))
        if path is not None:
            save_figure(fig, path)
        return fig


def compare(runs: Mapping[str, Result | str | Sequence[str]], **simulate_kwargs) -> Comparison:
    """Put named runs side by side. A value is a `Result`, or a regimen (a dose string or a list of them;
    [] is vehicle) simulated with `simulate_kwargs` (species, hours, params, ...).

    Examples:
        >>> cmp = simulator.compare({"ketamine": "ketamine 10 mg/kg ip",
        ...                          "rapamycin + ketamine": ["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"]},
        ...                         species="rat", hours=72)
        >>> cmp.plot("blocker.png")
    """
    from .._simulate import Result, simulate

    if not isinstance(runs, Mapping) or not runs:
        raise PlasticityError(f"compare: expected a mapping of name to Result or regimen, e.g. {{'ketamine': result}}, got {runs!r:.80}")
    out: dict[str, Result] = {}
    for name, run in runs.items():
        if not isinstance(name, str) or not name.strip():
            raise PlasticityError(f"compare: each run needs a name (text), got {name!r}")
        if isinstance(run, Result):
            if simulate_kwargs:
                raise PlasticityError(f"compare: '{name}' is already a Result; simulate options ({', '.join(simulate_kwargs)}) apply only to regimens")
            out[name] = run
        else:
            out[name] = simulate(run, **simulate_kwargs)
    return Comparison(out)
