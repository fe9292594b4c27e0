"""`plasticity lesson`: the classroom views over a grid of precomputed runs, in one HTML file.

Every script and style is inline (Bokeh's INLINE resources), the runs sit in a JSON block in the page,
and the selectors look them up in the browser: no server and no network. Time arrays and vehicle runs
are stored once and shared, numbers keep 5 significant digits.
"""

from __future__ import annotations

import json
from pathlib import Path

from .._errors import PlasticityError, UnknownNameError
from .._io import atomic_write
from .._progress import progress_bar
from ._catalogue import FEEDBACK, GAIN_HOURS, NONE, Catalogue, Setting, load_catalogue
from ._questions import answer, load_questions, quiz_table
from ._runs import _worker, pool, safe_compute
from ._view import JS, build, curves_for, first_draw, fmt_gain, info_for

CUT_SETS = {"none": (), "mtorc1_to_bdnf": ("mtorc1_to_bdnf",), "synaptic_protein_to_ampa": ("synaptic_protein_to_ampa",),
            "both": tuple(FEEDBACK)}
STORE_ID = "plasticity-lesson-store"
CONDITION_GRIDS = ("typical", "full")
PRINT_PAGE = "<style media='print'>@page { size: A4 landscape; margin: 10mm; } body { margin: 0; }</style>"
"""The handout's page: landscape, so the four plots of a row fit (the views hide the controls and show the handout text)."""

LESSON_JS = """
const st = window.__plasticity_store || (window.__plasticity_store = JSON.parse(document.getElementById("STORE_ID").textContent));
function key(c, d, s, p, cuts, g, cond) { return [c, d, s, p, cuts.length ? cuts.slice().sort().join("+") : "-", g, cond, ""].join("|"); }
function doses(c, s) { return (st.doses[c] && st.doses[c][s]) || []; }
function update(w) {
  if (window.__plasticity_busy) return;
  window.__plasticity_busy = true;
  try {
    const c = w.compound.value, s = w.species.value;
    const ds = doses(c, s);
    const opts = ds.map((d) => [d, d + " " + ((st.units[c] || {})[s] || "")]);
    if (JSON.stringify(w.dose.options) !== JSON.stringify(opts)) w.dose.options = opts;
    if (ds.length && !ds.includes(w.dose.value)) w.dose.value = ds.includes(st.typical[c][s]) ? st.typical[c][s] : ds[0];
    w.dose.title = "Dose (" + (((st.units[c] || {})[s]) || "") + ")";
  } finally { window.__plasticity_busy = false; }
  const cuts = w.cuts.active.map((i) => st.feedback[i]);
  const k = key(w.compound.value, w.dose.value, w.species.value, w.pretreatment.value, cuts, w.genotype.value, w.condition.value);
  const b = st.runs[k];
  const info = {label: [""], error: [""], cuts: [cuts.join(",")], prev_label: [""], g24: [""], g48: [""], g72: [""], p24: [""], p48: [""], p72: [""]};
  const prev = window.__plasticity_shown;
  if (!b) {
    info.label = ["Not in this lesson page"];
    info.error = ["This combination was not precomputed; the page holds: " + st.grid + ". Build a larger one with plasticity lesson."];
  } else if (b.error) {
    info.label = ["This setting cannot be run"]; info.error = [b.error];
  } else {
    const run = {t: st.times[b.t]};
    for (const col in b.d) run[col] = b.d[col];
    if (prev && prev.key !== k) window.__plasticity_ghost = prev.run;
    w.curves.data = P.curves(run, st.vehicles[b.v], window.__plasticity_ghost);  // one table: every time course paints once
    info.label = [b.label];
    ["24", "48", "72"].forEach((h, j) => { info["g" + h] = [b.g[j]]; if (prev && prev.key !== k) info["p" + h] = [prev.g[j]]; });
    if (prev && prev.key !== k) info.prev_label = [prev.label];
    window.__plasticity_shown = {key: k, run: run, g: b.g, label: b.label, v: b.v, t: b.t};
  }
  w.info.data = info;
}
""".replace("STORE_ID", STORE_ID)


def _grid(cat: Catalogue, compounds, doses, species, pretreatments, cuts, genotypes, conditions=None,
          condition_grid: str = "typical") -> list[Setting]:
    compounds = compounds or list(cat.compounds)
    for c in compounds:
        cat.compound(c)
    species = species or ["mouse"]
    for s in species:
        if s not in cat.species:
            raise UnknownNameError("species", s, cat.species, context="--species")
    if not doses or any(not (d > 0) for d in doses):
        raise PlasticityError(f"--doses: expected positive multiples of the typical dose, such as 0.3,1,3, got {doses}")
    pre = [NONE, *cat.pretreatments] if not pretreatments or pretreatments == ["all"] else pretreatments
    for p in pre:
        if p != NONE and p not in cat.pretreatments:
            raise UnknownNameError("pretreatment", p, [NONE, *cat.pretreatments], context="--pretreatments")
    cut_names = list(CUT_SETS) if not cuts or cuts == ["all"] else cuts
    for c in cut_names:
        if c not in CUT_SETS:
            raise UnknownNameError("cut", c, [*CUT_SETS, "all"], context="--cuts")
    genos = cat.genotypes if genotypes == ["all"] else (genotypes or ["wild_type"])
    for g in genos:
        if g not in cat.genotypes:
            raise UnknownNameError("genotype", g, cat.genotypes, context="--genotypes")
    conds = list(cat.conditions) if not conditions or conditions == ["all"] else conditions
    for c in conds:
        if c not in cat.conditions:
            raise UnknownNameError("condition", c, [*cat.conditions, "all"], context="--conditions")
    if condition_grid not in CONDITION_GRIDS:
        raise UnknownNameError("condition grid", condition_grid, CONDITION_GRIDS, context="--condition-grid")
    out = []
    for sp in species:  # dose and genotype innermost: a structure (species, compound, pretreatment, cuts) compiles once
        for c in compounds:
            comp = cat.compounds[c]
            if sp not in comp.dosing:
                continue
            for p in pre:
                if p != NONE and sp not in cat.pretreatments[p].doses:
                    continue
                for cn in cut_names:
                    for m in doses:
                        for g in genos:
                            for cond in conds:
                                if cond != NONE and condition_grid == "typical":
                                    continue
                                out.append(Setting(c, float(f"{comp.dosing[sp].typical * m:.3g}"), sp, p, CUT_SETS[cn], g, condition=cond))
                if condition_grid == "typical":  # a condition: the typical dose, the intact loop, the first genotype
                    out += [Setting(c, comp.dosing[sp].typical, sp, p, (), genos[0], condition=cond) for cond in conds if cond != NONE]
    if not out:
        raise PlasticityError("lesson: the chosen compounds, species and pretreatments leave no run to compute")
    return out


def _compute(cat: Catalogue, settings: list[Setting], workers: int, progress: bool | None) -> dict[str, dict]:
    bundles: dict[str, dict] = {}
    with progress_bar(len(settings), desc="lesson runs", unit="run", enabled=progress) as bar:
        if workers <= 1 or len(settings) < 8:
            for s in settings:
                bundles[s.key] = safe_compute(cat, s)
                bar.update(1)
            return bundles
        groups: dict[tuple, list[Setting]] = {}
        for s in settings:  # one task per compiled structure, largest first
            groups.setdefault((s.species, s.compound, s.pretreatment, s.cuts, s.clamp), []).append(s)
        parts = sorted(groups.values(), key=len, reverse=True)
        with pool(workers) as ex:
            for part in ex.map(_worker, [str(cat.file)] * len(parts), parts):
                for b in part:
                    bundles[b["key"]] = b
                bar.update(len(part))
    return bundles


def _store(cat: Catalogue, grid: list[Setting], bundles: dict[str, dict], grid_text: str) -> dict:
    times: dict[str, list] = {}
    vehicles: dict[str, dict] = {}
    runs: dict[str, dict] = {}
    for key, b in bundles.items():
        if "error" in b:
            runs[key] = {"error": b["error"]}
            continue
        t = b["run"]["t"]
        tk = f"{t[0]:g}:{len(t)}"
        times.setdefault(tk, t)
        veh = {k: v for k, v in b["vehicle"].items() if k != "t"}
        vk = json.dumps(veh, sort_keys=True)
        vid = vehicles.setdefault(vk, {"id": f"v{len(vehicles)}", "data": veh})["id"]
        runs[key] = {"t": tk, "v": vid, "label": b["label"], "g": [fmt_gain(b["gains"][str(h)]) for h in GAIN_HOURS],
                     "d": {k: v for k, v in b["run"].items() if k != "t"}}
    doses: dict[str, dict[str, list[str]]] = {}
    for s in grid:
        doses.setdefault(s.compound, {}).setdefault(s.species, [])
        if f"{s.dose:g}" not in doses[s.compound][s.species]:
            doses[s.compound][s.species].append(f"{s.dose:g}")
    for c in doses:
        for sp in doses[c]:
            doses[c][sp].sort(key=float)
    units = {c.id: {sp: d.unit_label for sp, d in c.dosing.items()} for c in cat.compounds.values()}
    typical = {c.id: {sp: f"{d.typical:g}" for sp, d in c.dosing.items()} for c in cat.compounds.values()}
    return {"times": times, "vehicles": {v["id"]: v["data"] for v in vehicles.values()}, "runs": runs, "doses": doses,
            "units": units, "typical": typical, "feedback": list(FEEDBACK), "grid": grid_text}


def store_json(store: dict) -> str:
    """The lesson's data as JSON safe inside a <script> element: every '<' escaped as \\u003c, so no text in it (a
    display name such as '<!--<script>') can end the element or open a comment; JSON.parse reads it back unchanged."""
    return json.dumps(store, separators=(",", ":")).replace("<", "\\u003c")


def write_lesson(out: str | Path, *, compounds=None, doses=(0.3, 1, 3), species=None, pretreatments=None, cuts=None,
                 genotypes=None, conditions=None, condition_grid: str = "typical", catalogue=None, questions=None, workers: int = 2, progress: bool | None = None) -> dict:
    """Compute the grid's runs and the questions' answers and write the page; returns counts and the size in bytes.

    `progress`: a bar of runs done (tqdm.auto); None, the default, shows it in a notebook or on a terminal."""
    try:
        from bokeh.embed import file_html
        from bokeh.models import CustomJS
        from bokeh.resources import INLINE
    except ImportError:
        raise PlasticityError("lesson: Bokeh is not installed; install the extra with: pip install 'plasticity[app]'") from None
    cat = load_catalogue(catalogue)
    qs = load_questions(cat, questions)
    species = species or ["mouse"]
    grid = _grid(cat, compounds, list(doses), species, pretreatments, cuts, genotypes, conditions, condition_grid)
    qsettings = [s for q in qs for s in q.settings()]
    wanted = list(dict.fromkeys(grid + qsettings))
    bundles = _compute(cat, wanted, workers, progress)
    answers = {}
    for q in qs:
        try:
            answers[q.id] = answer(q, lambda s: bundles[s.key], cat)
        except PlasticityError as exc:
            answers[q.id] = {"answer": "(no answer)", "detail": str(exc)}
    grid_text = (f"{', '.join(sorted({s.species for s in grid}))}; {len({s.compound for s in grid})} compounds at "
                 f"{', '.join(f'{d:g}' for d in doses)} x the typical dose; pretreatments {', '.join(sorted({s.pretreatment for s in grid}))}; "
                 f"genotypes {', '.join(sorted({s.genotype for s in grid}))}; conditions "
                 + ", ".join(cat.conditions[c] for c in cat.conditions if any(s.condition == c for s in grid))
                 + (" (a condition other than none only at the typical dose with the intact loop)" if condition_grid == "typical" else ""))
    store = _store(cat, grid, {k: b for k, b in bundles.items() if not k.split("|")[-1]}, grid_text)  # a clamp has no control
    first = cat.default if cat.default.key in bundles else grid[0]
    quiz = quiz_table(qs, cat, answers)
    view = build(cat, quiz, first, lesson=True)
    b0 = bundles[first.key]
    if "error" not in b0:
        view.curves.data = curves_for(b0, None)
    view.info.data = info_for(b0, None, first)
    first_draw(view, b0, view.info.data, quiz)
    # the selectors offer what the grid holds
    view.species.options = sorted({s.species for s in wanted if not s.clamp}, key=cat.species.index)
    view.compound.options = [(c.id, c.display) for c in cat.compounds.values() if any(s.compound == c.id for s in wanted)]
    view.dose.options = [(d, f"{d} {cat.dosing(first).unit}") for d in store["doses"].get(first.compound, {}).get(first.species, [])]
    view.pretreatment.options = [o for o in view.pretreatment.options if any(s.pretreatment == o[0] for s in wanted)]
    view.genotype.options = [g for g in cat.genotypes if any(s.genotype == g for s in wanted)]
    view.condition.options = [(c, d) for c, d in cat.conditions.items() if any(s.condition == c for s in wanted)]
    w = {"compound": view.compound, "dose": view.dose, "species": view.species, "pretreatment": view.pretreatment, "cuts": view.cuts,
         "genotype": view.genotype, "condition": view.condition, "curves": view.curves, "info": view.info}
    upd = CustomJS(args=w,
                   code=JS + LESSON_JS + "update({compound, dose, species, pretreatment, cuts, genotype, condition, curves, info});")
    for x in (view.compound, view.dose, view.species, view.pretreatment, view.genotype, view.condition):
        x.js_on_change("value", upd)
    view.cuts.js_on_change("active", upd)
    show = CustomJS(args={**w, "quiz": view.quiz, "select": view.q_select},
                    code=JS + LESSON_JS + """
const q = quiz.data, i = q.id.indexOf(select.value);
if (i >= 0) {
  const s = JSON.parse(q.setting[i]);
  window.__plasticity_busy = true;
  try {
    species.value = s.species; compound.value = s.compound;
    const ds = doses(s.compound, s.species);
    const opts = ds.map((d) => [d, d + " " + ((st.units[s.compound] || {})[s.species] || "")]);
    dose.options = opts.length ? opts : [[String(s.dose), String(s.dose)]];
    dose.value = String(s.dose); pretreatment.value = s.pretreatment; genotype.value = s.genotype; condition.value = s.condition;
    cuts.active = s.cuts.map((c) => st.feedback.indexOf(c));
  } finally { window.__plasticity_busy = false; }
  update({compound, dose, species, pretreatment, cuts, genotype, condition, curves, info});
}""")
    view.q_show.js_on_event("button_click", show)
    from bokeh.document import Document

    doc = Document()
    doc.add_root(view.layout)
    doc.title = "plasticity lesson: the feedback loop"
    doc.js_on_event("document_ready", view.ready)
    html = file_html(doc, resources=INLINE, title=doc.title)
    payload = store_json(store)
    html = html.replace("<head>", "<head>\n" + PRINT_PAGE, 1)  # the first <head> is the document's (Bokeh's scripts come after it)
    head, sep, tail = html.rpartition("</body>")  # the last one: Bokeh's inline scripts may contain the text '</head>'
    html = f'{head}<script type="application/json" id="{STORE_ID}">{payload}</script>\n{sep}{tail}'
    out = atomic_write(out, lambda tmp: tmp.write_text(html, encoding="utf-8"))  # a device node or a link is refused, not replaced
    failed = sum(1 for k in store["runs"] if "error" in store["runs"][k])
    return {"runs": len(store["runs"]), "failed": failed, "questions": len(qs), "bytes": out.stat().st_size}
