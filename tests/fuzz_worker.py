"""A child process that runs input cases under a memory ceiling, for the fuzz and hostile-input tests.

`Worker` (used by tests/test_fuzz_inputs.py and tests/test_hostile_inputs.py) starts
`python tests/fuzz_worker.py <RLIMIT_AS bytes> <models folder>` and sends it one case per line (base64 of
a pickled tuple); the child answers each with (outcome, peak resident memory in bytes, seconds):
("ok", detail) for a result, ("typed", error type, message) for a PlasticityError, ("cli", exit status,
stderr) for a command line, or ("crash" | "memory", traceback) for anything else. The parent enforces the
time limit: a child that does not answer in time is killed and the case reported as a hang.

Cases: ("call", name, args, kwargs) calls simulator.<name>; ("regimen_file", bytes, kwargs) reads the bytes
as a regimen file and simulates it; ("cli", argv) runs the command line; ("with_models", {path: bytes},
case) runs a case against a copy of models/ with those files replaced (PLASTICITY_MODELS); ("sbml", text,
hours) imports and runs a document; ("sweep_folder", plants, kwargs) resumes a finished sweep whose folder
was tampered with (files, links, FIFOs, folders planted) and checks it equals a fresh run and wrote nothing
outside; ("toml_file", loader, bytes) reads a question, catalogue or regimen file.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import pickle
import resource
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent / "models"
MEMORY_CEILING = 3 * 2**30  # RLIMIT_AS: address space, not resident memory (numpy and its threads reserve ~1.5 GB)


class Worker:
    """The parent's handle: run(case, timeout) -> outcome; restarts the child after a hang or a death."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()
        self.peak_rss = 0  # bytes, the child's high-water mark after the last case
        self.seconds = 0.0  # the last case's time inside the child

    def start(self) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore")
        env.pop("PLASTICITY_MODELS", None)
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fuzz_worker.py"), str(MEMORY_CEILING), str(MODELS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env, text=True, encoding="utf-8",
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, case: tuple, timeout: float) -> tuple:
        if self.proc is None:
            self.start()
        proc = self.proc
        proc.stdin.write(base64.b64encode(pickle.dumps(case)).decode() + "\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout=timeout)
        if not ready:
            self.stop()
            return ("hang", f"no answer within {timeout:g} s")
        line = proc.stdout.readline()
        if not line:
            code = proc.wait()
            self.proc = None
            self.log.seek(0)
            return ("died", f"worker exited with {code}: {self.log.read()[-2000:]!r}")
        outcome, self.peak_rss, self.seconds = pickle.loads(base64.b64decode(line))
        return outcome


def main() -> None:
    limit, models = int(sys.argv[1]), Path(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    work = Path(tempfile.mkdtemp(prefix="plasticity-fuzz-"))
    copy = work / "models"
    shutil.copytree(models, copy)
    pristine = {p.relative_to(copy).as_posix(): p.read_bytes() for p in copy.rglob("*.toml")}

    import numpy as np

    import simulator
    from simulator import PlasticityError
    from simulator.cli import main as cli

    def check(result) -> str:
        if not isinstance(result, simulator.Result):
            return type(result).__name__
        values = result.timecourse.drop(columns="time_h").to_numpy()
        times = result.timecourse["time_h"].to_numpy()
        assert len(times) >= 1 and np.all(np.diff(times) >= 0), "output times not increasing"
        return f"{len(times)} rows, finite={bool(np.all(np.isfinite(values)))}"

    def run(case: tuple):
        kind = case[0]
        if kind == "call":
            return check(getattr(simulator, case[1])(*case[2], **case[3]))
        if kind == "regimen_file":
            path = work / "regimen.toml"
            path.write_bytes(case[1])
            return check(simulator.simulate(simulator.Regimen.from_toml(path), **case[2]))
        if kind == "cli":
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = cli(list(case[1]))
            return ("cli", rc, err.getvalue())
        if kind == "with_models":  # {rel: bytes, or ("fifo",) / ("link", target) for a special file}
            for rel, data in case[1].items():
                plant(copy / rel, data)
            os.environ["PLASTICITY_MODELS"] = str(copy)
            try:
                return run(case[2])
            finally:
                os.environ.pop("PLASTICITY_MODELS", None)
                for rel in case[1]:
                    (copy / rel).unlink(missing_ok=True)
                    if rel in pristine:
                        (copy / rel).write_bytes(pristine[rel])
        if kind == "unit":  # ("unit", text): a unit string read as a model file's parameter reads it
            from simulator.model.files import read_param

            return repr(read_param({"value": 1.0, "unit": case[1], "source": "fuzz"}, "fuzz.toml", "k"))
        if kind == "sbml":  # ("sbml", document text, hours)
            return check(simulator.simulate(model=simulator.from_sbml(case[1]), hours=case[2]))
        if kind == "sweep_folder":  # ("sweep_folder", {name: bytes | ("link", target) | ("fifo",) | ("dir",)}, sweep kwargs)
            return sweep_folder(case[1], case[2])
        if kind == "toml_file":  # ("toml_file", loader name, bytes): a question, catalogue or regimen file read as sent
            path = work / "received.toml"
            path.unlink(missing_ok=True)
            path.write_bytes(case[2])
            return type(LOADERS[case[1]](path)).__name__
        raise ValueError(f"unknown case kind {kind!r}")

    def plant(path: Path, what) -> None:
        path.unlink(missing_ok=True)
        if isinstance(what, bytes):
            path.write_bytes(what)
        elif what[0] == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(what[1])

    fresh_sweeps: dict[str, object] = {}

    def sweep_folder(plants: dict, kw: dict) -> str:
        """Resume a finished sweep in a copy of its folder with entries planted or replaced; nothing outside may change."""
        ref_dir = work / f"sweep-ref-{abs(hash(repr(sorted(kw.items()))))}"
        if not ref_dir.exists():
            simulator.sweep(kw["regimen"], **{k: v for k, v in kw.items() if k != "regimen"}, out=ref_dir)
        target = work / "sweep-case"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ref_dir, target)
        victim = work / "victim.txt"
        victim.write_text("precious")
        for name, what in plants.items():
            path = target / name.format(pid=os.getpid())
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            if isinstance(what, bytes):
                path.write_bytes(what)
            elif what[0] == "copy":  # another chunk's file under this name: a valid key and hash, the wrong members
                path.write_bytes((ref_dir / what[1]).read_bytes())
            elif what[0] == "link":
                path.symlink_to(victim if what[1] == "victim" else what[1])
            elif what[0] == "fifo":
                os.mkfifo(path)
            else:
                path.mkdir()
        kw = dict(kw)
        regimen = kw.pop("regimen")
        try:
            table = simulator.sweep(regimen, **kw, out=target)
        finally:
            assert victim.read_text(encoding="utf-8") == "precious", "the sweep wrote through a planted link"
        key = repr(sorted(kw.items()))
        if key not in fresh_sweeps:
            fresh_sweeps[key] = simulator.sweep(regimen, **kw)
        assert table.equals(fresh_sweeps[key]), "a resumed sweep returned rows other than a fresh run's"
        return f"{len(table)} rows"

    from simulator.classroom._catalogue import load_catalogue
    from simulator.classroom._questions import load_questions

    LOADERS = {"questions": lambda path: load_questions(load_catalogue(), path), "catalogue": load_catalogue,
               "regimen": simulator.Regimen.from_toml}

    for line in sys.stdin:
        start = time.perf_counter()
        try:
            detail = run(pickle.loads(base64.b64decode(line)))
            outcome = detail if isinstance(detail, tuple) else ("ok", detail)
        except PlasticityError as exc:
            outcome = ("typed", type(exc).__name__, str(exc))
        except MemoryError:
            outcome = ("memory", traceback.format_exc())
        except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test with it
            outcome = ("crash", traceback.format_exc())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        sys.stdout.write(base64.b64encode(pickle.dumps((outcome, peak, time.perf_counter() - start))).decode() + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
