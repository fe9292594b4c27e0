"""Short text and notebook (HTML) views of results: what was run and its key numbers, never the parameter dictionary.

`__repr__` reads only what the object holds; a Result's `_repr_html_` also shows `summary()` (which
simulates the vehicle run once, then keeps it), since in a notebook the spine gain is the number wanted.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

MAX_ROWS = 12  # rows of a table in a notebook view; the rest are counted, not shown


def _num(x: float) -> str:
    return f"{x:.3g}" if isinstance(x, (int, float)) and math.isfinite(x) else "–"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    rows = list(rows)
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows[:MAX_ROWS])
    more = f"<tr><td colspan='{len(header)}'>… {len(rows) - MAX_ROWS} more</td></tr>" if len(rows) > MAX_ROWS else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}{more}</tbody></table>"


def _block(title: str, lines: Iterable[str], table: str = "") -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f"<div><strong>{html.escape(title)}</strong><ul>{items}</ul>{table}</div>"


# ------------------------------------------------------------------------------------------ Result
def run_label(provenance: dict) -> str:
    """'ketamine 10 mg/kg ip — mouse, val/met, 72 h': the regimen, species, non-default knobs and span of a run."""
    if "regimen" not in provenance:  # an imported model's run
        return f"{provenance.get('model', 'imported model')}, {provenance.get('hours', math.nan):g} h"
    knobs = [provenance.get("species", "?")]
    if provenance.get("genotype", "wild_type") != "wild_type":
        knobs.append(str(provenance["genotype"]))
    if provenance.get("condition", "none") != "none":
        knobs.append(str(provenance["condition"]))
    knobs += [f"cut {c}" for c in provenance.get("cut", ())]
    knobs += [f"scale {n}={v:g}" for n, v in (provenance.get("scale") or {}).items()]
    knobs += [f"clamp {c['node']}" for c in provenance.get("clamp", ())]
    return f"{'; '.join(provenance['regimen']) or 'vehicle'} — {', '.join(knobs)}, {provenance['hours']:g} h"


def _peaks(result) -> list[str]:
    """Peaks read from the time course itself (no vehicle run needed)."""
    tc = result.timecourse
    out = []
    for col in ("glutamate", "mtorc1"):
        if col in tc:
            v, t = result.peak(col)
            out.append(f"{col} max {v:.3g}x at {t:.3g} h")
    if "spine_density" in tc:
        first, last = float(tc["spine_density"].iloc[0]), float(tc["spine_density"].iloc[-1])
        out.append(f"spine density {first:.3g} -> {last:.3g} /um")
    return out


def result_repr(result) -> str:
    tc = result.timecourse
    return (f"<Result {run_label(result.provenance)}: {len(tc)} rows x {tc.shape[1]} columns; "
            f"{'; '.join(_peaks(result))}>")


def result_html(result) -> str:
    tc = result.timecourse
    lines = [f"{len(tc)} rows x {tc.shape[1]} columns, {float(tc['time_h'].iloc[0]):g} to {float(tc['time_h'].iloc[-1]):g} h "
             "(result.timecourse; units in result.units)"]
    table = ""
    try:
        summary = result.summary()
    except Exception as exc:  # noqa: BLE001 - a view must show something: say why the summary is missing
        lines += _peaks(result) + [f"no summary: {exc}"]
    else:
        table = _table(["summary", "value"], [(k, _num(v)) for k, v in summary.items()])
    return _block(f"Result: {run_label(result.provenance)}", lines, table)


# ------------------------------------------------------------------------------------------ Comparison
def comparison_repr(cmp) -> str:
    runs = "; ".join(f"{name}: {run_label(r.provenance)}" for name, r in cmp.runs.items())
    return f"<Comparison of {len(cmp.runs)} runs — {runs}>"


def comparison_html(cmp) -> str:
    rows = []
    for name, r in cmp.runs.items():
        row = [name, run_label(r.provenance)]
        try:
            s = r.summary()
            times = r.summary_times()
            row += [_num(s.get("glutamate_peak_fold", math.nan)), "; ".join(f"{h:g} h: {s[f'spine_gain_{h:g}h_pct']:+.1f}%" for h in times)]
        except Exception as exc:  # noqa: BLE001 - see result_html
            row += ["–", f"no summary: {exc}"]
        rows.append(row)
    return _block(f"Comparison of {len(cmp.runs)} runs", ["cmp.summary() for every number, cmp.plot() to overlay them"],
                  _table(["run", "what was run", "glutamate peak (fold)", "spine gain vs vehicle"], rows))


# ------------------------------------------------------------------------------------------ DoseResponse
def dose_response_repr(dr) -> str:
    d = dr.doses
    span = f"{len(d)} doses {_num(float(d.min()))}–{_num(float(d.max()))} {dr.dose_unit}".rstrip() if len(d) else "no doses"
    return f"<DoseResponse {dr.template} in {dr.species}, {dr.readout}: {span}; {dr.summary()}>"


def dose_response_html(dr) -> str:
    rows = [(_num(d), _num(v)) for d, v in zip(dr.doses, dr.values, strict=True)]
    return _block(f"DoseResponse: {dr.template} in {dr.species}", [dr.summary()],
                  _table([dr.dose_label, dr.readout_label], rows))


# ------------------------------------------------------------------------------------------ FitResult
def _identifiable(fr, name: str) -> str:
    """'' (no profile, or identifiable) or ' (not identifiable)', from the fit's profiles where it has them."""
    flags = getattr(fr, "identifiable", None) or {}
    return " (not identifiable)" if flags.get(name) is False else ""


def fit_repr(fr) -> str:
    est = ", ".join(f"{n} = {_num(fr.params[n])} [{_num(lo)}, {_num(hi)}]{_identifiable(fr, n)}" for n, (lo, hi) in fr.ci.items())
    return f"<FitResult {'converged' if fr.success else 'NOT converged'}, cost {_num(fr.cost)}, {len(fr.data)} points: {est}>"


def fit_html(fr) -> str:
    level = f"{fr.level:.0%}"
    rows = [(n + _identifiable(fr, n), _num(fr.params[n]), _num(lo), _num(hi)) for n, (lo, hi) in fr.ci.items()]
    lines = [f"{'converged' if fr.success else 'NOT converged'}: {fr.message}", f"cost {_num(fr.cost)} over {len(fr.data)} data points",
             "fr.table for the interval method (profile or Fisher) and identifiability of each"]
    return _block("FitResult", lines, _table(["parameter", "value", f"{level} CI low", f"{level} CI high"], rows))
