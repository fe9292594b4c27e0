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
LINE_STYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))]
DEFAULT_READOUTS = ("glutamate", "mtorc1", "synaptic_protein", SPINE_GAIN)
_TITLES = {
    "glutamate": ("Glutamate", "fold baseline"),
    "mtorc1": ("mTORC1", "fold baseline"),
    "synaptic_protein": ("Synaptic protein", "fold baseline"),
    "spine_density": ("Spine density", "spines per µm"),
    SPINE_GAIN: ("Spine gain", "% vs vehicle"),
}


@dataclass
class Comparison:
    """Named runs to compare: `plot()` overlays them, `summary()` tabulates them, `timecourse` stacks them.

    >>> cmp = simulator.compare({"ketamine": r1, "rapamycin + ketamine": r2})
    >>> cmp.plot("blocker.png"); cmp.summary([24, 72])
    """

    runs: dict[str, Result]

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

    def plot(self, path: str | Path | None = None, *, readouts: Sequence[str] = DEFAULT_READOUTS, drug: bool = True):
        """Overlay the runs: the drug (if `drug`), then each readout ('spine_gain' is % vs each run's vehicle).

        Each run has one colour in every panel; doses are marked per run (or the 24-72 h window shaded
        when every run is about it); the legend sits below the panels. Saved to `path` if given."""
        import matplotlib.pyplot as plt
        import numpy as np

        from .._plot import _use_agg, compound_label, dose_times, drug_axis, is_window_run, mark_doses, save_figure, shade_window, style

        _use_agg()
        for r in readouts:
            if r != SPINE_GAIN and any(r not in run.timecourse for run in self.runs.values()):
                from .._errors import UnknownNameError

                first = next(iter(self.runs.values()))
                raise UnknownNameError("readout", r, [*first.timecourse.columns[1:], SPINE_GAIN], context="compare().plot")
        ends = [float(r.timecourse["time_h"].iloc[-1]) for r in self.runs.values()]
        starts = [float(r.timecourse["time_h"].iloc[0]) for r in self.runs.values()]
        window = all(is_window_run(e, dose_times(r)) for e, r in zip(ends, self.runs.values()))
        panels = (["drug"] if drug else []) + list(readouts)
        with style():
            colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
            fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 1.9 * len(panels) + 1.0), sharex=True, layout="constrained", squeeze=False)
            axes = axes[:, 0]
            peak = 0.0
            drug_styles: dict[str, object] = {}
            for k, (name, run) in enumerate(self.runs.items()):
                colour = colours[k % len(colours)]
                tc = run.timecourse
                t = tc["time_h"].to_numpy()
                for ax, panel in zip(axes, panels):
                    if panel == "drug":  # colour: the run; line style: the compound (legend beside the panel)
                        for c in (c for c in tc.columns if c.endswith("_brain_nM")):
                            y = tc[c].to_numpy()
                            peak = max(peak, float(np.nanmax(y)))
                            ls = drug_styles.setdefault(compound_label(run, c), LINE_STYLES[len(drug_styles) % len(LINE_STYLES)])
                            ax.plot(t, np.where(y > 0, y, np.nan), color=colour, ls=ls, lw=1.2)
                        continue
                    if panel == SPINE_GAIN:
                        veh = run.vehicle.timecourse["spine_density"].to_numpy()
                        y = 100.0 * (tc["spine_density"].to_numpy() - veh) / veh
                    else:
                        y = tc[panel].to_numpy()
                    ax.plot(t, y, color=colour, label=name if panel == panels[-1] else None)
                    if not window:
                        mark_doses(ax, dose_times(run), color=colour)
            for ax, panel in zip(axes, panels):
                if window:
                    shade_window(ax, max(ends))
                title, unit = _TITLES.get(panel, (panel, ""))
                if panel == "drug":
                    title, unit = "Drug in brain", "free brain conc. (nM)"
                    if peak > 0:
                        floor = drug_axis(ax, peak)
                        unit = f"free brain conc.\n(nM, log; floor {floor:.2g})"
                    if drug_styles:
                        from matplotlib.lines import Line2D

                        handles = [Line2D([], [], color="0.3", ls=ls, lw=1.2, label=label) for label, ls in drug_styles.items()]
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
