"""The user's private cache folder: where it is, the check that nobody else can write there, and pickled entries in it.

It holds code and data this process loads without re-checking them: the compiled kernel's module and
numba's pickled compilations (engine/native.py), and the parsed model library (model/files.py), so it
must be this user's alone.
"""

from __future__ import annotations

import os
import pickle
import stat
import tempfile
from pathlib import Path

from ._errors import PlasticityError


def cache_dir() -> Path:
    """Where generated kernels and numba's cache live: $PLASTICITY_CACHE, else the user cache."""
    env = os.environ.get("PLASTICITY_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "plasticity" / "native"


def _writable_by_others(st: os.stat_result) -> str | None:
    """Who besides the owner may write: others always count; the group unless it is the user's own
    primary group (user-private groups, umask 002, make files group-writable by the user alone)."""
    if st.st_mode & 0o002:
        return "others"
    if st.st_mode & 0o020 and st.st_gid != os.getgid():
        return f"group {st.st_gid}"
    return None


def _folder_problem(st: os.stat_result) -> str | None:
    uid = os.getuid()
    if st.st_uid != uid:
        return f"is owned by uid {st.st_uid}, not by this user (uid {uid})"
    who = _writable_by_others(st)
    if who:
        return f"can be written by {who} (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def check_private(path: Path) -> None:
    """Refuse a cache folder (or a file in it) that someone else owns or that other users can write to.

    The cache holds code this process runs: a kernel module and numba's pickled compilations. Anyone who
    can write to the folder, or to any folder above it (they could rename it and put their own in its
    place), could plant a file that runs on the next sweep. So the folder and each of its parents, up to
    the first one owned by root, must be this user's and writable by nobody else. A missing path is fine
    (we create it, private)."""
    if os.name != "posix":
        return
    path = Path(os.path.abspath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        problem = _folder_problem(st)
        if problem:
            raise PlasticityError(
                f"PLASTICITY_CACHE: the kernel cache '{path}' {problem}; code there runs on the next sweep, so it must be private: "
                "chmod go-w it, or set PLASTICITY_CACHE to a folder of your own"
            )
    _check_parents(path)
    if st is not None and stat.S_ISDIR(st.st_mode):
        _check_entries(path)


def _check_parents(path: Path) -> None:
    """Each existing folder above `path`, up to the first owned by root, is this user's and not writable by others."""
    for parent in path.parents:
        try:
            pst = os.stat(parent)
        except FileNotFoundError:
            continue
        sticky_or_closed = pst.st_mode & stat.S_ISVTX or not _writable_by_others(pst)
        if pst.st_uid == 0 and sticky_or_closed:
            if os.getuid() != 0:
                return  # a system folder (/home, or /tmp whose sticky bit keeps others from renaming our entries): trusted
            continue  # root's own folders: the walk goes on to /
        problem = _folder_problem(pst)
        if problem:
            raise PlasticityError(
                f"PLASTICITY_CACHE: the kernel cache's parent folder '{parent}' {problem}; whoever can write there can replace "
                "the cache with code that runs on the next sweep: set PLASTICITY_CACHE to a folder of your own"
            )


def _check_entries(path: Path) -> None:
    uid = os.getuid()
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            continue
        est = entry.stat(follow_symlinks=False)
        if est.st_uid != uid or _writable_by_others(est) or entry.is_symlink():
            raise PlasticityError(
                f"PLASTICITY_CACHE: '{entry.path}' in the kernel cache is not this user's private file (owner uid {est.st_uid}, "
                f"mode {stat.S_IMODE(est.st_mode):o}{', a symbolic link' if entry.is_symlink() else ''}); "
                "remove it, or set PLASTICITY_CACHE to a folder of your own"
            )


MAX_ENTRIES = 32  # per kind: a models folder edited many times leaves at most this many parsed copies


def load_entry(kind: str, key: str) -> object | None:
    """The object saved under `key` in the cache's `kind` folder; None when there is none, when it cannot be
    read back (another version of a class), or when the folder is not private (then nothing there is trusted)."""
    folder = cache_dir() / kind
    try:
        check_private(folder)
        with open(folder / f"{key}.pickle", "rb") as f:
            return pickle.load(f)
    except Exception:  # noqa: BLE001 - absent, stale (another version of a class) or truncated: a miss, rebuilt and saved again
        return None


def save_entry(kind: str, key: str, value: object) -> None:
    """Save `value` under `key` (written whole then renamed, so a reader never sees half of it); keep the newest
    MAX_ENTRIES. A cache that cannot be written or is not private is skipped: it only saves time."""
    folder = cache_dir() / kind
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_private(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / f"{key}.pickle")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            old.unlink(missing_ok=True)
    except (OSError, PlasticityError):
        return
