"""How long a control change takes to redraw in `plasticity app`, measured in a real headless Chromium.

Starts the app, lets its worker fill the cache for the neighbourhood of the default setting, then changes the
dose, the pretreatment, the genotype and the condition in turn; each redraw is timed inside the page from the change
event to the frame after the new spine gain appears (the server's lookup, the websocket round trip, the new
curves and the diagram). Prints every time and the median.

    pip install -e ".[app]" && python benchmarks/app_redraw.py [--warm-s 90]
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
  const before = title();
  const opt = [...sel.options].find((o) => o.textContent === label);
  const t0 = performance.now();
  sel.value = opt.value; sel.dispatchEvent(new Event('change', {bubbles: true}));
  while (title() === before) await new Promise((r) => requestAnimationFrame(r));
  await new Promise((r) => requestAnimationFrame(r));
  return performance.now() - t0; }""".replace("FIND", DEEP)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm-s", type=float, default=90, help="seconds to let the prefetch worker fill the cache (default 90)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "app", "--port", str(port), "--no-browser"],
                            env={**os.environ, "PLASTICITY_APP_TIMING": "1"})
    try:
        for _ in range(600):
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
            times = []
            for css, label in steps:
                ms = page.evaluate(TIME_CHANGE, [page.locator(css).first.element_handle(), label])
                times.append(ms)
                print(f"{label:>32}: {ms:6.0f} ms", flush=True)
                time.sleep(1.0)
            b.close()
        print(f"median redraw {statistics.median(times):.0f} ms, max {max(times):.0f} ms over {len(times)} changes")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
