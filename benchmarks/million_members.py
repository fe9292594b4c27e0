"""A virtual population streamed to Parquet against the same sweep in memory: members per second and peak memory.

    python benchmarks/million_members.py [--n 1000000] [--n-memory 100000] [--chunk-size 250] [--out /tmp/pop.parquet]

Runs `simulator.sweep` over a log-normal population (ketamine 10 mg/kg ip in mouse, 72 h, CV 0.3 on
clearance and NMDA potency, every metric) twice in one process: first in memory (no `out`, the first
--n-memory members of the same population), then streamed into a folder of Parquet chunks (--n
members), the way `plasticity sweep --out` does. It prints both rates, their ratio, and the peak
memory of all the processes together (this one and its pool workers), sampled from /proc every 0.25 s
while each sweep runs (reading smaps_rollup walks a process's page tables, in this process's CPU time,
so it is not read more often): the proportional set size (Pss: a page that forked workers share with this
process counts once, split between them), and beside it the plain sum of resident sets (RSS, which
counts each shared page in every process) and the sum of each process's own peak (VmHWM), upper bounds.
CPU seconds of this process and its finished workers are printed too, and members per CPU second: on a
shared machine the wall-time rates follow the other work, the CPU rates much less. Above 1,000,000 members the streamed sweep returns its table as a dataset on disk and
this script counts it without reading it. The load average is printed with the figures: the machine
may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads

import simulator

POPULATION = {"ketamine_clearance": 0.3, "ketamine_nmda_potency": 0.3}


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _kib(pid: int, field: str, file: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory:
    """Samples the summed memory of this process and its descendants in a thread: peak Pss and RSS sums (KiB), and
    each process's own peak RSS (VmHWM)."""

    def __init__(self, every_s: float = 0.25):
        self.every_s, self.pss, self.peak, self.hwm = every_s, 0, 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(os.getpid())
            self.peak = max(self.peak, sum(_kib(p, "VmRSS") for p in pids))
            self.pss = max(self.pss, sum(_kib(p, "Pss", "smaps_rollup") for p in pids))
            for p in pids:
                self.hwm[p] = max(self.hwm.get(p, 0), _kib(p, "VmHWM"))
            self._stop.wait(self.every_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def pss_mb(self) -> float:
        return self.pss / 1024

    @property
    def peak_mb(self) -> float:
        return self.peak / 1024

    @property
    def hwm_sum_mb(self) -> float:
        return sum(self.hwm.values()) / 1024


def run(n: int, out: str | None, chunk_size: int, workers: int):
    kw = dict(design="population", n=n, seed=1, population=POPULATION, chunk_size=chunk_size, workers=workers, progress=False)
    with PeakMemory() as mem:
        t, c = time.perf_counter(), _cpu()
        df = simulator.sweep("ketamine 10 mg/kg ip", out=out, **kw)
        wall, cpu = time.perf_counter() - t, _cpu() - c
    return df, wall, cpu, mem


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the pool's workers, once it is shut down)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--n-memory", type=int, default=100_000, help="members of the in-memory reference sweep (at most --n)")
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="/tmp/plasticity-million.parquet")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    n_mem = min(args.n, args.n_memory)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    mem_df, mem_wall, mem_cpu, mem_mem = run(n_mem, None, args.chunk_size, args.workers)
    mem_ok = int((mem_df["status"] == "ok").sum())
    del mem_df
    load_mid = os.getloadavg()[0]
    df, wall, cpu, mem = run(args.n, args.out, args.chunk_size, args.workers)
    rows = pads.dataset(args.out, format="parquet").count_rows()
    if isinstance(df, pd.DataFrame):
        ok = int((df["status"] == "ok").sum())
    else:  # above 1,000,000 members the table stays on disk (a pyarrow dataset)
        ok = df.count_rows(filter=pads.field("status") == "ok")
    rate_mem, rate = n_mem / mem_wall, args.n / wall
    print(f"chunk_size={args.chunk_size} workers={args.workers} cores={os.cpu_count()}")
    print(f"in memory: members={n_mem} ok={mem_ok} wall_s={mem_wall:.1f} members_per_s={rate_mem:.0f} "
          f"cpu_s={mem_cpu:.1f} members_per_cpu_s={n_mem / mem_cpu:.0f} "
          f"peak_pss_all_processes_mb={mem_mem.pss_mb:.0f} (rss sum {mem_mem.peak_mb:.0f}, per-process peaks {mem_mem.hwm_sum_mb:.0f}) "
          f"load={load_mid:.2f}")
    print(f"streamed:  members={args.n} rows_written={rows} ok={ok} wall_s={wall:.1f} members_per_s={rate:.0f} "
          f"cpu_s={cpu:.1f} members_per_cpu_s={args.n / cpu:.0f} "
          f"peak_pss_all_processes_mb={mem.pss_mb:.0f} (rss sum {mem.peak_mb:.0f}, per-process peaks {mem.hwm_sum_mb:.0f}) "
          f"load={os.getloadavg()[0]:.2f}")
    print(f"streamed_vs_in_memory={rate / rate_mem:.2f} per_cpu_second={(args.n / cpu) / (n_mem / mem_cpu):.2f}")


if __name__ == "__main__":
    main()
