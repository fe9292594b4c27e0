"""Writing tables atomically, with provenance that loads back."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import PlasticityError

if TYPE_CHECKING:  # pandas loads on first use: `plasticity --help` imports this module
    import pandas as pd

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


def atomic_write(path: str | Path, write, *, clean: bool = True) -> Path:
    """Call write(tmp_path) then rename into place, so no partial file is ever seen as complete.

    Only a regular file or a missing path is replaced (check_output_path). The new file gets the mode a
    plain open() would give it: the old file's, or 0o666 less the umask (mkstemp makes 0600). The
    temporary file is named `.<name>.<pid>.<random>.part`, so the next write to the same path removes
    those of writers that were killed (`clean=False` skips that listing of the folder: a sweep clears its
    folder once, under its lock, rather than once per chunk)."""
    path = check_output_path(path)
    if path.parent and not path.parent.exists():
        raise PlasticityError(f"output: folder '{path.parent}' does not exist; create it or choose another path")
    if clean:
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


SIDECAR_SUFFIX = ".provenance.json"


def sidecar_path(path: str | Path) -> Path:
    """Where the provenance of a CSV table lives: `<file>.provenance.json` beside it."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_table(df: pd.DataFrame, path: str | Path, provenance: dict) -> Path:
    """A plain CSV with its provenance in a `<file>.provenance.json` sidecar, or Parquet (provenance in the schema metadata).

    The CSV has no comment line: `pd.read_csv`, R, Excel and `csv` read it as is. The sidecar records the
    CSV's SHA-256, so `read_table` can tell when the table was changed after it was written."""
    import hashlib

    path = Path(path)
    suffix = path.suffix.lower()
    meta = json.dumps(provenance, sort_keys=True, default=str)
    if suffix == ".csv":
        digest = hashlib.sha256()

        def write_csv(tmp: Path) -> None:
            with tmp.open("w", newline="") as fh:
                df.to_csv(fh, index=False)
            with tmp.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)

        atomic_write(path, write_csv)
        side = {"table": path.name, "sha256": digest.hexdigest(), "provenance": json.loads(meta)}
        atomic_write(sidecar_path(path), lambda tmp: tmp.write_text(json.dumps(side, indent=1, sort_keys=True) + "\n"))
        return path
    if suffix in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        def write(tmp: Path) -> None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"plasticity": meta.encode()})
            pq.write_table(table, tmp)

        return atomic_write(path, write)
    raise PlasticityError(f"output: unsupported file type '{suffix or path.name}'; expected .csv or .parquet")


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Load a table written by `Result.save` or `--out`, with its provenance.

    CSV: the provenance comes from the `<file>.provenance.json` sidecar ({} without one; a warning when the
    CSV changed after it was written); files of earlier versions, with a `# plasticity-provenance:` first
    line, still load. Parquet: from the schema metadata.

    >>> df, provenance = simulator.read_table("ketamine.csv")
    """
    import hashlib
    import warnings

    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise PlasticityError(f"input: no file '{path}'")
    if path.suffix.lower() == ".csv":
        data = path.read_bytes()
        first = data.split(b"\n", 1)[0].decode(errors="replace")
        if first.startswith(_PREFIX):  # written by an earlier version
            return pd.read_csv(path, skiprows=1), json.loads(first[len(_PREFIX):])
        prov: dict = {}
        side = sidecar_path(path)
        if side.is_file():
            try:
                record = json.loads(side.read_text())
                prov = record["provenance"]
            except (ValueError, KeyError, TypeError) as exc:
                raise PlasticityError(f"input: '{side}' is not a provenance file ({exc}); delete it or restore it") from None
            if record.get("sha256") != hashlib.sha256(data).hexdigest():
                warnings.warn(f"'{path}' changed after it was written: its provenance ('{side.name}') may not describe it", stacklevel=2)
        return pd.read_csv(path), prov
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(b"plasticity")
    return table.to_pandas(), (json.loads(meta) if meta else {})
