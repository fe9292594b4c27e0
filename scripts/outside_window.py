"""The model outside its calibration window: the checks of issue 14's "Must show", in one table.

    python scripts/outside_window.py            # everything but the per-parameter robustness scan
    python scripts/outside_window.py --robust   # ... and the scan (each pathway parameter x0.9 and x1.1)

Each line prints the measured value and whether it meets the stated bound. The same checks run as
tests (tests/test_outside_window.py) and, as validation targets, in models/validation.toml.
"""

from __future__ import annotations

import argparse

import numpy as np

import simulator

WEEK = 168.0


def gain(regimen, species, hours, at, **kw):
    r = simulator.simulate(regimen, species=species, hours=hours, **kw)
    return [r.spine_gain(h) for h in at], r


# the eight-week regimens (tests/test_outside_window.py runs the same list)
CHRONIC = [
    ("mouse", "ketamine 10 mg/kg ip every 1 d x 56"),
    ("mouse", "fluoxetine 10 mg/kg ip every 1 d x 56"),
    ("mouse", "psilocybin 1 mg/kg ip every 1 d x 56"),
    ("mouse", "lsd 0.1 mg/kg ip every 1 d x 56"),
    ("rat", "ketamine 10 mg/kg ip every 1 d x 56"),
    ("rat", "scopolamine 25 ug/kg ip every 1 d x 56"),
    ("human", "esketamine 84 mg intranasal every 3.5 d x 16"),
]


def chronic():
    rows = []
    for species, regimen in CHRONIC:
        r = simulator.simulate([regimen], species=species, hours=56 * 24, times=np.arange(0, 56 * 24 + 1, 2.0))
        tc = r.timecourse
        veh = simulator.simulate([], species=species, hours=56 * 24, times=tc.time_h.to_numpy()).timecourse
        g = 100 * (tc.spine_density / veh.spine_density - 1)
        g49, g56 = r.spine_gain(49 * 24), r.spine_gain(56 * 24)
        rows.append((f"{species} {regimen}", f"max {g.max():+.1f}% (<= 60), d49 {g49:+.1f} d56 {g56:+.1f} (|diff| <= 2)",
                     g.max() <= 60 and abs(g56 - g49) <= 2))
    return rows


def decay():
    rows = []
    (d1, d14, d28, d56), r = gain(["ketamine 10 mg/kg ip"], "mouse", 56 * 24 + 1, [24, 336, 672, 1344])
    peak = max(r.spine_gain(h) for h in np.arange(1, 56 * 24, 6.0))
    rows.append(("mouse ketamine 10 once: d14/d1", f"{d14 / d1:.2f} (>= 0.3); d1 {d1:+.1f} d14 {d14:+.1f}", d14 / d1 >= 0.3))
    rows.append(("  d28/peak, d56/peak", f"{d28 / peak:.2f} (<= 0.33), {d56 / peak:.2f} (<= 0.17); peak {peak:+.1f}", d28 / peak <= 1 / 3 and d56 / peak <= 1 / 6))
    r = simulator.simulate(["psilocybin 1 mg/kg ip"], species="mouse", hours=336)
    pmax = max(r.spine_gain(h) for h in np.arange(1, 337, 6.0))
    rows.append(("mouse psilocybin 1 mg/kg, max over 14 d", f"{pmax:+.1f}% (<= 40)", pmax <= 40))
    return rows, d1


def humans(mouse24):
    rows = []
    (h24, h14), _ = gain(["ketamine 0.5 mg/kg iv over 40 min"], "human", 337, [24, 336])
    (l24,), _ = gain(["ketamine 0.1 mg/kg iv over 40 min"], "human", 25, [24])
    (u24,), _ = gain(["ketamine 1.0 mg/kg iv over 40 min"], "human", 25, [24])
    (e24,), _ = gain(["esketamine 56 mg intranasal"], "human", 25, [24])
    (p24, p14), r = gain(["psilocybin 25 mg oral"], "human", 337, [24, 336])
    pmax = max(r.spine_gain(h) for h in np.arange(1, 337, 6.0))
    rows.append(("human ketamine 0.5 iv: 24 h / mouse 24 h", f"{h24 / mouse24:.2f} (>= 0.3); {h24:+.1f}%", h24 / mouse24 >= 0.3))
    rows.append(("  d14 / 24 h", f"{h14 / h24:.2f} (<= 0.5); {h14:+.1f}%", h14 / h24 <= 0.5))
    rows.append(("  0.1 / 0.5 mg/kg", f"{l24 / h24:.2f} (<= 0.3); {l24:+.2f}%", l24 / h24 <= 0.3))
    rows.append(("  1.0 / 0.5 mg/kg", f"{u24 / h24:.2f} (>= 1); {u24:+.1f}%", u24 >= h24))
    rows.append(("human esketamine 56 mg / mouse", f"{e24 / mouse24:.2f} (>= 0.3); {e24:+.1f}%", e24 / mouse24 >= 0.3))
    rows.append(("human psilocybin 25 mg: max over 14 d", f"{pmax:+.1f}% (0 < x <= 40); d1 {p24:+.1f} d14 {p14:+.1f}", 0 < pmax <= 40 and p24 > 0))
    return rows


def window():
    g = {d: gain([f"ketamine {d} mg/kg ip"], "mouse", 25, [24])[0][0] for d in (3, 10, 30, 100)}
    best = max(g[3], g[10], g[30])
    ok = all(g[d] >= 0.25 * best for d in (3, 10, 30)) and g[100] <= 0.25 * best
    return [("mouse ketamine 3/10/30/100 mg/kg at 24 h", " ".join(f"{d}:{v:+.1f}" for d, v in g.items()) + " (3-30 >= 25% of best, 100 <= 25%)", ok)]


def val66met():
    dens = {g: simulator.simulate([], species="mouse", genotype=g, hours=1).timecourse.spine_density.iloc[-1]
            for g in ("wild_type", "val/met", "met/met")}
    gains = {g: simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", genotype=g, hours=25).spine_gain(24) for g in ("wild_type", "met/met")}
    mm, vm = dens["met/met"] / dens["wild_type"], dens["val/met"] / dens["wild_type"]
    return [("Met/Met density / WT", f"{mm:.3f} (0.60-0.95)", 0.6 <= mm <= 0.95),
            ("Val/Met density / WT", f"{vm:.3f} (strictly between, 2 points from each)", mm + 0.02 <= vm <= 0.98),
            ("Met/Met gain / WT gain", f"{gains['met/met'] / gains['wild_type']:.2f} (<= 0.5)", gains["met/met"] <= 0.5 * gains["wild_type"])]


def robustness_table():
    """Drug-free mouse density and the mouse ketamine 10 mg/kg 24 h gain with each pathway parameter at x0.9 and x1.1."""
    import pandas as pd

    lib = simulator.load_library()
    base_d = simulator.simulate([], species="mouse", hours=1).timecourse.spine_density.iloc[-1]
    base_g = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=25).spine_gain(24)
    rows = []
    for name, p in lib.pathway.parameters.items():
        for f in (0.9, 1.1):
            params = {name: p.value * f}
            d = simulator.simulate([], species="mouse", hours=1, params=params).timecourse.spine_density.iloc[-1] / base_d
            g = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=25, params=params).spine_gain(24) / base_g
            rows.append({"parameter": name, "factor": f, "density_ratio": d, "gain_ratio": g})
    return pd.DataFrame(rows)


def robustness_figure(table, path) -> None:
    """Elasticities (d ln y / d ln p, from the x0.9 and x1.1 runs) of baseline density and of the 24 h gain, per parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wide = table.pivot(index="parameter", columns="factor")
    el_d = (np.log(wide["density_ratio"][1.1]) - np.log(wide["density_ratio"][0.9])) / np.log(1.1 / 0.9)
    el_g = (np.log(wide["gain_ratio"][1.1]) - np.log(wide["gain_ratio"][0.9])) / np.log(1.1 / 0.9)
    order = (el_g.abs() + el_d.abs()).sort_values().index
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.18 * len(order) + 1.5), sharey=True)
    for ax, el, title, bound in ((axes[0], el_d, "drug-free mouse spine density", np.log(1.1) / np.log(1.1)),
                                 (axes[1], el_g, "ketamine 10 mg/kg gain at 24 h (mouse)", np.log(1.5) / np.log(1.1))):
        ax.barh(range(len(order)), el[order], color=["#c0392b" if abs(v) > bound else "#2c7fb8" for v in el[order]])
        for x in (-bound, bound):
            ax.axvline(x, color="0.4", ls=":", lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("elasticity (d ln y / d ln parameter)")
    axes[0].set_yticks(range(len(order)), order, fontsize=6)
    fig.suptitle("Each pathway parameter moved by 10%: dotted lines mark the bounds (density 10%, gain x1.5)", fontsize=9)
    fig.tight_layout()
    simulator.save_figure(fig, path)
    plt.close(fig)


def robustness():
    from pathlib import Path

    table = robustness_table()
    robustness_figure(table, Path(__file__).resolve().parents[1] / "docs" / "validation" / "robustness.png")
    rows = []
    for r in table.itertuples():
        ok = abs(r.density_ratio - 1) <= 0.1 and 1 / 1.5 <= r.gain_ratio <= 1.5
        if not ok:
            rows.append((f"{r.parameter} x{r.factor}", f"density x{r.density_ratio:.3f}, gain x{r.gain_ratio:.2f}", ok))
    rows.append(("robustness scan (figure: docs/validation/robustness.png)", f"{len(table)} settings", all(r[2] for r in rows)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--robust", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    rows, d1 = decay()
    r = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=25)
    tc = r.timecourse
    rows.append(("rat ketamine 10: 24 h gain, protein at 24 h, mTORC1 peak", f"{r.spine_gain(24):+.1f}% (20-60), "
                 f"{tc.synaptic_protein.iloc[-10]:.2f}x, {tc.mtorc1.max():.2f}x (1.5-2.5)", 20 <= r.spine_gain(24) <= 60))
    rows += window() + val66met() + humans(d1)
    if a.only != "fast":
        rows = chronic() + rows
    if a.robust:
        rows += robustness()
    for name, text, ok in rows:
        print(f"{'ok  ' if ok else 'MISS'} {name:48s} {text}")
    print(f"{sum(r[2] for r in rows)}/{len(rows)} met")


if __name__ == "__main__":
    main()
