"""MkDocs hook: pages that are computed from the model at build time, so they never go stale.

`<!-- plasticity:show-model -->` in a page becomes the text view of the drug-free model
(`simulator.show_model()`): every state's ODE, assignment and parameter with its value.
"""

from __future__ import annotations

MARKER = "<!-- plasticity:show-model -->"


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - MkDocs hook signature
    if MARKER not in markdown:
        return markdown
    import simulator

    text = simulator.show_model([], species="mouse")
    return markdown.replace(MARKER, "```text\n" + text.rstrip() + "\n```")
