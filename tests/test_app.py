"""The classroom in a real headless Chromium (Debian's chromium, driven by Playwright; issue 18).

- `plasticity app --port N --no-browser`: change the dose, a pretreatment and a cut and read the 24 h gain off
  the page (it must equal `simulate()`'s to the two decimals shown); move the time slider and see the diagram
  change; play it; answer a predict-then-reveal question and check the reveal; screenshot docs/figures/app.png.
- `plasticity lesson`: open the page from file:// with the network off; a selector changes the values; no request
  leaves the page; the default grid stays under 15 MB.

Outside CI the tests skip when Bokeh, Playwright or /usr/bin/chromium is missing; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
MAX_LESSON_BYTES = 15_000_000


def _need(module: str):
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason="the app extra: pip install -e '.[app]'")


@pytest.fixture(scope="module")
def browser():
    _need("bokeh")
    pw = _need("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _cli() -> list[str]:
    exe = shutil.which("plasticity", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "simulator.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(browser):  # noqa: ARG001 - the browser check comes first: no server without one
    port = _free_port()
    proc = subprocess.Popen([*_cli(), "app", "--port", str(port), "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, encoding="utf-8", env={**os.environ, "PLASTICITY_APP_TIMING": "1"})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"plasticity app did not serve {url}: {proc.stdout.read()[-3000:]}")
        time.sleep(0.5)
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _text(page, css: str) -> str:
    return page.locator(css).first.inner_text().strip()


def _wait_text(page, css: str, pred, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        t = _text(page, css) if page.locator(css).count() else ""
        if pred(t):
            return t
        if time.monotonic() > deadline:
            raise AssertionError(f"{css}: gave up waiting; last text {t!r}")
        time.sleep(0.1)


CONTROLS = (".pl-compound", ".pl-dose", ".pl-species", ".pl-condition", ".pl-pretreatment", ".pl-cuts", ".pl-genotype", ".pl-time",
            ".pl-play", ".pl-range", ".pl-tabs", ".pl-question", ".pl-prompt", ".pl-reveal", ".pl-show", ".pl-reveal-out")
SCREENS = ((1280, 800), (1920, 1080))


def _fits_the_screen(page) -> None:
    """At each screen size: every control and the whole question panel lie inside the window's width (a narrow
    window wraps the question panel below the plots), and nothing scrolls sideways."""
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        for css in CONTROLS:
            box = page.locator(css).first.bounding_box()
            assert box is not None, f"{css} is not shown at {width} px"
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{css} spans {box['x']:.0f}-{box['x'] + box['width']:.0f} px at {width} px"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    tabs, plots = page.locator(".pl-tabs").first.bounding_box(), page.locator(".pl-caption").first.bounding_box()
    assert tabs["y"] < plots["y"] + plots["height"], "at 1,920 px the question panel sits beside the plots"
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(500)
    tabs, plots = page.locator(".pl-tabs").first.bounding_box(), page.locator(".pl-caption").first.bounding_box()
    assert tabs["y"] >= plots["y"] + plots["height"], "at 1,280 px the question panel is below the plots"


def _prints_a_handout(page) -> None:
    """Printed, the page drops its controls and lists every question with room for a prediction, then the panels."""
    assert not page.locator(".pl-handout").first.is_visible()
    page.emulate_media(media="print")
    try:
        assert page.locator(".pl-handout").first.is_visible() and not page.locator(".pl-compound").first.is_visible()
        questions = page.locator(".pl-handout ol.handout li")  # Playwright's selectors reach into Bokeh's shadow roots
        assert questions.count() >= 20 and "My prediction" in questions.first.inner_text()
        assert page.locator(".pl-handout h2").all_inner_texts() == ["Predict, then reveal", "The stages", "What the model cannot tell you"]
    finally:
        page.emulate_media(media="screen")


def _gain24(regimen: list[str], **kw) -> str:
    import simulator

    return f"{simulator.simulate(regimen, species='mouse', hours=72, **kw).spine_gain(24):+.2f} %"


DEVELOPER_WORDS = re.compile(r"\bissues?\b|\bitems?\b|calibrate\.py|\bCI\b|README|scripts/", re.I)


def test_classroom_text_is_written_for_students():
    """What students read (the panels, the questions, the catalogue's names, the plot titles) names no issue, item,
    script or CI run: those belong to the developers' README."""
    from simulator.classroom import _view
    from simulator.classroom._catalogue import load_catalogue
    from simulator.classroom._questions import load_questions
    from simulator.classroom._text import limits_html, panel_text, stages_html

    cat = load_catalogue()
    texts = [limits_html(), stages_html(), *_view.STAGE_TITLES.values(), *cat.conditions.values(),
             *(c.display for c in cat.compounds.values())]
    for q in load_questions(cat):
        texts += [q.prompt, q.explain, *q.labels.values(), *(label for label, _ in q.options)]
    panels = panel_text()
    assert len(panels["limits"]["items"]) >= 5 and len(panels["stages"]["items"]) >= 8
    bad = [(DEVELOPER_WORDS.search(t).group(0), t[:80]) for t in texts if DEVELOPER_WORDS.search(t)]
    assert not bad, bad


def test_cli_app_refuses_a_busy_port_in_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        run = subprocess.run([*_cli(), "app", "--port", str(port), "--no-browser"], capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().count("\n") == 0 and f"port {port}" in run.stderr and "in use" in run.stderr


def test_app_stops_cleanly_on_sigterm():
    """kill (SIGTERM) ends the app like Ctrl+C: exit 0, its worker stopped, no 'leaked semaphore' or other warning."""
    _need("bokeh")
    port = _free_port()
    proc = subprocess.Popen([*_cli(), "app", "--port", str(port), "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the app did not start: {proc.stdout.read()[-2000:]}")
            time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)  # while its worker computes the questions' runs ahead
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the app was still running 60 s after SIGTERM: {proc.communicate()[0][-2000:]}")
    assert proc.returncode == 0, out[-2000:]
    assert not re.search(r"warn|leaked|Traceback|error", out, re.I), out[-2000:]


def test_cli_classroom_errors_are_one_line(tmp_path):
    _need("bokeh")
    bad = tmp_path / "q.toml"
    bad.write_text('[[question]]\nid = "a"\nprompt = "p"\nkind = "compare"\nreadout = "spine_density"\nmetric = "gain_24h"\n'
                   'setting = { compound = "ketamine", cuts = ["mtorc1_to_bndf"] }\nreference = { compound = "ketamine" }\n')
    old = tmp_path / "old.toml"
    old.write_text('[[question]]\nid = "a"\nprompt = "p"\nkind = "number"\nreadout = "spine_density"\nmetric = "spine_gain_24h"\n')
    for extra, words in ((["--compounds", "ketamin"], "Did you mean 'ketamine'"), (["--questions", str(bad)], "mtorc1_to_bdnf"),
                         (["--questions", str(old)], "unknown metric 'spine_gain_24h'"),
                         (["--doses", "one"], "--doses"), (["--cuts", "half"], "unknown cut 'half'"),
                         (["--conditions", "chronic_stres"], "Did you mean 'chronic_stress'"), (["--condition-grid", "all"], "--condition-grid")):
        run = subprocess.run([*_cli(), "lesson", "--out", str(tmp_path / "x.html"), *extra], capture_output=True, text=True, encoding="utf-8", timeout=120)
        assert run.returncode == 2 and run.stderr.startswith("error:") and run.stderr.strip().count("\n") == 0, run.stderr
        assert words in run.stderr, run.stderr
    assert not (tmp_path / "x.html").exists()


def test_live_app_matches_simulate_and_teaches(browser, app_url):
    page = browser.new_page(viewport={"width": 1900, "height": 1200})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url)
    _wait_text(page, ".gain-24", lambda t: t.endswith("%"))
    assert page.locator(".pl-compound select").count() == 1 and page.locator(".pl-time").count() == 1  # a page with controls
    first = _text(page, ".gain-24")
    assert first == _gain24(["ketamine 10 mg/kg ip"])

    # dose, then a pretreatment, then a cut: the page's 24 h gain is simulate()'s, to the shown precision
    page.locator(".pl-dose select").select_option(label="20 mg/kg")
    _wait_text(page, ".setting", lambda t: "20 mg/kg" in t)
    page.locator(".pl-pretreatment select").select_option(label="rapamycin (blocks mTORC1)")
    _wait_text(page, ".setting", lambda t: "rapamycin" in t)
    page.locator(".pl-cuts input").first.check()
    _wait_text(page, ".setting", lambda t: "BDNF cut" in t)
    want = _gain24(["rapamycin 0.2 nmol icv at -30 min", "ketamine 20 mg/kg ip"], cut=["mtorc1_to_bdnf"])
    assert _text(page, ".gain-24") == want
    assert _text(page, ".prev-24").startswith("before:")  # the previous setting is shown beside it

    # back to the intact loop without rapamycin for the diagram: the time slider changes the drawing
    page.locator(".pl-cuts input").first.uncheck()
    page.locator(".pl-pretreatment select").select_option(label="none")
    _wait_text(page, ".setting", lambda t: "rapamycin" not in t and "cut" not in t)
    clock0 = _text(page, ".clock")
    before = page.locator(".pl-diagram canvas").first.screenshot()
    handle = page.locator(".pl-time .noUi-handle").first
    handle.focus()
    for _ in range(60):  # the keyboard moves it (one step each)
        handle.press("ArrowRight")
    clock1 = _wait_text(page, ".clock", lambda t: t != clock0)
    after = page.locator(".pl-diagram canvas").first.screenshot()
    assert clock1 != clock0 and before != after

    # play: the clock moves on by itself
    page.locator(".pl-play button").first.click()
    _wait_text(page, ".clock", lambda t: t != clock1, timeout_s=10)
    page.locator(".pl-play button").first.click()

    # predict, then reveal: ANA-12 before ketamine (mouse)
    options = page.locator(".pl-question select option").all_inner_texts()
    label = next(o for o in options if "ANA-12" in o)
    page.locator(".pl-question select").select_option(label=label)
    _wait_text(page, ".prompt", lambda t: "ANA-12" in t)
    page.locator(".pl-choice button", has_text="less").first.click()
    page.locator(".pl-reveal button").first.click()
    model = _wait_text(page, ".model-answer", lambda t: t not in ("",), timeout_s=120)
    import simulator

    ref = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse").spine_gain(24)
    v = simulator.simulate(["ANA-12 0.5 mg/kg ip at -30 min", "ketamine 10 mg/kg ip"], species="mouse").spine_gain(24)
    expect = "none" if v <= 0.25 * ref else "same" if abs(v - ref) <= 0.1 * abs(ref) else ("more" if v > ref else "less")
    assert model == expect
    assert _text(page, ".said") == "less"
    assert _text(page, ".agree") == ("yes" if expect == "less" else "no")

    # the stage panel and the limits panel are there, in the classroom's own words (text.toml)
    page.locator(".bk-tab", has_text="What the model cannot tell you").first.click()
    assert "tuned on mice and rats" in page.locator("ul.limits").first.inner_text()
    page.locator(".bk-tab", has_text="Predict, then reveal").first.click()

    page.locator(".pl-dose select").select_option(label="10 mg/kg (typical)")
    _wait_text(page, ".setting", lambda t: "10 mg/kg" in t)

    # the condition: chronic stress, against the stressed vehicle, as simulate(condition=...) reports it
    assert page.locator(".pl-condition select option").all_inner_texts() == [
        "none (unstressed)", "chronic stress (3 weeks)", "chronic corticosterone (3 weeks)"]
    unstressed = _text(page, ".gain-24")
    page.locator(".pl-condition select").select_option(label="chronic stress (3 weeks)")
    _wait_text(page, ".setting", lambda t: "chronic stress" in t)
    stressed = _text(page, ".gain-24")
    assert stressed == _gain24(["ketamine 10 mg/kg ip"], condition="chronic_stress") != unstressed
    assert _text(page, ".prev-24") == f"before: {unstressed}"
    page.locator(".pl-condition select").select_option(label="none (unstressed)")
    _wait_text(page, ".setting", lambda t: "chronic" not in t)
    assert _text(page, ".gain-24") == unstressed
    page.screenshot(path=str(ROOT / "docs" / "figures" / "app.png"), full_page=True)
    _fits_the_screen(page)
    assert not errors, errors
    page.close()


def _lesson(tmp: Path, *extra: str) -> Path:
    out = tmp / "lesson.html"
    run = subprocess.run([*_cli(), "lesson", "--out", str(out), *extra], capture_output=True, text=True, encoding="utf-8", timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def test_lesson_page_works_offline_with_no_request(browser, tmp_path):
    out = _lesson(tmp_path, "--compounds", "ketamine", "--doses", "1,3", "--pretreatments", "none,rapamycin", "--cuts", "none,both")
    html = out.read_text(encoding="utf-8")
    assert "(no answer)" not in html  # every shipped question got the model's answer
    assert "<script src=" not in html and 'rel="stylesheet" href' not in html  # every script and style inline
    context = browser.new_context(viewport={"width": 1900, "height": 1200})
    context.set_offline(True)
    requests: list[str] = []

    def route(r):
        requests.append(r.request.url)
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    g0 = _wait_text(page, ".gain-24", lambda t: t.endswith("%"))
    assert g0 == _gain24(["ketamine 10 mg/kg ip"])
    shot = page.screenshot()
    assert len(set(shot[100:5000])) > 20  # not a blank page

    page.locator(".pl-dose select").select_option(label="30 mg/kg")
    want = _gain24(["ketamine 30 mg/kg ip"])  # waited for as such: on the inverted U, 30 mg/kg can give 10's gain
    g1 = _wait_text(page, ".gain-24", lambda t: t == want and "30 mg/kg" in _text(page, ".setting"))
    page.locator(".pl-pretreatment select").select_option(label="rapamycin (blocks mTORC1)")
    g2 = _wait_text(page, ".gain-24", lambda t: t != g1)
    assert g2 == _gain24(["rapamycin 0.2 nmol icv at -30 min", "ketamine 30 mg/kg ip"])

    # the condition selector: chronic stress is in the page at the typical dose (against the stressed vehicle) ...
    page.locator(".pl-pretreatment select").select_option(label="none")
    page.locator(".pl-dose select").select_option(index=0)  # 10 mg/kg (the labels gain the route once the page relabels them)
    assert _wait_text(page, ".gain-24", lambda t: t == g0) == g0
    page.locator(".pl-condition select").select_option(label="chronic stress (3 weeks)")
    g3 = _wait_text(page, ".gain-24", lambda t: t != g0)
    assert g3 == _gain24(["ketamine 10 mg/kg ip"], condition="chronic_stress")
    assert "chronic stress" in _text(page, ".setting")
    page.locator(".pl-condition select").select_option(label="chronic corticosterone (3 weeks)")
    assert _wait_text(page, ".setting", lambda t: "corticosterone" in t)
    assert _text(page, ".gain-24") == _gain24(["ketamine 10 mg/kg ip"], condition="chronic_corticosterone")
    # ... and not at 3 x the dose (the default condition grid): the page says so
    page.locator(".pl-dose select").select_option(index=1)  # 30 mg/kg
    assert "typical dose" in _wait_text(page, ".error", lambda t: "not precomputed" in t)
    page.locator(".pl-condition select").select_option(label="none (unstressed)")
    assert _wait_text(page, ".gain-24", lambda t: t == g1) == g1

    # a question's answer is in the page
    page.locator(".pl-reveal button").first.click()
    assert _wait_text(page, ".model-answer", lambda t: t != "")
    _fits_the_screen(page)
    _prints_a_handout(page)
    assert not errors, errors
    assert [u for u in requests if not u.startswith("file://")] == []
    context.close()


def test_lesson_grid_puts_conditions_at_the_typical_dose_by_default():
    from simulator.classroom._catalogue import load_catalogue
    from simulator.classroom._lesson import _grid

    cat = load_catalogue()
    small = _grid(cat, ["ketamine", "psilocybin"], [0.3, 1, 3], ["mouse"], None, None, None)
    stressed = [s for s in small if s.condition != "none"]
    unstressed = [s for s in small if s.condition == "none"]
    assert {s.condition for s in stressed} == {"chronic_stress", "chronic_corticosterone"}
    assert all(s.dose == cat.dosing(s).typical and s.cuts == () and s.genotype == "wild_type" for s in stressed)
    pairs = {(s.compound, s.pretreatment) for s in unstressed}
    assert len(stressed) == 2 * len(pairs) and len(unstressed) == 3 * 4 * len(pairs)
    full = _grid(cat, ["ketamine"], [1, 3], ["mouse"], ["none"], ["none"], None, ["none", "chronic_stress"], "full")
    assert sorted((s.dose, s.condition) for s in full) == [(10, "chronic_stress"), (10, "none"), (30, "chronic_stress"), (30, "none")]


@pytest.mark.slow
@pytest.mark.timeout(900)  # a hang guard: the default grid takes minutes when the 2 cores are shared
def test_default_lesson_grid_is_under_15_mb(tmp_path):
    _need("bokeh")
    out = _lesson(tmp_path)
    size = out.stat().st_size
    print(f"\ndefault lesson grid: {size / 1e6:.1f} MB")
    assert 1_000_000 < size < MAX_LESSON_BYTES
