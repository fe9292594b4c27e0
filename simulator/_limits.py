"""Every limit on input, in one place: checked where the input enters, before any work is done.

Each limit bounds the memory or time one call can take, or keeps numbers inside the range where the
arithmetic stays finite. The README's Errors section lists them; an error that hits one names the
limit and, where it makes sense, how to stay inside it.
"""

from __future__ import annotations

# ---- time and output
MAX_SPAN_H = 100_000.0
"""Simulated time span (end minus the earliest dose, clamp or output time), and |t| of any dose or
clamp time, in hours: about 11 years. A longer run is not a use of this model (its slowest process,
spine turnover, settles within months)."""

MAX_OUTPUT_ROWS = 1_000_000
"""Rows of one time course (default grid every 0.1 h, or `times=`). The built-in model with one
compound keeps about 1.5 kB a row (states, inputs in force, readouts, the DataFrames): about 1.5 GB
at the limit. For a long span, give `times=` with a coarser grid."""

MAX_ADMINISTRATIONS = 1_000
"""Administrations in one regimen (every dose of every schedule: `every 1 d x 1000` is 1,000). Each
starts a new solver segment (about 45 ms on a 2-core machine), so the limit is about 45 s of work;
it covers daily dosing for over two and a half years."""

MIN_DURATION_H = 1 / 3600
"""Shortest infusion, bath, dosing interval or clamp window: 1 s. Events closer together than
SIMULTANEOUS_H are applied at one instant."""

SIMULTANEOUS_H = 1e-12
"""Dose and clamp instants closer than this (3.6 ns) form no solver segment of their own: the state
carries over unchanged (no rate in the model moves a state measurably in that time), where LSODA would
otherwise crawl through an interval of round-off width."""

# ---- magnitudes
MAX_DOSE = 1e9
"""A dose in its canonical unit (mg/kg, mg, nmol, nmol/kg or nM): far beyond any real dose
(1e6 mg/kg is the body's own weight), and small enough that every conversion stays finite."""

MAX_OVERRIDE = 1e12
"""|value| of a parameter override (`params=`, `--param`)."""

MIN_RATE = 1e-12
"""Smallest override of a rate or a time (units 1/h or h); subnormal rates would turn half-lives
into infinities."""

MAX_FACTOR = 1e3
"""A node scale factor (`scale=`, `--scale`, 0 = knock-out) or clamp level (x baseline): 0 to 1000."""

# ---- files
MAX_REGIMEN_FILE_BYTES = 1_000_000
"""Size of a regimen TOML file (a regimen of MAX_ADMINISTRATIONS lines is under 100 kB)."""

MAX_TOML_DEPTH = 8
"""Nesting of arrays and tables in a regimen file (the format needs 2: `[[dose]]` tables of values)."""

# ---- solver work (checked while solving)
MAX_RHS_EVALS = 100_000
"""Right-hand-side evaluations per segment between doses; a 72 h run takes about 4,000."""

# ---- model-file expressions
MAX_EXPR_CHARS = 20_000
"""Characters in one model-file expression; the longest in models/ is under 400."""

MAX_EXPR_DEPTH = 60
"""Nesting of operations and calls in one model-file expression, and in each equation once the assignments
it uses are substituted (the built-in model's deepest: 18)."""

MAX_EXPANDED_NODES = 10_000
"""Terms of one equation or assignment once the assignments it uses are substituted, counted as a tree
(the built-in model's largest: under 500). Chained assignments can double it with each line; code
generation and the compiler take time growing with it (16 doubling lines, 114,000 terms: 49 s)."""

# ---- sweeps (checked before any member's sample is drawn)
MAX_MEMBERS = 1_000_000_000
"""Members of one sweep (with `out`). Nothing in memory grows with it: each chunk draws its own rows of
the sample from the design's definition (simulator/analysis/design.py) and streams its results to a Parquet
file, and above MAX_MEMBERS_IN_MEMORY the table is returned as a dataset on disk, not read back. Disk
bounds it: about 100 to 250 bytes a member in Parquet, some 100 to 250 GB at the limit. It is also
below the 2**30 points of the Sobol' sequence (30 bits)."""

MAX_MEMBERS_IN_MEMORY = 1_000_000
"""Members of a sweep whose table is held in memory: all of a sweep without `out` (its chunks stay in
memory until the end); a sweep with `out` and more members returns a `pyarrow.dataset.Dataset` over its
chunk files instead of a DataFrame."""

MAX_TRAJECTORY_BYTES = 2 * 1024**3
"""Trajectories returned by `trajectories=True` (float32, members x output times x readouts)."""

MAX_SAMPLE_VALUES = 125_000_000
"""Values of a sample held in memory at once (members x varied names, 8 bytes each: 1 GB): `sample()`,
and the varied columns of a table returned as a DataFrame (a sweep without `out` above it is refused;
one with `out` returns its dataset on disk). A sweep's chunks draw only their own rows, so it does not
bound a sweep with `out`."""

# ---- files received from others (sweep folders, sidecars, model and question files)
MAX_JSON_BYTES = 64 * 1024**2
"""Size of a JSON file the project reads back (a sweep's manifest, a table's provenance sidecar): a
manifest of a grid with a million listed values is about 20 MB."""

MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects in such a JSON file (ours need 4); far below Python's recursion limit."""

MAX_MODEL_FILE_BYTES = 4 * 1024**2
"""Size of one model, compound, species, question or catalogue TOML file (the largest in models/ is under 100 kB)."""

MAX_TABLE_BYTES = 1024**3
"""Size of a CSV table read back (`read_table`, `fit --data`): MAX_OUTPUT_ROWS rows of a wide table we write (about 600 MB)."""

MAX_INTERVENTION_CHARS = 200
"""Characters of one `--clamp` or `--scale` item (command line, question files): 'mtorc1=0 from 2 h to 6 h' is 24."""

# ---- the classroom server
MAX_APP_SESSIONS = 60
"""Live sessions (browser tabs) of `plasticity app` at once: a lecture room's worth; each holds about 2 MB."""

APP_UNUSED_SESSION_S = 10
"""Seconds before a session whose page never opened its websocket is dropped (a prefetch, a refused tab)."""

# ---- analyses (sensitivity, fit, dose-response: one batch each, held in memory)
MAX_ANALYSIS_RUNS = 200_000
"""Model runs in one analysis batch (Sobol: n x (k + 2), Morris: n x (k + 1) for k parameters); a sweep with
`out` is the tool for more."""

MAX_BATCH_VALUES = 125_000_000
"""States held by one analysis batch (runs x output times x states, 8 bytes each: 1 GB)."""
