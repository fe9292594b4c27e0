"""Runs for the classroom: one `simulate()` per setting, cut down to what the views draw, cached, and
computed ahead of the class in a second process.

A *bundle* holds, for one setting: the stages over time (sampled densely in the first hours, where the burst
travels round the loop, and hourly later), its vehicle run, the spine gains at 24/48/72 h from
`Result.spine_gain` (exactly what `simulate()` reports) and the numbers the predict-then-reveal questions ask about.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor, wait

import numpy as np

from ._catalogue import GAIN_HOURS, NONE, Catalogue, Setting, load_catalogue
from ._metrics import measure

STAGES = ["glutamate", "ampa", "bdnf", "trkb", "mtorc1", "synaptic_protein"]
COLUMNS = ["t", "drug", *STAGES, "spines", "gain"]
CACHE_SIZE = 600
_VEHICLES: dict[tuple, object] = {}
_VLOCK = threading.Lock()


def sample_times(t: np.ndarray) -> np.ndarray:
    """Indices of the rows the views keep: every row (0.1 h) up to 4 h, every 0.25 h to 8 h, 0.5 h to 24 h, then hourly."""

    def on(x: float, step: float) -> bool:
        return abs(x / step - round(x / step)) < 1e-6

    keep = []
    for i, x in enumerate(t):
        if x <= 4 + 1e-9 or (x <= 8 + 1e-9 and on(x, 0.25)) or (x <= 24 + 1e-9 and on(x, 0.5)) or on(x, 1.0):
            keep.append(i)
    return np.array(keep, dtype=int)


def _vehicle(result, s: Setting):
    """The vehicle run `Result.vehicle` would compute (in the same condition), shared by every setting with the same
    species, genotype, condition, cuts, clamp and times."""
    t = result.timecourse["time_h"].to_numpy()
    key = (s.species, s.genotype, s.condition, s.cuts, s.clamp, float(t[0]), len(t))
    with _VLOCK:
        v = _VEHICLES.get(key)
    if v is None:
        v = result.vehicle
        with _VLOCK:
            _VEHICLES[key] = v
    else:
        result.__dict__["vehicle"] = v  # what the cached property would hold: the same simulate([] ...) call
    return v


def compute(cat: Catalogue, s: Setting) -> dict:
    """Simulate one setting and cut it down to a bundle (plain lists and floats: it pickles and becomes JSON)."""
    import simulator

    kw = cat.simulate_kwargs(s)
    r = simulator.simulate(kw.pop("regimen"), **kw)
    v = _vehicle(r, s)
    tc, vt = r.timecourse, v.timecourse
    t = tc["time_h"].to_numpy()
    pre = None
    if s.pretreatment != NONE:
        pre = simulator.parse_dose(cat.regimen(s)[0]).compound
    brain = [c for c in tc.columns if c.endswith("_brain_nM") and not (pre and c.startswith(f"{pre}_"))]
    total = tc[brain].sum(axis=1).to_numpy() if brain else np.zeros(len(t))
    peak = float(total.max())
    drug = total / peak if peak > 0 else total
    sd, vsd = tc["spine_density"].to_numpy(), vt["spine_density"].to_numpy()
    idx = sample_times(t)
    run = {"t": t[idx], "drug": drug[idx], "spines": (sd / vsd)[idx], "gain": (100 * (sd / vsd - 1))[idx]}
    veh = {"t": t[idx], "drug": np.zeros(len(idx)), "spines": np.ones(len(idx)), "gain": np.zeros(len(idx))}
    for st in STAGES:
        run[st] = tc[st].to_numpy()[idx]
        veh[st] = vt[st].to_numpy()[idx]
    gains = {h: r.spine_gain(h) for h in GAIN_HOURS}
    m = measure(r, v, [c for c in tc.columns if c != "time_h"])
    return {
        "key": s.key,
        "label": cat.describe(s),
        "run": {k: [float(f"{x:.5g}") for x in v_] for k, v_ in run.items()},
        "vehicle": {k: [float(f"{x:.5g}") for x in v_] for k, v_ in veh.items()},
        "gains": {str(h): float(g) for h, g in gains.items()},
        "metrics": {k: float(x) for k, x in m.items()},
    }


def failed(cat: Catalogue, s: Setting, why: str) -> dict:
    """A bundle for a setting that cannot be run: the views show `why` instead of curves."""
    return {"key": s.key, "label": "", "error": why}


def safe_compute(cat: Catalogue, s: Setting) -> dict:
    """`compute`, with a setting the model refuses turned into a bundle that says why."""
    from .._errors import PlasticityError

    why = cat.offered(s)
    if why:
        return failed(cat, s, why)
    try:
        return compute(cat, s)
    except PlasticityError as exc:
        return failed(cat, s, str(exc))


def _worker(catalogue_path: str, settings: list[Setting]) -> list[dict]:
    """Run in the prefetch process: bundles for some settings."""
    cat = load_catalogue(catalogue_path)
    return [safe_compute(cat, s) for s in settings]


class RunCache:
    """Bundles by setting: computed here on a miss, or ahead of time in one worker process (`prefetch`).

    The worker runs the same `simulate()` calls; a second process keeps the server's own thread (and the
    GIL) free, so a control change that hits the cache redraws at once.
    """

    def __init__(self, cat: Catalogue, workers: int = 1):
        self.cat = cat
        self._lock = threading.RLock()  # a cancelled future runs its done-callback (which locks) inside cancel()
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._pending: dict[str, Future] = {}
        self._keep: set[str] = set()  # queued with replace=False: never dropped by a later wave
        self._pool = pool(workers, nice=10) if workers else None  # ahead-of-time work yields to the class's clicks

    def close(self, wait_s: float = 5.0) -> None:
        """Stop the worker: queued runs are dropped, and the runs it is on get `wait_s` to end before it is stopped
        (at its idle priority on a busy machine one run can take minutes, and the app would not exit until it ended)."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        with self._lock:
            running = [f for f in self._pending.values() if f.running()]
        workers = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before Python 3.14
        pool.shutdown(wait=False, cancel_futures=True)
        if wait(running, timeout=wait_s).not_done:
            for w in workers:  # the pool has dropped its cancelled runs by now, so a stopped worker fails only these
                w.terminate()

    def cached(self, s: Setting) -> dict | None:
        with self._lock:
            b = self._cache.get(s.key)
            if b is not None:
                self._cache.move_to_end(s.key)
            return b

    def _store(self, b: dict) -> None:
        with self._lock:
            self._cache[b["key"]] = b
            self._cache.move_to_end(b["key"])
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def get(self, s: Setting) -> dict:
        """The bundle for a setting: from the cache, from the worker if it is on it, else computed here."""
        b = self.cached(s)
        if b is not None:
            return b
        with self._lock:
            fut = self._pending.get(s.key)
        if fut is not None and fut.running():
            try:
                fut.result(timeout=30)
            except Exception:  # noqa: BLE001 - the worker died or was cancelled: compute here instead
                pass
            b = self.cached(s)
            if b is not None:
                return b
        b = safe_compute(self.cat, s)
        self._store(b)
        return b

    def prefetch(self, settings: Iterable[Setting], *, replace: bool = True) -> int:
        """Queue settings for the worker (one task each, in order).

        `replace` drops what earlier replaceable waves left queued (a class that moved on no longer needs it);
        settings queued with replace=False (the questions' runs) stay queued."""
        if self._pool is None:
            return 0
        with self._lock:
            if replace:
                for key, fut in list(self._pending.items()):
                    if key not in self._keep and fut.cancel():
                        self._pending.pop(key, None)  # the done-callback may have removed it already
            todo = [s for s in dict.fromkeys(settings) if s.key not in self._cache and s.key not in self._pending]
        for s in todo:
            try:
                fut = self._pool.submit(_worker, str(self.cat.file), [s])
            except RuntimeError:  # shut down
                return 0
            with self._lock:
                self._pending[s.key] = fut
                if not replace:
                    self._keep.add(s.key)
            fut.add_done_callback(lambda f, key=s.key: self._done(key, f))
        return len(todo)

    def _done(self, key: str, fut: Future) -> None:
        with self._lock:
            self._pending.pop(key, None)
            self._keep.discard(key)
        if fut.cancelled() or fut.exception() is not None:
            return
        for b in fut.result():
            self._store(b)

    def idle(self) -> bool:
        """True when the worker has nothing queued or running."""
        with self._lock:
            return not self._pending


def pool(workers: int, nice: int = 0) -> ProcessPoolExecutor:
    """Spawned worker processes that die with this one, however it ends (the sweep's own guard)."""
    import multiprocessing
    import os

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                               initargs=(os.getpid(), nice))


def _init(parent: int, nice: int) -> None:
    """A worker: dies with its parent; `nice` lowers its priority, so the server and the browser come first.

    With `nice`, on Linux the worker also runs as SCHED_IDLE: it gets a core only when nothing else wants it, so
    computing the next guesses slows the redraw of the change that queued them less (2 cores, the slowest of 36
    redraws: 241-262 ms in three runs beside a nice-10 worker, 215-236 ms in four beside a SCHED_IDLE one). The price: on a machine
    that other work keeps busy, the guesses wait (a change that misses the cache is computed by the server itself)."""
    import os

    from ..analysis.sweep import _worker_init

    _worker_init(parent)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
        if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
            try:
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            except OSError:
                pass


def neighbours(cat: Catalogue, s: Setting) -> list[Setting]:
    """The settings a class is likely to try next from `s`: the next doses, each condition, each pretreatment, each cut, each genotype."""
    out: list[Setting] = []
    try:
        doses = list(cat.dosing(s).doses)
    except Exception:  # noqa: BLE001 - a compound not offered for this species: nothing to guess
        return out
    if s.dose in doses:
        i = doses.index(s.dose)
        out += [s.with_(dose=doses[j]) for j in (i + 1, i - 1, i + 2, i - 2) if 0 <= j < len(doses)]
    out += [s.with_(condition=c) for c in cat.conditions if c != s.condition]
    out += [s.with_(pretreatment=p) for p in [NONE, *cat.pretreatments] if p != s.pretreatment]
    from ._catalogue import FEEDBACK

    for cuts in ((), ("mtorc1_to_bdnf",), ("synaptic_protein_to_ampa",), tuple(FEEDBACK)):
        if tuple(sorted(cuts)) != s.cuts:
            out.append(s.with_(cuts=cuts))
    out += [s.with_(genotype=g) for g in cat.genotypes if g != s.genotype]
    out += [s.with_(compound=c, dose=cat.compounds[c].dosing[s.species].typical) for c in cat.compounds
            if c != s.compound and s.species in cat.compounds[c].dosing]
    return [x for x in out if not cat.offered(x)]
