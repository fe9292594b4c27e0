"""Render the README's figures into docs/figures/ (run from the repository root)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import simulator  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures"


def loop_figure() -> None:
    simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=72).plot(OUT / "ketamine_mouse.png")


def feedback_figure() -> None:
    """Spine gain over three weeks with the loop closed and with each feedback edge cut."""
    days = 21
    times = np.arange(0, 24 * days + 1e-9, 2.0)
    cases = {"loop closed": (), "mTORC1 → BDNF cut": ["mtorc1_to_bdnf"], "mTORC1 → AMPA cut": ["mtorc1_to_ampa"], "both cut": ["mtorc1_to_bdnf", "mtorc1_to_ampa"]}
    with simulator.style():
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        for label, cut in cases.items():
            r = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=times[-1], cut=cut, times=times)
            gain = [r.spine_gain(t) for t in times]
            ax.plot(times / 24, gain, label=label)
        ax.axvspan(1, 3, color="0.85", alpha=0.5, lw=0, zorder=0)
        ax.set_xlabel("days after ketamine 10 mg/kg i.p. (mouse); shaded: 24–72 h")
        ax.set_ylabel("spine density vs vehicle (%)")
        ax.set_title("Cutting the feedback shortens and shrinks the spine gain", loc="left")
        ax.legend()
        fig.savefig(OUT / "feedback_cut.png")
        plt.close(fig)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    loop_figure()
    feedback_figure()
    print(f"wrote {OUT / 'ketamine_mouse.png'} and {OUT / 'feedback_cut.png'}")
