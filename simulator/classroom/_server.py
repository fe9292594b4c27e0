"""`plasticity app`: the classroom views served live by a Bokeh server on 127.0.0.1.

A control change looks its setting up in the run cache (filled ahead of time by a worker process with
the settings a class is likely to try next) and pushes two messages: the new curves (the run, its vehicle
and the previous setting in one table, as binary arrays) and the info table (title, gains, cuts). The
browser fits the y ranges, redraws the diagram and writes the text in place; nothing comes back to the
server. Set PLASTICITY_APP_TIMING=1 to print each redraw's server time.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .._errors import PlasticityError
from .._limits import APP_UNUSED_SESSION_S
from ._catalogue import Catalogue, Setting, load_catalogue
from ._guard import Guard
from ._questions import Question, answer, load_questions, quiz_table
from ._runs import RunCache, neighbours
from ._view import View, build, curves_for, dose_options, first_draw, info_for, setting_from

_COMPUTE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plasticity-app-compute")  # cache misses, one at a time


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise PlasticityError(f"--port: expected a port number from 1 to 65535, got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise PlasticityError(f"--port: port {port} on 127.0.0.1 is already in use; choose another with --port") from None


class Session:
    """One browser tab: its controls, what it shows and what it showed before (the ghost)."""

    def __init__(self, doc, cat: Catalogue, qs: list[Question], cache: RunCache):
        self.cat, self.qs, self.cache, self.doc = cat, qs, cache, doc
        self.busy = False
        self.shown: dict | None = None
        self.ghost: dict | None = None  # the bundle drawn as the previous setting
        self.setting: Setting = cat.default
        quiz = quiz_table(qs, cat, self._ready_answers())
        self.view: View = build(cat, quiz, cat.default)
        v = self.view
        for w in (v.compound, v.dose, v.species, v.pretreatment, v.genotype, v.condition):
            w.on_change("value", self._changed)
        v.cuts.on_change("active", self._changed)
        v.q_reveal.on_click(self._reveal)
        v.q_show.on_click(self._show)
        doc.add_root(v.layout)
        doc.title = "plasticity: the feedback loop"
        doc.js_on_event("document_ready", v.ready)
        self.apply(cat.default)
        if self.shown is not None:
            first_draw(v, self.shown, v.info.data, quiz)
        # the first draw: a served page does not report 'document_ready', so the server pokes the page until it answers
        self._kicks = 0
        self._kicker = doc.add_periodic_callback(self._kick, 300)
        v.kick.on_change("name", lambda attr, old, new: self._drawn(doc))

    def _kick(self) -> None:
        self._kicks += 1
        self.view.kick.tags = [self._kicks]

    def _drawn(self, doc) -> None:
        if self._kicker is not None:
            doc.remove_periodic_callback(self._kicker)
            self._kicker = None

    def _ready_answers(self) -> dict[str, dict]:
        out = {}
        for q in self.qs:
            if all(self.cache.cached(s) is not None for s in q.settings()):
                out[q.id] = answer(q, self.cache.get, self.cat)
        return out

    def _changed(self, attr, old, new) -> None:  # noqa: ARG002 - Bokeh's callback signature
        if not self.busy:
            self.apply(setting_from(self.view, self.cat))

    def apply(self, s: Setting) -> None:
        """Show a setting: fix the dose choices, look the run up, push its curves and numbers."""
        start = time.perf_counter()
        v = self.view
        self.busy = True
        try:
            if (s.compound, s.species) != (self.setting.compound, self.setting.species) or v.dose.value != f"{s.dose:g}":
                opts = dose_options(self.cat, s)
                if f"{s.dose:g}" not in [o for o, _ in opts]:
                    try:
                        s = s.with_(dose=self.cat.dosing(s).typical)
                    except PlasticityError:
                        pass
                    opts = dose_options(self.cat, s)
                v.dose.options = opts
                v.dose.value = f"{s.dose:g}"
                try:
                    v.dose.title = f"Dose ({self.cat.dosing(s).unit_label})"
                except PlasticityError:
                    v.dose.title = "Dose"
            for w, val in ((v.compound, s.compound), (v.species, s.species), (v.pretreatment, s.pretreatment), (v.genotype, s.genotype),
                           (v.condition, s.condition)):
                if w.value != val:
                    w.value = val
        finally:
            self.busy = False
        self.setting = s
        b = self.cache.cached(s)
        if b is not None:
            self._draw(s, b, start, "cache")
            return
        # a miss is computed on a thread, never on the event loop: the other tabs keep being served meanwhile
        if self.doc.session_context is None:  # no server (a test building a session by hand): compute here
            self._draw(s, self.cache.get(s), start, "computed")
            return
        from tornado.ioloop import IOLoop

        fut = IOLoop.current().run_in_executor(_COMPUTE, self.cache.get, s)
        fut.add_done_callback(lambda f: self.doc.add_next_tick_callback(lambda: self._computed(s, f, start)))

    def _computed(self, s: Setting, fut, start: float) -> None:
        """Draw a bundle computed off the loop, unless the class has moved on to another setting meanwhile."""
        if s == self.setting and not fut.cancelled() and fut.exception() is None:
            self._draw(s, fut.result(), start, "computed")

    def _draw(self, s: Setting, b: dict, start: float, how: str) -> None:
        v = self.view
        # the page redraws from two messages: the curves (every time course paints once) and the info table last
        if "error" not in b:
            if self.shown is not None and self.shown["key"] != b["key"]:
                self.ghost = self.shown
            v.curves.data = curves_for(b, self.ghost)
        v.info.data = info_for(b, self.shown, s)
        if "error" not in b:
            self.shown = b
        # the next guesses are queued after this callback has returned and its messages have gone to the page
        self.doc.add_next_tick_callback(lambda s=s: self.cache.prefetch(neighbours(self.cat, s)))
        if os.environ.get("PLASTICITY_APP_TIMING"):
            print(f"redraw {s.key}: {1000 * (time.perf_counter() - start):.0f} ms on the server ({how})", file=sys.stderr)

    def _reveal(self) -> None:
        q = next((q for q in self.qs if q.id == self.view.q_select.value), None)
        if q is None:
            return
        src = self.view.quiz
        i = src.data["id"].index(q.id)
        if src.data["answer"][i]:
            return
        if all(self.cache.cached(s) is not None for s in q.settings()) or self.doc.session_context is None:
            self._revealed(q.id, self._answer(q))
            return
        from tornado.ioloop import IOLoop  # runs the answer needs are computed on a thread, like a control's

        fut = IOLoop.current().run_in_executor(_COMPUTE, self._answer, q)
        fut.add_done_callback(lambda f: self.doc.add_next_tick_callback(lambda: self._revealed(q.id, f.result())))

    def _answer(self, q: Question) -> dict:
        try:
            return answer(q, self.cache.get, self.cat)
        except PlasticityError as exc:
            return {"answer": "(no answer)", "detail": str(exc)}

    def _revealed(self, qid: str, a: dict) -> None:
        src = self.view.quiz
        i = src.data["id"].index(qid)
        data = dict(src.data)  # a new table, not a patch: the page's reveal listens for a change of the data
        data["answer"] = [*data["answer"][:i], str(a["answer"]), *data["answer"][i + 1 :]]
        data["detail"] = [*data["detail"][:i], a["detail"], *data["detail"][i + 1 :]]
        src.data = data

    def _show(self) -> None:
        q = next((q for q in self.qs if q.id == self.view.q_select.value), None)
        if q is not None:
            s = q.setting or q.options[0][1]
            self.busy = True
            try:
                from ._catalogue import FEEDBACK

                self.view.cuts.active = [i for i, c in enumerate(FEEDBACK) if c in s.cuts]
            finally:
                self.busy = False
            self.apply(s.with_(clamp=""))


def serve(port: int = 5006, *, open_browser: bool = True, catalogue: str | Path | None = None, questions: str | Path | None = None) -> None:
    """Serve the classroom app on http://127.0.0.1:<port>/ until interrupted."""
    try:
        from bokeh.application import Application
        from bokeh.application.handlers.function import FunctionHandler
        from bokeh.server.server import Server
    except ImportError:
        raise PlasticityError("app: Bokeh is not installed; install the extra with: pip install 'plasticity[app]'") from None
    _check_port(port)
    cat = load_catalogue(catalogue)
    qs = load_questions(cat, questions)
    for name in ("bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("bokeh.server.views.ws").setLevel(logging.ERROR)  # a closed tab is not worth a warning
    cache = RunCache(cat, workers=1)
    print("plasticity app: warming up (the first run compiles the model) ...", flush=True)
    cache.get(cat.default)
    cache.prefetch([s for q in qs for s in q.settings()], replace=False)
    cache.prefetch(neighbours(cat, cat.default))
    app = Application(FunctionHandler(lambda doc: Session(doc, cat, qs, cache)))
    guard = Guard(port)  # Host, Origin and Sec-Fetch-Site on every request, and the session cap: before any session is built
    server = Server({"/": app}, port=port, address="127.0.0.1", allow_websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"],
                    num_procs=1, auth_provider=guard.provider(), unused_session_lifetime_milliseconds=APP_UNUSED_SESSION_S * 1000,
                    check_unused_sessions_milliseconds=APP_UNUSED_SESSION_S * 500)
    guard.sessions = lambda: len(server.get_sessions("/"))
    server.start()
    print(f"plasticity app: serving on http://127.0.0.1:{port}/ (Ctrl+C to stop)", flush=True)
    if open_browser:
        server.io_loop.add_callback(server.show, "/")
    try:  # SIGTERM (kill, a service manager) stops the loop as Ctrl+C would: the worker is shut down, nothing leaks
        server.io_loop.asyncio_loop.add_signal_handler(signal.SIGTERM, server.io_loop.stop)
    except NotImplementedError:  # Windows: no signal handlers on the event loop
        pass
    try:
        server.io_loop.start()
    finally:
        cache.close()
