"""Figure for the README's conditions section: chronic stress, its rescue by ketamine, and 5-HT2A tolerance.

    python scripts/conditions_figure.py            # writes docs/figures/stress_and_rescue.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import simulator  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "figures" / "stress_and_rescue.png"
STYLE = Path(simulator.__file__).resolve().parent / "plasticity.mplstyle"


def main() -> None:
    times = np.arange(-24, 72.01, 0.5)
    arms = {
        "unstressed, vehicle": ([], "none"),
        "chronic stress, vehicle": ([], "chronic_stress"),
        "chronic stress + ketamine 10 mg/kg": (["ketamine 10 mg/kg ip"], "chronic_stress"),
        "chronic stress + rapamycin + ketamine": (["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"], "chronic_stress"),
    }
    with plt.style.context(STYLE if STYLE.is_file() else "default"):
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
        for label, (reg, cond) in arms.items():
            r = simulator.simulate(reg, species="rat", hours=72, times=times, condition=cond)
            a.plot(r.timecourse.time_h, r.timecourse.spine_density, label=label)
        a.set(xlabel="time after ketamine (h)", ylabel="spine density (1/um)", title="Rat mPFC L5: stress and rescue")
        a.legend(fontsize=8)
        hours = 96
        t = np.round(np.arange(0, hours + 1e-9, 1 / 30), 6)
        r = simulator.simulate(["lsd 0.1 mg/kg ip daily for 4 days"], species="mouse", hours=hours, times=t)
        b.plot(t / 24, r.timecourse.hallucinogenic_signal, label="hallucinogenic signal")
        b.plot(t / 24, r.timecourse.ht2a_available, label="5-HT2A available")
        b.set(xlabel="day", ylabel="fraction", title="Mouse LSD 0.1 mg/kg daily: tolerance", ylim=(0, 1.05))
        b.legend(fontsize=8)
        fig.tight_layout()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
