"""Interrupted and concurrent sweeps: SIGKILL at random points, resume, and end with the uninterrupted table.

The kill test runs `plasticity sweep ...` (simulator.cli.main, the entry point's code) in processes
forked from a warm driver, so that twenty kills cost seconds rather than twenty interpreter starts.
The driver is this file run as a script in a fresh interpreter (`python tests/test_resume.py
--drive ...`): it imports and compiles the model once, then for each attempt forks a child in its
own process group, kills the group with SIGKILL at a seeded random point (right after start, part-way
through a chunk, or the moment a chunk's temporary file appears), checks the folder, and starts the
next attempt with the same command. After twenty kills one last attempt runs to the end. The test
then compares the resumed table with an uninterrupted run's, exactly: same members, none lost or
duplicated, the same values bit for bit. The number of kills survived is printed in the terminal
summary (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

KILLS = 20
KET = "ketamine 10 mg/kg ip"
SWEEP_ARGS = [
    "sweep",
    "--dose",
    KET,
    "--vary",
    "ketamine_nmda_potency=500:3000",
    "--vary",
    "dose:0=1:30",
    "--design",
    "lhs",
    "--seed",
    "7",
    "--hours",
    "24",
]
MEMBERS, CHUNK = 60, 2  # 30 chunks; twenty kills let about a dozen through (each at most two, most none or one)
LOCK = "_lock"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs fork and process groups")


def sweep_argv(out: Path, workers: int, members: int = MEMBERS, chunk: int = CHUNK) -> list[str]:
    return [*SWEEP_ARGS, "--n", str(members), "--chunk-size", str(chunk), "--workers", str(workers), "--out", str(out)]


# ------------------------------------------------------------------------------------ the driver
def _chunks(out: Path) -> list[str]:
    try:
        return sorted(n for n in os.listdir(out) if n.startswith("chunk-") and n.endswith(".parquet"))
    except FileNotFoundError:
        return []


def _partials(out: Path) -> list[str]:
    try:
        return [n for n in os.listdir(out) if n.endswith(".part")]
    except FileNotFoundError:
        return []


def _start(argv: list[str], log: Path) -> int:
    pid = os.fork()
    if pid == 0:  # the child: its own process group (pool workers included), output to a log
        try:
            os.setpgid(0, 0)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            from simulator.cli import main

            code = main(argv)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 99
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    try:
        os.setpgid(pid, pid)  # also from the parent, so a kill can never reach the group before it exists
    except (PermissionError, ProcessLookupError):
        pass
    return pid


def _exited(pid: int) -> int | None:
    done, status = os.waitpid(pid, os.WNOHANG)
    return os.waitstatus_to_exitcode(status) if done else None


def _wait_for(pid: int, ready, limit: float, spin: float = 0.002) -> int | None:
    """Poll until ready() or the time limit; returns the child's exit code if it ended on its own first."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        code = _exited(pid)
        if code is not None:
            return code
        if ready():
            return None
        if spin:
            time.sleep(spin)
    return _exited(pid)


def _check_chunks(out: Path, verified: set[str], members: int, chunk: int) -> None:
    """Every chunk file present is complete: readable, the right members, nothing partial under a final name."""
    import pyarrow.parquet as pq

    for name in _chunks(out):
        if name in verified:
            continue
        i = int(name[len("chunk-") : -len(".parquet")])
        got = pq.read_table(out / name).column("member").to_pylist()
        want = list(range(i * chunk, min((i + 1) * chunk, members)))
        assert got == want, f"{name}: members {got}, expected {want}"
        verified.add(name)


def drive(out: Path, seed: int, kills: int, members: int, chunk: int) -> dict:
    """Kill the sweep `kills` times at seeded random points, then let it finish; returns what happened."""
    import simulator

    rng = np.random.default_rng(seed)
    # warm the compiled model and its steady state for this sweep's settings: forked children inherit them
    kw = dict(vary={"ketamine_nmda_potency": (500.0, 3000.0), "dose:0": (1.0, 30.0)}, design="lhs", seed=7, hours=24.0, workers=1)
    simulator.sweep(KET, n=2 * chunk, chunk_size=chunk, **kw)
    t0 = time.monotonic()
    simulator.sweep(KET, n=3 * chunk, chunk_size=chunk, **kw)
    chunk_s = (time.monotonic() - t0) / 3  # a chunk's duration on this machine, to place kills inside chunks

    n_chunks = -(-members // chunk)
    report = {
        "kills": 0,
        "modes": {"start": 0, "chunk": 0, "write": 0},
        "partial_files_left": 0,
        "stale_locks_left": 0,
        "attempts": 0,
        "chunks_before_final": 0,
        "chunks": n_chunks,
        "chunk_s": chunk_s,
    }
    verified: set[str] = set()
    log = out.parent / "attempt.log"
    while report["kills"] < kills:
        report["attempts"] += 1
        mode = str(rng.choice(["start", "chunk", "write"], p=[0.3, 0.45, 0.25]))
        u = float(rng.uniform())
        workers = int(rng.choice([1, 2]))  # resuming with another worker count must not matter
        before = len(_chunks(out))
        pid = _start(sweep_argv(out, workers, members, chunk), log)
        if mode == "start":  # during start-up: lock, manifest, the first chunk
            code = _wait_for(pid, lambda: False, 2 * u * chunk_s)
        elif mode == "chunk":  # part-way through the chunk after the next finished one
            code = _wait_for(pid, lambda b=before: len(_chunks(out)) > b, 30 + 20 * chunk_s)
            if code is None:
                code = _wait_for(pid, lambda: False, u * chunk_s)
        else:  # the moment a chunk's temporary file appears: during the write
            code = _wait_for(pid, lambda: bool(_partials(out)), 30 + 20 * chunk_s, spin=0)
        if code is not None:  # it ended before the kill
            if code != 0:
                raise AssertionError(f"attempt {report['attempts']} exited with {code}:\n{log.read_text(encoding='utf-8')[-3000:]}")
            raise AssertionError(f"the sweep finished after only {report['kills']} kills; give it more members")
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        report["kills"] += 1
        report["modes"][mode] += 1
        report["partial_files_left"] += bool(_partials(out))
        report["stale_locks_left"] += (out / LOCK).exists()
        _check_chunks(out, verified, members, chunk)
    report["chunks_before_final"] = len(_chunks(out))
    pid = _start(sweep_argv(out, 1, members, chunk), log)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise AssertionError(f"the final run exited with {code}:\n{log.read_text(encoding='utf-8')[-3000:]}")
    _check_chunks(out, verified, members, chunk)
    return report


# ------------------------------------------------------------------------------------ the tests
def _read(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out)
    assert df["member"].is_unique, "a member appears twice"
    return df.sort_values("member").reset_index(drop=True)


def test_sweep_killed_twenty_times_ends_with_the_uninterrupted_table(tmp_path, capsys, count_kill):
    from simulator.cli import main

    killed = tmp_path / "killed.parquet"
    # numba's OpenMP layer aborts a process forked after it ran; its workqueue layer resets itself after a fork
    env = {**os.environ, "NUMBA_THREADING_LAYER": os.environ.get("NUMBA_THREADING_LAYER", "workqueue")}
    proc = subprocess.run(
        [sys.executable, __file__, "--drive", str(killed), "--seed", "20240917", "--kills", str(KILLS)],
        capture_output=True,
        text=True, encoding="utf-8",
        timeout=280,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["kills"] == KILLS
    # the kills landed part-way: some chunks were done before the last run, and the last run still had work to do
    assert 0 < report["chunks_before_final"] < report["chunks"], report
    assert report["stale_locks_left"] > 0, "some kill should leave the dead writer's lock for the next run to take over"

    clean = tmp_path / "clean.parquet"
    assert main(sweep_argv(clean, workers=1)) == 0
    capsys.readouterr()
    resumed, uninterrupted = _read(killed), _read(clean)
    assert list(resumed["member"]) == list(range(MEMBERS)), "members lost"
    pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=True)
    assert (resumed["status"] == "ok").all()
    assert sorted(p.name for p in killed.iterdir()) == sorted(p.name for p in clean.iterdir()), "leftover files"
    what = {
        "start": "during start-up (lock, manifest, first chunk)",
        "chunk": "part-way through a chunk",
        "write": "as a chunk file was written",
    }
    for mode, n in report["modes"].items():
        count_kill(f"plasticity sweep killed {what[mode]}", n)
    print(f"\n{report}")


def test_leftovers_of_a_kill_are_ignored_and_cleared(tmp_path):
    """A stale lock (dead pid or empty), a dead lock candidate and a temporary file from a cut write never enter the table."""
    import simulator

    kw = dict(vary={"dose:0": [0.5, 1.0, 2.0, 4.0]}, hours=6, chunk_size=1, workers=1, metrics=["mtorc1_peak_fold"])
    ref = simulator.sweep(KET, **kw)
    out = tmp_path / "s.parquet"
    simulator.sweep(KET, out=out, **kw)
    (out / "chunk-000002.parquet").unlink()
    junk = out / ".chunk-000002.parquet.k1ll3d.part"
    junk.write_bytes(b"PAR1 half a chunk")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, encoding="utf-8", check=True)
    candidate = out / f"{LOCK}.{dead.stdout.strip()}.tmp"  # a lock candidate of a sweep killed before it took the lock
    for lock in (dead.stdout.strip(), ""):
        (out / LOCK).write_text(lock)
        candidate.write_text(dead.stdout.strip())
        pd.testing.assert_frame_equal(pd.read_parquet(out), ref.drop(index=2).reset_index(drop=True))  # the junk is not read
        df = simulator.sweep(KET, out=out, **kw)
        pd.testing.assert_frame_equal(df, ref, check_exact=True)
        assert not (out / LOCK).exists() and not junk.exists() and not candidate.exists()
        (out / "chunk-000002.parquet").unlink()
        junk.write_bytes(b"PAR1 half a chunk")


def test_a_second_sweep_on_the_same_folder_is_refused_while_the_first_runs(tmp_path, capsys):
    """Two real processes: the second is refused with one line naming the first's pid; the first is unharmed."""
    import simulator
    from simulator.cli import main

    out = tmp_path / "shared.parquet"
    argv = sweep_argv(out, workers=1, members=400, chunk=1)  # far longer than this test needs it to run
    first = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None and not _chunks(out):
            time.sleep(0.05)
        assert first.poll() is None and _chunks(out), "the first sweep should be running and writing"
        assert (out / LOCK).read_text(encoding="utf-8").strip() == str(first.pid)

        assert main(argv) == 2  # the same sweep, from a second process
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: out:"), err
        assert f"another sweep (pid {first.pid}) is writing to '{out}'" in err and "choose another path" in err
        with pytest.raises(simulator.PlasticityError, match=f"pid {first.pid}"):  # a different one is refused too
            simulator.sweep(KET, vary={"dose:0": [1.0]}, hours=6, out=out, workers=1)
        assert first.poll() is None and (out / LOCK).read_text(encoding="utf-8").strip() == str(first.pid)
        manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
        assert manifest["members"] == 400 and manifest["regimen"] == [KET]  # the refused sweeps wrote nothing
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    _check_chunks(out, set(), 400, 1)


# ----------------------------------------------------------------------------- what a chunk may be reused for
def _lhs(seed: int = 3) -> dict:
    return dict(vary={"dose:0": (1.0, 30.0)}, design="lhs", n=4, seed=seed, hours=6, chunk_size=1, workers=1, metrics=["mtorc1_peak_fold"])


@pytest.fixture
def models_copy(tmp_path, monkeypatch):
    import shutil

    dst = tmp_path / "models"
    shutil.copytree(Path(__file__).resolve().parent.parent / "models", dst)
    monkeypatch.setenv("PLASTICITY_MODELS", str(dst))
    return dst


def test_a_sweep_resumed_after_a_model_edit_recomputes_every_member(tmp_path, models_copy):
    """Kill (two chunks missing), edit pathway.toml, rerun: every row comes from the new model, none from the old."""
    import re

    import simulator

    out = tmp_path / "s.parquet"
    old = simulator.sweep(KET, out=out, **_lhs())
    for i in (1, 3):
        (out / f"chunk-{i:06d}.parquet").unlink()
    path = models_copy / "pathway.toml"
    text, n = re.subn(r"^(k_glutamate = \{ value = )[0-9.]+", r"\g<1>8.0", path.read_text(encoding="utf-8"), count=1, flags=re.MULTILINE)
    assert n == 1
    path.write_text(text)
    with pytest.warns(UserWarning, match="model files or the engine changed"):
        resumed = simulator.sweep(KET, out=out, **_lhs())
    fresh = simulator.sweep(KET, **_lhs())
    pd.testing.assert_frame_equal(resumed, fresh, check_exact=True)
    assert not np.allclose(resumed["mtorc1_peak_fold"], old["mtorc1_peak_fold"])  # the edit does change the answer
    assert json.loads((out / "_manifest.json").read_text(encoding="utf-8"))["model_hash"] == simulator.load_library().hash


def test_a_deleted_manifest_never_returns_another_seeds_rows(tmp_path):
    import simulator

    out = tmp_path / "s.parquet"
    simulator.sweep(KET, out=out, **_lhs(seed=3))
    (out / "_manifest.json").unlink()
    with pytest.warns(UserWarning, match="written by another sweep or model"):
        other = simulator.sweep(KET, out=out, **_lhs(seed=4))
    pd.testing.assert_frame_equal(other, simulator.sweep(KET, **_lhs(seed=4)), check_exact=True)
    assert json.loads((out / "_manifest.json").read_text(encoding="utf-8"))["seed"] == 4


@pytest.mark.parametrize("junk", [b"", b"PAR1 truncated", b"\x00" * 64])
def test_a_broken_chunk_is_recomputed_with_a_warning(tmp_path, junk):
    import simulator

    out = tmp_path / "s.parquet"
    ref = simulator.sweep(KET, out=out, **_lhs())
    (out / "chunk-000002.parquet").write_bytes(junk)
    with pytest.warns(UserWarning, match="1 chunk file.* unreadable .*chunk-000002.parquet"):
        again = simulator.sweep(KET, out=out, **_lhs())
    pd.testing.assert_frame_equal(again, ref, check_exact=True)


def test_a_corrupt_manifest_is_a_plasticity_error(tmp_path):
    import simulator

    out = tmp_path / "s.parquet"
    simulator.sweep(KET, out=out, **_lhs())
    (out / "_manifest.json").write_text("{not json")
    with pytest.raises(simulator.PlasticityError, match="not a valid sweep manifest"):
        simulator.sweep(KET, out=out, **_lhs())


def test_every_chunk_carries_the_sweep_key_and_provenance(tmp_path):
    import pyarrow.parquet as pq

    import simulator

    out = tmp_path / "s.parquet"
    simulator.sweep(KET, out=out, **_lhs())
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    for chunk in sorted(out.glob("chunk-*.parquet")):
        meta = pq.read_schema(chunk).metadata
        assert meta[b"plasticity-sweep-key"].decode() == manifest["key"]
        prov = json.loads(meta[b"plasticity"])
        assert prov["model_hash"] == manifest["model_hash"] and prov["engine"] == manifest["engine"]


if __name__ == "__main__":  # the driver, in a fresh interpreter
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--drive", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kills", type=int, default=KILLS)
    ap.add_argument("--members", type=int, default=MEMBERS)
    ap.add_argument("--chunk", type=int, default=CHUNK)
    a = ap.parse_args()
    print(json.dumps(drive(a.drive, a.seed, a.kills, a.members, a.chunk)))
