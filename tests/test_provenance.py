"""Determinism and provenance: same inputs, bit-identical output; saved tables carry and return their provenance."""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import PlasticityError, read_table
from simulator._io import atomic_write, write_table

REGIMEN = ["rapamycin 0.2 nmol icv at -30 min", "ketamine 10 mg/kg ip"]


@pytest.fixture(scope="module")
def result():
    return simulator.simulate(REGIMEN, species="rat", hours=3, params={"k_glutamate": 5.0})


def test_same_inputs_give_bit_identical_timecourses(result):
    again = simulator.simulate(REGIMEN, species="rat", hours=3, params={"k_glutamate": 5.0})
    pd.testing.assert_frame_equal(result.timecourse, again.timecourse, check_exact=True)
    assert result.timecourse.to_numpy().tobytes() == again.timecourse.to_numpy().tobytes()
    assert result.provenance == again.provenance


def test_different_inputs_give_different_provenance(result):
    other = simulator.simulate(REGIMEN, species="rat", hours=3, params={"k_glutamate": 6.0})
    assert other.provenance["parameters"]["k_glutamate"] == 6.0 != result.provenance["parameters"]["k_glutamate"]
    assert not np.array_equal(other.timecourse["glutamate"], result.timecourse["glutamate"])


def test_provenance_records_what_made_the_result(result):
    p = result.provenance
    assert p["model_hash"] == simulator.load_library().hash and len(p["model_hash"]) == 16
    assert p["version"] == simulator.version()
    assert p["species"] == "rat" and p["hours"] == 3 and p["genotype"] == "wild_type"
    assert p["regimen"] == [str(simulator.parse_dose(d)) for d in REGIMEN]
    assert p["parameters"]["k_glutamate"] == 5.0
    assert set(simulator.load_library().pathway.parameters) <= set(p["parameters"])
    assert p["tolerances"] == {"rtol": simulator.Tolerances().rtol, "atol": simulator.Tolerances().atol, "method": simulator.Tolerances().method}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_save_and_read_back_equal(result, tmp_path, suffix):
    path = result.save(tmp_path / f"run{suffix}")
    assert path.is_file()
    df, prov = read_table(path)
    assert prov == _json_roundtrip(result.provenance)
    assert list(df.columns) == list(result.timecourse.columns)
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(df, result.timecourse, check_exact=True)
    else:  # CSV holds decimal text: equal to the last representable digit
        pd.testing.assert_frame_equal(df, result.timecourse, check_exact=False, rtol=1e-15, atol=0)
    expected = [f"run{suffix}"] + ([f"run{suffix}.provenance.json"] if suffix == ".csv" else [])
    assert sorted(f.name for f in tmp_path.iterdir()) == expected  # no temporary file left behind


def test_the_cli_csv_is_plain_with_a_provenance_sidecar(tmp_path):
    """Plain pd.read_csv (default arguments) reads the CLI's CSV: time_h first, every readout; provenance beside it."""
    import json

    from simulator.cli import main

    out = tmp_path / "ketamine.csv"
    assert main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--species", "mouse", "--hours", "3", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    direct = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=3)
    assert list(df.columns) == list(direct.timecourse.columns) and df.columns[0] == "time_h"
    assert len(df) == len(direct.timecourse) and df.dtypes.map(lambda d: d.kind == "f").all()
    side = tmp_path / "ketamine.csv.provenance.json"
    record = json.loads(side.read_text(encoding="utf-8"))
    assert record["table"] == "ketamine.csv" and record["provenance"]["regimen"] == ["ketamine 10 mg/kg ip"]
    assert read_table(out)[1] == record["provenance"]


def test_a_changed_csv_warns_that_its_provenance_may_not_describe_it(result, tmp_path):
    path = result.save(tmp_path / "run.csv")
    path.write_text(path.read_text(encoding="utf-8").replace("time_h", "t", 1))
    with pytest.warns(UserWarning, match="changed after it was written"):
        df, prov = read_table(path)
    assert "t" in df and prov["species"] == "rat"


def test_a_csv_of_an_earlier_version_still_loads_its_provenance(result, tmp_path):
    import json

    path = tmp_path / "old.csv"
    path.write_text("# plasticity-provenance: " + json.dumps({"species": "rat"}) + "\n" + result.timecourse.to_csv(index=False))
    df, prov = read_table(path)
    assert prov == {"species": "rat"} and list(df.columns) == list(result.timecourse.columns)


def _json_roundtrip(obj):
    import json

    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def test_the_cli_writes_the_same_table(tmp_path):
    from simulator.cli import main

    out = tmp_path / "k.parquet"
    assert main(["simulate", "--dose", "ketamine 10 mg/kg ip", "--species", "mouse", "--hours", "2", "--out", str(out)]) == 0
    df, prov = read_table(out)
    direct = simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=2)
    pd.testing.assert_frame_equal(df, direct.timecourse, check_exact=True)
    assert prov["model_hash"] == direct.provenance["model_hash"] and prov["regimen"] == direct.provenance["regimen"]


def test_missing_folder_is_a_clear_error(result, tmp_path):
    with pytest.raises(PlasticityError, match="does not exist"):
        result.save(tmp_path / "no" / "such" / "folder" / "run.csv")


def test_unsupported_suffix(result, tmp_path):
    with pytest.raises(PlasticityError, match=r"unsupported file type '\.xlsx'.*\.csv or \.parquet"):
        result.save(tmp_path / "run.xlsx")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_unwritable_folder_is_a_clear_error(result, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(PlasticityError, match="cannot write"):
            result.save(locked / "run.csv")
    finally:
        locked.chmod(stat.S_IRWXU)


def test_atomic_write_leaves_no_partial_file_on_failure(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old complete content\n")

    def crash(tmp):
        tmp.write_text("half a ta")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, crash)
    assert target.read_text(encoding="utf-8") == "old complete content\n"  # the old file is untouched
    assert [f.name for f in tmp_path.iterdir()] == ["table.csv"]  # and no temporary file is left

    def oserror(tmp):
        tmp.write_text("partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(PlasticityError, match="No space left on device"):
        atomic_write(tmp_path / "new.csv", oserror)
    assert [f.name for f in tmp_path.iterdir()] == ["table.csv"]


def test_write_table_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    df = pd.DataFrame({"time_h": [0.0, 1.0], "x": [1.0, 2.0]})

    def boom(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(PlasticityError, match="writing .*out.csv.* failed"):
        write_table(df, tmp_path / "out.csv", {"a": 1})
    assert not list(tmp_path.iterdir())


def test_read_table_missing_file(tmp_path):
    with pytest.raises(PlasticityError, match="no file"):
        read_table(tmp_path / "missing.parquet")


def test_a_file_in_place_of_the_folder_is_a_clear_error(result, tmp_path):
    """Works as root too: the 'folder' is a plain file, so nothing can be written inside it."""
    (tmp_path / "plain").write_text("not a folder")
    with pytest.raises(PlasticityError, match="cannot (write to|inspect) .*plain"):
        result.save(tmp_path / "plain" / "run.parquet")
