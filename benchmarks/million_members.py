"""A virtual population streamed to Parquet: wall time and peak memory (measured once, not in CI).

    python benchmarks/million_members.py [--n 1000000] [--chunk-size 250] [--out /tmp/pop.parquet]

Runs `simulator.sweep` over a log-normal population (ketamine 10 mg/kg ip in mouse, 72 h, CV 0.3 on
clearance and NMDA potency) into a folder of Parquet chunks, the way `plasticity sweep` does, then
reports wall time, members per second, rows written and peak resident memory: of this process and of
the largest worker process (ru_maxrss; chunks run in a local process pool). Each chunk draws its own
rows of the population, so the main process does not grow with --n; above 1,000,000 members the
sweep returns its table as a dataset on disk and this script counts it without reading it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time

import pandas as pd
import pyarrow.dataset as pads

import simulator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="/tmp/plasticity-million.parquet")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    t = time.perf_counter()
    df = simulator.sweep(
        "ketamine 10 mg/kg ip",
        design="population",
        n=args.n,
        seed=1,
        population={"ketamine_clearance": 0.3, "ketamine_nmda_potency": 0.3},
        out=args.out,
        chunk_size=args.chunk_size,
        workers=args.workers,
    )
    wall = time.perf_counter() - t
    rows = pads.dataset(args.out, format="parquet").count_rows()
    if isinstance(df, pd.DataFrame):
        ok = int((df["status"] == "ok").sum())
    else:  # above 1,000,000 members the table stays on disk (a pyarrow dataset)
        ok = df.count_rows(filter=pads.field("status") == "ok")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"members={args.n} chunk_size={args.chunk_size} workers={args.workers} rows_written={rows} ok={ok}")
    print(f"wall_s={wall:.1f} members_per_s={args.n / wall:.0f}")
    print(f"peak_rss_main_mb={own:.0f} peak_rss_largest_worker_mb={child:.0f}")


if __name__ == "__main__":
    main()
