"""A one-line notice with elapsed time on stderr while something slow happens once (the first kernel compile)."""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

COMPILE_MESSAGE = ("compiling the simulation kernel: once per install and engine version, never per model "
                   "(25-45 s on 2 cores; later processes load it from the disk cache)...")
QUIET_ENV = "PLASTICITY_QUIET"  # set to 1 to silence the notice


@contextmanager
def notice(message: str = COMPILE_MESSAGE, *, every_s: float = 5.0, stream=None):
    """Print `message` on stderr, then the elapsed seconds every `every_s` (in place on a terminal), then 'done in N s'.

    `stage(text)` on the yielded object names the current step, shown with the next update."""
    stream = stream or sys.stderr
    quiet = os.environ.get(QUIET_ENV, "") not in ("", "0")
    state = {"stage": ""}
    tty = hasattr(stream, "isatty") and stream.isatty()
    start = time.perf_counter()
    stop = threading.Event()

    def line(text: str, end: str) -> None:
        try:
            stream.write(("\r" if tty else "") + text + end)
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream never stops the work
            pass

    def tick() -> None:
        while not stop.wait(every_s):
            stage = f" ({state['stage']})" if state["stage"] else ""
            line(f"{message} {time.perf_counter() - start:.0f} s{stage}", "" if tty else "\n")

    class Progress:
        def stage(self, text: str) -> None:
            state["stage"] = text

    if not quiet:
        line(message, "" if tty else "\n")
        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
    try:
        yield Progress()
    finally:
        stop.set()
        if not quiet:
            thread.join()
            line(f"{message} done in {time.perf_counter() - start:.1f} s", "\n")
