"""Output paths: atomic writes replace only regular files, get the umask's mode, and clean up after killed writers."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import pytest

from simulator import PlasticityError
from simulator._io import atomic_write, check_output_path
from simulator.cli import main

posix = pytest.mark.skipif(sys.platform == "win32", reason="device nodes, FIFOs and umask are POSIX")


@posix
@pytest.mark.parametrize("target", ["/dev/null", "/dev/full"])
def test_device_node_is_never_replaced(target):
    before = os.stat(target)
    with pytest.raises(PlasticityError, match="character device, not a regular file"):
        atomic_write(target, lambda tmp: tmp.write_text("x"))
    after = os.stat(target)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@posix
def test_fifo_folder_and_symlink_are_refused(tmp_path):
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    real = tmp_path / "real.csv"
    real.write_text("keep")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    for path, kind in [(fifo, "FIFO"), (tmp_path, "folder"), (link, "symbolic link")]:
        with pytest.raises(PlasticityError, match=kind):
            atomic_write(path, lambda tmp: tmp.write_text("x"))
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink() and real.read_text(encoding="utf-8") == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@posix
@pytest.mark.parametrize("argv", [["simulate", "--dose", "ketamine 10 mg/kg ip", "--plot", "/dev/null"],
                                  ["export", "-o", "/dev/full"]])
def test_cli_refuses_device_before_work(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "character device" in err and "\n" not in err


@posix
def test_mode_follows_umask_and_existing_file(tmp_path):
    old = os.umask(0o027)
    try:
        new = atomic_write(tmp_path / "a.csv", lambda tmp: tmp.write_text("x"))
        assert stat.S_IMODE(os.stat(new).st_mode) == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600
        os.chmod(new, 0o604)
        atomic_write(new, lambda tmp: tmp.write_text("y"))
        assert stat.S_IMODE(os.stat(new).st_mode) == 0o604  # as open(path, "w") keeps an existing file's mode
    finally:
        os.umask(old)


WRITER = """
import sys, time
from simulator._io import atomic_write
def slow(tmp):
    tmp.write_text("partial")
    print("writing", flush=True)
    time.sleep(60)
atomic_write(sys.argv[1], slow)
"""


@posix
def test_part_of_a_killed_writer_is_removed_on_next_write(tmp_path):
    target = tmp_path / "big.csv"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        assert proc.stdout.readline().strip() == "writing"
        parts = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        assert len(parts) == 1 and f".{proc.pid}." in parts[0].name
        atomic_write(tmp_path / "other.csv", lambda tmp: tmp.write_text("x"))  # another path: not ours to clean
        atomic_write(target, lambda tmp: tmp.write_text("x"))  # the writer is alive: its part stays
        assert parts[0].exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert parts[0].exists()  # a killed writer leaves its part behind ...
    atomic_write(target, lambda tmp: tmp.write_text("done"))
    assert not parts[0].exists() and target.read_text(encoding="utf-8") == "done"  # ... and the next write to that path removes it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "other.csv"]


def test_check_output_path_accepts_regular_and_missing(tmp_path):
    (tmp_path / "x.csv").write_text("")
    assert check_output_path(tmp_path / "x.csv") == tmp_path / "x.csv"
    assert check_output_path(tmp_path / "new.csv") == tmp_path / "new.csv"
