"""The parsed model library is saved in the private user cache and read back by a fresh process (no pint, no parsing),
and only while the files and the code that parsed them are the same."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from simulator.model import files


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder, and load_library as in a new process (its in-memory cache cleared)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLASTICITY_CACHE", str(folder))
    files._load_library.cache_clear()
    yield folder
    files._load_library.cache_clear()


def _no_parsing(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the model files were parsed, not read from the cache")

    monkeypatch.setattr(files, "load_pathway", refuse)


def test_second_load_reads_the_saved_library(cache, monkeypatch):
    first = files.load_library()
    assert len(list((cache / "library").glob("*.pickle"))) == 1
    files._load_library.cache_clear()
    _no_parsing(monkeypatch)
    second = files.load_library()
    assert second == first and second is not first


def test_an_edited_file_is_parsed_again(cache, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(files.models_dir(), root)
    before = files.load_library(root)
    text = (root / "species.toml").read_text(encoding="utf-8")
    (root / "species.toml").write_text("# an edit\n" + text, encoding="utf-8")
    files._load_library.cache_clear()
    after = files.load_library(root)
    assert after.hash != before.hash and after.species == before.species
    assert len(list((cache / "library").glob("*.pickle"))) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners and modes")
def test_a_cache_others_can_write_is_not_read(cache, monkeypatch):
    files.load_library()
    os.chmod(cache / "library", 0o777)
    files._load_library.cache_clear()
    _no_parsing(monkeypatch)
    with pytest.raises(AssertionError, match="parsed, not read"):
        files.load_library()


def test_a_fresh_process_loads_the_library_without_pint(cache):
    code = "import sys; from simulator.model.files import load_library; load_library(); print('pint' in sys.modules)"
    env = {**os.environ, "PLASTICITY_CACHE": str(cache)}
    run = [subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, encoding="utf-8", env=env).stdout.strip()
           for _ in range(2)]
    assert run == ["True", "False"]  # the first parses (pint converts the units) and saves; the second reads what it saved
