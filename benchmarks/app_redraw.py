"""How long a control change takes to redraw in `plasticity app`, measured in a real headless Chromium.

Starts the app, lets its worker fill the cache for the neighbourhood of the default setting, then changes the
dose, the pretreatment, the genotype and the condition in turn; each redraw is timed inside the page from the change
event to the frame after the page shows all of it: the new setting's title is in the page AND every plot (the eight
time courses and the diagram) has finished every repaint it asked for since the change (BokehJS paints a plot in an
animation frame after its data changed; the benchmark wraps each plot view's request_paint and repaint to see them).
So it counts the server's lookup, the websocket round trip, the new curves, their y ranges and the diagram. Prints
every time, the time at which the title alone had changed (what this benchmark waited for before: a plot could
still be painting then), and the median and maximum.

    pip install -e ".[app]" && python benchmarks/app_redraw.py [--warm-s 90] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
DEEP = """(css) => { const find = (root) => { const hit = root.querySelector(css); if (hit) return hit;
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const h = find(el.shadowRoot); if (h) return h; } return null; };
  return find(document); }"""
TIME_CHANGE = """async ([sel, label]) => {
  const find = FIND;
  const title = () => { const t = find('.setting'); return t ? t.textContent : ''; };
  if (!window.__bench_plots) {  // every plot view: when it last asked for a repaint, when its last repaint began
    window.__bench_plots = [...Bokeh.index.query((v) => typeof v.repaint === 'function' && typeof v.request_paint === 'function'
                                                  && v.canvas_view !== undefined)].map((v) => {
      const st = {req: 0, start: 0, n: 0};
      const rq = v.request_paint.bind(v), rp = v.repaint.bind(v);
      v.request_paint = (...a) => { st.req = performance.now(); return rq(...a); };
      v.repaint = (...a) => { st.start = performance.now(); st.n++; return rp(...a); };
      return st; });
  }
  const plots = window.__bench_plots;
  if (plots.length < 9) throw new Error('expected the diagram and eight time courses, found ' + plots.length + ' plot views');
  const before = title();
  const opt = [...sel.options].find((o) => o.textContent === label);
  for (const p of plots) p.n = 0;
  const t0 = performance.now();
  sel.value = opt.value; sel.dispatchEvent(new Event('change', {bubbles: true}));
  let shown = null;  // when the new title was first seen
  const painting = () => plots.some((p) => p.req > t0 && p.req >= p.start);
  while (true) {
    if (shown === null && title() !== before) shown = performance.now();
    if (shown !== null && !painting()) break;
    if (performance.now() - t0 > 30000) throw new Error('no redraw within 30 s of the change to ' + label);
    await new Promise((r) => requestAnimationFrame(r));
  }
  await new Promise((r) => requestAnimationFrame(r));  // the frame that shows it
  return [performance.now() - t0, shown - t0, plots.reduce((a, p) => a + p.n, 0)]; }""".replace("FIND", DEEP)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm-s", type=float, default=90, help="seconds to let the prefetch worker fill the cache (default 90)")
    ap.add_argument("--rounds", type=int, default=1, help="times to go through the 12 changes (default 1)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "app", "--port", str(port), "--no-browser"],
                            env={**os.environ, "PLASTICITY_APP_TIMING": "1"})
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit(f"plasticity app exited with status {proc.returncode} before serving")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = b.new_page(viewport={"width": 1900, "height": 1200})
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator(".gain-24").wait_for(timeout=120_000)
            print(f"warming the cache for {args.warm_s:g} s ...", flush=True)
            time.sleep(args.warm_s)
            steps = [(".pl-dose select", "20 mg/kg"), (".pl-dose select", "5 mg/kg"), (".pl-dose select", "10 mg/kg (typical)"),
                     (".pl-pretreatment select", "rapamycin (blocks mTORC1)"), (".pl-pretreatment select", "NBQX (blocks AMPA receptors)"),
                     (".pl-pretreatment select", "none"), (".pl-genotype select", "met/met"), (".pl-genotype select", "wild_type"),
                     (".pl-dose select", "30 mg/kg"), (".pl-dose select", "10 mg/kg (typical)"),
                     (".pl-condition select", "chronic stress (3 weeks)"), (".pl-condition select", "none (unstressed)")]
            times, titles, by_control = [], [], {}
            for _ in range(args.rounds):
                for css, label in steps:
                    ms, title_ms, paints = page.evaluate(TIME_CHANGE, [page.locator(css).first.element_handle(), label])
                    times.append(ms)
                    titles.append(title_ms)
                    by_control.setdefault(css.split()[0][4:], []).append(ms)
                    print(f"{label:>32}: {ms:6.0f} ms (title shown at {title_ms:4.0f} ms; {paints} plot repaints)", flush=True)
                    time.sleep(1.0)
            b.close()
        for control, ms in by_control.items():
            print(f"{control:>32}: median {statistics.median(ms):4.0f} ms, max {max(ms):4.0f} ms over {len(ms)} changes")
        print(f"median redraw {statistics.median(times):.0f} ms, max {max(times):.0f} ms over {len(times)} changes "
              f"(title alone: median {statistics.median(titles):.0f} ms, max {max(titles):.0f} ms)")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
