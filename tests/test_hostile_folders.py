"""A received sweep folder is data, never trusted (issue 26): links, FIFOs, devices, deep or endless manifests,
emptied or edited chunks, and another custom metric's rows.

Each case ends in the fresh run's rows or in one PlasticityError naming the file, writes nothing outside the
folder, and never blocks (a FIFO is opened without waiting for a writer).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import simulator
from simulator import PlasticityError

KET = "ketamine 10 mg/kg ip"
KW = dict(vary={"dose:0": [0.5, 1.0, 2.0]}, hours=6, chunk_size=1, workers=1, metrics=["mtorc1_peak_fold"])


@pytest.fixture(scope="module")
def fresh():
    return simulator.sweep(KET, **KW)


@pytest.fixture
def folder(tmp_path, fresh):
    out = tmp_path / "s.parquet"
    pd.testing.assert_frame_equal(simulator.sweep(KET, out=out, **KW), fresh, check_exact=True)
    return out


def _victim(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    return victim


def test_a_planted_lock_candidate_link_is_never_written_through(tmp_path, folder, fresh):
    """`_lock.<pid>.tmp -> victim` for this very pid: the link is removed, the victim keeps its bytes."""
    victim = _victim(tmp_path)
    (folder / f"_lock.{os.getpid()}.tmp").symlink_to(victim)
    (folder / "chunk-000001.parquet").unlink()
    pd.testing.assert_frame_equal(simulator.sweep(KET, out=folder, **KW), fresh, check_exact=True)
    assert victim.read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("name", ["_lock", "_manifest.json"])
def test_a_fifo_lock_or_manifest_is_refused_without_blocking(folder, name):
    (folder / name).unlink(missing_ok=True)
    os.mkfifo(folder / name)
    with pytest.raises(PlasticityError, match=name.replace(".", r"\.")):
        simulator.sweep(KET, out=folder, **KW)


@pytest.mark.parametrize("target", ["/dev/zero", "victim"])
def test_a_manifest_link_is_refused_and_its_target_untouched(tmp_path, folder, target):
    victim = _victim(tmp_path)
    (folder / "_manifest.json").unlink()
    (folder / "_manifest.json").symlink_to(victim if target == "victim" else target)
    with pytest.raises(PlasticityError, match="symbolic link"):
        simulator.sweep(KET, out=folder, **KW)
    assert victim.read_text(encoding="utf-8") == "precious"


def test_a_deep_or_huge_manifest_is_one_typed_error(folder):
    (folder / "_manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(PlasticityError, match="MAX_JSON_DEPTH"):
        simulator.sweep(KET, out=folder, **KW)
    with open(folder / "_manifest.json", "wb") as fh:  # sparse: 100 MB of zeros on no disk
        fh.truncate(100 * 2**20)
    with pytest.raises(PlasticityError, match="over the limit"):
        simulator.sweep(KET, out=folder, **KW)


def _rewrite(path, df):
    """Write `df` over a chunk keeping its metadata (its key and recorded hash): what a forger would do."""
    meta = pq.read_schema(path).metadata
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(meta), path)


@pytest.mark.parametrize("edit", ["emptied", "edited value", "edited member", "edited sample"])
def test_a_forged_chunk_is_recomputed_and_the_resume_equals_the_fresh_run(folder, fresh, edit):
    path = folder / "chunk-000001.parquet"
    df = pd.read_parquet(path)
    if edit == "emptied":
        df = df.iloc[:0]
    elif edit == "edited value":
        df["mtorc1_peak_fold"] = 123.0
    elif edit == "edited member":
        df["member"] = 7
    else:
        df["dose:0"] = 123.0
    _rewrite(path, df)
    with pytest.warns(UserWarning, match="do not hold what this sweep wrote"):
        resumed = simulator.sweep(KET, out=folder, **KW)
    pd.testing.assert_frame_equal(resumed, fresh, check_exact=True)


@pytest.mark.parametrize("kind", ["link", "fifo", "folder"])
def test_a_chunk_that_is_not_a_regular_file_is_recomputed(tmp_path, folder, fresh, kind):
    path = folder / "chunk-000002.parquet"
    victim = tmp_path / "elsewhere.parquet"
    path.rename(victim)
    if kind == "link":
        path.symlink_to(victim)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    if kind == "folder":  # a folder under a chunk's name is not removed for the user: one clear error
        with pytest.raises(PlasticityError, match="chunk-000002.parquet' is a folder"):
            simulator.sweep(KET, out=folder, **KW)
        return
    with pytest.warns(UserWarning, match="unreadable"):
        pd.testing.assert_frame_equal(simulator.sweep(KET, out=folder, **KW), fresh, check_exact=True)
    assert victim.is_file() and path.is_file() and not path.is_symlink()


def _peak(scale):
    def metric(t, readouts, vehicle):
        return {"custom": scale * np.max(readouts["mtorc1"], axis=-1)}

    return metric


def test_a_second_sweep_with_another_custom_metric_gets_its_own_values(tmp_path):
    out = tmp_path / "m.parquet"
    kw = dict(vary={"dose:0": [1.0, 2.0]}, hours=6, chunk_size=1, workers=1)
    one = simulator.sweep(KET, out=out, metrics=[_peak(1.0)], **kw)
    with pytest.raises(PlasticityError, match="different sweep"):  # another closure constant: another sweep, not its rows
        simulator.sweep(KET, out=out, metrics=[_peak(2.0)], **kw)
    two = simulator.sweep(KET, out=tmp_path / "m2.parquet", metrics=[_peak(2.0)], **kw)
    np.testing.assert_allclose(two["custom"], 2 * one["custom"])
    lam1 = lambda t, r, v: {"custom": np.max(r["mtorc1"], axis=-1)}  # noqa: E731 - two lambdas of one name
    lam2 = lambda t, r, v: {"custom": np.min(r["mtorc1"], axis=-1)}  # noqa: E731
    first = simulator.sweep(KET, out=tmp_path / "l.parquet", metrics=[lam1], **kw)
    with pytest.raises(PlasticityError, match="different sweep"):
        simulator.sweep(KET, out=tmp_path / "l.parquet", metrics=[lam2], **kw)
    pd.testing.assert_frame_equal(simulator.sweep(KET, out=tmp_path / "l.parquet", metrics=[lam1], **kw), first, check_exact=True)


def test_a_custom_metric_that_cannot_be_fingerprinted_needs_a_version(tmp_path):
    handle = open(os.devnull)  # noqa: SIM115 - a value with no content to hash

    def uses_a_file(t, readouts, vehicle):
        return {"custom": np.max(readouts["mtorc1"], axis=-1) + 0 * len(handle.name)}

    kw = dict(vary={"dose:0": [1.0]}, hours=6, chunk_size=1, workers=1, metrics=[uses_a_file])
    try:
        with pytest.raises(PlasticityError, match="metric_version"):
            simulator.sweep(KET, out=tmp_path / "f.parquet", **kw)
        uses_a_file.metric_version = "1"
        assert list(simulator.sweep(KET, out=tmp_path / "f.parquet", **kw)["custom"])
    finally:
        handle.close()
