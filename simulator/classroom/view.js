// plasticity classroom views: the browser half, shared by the live app and the lesson page.
// Every CustomJS in the page starts with this library; `P` holds its functions.
// The curves of a setting travel in one table (`curves`): the run (t, drug, ...), its vehicle on the same times
// (v_drug, ...) and the previous setting, the ghost (g_t, g_drug, ...); the shorter of the two runs ends in NaN.
const P = {
  count(ts) {  // the rows of a time column before its NaN tail
    let n = ts ? ts.length : 0;
    while (n > 0 && !(ts[n - 1] === ts[n - 1])) n--;
    return n;
  },
  nearest(ts, x) {
    let lo = 0, hi = P.count(ts) - 1;
    if (hi < 0) return -1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (ts[mid] <= x) lo = mid; else hi = mid; }
    return Math.abs(ts[hi] - x) < Math.abs(ts[lo] - x) ? hi : lo;
  },
  pick(palette, f) {  // f in [0, 1]
    const k = Math.max(0, Math.min(palette.length - 1, Math.round(f * (palette.length - 1))));
    return palette[k];
  },
  fold(d, key, i) {  // a node's level over the vehicle run at the same time
    if (key === "drug") return Math.max(d.drug[i], 0);
    if (key === "spine_density") return d.spines[i];
    const v = d["v_" + key], base = v && v.length > i ? v[i] : 1.0;
    return base > 0 ? d[key][i] / base : d[key][i];
  },
  esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); },

  // a Div's new text, written into the page in place: a Bokeh Div whose text changes re-renders and lays the whole
  // page out again (tens of ms on 2 cores); the model keeps the text (silently: nothing is sent to an app's server)
  text(div, html) {
    if (div.text === html) return;
    const B = window.Bokeh, views = window.__plasticity_views || (window.__plasticity_views = new WeakMap());
    let view = views.get(div);
    if ((!view || view.is_destroyed) && B && B.index && B.index.find_one) { view = B.index.find_one(div); if (view) views.set(div, view); }
    if (view && view.markup_el && !view.is_destroyed) { div.setv({text: html}, {silent: true}); view.markup_el.innerHTML = html; }
    else div.text = html;
  },

  // one table of curves from a run, its vehicle (the same times) and the ghost (or none), NaN-padded to one length
  curves(run, veh, ghost) {
    const cols = Object.keys(run).filter((c) => c !== "t");
    const n = Math.max(run.t.length, ghost ? ghost.t.length : 0);
    const col = (x) => { const a = new Float64Array(n).fill(NaN); if (x) a.set(x); return a; };
    const out = {t: col(run.t), g_t: col(ghost ? ghost.t : null)};
    for (const c of cols) { out[c] = col(run[c]); out["v_" + c] = col(veh[c]); out["g_" + c] = col(ghost ? ghost[c] : null); }
    return out;
  },

  // each time course's y range: the run, its vehicle and the ghost, padded by 5 % each side (as DataRange1d would),
  // set here with the new curves so that every plot paints once
  fit(a) {
    const d = a.curves.data;
    for (let k = 0; k < a.ranges.length; k++) {
      let lo = Infinity, hi = -Infinity;
      for (const name of [a.cols[k], "v_" + a.cols[k], "g_" + a.cols[k]]) {
        const x = d[name];
        if (!x) continue;
        for (let i = 0; i < x.length; i++) { const y = x[i]; if (y < lo) lo = y; if (y > hi) hi = y; }
      }
      if (!(lo <= hi)) continue;
      const pad = hi > lo ? 0.05 * (hi - lo) : Math.max(0.5 * Math.abs(lo), 1);
      a.ranges[k].setv({start: lo - pad, end: hi + pad});
    }
  },

  // the pathway diagram at the slider's time; the time cursors on the time courses
  diagram(a) {
    const d = a.curves.data, ts = d.t;
    if (!ts || !P.count(ts)) return;
    const i = P.nearest(ts, a.slider.value);
    const info = a.info.data;
    const cuts = (info.cuts && info.cuts.length ? String(info.cuts[0]) : "").split(",").filter((c) => c);
    // the diagram's sources change in place and announce it (change.emit): the browser repaints, and nothing is
    // sent back to the app's server (a new `data` would travel there, four tables on every redraw)
    const nd = a.nodes.data, n = nd.key.length;
    for (let k = 0; k < n; k++) {
      const key = nd.key[k];
      const f = P.fold(d, key, i);
      if (key === "drug") {
        nd.fill[k] = P.pick(a.purples, 0.08 + 0.8 * Math.min(f, 1));
        nd.ink[k] = f > 0.55 ? "#ffffff" : "#1a1a1a";
        nd.value[k] = Math.round(100 * f) + " %";
      } else {
        const l2 = Math.max(-1, Math.min(1, Math.log2(Math.max(f, 1e-6))));
        nd.fill[k] = P.pick(a.palette, (l2 + 1) / 2);
        nd.ink[k] = Math.abs(l2) > 0.6 ? "#ffffff" : "#1a1a1a";
        nd.value[k] = f.toFixed(2) + "×";
      }
    }
    const ed = a.edges.data, hd = a.heads.data, md = a.marks.data, m = ed.up.length;
    for (let e = 0; e < m; e++) {
      const up = ed.up[e];
      const sig = up === "drug" ? Math.max(d.drug[i], 0) : Math.max(P.fold(d, up, i) - 1, 0);
      const cut = ed.cut[e] !== "" && cuts.includes(ed.cut[e]);
      const w = cut ? 1.5 : 2 + 8 * Math.min(sig, 2.5);
      ed.width[e] = w;
      ed.colour[e] = hd.colour[e] = cut ? "#bdbdbd" : ed.base[e];
      ed.alpha[e] = cut ? 0.8 : 0.95;
      hd.size[e] = cut ? 9 : 12 + 1.3 * w;
      md.alpha[e] = cut ? 1 : 0;
    }
    for (const src of [a.nodes, a.edges, a.heads, a.marks]) src.change.emit();
    if (a.cursor.data.x[0] !== ts[i]) {  // one time cursor (a vspan glyph) shared by the eight time courses
      a.cursor.data.x[0] = ts[i];
      a.cursor.change.emit();  // a moved cursor repaints them; an unmoved one leaves them alone
    }
    const clock = "<span class='clock'>t = " + (Math.round(ts[i] * 100) / 100) + " h after dosing</span>";
    P.text(a.clock, clock);
  },

  // the title, the gains and any message
  info(a) {
    const x = a.info.data;
    if (!x.label || !x.label.length) return;
    const err = x.error[0];
    P.text(a.title, "<div class='setting'>" + P.esc(x.label[0]) + "</div>" +
      (err ? "<div class='error' role='alert'>" + P.esc(err) + "</div>" : ""));
    let h = "<div class='gains' aria-live='polite'><div class='gl'>Spine gain vs vehicle</div>";
    for (const t of ["24", "48", "72"]) {
      h += "<div class='g'><div class='h'>" + t + " h</div><div class='v gain-" + t + "'>" + P.esc(x["g" + t][0]) + "</div>" +
           "<div class='p prev-" + t + "'>" + (x["p" + t][0] ? "before: " + P.esc(x["p" + t][0]) : "&nbsp;") + "</div></div>";
    }
    h += "</div>";
    if (x.prev_label[0]) h += "<div class='prevlabel'>ghost (dashed orange): " + P.esc(x.prev_label[0]) + "</div>";
    P.text(a.gains, h);
  },

  play(a) {
    if (window.__plasticity_timer) { clearInterval(window.__plasticity_timer); window.__plasticity_timer = null; }
    if (!a.toggle.active) { a.toggle.label = "▶ Play the time course"; return; }
    a.toggle.label = "❚❚ Pause";
    const ts0 = a.curves.data.t;
    if (P.nearest(ts0, a.slider.value) >= P.count(ts0) - 1) a.slider.value = ts0[0];
    window.__plasticity_timer = setInterval(() => {
      const ts = a.curves.data.t;
      const i = P.nearest(ts, a.slider.value) + 1;
      if (i >= P.count(ts)) { a.toggle.active = false; return; }
      a.slider.value = ts[i];
    }, 90);
  },

  // predict, then reveal
  question(a) {
    const q = a.quiz.data, i = q.id.indexOf(a.select.value);
    if (i < 0) return;
    window.__plasticity_revealed = null;
    a.prompt.text = "<p class='prompt'>" + P.esc(q.prompt[i]) + "</p><p class='qsetting'>Setting: " + P.esc(q.setting_label[i]) + "</p>";
    const number = q.kind[i] === "number";
    a.choice.visible = !number;
    a.number.visible = number;
    if (!number) { a.choice.labels = String(q.choices[i]).split("|"); a.choice.active = null; }
    else { a.number.value = ""; a.number.title = "Your prediction" + (q.unit[i] ? " (" + q.unit[i] + ")" : ""); }
    a.out.text = "<p class='hint'>Decide on your prediction, then press Reveal.</p>";
  },

  reveal(a, force) {
    const q = a.quiz.data, i = q.id.indexOf(a.select.value);
    if (i < 0) return;
    if (!force && window.__plasticity_revealed !== q.id[i]) return;
    window.__plasticity_revealed = q.id[i];
    const number = q.kind[i] === "number";
    let said = null;
    if (number) { const x = parseFloat(a.number.value); said = isFinite(x) ? x : null; }
    else if (a.choice.active !== null && a.choice.active !== undefined) said = a.choice.labels[a.choice.active];
    const ans = q.answer[i];
    if (ans === "") { a.out.text = "<p class='wait'>The model is still computing this answer ...</p>"; return; }
    let agree = "no prediction made";
    if (said !== null) {
      if (number) {
        const m = parseFloat(ans), r = said / m;
        agree = (m === 0 ? said === 0 : r >= 0.5 && r <= 2) ? "yes (within 2×)" : "no (off by " + (m === 0 ? "∞" : r.toPrecision(2)) + "×)";
      } else agree = said === ans ? "yes" : "no";
    }
    a.out.text = "<table class='reveal'><tr><th>your prediction</th><td class='said'>" + (said === null ? "—" : P.esc(said)) + "</td></tr>" +
      "<tr><th>the model</th><td class='model-answer'>" + P.esc(ans) + (number && q.unit[i] ? " " + P.esc(q.unit[i]) : "") + "</td></tr>" +
      "<tr><th>agree?</th><td class='agree'>" + P.esc(agree) + "</td></tr></table>" +
      "<p class='detail'>" + P.esc(q.detail[i]) + "</p><p class='explain'>" + P.esc(q.explain[i]) + "</p>";
  },
};
