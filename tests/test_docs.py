"""The documentation: every public name has a docstring, and the site builds in strict mode with all of them."""

from __future__ import annotations

import importlib
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
PAGES = ("getting-started", "install", "regimens", "sweeps", "analysis", "parameters-and-units", "adding-a-compound", "sbml", "validation", "performance", "errors", "equations", "api")


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


def _resolves(dotted: str) -> bool:
    """`simulator.a.b` names something the package has: an attribute, or a module that imports."""
    obj, name = simulator, "simulator"
    for part in dotted.split(".")[1:]:
        name += "." + part
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(name)
        except ImportError:
            return False
    return True


def test_no_page_names_what_the_package_does_not_have():
    pages = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
    bad = [(p.name, m) for p in pages for m in re.findall(r"(?<![\w/])simulator(?:\.[A-Za-z_]\w*)+", p.read_text(encoding="utf-8"))
           if not _resolves(m)]
    assert not bad, bad


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the build runs the notebooks (a few minutes; longer when the cores are shared)
def test_the_site_builds_strict_and_its_api_reference_lists_every_public_name(tmp_path):
    if not os.environ.get("CI"):
        pytest.importorskip("mkdocstrings", reason="the docs extra: pip install -e '.[docs]'")
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
                         cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=1700)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for page in PAGES:
        assert (site / page / "index.html").is_file(), page
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="(simulator\.[\w.]+)"', api))
    want = {f"simulator.{n}" for n in simulator.__all__ if n != "teaching"} | {f"simulator.teaching.{n}" for n in simulator.teaching.__all__}
    assert not want - anchors, f"missing from the API reference: {sorted(want - anchors)}"
    equations = (site / "equations" / "index.html").read_text(encoding="utf-8")
    assert "spine_density" in equations and "mtorc1" in equations  # generated from the model files at build time
    # docstring examples are code, not prose run together (Google 'Examples:' sections)
    assert "&gt;&gt;&gt;" in api and not re.search(r"<(p|blockquote)>\s*&gt;&gt;&gt;|<blockquote>\s*<blockquote>", api)
    assert "10<strong>" not in (site / "sweeps" / "index.html").read_text(encoding="utf-8")  # 10**9 is code, not bold
    # every notebook is a page, executed, with its figures inline
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = (site / "notebooks" / nb.stem / "index.html").read_text(encoding="utf-8")
        assert "data:image/png;base64" in html, f"{nb.name} shows no figure"
    # nothing loads from a CDN: every script and stylesheet ships with the site (the code colours included)
    remote = []
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        remote += [(page.name, u) for u in re.findall(r"<(?:script|link)\b[^>]*?(?:src|href)=[\"'](https?://[^\"']+)", text)]
    assert not remote, remote[:5]
    assert 'class="highlight"' in (site / "getting-started" / "index.html").read_text(encoding="utf-8")


def test_validation_table_is_compact_with_details_on_click():
    """The report's table fits a laptop screen: five short columns, the rest of each row under a <details>."""
    import pandas as pd

    from simulator.validation.report import markdown

    row = dict(id="1a", item=1, set="calibration", title="Mouse brain ketamine peaks within 15 min", confidence="R", expected="< 5% of peak",
               simulated=12.0, low=0.0, high=15.0, unit="min", status="pass", source="Wu C 2020 | Fig 2", note="", paper="")
    text = markdown(pd.DataFrame([row]), pd.DataFrame(columns=["parameter", "value", "unit", "range", "runs", "note", "source"]))
    line = next(x for x in text.splitlines() if x.startswith("| 1a |"))
    assert line.count(" | ") == 5 and "<details><summary>more</summary>" in line and "&lt; 5% of peak" in line and "Wu C 2020 / Fig 2" in line
