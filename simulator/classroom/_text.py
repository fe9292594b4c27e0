"""The plain-language panels: what each stage of the loop is, and what the model cannot tell you.

Their words live in text.toml beside this module, written for students (the README's limits are written for
developers and are not copied here)."""

from __future__ import annotations

import html
from pathlib import Path

from ._catalogue import read_toml

TEXT = Path(__file__).resolve().parent / "text.toml"


def panel_text(path: Path = TEXT) -> dict[str, dict]:
    """The two panels' words: {'stages': {intro, items: [[name, text], ...]}, 'limits': {intro, items: [text, ...]}}."""
    return read_toml(path)


def stages_html(path: Path = TEXT) -> str:
    """The stage panel as HTML."""
    t = panel_text(path)["stages"]
    rows = "".join(f"<dt>{html.escape(n)}</dt><dd>{html.escape(d)}</dd>" for n, d in t["items"])
    return f"<dl class='stages'>{rows}</dl><p>{html.escape(t['intro'])}</p>"


def limits_html(path: Path = TEXT) -> str:
    """The "what the model cannot tell you" panel as HTML."""
    t = panel_text(path)["limits"]
    lis = "".join(f"<li>{html.escape(i)}</li>" for i in t["items"])
    return f"<p>{html.escape(t['intro'])}</p><ul class='limits'>{lis}</ul>"
