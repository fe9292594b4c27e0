"""The classroom's views as Bokeh models, shared by the live app and the lesson page.

Python lays out the controls, the pathway diagram, the stage time courses, the gains and the panels;
the browser half (view.js) redraws the diagram for the time slider, plays it, shows the gains and runs
predict-then-reveal, so the same page works with a server (the app) and without one (the lesson).
Colours: the diagram's nodes use the notebook's blue-red diverging map (RdBu, colour-blind safe),
the lines the Okabe-Ito palette.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._catalogue import FEEDBACK, GAIN_HOURS, NONE, Catalogue, Setting
from ._runs import COLUMNS, STAGES
from ._text import handout_html, limits_html, stages_html

JS = (Path(__file__).resolve().parent / "view.js").read_text(encoding="utf-8")
BLUE, ORANGE, VERMILLION, GREY = "#0072B2", "#E69F00", "#D55E00", "#404040"
CURSOR = "#009E73"  # the slider's time: Okabe-Ito bluish green, a colour no curve uses
VEHICLE = {"line_color": "#000000", "line_dash": "dotted", "line_width": 2}
GHOST = {"line_color": ORANGE, "line_dash": "dashed", "line_width": 3}
NOW = {"line_color": BLUE, "line_width": 3}
PLOTTED = ["drug", *STAGES, "gain"]  # the eight time courses, in their order on the page
FITTED = PLOTTED[1:]  # their y ranges follow the curves; the drug's stays 0-100 % of its peak
X_TICKS = {"first 12 h": [0, 3, 6, 9, 12], "all 72 h": [0, 24, 48, 72]}
CURVE_COLUMNS = ["t", *COLUMNS[1:], *(f"v_{c}" for c in COLUMNS[1:]), "g_t", *(f"g_{c}" for c in COLUMNS[1:])]
STAGE_TITLES = {"drug": "drug in brain (% of peak)", "glutamate": "glutamate (fold)", "ampa": "AMPA activation (fold)",
                "bdnf": "BDNF (fold)", "trkb": "active TrkB (fold)", "mtorc1": "mTORC1 (fold)",
                "synaptic_protein": "synaptic protein (fold)", "gain": "spine gain vs vehicle (%)"}
CAPTION = ("Each plot compares the setting now (blue) with its vehicle (black dots: no drug, same species and condition) "
           "and with the setting shown before (orange dashes). The drug is its brain concentration with its breakdown "
           "products, as a % of its own peak; the signalling stages are fold over the drug-free level; the spine gain is "
           "the % more spines than the vehicle. The green line is the time on the slider.")
CSS = """
:host { font-size: 17px; }
.setting { font-size: 22px; font-weight: 600; }
.error { color: #b00020; font-size: 18px; margin-top: 4px; }
.gains { display: flex; gap: 26px; align-items: flex-end; }
.gl { font-size: 17px; max-width: 8em; }
.g .h { font-size: 16px; color: #444; }
.g .v { font-size: 30px; font-weight: 700; color: #0072B2; }
.g .p { font-size: 15px; color: #8a5a00; }
.prevlabel { font-size: 14px; color: #8a5a00; }
.clock { font-size: 20px; font-weight: 600; }
.prompt { font-size: 19px; font-weight: 600; }
.qsetting, .hint, .detail, .explain { font-size: 16px; }
.wait { font-size: 17px; font-style: italic; }
table.reveal { font-size: 18px; border-collapse: collapse; }
table.reveal th { text-align: left; padding: 3px 14px 3px 0; font-weight: 600; }
table.reveal td { padding: 3px 0; }
dl.stages dt { font-weight: 700; margin-top: 6px; }
dl.stages dd { margin-left: 1em; }
ul.limits li { margin-bottom: 6px; }
.caption { font-size: 14px; color: #333; margin: 2px 0; }
"""
PLOT_WIDTH = 232  # four plots a row: controls and plots fit a 1,280 px window, the question panel wraps below them
CONTROLS_WIDTH = 280
SCREEN_ONLY = "@media print { :host { display: none !important; } }"
PRINT_ONLY = (":host { display: none !important; } @media print { :host { display: block !important; width: auto !important; "
              "height: auto !important; } } ol.handout li { margin-bottom: 10px; } .blank { color: #555; } h2 { font-size: 20px; }")
WIDGET_CSS = ":host { font-size: 16px; } label, .bk-input, select, input, button { font-size: 16px; }"


@dataclass
class View:
    """The models the app and the lesson wire up."""

    layout: object
    compound: object
    dose: object
    species: object
    pretreatment: object
    cuts: object
    genotype: object
    condition: object
    slider: object
    play: object
    curves: object  # the run, its vehicle (v_*) and the previous setting (g_*): one table, one message per change
    info: object
    quiz: object
    q_select: object
    q_choice: object
    q_number: object
    q_reveal: object
    q_show: object
    q_out: object
    gains: object
    diagram: object
    ready: object  # CustomJS for the document's 'document_ready' event: the first draw
    kick: object  # an invisible Div: a change of its tags from the server runs the first draw too (the app)


def _palettes() -> tuple[list[str], list[str]]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    rdbu = colormaps["RdBu_r"]
    purples = colormaps["Purples"]
    return [to_hex(rdbu(x)) for x in np.linspace(0, 1, 21)], [to_hex(purples(x)) for x in np.linspace(0, 1, 21)]


def _geometry():
    """Node positions and the edges as poly-lines (feedback curved), in diagram units (100 px each)."""
    from ..teaching import EDGES, NODES

    spacing, radius = 1.5, 0.42
    pos = {n: (spacing * x, spacing * y) for n, (x, y, _) in NODES.items()}
    nodes = {"key": list(NODES), "x": [pos[n][0] for n in NODES], "y": [pos[n][1] for n in NODES],
             "label": [NODES[n][2] for n in NODES]}
    edges = {"up": [], "down": [], "cut": [], "base": [], "xs": [], "ys": []}
    heads = {"x": [], "y": [], "angle": []}
    marks = {"x": [], "y": []}
    for up, down, kind in EDGES:
        (x0, y0), (x1, y1) = pos[up], pos[down]
        fb = kind.startswith("feedback")
        if fb:  # a quadratic curve bulging outward, as matplotlib's arc3 with rad -0.35
            cx, cy = (x0 + x1) / 2 - 0.35 * (y1 - y0), (y0 + y1) / 2 + 0.35 * (x1 - x0)
            s = np.linspace(0, 1, 40)
            xs = (1 - s) ** 2 * x0 + 2 * (1 - s) * s * cx + s**2 * x1
            ys = (1 - s) ** 2 * y0 + 2 * (1 - s) * s * cy + s**2 * y1
        else:
            xs, ys = np.linspace(x0, x1, 2), np.linspace(y0, y1, 2)
        keep = (np.hypot(xs - x0, ys - y0) >= radius) & (np.hypot(xs - x1, ys - y1) >= radius + 0.12)
        if not fb:  # a straight edge: cut exactly at the circles
            d = np.hypot(x1 - x0, y1 - y0)
            ux, uy = (x1 - x0) / d, (y1 - y0) / d
            xs, ys = np.array([x0 + radius * ux, x1 - (radius + 0.12) * ux]), np.array([y0 + radius * uy, y1 - (radius + 0.12) * uy])
        else:
            xs, ys = xs[keep], ys[keep]
        edge_name = kind.split(": ")[1] if fb else ""
        edge_name = {"mtorc1_to_ampa": "synaptic_protein_to_ampa"}.get(edge_name, edge_name)
        edges["up"].append(up)
        edges["down"].append(down)
        edges["cut"].append(edge_name)
        edges["base"].append(ORANGE if fb else GREY)
        edges["xs"].append(xs.tolist())
        edges["ys"].append(ys.tolist())
        ang = float(np.arctan2(ys[-1] - ys[-2], xs[-1] - xs[-2]))
        heads["x"].append(float(xs[-1]) + 0.06 * np.cos(ang))
        heads["y"].append(float(ys[-1]) + 0.06 * np.sin(ang))
        heads["angle"].append(ang - np.pi / 2)
        mid = len(xs) // 2
        marks["x"].append(float((xs[mid] + xs[mid - 1]) / 2) if len(xs) > 2 else float(xs.mean()))
        marks["y"].append(float((ys[mid] + ys[mid - 1]) / 2) if len(ys) > 2 else float(ys.mean()))
    return nodes, edges, heads, marks, radius


def empty_info() -> dict[str, list]:
    return {"label": [""], "error": [""], "cuts": [""], "prev_label": [""],
            **{f"g{h}": [""] for h in GAIN_HOURS}, **{f"p{h}": [""] for h in GAIN_HOURS}}


def fmt_gain(g: float) -> str:
    """How a spine gain is shown: '+18.78 %' (two decimals, the precision the tests compare at)."""
    return f"{g:+.2f} %"


def curves_for(bundle: dict, ghost: dict | None) -> dict[str, np.ndarray]:
    """The curves table for a bundle and the ghost's bundle (or none): what P.curves builds in the page, as arrays
    (Bokeh sends them as binary buffers). The shorter of the two runs ends in NaN, which draws nothing."""
    run, veh = bundle["run"], bundle["vehicle"]
    g = ghost["run"] if ghost is not None and "error" not in ghost else None
    n = max(len(run["t"]), len(g["t"]) if g else 0)

    def col(x) -> np.ndarray:
        a = np.full(n, np.nan)
        if x is not None:
            a[: len(x)] = x
        return a

    out = {"t": col(run["t"]), "g_t": col(g["t"] if g else None)}
    for c in COLUMNS[1:]:
        out[c], out[f"v_{c}"], out[f"g_{c}"] = col(run[c]), col(veh[c]), col(g[c] if g else None)
    return out


def fit_y(view: View) -> None:
    """The time courses' y ranges for the curves the view holds (P.fit does it in the page for every later change)."""
    d = view.curves.data
    for yr, col in zip(view.yranges, FITTED):
        ys = np.concatenate([np.asarray(d[k], dtype=float) for k in (col, f"v_{col}", f"g_{col}") if k in d])
        ys = ys[np.isfinite(ys)]
        if not len(ys):
            continue
        lo, hi = float(ys.min()), float(ys.max())
        pad = 0.05 * (hi - lo) if hi > lo else max(0.5 * abs(lo), 1.0)
        yr.start, yr.end = lo - pad, hi + pad


def info_for(bundle: dict, previous: dict | None, s: Setting) -> dict[str, list]:
    """The one-row info table for a bundle (and the bundle shown before it)."""
    info = empty_info()
    info["cuts"] = [",".join(s.cuts)]
    if "error" in bundle:
        info["error"] = [bundle["error"]]
        info["label"] = ["This setting cannot be run"]
        return info
    info["label"] = [bundle["label"]]
    for h in GAIN_HOURS:
        info[f"g{h}"] = [fmt_gain(bundle["gains"][str(h)])]
    if previous and "error" not in previous and previous["key"] != bundle["key"]:
        info["prev_label"] = [previous["label"]]
        for h in GAIN_HOURS:
            info[f"p{h}"] = [fmt_gain(previous["gains"][str(h)])]
    return info


def build(cat: Catalogue, quiz: dict[str, list], setting: Setting, *, lesson: bool = False) -> View:
    """Lay out the whole page for `setting`; the sources start empty and are filled by the caller."""
    from bokeh.layouts import column, row
    from bokeh.models import (
        Button,
        CheckboxGroup,
        ColorBar,
        ColumnDataSource,
        CustomJS,
        Div,
        FixedTicker,
        InlineStyleSheet,
        LinearColorMapper,
        NumeralTickFormatter,
        RadioButtonGroup,
        Range1d,
        Select,
        Slider,
        TabPanel,
        Tabs,
        TextInput,
        Toggle,
    )
    from bokeh.plotting import figure

    css = InlineStyleSheet(css=CSS)
    wcss = InlineStyleSheet(css=WIDGET_CSS)
    palette, purples = _palettes()
    dosing = cat.dosing(setting)

    # ------------------------------------------------------------------ controls
    compound = Select(title="Compound", value=setting.compound, options=[(c.id, c.display) for c in cat.compounds.values()],
                      stylesheets=[wcss], css_classes=["pl-compound"], width=CONTROLS_WIDTH - 20)
    dose = Select(title=f"Dose ({dosing.unit_label})", value=f"{setting.dose:g}", options=dose_options(cat, setting),
                  stylesheets=[wcss], css_classes=["pl-dose"], width=CONTROLS_WIDTH - 20)
    species = Select(title="Species", value=setting.species, options=list(cat.species), stylesheets=[wcss], css_classes=["pl-species"], width=CONTROLS_WIDTH - 20)
    pretreatment = Select(title="Pretreatment (before the drug)", value=setting.pretreatment,
                          options=[(NONE, "none")] + [(p.key, p.display) for p in cat.pretreatments.values()],
                          stylesheets=[wcss], css_classes=["pl-pretreatment"], width=CONTROLS_WIDTH - 20)
    cuts_head = Div(text="<b>Cut a feedback edge</b>", stylesheets=[css])
    cuts = CheckboxGroup(labels=list(FEEDBACK.values()), active=[i for i, c in enumerate(FEEDBACK) if c in setting.cuts],
                         stylesheets=[wcss], css_classes=["pl-cuts"])
    genotype = Select(title="Genotype", value=setting.genotype, options=list(cat.genotypes), stylesheets=[wcss],
                      css_classes=["pl-genotype"], width=CONTROLS_WIDTH - 20)
    condition = Select(title="Condition (before any drug)", value=setting.condition, options=list(cat.conditions.items()),
                       stylesheets=[wcss], css_classes=["pl-condition"], width=CONTROLS_WIDTH - 20)
    slider = Slider(title="Time after dosing (h)", start=0, end=72, step=0.1, value=2.0, stylesheets=[wcss],
                    css_classes=["pl-time"], width=CONTROLS_WIDTH - 20)
    play = Toggle(label="▶ Play the time course", active=False, stylesheets=[wcss], css_classes=["pl-play"], width=CONTROLS_WIDTH - 20)
    xr = RadioButtonGroup(labels=list(X_TICKS), active=1, stylesheets=[wcss], css_classes=["pl-range"])

    # ------------------------------------------------------------------ data
    curves = ColumnDataSource({c: [] for c in CURVE_COLUMNS})
    info = ColumnDataSource(empty_info())
    nodes_d, edges_d, heads_d, marks_d, radius = _geometry()
    n, m = len(nodes_d["key"]), len(edges_d["up"])
    nodes = ColumnDataSource({**nodes_d, "fill": ["#f7f7f7"] * n, "ink": ["#1a1a1a"] * n, "value": [""] * n})
    edges = ColumnDataSource({**edges_d, "width": [2.0] * m, "colour": list(edges_d["base"]), "alpha": [0.95] * m})
    heads = ColumnDataSource({**heads_d, "size": [14.0] * m, "colour": list(edges_d["base"])})
    marks = ColumnDataSource({**marks_d, "alpha": [0] * m})
    quiz_src = ColumnDataSource(quiz)

    # ------------------------------------------------------------------ the diagram
    dia = figure(frame_width=760, frame_height=300, x_range=Range1d(-2.3, 5.3), y_range=Range1d(-0.75, 2.25),
                 toolbar_location=None, tools="", title="The loop: node colour = level over vehicle, arrow width = extra signal carried",
                 css_classes=["pl-diagram"])
    dia.axis.visible = False
    dia.grid.visible = False
    dia.outline_line_color = None
    dia.title.text_font_size = "17px"
    dia.multi_line("xs", "ys", source=edges, line_width="width", line_color="colour", line_alpha="alpha")
    dia.scatter("x", "y", source=heads, marker="triangle", size="size", angle="angle", fill_color="colour", line_color="colour")
    dia.text("x", "y", text={"value": "✕"}, source=marks, text_color=VERMILLION, text_alpha="alpha", text_font_size="26px",
             text_align="center", text_baseline="middle", text_font_style="bold")
    dia.circle("x", "y", radius=radius, source=nodes, fill_color="fill", line_color="#333333", line_width=1.5)
    dia.text("x", "y", text="label", source=nodes, text_align="center", text_baseline="bottom", text_font_size="13px",
             text_color="ink", text_line_height=1.0, y_offset=4)
    dia.text("x", "y", text="value", source=nodes, text_align="center", text_baseline="top", text_font_size="16px",
             text_font_style="bold", text_color="ink", y_offset=14)
    mapper = LinearColorMapper(palette=palette, low=-1, high=1)
    dia.add_layout(ColorBar(color_mapper=mapper, title="log2 fold over vehicle", width=14, title_text_font_size="13px",
                            major_label_text_font_size="12px"), "right")
    clock = Div(text="", stylesheets=[css], css_classes=["pl-clock"], width=400, height=30)

    # ------------------------------------------------------------------ the time courses
    # the ranges are set in the page (P.fit, with the new curves, so that a plot paints once) and not sent back
    xrange = Range1d(-0.5, 72, syncable=False)
    cursor = ColumnDataSource({"x": [2.0]})  # the slider's time, one source for every time course (changed in place)
    xticks = FixedTicker(ticks=X_TICKS["all 72 h"])  # one ticker for every plot: the x range buttons change it
    figs, yranges = [], []
    for col in PLOTTED:
        yr = Range1d(-0.03, 1.05) if col == "drug" else Range1d(0, 1, syncable=False)
        f = figure(width=PLOT_WIDTH, height=200, x_range=xrange, y_range=yr, toolbar_location=None, tools="", title=STAGE_TITLES[col])
        f.title.text_font_size = "14px"
        f.axis.major_label_text_font_size = "13px"
        f.xaxis.axis_label = "hours after the dose"
        f.xaxis.ticker = xticks
        if col == "drug":
            f.yaxis.ticker = FixedTicker(ticks=[0, 0.5, 1])
            f.yaxis.formatter = NumeralTickFormatter(format="0%")
        else:
            f.yaxis.ticker.desired_num_ticks = 4
            yranges.append(yr)
        for x, y, style in (("t", f"v_{col}", VEHICLE), ("g_t", f"g_{col}", GHOST), ("t", col, NOW)):
            f.line(x, y, source=curves, **style)
        if col == "drug":
            # one legend, on the first plot, for three lines of the same styles that draw nothing (one NaN row: a
            # legend samples its line's first row): a legend re-renders its items whenever a source of its lines
            # changes, and these sources never change
            for label, style in (("vehicle", VEHICLE), ("previous setting", GHOST), ("now", NOW)):
                f.line("t", "y", source=ColumnDataSource({"t": [np.nan], "y": [np.nan]}), legend_label=label, **style)
            f.legend.label_text_font_size = "12px"
            f.legend.background_fill_alpha = 0.6
        f.vspan(x="x", source=cursor, line_color=CURSOR, line_width=2)
        figs.append(f)
    fit = CustomJS(args={"curves": curves, "ranges": yranges, "cols": FITTED}, code=JS + "P.fit({curves, ranges, cols});")
    curves.js_on_change("data", fit)
    xr.js_on_change("active", CustomJS(args={"r": xrange, "ticker": xticks, "ticks": list(X_TICKS.values())},
                                       code="r.start = -0.5; r.end = cb_obj.active === 0 ? 12 : 72; ticker.ticks = ticks[cb_obj.active];"))
    caption = Div(text=f"<p class='caption'>{CAPTION}</p>", stylesheets=[css], css_classes=["pl-caption"], width=4 * PLOT_WIDTH)
    grid = column(row(*figs[:4]), row(*figs[4:]), caption)

    # ------------------------------------------------------------------ text
    # fixed sizes; P.text writes new text into them in place, with no re-layout
    title = Div(text="", stylesheets=[css], css_classes=["pl-title"], width=4 * PLOT_WIDTH, height=64)
    gains = Div(text="", stylesheets=[css], css_classes=["pl-gains"], width=760, height=112)
    stages = Div(text=stages_html(), stylesheets=[css], css_classes=["pl-stages"], width=480)
    limits = Div(text=limits_html(), stylesheets=[css], css_classes=["pl-limits"], width=480)

    # ------------------------------------------------------------------ predict, then reveal
    q_select = Select(title="Question", value=quiz["id"][0],
                      options=[(qid, f"{i + 1}. {p[:80]}{'…' if len(p) > 80 else ''}") for i, (qid, p) in enumerate(zip(quiz["id"], quiz["prompt"]))],
                      stylesheets=[wcss], css_classes=["pl-question"], width=480)
    q_prompt = Div(text="", stylesheets=[css], css_classes=["pl-prompt"], width=480)
    q_choice = RadioButtonGroup(labels=["?"], active=None, stylesheets=[wcss], css_classes=["pl-choice"])
    q_number = TextInput(title="Your prediction", value="", visible=False, stylesheets=[wcss], css_classes=["pl-number"], width=200)
    q_reveal = Button(label="Reveal the model's answer", button_type="primary", stylesheets=[wcss], css_classes=["pl-reveal"])
    q_show = Button(label="Show this setting", stylesheets=[wcss], css_classes=["pl-show"])
    q_out = Div(text="", stylesheets=[css], css_classes=["pl-reveal-out"], width=480)
    quiz_args = {"quiz": quiz_src, "select": q_select, "prompt": q_prompt, "choice": q_choice, "number": q_number, "out": q_out}
    q_select.js_on_change("value", CustomJS(args=quiz_args, code=JS + "P.question({quiz, select, prompt, choice, number, out});"))
    q_reveal.js_on_event("button_click", CustomJS(args=quiz_args, code=JS + "P.reveal({quiz, select, choice, number, out}, true);"))
    quiz_src.js_on_change("data", CustomJS(args=quiz_args, code=JS + "P.reveal({quiz, select, choice, number, out}, false);"))
    quiz_panel = column(q_select, q_prompt, q_choice, q_number, row(q_reveal, q_show), q_out)

    # ------------------------------------------------------------------ the browser half, wired
    dargs = {"curves": curves, "info": info, "nodes": nodes, "edges": edges, "heads": heads, "marks": marks, "slider": slider,
             "palette": palette, "purples": purples, "cursor": cursor, "clock": clock}
    redraw = CustomJS(args=dargs,
                      code=JS + "P.diagram({curves, info, nodes, edges, heads, marks, slider, palette, purples, cursor, clock});")
    slider.js_on_change("value", redraw)
    # a new setting redraws the diagram once, on its info table: the app and the lesson send the curves (the run,
    # its vehicle and the ghost) first and the info last, so the diagram is drawn from the new run against the new vehicle
    info_cb = CustomJS(args={"info": info, "title": title, "gains": gains}, code=JS + "P.info({info, title, gains}); ")
    info.js_on_change("data", info_cb)
    info.js_on_change("data", redraw)
    play.js_on_change("active", CustomJS(args={"toggle": play, "slider": slider, "curves": curves},
                                         code=JS + "P.play({toggle, slider, curves});"))

    controls = column(Div(text="<b style='font-size:20px'>Setting</b>", stylesheets=[css]), compound, dose, species, condition,
                      pretreatment, cuts_head, cuts, genotype, Div(text="<b style='font-size:20px'>Time</b>", stylesheets=[css]), slider, play, xr,
                      width=CONTROLS_WIDTH, stylesheets=[InlineStyleSheet(css=SCREEN_ONLY)])
    tabs = Tabs(tabs=[TabPanel(child=quiz_panel, title="Predict, then reveal"), TabPanel(child=stages, title="The stages"),
                      TabPanel(child=limits, title="What the model cannot tell you")], stylesheets=[wcss], css_classes=["pl-tabs"])
    heading = Div(text="<h1 style='margin:0;font-size:28px'>The feedback loop: glutamate → AMPA → BDNF → TrkB → mTORC1 → spines</h1>"
                  + ("<p style='margin:2px 0;font-size:15px'>Lesson page: every run precomputed by <code>plasticity lesson</code>; "
                     "it works offline.</p>" if lesson else ""), stylesheets=[css])
    centre = column(title, gains, clock, dia, grid)
    # the question panel wraps below the plots when the window is narrower than the three columns (about 1,700 px)
    handout = Div(text=handout_html(quiz["prompt"]), stylesheets=[css, InlineStyleSheet(css=PRINT_ONLY)], css_classes=["pl-handout"])
    tabs.stylesheets = [*tabs.stylesheets, InlineStyleSheet(css=SCREEN_ONLY)]  # printed: the handout holds its text
    layout = column(heading, row(controls, centre, tabs, styles={"flex-wrap": "wrap", "row-gap": "12px"}), handout)
    # first draw once the page has loaded: the question and (for an already filled source) the diagram
    ready = CustomJS(args={**quiz_args, **dargs, "title": title, "gains": gains},
                            code=JS + "P.question({quiz, select, prompt, choice, number, out}); P.info({info, title, gains});"
                            "P.diagram({curves, info, nodes, edges, heads, marks, slider, palette, purples, cursor, clock});")
    kick = Div(text="", visible=False, css_classes=["pl-kick"])
    kick.js_on_change("tags", CustomJS(args={"kick": kick}, code="kick.name = 'drawn';"))
    kick.js_on_change("tags", ready)
    if not lesson:  # the app's server pokes it; a hidden model in a standalone page would keep it from 'document_ready'
        layout.children.append(kick)
    view = View(layout, compound, dose, species, pretreatment, cuts, genotype, condition, slider, play, curves, info, quiz_src,
                q_select, q_choice, q_number, q_reveal, q_show, q_out, gains, dia, ready, kick)
    view.nodes, view.edges, view.heads, view.marks, view.cursor = nodes, edges, heads, marks, cursor
    view.clock, view.title, view.q_prompt, view.yranges = clock, title, q_prompt, yranges
    return view


def dose_options(cat: Catalogue, s: Setting) -> list[tuple[str, str]]:
    """The dose selector's choices for a setting's compound and species (value, label with unit)."""
    try:
        d = cat.dosing(s)
    except Exception:  # noqa: BLE001 - not offered for this species: no doses
        return [(f"{s.dose:g}", f"{s.dose:g}")]
    return [(f"{x:g}", f"{x:g} {d.unit}" + (" (typical)" if x == d.typical else "")) for x in d.doses]


def setting_from(view: View, cat: Catalogue) -> Setting:
    """The setting the controls show."""
    return Setting(view.compound.value, float(view.dose.value), view.species.value, view.pretreatment.value,
                   tuple(c for i, c in enumerate(FEEDBACK) if i in view.cuts.active), view.genotype.value,
                   condition=view.condition.value)


def first_draw(view: View, bundle: dict, info: dict[str, list], quiz: dict[str, list]) -> None:
    """Draw the first state in Python (the page's own callbacks draw every later one): the title, the gains,
    the diagram at the slider's time and the first question. A standalone page may never report 'document_ready'."""
    import html as _html
    import math

    if "error" in bundle:
        return
    fit_y(view)
    palette, purples = _palettes()
    run, veh = bundle["run"], bundle["vehicle"]
    ts = run["t"]
    i = min(range(len(ts)), key=lambda k: abs(ts[k] - view.slider.value))

    def fold(key: str) -> float:
        if key == "drug":
            return max(run["drug"][i], 0.0)
        if key == "spine_density":
            return run["spines"][i]
        base = veh[key][i]
        return run[key][i] / base if base > 0 else run[key][i]

    def pick(pal: list[str], f: float) -> str:
        return pal[max(0, min(len(pal) - 1, round(f * (len(pal) - 1))))]

    nd = dict(view.nodes.data)
    fill, ink, value = [], [], []
    for key in nd["key"]:
        f = fold(key)
        if key == "drug":
            fill.append(pick(purples, 0.08 + 0.8 * min(f, 1)))
            ink.append("#ffffff" if f > 0.55 else "#1a1a1a")
            value.append(f"{round(100 * f)} %")
        else:
            l2 = max(-1.0, min(1.0, math.log2(max(f, 1e-6))))
            fill.append(pick(palette, (l2 + 1) / 2))
            ink.append("#ffffff" if abs(l2) > 0.6 else "#1a1a1a")
            value.append(f"{f:.2f}×")
    view.nodes.data = {**nd, "fill": fill, "ink": ink, "value": value}
    ed = dict(view.edges.data)
    cuts = [c for c in info["cuts"][0].split(",") if c]
    width, colour, size, mark = [], [], [], []
    for up, cut_name, base in zip(ed["up"], ed["cut"], ed["base"]):
        sig = max(fold(up), 0.0) if up == "drug" else max(fold(up) - 1, 0.0)
        cut = bool(cut_name) and cut_name in cuts
        w = 1.5 if cut else 2 + 8 * min(sig, 2.5)
        width.append(w)
        colour.append("#bdbdbd" if cut else base)
        size.append(9 if cut else 12 + 1.3 * w)
        mark.append(1 if cut else 0)
    view.edges.data = {**ed, "width": width, "colour": colour}
    view.heads.data = {**view.heads.data, "size": size, "colour": colour}
    view.marks.data = {**view.marks.data, "alpha": mark}
    view.cursor.data = {"x": [ts[i]]}
    view.clock.text = f"<span class='clock'>t = {round(ts[i] * 100) / 100:g} h after dosing</span>"
    e = _html.escape
    view.title.text = f"<div class='setting'>{e(info['label'][0])}</div>"
    h = "<div class='gains' aria-live='polite'><div class='gl'>Spine gain vs vehicle</div>"
    for t in ("24", "48", "72"):
        h += (f"<div class='g'><div class='h'>{t} h</div><div class='v gain-{t}'>{e(info['g' + t][0])}</div>"
              f"<div class='p prev-{t}'>&nbsp;</div></div>")
    view.gains.text = h + "</div>"
    view.q_prompt.text = f"<p class='prompt'>{e(quiz['prompt'][0])}</p><p class='qsetting'>Setting: {e(quiz['setting_label'][0])}</p>"
    number = quiz["kind"][0] == "number"
    view.q_choice.visible, view.q_number.visible = not number, number
    if not number:
        view.q_choice.labels = quiz["choices"][0].split("|")
    else:
        view.q_number.title = "Your prediction" + (f" ({quiz['unit'][0]})" if quiz["unit"][0] else "")
    view.q_out.text = "<p class='hint'>Decide on your prediction, then press Reveal.</p>"
