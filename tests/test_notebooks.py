"""Execute every notebook in notebooks/ top to bottom in a fresh kernel; any error fails the test.

The kernel is the current interpreter's (the environment the package is installed in), and
PLASTICITY_STATIC=1 makes the widget cells take their static-figure fallback, since nbclient
runs no widget frontend. Each notebook saves its key figure, <notebook>.png, into PLASTICITY_FIGURES
(./figures beside the notebook when unset), never into docs/: a reader's run leaves the repository's docs alone.
The docs site shows the notebooks executed, with their figures (mkdocs-jupyter).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NO_RANGE_WARNINGS = {"04_sweeps_and_dose_response"}  # its population stays inside the documented ranges


def _docs_state() -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (ROOT / "docs").rglob("*") if p.is_file() and "notebooks" not in p.parts}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PLASTICITY_STATIC", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} is stored with outputs; clear them"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    docs = _docs_state()
    client.execute(env=dict(os.environ))
    assert (tmp_path / f"{path.stem}.png").exists(), f"{path.name} did not save its key figure {path.stem}.png"
    assert _docs_state() == docs, f"{path.name} wrote into docs/"
    if path.stem in NO_RANGE_WARNINGS:
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert not re.search(r"(outside its|beyond its) documented range", text), f"{path.name} reaches past a documented range"
