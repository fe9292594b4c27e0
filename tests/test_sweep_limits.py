"""Sweeps check their size and settings before they allocate or start anything."""

from __future__ import annotations

import socket
import tracemalloc

import pytest

from simulator import PlasticityError, sweep
from simulator._limits import MAX_MEMBERS, MAX_MEMBERS_IN_MEMORY, MAX_OUTPUT_ROWS
from simulator.cli import main

KET = "ketamine 10 mg/kg ip"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(vary={"dose:0": (1, 2)}, design="lhs", n=10_000_000_000), f"above the limit of {MAX_MEMBERS:,} members"),
        (dict(vary={"dose:0": (1, 2)}, design="sobol", n=MAX_MEMBERS_IN_MEMORY + 1), "without `out`"),
        (dict(vary={"dose:0": (1, 2), "ketamine_clearance": (1, 2)}, design="grid", n=100_000), "10,000,000,000 members"),
        (dict(vary={"time:0": (-1e9, 0)}, design="lhs", n=4), f"above the limit of {MAX_OUTPUT_ROWS:,} rows"),
        (dict(vary={"time:0": [float("nan"), 1.0]}), "'time:0' has a non-finite value \\(nan\\)"),
        (dict(vary={"dose:0": (1, float("inf"))}, design="lhs", n=4), "'dose:0' has a non-finite value"),
        (dict(vary={"dose:0": (1, 2)}, design="lhs", n=4, seed=-1), "seed: expected a non-negative integer"),
    ],
)
def test_sweep_refuses_before_allocating(kwargs, message, tmp_path):
    tracemalloc.start()
    try:
        with pytest.raises(PlasticityError, match=message):
            sweep(KET, workers=1, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 1024**2, f"{peak / 1024**2:.0f} MB allocated before refusing"


def test_trajectories_too_large_for_memory_are_refused():
    with pytest.raises(PlasticityError, match="trajectories: .* GB in memory"):
        sweep(KET, vary={"dose:0": (1, 2)}, design="lhs", n=500_000, hours=72, trajectories=True, workers=1)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scheduler_errors_name_the_address(capsys):
    pytest.importorskip("distributed")
    base = ["sweep", "--dose", KET, "--vary", "dose:0=1:2", "--design", "lhs", "--n", "4"]
    assert main([*base, "--scheduler", "not a url"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: scheduler: 'not a url' is not a Dask scheduler address") and "\n" not in err
    address = f"tcp://127.0.0.1:{_closed_port()}"
    assert main([*base, "--scheduler", address]) == 2
    err = capsys.readouterr().err.strip()
    assert f"cannot connect to the Dask scheduler at '{address}'" in err and "output:" not in err and "\n" not in err


def test_cli_seed_and_n_are_one_line_errors(capsys, tmp_path):
    base = ["sweep", "--dose", KET, "--vary", "dose:0=1:2", "--design", "lhs"]
    for extra, want in [(["--n", "4", "--seed", "-1"], "seed"), (["--n", "10000000000", "--out", str(tmp_path / "x.parquet")], "n: 10,000,000,000")]:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {want}") and "\n" not in err
    assert not list(tmp_path.iterdir())


def test_a_sample_too_large_for_memory_is_refused_before_it_is_drawn(tmp_path, monkeypatch):
    """In memory (sample(), a sweep's table returned as a DataFrame) at most MAX_SAMPLE_VALUES values; a sweep
    with `out` draws each chunk's rows alone, so there it bounds nothing (tests/test_sweep_stream.py)."""
    from simulator._limits import MAX_SAMPLE_VALUES
    from simulator._simulate import setup
    from simulator.analysis import sweep as _sweep
    from simulator.analysis.sweep import sample

    s = setup([KET])
    names = [n for n, p in s.library.pathway.parameters.items() if p.range is not None and n in s.flat.params][:20]
    vary = {k: tuple(s.library.pathway.parameters[k].range) for k in names}
    n = MAX_SAMPLE_VALUES // len(names) + 1
    tracemalloc.start()
    try:
        with pytest.raises(PlasticityError, match=f"above the limit of {MAX_SAMPLE_VALUES:,} values"):
            sample(vary, design="lhs", n=n)
        monkeypatch.setattr(_sweep, "MAX_MEMBERS_IN_MEMORY", n)  # a table of n members would be allowed; its values are not
        with pytest.raises(PlasticityError, match=f"above the limit of {MAX_SAMPLE_VALUES:,} values"):
            sweep(KET, vary=vary, design="lhs", n=n, workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 1024**2 and not list(tmp_path.iterdir())
