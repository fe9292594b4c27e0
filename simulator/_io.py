"""Writing tables atomically, with provenance that loads back."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import PlasticityError
from ._limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_OUTPUT_ROWS, MAX_TABLE_BYTES

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


def read_regular(path: str | Path, field: str, max_bytes: int, *, follow: bool = False) -> bytes:
    """The bytes of a file we did not write ourselves, read only if it is a regular file of at most `max_bytes`.

    Opened without following a final symlink (unless `follow`: a path the caller named) and without
    blocking (a FIFO or a device would otherwise hang or stream forever), then checked with fstat on the
    open descriptor, so it cannot be swapped in between."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise PlasticityError(f"{field}: '{path}' is a symbolic link; only regular files are read, give the file itself") from None
        raise PlasticityError(f"{field}: cannot read '{path}' ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise PlasticityError(f"{field}: '{path}' is {kind}; only regular files are read")
        if st.st_size > max_bytes:
            raise PlasticityError(f"{field}: '{path}' is {st.st_size:,} bytes, over the limit of {max_bytes:,}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(st.st_size + 1)  # not max_bytes + 1: read() allocates what it is asked for
    finally:
        os.close(fd)
    if len(data) > st.st_size:  # something is still writing it
        raise PlasticityError(f"{field}: '{path}' grew while it was read; read it again once it is complete")
    return data


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str, strings: re.Pattern = _JSON_STRING) -> int:
    """Deepest nesting of brackets and braces outside string literals: one linear pass, no recursion."""
    depth = deepest = 0
    for m in _JSON_BRACKET.finditer(strings.sub('""', text)):
        depth += 1 if m[0] in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_json(path: str | Path, field: str, max_bytes: int = MAX_JSON_BYTES):
    """A JSON file someone may have sent: a regular file, at most MAX_JSON_BYTES, nested at most MAX_JSON_DEPTH."""
    data = read_regular(path, field, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlasticityError(f"{field}: '{path}' is not UTF-8 text; expected a JSON file") from None
    depth = nesting_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise PlasticityError(f"{field}: '{path}' nests {depth} levels deep, over the limit of {MAX_JSON_DEPTH} (MAX_JSON_DEPTH)")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise PlasticityError(f"{field}: '{path}' is not valid JSON ({exc})") from None


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
            units = provenance.get("units") or {}
            if units:  # each column's unit also on its own field, where Arrow readers (R, polars, DuckDB) look
                schema = pa.schema([f.with_metadata({b"unit": str(units[f.name]).encode()}) if f.name in units else f for f in table.schema],
                                   metadata=table.schema.metadata)
                table = table.cast(schema)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"plasticity": meta.encode()})
            pq.write_table(table, tmp)

        return atomic_write(path, write)
    raise PlasticityError(f"output: unsupported file type '{suffix or path.name}'; expected .csv or .parquet")


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Load a table written by `Result.save` or `--out`, with its provenance.

    CSV: the provenance comes from the `<file>.provenance.json` sidecar ({} without one; a warning when the
    CSV changed after it was written); files of earlier versions, with a `# plasticity-provenance:` first
    line, still load. Parquet: from the schema metadata.

    Examples:
        >>> df, provenance = simulator.read_table("ketamine.csv")
    """
    import hashlib
    import warnings

    path = Path(path)
    if not path.is_file():
        raise PlasticityError(f"input: no file '{path}'")
    if path.suffix.lower() == ".csv":
        data = read_regular(path, "input", MAX_TABLE_BYTES, follow=True)  # the path the caller named; its sidecar is not followed
        first = data.split(b"\n", 1)[0].decode(errors="replace")
        if first.startswith(_PREFIX):  # written by an earlier version
            return _rows_within(_read_csv(data, path, skip=1), path), _provenance_text(first[len(_PREFIX):], path)
        prov: dict = {}
        side = sidecar_path(path)
        if os.path.lexists(side):
            record = load_json(side, "input")
            if not isinstance(record, dict) or not isinstance(record.get("provenance"), dict):
                raise PlasticityError(f"input: '{side}' is not a provenance file (expected an object with 'provenance'); delete it or restore it")
            prov = record["provenance"]
            if record.get("sha256") != hashlib.sha256(data).hexdigest():
                warnings.warn(f"'{path}' changed after it was written: its provenance ('{side.name}') may not describe it", stacklevel=2)
        return _rows_within(_read_csv(data, path), path), prov
    import pyarrow.parquet as pq

    try:
        meta = (pq.read_schema(path).metadata or {}).get(b"plasticity")
        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise PlasticityError(f"input: '{path}' is not a readable Parquet file ({type(exc).__name__})") from None
    _check_rows(rows, path)
    return pq.read_table(path).to_pandas(), (_provenance_text(meta.decode("utf-8", "replace"), path) if meta else {})


def _read_csv(data: bytes, path: Path, skip: int = 0) -> pd.DataFrame:
    import io

    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(data), skiprows=skip, nrows=MAX_OUTPUT_ROWS + 1)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError and EmptyDataError are ValueErrors
        raise PlasticityError(f"input: '{path}' is not a readable CSV table ({str(exc).splitlines()[0][:200]})") from None


def _check_rows(rows: int, path: Path) -> None:
    if rows > MAX_OUTPUT_ROWS:
        raise PlasticityError(f"input: '{path}' has more than {MAX_OUTPUT_ROWS:,} rows (MAX_OUTPUT_ROWS); split it or read it with pandas")


def _rows_within(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    _check_rows(len(df), path)
    return df


def _provenance_text(text: str, path: Path) -> dict:
    """Provenance stored inline (Parquet metadata, an old CSV's first line), under the same depth cap as a sidecar."""
    if nesting_depth(text) > MAX_JSON_DEPTH:
        raise PlasticityError(f"input: the provenance of '{path}' nests deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)")
    try:
        prov = json.loads(text)
    except ValueError:
        raise PlasticityError(f"input: the provenance of '{path}' is not valid JSON") from None
    if not isinstance(prov, dict):
        raise PlasticityError(f"input: the provenance of '{path}' is not a JSON object")
    return prov
