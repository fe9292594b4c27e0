"""Sweep workers die with their sweep: SIGKILL or SIGTERM of the main process leaves no worker running.

The sweep runs as `plasticity sweep ...` in a subprocess with two worker processes; once both are busy
the test signals the main process and watches the workers' pids (found in /proc by their parent pid).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds workers through /proc")

RUN = "import sys; from simulator.cli import main; sys.exit(main(sys.argv[1:]))"
ARGS = ["sweep", "--dose", "ketamine 10 mg/kg ip", "--vary", "dose:0=1:30", "--design", "lhs", "--n", "4000",
        "--chunk-size", "4", "--hours", "24", "--workers", "2"]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text(encoding="utf-8")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes in a container)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_busy_sweep(out: Path) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen([sys.executable, "-c", RUN, *ARGS, "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    end = time.monotonic() + 120
    while time.monotonic() < end:
        workers = _children(proc.pid)
        if len(workers) >= 2 and any(out.glob("chunk-*.parquet")):  # both started and chunks are flowing
            return proc, workers
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it could be signalled: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the sweep did not start two workers within 120 s")


def _wait_gone(pids: list[int], limit_s: float) -> list[int]:
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        left = [p for p in pids if _running(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if _running(p)]


def test_workers_exit_within_10_s_of_the_parents_sigkill(tmp_path):
    proc, workers = _start_busy_sweep(tmp_path / "s.parquet")
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t0 = time.monotonic()
        left = _wait_gone(workers, 10.0)
        assert not left, f"workers {left} still running 10 s after the sweep's SIGKILL"
        print(f"workers gone {time.monotonic() - t0:.2f} s after SIGKILL")
    finally:
        for p in workers:
            if _running(p):
                os.kill(p, signal.SIGKILL)


def test_sigterm_cleans_up_as_sigint_does(tmp_path):
    out = tmp_path / "s.parquet"
    proc, workers = _start_busy_sweep(out)
    try:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        err = proc.stderr.read()
        assert code == 128 + signal.SIGTERM, err[-2000:]
        assert "Traceback" not in err, err[-2000:]
        assert not (out / "_lock").exists()  # the lock is released: a rerun resumes without a stale-lock detour
        assert not list(out.glob(".*.part"))
        assert not _wait_gone(workers, 10.0)
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in workers:
            if _running(p):
                os.kill(p, signal.SIGKILL)


def test_more_workers_than_cores_is_capped_with_a_warning():
    from simulator.analysis.sweep import _cores, _executor

    with pytest.warns(UserWarning, match=f"using {_cores()}"):
        ex = _executor(None, _cores() + 14, 100)
    ex.close()


def test_cli_says_so_in_one_line_when_it_caps_the_workers(tmp_path):
    from simulator.analysis.sweep import _cores

    argv = ["sweep", "--dose", "ketamine 10 mg/kg ip", "--vary", "dose:0=1:2", "--design", "lhs", "--n", "4", "--chunk-size", "2",
            "--hours", "6", "--workers", str(_cores() + 14)]
    done = subprocess.run([sys.executable, "-c", RUN, *argv], capture_output=True, text=True, encoding="utf-8", timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [ln for ln in done.stderr.splitlines() if "workers:" in ln]
    assert lines == [f"warning: workers: {_cores() + 14} processes on {_cores()} cores would only compete for them "
                     f"(each holds a model and its chunk in memory); using {_cores()}"]
