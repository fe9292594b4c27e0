"""The compiled engine: each member (a single run is a sweep of one) integrated on its own by a numba BDF kernel.

One kernel serves every model: `interpreter.py` runs a model's tape (`tape.py`: its right-hand side
and Jacobian as register operations, and its LU fill pattern), so the kernel (`kernel.py`) is compiled
once per engine version and machine, never per model structure; a new compound, species, condition,
pretreatment or cut costs only the tape, in milliseconds. PLASTICITY_KERNEL=specialised compiles a
model's own generated kernel instead (about 20 s per structure; its steps are cheaper); a sweep of
SPECIALISE_AT members or more compiles it in a low-priority background process and switches to it
once it is in the disk cache (`prefer_specialised`), never waiting for it.
numba is a core dependency; where it cannot be imported `available()` is False and runs keep their
SciPy path (as they do with PLASTICITY_ENGINE=scipy). The kernel's text is written into one module
file in the user cache, named by its hash and the numba version, so numba's on-disk cache makes the
compile a one-time cost per machine. `ready()` starts that compile in a background process, so a first
single run takes the SciPy path rather than wait; a sweep waits for it, with its progress on stderr.
"""

from __future__ import annotations

import hashlib
import importlib.util
import multiprocessing
import os
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np

from .._cache import cache_dir, check_private
from .._notice import COMPILE_MESSAGE, QUIET_ENV, notice
from .scipy_path import FLOOR_ATOLS, STEADY_ZERO, Tolerances
from .tape import fill_pattern

MARKER = "# ---- kernel (everything below this line is compiled together with the model) ----"
INTERPRETER_MARKER = "# ---- interpreter (everything below this line is compiled together with the kernel) ----"
GENERIC = "generic"  # key of the tape-interpreting kernel in _modules and compile_seconds
NO_MODEL = (np.zeros(0),)  # the model argument of a specialised kernel, which ignores it
BACKGROUND_MESSAGE = ("compiling the simulation kernel in a background process (once per install and engine version, "
                      "25-45 s); single runs take the SciPy path until it is ready, sweeps wait for it")
SPECIALISED_MESSAGE = "compiling this model's own kernel (once per model structure, about 20 s)..."
SPECIALISE_AT = 10_000  # members of a batch or sweep that start its structure's own kernel compiling in the background
BACKGROUND_SPECIALISED = ("compiling this model's own kernel in a background process at low priority (once per model structure; "
                          "60-135 s measured on 2 busy cores); this sweep goes on meanwhile, and its later chunks and later sweeps "
                          "of this model run on it (the integration 2-3x faster) with the same numbers")
MAX_STEPS = 200_000
REASONS = {
    1: "solver: step limit reached (the trajectory is too fast to follow at these tolerances)",
    2: "solver: the step size fell below round-off (a discontinuity or a blow-up)",
    3: "solver: singular iteration matrix",
    4: "solver: non-finite state (a parameter or dose far outside its range)",
    5: "solver: a state fell below the floor of 1000 x atol",
}
BELOW_FLOOR = 5

_modules: dict[str, ModuleType] = {}
_spawned: dict[str, object] = {}  # background compiles this process started: GENERIC or a model key -> Popen
_lock = threading.Lock()
compile_seconds: dict[str, float] = {}  # model key -> seconds spent compiling or loading its kernel in this process
_preferred: set[str] = set()  # model keys a large sweep asked to run on their own kernel once it is ready (forked workers inherit it)
_own_names: dict[str, str] = {}  # model key -> its own kernel module's name


def available() -> bool:
    """True when numba can be imported (the `fast` extra) and PLASTICITY_ENGINE is not 'scipy'."""
    if os.environ.get("PLASTICITY_ENGINE", "").lower() == "scipy":
        return False
    return importlib.util.find_spec("numba") is not None


def njit(*args, cache: bool = False, **options):
    """numba.njit with IEEE arithmetic whose on-disk cache, when asked for, lives only in the checked private folder.

    numba picks where it reads cached (pickled) compilations from its environment: NUMBA_CACHE_DIR or
    NUMBA_CACHE_LOCATOR_CLASSES can point it at a shared, world-writable folder, where a planted index
    file would be unpickled, and so run, on the next call. The generated kernel module uses this
    decorator, so its cache is always `__pycache__` next to the module file, in the folder that
    `check_private` has passed, whatever the environment says."""
    import numba

    def wrap(fn):
        disp = numba.njit(error_model="numpy", **options)(fn)
        if cache:
            disp._cache = _private_cache(fn)
        return disp

    return wrap(args[0]) if args and callable(args[0]) else wrap


def _private_cache(fn):
    import inspect

    from numba.core import caching

    class PrivateLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(os.path.dirname(py_file), "__pycache__")

        def get_cache_path(self):
            return self._cache_path

    class PrivateCache(caching.FunctionCache):
        def __init__(self, py_func):
            super().__init__(py_func)
            locator = PrivateLocator(py_func, inspect.getfile(py_func))
            locator.ensure_cache_path()
            self._impl._locator = locator
            self._cache_path = locator.get_cache_path()
            self._cache_file = caching.IndexDataCacheFile(
                cache_path=self._cache_path, filename_base=self._impl.filename_base, source_stamp=locator.get_source_stamp()
            )

    return PrivateCache(fn)


def _kernel_text() -> str:
    text = (Path(__file__).parent / "kernel.py").read_text()
    return text[text.index(MARKER) :]


def _matching(src: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at `open_at`."""
    depth = 0
    for i in range(open_at, len(src)):
        depth += {"(": 1, ")": -1}.get(src[i], 0)
        if depth == 0:
            return i
    raise ValueError("unbalanced parentheses in generated source")


def fast_powers(src: str) -> str:
    """Rewrite `pos(x)**(n)` as `ppow(x, n)`, which multiplies out integer exponents (Hill coefficients
    are mostly whole numbers) instead of calling pow: the right-hand side's cost is mostly its powers."""
    out, i = [], 0
    while True:
        j = src.find("pos(", i)
        if j < 0:
            out.append(src[i:])
            return "".join(out)
        if j > 0 and (src[j - 1].isalnum() or src[j - 1] == "_"):  # dpow( and other names ending in pos
            out.append(src[i : j + 4])
            i = j + 4
            continue
        close = _matching(src, j + 3)
        if src.startswith("**(", close + 1):
            end = _matching(src, close + 3)
            out.append(src[i:j] + f"ppow({fast_powers(src[j + 4 : close])}, {fast_powers(src[close + 4 : end])})")
            i = end + 1
        else:
            out.append(src[i : j + 4])
            i = j + 4


def lu_source(pattern: np.ndarray) -> str:
    """`factor_sparse(a, jac, c)` and `solve_sparse(a, b)` unrolled over the fill pattern of J's structure.

    factor_sparse writes the LU of a = I - cJ into `a` without pivoting (each pivot's reciprocal on
    the diagonal) and returns False when a pivot is small next to its row, so the kernel falls back to
    a dense LU with partial pivoting. solve_sparse does the forward and back substitution in place.
    Straight-line code keeps the entries in registers: loops over index arrays waited on a store and
    a load for every entry, which made the solves and factorizations most of the cost of a BDF step."""
    s = fill_pattern(pattern)
    n = s.shape[0]
    lower = [[j for j in range(i) if s[i, j]] for i in range(n)]
    upper = [[j for j in range(i + 1, n) if s[i, j]] for i in range(n)]
    below = [[i for i in range(k + 1, n) if s[i, k]] for k in range(n)]
    ent = list(zip(*np.nonzero(s)))
    f = ["@njit(cache=True)", "def factor_sparse(a, jac, c):"]
    f += [f"    v{i}_{j} = {'1.0 ' if i == j else ''}- c * jac[{i}, {j}]" for i, j in ent]
    for k in range(n):
        big = f"max({', '.join(f'abs(v{k}_{j})' for j in upper[k])}, 0.0)" if upper[k] else "0.0"
        f.append(f"    if not (abs(v{k}_{k}) > 1e-10 * {big} and np.isfinite(v{k}_{k})):")
        f.append("        return False")
        f.append(f"    v{k}_{k} = 1.0 / v{k}_{k}")
        for i in below[k]:
            f.append(f"    v{i}_{k} *= v{k}_{k}")
            f += [f"    v{i}_{j} -= v{i}_{k} * v{k}_{j}" for j in upper[k]]
    f += [f"    a[{i}, {j}] = v{i}_{j}" for i, j in ent]
    f.append("    return True")
    b = ["@njit(cache=True)", "def solve_sparse(a, b):"]
    b += [f"    x{i} = b[{i}]" + "".join(f" - a[{i}, {j}] * x{j}" for j in lower[i]) for i in range(n)]
    for i in reversed(range(n)):
        rest = "".join(f" - a[{i}, {j}] * x{j}" for j in upper[i])
        b.append(f"    x{i} = (x{i}{rest}) * a[{i}, {i}]")
    b += [f"    b[{i}] = x{i}" for i in range(n)]
    return "\n".join(f) + "\n\n\n" + "\n".join(b)


HELPERS = '''
@njit(cache=True)
def pos(x):
    return x if x > 0.0 else 0.0


@njit(cache=True)
def ipow(x, k):
    r = 1.0
    while k > 0:
        if k & 1:
            r *= x
        x *= x
        k >>= 1
    return r


@njit(cache=True)
def ppow(x, n):
    """pos(x) ** n with whole and half exponents multiplied out (exact to a few ulp, much cheaper than pow)."""
    if x <= 0.0:
        x = 0.0
    if n == 1.0:
        return x
    if 0.0 < n <= 64.0:
        k = np.floor(n)
        if n == k:
            return ipow(x, int(k))
        if n - k == 0.5:
            return ipow(x, int(k)) * np.sqrt(x)
    return x**n


@njit(cache=True)
def dpow(x, m):
    """Derivative factor of ppow, as _codegen.dpow: x ** m for x > 0, 0 left of 0, at 0 the finite right-hand slope."""
    if x > 0.0:
        return ppow(x, m)
    return 1.0 if (m == 0.0 and x == 0.0) else 0.0
'''


_HEADER = (
    '"""Generated by plasticity: {what} and the BDF kernel."""\n'
    "import numpy as np\n\n"
    "# IEEE arithmetic (x / 0 is inf, not an exception), and numba's cache only in this module's own checked folder\n"
    f"from {__name__} import njit\n\n"
)
NO_SCRATCH = """
@njit(cache=True)
def scratch(md):
    return np.empty(0)
"""


def _text(file: str, marker: str) -> str:
    text = (Path(__file__).parent / file).read_text()
    return text[text.index(marker) :]


def _module_source(comp) -> str:
    """A model's own kernel module: its generated right-hand side, Jacobian and unrolled LU (the `specialised` engine)."""
    model = comp.source.split("\n\ndef observe_into")[0]  # rhs_into and jac_into only
    model = fast_powers(model)
    # x**(-1) with an integer exponent raises ZeroDivisionError at x = 0 in numba whatever the error model
    # (a whole batch crashed on one member's zero); as a float exponent it is IEEE: inf, which the member's status reports
    model = re.sub(r"\*\*\((-\d+)\)", r"**(\1.0)", model)
    model = model.replace("def rhs_into(", "@njit(cache=True)\ndef rhs_into(md, reg, ").replace("def jac_into(", "@njit(cache=True)\ndef jac_into(md, reg, ")
    lu = lu_source(comp.jac_pattern).replace("def factor_sparse(", "def factor_sparse(md, ").replace("def solve_sparse(", "def solve_sparse(md, ")
    header = _HEADER.format(what=f"right-hand side, Jacobian and unrolled sparse LU of model {comp.key}")
    return header + HELPERS + NO_SCRATCH + "\n\n" + model + "\n\n\n" + lu + "\n\n\n" + _kernel_text()


def _generic_source() -> str:
    """The one kernel module of this engine version: the tape interpreter (`interpreter.py`) and the BDF kernel."""
    header = _HEADER.format(what="the model tape interpreter")
    return header + HELPERS + "\n\n" + _text("interpreter.py", INTERPRETER_MARKER) + "\n\n\n" + _kernel_text()


def _name(src: str) -> str:
    from importlib.metadata import version

    return f"plasticity_kernel_{hashlib.sha1((src + version('numba')).encode()).hexdigest()[:16]}"


@lru_cache(maxsize=1)
def _generic_name() -> str:
    return _name(_generic_source())


def ready() -> bool:
    """True when the generic kernel can run now: loaded in this process, in numba's cache on disk, or with
    PLASTICITY_ENGINE=native (which waits for its compile). Otherwise its one-time compile starts in a background
    process, once, and single runs take the SciPy path until it is done (so a first run never waits for it)."""
    if GENERIC in _modules or os.environ.get("PLASTICITY_ENGINE", "").lower() == "native":
        return True
    if _cached(_generic_name()):
        return True
    _in_background(GENERIC, "native.generic()", BACKGROUND_MESSAGE)
    return False


def _cached(name: str) -> bool:
    """numba's disk cache holds the module's last driver (it compiles in order, so the others are there too)."""
    return any((cache_dir() / "__pycache__").glob(f"{name}.run_serial-*.nbi"))


def _in_background(what: str, call: str, message: str) -> None:
    """Run `native.<call>` in a background process, once per `what` and process (not from a pool's worker)."""
    import subprocess

    with _lock:
        proc = _spawned.get(what)
        if (proc is not None and proc.poll() in (None, 0)) or multiprocessing.parent_process() is not None:
            return
        root = str(Path(__file__).resolve().parents[2])
        code = f"import sys; sys.path.insert(0, {root!r}); from simulator.engine import native; native.{call}"
        if os.environ.get(QUIET_ENV, "") in ("", "0"):
            sys.stderr.write(message + "\n")
        try:
            _spawned[what] = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, QUIET_ENV: "1"}, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            pass


def _place(src: str) -> tuple[str, Path]:
    """Write `src` into the private cache folder once; (module name, path)."""
    name = _name(src)
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        check_private(folder)
        check_private(folder / "__pycache__")  # numba's cache: pickled code it loads
        path = _write_once(folder / f"{name}.py", src)
    except OSError:  # read-only home: compile from a private temporary folder, without a disk cache across runs
        folder = Path(tempfile.mkdtemp(prefix="plasticity-kernel-"))
        path = _write_once(folder / f"{name}.py", src)
    return name, path


def _import(name: str, path: Path, warm, message: str) -> ModuleType:
    """Import a placed module; numba compiles (or loads its cache) in `warm`, with a notice when it compiles."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    cold = not any((path.parent / "__pycache__").glob(f"{name}.*.nbi"))  # no numba cache yet: a real compile, say so
    with notice(message) if cold else nullcontext() as progress:
        spec.loader.exec_module(mod)
        warm(mod, progress)
    return mod


def _load(src: str, warm, message: str) -> ModuleType:
    return _import(*_place(src), warm, message)


_sources: dict[str, str] = {}


def _specialised_source(comp) -> str:
    """A model's own kernel module text (once per structure and process)."""
    src = _sources.get(comp.key)
    if src is None:
        src = _sources[comp.key] = _module_source(comp)
    return src


def generic() -> ModuleType:
    """The tape-interpreting kernel module, compiled once per engine version (built or loaded once per process)."""
    with _lock:
        mod = _modules.get(GENERIC)
        if mod is None:
            start = time.perf_counter()
            proc = _spawned.get(GENERIC)
            if proc is not None and proc.poll() is None:  # compiling in the background already: wait for it, not twice
                with notice(COMPILE_MESSAGE):
                    proc.wait()
            probe = _probe_tape()
            mod = _load(_generic_source(), lambda m, progress: _warm(m, probe.args(), 1, 1, progress), COMPILE_MESSAGE)
            compile_seconds[GENERIC] = time.perf_counter() - start
            _modules[GENERIC] = mod
        return mod


def _probe_tape():
    """The tape of dy/dt = -k y, which gives numba the argument types of every tape."""
    import sympy as sp

    from .tape import build

    y, k = sp.symbols("y_0 p_0")
    return build([], [-k * y], 1, 1)


def specialised(comp) -> ModuleType:
    """A model's own compiled kernel module (built or loaded once per process)."""
    with _lock:
        mod = _modules.get(comp.key)
        if mod is None:
            start = time.perf_counter()
            n, n_params = comp.n_states, len(comp.flat.params)
            mod = _load(_specialised_source(comp), lambda m, progress: _warm(m, NO_MODEL, n, n_params, progress), SPECIALISED_MESSAGE)
            compile_seconds[comp.key] = time.perf_counter() - start
            _modules[comp.key] = mod
        return mod


def tape_args(comp) -> tuple:
    """The tape arrays of a compiled model (built with it by `codegen`)."""
    return comp.tape.args()


def specialised_asked() -> bool:
    """PLASTICITY_KERNEL=specialised: each model structure gets its own generated kernel (a compile of about 20 s
    per structure on a quiet machine; a sweep of the 72 h ketamine model ran 3.3x faster on it), compiled in the foreground.
    Without it, large sweeps still get it from a background compile (`prefer_specialised`), with bit-identical numbers."""
    return os.environ.get("PLASTICITY_KERNEL", "").lower() == "specialised"


def kernel(comp) -> ModuleType:
    """The kernel module that runs `comp`: the generic one (its model argument is `model_arg(comp)`), or the
    model's own with PLASTICITY_KERNEL=specialised, where the tape has no operation for one of its expressions, or
    once a large sweep's background compile (`prefer_specialised`) has put it in the disk cache."""
    return specialised(comp) if _own_kernel(comp) else generic()


def model_arg(comp) -> tuple:
    """The model argument the kernel functions take first: the tape's arrays (ignored by a specialised kernel)."""
    return NO_MODEL if _own_kernel(comp) else tape_args(comp)


def _chosen(comp) -> tuple[ModuleType, tuple]:
    """(kernel module, model argument), decided once, so the two always match."""
    if _own_kernel(comp):
        return specialised(comp), NO_MODEL
    return generic(), tape_args(comp)


def _own_kernel(comp) -> bool:
    if specialised_asked() or comp.tape is None or comp.key in _modules:
        return True
    return comp.key in _preferred and _own_ready(comp)


def _own_ready(comp) -> bool:
    """The model's own kernel is in numba's disk cache (a background compile finished), so loading it costs no compile."""
    name = _own_names.get(comp.key)
    if name is None:
        name = _own_names[comp.key] = _name(_specialised_source(comp))
    return _cached(name)


def prefer_specialised(comp, members: int) -> None:
    """A batch or sweep of `members` members: from SPECIALISE_AT members on, its model runs on its own kernel
    (2-3x faster steps) once that is in the disk cache. If it is not, its compile starts in a background process
    at low priority, once, and the members run on the generic kernel meanwhile: nobody waits for a compile.
    The two kernels run the same operations in the same order (the specialised one straight-line, the generic
    one from the tape; tests/test_native.py checks the results are bit-identical), so which kernel a member
    ran on never changes its numbers, and a resumed sweep matches an uninterrupted one."""
    if members < SPECIALISE_AT or comp.tape is None or specialised_asked() or not available():
        return
    _preferred.add(comp.key)
    if comp.key in _modules or _own_ready(comp):
        return
    name, path = _place(_specialised_source(comp))
    _in_background(comp.key, f"compile_placed({name!r}, {str(path)!r}, {comp.n_states}, {len(comp.flat.params)})", BACKGROUND_SPECIALISED)


def compile_placed(name: str, path: str, n_states: int, n_params: int) -> None:
    """A background process's job: compile a placed model kernel into numba's disk cache, at low priority (the sweep
    that asked for it keeps the cores)."""
    if hasattr(os, "nice"):
        os.nice(10)
    _import(name, Path(path), lambda m, progress: _warm(m, NO_MODEL, n_states, n_params, progress), SPECIALISED_MESSAGE)


def _write_once(path: Path, src: str) -> Path:
    if not path.exists() or path.read_text() != src:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src)
        os.replace(tmp, path)
    return path


def _warm(mod: ModuleType, md: tuple, n: int, n_params: int, progress=None) -> None:
    """Compile (or load from the cache) the drivers now, with the argument types every call uses."""
    if progress is not None:
        progress.stage("1 of 2: steady-state solver")
    mod.steady_all(md, np.ones((1, n)), np.ones((1, n_params)), 0, np.zeros(1, dtype=np.bool_))
    args = _pack(
        np.zeros((1, n)), np.zeros((1, 1)), np.zeros(2), np.zeros((1, 0)), np.zeros((1, 0)), np.zeros(0, np.int64), np.zeros(0, np.int64)
    )
    out, status = np.empty((1, n, 2)), np.empty(1, np.int64)
    if progress is not None:
        progress.stage("2 of 2: BDF integrator")
    mod.run_serial(md, *args, 1e-6, 1e-9, -np.inf, 10, out, status)


def _pack(Y0, P, times, ev_times, amounts, kind, target):
    return (
        np.ascontiguousarray(Y0, dtype=np.float64),
        np.ascontiguousarray(P, dtype=np.float64),
        np.ascontiguousarray(times, dtype=np.float64),
        np.ascontiguousarray(ev_times, dtype=np.float64),
        np.ascontiguousarray(amounts, dtype=np.float64),
        np.ascontiguousarray(kind, dtype=np.int64),
        np.ascontiguousarray(target, dtype=np.int64),
    )


def steady_states(comp, P: np.ndarray, Y: np.ndarray, iters: int) -> tuple[np.ndarray, np.ndarray]:
    """Drug-free steady states by Newton from Y (members, n_states), one member at a time; (Y, settled)."""
    mod, md = _chosen(comp)
    Y = np.array(Y, dtype=np.float64, order="C")
    ok = np.zeros(Y.shape[0], dtype=np.bool_)
    with np.errstate(all="ignore"):
        mod.steady_all(md, Y, np.ascontiguousarray(P, dtype=np.float64), iters, ok)
    Y[np.abs(Y) < STEADY_ZERO] = 0.0  # Newton's round-off in states that are 0 without a drug
    return Y, ok


def _threads() -> int:
    """1 inside a worker process (the pool already uses the cores), else one per core."""
    if multiprocessing.parent_process() is not None:
        return 1
    return os.cpu_count() or 1


def integrate(
    comp,
    P: np.ndarray,
    Y0: np.ndarray,
    times: np.ndarray,
    ev_kind: np.ndarray,
    ev_target: np.ndarray,
    amounts: np.ndarray,
    ev_times: np.ndarray,
    tol: Tolerances,
    *,
    threads: int | None = None,
    check: bool = True,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """States (members, n_states, n_times) and status codes (members,) of members integrated one by one.

    P (members, n_params), Y0 (members, n_states); amounts/ev_times (members, n_events); ev_kind is 0
    for a state event, 1 for a parameter event; ev_target the state or parameter index. `threads`
    (default: one per core, 1 inside a worker process) run slices of members side by side. `check`: a
    member with a state below -1000 x atol at an output time gets status BELOW_FLOOR (its rows kept, to be named).
    `out`: a C-contiguous float64 array of that shape to fill (a batch's own result, so a chunk holds one copy, not two)."""
    mod, md = _chosen(comp)
    least = -FLOOR_ATOLS * tol.atol if check else -np.inf
    m = P.shape[0]
    if out is None:
        out = np.empty((m, comp.n_states, len(times)))
    status = np.zeros(m, dtype=np.int64)
    if m == 0:
        return out, status
    Y0, P, times, ev_times, amounts, ev_kind, ev_target = _pack(Y0, P, times, ev_times, amounts, ev_kind, ev_target)
    threads = max(1, min(_threads() if threads is None else threads, m))

    def run(sl: slice) -> None:
        mod.run_serial(
            md, Y0[sl], P[sl], times, ev_times[sl], amounts[sl], ev_kind, ev_target, tol.rtol, tol.atol, least, MAX_STEPS, out[sl], status[sl]
        )

    with np.errstate(all="ignore"):
        if threads == 1:
            run(slice(0, m))
        else:  # small slices handed out in turn, so a slow member does not leave a thread idle
            step = max(1, min(64, m // (4 * threads)))
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(run, [slice(a, a + step) for a in range(0, m, step)]))
    return out, status


if __name__ == "__main__":  # python -m simulator.engine.native: compile (or load) the generic kernel
    generic()
