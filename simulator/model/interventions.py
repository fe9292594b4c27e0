"""The text forms of two interventions, shared by the command line, the validation targets and the classroom.

`parse_scale(["trkb=0.5"])` -> {"trkb": 0.5}; `parse_clamp(["mtorc1=0 from 2 h to 6 h"])` -> [Clamp(...)].
The values are checked where they are used (`simulate`); here only the text is read.
"""

from __future__ import annotations

import math
import re

from .._errors import PlasticityError
from .._limits import MAX_INTERVENTION_CHARS
from .compose import Clamp
from .regimen import parse_time


def _short(item: object, field: str) -> str:
    """The item as text, refused above MAX_INTERVENTION_CHARS before any pattern sees it (a 120 kB clamp string took
    41 s in the regular expression and filled the screen with its error)."""
    if not isinstance(item, str):
        raise PlasticityError(f"{field}: expected text such as 'mtorc1=0 from 2 h to 6 h', got {item!r:.60}")
    if len(item) > MAX_INTERVENTION_CHARS:
        raise PlasticityError(f"{field}: {item[:40]!r}... is {len(item):,} characters, over the limit of {MAX_INTERVENTION_CHARS} "
                              "(MAX_INTERVENTION_CHARS)")
    return item


def parse_scale(items: list[str]) -> dict[str, float]:
    """NODE=FACTOR items as a mapping of node to factor."""
    out = {}
    for item in items:
        item = _short(item, "--scale")
        m = re.match(r"^\s*([A-Za-z_][\w]*)\s*=\s*(\S+)\s*$", item)
        if not m:
            raise PlasticityError(f"--scale: expected NODE=FACTOR such as trkb=0.5, got {item!r}")
        try:
            out[m[1]] = float(m[2])
        except ValueError:
            raise PlasticityError(f"--scale: factor {m[2]!r} for {m[1]} is not a number") from None
    return out


def parse_clamp(items: list[str]) -> list[Clamp]:
    """'NODE=LEVEL [from T] [to T]' items as clamps (an open start or end is -inf or +inf)."""
    out = []
    for item in items:
        item = _short(item, "--clamp")
        m = re.match(r"^\s*([A-Za-z_]\w*)\s*=\s*(\S+)(?:\s+from\s+(.+?))?(?:\s+to\s+(.+?))?\s*$", item)
        if not m:
            raise PlasticityError(f"--clamp: expected 'NODE=LEVEL [from T] [to T]' such as 'mtorc1=0 from 2 h to 6 h', got {item!r}")
        try:
            level = float(m[2])
        except ValueError:
            raise PlasticityError(f"--clamp: level {m[2]!r} for {m[1]} is not a number (a fraction of baseline, 0 = full block)") from None
        start = parse_time(m[3], "--clamp from") if m[3] else -math.inf
        end = parse_time(m[4], "--clamp to") if m[4] else math.inf
        out.append(Clamp(m[1], level, start, end))
    return out
