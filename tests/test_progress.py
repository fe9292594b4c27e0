"""Long work is never silent: validate, lesson, dose_response and sweep show a progress bar where someone watches."""

from __future__ import annotations

import inspect
import subprocess
import sys

import simulator
from simulator._progress import progress_bar, watched


def test_plasticity_validate_shows_progress_before_its_work_is_done():
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "validate"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        first = proc.stderr.read1(4096)
        still_running = proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
    assert b"validate" in first, first
    assert still_running, "the first progress line came only when validate had finished"


def test_a_bar_where_someone_watches_and_not_in_a_test(monkeypatch):
    assert not watched()  # pytest captures stderr: not a terminal, not a notebook
    assert progress_bar(3, desc="x", unit="run").disable
    assert not progress_bar(3, desc="x", unit="run", enabled=True).disable
    monkeypatch.setenv("PLASTICITY_QUIET", "1")
    assert not watched()


def test_every_long_call_takes_progress_and_says_so():
    from simulator.classroom._lesson import write_lesson
    from simulator.validation.targets import validate

    for fn in (simulator.sweep, simulator.dose_response, validate, write_lesson):
        sig = inspect.signature(fn)
        assert sig.parameters["progress"].default is None, fn.__name__
        assert "`progress`" in inspect.getdoc(fn), f"{fn.__name__}'s docstring does not document progress"
