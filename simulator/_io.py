"""Writing tables atomically, with provenance that loads back."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from ._errors import PlasticityError

_PREFIX = "# plasticity-provenance: "


def atomic_write(path: str | Path, write) -> Path:
    """Call write(tmp_path) then rename into place, so no partial file is ever seen as complete."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise PlasticityError(f"output: folder '{path.parent}' does not exist; create it or choose another path")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
        os.close(fd)
    except OSError as exc:
        raise PlasticityError(f"output: cannot write to '{path.parent or '.'}' ({exc.strerror}); choose a writable path") from None
    try:
        write(Path(tmp))
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
