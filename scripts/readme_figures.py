"""Render the README's figures into docs/figures/ (run from the repository root); the notebooks' key
figures come from running the notebooks (tests/test_notebooks.py does)."""

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


def analysis_figures() -> None:
    """The Analysis section's figures: dose-response, continuation, loop attribution."""
    simulator.dose_response("ketamine", [1, 3, 10, 30, 80], species="mouse", readout="spine_gain_24h").plot(
        OUT / "dose_response_ketamine_mouse.png"
    )
    simulator.continuation("w_bdnf_feedback", np.linspace(0, 3, 31)).plot(OUT / "continuation.png")
    simulator.loop_attribution(["ketamine 10 mg/kg ip"]).plot(OUT / "loop_attribution.png")
    plt.close("all")


def feedback_figure() -> None:
    """Spine gain over three weeks with the loop closed and with each feedback edge cut."""
    days = 21
    times = np.arange(0, 24 * days + 1e-9, 2.0)
    cases = {
        "loop closed": (),
        "mTORC1 → BDNF cut": ["mtorc1_to_bdnf"],
        "mTORC1 → AMPA cut": ["synaptic_protein_to_ampa"],
        "both cut": ["mtorc1_to_bdnf", "synaptic_protein_to_ampa"],
    }
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
    analysis_figures()
    names = ("ketamine_mouse", "feedback_cut", "dose_response_ketamine_mouse", "continuation", "loop_attribution")
    print("wrote", ", ".join(str(OUT / f"{n}.png") for n in names))
