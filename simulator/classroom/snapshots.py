"""Teaching helpers for the notebooks: a pathway diagram whose arrows carry the loop's signal over
time, and interactive controls with a static fallback when no widget frontend is running.

The public face is `simulator.teaching` (the notebooks import from there).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

# node: (x, y, label). Top row runs left to right, the bottom row returns right to left.
NODES = {
    "drug": (-1.0, 1.0, "drug\n(brain)"),
    "glutamate": (0.0, 1.0, "glutamate"),
    "ampa": (1.0, 1.0, "AMPA"),
    "bdnf": (2.0, 1.0, "BDNF"),
    "trkb": (3.0, 1.0, "TrkB"),
    "mtorc1": (3.0, 0.0, "mTORC1"),
    "synaptic_protein": (1.5, 0.0, "synaptic\nprotein"),
    "spine_density": (0.0, 0.0, "spines"),
}

# (upstream, downstream, kind). The feedback edges are the two the engine can cut.
EDGES = [
    ("drug", "glutamate", "forward"),
    ("glutamate", "ampa", "forward"),
    ("ampa", "bdnf", "forward"),
    ("bdnf", "trkb", "forward"),
    ("trkb", "mtorc1", "forward"),
    ("mtorc1", "synaptic_protein", "forward"),
    ("synaptic_protein", "spine_density", "forward"),
    ("mtorc1", "bdnf", "feedback: mtorc1_to_bdnf"),
    ("synaptic_protein", "ampa", "feedback: mtorc1_to_ampa"),
]

STATIC_ENV = "PLASTICITY_STATIC"
FEEDBACK_COLOUR = "#E69F00"  # Okabe-Ito orange, as in the style's colour cycle
SPACING = 1.5  # data units between neighbouring nodes
RADIUS = 0.42


def _node_fold(tc: pd.DataFrame, node: str) -> np.ndarray:
    """A node's level as fold over its drug-free baseline (the drug as a fraction of its peak)."""
    if node == "drug":
        cols = [c for c in tc.columns if c.endswith("_brain_nM")]
        if not cols:
            return np.zeros(len(tc))
        total = tc[cols].sum(axis=1).to_numpy()
        peak = total.max()
        return total / peak if peak > 0 else total
    x = tc[node].to_numpy(dtype=float)
    if node == "spine_density":
        return x / x[0]
    return x


def edge_signal(result, times: Sequence[float]) -> pd.DataFrame:
    """The extra signal each arrow carries at the given times.

    For a loop edge this is how far the upstream node sits above its drug-free baseline
    (fold - 1, floored at 0): the drive the edge passes on beyond what it passes at rest. For the
    drug arrow it is the total free brain concentration as a fraction of its peak. It is a
    proxy for flux, read from the readouts, not a reaction rate taken from inside the solver.
    """
    tc = result.timecourse
    t = tc["time_h"].to_numpy()
    rows = []
    for time in times:
        i = int(np.argmin(np.abs(t - time)))
        row = {"time_h": float(t[i])}
        for up, down, _kind in EDGES:
            v = _node_fold(tc, up)[i]
            row[f"{up} -> {down}"] = float(max(v, 0.0) if up == "drug" else max(v - 1.0, 0.0))
        rows.append(row)
    return pd.DataFrame(rows).set_index("time_h")


def _edge(name: str) -> str:
    """An edge's current name (a former name, kept as an alias in models/pathway.toml, gives the same)."""
    from .._errors import PlasticityError
    from ..model.files import load_library

    try:
        return load_library().pathway.edge_name(name)
    except PlasticityError:
        return name


def _width(signal: float, width_per_fold: float) -> float:
    return 0.5 + width_per_fold * min(signal, 3.0)


def pathway_snapshots(
    result, times: Sequence[float] = (0.5, 2.0, 6.0, 24.0, 72.0), *, cut: Sequence[str] = (), width_per_fold: float = 4.0
):
    """Small multiples of the loop at a few times: node colour = fold over baseline, arrow width = extra signal.

    Cut feedback edges (the names given to `simulate(cut=...)`) are drawn as grey dotted lines.
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch

    from .._plot import style

    tc = result.timecourse
    t = tc["time_h"].to_numpy()
    sig = edge_signal(result, times)
    cut_edges = {_edge(c) for c in cut}
    with style():
        ncols = min(3, len(times))
        nrows = -(-len(times) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols + 0.6, 2.5 * nrows + 0.4), squeeze=False, layout="constrained")
        for ax in axes.flat[len(times) :]:
            ax.axis("off")
        cmap = plt.get_cmap("RdBu_r")
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-1.0, vmax=1.0)  # log2 fold
        pos = {n: (SPACING * x, SPACING * y) for n, (x, y, _) in NODES.items()}
        for ax, time, (_, srow) in zip(axes.flat, times, sig.iterrows(), strict=False):
            i = int(np.argmin(np.abs(t - time)))
            for up, down, kind in EDGES:
                (x0, y0), (x1, y1) = pos[up], pos[down]
                d = np.hypot(x1 - x0, y1 - y0)
                ux, uy = (x1 - x0) / d, (y1 - y0) / d
                start = (x0 + RADIUS * ux, y0 + RADIUS * uy)
                end = (x1 - RADIUS * ux, y1 - RADIUS * uy)
                fb = kind.startswith("feedback")
                is_cut = fb and _edge(kind.split(": ")[1]) in cut_edges
                w = float(srow[f"{up} -> {down}"])
                lw = _width(w, width_per_fold)
                arrow = FancyArrowPatch(
                    start,
                    end,
                    arrowstyle="-|>",
                    mutation_scale=6 + 1.5 * lw,
                    lw=lw,
                    color="0.7" if is_cut else (FEEDBACK_COLOUR if fb else "0.25"),
                    ls=":" if is_cut else "-",
                    shrinkA=0,
                    shrinkB=0,
                    connectionstyle="arc3,rad=-0.35" if fb else "arc3,rad=0.0",
                    zorder=1,
                )
                ax.add_patch(arrow)
            for node, (x, y) in pos.items():
                v = _node_fold(tc, node)[i]
                if node == "drug":
                    face = plt.get_cmap("Purples")(0.1 + 0.75 * float(max(v, 0.0)))
                else:
                    face = cmap(norm(float(np.clip(np.log2(max(v, 1e-6)), -1, 1))))
                ax.add_patch(Circle((x, y), RADIUS, facecolor=face, edgecolor="0.2", lw=0.8, zorder=2))
                dark = (node == "drug" and v > 0.5) or (node != "drug" and abs(np.log2(max(v, 1e-6))) > 0.6)
                ink = "white" if dark else "0.1"
                ax.text(x, y + 0.1, NODES[node][2], ha="center", va="center", fontsize=6.5, color=ink, zorder=3)
                value = f"{100 * max(v, 0.0):.0f}%" if node == "drug" else f"{v:.2f}×"
                ax.text(x, y - 0.2, value, ha="center", va="center", fontsize=7, color=ink, zorder=3, fontweight="bold")
            ax.set_xlim(SPACING * -1 - 0.5, SPACING * 3 + 0.5)
            ax.set_ylim(-0.55, SPACING + 0.5)
            ax.set_aspect("equal")
            ax.axis("off")
            ax.set_title(f"t = {t[i]:g} h after dosing", fontsize=9)
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=list(axes.flat), fraction=0.02, pad=0.01, shrink=0.8)
        cb.set_label("node colour: log2 fold over drug-free baseline")
        handles = [Line2D([], [], color="0.25", lw=_width(w, width_per_fold), label=f"extra signal {w:g}") for w in (0.1, 0.5, 1.0)]
        handles.append(Line2D([], [], color=FEEDBACK_COLOUR, lw=_width(0.25, width_per_fold), label="feedback edge"))
        if cut:
            handles.append(Line2D([], [], color="0.7", lw=1.5, ls=":", label="cut feedback edge"))
        handles.append(
            Line2D([], [], ls="", marker="o", ms=9, mfc=plt.get_cmap("Purples")(0.6), mec="0.2", label="drug: % of its peak brain conc.")
        )
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
        regimen = "; ".join(result.provenance["regimen"]) or "vehicle"
        fig.suptitle(
            f"{regimen}: the loop at {len(times)} times; arrow width = extra signal an edge carries (upstream fold − 1)", fontsize=9
        )
    return fig


def _agrees(said, model) -> str:
    if said is None:
        return "no prediction written"
    if isinstance(model, bool) or isinstance(said, bool):
        return "yes" if bool(said) == bool(model) else "no"
    if isinstance(model, (int, float)) and isinstance(said, (int, float)):
        if model == 0 or said == 0:
            return "yes" if said == model else "no"
        ratio = said / model
        return "yes (within 2x)" if 0.5 <= ratio <= 2 else f"no (off by {ratio:.2g}x)"
    if isinstance(model, str) and isinstance(said, str):
        return "yes" if said.strip().lower() == model.strip().lower() else "no"
    if isinstance(model, (list, tuple, set)) and isinstance(said, (list, tuple, set)):
        if isinstance(model, set) or isinstance(said, set):
            return "yes" if set(said) == set(model) else f"partly: {len(set(said) & set(model))} of {len(set(model))} in common"
        return "yes" if list(said) == list(model) else "no (order or members differ)"
    return "compare by eye"


def reveal(prediction: dict[str, object], answer: dict[str, object]) -> pd.DataFrame:
    """Predict-then-reveal: the class's predictions next to the model's answers, one row per question.

    `prediction` maps a question to what was written down before running (None: not written);
    `answer` maps the same questions to what the model computed. Numbers agree when within a
    factor of 2, strings when equal ignoring case, lists when equal in order, sets when equal.
    """
    rows = [
        {
            "question": q,
            "your prediction": "—" if prediction.get(q) is None else prediction.get(q),
            "model": a,
            "agree?": _agrees(prediction.get(q), a),
        }
        for q, a in answer.items()
    ]
    return pd.DataFrame(rows).set_index("question")


def widgets_available() -> bool:
    """True when ipywidgets can draw: an IPython kernel is running and the static fallback is not forced.

    A kernel run without a frontend (nbclient, `jupyter nbconvert --execute`) cannot show widgets;
    set the environment variable PLASTICITY_STATIC=1 there (the tests do) to take the static path.
    """
    if os.environ.get(STATIC_ENV, "") not in ("", "0"):
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


def controls(groups: dict[str, dict[str, object]], render: Callable[..., object], static: Sequence[dict[str, object]] = ()):
    """Grouped interactive controls, or a static fallback.

    `groups` maps a tab title to {argument name: ipywidgets widget}. With a widget frontend the
    tabs and a live output are displayed and `render(**values)` re-runs on every change. Without
    one, `render` runs once with the widgets' default values and once per dict in `static`
    (overrides of those defaults), so the notebook still shows what the controls would.
    Returns the list of values `render` was called with on the static path, else the widget box.
    """
    defaults = {name: w.value for g in groups.values() for name, w in g.items()}
    if not widgets_available():
        calls = [defaults] + [{**defaults, **s} for s in static]
        for values in calls:
            render(**values)
        return calls
    import ipywidgets as ipw
    from IPython.display import display

    flat = {name: w for g in groups.values() for name, w in g.items()}
    tabs = ipw.Tab(children=[ipw.VBox(list(g.values())) for g in groups.values()])
    for k, title in enumerate(groups):
        tabs.set_title(k, title)
    out = ipw.interactive_output(render, flat)
    box = ipw.VBox([tabs, out])
    display(box)
    return box
