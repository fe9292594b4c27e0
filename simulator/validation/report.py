"""The validation report: Markdown table, misses with reasons, assumed numbers, and a simulated-vs-band figure."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

PASS, MISS = "#0072B2", "#D55E00"  # Okabe-Ito blue / vermillion (colour-blind safe; markers differ too)


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.3g}"


def assumed_parameters(runner) -> pd.DataFrame:
    """Parameters marked 'assumed' in the models used by the validation runs, with how many runs use each."""
    from .._errors import PlasticityError

    seen: dict[str, dict] = {}
    for res in runner.cache.values():
        if isinstance(res, PlasticityError):
            continue
        for name, p in res.setup.flat.meta.items():
            if getattr(p, "assumed", False):
                d = seen.setdefault(name, {"parameter": name, "value": p.value, "unit": p.unit, "range": p.range, "source": p.source, "note": p.note, "runs": 0})
                d["runs"] += 1
    return pd.DataFrame(sorted(seen.values(), key=lambda d: (-d["runs"], d["parameter"])),
                        columns=["parameter", "value", "unit", "range", "source", "note", "runs"])


def split_record() -> dict:
    """models/validation_split.toml (seed, date, rule of the calibration/prediction split), or {} when absent."""
    from ..model.files import _load_toml, models_dir

    path = models_dir() / "validation_split.toml"
    return _load_toml(path) if path.is_file() else {}


def markdown(df: pd.DataFrame, assumed: pd.DataFrame) -> str:
    """The report as Markdown."""
    from .targets import pass_rates

    counts = df["status"].value_counts()
    in_scope = df[df["status"].isin(["pass", "miss"])]
    r_miss = df[(df["status"] == "miss") & (df["confidence"] == "R")]
    split = split_record()
    when = (f"drawn by whole paper with seed {split.get('seed')} on {split.get('date')}, before any fitting (scripts/split_evidence.py, "
            f"models/validation_split.toml)") if split else "as marked in models/validation.toml"
    lines = ["# Validation against the evidence base (docs/validation/literature.md)", "",
             f"{counts.get('pass', 0)} pass, {counts.get('miss', 0)} miss ({len(r_miss)} of them (R)), {counts.get('not run', 0)} not run, "
             f"{counts.get('out of scope', 0)} out of scope; {len(in_scope)} targets judged.", "",
             "| set | pass | judged | rate |", "|---|---|---|---|",
             *[f"| {name} | {p} | {t} | {100 * p / max(t, 1):.0f}% |" for name, (p, t) in pass_rates(df).items()], "",
             f"The calibration set is what scripts/calibrate.py fits; the prediction set was {when}. The fit never sees it, so its "
             "rate is the honest one.", "",
             "(R) = read or digitised, field consensus; (C) = recalled, one laboratory, contested, or a bound. Every target's paper, "
             "figure and reading are in models/validation.toml; the references in docs/validation/literature.md.", "",
             "Five columns fit a laptop screen; each row's set, expected value and source open under *more*.", "",
             "| id | target | simulated | accepted | status | |", "|---|---|---|---|---|---|"]
    for r in df.itertuples():
        acc = "< 0 (difference)" if r.status in ("pass", "miss") and r.low == -math.inf and r.high == 0 and "<" in str(r.expected) else (
            f"[{_fmt(r.low) or '-inf'}, {_fmt(r.high) or 'inf'}]" if math.isfinite(r.low) or math.isfinite(r.high) else "")
        unit = f" {r.unit}" if r.unit else ""
        more = html.escape(f"{r.set} set, confidence {r.confidence}; expected {r.expected}; source {r.source}").replace("|", "/")
        lines.append(f"| {r.id} | {r.title} | {_fmt(r.simulated)}{unit if _fmt(r.simulated) else ''} | {acc}{unit if acc else ''} | {r.status} "
                     f"| <details><summary>more</summary>{more}</details> |")
    lines += ["", "## Misses and why", ""]
    misses = df[df["status"] == "miss"]
    lines += [f"- **{r.id}** ({r.confidence}) {r.title}: {r.note}" for r in misses.itertuples()] or ["None."]
    lines += ["", "## Not run and out of scope", ""]
    other = df[df["status"].isin(["not run", "out of scope"])]
    lines += [f"- **{r.id}** {r.title}: {r.note}" for r in other.itertuples()] or ["None."]
    lines += ["", "## Assumed numbers these results depend on", "",
              "Parameters whose source is 'assumed' in the models the validation runs used (runs = how many of the runs use it).", "",
              "| parameter | value | unit | range | runs | note |", "|---|---|---|---|---|---|"]
    for a in assumed.itertuples():
        rng = f"{a.range[0]:g}-{a.range[1]:g}" if a.range else ""
        lines.append(f"| {a.parameter} | {a.value:g} | {a.unit} | {rng} | {a.runs} | {(a.note or a.source).replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _normalise(sim: float, low: float, high: float) -> float:
    """Position of `sim` on a scale where the acceptance band is [-1, 1] (one-sided bands scaled by their bound)."""
    if math.isfinite(low) and math.isfinite(high):
        w = (high - low) / 2 or 1.0
        return (sim - (low + high) / 2) / w
    if math.isfinite(low):
        s = abs(low) or max(abs(sim), 1.0)
        return -1 + (sim - low) / s
    s = abs(high) or max(abs(sim), 1.0)
    return 1 + (sim - high) / s


def figure(df: pd.DataFrame):
    """Simulated value per target against its acceptance band, normalised so the band is [-1, 1]."""
    import matplotlib.pyplot as plt

    from .._plot import style

    judged = df[df["status"].isin(["pass", "miss", "not run"])].reset_index(drop=True)
    lim = 4.0
    with style():
        fig, ax = plt.subplots(figsize=(8.5, 0.22 * len(judged) + 1.6))
        for i, r in judged.iterrows():
            y = len(judged) - 1 - i
            lo = -1 if math.isfinite(r.low) else -lim
            hi = 1 if math.isfinite(r.high) else lim
            ax.plot([lo, hi], [y, y], color="0.8", lw=6, solid_capstyle="butt", zorder=1)
            if r.status == "not run" or not math.isfinite(r.simulated):
                ax.text(0, y, "not run" if r.status == "not run" else "undefined", ha="center", va="center", fontsize=6, color="0.3")
                continue
            z = _normalise(r.simulated, r.low, r.high)
            ok = r.status == "pass"
            zc = float(np.clip(z, -lim, lim))
            ax.scatter([zc], [y], marker="o" if ok else ("X" if abs(z) <= lim else (">" if z > 0 else "<")), s=28,
                       color=PASS if ok else MISS, zorder=3, edgecolor="none")
        ax.set_yticks(range(len(judged)))
        ax.set_yticklabels([f"{r.id} ({r.confidence}) {r.title[:55]}" for r in judged.iloc[::-1].itertuples()], fontsize=6)
        ax.set_xlim(-lim - 0.3, lim + 0.3)
        ax.set_ylim(-0.8, len(judged) - 0.2)
        ax.axvline(-1, color="0.6", lw=0.5, ls=":")
        ax.axvline(1, color="0.6", lw=0.5, ls=":")
        ax.set_xlabel("simulated, normalised so the accepted band is [-1, 1]\n(open-ended bands run to the edge; values beyond ±4 clipped, shown as arrows)", fontsize=7)
        from matplotlib.lines import Line2D

        ax.legend(handles=[Line2D([], [], marker="o", ls="", color=PASS, label="pass"), Line2D([], [], marker="X", ls="", color=MISS, label="miss"),
                           Line2D([], [], color="0.8", lw=6, label="accepted range")], loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7, frameon=False)
        n = df["status"].value_counts()
        ax.set_title(f"Validation: {n.get('pass', 0)} pass, {n.get('miss', 0)} miss, {n.get('not run', 0)} not run", fontsize=9, pad=16)
        fig.tight_layout()
    return fig


def write_report(df: pd.DataFrame, runner, directory: str | Path) -> tuple[Path, Path]:
    """Write DIR/validation.md and DIR/validation.png; returns their paths."""
    import matplotlib.pyplot as plt

    from .._io import atomic_write

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    md, png = d / "validation.md", d / "validation.png"
    text = markdown(df, assumed_parameters(runner))
    atomic_write(md, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    fig = figure(df)
    atomic_write(png, lambda tmp: fig.savefig(tmp, format="png", dpi=150))
    plt.close(fig)
    return md, png
