"""The time-course figure: one panel per stage of the loop on a shared time axis."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib

STYLE = Path(__file__).with_name("plasticity.mplstyle")
WINDOW_H = (24.0, 72.0)

# (title, [(column, label)], y label)
PANELS = [
    ("Drug in brain", None, "free brain conc. (nM)"),
    ("Glutamate", [("glutamate", "glutamate")], "fold baseline"),
    ("AMPA activation", [("ampa", "AMPA activation"), ("ampa_surface", "surface AMPA")], "fold baseline"),
    ("BDNF and TrkB", [("bdnf", "BDNF (extracellular)"), ("trkb", "active TrkB")], "fold baseline"),
    ("mTORC1", [("mtorc1", "mTORC1")], "fold baseline"),
    ("Synaptic protein", [("synaptic_protein", "GluA1/PSD95/synapsin")], "fold baseline"),
    ("Spine density", [("spine_density", "spine density")], "spines per µm"),
]


@contextmanager
def style():
    """Apply the project's matplotlib style (use: `with simulator.style(): ...`)."""
    import matplotlib.pyplot as plt

    with plt.style.context(str(STYLE)):
        yield


def shade_window(ax, end_h: float) -> None:
    lo, hi = WINDOW_H
    if end_h > lo:
        ax.axvspan(lo, min(hi, end_h), color="0.85", alpha=0.5, lw=0, zorder=0)


def plot_result(result, *, vehicle: bool = True):
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline") and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tc = result.timecourse
    t = tc["time_h"].to_numpy()
    end = float(t[-1])
    drugs = [c for c in tc.columns if c.endswith("_brain_nM")]
    veh = result.vehicle.timecourse if (vehicle and drugs) else None
    with style():
        fig, axes = plt.subplots(len(PANELS), 1, figsize=(7.0, 11.0), sharex=True)
        for ax, (title, series, ylabel) in zip(axes, PANELS):
            shade_window(ax, end)
            if series is None:
                for c in drugs:
                    ax.plot(t, tc[c], label=c.removesuffix("_brain_nM"))
                if drugs:
                    ax.set_yscale("symlog", linthresh=1.0)
                    ax.legend(loc="upper right", ncol=2)
                else:
                    ax.text(0.5, 0.5, "vehicle (no drug)", transform=ax.transAxes, ha="center", va="center", color="0.4")
            else:
                for col, label in series:
                    ax.plot(t, tc[col], label=label)
                if veh is not None:
                    ax.plot(t, veh[series[0][0]], color="0.5", ls="--", lw=1.0, label="vehicle")
                if len(series) > 1 or veh is not None:
                    ax.legend(loc="upper right")
            ax.set_title(title, loc="left", fontweight="bold")
            ax.set_ylabel(ylabel)
        axes[-1].set_xlabel("time after dosing (h)" + ("; shaded: 24–72 h window" if end > WINDOW_H[0] else ""))
        axes[0].set_xlim(t[0], end)
        regimen = "; ".join(result.provenance["regimen"]) or "vehicle"
        fig.suptitle(f"{regimen} — {result.provenance['species']}", fontsize=10)
        fig.tight_layout()
    return fig


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
