"""A sweep's sample, member by member: any rows of a design from its definition alone.

`Design.rows(start, stop)` returns members `start` to `stop - 1` (one column per varied name) from the
design, its seed, its size and its ranges, never from an array of the whole sample. A sweep draws each
chunk's rows when it submits the chunk, so a sweep of 10**9 members holds one chunk's sample at a
time; `sample()` is the same generator over every member, so both give the same rows.

grid        member i is np.unravel_index(i, axis lengths): the last name varies fastest (the order of
            itertools.product). A (low, high) range is `n` points spaced as np.linspace(low, high, n),
            computed at the index.
sobol       scrambled Sobol' points of scipy.stats.qmc.Sobol (its direction numbers and its seeded
            linear matrix scramble and digital shift), point i computed directly from the Gray code of i
            (the XOR of the direction numbers of its set bits, as scipy's own recurrence builds it), so
            a chunk costs its own rows, not the points before it. Equal to Sobol(...).random(n).
lhs         a streaming Latin hypercube: for each name a seeded permutation of [0, n) (a Feistel network
            on the next even power of two, cycle-walking back into [0, n)), member i in stratum perm(i)
            at a uniform offset u in it: (perm(i) + u) / n. Each name has exactly one member in each of
            its n strata, as in any Latin hypercube.
population  each name is its base value times a log-normal factor of mean 1 and the given CV.

Uniform offsets (lhs) and log-normal factors (population) are drawn in blocks of BLOCK members, block
b from np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, b))): a member's values
depend on the seed and its index alone, not on the chunk size, the chunk it is in or the order chunks
run. SAMPLER_VERSION names this scheme in a sweep's resume key; change it with the scheme.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

from .._errors import PlasticityError, UnknownNameError
from .._limits import MAX_MEMBERS, MAX_SAMPLE_VALUES

DESIGNS = ("grid", "lhs", "sobol", "population")
SAMPLER_VERSION = 1
"""The generator scheme: part of a sweep's resume key, so a new scheme never reuses an old sweep's chunks."""
BLOCK = 4096
"""Members per block of random draws (lhs offsets, population factors)."""
_ROUNDS = 8  # Feistel rounds of the lhs permutations
_UNIFORM, _PERMUTATION, _POPULATION, _SOBOL = 1, 2, 3, 4  # spawn keys: independent streams of one seed
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64's finaliser


def is_range(v) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, (int, float, np.floating)) for x in v)


def check_seed(seed) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise PlasticityError(f"seed: expected a non-negative integer (or None for a fresh random sample), got {seed!r}")


def count(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PlasticityError(f"n: {what} needs a positive integer number of members, got {n!r}")
    if n > MAX_MEMBERS:
        raise PlasticityError(
            f"n: {n:,} members is above the limit of {MAX_MEMBERS:,} members a sweep; split it into several sweeps, each with its own `out`"
        )
    return int(n)


def check_in_memory(n: int, d: int) -> None:
    """Refuse a sample (or a returned table) of more than MAX_SAMPLE_VALUES values held in memory at once."""
    if n * d > MAX_SAMPLE_VALUES:
        raise PlasticityError(
            f"vary: {n:,} members x {d} varied names = {n * d:,} sampled values ({n * d * 8 / 1e9:.1f} GB), above "
            f"the limit of {MAX_SAMPLE_VALUES:,} values held in memory at once; vary fewer names or draw fewer "
            "members, or give the sweep an `out` folder (its chunks draw their own rows)"
        )


def check_finite(name: str, values: np.ndarray) -> None:
    """A NaN or infinite value in `vary` is refused here: a NaN dose time would otherwise fall back to the regimen's."""
    bad = values[~np.isfinite(values)]
    if bad.size:
        raise PlasticityError(f"vary: '{name}' has a non-finite value ({float(bad[0])!r}); expected finite numbers")


class Design:
    """A sample's definition: its rows are computed on demand (`rows`), never stored."""

    def __init__(
        self,
        kind: str,
        names: Sequence[str],
        n: int,
        seed: int,
        *,
        axes: Sequence = (),
        lo: Sequence[float] = (),
        hi: Sequence[float] = (),
        cv: Sequence[float] = (),
        base: Sequence[float] = (),
    ):
        self.kind, self.names, self.n, self.seed = kind, tuple(names), int(n), int(seed)
        self.axes = tuple(axes)  # grid: an array of values, or (low, high, count) for a range
        self.shape = tuple(len(a) if isinstance(a, np.ndarray) else a[2] for a in self.axes)
        self.lo, self.hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self.cv, self.base = np.asarray(cv, dtype=float), np.asarray(base, dtype=float)
        self.sigma = np.sqrt(np.log1p(self.cv * self.cv))
        self._tables: tuple | None = None  # sobol: (direction numbers, shift, scale) or (None,)
        self._keys: list | None = None  # lhs: the round keys of each name's permutation

    def __len__(self) -> int:
        return self.n

    # ---------------------------------------------------------------- rows
    def rows(self, start: int, stop: int) -> np.ndarray:
        """Members start .. stop - 1: an array (stop - start, len(names)) of float64."""
        if not 0 <= start <= stop <= self.n:
            raise ValueError(f"rows {start}:{stop} outside the design's {self.n} members")
        if start == stop:
            return np.zeros((0, len(self.names)))
        return getattr(self, f"_{self.kind}")(start, stop)

    def _grid(self, start: int, stop: int) -> np.ndarray:
        subs = np.unravel_index(np.arange(start, stop, dtype=np.int64), self.shape)
        out = np.empty((stop - start, len(self.axes)))
        for c, (axis, j) in enumerate(zip(self.axes, subs, strict=True)):
            out[:, c] = axis[j] if isinstance(axis, np.ndarray) else linspace_at(*axis, j)
        return out

    def _sobol_tables(self):
        """(direction numbers (d, bits), shift (d,), scale) of the seeded scrambled engine, or None where this
        scipy keeps them elsewhere (the rows then come from the engine's public fast_forward, slower)."""
        if self._tables is None:
            engine = _sobol_engine(len(self.names), self.seed)
            tables = None
            sv, shift, scale = getattr(engine, "_sv", None), getattr(engine, "_shift", None), getattr(engine, "_scale", None)
            if isinstance(sv, np.ndarray) and isinstance(shift, np.ndarray) and sv.ndim == 2 and sv.shape[0] == len(self.names):
                tables = (sv.copy(), shift.copy(), float(scale))
                if not np.array_equal(_sobol_points(*tables, 0, 8), engine.random(8)):
                    tables = None  # not the construction this module assumes: use the engine itself
            self._tables = (tables,)
        return self._tables[0]

    def _sobol_unit(self, start: int, stop: int) -> np.ndarray:
        tables = self._sobol_tables()
        if tables is not None:
            return _sobol_points(*tables, start, stop)
        engine = _sobol_engine(len(self.names), self.seed)
        if start:
            engine.fast_forward(start)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance properties want n = 2**k; any n is still a valid sample
            return engine.random(stop - start)

    def _sobol(self, start: int, stop: int) -> np.ndarray:
        return self.lo + self._sobol_unit(start, stop) * (self.hi - self.lo)

    def _lhs(self, start: int, stop: int) -> np.ndarray:
        if self._keys is None:
            self._keys = [
                np.random.SeedSequence(self.seed, spawn_key=(_PERMUTATION, c)).generate_state(_ROUNDS, np.uint64)
                for c in range(len(self.names))
            ]
        idx = np.arange(start, stop, dtype=np.uint64)
        strata = np.stack([permute(idx, self.n, k) for k in self._keys], axis=1).astype(float)
        u = self._blocks(_UNIFORM, start, stop, lambda rng, m: rng.random((m, len(self.names))))
        return self.lo + (strata + u) / self.n * (self.hi - self.lo)

    def _population(self, start: int, stop: int) -> np.ndarray:
        mu = -0.5 * self.sigma * self.sigma
        return self.base * self._blocks(_POPULATION, start, stop, lambda rng, m: rng.lognormal(mu, self.sigma, (m, len(self.names))))

    def _blocks(self, stream: int, start: int, stop: int, draw) -> np.ndarray:
        """Rows start .. stop - 1 of a per-block random stream: block b is drawn from its own generator, and a
        chunk that starts inside a block draws that block's rows up to its own (the same numbers, in order)."""
        out = np.empty((stop - start, len(self.names)))
        for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
            first = b * BLOCK
            a, e = max(start, first), min(stop, first + BLOCK)
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(stream, b)))
            out[a - start : e - start] = draw(rng, e - first)[a - first :]
        return out

    # ---------------------------------------------------------------- what a sweep needs without the rows
    def extent(self, c: int) -> tuple[float, float]:
        """(min, max) of column c over every member (exact for grid and population; the range for lhs and sobol)."""
        if self.kind == "grid":
            axis = self.axes[c]
            if isinstance(axis, np.ndarray):
                return float(np.min(axis)), float(np.max(axis))
            return float(min(axis[0], axis[1])), float(max(axis[0], axis[1]))
        if self.kind in ("lhs", "sobol"):
            return float(self.lo[c]), float(self.hi[c])
        lo, hi = math.inf, -math.inf  # population: unbounded factors, so scan every member, a block at a time
        for a in range(0, self.n, 16 * BLOCK):
            col = self.rows(a, min(a + 16 * BLOCK, self.n))[:, c]
            lo, hi = min(lo, float(col.min())), max(hi, float(col.max()))
        return lo, hi

    def definition(self) -> dict:
        """Everything the rows depend on: two designs with the same definition give the same rows."""
        d: dict = {"sampler": SAMPLER_VERSION, "design": self.kind, "names": list(self.names), "members": self.n}
        if self.kind == "grid":  # no seed: a grid is the same whatever the seed
            d["axes"] = [
                {"values": hashlib.sha256(np.ascontiguousarray(a, dtype=float).tobytes()).hexdigest(), "count": len(a)}
                if isinstance(a, np.ndarray)
                else {"range": [float(a[0]), float(a[1])], "count": int(a[2])}
                for a in self.axes
            ]
            return d
        d.update(seed=self.seed, numpy=np.__version__)
        if self.kind == "population":
            d.update(cv=self.cv.tolist(), base=self.base.tolist())
        else:
            d.update(low=self.lo.tolist(), high=self.hi.tolist())
        if self.kind == "sobol":
            import scipy

            d["scipy"] = scipy.__version__
        return d

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.definition(), sort_keys=True).encode()).hexdigest()


def make_design(
    vary: Mapping[str, Sequence[float] | tuple[float, float]] | None,
    *,
    design: str = "grid",
    n: int | None = None,
    seed: int | None = 0,
    population: Mapping[str, float] | None = None,
    base: Mapping[str, float] | None = None,
) -> Design:
    """Check a design's inputs and return its definition; nothing as long as the sample is allocated."""
    vary = dict(vary or {})
    if design not in DESIGNS:
        raise UnknownNameError("design", design, DESIGNS, context="design")
    check_seed(seed)
    seed = int(np.random.SeedSequence().entropy) if seed is None else int(seed)  # None: a fresh seed, drawn once
    if design == "population":
        if not population:
            raise PlasticityError("population: design='population' needs population={parameter: cv}, e.g. {'trkb_total': 0.3}")
        if vary:
            raise PlasticityError("vary: design='population' draws from `population` only; leave vary empty")
        n = count(n, "population")
        for name, cv in population.items():
            if not (isinstance(cv, (int, float)) and math.isfinite(cv) and cv >= 0):
                raise PlasticityError(f"population: CV of '{name}' must be a finite number >= 0, got {cv!r}")
        return Design(
            "population",
            list(population),
            n,
            seed,
            cv=list(population.values()),
            base=[float((base or {}).get(k, 1.0)) for k in population],
        )
    if not vary:
        raise PlasticityError("vary: nothing to vary; give vary={name: [values]} or {name: (low, high)}")
    if design == "grid":
        axes: list = []
        for name, v in vary.items():
            if is_range(v):
                lo, hi = float(v[0]), float(v[1])
                check_finite(name, np.array([lo, hi]))
                axes.append((lo, hi, count(n, "grid ranges")))
                continue
            try:
                vals = np.atleast_1d(np.asarray(v, dtype=float))
            except (TypeError, ValueError):
                vals = np.empty((0, 0))
            if vals.ndim != 1 or len(vals) == 0:
                raise PlasticityError(f"vary: '{name}' expected a list of values or a (low, high) range, got {v!r}")
            check_finite(name, vals)
            axes.append(vals)
        sizes = [len(a) if isinstance(a, np.ndarray) else a[2] for a in axes]
        total = math.prod(sizes)
        if total > MAX_MEMBERS:
            raise PlasticityError(
                f"vary: the grid crosses {' x '.join(f'{s:,}' for s in sizes)} values = {total:,} members, above "
                f"the limit of {MAX_MEMBERS:,} members a sweep; give fewer values, or design='lhs' with a smaller n"
            )
        return Design("grid", list(vary), total, seed, axes=axes)
    for name, v in vary.items():
        if not is_range(v) or not v[0] <= v[1]:
            raise PlasticityError(f"vary: design='{design}' needs a (low, high) range for '{name}', got {v!r}")
        check_finite(name, np.asarray(v, dtype=float))
    n = count(n, design)
    return Design(design, list(vary), n, seed, lo=[float(v[0]) for v in vary.values()], hi=[float(v[1]) for v in vary.values()])


# ----------------------------------------------------------------------------- the pieces
def linspace_at(lo: float, hi: float, num: int, j: np.ndarray) -> np.ndarray:
    """np.linspace(lo, hi, num)[j], computed as numpy computes it, without the other points."""
    y = j.astype(float)
    delta = hi - lo
    if num > 1:
        step = delta / (num - 1)
        y = y / (num - 1) * delta if step == 0 else y * step
    else:
        y = y * delta
    y = y + lo
    if num > 1:
        y[j == num - 1] = hi
    return y


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective, well-mixing map of uint64 (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def permute(idx: np.ndarray, n: int, keys: np.ndarray) -> np.ndarray:
    """A seeded bijection of [0, n), at the indices `idx` (uint64): a Feistel network on [0, 4**h) with
    4**h >= n and keyed round functions, applied again to any value >= n (cycle walking) until it falls in
    [0, n). Each walk follows the network's cycle from an index in [0, n) to the next one, so the map is a
    permutation of [0, n); 4**h < 4 n, so a walk takes fewer than four steps on average."""
    half = max(1, -(-max(n - 1, 1).bit_length() // 2))
    mask, shift = np.uint64((1 << half) - 1), np.uint64(half)
    limit = np.uint64(n)

    def once(x: np.ndarray) -> np.ndarray:
        left, right = x >> shift, x & mask
        for k in keys:
            left, right = right, left ^ (_mix(right ^ k) & mask)
        return (left << shift) | right

    with np.errstate(over="ignore"):
        y = once(idx)
        out = y >= limit
        while out.any():
            y[out] = once(y[out])
            out[out] = y[out] >= limit
    return y


def _sobol_engine(d: int, seed: int):
    from scipy.stats import qmc

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SOBOL,)))
    try:
        return qmc.Sobol(d, scramble=True, rng=rng)
    except TypeError:  # scipy < 1.15 names it seed
        return qmc.Sobol(d, scramble=True, seed=rng)


def _sobol_points(sv: np.ndarray, shift: np.ndarray, scale: float, start: int, stop: int) -> np.ndarray:
    """Points start .. stop - 1 of the scrambled sequence: shift XOR the direction numbers of the set bits of gray(i)."""
    if stop > 1 << sv.shape[1]:
        raise ValueError(f"a Sobol' sequence of {sv.shape[1]} bits has {1 << sv.shape[1]} points, not {stop}")
    idx = np.arange(start, stop, dtype=np.uint64)
    gray = idx ^ (idx >> np.uint64(1))
    acc = np.tile(shift, (stop - start, 1))
    for j in range(sv.shape[1]):
        bit = ((gray >> np.uint64(j)) & np.uint64(1)).astype(bool)
        if bit.any():
            acc[bit] ^= sv[:, j]
    return acc * scale
