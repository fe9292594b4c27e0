"""The time-course figure: one panel per stage of the loop on a shared time axis."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib

STYLE = Path(__file__).with_name("plasticity.mplstyle")
WINDOW_H = (24.0, 72.0)
DRUG_FLOOR_FRACTION = 1e-4  # the drug panel's log axis shows four decades below the highest peak
DRUG_FLOOR_NM = 1e-3  # ... but never below 1 pM

# (title, [(column, label)]); each panel's y label is its first column's unit (Result.units)
PANELS = [
    ("Drug in brain", None),
    ("Glutamate", [("glutamate", "glutamate")]),
    ("AMPA activation", [("ampa", "AMPA activation"), ("ampa_surface", "surface AMPA")]),
    ("BDNF and TrkB", [("bdnf", "BDNF (extracellular)"), ("trkb", "active TrkB")]),
    ("mTORC1", [("mtorc1", "mTORC1")]),
    ("Synaptic protein", [("synaptic_protein", "GluA1/PSD95/synapsin")]),
    ("Spine density", [("spine_density", "spine density")]),
]
# a column's unit (Result.units) as an axis reads it
UNIT_LABELS = {"fold": "fold baseline", "1/um": "spines per µm", "um": "µm", "1/d": "per day", "1": "fraction", "h": "h", "nM": "nM"}
# runs overlaid in one axis: each its own line style, and each later run thinner and on top, so a run that
# coincides with an earlier one shows as a thin line inside a thick one instead of hiding it
RUN_STYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))]
RUN_WIDTHS = [2.6, 1.8, 1.3, 1.0, 0.8]
DRUG_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def unit_label(unit: str) -> str:
    """How a column's unit reads on an axis: 'fold' -> 'fold baseline', '1/um' -> 'spines per µm'."""
    return UNIT_LABELS.get(unit, unit) or "model units"


def run_style(k: int) -> dict:
    """Line style, width and drawing order of the k-th run of an overlay (see RUN_STYLES)."""
    return {"ls": RUN_STYLES[k % len(RUN_STYLES)], "lw": RUN_WIDTHS[min(k, len(RUN_WIDTHS) - 1)], "zorder": 2 + k}


def check_columns(columns, known, context: str) -> list[str]:
    """`columns` as a list of known column names; an unknown one is an UnknownNameError with the closest name."""
    from ._errors import PlasticityError, UnknownNameError

    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if not columns:
        raise PlasticityError(f"{context}: columns: expected at least one column name, e.g. ['mtorc1', 'spine_density']")
    for c in columns:
        if c not in known:
            raise UnknownNameError("column", c, known, context=context)
    return columns


@contextmanager
def style():
    """Apply the project's matplotlib style (use: `with simulator.style(): ...`)."""
    import matplotlib.pyplot as plt

    with plt.style.context(str(STYLE)):
        yield


def shade_window(ax, end_h: float) -> None:
    """Shade the 24-72 h window (clipped to `end_h`) on a time axis in hours."""
    lo, hi = WINDOW_H
    if end_h > lo:
        ax.axvspan(lo, min(hi, end_h), color="0.85", alpha=0.5, lw=0, zorder=0)


# metadata that would change a figure's bytes without a change in what it shows (library version, date)
FIXED_METADATA = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
                  "svg": {"Creator": None, "Date": None}, "eps": {"Creator": None, "CreationDate": None}}


def save_figure(fig, path, **savefig_kwargs):
    """Save a figure atomically with fixed metadata: the same figure gives the same bytes (no version, no date),
    so re-running a notebook leaves a tracked figure unmodified when nothing changed. Returns the path.

    Examples:
        >>> simulator.save_figure(fig, "docs/figures/01_quickstart.png", dpi=120)
    """
    from ._io import atomic_write

    path = Path(path)
    fmt = (savefig_kwargs.pop("format", None) or path.suffix.lstrip(".") or "png").lower()
    meta = {**FIXED_METADATA.get(fmt, {}), **savefig_kwargs.pop("metadata", {})}
    if fmt == "svg":
        savefig_kwargs.setdefault("metadata", meta)
        import matplotlib as mpl

        with mpl.rc_context({"svg.hashsalt": "plasticity"}):  # fixed ids inside the SVG
            return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, **savefig_kwargs))
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, metadata=meta, **savefig_kwargs))


WINDOW_TICKS_H = (0, 0.5, 1, 2, 4, 8, 24, 48, 72, 96)


def is_window_run(end_h: float, dose_times: Sequence[float]) -> bool:
    """A run about the 24-72 h window: it ends between 24 h and 4 days, and every dose comes before 24 h."""
    return WINDOW_H[0] < end_h <= 96.0 and all(t < WINDOW_H[0] for t in dose_times)


def mark_doses(ax, times: Sequence[float], *, color: str = "0.55") -> None:
    """Thin dotted lines at each administration time."""
    for t in times:
        ax.axvline(t, color=color, ls=":", lw=0.8, zorder=0)


def compound_label(result, column: str) -> str:
    """The display name of the compound of a `<id>_brain_nM` column: '(2r,6r)-hnk' for hnk_2r6r_brain_nM."""
    cid = column.removesuffix("_brain_nM")
    c = result.setup.library.compounds.get(cid) if getattr(result, "setup", None) is not None else None
    return c.name if c is not None else cid


def dose_times(result) -> list[float]:
    """Start times (h) of every administration of a Result's regimen."""
    return sorted({t for d in result.setup.regimen for t in d.times_h})


def drug_axis(ax, peak_nm: float) -> float:
    """A log axis for concentrations with a floor four decades under the peak (never below 1 pM); returns the floor."""
    floor = max(peak_nm * DRUG_FLOOR_FRACTION, DRUG_FLOOR_NM) if peak_nm > 0 else DRUG_FLOOR_NM
    ax.set_yscale("log")
    ax.set_ylim(floor, max(peak_nm, floor * 10) * 2.0)
    return floor


def _use_agg() -> None:
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline") and not _has_display():
        matplotlib.use("Agg")


def plot_result(result, *, vehicle: bool = True):
    """The figure of `Result.plot`: drug, then each stage of the loop, then spine density, over time."""
    _use_agg()
    import matplotlib.pyplot as plt
    import numpy as np

    tc = result.timecourse
    t = tc["time_h"].to_numpy()
    end = float(t[-1])
    drugs = [c for c in tc.columns if c.endswith("_brain_nM")]
    veh = result.vehicle.timecourse if (vehicle and drugs) else None
    doses = dose_times(result)
    window = is_window_run(end, doses)
    with style():
        fig, axes = plt.subplots(len(PANELS), 1, figsize=(8.2, 11.0), sharex=True, layout="constrained")
        units = result.units
        for ax, (title, series) in zip(axes, PANELS):
            ylabel = unit_label(units[series[0][0]]) if series else "free brain conc. (nM)"
            if window:
                shade_window(ax, end)
            else:
                mark_doses(ax, doses)
            if series is None:
                peak = max((float(np.nanmax(tc[c])) for c in drugs), default=0.0)
                for c in drugs:
                    y = tc[c].to_numpy()
                    ax.plot(t, np.where(y > 0, y, np.nan), label=compound_label(result, c))
                if drugs:
                    drug_axis(ax, peak)
                    ylabel = "free brain conc.\n(nM, log scale)"
                else:
                    ax.text(0.5, 0.5, "vehicle (no drug)", transform=ax.transAxes, ha="center", va="center", color="0.4")
            else:
                for col, label in series:
                    ax.plot(t, tc[col], label=label)
                if veh is not None:
                    ax.plot(t, veh[series[0][0]], color="0.5", ls="--", lw=1.0, label="vehicle")
            if len(ax.get_lines()) > 1 or (series is None and drugs):
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # beside the panel: never over a curve
            ax.set_title(title, loc="left", fontweight="bold")
            ax.set_ylabel(ylabel)
        what = "; shaded: 24–72 h, when most animal studies count spines" if window else ("; dotted: doses" if doses else "")
        axes[-1].set_xlabel(("time after dosing (h; the first hours stretched)" if window else "time after dosing (h)") + what)
        axes[0].set_xlim(t[0], end)
        if window:  # the burst happens in the first hours: a scale linear to 1 h and logarithmic after gives them room
            axes[0].set_xscale("symlog", linthresh=1.0, linscale=0.5)
            axes[0].set_xticks([x for x in WINDOW_TICKS_H if t[0] <= x <= end], [f"{x:g}" for x in WINDOW_TICKS_H if t[0] <= x <= end])
        regimen = "; ".join(result.provenance["regimen"]) or "vehicle"
        fig.suptitle(f"{regimen} — {result.provenance['species']}", fontsize=10)
    return fig


def plot_columns(result, columns, *, vehicle: bool = True):
    """The figure of `Result.plot(columns=...)`: one panel per column, labelled with its unit; concentrations
    on a log axis; the vehicle run dashed where it differs from a constant."""
    _use_agg()
    import matplotlib.pyplot as plt
    import numpy as np

    tc = result.timecourse
    columns = check_columns(columns, list(tc.columns[1:]), "Result.plot")
    units = result.units
    t = tc["time_h"].to_numpy()
    end = float(t[-1])
    doses = dose_times(result)
    window = is_window_run(end, doses)
    drug = [c for c in columns if units[c] == "nM"]
    regimen = "; ".join(result.provenance["regimen"])
    veh = result.vehicle.timecourse if vehicle and regimen and len(drug) < len(columns) else None
    with style():
        fig, axes = plt.subplots(len(columns), 1, figsize=(7.5, 1.9 * len(columns) + 1.0), sharex=True, layout="constrained", squeeze=False)
        for ax, col in zip(axes[:, 0], columns):
            if window:
                shade_window(ax, end)
            else:
                mark_doses(ax, doses)
            y = tc[col].to_numpy()
            if col in drug:
                ax.plot(t, np.where(y > 0, y, np.nan))
                drug_axis(ax, float(np.nanmax(y)) if len(y) else 0.0)
            else:
                ax.plot(t, y, label=regimen or "vehicle")
                if veh is not None:
                    ax.plot(t, veh[col], color="0.5", ls="--", lw=1.0, label="vehicle")
                    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7)
            ax.set_title(col, loc="left", fontweight="bold")
            ax.set_ylabel(f"{col} ({unit_label(units[col])})")
        what = "; shaded: 24–72 h window" if window else ("; dotted: doses" if doses else "")
        axes[-1, 0].set_xlabel("time after dosing (h)" + what)
        axes[0, 0].set_xlim(t[0], end)
        fig.suptitle(f"{regimen or 'vehicle'} — {result.provenance['species']}", fontsize=10)
    return fig


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
