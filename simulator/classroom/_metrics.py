"""What a question measures: a metric of one `simulate()` readout, named in the questions file.

A question names a readout (a column of `Result.timecourse`, such as `ketamine_brain_nM` or `mtorc1`) and one of
these metrics of it; `measure` computes them all for one run, so the answer to a question is exactly what its
text asks about (the drug's own brain concentration, not the drug and its metabolites summed).
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..analysis.metrics import peak, percent_change, value_at
from ._catalogue import GAIN_HOURS

AT_HOURS = (0.5, 1, 2, 4, 6, 12, 24, 48, 72)
GONE_FRACTION = 0.01
UP_FRACTION = 0.1
RISE_FRACTION = 0.01
METRICS = {
    "peak": "the highest value after the dose (t >= 0)",
    "peak_h": "when that highest value is reached (h)",
    "at_<T>h": f"the value at T h, T one of {', '.join(f'{h:g}' for h in AT_HOURS)}",
    "gone_h": f"the first time after the peak at which less than {100 * GONE_FRACTION:g} % of the peak is left (h)",
    "up_h": f"hours the readout stays above its vehicle run by more than {100 * UP_FRACTION:g} % of its largest excess",
    "rise_h": f"the first time the readout is more than {100 * RISE_FRACTION:g} % above its vehicle run (h)",
    "gain_<T>h": f"% change against the vehicle run at T h (the spine gain for spine_density), T one of {', '.join(map(str, GAIN_HOURS))}",
}


def check_metric(name: str) -> str:
    """Why `name` is not a metric ('' when it is one)."""
    m = re.fullmatch(r"(at|gain)_([0-9.]+)h", name)
    if name in ("peak", "peak_h", "gone_h", "up_h", "rise_h"):
        return ""
    if m and float(m.group(2)) in (AT_HOURS if m.group(1) == "at" else GAIN_HOURS):
        return ""
    return f"unknown metric '{name}'; a metric is one of {', '.join(METRICS)}"


def measure(result, vehicle, readouts: list[str]) -> dict[str, float]:
    """Every metric of each readout, keyed '<readout> <metric>' (NaN where undefined: a drug never gone)."""
    tc, vt = result.timecourse, vehicle.timecourse
    t = tc["time_h"].to_numpy()
    after = t >= 0
    out: dict[str, float] = {}
    for name in readouts:
        x = tc[name].to_numpy()
        v = vt[name].to_numpy() if name in vt else np.zeros(len(t))  # a drug's concentration: none in the vehicle run
        top, when = peak(t, x)
        out[f"{name} peak"], out[f"{name} peak_h"] = top, when
        for h in AT_HOURS:
            out[f"{name} at_{h:g}h"] = value_at(t, x, h)
        gone = t[(t > when) & (x < GONE_FRACTION * top)]
        out[f"{name} gone_h"] = float(gone[0]) if top > 0 and len(gone) else math.nan
        excess = np.where(after, x - v, 0.0)
        above = t[excess > UP_FRACTION * excess.max()] if excess.max() > 0 else t[:0]
        out[f"{name} up_h"] = float(above[-1] - above[0]) if len(above) else 0.0
        risen = t[after & (v > 0) & (x > (1 + RISE_FRACTION) * v)]
        out[f"{name} rise_h"] = float(risen[0]) if len(risen) else math.nan
        for h in GAIN_HOURS:
            out[f"{name} gain_{h}h"] = percent_change(t, x, v, h) if value_at(t, v, h) > 0 else math.nan
    return out
