"""The loop's mechanisms, measured: issue 22's "Must show" items for the loop, in one table.

    python scripts/mechanisms.py              # the table
    python scripts/mechanisms.py --plot DIR   # ... and every stage's time course per case, as PNGs in DIR

Each line prints the measured value and whether it meets the stated bound; tests/test_mechanisms.py
checks the same numbers through the functions below.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import simulator

STAGES = ("glutamate", "bdnf", "trkb", "pakt", "perk", "mtorc1", "synaptic_protein")
RAPAMYCIN = "rapamycin 0.2 nmol icv at -30 min"
# every psychoplastogen class at the classroom's typical dose (simulator/classroom/catalogue.toml)
CLASSES = [
    ("mouse", "ketamine 10 mg/kg ip"),
    ("mouse", "(2R,6R)-HNK 10 mg/kg ip"),
    ("mouse", "psilocybin 1 mg/kg ip"),
    ("mouse", "lsd 0.1 mg/kg ip"),
    ("mouse", "tabernanthalog 50 mg/kg ip"),
    ("rat", "dmt 10 mg/kg ip"),
    ("rat", "scopolamine 25 ug/kg ip"),
    ("rat", "rapastinel 3 mg/kg iv"),
]
TIMES = np.round(np.arange(0.0, 72.0 + 1e-9, 0.05), 4)


def folds(regimen, species, hours=72.0, **kw):
    """Drug and vehicle time courses on the same grid (every stage is a fold over the drug-free state, so the
    vehicle is 1; the formation rate and density are divided by the vehicle's)."""
    times = TIMES[TIMES <= hours]
    r = simulator.simulate(regimen, species=species, hours=hours, times=times, **kw).timecourse
    v = simulator.simulate([], species=species, hours=hours, times=times, **kw).timecourse
    r = r[r.time_h >= 0].reset_index(drop=True)
    v = v[v.time_h >= 0].reset_index(drop=True)
    r["formation_fold"] = r.spine_formation_rate / v.spine_formation_rate
    r["gain"] = 100 * (r.spine_density / v.spine_density - 1)
    return r


def peak_time(tc, col) -> float:
    return float(tc.time_h.iloc[int(np.argmax(tc[col].to_numpy()))])


def envelopes() -> list[tuple[str, str, bool]]:
    rows = []
    for species, dose in (("mouse", "ketamine 10 mg/kg ip"), ("rat", "ketamine 10 mg/kg ip"), ("mouse", "psilocybin 1 mg/kg ip")):
        tc = folds([dose], species)
        prot, form = tc.synaptic_protein.max(), tc.formation_fold.max()
        if "ketamine" in dose:
            rows.append((f"{species} {dose}: synaptic protein max", f"{prot:.2f}x (<= 2.0)", prot <= 2.0))
        rows.append((f"{species} {dose}: formation max / vehicle", f"{form:.2f}x (<= 4)", form <= 4.0))
        if species == "mouse":
            low = {s: tc[s].min() for s in STAGES}
            worst = min(low, key=low.get)
            rows.append((f"{species} {dose}: lowest stage 0-72 h", f"{worst} {low[worst]:.3f}x (>= 0.85)", low[worst] >= 0.85))
        if dose.startswith("ketamine") and species == "mouse":
            tm, tp, tg = peak_time(tc, "mtorc1"), peak_time(tc, "synaptic_protein"), peak_time(tc, "gain")
            rows.append(("mouse ketamine 10: peaks mTORC1 / protein / gain", f"{tm:.1f} h (<= 2), {tp:.1f} h (2-12), {tg:.1f} h (>= 12)",
                         tm <= 2 and 2 <= tp <= 12 and tg >= 12))
    return rows


def every_class() -> list[tuple[str, str, bool]]:
    rows = []
    for species, dose in CLASSES:
        g = simulator.simulate([dose], species=species, hours=24.5).spine_gain(24)
        gr = simulator.simulate([RAPAMYCIN, dose], species=species, hours=24.5).spine_gain(24)
        rows.append((f"{species} {dose}: 24 h gain, with rapamycin", f"{g:+.1f}% (>= 5), {gr:+.2f}% ({gr / g:.0%} <= 25%)",
                     g >= 5 and gr <= 0.25 * g))
    return rows


def rapastinel() -> list[tuple[str, str, bool]]:
    tc = folds(["rapastinel 3 mg/kg iv"], "rat", hours=3)
    glu, mt = tc.glutamate.max(), tc.mtorc1[tc.time_h <= 2].max()
    return [("rat rapastinel 3 iv: glutamate max, mTORC1 max 0-2 h", f"{glu:.2f}x (<= 1.2), {mt:.2f}x (>= 1.2)", glu <= 1.2 and mt >= 1.2)]


def fluoxetine() -> list[tuple[str, str, bool]]:
    r = simulator.simulate(["fluoxetine 10 mg/kg ip every 1 d x 28"], species="mouse", hours=28 * 24 + 1)
    g7, g28 = r.spine_gain(7 * 24), r.spine_gain(28 * 24)
    return [("mouse fluoxetine 10 daily: gain d7, d28", f"{g7:+.2f}%, {g28:+.2f}% (d28 > 0 and >= 2x d7)", g28 > 0 and g28 >= 2 * g7)]


def plot(out: Path) -> None:
    """Every stage's fold over vehicle, 0-72 h, one PNG per case (to look at the whole shape, not the bounds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    for species, dose in CLASSES + [("rat", "ketamine 10 mg/kg ip")]:
        tc = folds([dose], species)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for s in STAGES + ("ampa", "bdnf_protein"):
            axes[0].plot(tc.time_h, tc[s], label=s)
        axes[0].set_xscale("symlog", linthresh=1)
        axes[0].set_title(f"{species} {dose}: stages (fold)")
        axes[0].legend(fontsize=7)
        axes[1].plot(tc.time_h, tc.formation_fold, label="formation / vehicle")
        ax2 = axes[1].twinx()
        ax2.plot(tc.time_h, tc.gain, color="k", label="spine gain %")
        axes[1].set_title("formation fold (left), gain % (right, black)")
        fig.tight_layout()
        fig.savefig(out / (f"{species}_{dose.split()[0]}".replace("(", "").replace(")", "").replace(",", "") + ".png"), dpi=70)
        plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plot", type=Path)
    a = ap.parse_args()
    rows = envelopes() + rapastinel() + every_class() + fluoxetine()
    for name, text, ok in rows:
        print(f"{'ok  ' if ok else 'MISS'} {name:58s} {text}", flush=True)
    print(f"{sum(r[2] for r in rows)}/{len(rows)} met")
    if a.plot:
        plot(a.plot)


if __name__ == "__main__":
    main()
