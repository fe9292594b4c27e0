"""Progress bars for long work (validate, lesson, dose_response, sweep): tqdm's auto bar, a widget in a notebook and
a line on a terminal, shown by default where someone is watching."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from ._notice import QUIET_ENV


def watched() -> bool:
    """True in a Jupyter notebook or when stderr is a terminal (not in a log, a pipe or a test); PLASTICITY_QUIET=1 says no."""
    if os.environ.get(QUIET_ENV, "") not in ("", "0"):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return True
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def progress_bar(total: int | None, *, desc: str, unit: str, enabled: bool | None = None, initial: int = 0, iterable: Iterable | None = None):
    """A tqdm bar of `total` steps (over `iterable` when given); `enabled` None shows it where `watched()`, True always,
    False never."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, disable=not (watched() if enabled is None else enabled))
