"""Loop attribution: how much of the spine gain each feedback edge carries, over time.

The loop-closed run is compared with runs where one feedback edge (and then all of them) is cut
(`simulate(..., cut=[edge])`: the edge is held at its drug-free steady-state value). The share of
an edge at time t is (gain_closed - gain_cut) / gain_closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._simulate import simulate
from ..model.files import load_library


@dataclass
class Attribution:
    """`table`: time_h, gain_closed, then gain_cut_<edge> and share_<edge> per edge (and 'all')."""

    regimen: str
    species: str
    edges: list[str]
    table: pd.DataFrame

    def at(self, time_h: float) -> dict[str, float]:
        """Share of the spine gain each edge carries at `time_h` (interpolated)."""
        t = self.table["time_h"].to_numpy()
        return {e: float(np.interp(time_h, t, self.table[f"share_{e}"])) for e in [*self.edges, "all"]}

    def plot(self, path: str | None = None):
        """Spine gain closed vs cut (top) and each edge's share over time (bottom)."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .._plot import save_figure, shade_window, style

        t = self.table["time_h"].to_numpy()
        with style():
            fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True)
            a1.plot(t, self.table["gain_closed"], color="k", label="loop closed")
            for e in [*self.edges, "all"]:
                a1.plot(t, self.table[f"gain_cut_{e}"], label=f"cut {e}" if e != "all" else "all feedback cut")
                a2.plot(t, 100 * self.table[f"share_{e}"], label=e)
            for ax in (a1, a2):
                shade_window(ax, float(t[-1]))
            a1.set_ylabel("spine gain (% vs vehicle)")
            a2.set_ylabel("share carried by the edge (%)")
            a2.set_xlabel("time (h)")
            a1.legend(fontsize=7)
            a2.legend(fontsize=7)
            a1.set_title(f"{self.regimen} — {self.species}", loc="left", fontsize=9)
            fig.tight_layout()
        if path is not None:
            save_figure(fig, path)  # atomic, like every file the project writes
        return fig


def loop_attribution(
    regimen, *, species: str = "mouse", hours: float = 72.0, edges: Sequence[str] | None = None, floor: float = 1e-6, **kwargs
) -> Attribution:
    """Cut each feedback edge in turn (and all together) and report the share of the spine gain
    it carries over time; where the closed-loop gain is below `floor` (%) the share is 0."""
    edges = list(edges) if edges is not None else list(load_library().pathway.edges)
    closed = simulate(regimen, species=species, hours=hours, **kwargs)
    t = closed.timecourse["time_h"].to_numpy()

    def gain(r) -> np.ndarray:
        v = r.vehicle.timecourse["spine_density"].to_numpy()
        return 100.0 * (r.timecourse["spine_density"].to_numpy() - v) / v

    g = gain(closed)
    cols: dict[str, np.ndarray] = {"time_h": t, "gain_closed": g}
    for name, cut in [*((e, [e]) for e in edges), ("all", edges)]:
        gc = gain(simulate(regimen, species=species, hours=hours, times=t, cut=cut, **kwargs))
        cols[f"gain_cut_{name}"] = gc
        with np.errstate(divide="ignore", invalid="ignore"):
            cols[f"share_{name}"] = np.where(np.abs(g) > floor, (g - gc) / g, 0.0)
    return Attribution("; ".join(closed.provenance["regimen"]) or "vehicle", closed.provenance["species"], edges, pd.DataFrame(cols))
