"""The documentation: every public name has a docstring, and the site builds in strict mode with all of them."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import simulator
import simulator.teaching

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("regimens", "sweeps", "analysis", "parameters-and-units", "adding-a-compound", "sbml", "validation", "performance", "errors", "equations", "api")


def _public_objects():
    for name in simulator.__all__:
        obj = getattr(simulator, name)
        yield f"simulator.{name}", obj
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (property, classmethod, staticmethod)) or inspect.isfunction(member) or hasattr(member, "func"):
                    yield f"simulator.{name}.{attr}", getattr(obj, attr) if not isinstance(member, property) else member
    for name in simulator.teaching.__all__:
        obj = getattr(simulator.teaching, name)
        if callable(obj):
            yield f"simulator.teaching.{name}", obj


def test_every_public_name_and_method_has_a_docstring():
    missing = [name for name, obj in _public_objects() if not (getattr(obj, "__doc__", None) or "").strip()]
    assert not missing, f"no docstring: {missing}"
    assert "spine_gain" in simulator.Result.summary.__doc__ and simulator.DoseResponse.summary.__doc__


def test_the_site_builds_strict_and_its_api_reference_lists_every_public_name(tmp_path):
    if not os.environ.get("CI"):
        pytest.importorskip("mkdocstrings", reason="the docs extra: pip install -e '.[docs]'")
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for page in PAGES:
        assert (site / page / "index.html").is_file(), page
    api = (site / "api" / "index.html").read_text()
    anchors = set(re.findall(r'id="(simulator\.[\w.]+)"', api))
    want = {f"simulator.{n}" for n in simulator.__all__ if n != "teaching"} | {f"simulator.teaching.{n}" for n in simulator.teaching.__all__}
    assert not want - anchors, f"missing from the API reference: {sorted(want - anchors)}"
    equations = (site / "equations" / "index.html").read_text()
    assert "spine_density" in equations and "mtorc1" in equations  # generated from the model files at build time
