"""Writing tables atomically, with provenance that loads back."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from pathlib import Path

import pandas as pd

from ._errors import PlasticityError

_PREFIX = "# plasticity-provenance: "


_KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link"}
_STALE_UNNAMED_S = 600.0  # a part file without a writer pid (older versions) counts as abandoned after this long


def check_output_path(path: str | Path, field: str = "output") -> Path:
    """Refuse a target that is not a regular file or a missing path, before any work.

    An atomic write renames a new file over the target: over a device node (/dev/null), a FIFO or a
    symlink that would replace the node or the link itself, not write into it."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise PlasticityError(f"{field}: cannot inspect '{path}' ({exc.strerror}); choose a writable path") from None
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        hint = "give the path it points to" if stat.S_ISLNK(st.st_mode) else "choose a regular file path"
        raise PlasticityError(f"{field}: '{path}' is {kind}, not a regular file; writes replace the target whole, so {hint}")
    return path


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (other threads may be creating files)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _clean_stale_parts(path: Path) -> None:
    """Remove temporary files of earlier writers of `path` that died mid-write (their pid is gone)."""
    folder = path.parent
    prefix = f".{path.name}."
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".part")]
    except OSError:
        return
    now = time.time()
    for name in names:
        pid = name[len(prefix):].split(".", 1)[0]
        part = folder / name
        try:
            if pid.isdigit():
                if _alive(int(pid)):
                    continue
            elif now - os.lstat(part).st_mtime < _STALE_UNNAMED_S:
                continue
            part.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def atomic_write(path: str | Path, write) -> Path:
    """Call write(tmp_path) then rename into place, so no partial file is ever seen as complete.

    Only a regular file or a missing path is replaced (check_output_path). The new file gets the mode a
    plain open() would give it: the old file's, or 0o666 less the umask (mkstemp makes 0600). The
    temporary file is named `.<name>.<pid>.<random>.part`, so the next write to the same path removes
    those of writers that were killed."""
    path = check_output_path(path)
    if path.parent and not path.parent.exists():
        raise PlasticityError(f"output: folder '{path.parent}' does not exist; create it or choose another path")
    _clean_stale_parts(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=path.parent or ".")
        os.close(fd)
    except OSError as exc:
        raise PlasticityError(f"output: cannot write to '{path.parent or '.'}' ({exc.strerror}); choose a writable path") from None
    try:
        write(Path(tmp))
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        check_output_path(path)  # again: the target may have been replaced while we wrote
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PlasticityError(f"output: writing '{path}' failed ({exc.strerror}); check free disk space and permissions") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(df: pd.DataFrame, path: str | Path, provenance: dict) -> Path:
    """CSV (provenance in a first comment line) or Parquet (provenance in the schema metadata)."""
    path = Path(path)
    suffix = path.suffix.lower()
    meta = json.dumps(provenance, sort_keys=True, default=str)
    if suffix == ".csv":
        def write(tmp: Path) -> None:
            with tmp.open("w") as fh:
                fh.write(_PREFIX + meta + "\n")
                df.to_csv(fh, index=False)
    elif suffix in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        def write(tmp: Path) -> None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"plasticity": meta.encode()})
            pq.write_table(table, tmp)
    else:
        raise PlasticityError(f"output: unsupported file type '{suffix or path.name}'; expected .csv or .parquet")
    return atomic_write(path, write)


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Load a table written by write_table, with its provenance."""
    path = Path(path)
    if not path.is_file():
        raise PlasticityError(f"input: no file '{path}'")
    if path.suffix.lower() == ".csv":
        with path.open() as fh:
            first = fh.readline()
        prov = json.loads(first[len(_PREFIX):]) if first.startswith(_PREFIX) else {}
        return pd.read_csv(path, comment=None, skiprows=1 if prov else 0), prov
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(b"plasticity")
    return table.to_pandas(), (json.loads(meta) if meta else {})
