"""Sweeps and virtual populations: many members of one regimen, batched, chunked, resumable.

A sweep's sample (grid, Latin hypercube, Sobol or a log-normal population) over model parameters,
dose multipliers ("dose:0", "dose:ketamine") and dose times ("time:0") is defined, not drawn: each
chunk's rows are computed from the design's definition when the chunk is submitted (design.py), so
no array as long as the sweep is ever allocated. Each chunk runs through the batched engine
(`run_batch`) in a process pool or on Dask, and streams one Parquet file into the output folder.
Re-running the same sweep resumes: finished chunks are skipped, so a killed sweep loses nothing and
duplicates nothing. Above MAX_MEMBERS_IN_MEMORY members the table stays on disk (a pyarrow dataset).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import re
import signal
import sys
import threading
import time
import warnings
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._errors import PlasticityError, UnknownNameError
from .._io import atomic_write, load_json, read_regular
from .._limits import MAX_MEMBERS_IN_MEMORY, MAX_OUTPUT_ROWS, MAX_SAMPLE_VALUES, MAX_TRAJECTORY_BYTES
from .._progress import progress_bar
from .._simulate import DEGENERATE_FRACTION, check_dose_window, setup, time_grid, version
from ..engine.batch import OK, check_readouts, observe_batch, prefer_own_kernel, run_batch
from ..engine.scipy_path import Tolerances
from ..model.compose import Clamp, compose
from ..model.files import load_library
from ..model.regimen import Regimen
from ._fingerprint import Unfingerprintable, fingerprint
from .design import DESIGNS, check_in_memory, check_seed, count, make_design
from .metrics import METRICS, standard_metrics

VEHICLE_DRIFT = 1e-3
"""Relative change of any state over a drug-free run (from the steady state it starts at) that fails a member."""
MANIFEST = "_manifest.json"
LOCK = "_lock"
_CHUNK_KEY = b"plasticity-sweep-key"
_CHUNK_HASH = b"plasticity-sweep-sha256"
_CHUNK_NAME = re.compile(r"chunk-([0-9]+)\.parquet")


@lru_cache(maxsize=1)
def engine_id() -> str:
    """A hash of the simulator's own code: results of another engine version are never resumed."""
    digest = hashlib.sha256(version().encode())
    package = Path(__file__).resolve().parents[1]
    for f in sorted(package.rglob("*.py")):
        digest.update(f.relative_to(package).as_posix().encode() + f.read_bytes())
    return digest.hexdigest()[:12]


# ----------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class _Spec:
    """Everything a worker needs to rebuild the model (picklable, hashable)."""

    regimen: tuple[str, ...]
    species: str
    params: tuple[tuple[str, float], ...]
    genotype: str
    cut: tuple[str, ...]
    scale: tuple[tuple[str, float], ...]
    clamp: tuple[Clamp, ...]
    hours: float
    tol: Tolerances = field(default_factory=Tolerances)
    model_hash: str = ""  # the library the sweep started with; a worker that loads another refuses to run
    condition: str = "none"


def _setup_for(spec: _Spec):
    lib = load_library()
    if spec.model_hash and lib.hash != spec.model_hash:
        raise PlasticityError(f"sweep: the model files in '{lib.root}' changed while the sweep ran "
                              f"(model {spec.model_hash} -> {lib.hash}); rerun it to recompute every member under the new model")
    return _setup_cached(spec, lib.hash)


@lru_cache(maxsize=8)
def _setup_cached(spec: _Spec, model_hash: str):
    return setup(list(spec.regimen), species=spec.species, params=dict(spec.params), genotype=spec.genotype,
                 cut=spec.cut, scale=dict(spec.scale), clamp=spec.clamp, condition=spec.condition)


def _dose_owners(s) -> list[int | None]:
    """For each event of the flat model, the index of the regimen dose it belongs to (None for clamps)."""
    labels = [str(d) for d in s.regimen]
    owners: list[int | None] = []
    open_: dict[str, int] = {}
    for ev in s.flat.events:
        if ev.label.startswith("clamp "):
            owners.append(None)
        elif ev.label in labels:
            k = labels.index(ev.label)
            open_[ev.target] = k
            owners.append(k)
        else:  # end of an infusion, washout of a bath: the dose that opened this input
            owners.append(open_.get(ev.target))
    return owners


def _resolve(s, key: str) -> tuple[str, object]:
    """('param', index) | ('dose', [dose indices]) | ('time', dose index) for a vary/population key."""
    flat = s.flat
    doses = list(s.regimen)
    if key.startswith(("dose:", "time:")):
        kind, what = key.split(":", 1)
        names = [f"{kind}:{i}" for i in range(len(doses))] + [f"{kind}:{d.compound}" for d in doses]
        if what.isdigit() and int(what) < len(doses):
            idx = [int(what)]
        else:
            idx = [i for i, d in enumerate(doses) if d.compound == what]
        if not idx:
            raise UnknownNameError("dose", key, names or ["(the regimen has no doses)"], context="vary")
        if kind == "time":
            if len(idx) != 1:
                raise PlasticityError(f"vary: '{key}' names {len(idx)} doses; use 'time:<index>' to move one dose")
            return "time", idx[0]
        return "dose", idx
    known = [p for p in flat.params if p not in flat.inputs]
    if key not in known:
        raise UnknownNameError("parameter", key, known + [f"dose:{i}" for i in range(len(doses))], context="vary")
    return "param", flat.params.index(key)


def unit_slug(unit: str, route: str = "") -> str:
    """A dose unit as a column-name suffix: 'mg/kg' -> 'mg_per_kg', 'nm' (bath) -> 'nM'."""
    if route == "bath":
        unit = unit.replace("nm", "nM").replace("um", "uM").replace("pm", "pM").replace("mm", "mM")
    return unit.replace("/", "_per_")


def dose_columns(regimen, keys: list[str], resolved: list[tuple[str, object]]) -> list[tuple[tuple[str, str], float]]:
    """For each 'dose:' multiplier, the column of the actual dose it gives: (('dose:0', 'dose:0_mg_per_kg'), 10.0).

    A multiplier of several doses of different amounts or units gets no such column (no one number to show)."""
    doses = list(regimen)
    out = []
    for k, (kind, what) in zip(keys, resolved, strict=True):
        if kind != "dose":
            continue
        picked = {(doses[i].amount, doses[i].unit, doses[i].route) for i in what}
        if len(picked) == 1:
            amount, unit, route = picked.pop()
            out.append(((k, f"{k}_{unit_slug(unit, route)}"), float(amount)))
    return out


# ----------------------------------------------------------------------------- samplers
def sample(
    vary: Mapping[str, Sequence[float] | tuple[float, float]] | None,
    *,
    design: str = "grid",
    n: int | None = None,
    seed: int | None = 0,
    population: Mapping[str, float] | None = None,
    base: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The design's sample: one row per member, one column per varied name.

    grid: lists of values are crossed (a (low, high) range gives `n` evenly spaced points);
    lhs/sobol: (low, high) ranges, `n` points (seeded; Sobol' points are scipy.stats.qmc's); population:
    each name in `population` is its `base` value times a log-normal factor of mean 1 and the given CV
    (seeded). The rows are those a sweep of the same design draws chunk by chunk (simulator/analysis/design.py);
    held in memory, so at most MAX_SAMPLE_VALUES values (members x names).
    """
    d = make_design(vary, design=design, n=n, seed=seed, population=population, base=base)
    check_in_memory(d.n, len(d.names))
    return pd.DataFrame(d.rows(0, d.n), columns=list(d.names))


def parse_vary(text: str) -> tuple[str, tuple[float, float] | list[float]]:
    """'name=low:high' -> (name, (low, high)); 'name=v1,v2' -> (name, [v1, v2])."""
    name, sep, rhs = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        if ":" in rhs:
            lo, hi = rhs.split(":")
            return name.strip(), (float(lo), float(hi))
        return name.strip(), [float(v) for v in rhs.split(",")]
    except ValueError:
        raise PlasticityError(f"--vary: expected NAME=LOW:HIGH or NAME=V1,V2,... such as ketamine_nmda_potency=500:3000, got {text!r}") from None


# ----------------------------------------------------------------------------- one chunk
def _member_inputs(s, keys: list[tuple[str, object]], values: np.ndarray):
    """Parameter matrix, dose scale and dose times for rows of the sample."""
    m = values.shape[0]
    P = np.tile(s.p, (m, 1))
    owners = _dose_owners(s)
    n_ev = len(owners)
    scale = np.ones((m, n_ev))
    base_t = np.array([e.time_h for e in s.flat.events], dtype=float)
    times = np.tile(base_t, (m, 1))
    for c, (kind, what) in enumerate(keys):
        col = values[:, c]
        if kind == "param":
            P[:, what] = col
        elif kind == "dose":
            for e, o in enumerate(owners):
                if o in what:
                    scale[:, e] *= col
        else:
            evs = [e for e, o in enumerate(owners) if o == what]
            first = min(base_t[e] for e in evs)
            for e in evs:
                times[:, e] = col + (base_t[e] - first)
    return P, scale, times


def _run_chunk(spec: _Spec, keys: list[str], values: np.ndarray, start_h: float, metrics: tuple, trajectories: bool):
    """Metrics table (and trajectories) of one chunk; runs in a worker."""
    s = _setup_for(spec)
    resolved = [_resolve(s, k) for k in keys]
    P, scale, ev_times = _member_inputs(s, resolved, values)
    t = time_grid(start_h, spec.hours, None)
    out = run_batch(s, P, t, dose_scale=scale, dose_times=ev_times, tol=spec.tol)
    Y, status = out
    # the vehicle runs: members that differ only in compound parameters share one (see _vehicle_columns)
    _, first, same = np.unique(P[:, _vehicle_columns(s)], axis=0, return_index=True, return_inverse=True)
    same = same.ravel()
    veh = run_batch(s, P[first], t, dose_scale=0.0, dose_times=ev_times[first], tol=spec.tol)
    status = [a if a != OK else (b if b != OK else OK) for a, b in zip(status, [veh[1][k] for k in same], strict=True)]
    obs = observe_batch(s, Y, out.params, out.inputs)
    vobs = {k: v[same] for k, v in observe_batch(s, veh[0], veh.params, veh.inputs).items()}
    # the engine's own check of its answer: readouts finite and non-negative, a vehicle that is a baseline
    check_readouts(obs, t, status, spec.tol)
    check_readouts(vobs, t, status, spec.tol)
    _check_vehicle(s, veh[0], same, vobs, out.params, status)
    failed = [k for k, st in enumerate(status) if st != OK]
    if failed:  # a failed member's metrics are NaN, whatever failed it
        for v in (*obs.values(), *vobs.values()):
            v[failed] = np.nan
    table = {}
    with np.errstate(all="ignore"):
        for fn in metrics:
            table.update(fn(t, obs, vobs))
    table["status"] = status
    traj = None
    if trajectories:
        traj = (t, {k: v.astype(np.float32) for k, v in obs.items()})
    return pd.DataFrame(table), traj


def _check_vehicle(s, Yv: np.ndarray, same: np.ndarray, vobs: dict[str, np.ndarray], params: np.ndarray, status: list[str]) -> None:
    """Fail members whose drug-free run is no baseline, so no '% vs vehicle' is computed against it: one that
    moves away from its steady state without a dose (an unstable steady state; clamps aside, which move it on
    purpose), or one with (almost) no spines (below DEGENERATE_FRACTION of the species' baseline density)."""
    reasons: dict[int, str] = {}
    if not any(ev.label.startswith("clamp ") for ev in s.flat.events):
        y0, y1 = Yv[:, :, 0], Yv[:, :, -1]
        with np.errstate(invalid="ignore"):
            drift = np.abs(y1 - y0) / (np.abs(y0) + 1e-6)
            moved = np.max(drift, axis=1) > VEHICLE_DRIFT  # NaN rows (a failed vehicle) are not flagged: already failed
        for u in np.flatnonzero(moved):
            i = int(np.argmax(drift[u]))
            reasons[int(u)] = (f"failed: the drug-free run leaves its steady state ({s.flat.states[i]} {y0[u, i]:.3g} -> {y1[u, i]:.3g} "
                               "without a dose): an unstable baseline, no vehicle to compare with")
    for k in range(len(status)):
        if status[k] == OK and int(same[k]) in reasons:
            status[k] = reasons[int(same[k])]
    if "spine_density" in vobs and "baseline_spine_density" in s.flat.params:
        base = params[:, s.flat.params.index("baseline_spine_density")]
        with np.errstate(invalid="ignore"):
            low = np.min(vobs["spine_density"], axis=1) < DEGENERATE_FRACTION * base
        for k in np.flatnonzero(low):
            if status[k] == OK:
                v = float(np.min(vobs["spine_density"][k]))
                status[k] = (f"failed: the vehicle run's spine density falls to {v:.3g} spines/um, below {DEGENERATE_FRACTION:.1%} of "
                             f"the species' baseline {base[k]:g}: no spines to compare with")


def _vehicle_columns(s) -> list[int]:
    """Indices of the parameters a drug-free run depends on: those of the vehicle model.

    A compound's own parameters (clearance, potency, absorption) act only through its concentrations,
    which stay 0 without a dose, so a population varying them needs one vehicle run, not one per member."""
    lib = s.library
    vehicle = set(compose(lib, Regimen(), lib.get_species(s.species), s.interventions).params)
    return [j for j, name in enumerate(s.flat.params) if name in vehicle]


# ----------------------------------------------------------------------------- output folder
class _Output:
    """One Parquet file per chunk in a folder, a manifest naming the sweep, and a lock with a pid."""

    def __init__(self, path: str | Path, manifest: dict):
        self.dir = Path(path)
        self.key = manifest["key"]
        self.width = max(6, len(str(manifest["chunks"] - 1)))  # names sort in chunk order (pyarrow reads a folder by name)
        self.provenance = {k: manifest[k] for k in ("key", "version", "engine", "model_hash", "regimen", "species", "design", "seed")}
        if self.dir.exists() and not self.dir.is_dir():
            raise PlasticityError(f"out: '{self.dir}' exists and is a file; a sweep writes a folder of Parquet chunks, choose a new path")
        if not self.dir.parent.exists():
            raise PlasticityError(f"out: folder '{self.dir.parent}' does not exist; create it or choose another path")
        self.dir.mkdir(exist_ok=True)
        self._lock()
        try:
            for part in self.dir.glob(".*.part"):  # temporary files of a writer that was killed (we hold the lock)
                if not part.is_dir() or part.is_symlink():  # a folder under such a name is not a writer's: left alone
                    part.unlink(missing_ok=True)
            for tmp in self.dir.glob(f"{LOCK}.*.tmp"):  # lock candidates of sweeps killed before they took it
                pid = tmp.name.split(".")[1]
                if not (pid.isdigit() and _alive(int(pid))) and (not tmp.is_dir() or tmp.is_symlink()):
                    tmp.unlink(missing_ok=True)
            mpath = self.dir / MANIFEST
            if os.path.lexists(mpath):
                try:
                    old = load_json(mpath, "out")  # a regular file, size- and depth-capped: the folder may have been sent to us
                except PlasticityError as exc:
                    raise PlasticityError(
                        f"out: '{mpath}' is not a valid sweep manifest ({exc}); delete the folder or choose another path"
                    ) from None
                if not isinstance(old, dict) or old.get("sweep") != manifest["sweep"]:
                    raise PlasticityError(
                        f"out: '{self.dir}' holds a different sweep (settings or sample differ); "
                        "delete it or choose another path to start this one"
                    )
                if old.get("key") != manifest["key"]:
                    warnings.warn(f"sweep: the model files or the engine changed since '{self.dir}' was written "
                                  f"(model {old.get('model_hash')} -> {manifest['model_hash']}); recomputing every member", stacklevel=3)
                    atomic_write(mpath, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1, default=str)))
            else:
                atomic_write(mpath, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1, default=str)))
        except BaseException:
            self.release()
            raise

    def _lock(self) -> None:
        lock = self.dir / LOCK
        # the lock appears with its pid already in it (a hard link of a written file is atomic), so a second
        # sweep never reads an empty lock and takes it for a dead one's
        mine = self.dir / f"{LOCK}.{os.getpid()}.tmp"
        _write_new(mine, str(os.getpid()).encode())
        try:
            self._take(lock, mine)
        finally:
            mine.unlink(missing_ok=True)

    def _take(self, lock: Path, mine: Path) -> None:
        for _ in range(2):
            try:
                os.link(mine, lock, follow_symlinks=False)
            except FileExistsError:
                try:
                    text = read_regular(lock, "out", 64)
                except PlasticityError:  # a link, a FIFO, a device: not a lock any sweep wrote
                    raise PlasticityError(f"out: '{lock}' is not a lock file a sweep wrote (not a small regular file); "
                                          "delete it or choose another path") from None
                try:
                    pid = int(text.strip() or 0)
                except ValueError:
                    pid = 0
                if pid and _alive(pid):
                    raise PlasticityError(
                        f"out: another sweep (pid {pid}) is writing to '{self.dir}'; wait for it to finish or choose another path"
                    ) from None
                lock.unlink(missing_ok=True)  # stale: its process is gone
                continue
            return
        raise PlasticityError(f"out: could not take the lock '{lock}'")

    def release(self) -> None:
        (self.dir / LOCK).unlink(missing_ok=True)

    def chunk_path(self, i: int) -> Path:
        return self.dir / f"chunk-{i:0{self.width}d}.parquet"

    def finished(self, n_chunks: int, expected: Callable[[int], tuple[int, np.ndarray]], keys: list[str]) -> np.ndarray:
        """The chunks (sorted indices) that are readable, were written under this sweep's key and hold what the
        manifest says (`_checked`); the rest are recomputed (one warning names how many were unreadable, forged
        or from another sweep or model). Chunk files that
        are not this sweep's (an index beyond it, another sweep's names: its manifest was deleted) are removed,
        so that the folder read as a dataset holds this sweep alone. One pass over the folder, not one look-up
        per chunk; 8 bytes a finished chunk."""
        import pyarrow.parquet as pq

        ok, broken, foreign, stray, forged = array("q"), [], [], [], []
        with os.scandir(self.dir) as entries:
            for entry in entries:
                m = _CHUNK_NAME.fullmatch(entry.name)
                if m is None:
                    continue
                i = int(m.group(1))
                if entry.is_dir(follow_symlinks=False):  # never removed for the user: it may hold anything
                    raise PlasticityError(f"out: '{entry.path}' is a folder where a chunk file belongs; delete it or choose another path")
                if i >= n_chunks or entry.name != self.chunk_path(i).name:
                    stray.append(entry.name)
                    _remove(Path(entry.path))
                    continue
                if not entry.is_file(follow_symlinks=False):  # a link, a FIFO, a folder: never read, never written through
                    _remove(Path(entry.path))
                    broken.append(entry.name)
                    continue
                try:
                    meta = pq.read_schema(entry.path).metadata or {}
                except Exception:  # truncated, empty or junk: pyarrow raises several types
                    broken.append(entry.name)
                    continue
                if meta.get(_CHUNK_KEY, b"").decode(errors="replace") != self.key:
                    foreign.append(entry.name)
                elif _checked(entry.path, meta, *expected(i), keys):
                    ok.append(i)
                else:
                    forged.append(entry.name)
        if broken:
            warnings.warn(f"sweep: {len(broken)} chunk file(s) in '{self.dir}' are unreadable (e.g. '{min(broken)}'); recomputing them",
                          stacklevel=3)
        if foreign:
            warnings.warn(f"sweep: {len(foreign)} chunk file(s) in '{self.dir}' were written by another sweep or model "
                          f"(e.g. '{min(foreign)}'); recomputing them", stacklevel=3)
        if forged:
            warnings.warn(f"sweep: {len(forged)} chunk file(s) in '{self.dir}' do not hold what this sweep wrote (rows, members, "
                          f"sample or content hash differ; e.g. '{min(forged)}'); recomputing them", stacklevel=3)
        if stray:
            warnings.warn(f"sweep: {len(stray)} chunk file(s) in '{self.dir}' were written by another sweep (e.g. '{min(stray)}', "
                          f"beyond this sweep's {n_chunks:,} chunks); removed them", stacklevel=3)
        return np.sort(np.frombuffer(ok, dtype=np.int64)) if ok else np.zeros(0, dtype=np.int64)

    def write(self, i: int, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _CHUNK_KEY: self.key.encode(),
                                               _CHUNK_HASH: _content_hash(df).encode(),
                                               b"plasticity": json.dumps(self.provenance, default=str).encode()})
        atomic_write(self.chunk_path(i), lambda tmp: pq.write_table(table, tmp), clean=False)  # parts cleared in __init__

    def read(self, n_chunks: int) -> pd.DataFrame:
        """The chunks as one table: read as Arrow tables and converted to pandas once (a DataFrame per chunk and their
        concatenation took 4x as long and held the rows twice). A custom metric's column may be whole numbers in one
        chunk and fractions in another: promoted, as pandas' concatenation did."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [pq.read_table(self.chunk_path(i)) for i in range(n_chunks)]
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()

    def dataset(self):
        """The folder as a pyarrow dataset, rows in member order (files sorted by name; `_manifest.json`,
        `_lock` and temporary `.part` files are skipped by pyarrow's default ignore_prefixes)."""
        import pyarrow.dataset as ds

        return ds.dataset(str(self.dir), format="parquet")


def _content_hash(df: pd.DataFrame) -> str:
    """SHA-256 of a chunk's columns (names, types, values): recorded when it is written, checked before a resume uses it."""
    digest = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    for _name, col in df.items():
        values = col.to_numpy()
        if values.dtype == object:
            for v in values:
                b = str(v).encode("utf-8", "surrogatepass")
                digest.update(len(b).to_bytes(8, "little") + b)
        else:
            digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def _checked(path: str, meta: dict, first: int, sample: np.ndarray, keys: list[str]) -> bool:
    """Whether a chunk file holds what this sweep would write there: its row count (read from the footer before
    the rows), members first..first+n-1, the sample's values in the varied columns, and the content hash recorded
    when it was written. A chunk emptied or edited after it was written fails, and is recomputed."""
    import pyarrow.parquet as pq

    try:
        if pq.ParquetFile(path).metadata.num_rows != len(sample):
            return False
        df = pq.read_table(path).to_pandas()
    except Exception:  # a footer that lies about its rows, junk pages: pyarrow raises several types
        return False
    if meta.get(_CHUNK_HASH, b"").decode(errors="replace") != _content_hash(df) or len(df) != len(sample):
        return False
    if "member" not in df or not np.array_equal(df["member"].to_numpy(), np.arange(first, first + len(sample))):
        return False
    return all(k in df and np.array_equal(df[k].to_numpy(dtype=float), sample[:, c], equal_nan=True) for c, k in enumerate(keys))


def _remove(path: Path) -> None:
    """Remove a file, link or FIFO from the locked folder (the entry itself, never what a link points to)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PlasticityError(f"out: cannot remove '{path}' ({exc.strerror}); delete it or choose another path") from None


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` afresh and write `data` (O_CREAT | O_EXCL | O_NOFOLLOW): a link planted under the name is
    removed, never written through, so a received folder cannot point our write at a file outside it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for attempt in range(2):
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            if attempt:
                raise PlasticityError(f"out: cannot create '{path}': something keeps recreating it") from None
            try:
                path.unlink()  # removes the entry itself (a link, a FIFO, a stale file), never its target
            except IsADirectoryError:
                raise PlasticityError(f"out: '{path}' is a folder; delete it or choose another path") from None
            except OSError as exc:
                raise PlasticityError(f"out: cannot remove '{path}' ({exc.strerror}); delete it or choose another path") from None
            continue
        except OSError as exc:
            raise PlasticityError(f"out: cannot create '{path}' ({exc.strerror}); choose a writable path") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------------- execution
def _cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells, else all of them)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def _worker_init(parent: int) -> None:
    """Make a pool worker die with the sweep that started it, however the sweep ends (even kill -9).

    Linux: the kernel sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG). Elsewhere, and as a
    second line: a daemon thread that exits the worker once its parent pid changes (it was reparented)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # forked: not the sweep's handler, which raises SystemExit
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the sweep died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="plasticity-parent-watchdog", daemon=True).start()


def _watch_parent(parent: int, every_s: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(1)


def _sigterm_exits() -> Callable[[], None]:
    """Make SIGTERM end a sweep as SIGINT does: SystemExit(143) unwinds it, so its workers stop and its lock
    is released. Only in the main thread and where nobody else handles SIGTERM; returns the undo."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return lambda: None

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _connect(client_cls, address):
    """A Dask Client for `address`; a bad or unreachable address is a PlasticityError that names it."""
    if not isinstance(address, str) or not address.strip():
        raise PlasticityError(f"scheduler: expected a Dask scheduler address such as 'tcp://host:8786' or a distributed.Client, got {address!r}")
    import socket

    import dask
    from dask.utils import parse_timedelta
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        host, port = parse_host_port(loc) if scheme in ("tcp", "tls") else (None, None)
    except ValueError as exc:
        raise PlasticityError(f"scheduler: '{address}' is not a Dask scheduler address ({exc}); expected e.g. 'tcp://host:8786'") from None
    limit = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="s")
    if host is not None:  # reach it first: a refused connection is then named as such, not a Client's time-out
        try:
            socket.create_connection((host, port), timeout=limit).close()
        except OSError as exc:
            raise PlasticityError(f"scheduler: cannot connect to the Dask scheduler at '{address}' ({exc.strerror or exc}); "
                                  "check that it is running and the host and port") from None
    try:
        return client_cls(address)
    except (OSError, ValueError) as exc:
        raise PlasticityError(f"scheduler: cannot connect to the Dask scheduler at '{address}' ({exc}); "
                              "check that it is running and the host and port") from None


class _Executor(NamedTuple):
    """submit(fn, *args) -> future; next_done(pending) -> one finished future of `pending` (waits for one);
    close(abort); window: how many chunks to keep submitted at once (their rows are drawn at submission)."""

    submit: Callable
    next_done: Callable
    close: Callable
    window: int


def _queued(submit_raw: Callable) -> tuple[Callable, Callable]:
    """submit and next_done over futures that take a done-callback (concurrent.futures, distributed)."""
    done: queue.Queue = queue.Queue()

    def submit(fn, *a):
        fut = submit_raw(fn, *a)
        fut.add_done_callback(done.put)
        return fut

    def next_done(pending):
        while True:
            fut = done.get()
            if fut in pending:
                return fut

    return submit, next_done


def _executor(scheduler, workers: int | None, n_tasks: int) -> _Executor:
    """An _Executor for a local pool, inline, or Dask.

    close(abort=True), on an error or a signal, kills the local workers rather than waiting for their chunks."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise PlasticityError("scheduler: Dask is not installed; pip install 'plasticity[sweep]' (dask[distributed])") from None
        client = scheduler if isinstance(scheduler, Client) else _connect(Client, scheduler)
        own = client is not scheduler
        submit, next_done = _queued(lambda fn, *a: client.submit(fn, *a, pure=False))
        threads = sum((client.nthreads() or {}).values())
        return _Executor(submit, next_done, lambda abort=False: client.close() if own else None, max(64, 4 * threads))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise PlasticityError(f"workers: expected a positive number of processes (or None for one per core), got {workers!r}")
    cores = _cores()
    if workers is not None and workers > cores:
        warnings.warn(f"workers: {workers} processes on {cores} cores would only compete for them (each holds a model "
                      f"and its chunk in memory); using {cores}", stacklevel=3)
    workers = min(workers or cores, cores)
    if workers <= 1 or n_tasks <= 1:
        def submit_inline(fn, *a):
            return _LazyInline(fn, a)

        return _Executor(submit_inline, lambda pending: next(iter(pending)), lambda abort=False: None, 1)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # fork: workers inherit the compiled model, and scripts without a __main__ guard still work
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    workers = min(workers, n_tasks)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))

    def close(abort: bool = False) -> None:
        if abort:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    submit, next_done = _queued(pool.submit)
    return _Executor(submit, next_done, close, 2 * workers)


class _LazyInline:
    """A 'future' that runs its task when asked for the result (the inline executor)."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def result(self):
        return self.fn(*self.args)


def sweep(
    regimen=(),
    *,
    species: str = "mouse",
    vary: Mapping[str, Sequence[float] | tuple[float, float]] | None = None,
    design: str = "grid",
    n: int | None = None,
    seed: int | None = 0,
    population: Mapping[str, float] | None = None,
    metrics: Iterable[str | Callable] | None = None,
    hours: float = 72.0,
    out: str | Path | None = None,
    chunk_size: int = 250,
    scheduler=None,
    workers: int | None = None,
    trajectories: bool = False,
    params: Mapping[str, float] | None = None,
    genotype: str = "wild_type",
    cut: Iterable[str] | str = (),
    scale: Mapping[str, float] | None = None,
    clamp: Iterable[Clamp] | Clamp = (),
    tolerances: Tolerances = Tolerances(),
    progress: bool | None = None,
    model=None,
    condition: str | Sequence[str] = "none",
):
    """Run one regimen over many members; returns a table, one row per member: a DataFrame, or with `out`
    and more than MAX_MEMBERS_IN_MEMORY members (1,000,000) a `pyarrow.dataset.Dataset` over the chunk files.

    Examples:
        >>> sweep("ketamine 10 mg/kg ip", vary={"ketamine_nmda_potency": (500, 3000), "dose:0": (1, 30)},
        ...       design="lhs", n=1000, seed=1, out="sweep.parquet")

    Columns: `member`, the varied names, the metrics (spine change vs vehicle at 24/48/72 h, peaks,
    AUCs, time above baseline, hallucinogenic exposure) and `status` ("ok" or "failed: <reason>").
    `vary` keys: a model parameter, "dose:<i>" / "dose:<compound>" (a multiplier of that dose),
    "time:<i>" (the dose's time in h). `out` (a folder of Parquet chunks) makes the sweep resumable.
    No array as long as the sweep is allocated: each chunk draws its own rows of the sample when it is
    submitted (simulator/analysis/design.py), so with `out` a sweep may have up to MAX_MEMBERS (`10**9`) members. Its
    table is then too large to read back into memory: above MAX_MEMBERS_IN_MEMORY members (or MAX_SAMPLE_VALUES
    varied values) it is returned as a pyarrow Dataset on disk, in member order (`.count_rows()`,
    `.to_batches()`, `.head(n)`, `.to_table(filter=...)`), never read whole.
    `scheduler`: None (local process pool of `workers`), a Dask scheduler address or a Client.
    `progress`: a bar of members done (tqdm.auto: a widget in a notebook, a line on a terminal). None, the default,
    shows it in a notebook or on a terminal and not in a log or a test; True or False forces it.
    `trajectories=True` returns (table, trajectories): an xarray Dataset (member x time) if xarray is
    installed, else a long DataFrame.
    `condition` ("chronic_stress"; models/conditions.toml) starts every member from that condition; a list of
    conditions is a sweep axis (one sweep per condition, rows stacked with a `condition` column; with `out`, one
    folder per condition, `<out>/condition=<name>`); vary={"condition_severity": (0, 1)} grades a condition.
    `model` (from `from_sbml`) sweeps an imported model's parameters instead, on the same batched engine:
    one row per member with each changing column's peak, time of peak and final value.
    """
    if model is not None:
        from ..sbml.batch import sweep_imported

        if regimen or out is not None or scheduler is not None or metrics is not None:
            raise PlasticityError("sweep: with model= give vary/design/n/seed/population/hours/tolerances only "
                                  "(no regimen, out, scheduler or metrics)")
        table = sample(vary, design=design, n=n, seed=seed, population=population, base=model.values)
        return sweep_imported(model, table, hours=hours, tolerances=tolerances, trajectories=trajectories)
    if not isinstance(condition, str):
        return _condition_axis(condition, out, trajectories, dict(
            regimen=regimen, species=species, vary=vary, design=design, n=n, seed=seed, population=population, metrics=metrics,
            hours=hours, chunk_size=chunk_size, scheduler=scheduler, workers=workers, params=params, genotype=genotype,
            cut=cut, scale=scale, clamp=clamp, tolerances=tolerances, progress=progress))
    check_seed(seed)  # the checks that need no model first: a bad --n or --seed is refused at once
    if design in DESIGNS and design != "grid":
        count(n, design)
        if out is None and n > MAX_MEMBERS_IN_MEMORY:
            _too_many_in_memory(n)
    reg = Regimen.coerce(regimen)
    cut_t = (cut,) if isinstance(cut, str) else tuple(cut)
    clamp_t = (clamp,) if isinstance(clamp, Clamp) else tuple(clamp)
    spec = _Spec(tuple(str(d) for d in reg), species, tuple(sorted((params or {}).items())), str(genotype), cut_t,
                 tuple(sorted((scale or {}).items())), clamp_t, float(hours), tolerances)
    spec = replace(spec, model_hash=load_library().hash, condition=load_library().condition(condition).name)
    s = _setup_for(spec)
    time_grid(0.0, hours, None)  # validates hours
    base = dict(zip(s.flat.params, s.p, strict=True))
    keys = list(population or {}) if design == "population" else list(vary or {})
    resolved = [_resolve(s, k) for k in keys]
    base_values = {k: (base[s.flat.params[w]] if kind == "param" else 1.0) for k, (kind, w) in zip(keys, resolved, strict=True)}
    for k, (kind, w) in zip(keys, resolved, strict=True):
        if kind == "time":
            base_values[k] = min(e.time_h for e, o in zip(s.flat.events, _dose_owners(s), strict=True) if o == w)
    # the sample is defined here, not drawn: each chunk computes its own rows when it is submitted
    des = make_design(vary, design=design, n=n, seed=seed, population=population, base=base_values)
    _warn_outside_documented_ranges(s, keys, resolved, des)
    n_members = des.n
    in_memory = _fits_in_memory(n_members, len(keys))
    if out is None and not in_memory:
        if n_members > MAX_MEMBERS_IN_MEMORY:
            _too_many_in_memory(n_members)
        check_in_memory(n_members, len(keys))
    extent = {k: des.extent(c) for c, (k, (kind, _w)) in enumerate(zip(keys, resolved, strict=True)) if kind == "time"}
    moved = {w: (k, extent[k][1]) for k, (kind, w) in zip(keys, resolved, strict=True) if kind == "time"}
    check_dose_window(reg, float(hours), moved=moved)  # a dose after `hours` would be left out of every member unseen
    fns = _metric_functions(metrics)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise PlasticityError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    ev_t = [e.time_h for e in s.flat.events if math.isfinite(e.time_h)]
    start = min([reg.start_h, 0.0, *ev_t, *(lo for lo, _hi in extent.values())])
    dose_cols = dose_columns(reg, keys, resolved)
    _check_output_size(s, keys, resolved, start, float(hours), n_members if trajectories else 0)
    n_chunks = -(-n_members // chunk_size)
    # everything that defines a member's result: model files, engine code, settings (tolerances are in the
    # spec), the design's definition (design, seed, size, ranges, base values, generator version: so another
    # seed or design never matches) and the metrics
    settings = json.dumps([repr(replace(spec, model_hash="")), keys, des.key(), [_metric_id(f, out is not None) for f in fns], start,
                           chunk_size])
    same_sweep = hashlib.sha256(settings.encode()).hexdigest()[:16]
    key = hashlib.sha256(json.dumps([settings, s.library.hash, engine_id()]).encode()).hexdigest()[:16]
    manifest = {"key": key, "sweep": same_sweep, "members": n_members, "chunks": n_chunks, "chunk_size": chunk_size, "version": version(),
                "engine": engine_id(), "model_hash": s.library.hash, "regimen": list(spec.regimen), "species": species,
                "design": design, "seed": des.seed if design != "grid" else seed,
                "vary": {k: (list(v) if not isinstance(v, (int, float)) else v) for k, v in (vary or population or {}).items()}}
    restore_sigterm = _sigterm_exits()
    try:
        output = _Output(out, manifest) if out is not None else None
    except BaseException:
        restore_sigterm()
        raise
    try:
        results: dict[int, pd.DataFrame] = {}
        trajs: dict[int, tuple] = {}
        def expected(i: int) -> tuple[int, np.ndarray]:  # what chunk i holds: its first member and its rows of the sample
            a = i * chunk_size
            return a, des.rows(a, min(a + chunk_size, n_members))

        finished = output.finished(n_chunks, expected, keys) if output is not None else np.zeros(0, dtype=np.int64)
        short = chunk_size * n_chunks - n_members  # members the last chunk lacks
        done_members = len(finished) * chunk_size - (short if len(finished) and finished[-1] == n_chunks - 1 else 0)
        todo = _unfinished(n_chunks, finished)
        prefer_own_kernel(s, n_members - done_members, spec.tol)  # before the pool forks: its workers inherit the choice
        ex = _executor(scheduler, workers, n_chunks - len(finished))
        bar = progress_bar(n_members, desc="sweep", unit="member", enabled=progress, initial=done_members)
        done = False
        try:
            pending: dict = {}

            def fill() -> None:  # keep `window` chunks submitted: rows are drawn for these alone
                while len(pending) < ex.window:
                    i = next(todo, None)
                    if i is None:
                        return
                    a, b = i * chunk_size, min((i + 1) * chunk_size, n_members)
                    rows = des.rows(a, b)
                    pending[ex.submit(_run_chunk, spec, keys, rows, start, tuple(fns), trajectories)] = (i, a, b, rows)

            fill()
            while pending:
                fut = ex.next_done(pending)
                i, a, b, rows = pending.pop(fut)  # drop our reference: a finished chunk must not stay in memory
                df, traj = fut.result()
                del fut
                df.insert(0, "member", np.arange(a, b))
                for c, k in enumerate(keys):
                    df.insert(1 + c, k, rows[:, c])
                for col, amount in dose_cols:  # the actual dose beside its multiplier
                    df.insert(df.columns.get_loc(col[0]) + 1, col[1], amount * rows[:, keys.index(col[0])])
                if output is not None:
                    output.write(i, df)  # the table is read back from disk at the end (or left there), not kept here
                else:
                    results[i] = df
                if traj is not None:
                    trajs[i] = traj
                if bar is not None:
                    bar.update(b - a)
                fill()
            done = True
        finally:
            ex.close(abort=not done)  # an error or a signal: kill the workers rather than wait for their chunks
            if bar is not None:
                bar.close()
        if output is None:
            final = pd.concat([results[i] for i in range(n_chunks)], ignore_index=True)
        elif in_memory:
            final = output.read(n_chunks)
        else:
            final = output.dataset()  # too large to read back: the chunk files, as one dataset on disk
    finally:
        if output is not None:
            output.release()
        restore_sigterm()
    if not trajectories:
        return final
    return final, _trajectory_table(trajs, n_chunks)


def _fits_in_memory(n_members: int, n_names: int) -> bool:
    """Whether a sweep's table is returned as a DataFrame (else, with `out`, as a dataset on disk)."""
    return n_members <= MAX_MEMBERS_IN_MEMORY and n_members * n_names <= MAX_SAMPLE_VALUES


def _unfinished(n_chunks: int, finished: np.ndarray):
    """The chunk indices not in `finished` (sorted), in order, one at a time."""
    j = 0
    for i in range(n_chunks):
        if j < len(finished) and finished[j] == i:
            j += 1
            continue
        yield i


def _condition_axis(conditions: Sequence[str], out, trajectories: bool, kw: dict):
    """Conditions as a sweep axis: the same sweep under each condition, stacked with a `condition` column.

    Tables on disk (more than MAX_MEMBERS_IN_MEMORY members each) are returned as one pyarrow dataset over
    `<out>/condition=<name>` (hive partitioning gives the `condition` column; folders in name order), whose
    `member` numbers count within each condition."""
    names = list(conditions) if isinstance(conditions, (list, tuple)) else None
    if not names or not all(isinstance(c, str) for c in names):
        raise PlasticityError(f"condition: expected a condition name or a non-empty list of names, got {conditions!r}")
    lib = load_library()
    names = [lib.condition(c).name for c in names]  # an unknown name fails before any member runs
    if len(set(names)) != len(names):
        raise PlasticityError(f"condition: {names} names a condition twice")
    tables, trajs = [], []
    for c in names:
        sub = None if out is None else Path(out) / f"condition={c}"
        res = sweep(**kw, out=sub, trajectories=trajectories, condition=c)
        table = res[0] if trajectories else res
        if isinstance(table, pd.DataFrame):
            table.insert(1, "condition", c)
        tables.append(table)
        if trajectories:
            trajs.append(res[1])
    if all(isinstance(t, pd.DataFrame) for t in tables):
        final = pd.concat(tables, ignore_index=True)
        final["member"] = np.arange(len(final))
    else:  # on disk (every condition has the same number of members, so all are)
        import pyarrow.dataset as ds

        final = ds.dataset(str(out), format="parquet", partitioning="hive").filter(ds.field("condition").isin(names))
    if not trajectories:
        return final
    return final, dict(zip(names, trajs, strict=True))


def _warn_outside_documented_ranges(s, keys: list[str], resolved: list, des) -> None:
    """Warn when a design reaches past a parameter's documented range, where the model was never checked.

    A population's share of draws outside the range is exact for its log-normal factors (no draw is made);
    a grid, LHS or Sobol design is judged by its bounds. Wild-type knobs such as `trkb_expression` sit at the
    top of their range, so a CV of 0.3 around them puts about half the draws above it.
    """
    from scipy.stats import norm

    for c, (k, (kind, w)) in enumerate(zip(keys, resolved, strict=True)):
        meta = s.flat.meta.get(s.flat.params[w]) if kind == "param" else None
        if meta is None or meta.range is None:
            continue
        lo, hi = (float(x) for x in meta.range)
        if des.kind == "population":
            sigma, base = float(des.sigma[c]), float(des.base[c])
            if sigma == 0 or base <= 0:
                continue
            mu = math.log(base) - sigma * sigma / 2
            share = (norm.sf((math.log(hi) - mu) / sigma) if hi > 0 else 1.0) + (norm.cdf((math.log(lo) - mu) / sigma) if lo > 0 else 0.0)
            if share > 0.05:
                warnings.warn(f"population: about {share:.0%} of the draws of '{k}' (CV {des.cv[c]:g} around {base:g}) lie outside its "
                              f"documented range [{lo:g}, {hi:g}], where the model has not been checked", UserWarning, stacklevel=3)
            continue
        a, b = des.extent(c)
        if a < lo or b > hi:
            warnings.warn(f"vary: '{k}' goes from {a:g} to {b:g}, beyond its documented range [{lo:g}, {hi:g}], where the model "
                          "has not been checked", UserWarning, stacklevel=3)


def _too_many_in_memory(n: int) -> None:
    raise PlasticityError(f"n: {n:,} members without `out` is above the limit of {MAX_MEMBERS_IN_MEMORY:,} held in memory; "
                          "give out='sweep.parquet' to stream chunks to disk")


def _check_output_size(s, keys: list[str], resolved: list, start: float, hours: float, trajectory_members: int) -> None:
    """Refuse, before any allocation, an output grid (moved dose times widen it) or trajectories too large to hold."""
    from .._simulate import DEFAULT_STEP_H

    rows = (hours - start) / DEFAULT_STEP_H + 1
    times = [k for k, (kind, _) in zip(keys, resolved, strict=True) if kind == "time"]
    if rows > MAX_OUTPUT_ROWS:
        why = f"'{times[0]}' moves a dose to {start:g} h, so " if times else ""
        fix = f"narrow the range of '{times[0]}'" if times else "simulate a shorter span"
        raise PlasticityError(f"vary: {why}the output grid from {start:g} h to {hours:g} h every {DEFAULT_STEP_H:g} h would have "
                              f"{rows:,.0f} rows, above the limit of {MAX_OUTPUT_ROWS:,} rows a member; {fix}")
    size = trajectory_members * int(rows) * len(s.flat.readouts) * 4
    if size > MAX_TRAJECTORY_BYTES:
        raise PlasticityError(f"trajectories: {trajectory_members:,} members x {int(rows):,} times x {len(s.flat.readouts)} readouts "
                              f"would hold {size / 1024**3:.1f} GB in memory, above the limit of {MAX_TRAJECTORY_BYTES / 1024**3:g} GB; "
                              "sweep fewer members at a time, or use the metrics table alone")


def _trajectory_table(trajs: dict[int, tuple], n_chunks: int):
    missing = [i for i in range(n_chunks) if i not in trajs]
    if missing:
        raise PlasticityError("trajectories: chunks finished by an earlier run have no trajectories; rerun with a new `out` path")
    t = trajs[0][0]
    cols = trajs[0][1].keys()
    data = {c: np.concatenate([trajs[i][1][c] for i in range(n_chunks)]) for c in cols}
    members = np.arange(next(iter(data.values())).shape[0])
    try:
        import xarray as xr
    except ImportError:
        long = {"member": np.repeat(members, len(t)), "time_h": np.tile(t, len(members))}
        long.update({c: v.ravel() for c, v in data.items()})
        return pd.DataFrame(long)
    return xr.Dataset({c: (("member", "time_h"), v) for c, v in data.items()}, coords={"member": members, "time_h": t})


def _metric_functions(metrics) -> list[Callable]:
    """Standard metrics (optionally a subset by name) plus user callables f(t, readouts, vehicle) -> {name: array}."""
    if metrics is None:
        return [standard_metrics]
    names, fns = [], []
    for m in metrics:
        if callable(m):
            fns.append(m)
        elif isinstance(m, str):
            if m not in METRICS:
                raise UnknownNameError("metric", m, METRICS, context="metrics")
            names.append(m)
        else:
            raise PlasticityError(f"metrics: expected metric names or callables f(t, readouts, vehicle), got {m!r}")
    if names:
        fns.insert(0, _Subset(tuple(names)))
    return fns


def _metric_id(fn: Callable, resumable: bool) -> str:
    """What identifies a metric in the resume key: its name for ours; for a user's callable, a fingerprint of its
    code, constants, defaults, closure and the globals it names (`_fingerprint`), plus `fn.metric_version` if set.
    A callable we cannot fingerprint is refused in a resumable sweep unless it names its version."""
    if fn is standard_metrics or isinstance(fn, _Subset):
        return fn.__name__
    name = getattr(fn, "__qualname__", type(fn).__qualname__)
    named = getattr(fn, "metric_version", None)
    try:
        return f"{name}:{fingerprint(fn)}" + ("" if named is None else f":{named}")
    except Unfingerprintable as exc:
        if named is not None or not resumable:
            return f"{name}:version={named}"
        raise PlasticityError(f"metrics: cannot tell whether the custom metric '{name}' changed between runs (it depends on "
                              f"{exc}), so its rows in 'out' could not be resumed safely; set {name}.metric_version = '1' "
                              "and change it whenever the function changes") from None


@dataclass(frozen=True)
class _Subset:
    names: tuple[str, ...]

    @property
    def __name__(self) -> str:
        return "standard:" + ",".join(self.names)

    def __call__(self, t, readouts, vehicle):
        full = standard_metrics(t, readouts, vehicle)
        return {k: full[k] for k in self.names if k in full}
