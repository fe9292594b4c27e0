"""Execute every notebook in notebooks/ top to bottom in a fresh kernel; any error fails the test.

The kernel is the current interpreter's (the environment the package is installed in), and
PLASTICITY_STATIC=1 makes the widget cells take their static-figure fallback, since nbclient
runs no widget frontend. Each notebook must (re)write its key figure, docs/figures/<notebook>.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PLASTICITY_STATIC", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} is stored with outputs; clear them"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    key_figure = ROOT / "docs" / "figures" / f"{path.stem}.png"  # the README links it
    before = key_figure.stat().st_mtime_ns if key_figure.exists() else -1
    client.execute(env=dict(os.environ))
    assert key_figure.exists() and key_figure.stat().st_mtime_ns > before, f"{path.name} did not save {key_figure.name}"
