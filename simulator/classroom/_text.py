"""The plain-language panels: what each stage of the loop is, and what the model cannot tell you
(taken from the README's "Limits of the model", so the two never disagree)."""

from __future__ import annotations

import html
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

STAGE_TEXT = [
    ("drug", "The drug in the brain, as a share of its own peak. Most of these drugs are gone within hours."),
    ("glutamate", "The main excitatory messenger. Ketamine-like drugs quieten the inhibitory neurons for a while, "
                  "so glutamate bursts out: this is where the loop starts."),
    ("AMPA", "The receptors that pass the glutamate signal into the next neuron. They are how the burst is felt."),
    ("BDNF", "Brain-derived neurotrophic factor: a growth signal released when AMPA receptors are busy."),
    ("TrkB", "BDNF's receptor. When BDNF binds, TrkB switches on the cell's growth machinery."),
    ("mTORC1", "A switch for making new proteins at the synapse. Rapamycin blocks it."),
    ("synaptic protein", "New building material for synapses (GluA1, PSD-95 ...). It feeds back: it puts more AMPA "
                         "receptors on the surface, and mTORC1 also makes more BDNF. These two arrows are the feedback."),
    ("spines", "Dendritic spines: the small bumps where synapses sit. New ones appear over hours and are kept or lost "
               "over days; the spine gain is the % more spines than a drug-free (vehicle) brain."),
]


def stages_html() -> str:
    """The stage panel as HTML."""
    rows = "".join(f"<dt>{html.escape(n)}</dt><dd>{html.escape(t)}</dd>" for n, t in STAGE_TEXT)
    return (f"<dl class='stages'>{rows}</dl><p>Read the diagram as a relay: each arrow passes on how far the node "
            "before it sits above its drug-free level. The orange arrows close the loop.</p>")


def _readme() -> Path | None:
    for cand in (HERE / "README.md", HERE.parents[1] / "README.md"):
        if cand.is_file():
            return cand
    return None


def limits() -> list[str]:
    """The bullets of the README's "Limits of the model", as Markdown text (empty when no README is found)."""
    path = _readme()
    if path is None:
        return []
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^## Limits of the model\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if not m:
        return []
    items: list[str] = []
    for line in m[1].splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif items and line.startswith("  ") and line.strip():
            items[-1] += " " + line.strip()
    return items


def _inline(md: str) -> str:
    s = html.escape(md, quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", s)


def limits_html() -> str:
    """The "what the model cannot tell you" panel as HTML."""
    items = limits()
    if not items:
        return "<p>The README's list of the model's limits was not found next to the package.</p>"
    lis = "".join(f"<li>{_inline(i)}</li>" for i in items)
    return ("<p>This is a model: a hypothesis written as equations, calibrated on rodent experiments. "
            "What it cannot be trusted for (from the README):</p>" + f"<ul class='limits'>{lis}</ul>")
