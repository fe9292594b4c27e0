"""A sweep's sample is defined, not drawn: each chunk computes its own rows, so size lives on disk, never in memory.

Chunked rows equal whole rows for every design and chunk size; `sample()` is the same generator; the
Latin hypercube is one member per stratum; Sobol' points are scipy's; a sweep of 10**9 members starts
(first chunk written) under a cap on address space; a table above MAX_MEMBERS_IN_MEMORY stays on disk
as a dataset; resume skips finished chunks and another seed or design never reuses them.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.analysis.design import BLOCK, _sobol_engine, linspace_at, make_design, permute
from simulator.analysis.sweep import sample

KET = "ketamine 10 mg/kg ip"
DESIGNS = {
    "grid": dict(vary={"a": [1.0, 2.0, 3.0], "b": (0.0, 1.0), "c": [5.0, 6.0]}, design="grid", n=1_700),
    "lhs": dict(vary={"a": (0.0, 1.0), "b": (10.0, 20.0)}, design="lhs", n=10_007, seed=3),
    "sobol": dict(vary={"a": (0.0, 1.0), "b": (10.0, 20.0), "c": (-1.0, 1.0)}, design="sobol", n=10_007, seed=3),
    "population": dict(vary=None, design="population", n=10_007, seed=3, population={"a": 0.3, "b": 0.0}, base={"a": 2.0}),
}


@pytest.mark.parametrize("name", list(DESIGNS))
@pytest.mark.parametrize("chunk", [250, 3_001])
def test_chunked_rows_equal_the_whole_sample(name, chunk):
    d = make_design(**DESIGNS[name])
    whole = d.rows(0, d.n)
    parts = np.concatenate([d.rows(a, min(a + chunk, d.n)) for a in range(0, d.n, chunk)])
    assert parts.tobytes() == whole.tobytes()
    assert np.concatenate([d.rows(a, a + 1) for a in range(BLOCK - 5, BLOCK + 5)]).tobytes() == whole[BLOCK - 5 : BLOCK + 5].tobytes()
    # sample() is the same generator over every member, and a fresh definition gives the same rows
    assert sample(**DESIGNS[name]).to_numpy().tobytes() == whole.tobytes()
    assert make_design(**DESIGNS[name]).key() == d.key()


def test_another_seed_or_definition_gives_another_key_and_other_rows():
    base = make_design(**DESIGNS["lhs"])
    for change in (dict(seed=4), dict(n=10_008), dict(vary={"a": (0.0, 1.0), "b": (10.0, 21.0)}), dict(design="sobol")):
        other = make_design(**{**DESIGNS["lhs"], **change})
        assert other.key() != base.key()
        assert not np.array_equal(other.rows(0, 100), base.rows(0, 100))
    grid = DESIGNS["grid"]
    assert make_design(**grid, seed=1).key() == make_design(**grid, seed=2).key()  # a grid has no randomness
    assert make_design(**{**DESIGNS["lhs"], "seed": None}).key() != make_design(**{**DESIGNS["lhs"], "seed": None}).key()


def test_grid_is_itertools_product_with_linspace_ranges():
    g = sample(**DESIGNS["grid"])
    want = list(itertools.product([1.0, 2.0, 3.0], np.linspace(0.0, 1.0, 1_700), [5.0, 6.0]))
    assert g.to_numpy().tobytes() == np.array(want).tobytes()
    for lo, hi, num in [(500.0, 3000.0, 7), (1.0, 1.0, 4), (3.0, -2.0, 11), (0.0, 1e-320, 3), (2.0, 5.0, 1), (0.1, 0.7, 10_001)]:
        assert linspace_at(lo, hi, num, np.arange(num)).tobytes() == np.linspace(lo, hi, num).tobytes()


def test_sobol_points_are_scipys():
    d = make_design(**DESIGNS["sobol"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n is not a power of 2
        ref = _sobol_engine(3, 3).random(d.n)
    assert np.array_equal(d.rows(0, d.n), d.lo + ref * (d.hi - d.lo))
    late = make_design({"a": (0.0, 1.0)}, design="sobol", n=10**9, seed=1)  # point i from its Gray code, no walk to it
    engine = _sobol_engine(1, 1).fast_forward(123_456_789)
    assert np.array_equal(late.rows(123_456_789, 123_456_789 + 64), engine.random(64))


@pytest.mark.parametrize("n", [1, 2, 3, 50, 4_097, 65_537])
def test_lhs_has_one_member_in_each_stratum_of_every_name(n):
    d = make_design({"x": (0.0, 1.0), "y": (-3.0, 5.0), "z": (2.0, 2.0)}, design="lhs", n=n, seed=11)
    rows = d.rows(0, n)
    for c in range(2):
        unit = (rows[:, c] - d.lo[c]) / (d.hi[c] - d.lo[c])
        assert np.array_equal(np.sort(np.floor(unit * n).astype(np.int64)), np.arange(n))
    assert (rows[:, 2] == 2.0).all()
    if n > 1000:  # the permutations of two names are unrelated
        assert abs(np.corrcoef(rows[:, 0], rows[:, 1])[0, 1]) < 0.05


def test_the_permutation_is_a_bijection_for_awkward_sizes():
    keys = np.random.SeedSequence(5).generate_state(8, np.uint64)
    for n in [1, 2, 3, 5, 7, 8, 9, 1023, 1025, 100_003]:
        p = permute(np.arange(n, dtype=np.uint64), n, keys)
        assert np.array_equal(np.sort(p), np.arange(n)), n
    assert permute(np.array([10**9 - 1], dtype=np.uint64), 10**9, keys)[0] < 10**9


def test_population_moments():
    p = sample(None, design="population", n=200_000, seed=7, population={"k": 0.3}, base={"k": 2.0})
    assert p["k"].mean() == pytest.approx(2.0, rel=0.005)
    assert p["k"].std() / p["k"].mean() == pytest.approx(0.3, rel=0.02)


def test_extent_is_exact_for_grid_and_population():
    for name in ("grid", "population"):
        d = make_design(**DESIGNS[name])
        rows = d.rows(0, d.n)
        for c in range(rows.shape[1]):
            assert d.extent(c) == (rows[:, c].min(), rows[:, c].max())


# ----------------------------------------------------------------------------- a sweep of 10**9 members starts
START = textwrap.dedent(
    """
    import json, os, resource, sys, tracemalloc
    from pathlib import Path

    import simulator
    from simulator.analysis import sweep as _sweep

    def status():
        out = {}
        for line in open("/proc/self/status"):
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmHWM", "VmRSS"):
                out[key] = int(value.split()[0]) * 1024
        return out

    tmp = Path(sys.argv[1])
    kw = dict(hours=1, chunk_size=2, workers=1, metrics=["mtorc1_peak_fold"])
    # warm up everything a chunk needs (model, solver, Parquet writer), then cap the address space
    simulator.sweep("KET", vary={"dose:0": (1, 2)}, design="lhs", n=4, out=tmp / "warm", **kw)
    before = status()
    limit = before["VmSize"] + CAP
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    class FirstChunk(Exception):
        pass

    write = _sweep._Output.write

    def write_then_stop(self, i, df):
        write(self, i, df)
        raise FirstChunk

    _sweep._Output.write = write_then_stop
    grid = [float(v) for v in range(1, 1001)]
    cases = {
        "lhs": dict(vary={"dose:0": (1, 2), "ketamine_nmda_potency": (500, 3000)}, design="lhs", n=10**9, seed=1),
        "sobol": dict(vary={"dose:0": (1, 2), "ketamine_nmda_potency": (500, 3000)}, design="sobol", n=10**9, seed=1),
        "population": dict(design="population", n=10**9, seed=1, population={"ketamine_clearance": 0.3}),
        "grid": dict(vary={"dose:0": grid, "ketamine_nmda_potency": (500, 3000), "ketamine_clearance": grid}, n=1000),
    }
    report = {"cap_mb": CAP / 2**20}
    for name, case in cases.items():
        out = tmp / name
        tracemalloc.start()
        try:
            simulator.sweep("KET", out=out, **case, **kw)
        except FirstChunk:
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
        chunks = sorted(p.name for p in out.glob("chunk-*.parquet"))
        report[name] = {"members": manifest["members"], "chunks": chunks, "python_peak_mb": peak / 2**20, "lock": (out / "_lock").exists()}
    after = status()
    try:  # the control: the cap does stop an array as long as the sweep (1 GB, one byte a member)
        bytearray(10**9)
        report["cap_works"] = False
    except MemoryError:
        report["cap_works"] = True
    report["rss_growth_mb"] = (after["VmHWM"] - before["VmHWM"]) / 2**20
    report["vm_growth_mb"] = (after["VmSize"] - before["VmSize"]) / 2**20
    print(json.dumps(report))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status")
def test_a_sweep_of_a_billion_members_starts_without_allocating_it(tmp_path):
    """Each design at 10**9 members writes its first chunk under an address-space cap of 512 MB above a warm
    process: any array as long as the sweep (8 GB of float64, 1 GB of bytes) would be a MemoryError."""
    code = START.replace('"KET"', repr(KET)).replace("CAP", str(512 * 2**20))
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}  # few malloc arenas: threads started after the cap reserve no 64 MB each
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, encoding="utf-8", timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["cap_works"], report
    for name in ("lhs", "sobol", "population", "grid"):
        r = report[name]
        assert r["members"] == 10**9 and r["chunks"] == ["chunk-000000000.parquet"] and not r["lock"], (name, r)
        assert r["python_peak_mb"] < 64, (name, r)
    print(f"\n10**9-member sweeps started: {report}")
    first = pd.read_parquet(tmp_path / "lhs" / "chunk-000000000.parquet")
    assert list(first["member"]) == [0, 1] and list(first["status"]) == ["ok", "ok"]


# ----------------------------------------------------------------------------- the table on disk; resume
def _kw(**extra) -> dict:
    return (
        dict(vary={"dose:0": (1.0, 30.0)}, design="lhs", n=5, seed=3, hours=6, chunk_size=2, workers=1, metrics=["mtorc1_peak_fold"])
        | extra
    )


def test_above_the_in_memory_limit_the_table_stays_on_disk(tmp_path, monkeypatch, capsys):
    import pyarrow.dataset as ds

    from simulator.analysis import sweep as _sweep
    from simulator.cli import main

    ref = simulator.sweep(KET, **_kw())
    monkeypatch.setattr(_sweep, "MAX_MEMBERS_IN_MEMORY", 4)
    with pytest.raises(simulator.PlasticityError, match="without `out`"):
        simulator.sweep(KET, **_kw())
    lazy = simulator.sweep(KET, out=tmp_path / "s.parquet", **_kw())
    assert isinstance(lazy, ds.Dataset) and lazy.count_rows() == 5
    pd.testing.assert_frame_equal(lazy.to_table().to_pandas(), ref, check_exact=True)
    # conditions as an axis: one dataset over <out>/condition=<name>, a `condition` column from the folder names
    (tmp_path / "c").mkdir()
    both = simulator.sweep(KET, out=tmp_path / "c", condition=["none", "chronic_stress"], **_kw())
    table = both.to_table().to_pandas()
    assert isinstance(both, ds.Dataset) and list(table["condition"]) == ["chronic_stress"] * 5 + ["none"] * 5
    pd.testing.assert_frame_equal(table[table["condition"] == "none"].drop(columns="condition").reset_index(drop=True), ref)
    argv = ["sweep", "--dose", KET, "--vary", "dose:0=1:30", "--design", "lhs", "--n", "5", "--seed", "3", "--hours", "6"]
    assert main([*argv, "--chunk-size", "2", "--workers", "1", "--out", str(tmp_path / "cli.parquet")]) == 0
    printed = capsys.readouterr().out
    assert "5 members, 5 ok, 0 failed" in printed and "the table is on disk" in printed


def test_resume_recomputes_only_missing_chunks_and_never_another_seeds(tmp_path):
    out = tmp_path / "s.parquet"
    ref = simulator.sweep(KET, out=out, **_kw())
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("chunk-*.parquet")}
    assert sorted(kept) == [f"chunk-{i:06d}.parquet" for i in range(3)]
    (out / "chunk-000001.parquet").unlink()
    again = simulator.sweep(KET, out=out, **_kw())
    pd.testing.assert_frame_equal(again, ref, check_exact=True)
    for name, t in kept.items():
        assert name == "chunk-000001.parquet" or (out / name).stat().st_mtime_ns == t, f"{name} was recomputed"
    for other in (dict(seed=4), dict(design="sobol")):
        with pytest.raises(simulator.PlasticityError, match="holds a different sweep"):
            simulator.sweep(KET, out=out, **_kw(**other))
        (out / "_manifest.json").unlink()  # without its manifest, the chunks' own keys still tell
        with pytest.warns(UserWarning, match="3 chunk file.* written by another sweep or model"):
            got = simulator.sweep(KET, out=out, **_kw(**other))
        pd.testing.assert_frame_equal(got, simulator.sweep(KET, **_kw(**other)), check_exact=True)
        (out / "_manifest.json").unlink()  # and back to the first sweep, none of `other`'s chunks reused
        with pytest.warns(UserWarning, match="3 chunk file.* written by another sweep or model"):
            pd.testing.assert_frame_equal(simulator.sweep(KET, out=out, **_kw()), ref, check_exact=True)
    # a chunk beyond this sweep (another sweep's, its manifest gone) is removed, so the folder reads as this sweep
    (out / "_manifest.json").unlink()
    (out / "chunk-000002.parquet").rename(out / "chunk-000007.parquet")
    with pytest.warns(UserWarning, match="beyond this sweep's 3 chunks"):
        got = simulator.sweep(KET, out=out, **_kw())
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out), ref, check_exact=True)
