"""The classroom: `plasticity app` (a live local web app) and `plasticity lesson` (one self-contained HTML page).

Both teach the feedback loop with the views of notebook 03: a pathway diagram that follows a time slider,
the stages over time against vehicle and the previous setting, the spine gain at 24/48/72 h, and
predict-then-reveal questions kept as data (questions.toml). Bokeh draws them; it is imported only when
a classroom command runs (the `app` extra).
"""
