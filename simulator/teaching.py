"""Teaching tools for the notebooks and the classroom.

- `pathway_snapshots(result, times)`: the loop drawn at a few times; node colour is the fold over
  baseline, arrow width the extra signal an edge carries (its upstream node's fold - 1), feedback in orange.
- `edge_signal(result, times)`: the numbers behind those arrows, as a DataFrame.
- `reveal(prediction, answer)`: predict-then-reveal, the class's predictions beside the model's answers.
- `controls(groups, render, static)`: grouped ipywidgets, with a static fallback when no frontend runs
  (`widgets_available()`; set PLASTICITY_STATIC=1 to force it).
- `EDGES`, `NODES`: the loop as drawn.

Examples:
    >>> from simulator.teaching import pathway_snapshots, reveal
"""

from __future__ import annotations

from .classroom.snapshots import EDGES, NODES, controls, edge_signal, pathway_snapshots, reveal, widgets_available

__all__ = ["EDGES", "NODES", "controls", "edge_signal", "pathway_snapshots", "reveal", "widgets_available"]
