"""MkDocs hook: pages that are computed from the model at build time, so they never go stale.

`<!-- plasticity:show-model -->` in a page becomes the text view of the drug-free model
(`simulator.show_model()`): every state's ODE, assignment and parameter with its value.
`<!-- plasticity:units -->` becomes the tables of units, time-course columns and sweep metrics
(`simulator.model.glossary`).
"""

from __future__ import annotations

MARKER = "<!-- plasticity:show-model -->"
UNITS_MARKER = "<!-- plasticity:units -->"


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - MkDocs hook signature
    if UNITS_MARKER in markdown:
        import simulator
        from simulator.model.glossary import glossary_markdown

        markdown = markdown.replace(UNITS_MARKER, glossary_markdown(simulator.load_library()))
    if MARKER not in markdown:
        return markdown
    import simulator

    text = simulator.show_model([], species="mouse")
    return markdown.replace(MARKER, "```text\n" + text.rstrip() + "\n```")


def on_config(config):  # noqa: ARG001 - MkDocs hook signature
    """The notebooks run in a kernel without a widget front end: their widget cells take the static figure, on Agg."""
    import os

    os.environ.setdefault("PLASTICITY_STATIC", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    return config
