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


def handout_html(prompts: list[str], path: Path = TEXT) -> str:
    """The printed handout's text: every question with room for a prediction, then the two panels."""
    qs = "".join(f"<li><p>{html.escape(p)}</p><p class='blank'>My prediction: ______________________</p></li>" for p in prompts)
    return ("<h2>Predict, then reveal</h2><p>Write down a prediction for each question before you look at the model's "
            f"answer.</p><ol class='handout'>{qs}</ol><h2>The stages</h2>{stages_html(path)}"
            f"<h2>What the model cannot tell you</h2>{limits_html(path)}")
