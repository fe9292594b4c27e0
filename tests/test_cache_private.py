"""The kernel cache holds code that runs: a folder or file others can write to is refused, not loaded."""

from __future__ import annotations

import os
import sys

import pytest

from simulator import PlasticityError
from simulator.engine import native as _native

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners and modes"),
    pytest.mark.skipif(not _native.available(), reason="needs numba (the fast extra)"),
]

PLANTED = "import pathlib; pathlib.Path(__file__).with_name('PWNED').write_text('ran')\n"


@pytest.fixture
def fresh_kernel(ket, monkeypatch, tmp_path):
    """kernel() as in a new process, with PLASTICITY_CACHE at a folder of the test's choosing."""
    monkeypatch.setattr(_native, "_modules", {})
    cache = tmp_path / "cache"

    def load():
        monkeypatch.setenv("PLASTICITY_CACHE", str(cache))
        return _native.kernel(ket.compiled)

    return cache, load


def _plant(cache) -> None:
    """A module file where the kernel would be (any name: the folder is what we judge)."""
    cache.mkdir(mode=0o700, exist_ok=True)
    (cache / "plasticity_kernel_0000000000000000.py").write_text(PLANTED)


def test_world_writable_cache_folder_is_refused(fresh_kernel):
    cache, load = fresh_kernel
    _plant(cache)
    os.chmod(cache, 0o777)
    with pytest.raises(PlasticityError, match="PLASTICITY_CACHE: the kernel cache .* can be written by others"):
        load()
    assert not (cache / "PWNED").exists()


def test_writable_file_in_cache_is_refused(fresh_kernel):
    cache, load = fresh_kernel
    _plant(cache)
    os.chmod(cache / "plasticity_kernel_0000000000000000.py", 0o666)
    with pytest.raises(PlasticityError, match="not this user's private file"):
        load()


@pytest.mark.skipif(os.name != "posix" or os.getuid() != 0, reason="chown to another user needs root")
def test_cache_of_another_user_is_refused(fresh_kernel):
    cache, load = fresh_kernel
    _plant(cache)
    os.chown(cache, 12345, 12345)
    with pytest.raises(PlasticityError, match="owned by uid 12345"):
        load()
    os.chown(cache, 0, 0)
    os.chown(cache / "plasticity_kernel_0000000000000000.py", 12345, os.getgid())
    with pytest.raises(PlasticityError, match="owner uid 12345"):
        load()


def test_private_folder_passes(tmp_path):
    cache = tmp_path / "c"
    cache.mkdir(mode=0o700)
    (cache / "k.py").write_text("x = 1\n")
    os.chmod(cache / "k.py", 0o644)
    _native.check_private(cache)
    _native.check_private(tmp_path / "missing")


def _numba_default_index_paths(module) -> list[str]:
    """Where numba, left to itself, would read each of the kernel module's cached compilations from."""
    from numba.core import caching

    paths = []
    for disp in vars(module).values():
        if hasattr(disp, "py_func") and hasattr(disp, "_cache"):
            cache = caching.FunctionCache(disp.py_func)  # numba's own locator choice: NUMBA_CACHE_DIR when set
            paths.append(cache._cache_file._index_path)
    return paths


def test_planted_pickle_in_shared_numba_cache_never_runs(ket, monkeypatch, tmp_path):
    """NUMBA_CACHE_DIR at a world-writable folder with a pickle planted where numba would look: it never loads."""
    import pickle

    from numba.core import config

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    private = tmp_path / "private"
    marker = tmp_path / "PWNED"
    monkeypatch.setattr(config, "CACHE_DIR", str(shared))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(shared))
    monkeypatch.setenv("PLASTICITY_CACHE", str(private))
    monkeypatch.setattr(_native, "_modules", {})
    module = _native.kernel(ket.compiled)  # compiles (or loads) into the private folder only

    class Planted:
        def __reduce__(self):
            return (os.system, (f"id > {marker}",))

    planted = _numba_default_index_paths(module)
    assert planted and all(str(p).startswith(str(shared)) for p in planted)
    for path in planted:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(Planted(), f)
    # a fresh load, as a new process would do it: the kernel module is executed again and every function compiled or loaded
    monkeypatch.setattr(_native, "_modules", {})
    for name in [n for n in sys.modules if n.startswith("plasticity_kernel_")]:
        monkeypatch.delitem(sys.modules, name)
    module = _native.kernel(ket.compiled)
    for disp in vars(module).values():
        if hasattr(disp, "_cache") and hasattr(disp._cache, "_cache_path"):
            assert str(disp._cache._cache_path).startswith(str(private)), disp
    assert not marker.exists(), "a pickle planted in NUMBA_CACHE_DIR ran"


def test_parent_writable_by_others_is_refused(tmp_path):
    parent = tmp_path / "open"
    parent.mkdir()
    os.chmod(parent, 0o777)
    cache = parent / "cache"
    cache.mkdir(mode=0o700)
    with pytest.raises(PlasticityError, match="parent folder .*open.* can be written by others"):
        _native.check_private(cache)
    with pytest.raises(PlasticityError, match="parent folder"):
        _native.check_private(cache / "missing")
