"""A condition's course in time: when the stress starts and ends.

    chronic_stress                          ongoing: the run starts at the long-run stressed set point
    chronic_stress until 14 d               ongoing, then stops at 14 d: recovery
    chronic_stress from 0 d                 starts at t = 0 in an unstressed animal: onset
    chronic_stress from -21 d until 0 h     three weeks of stress, then treatment and recovery from t = 0
    chronic_stress from 0 d for 21 d        the same as 'from 0 d until 21 d'

The name may be an alias ('cus'); times take the regimen's units (min, h, d, week). Kept apart from the
composition so the library, the CLI and the validation file read the same text the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .._errors import PlasticityError
from .regimen import parse_time

_WORDS = re.compile(r"\s+(from|until|for)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Course:
    """A condition by name, present from `start_h` (-inf: since long before the run) to `end_h` (inf: throughout)."""

    name: str
    start_h: float = -math.inf
    end_h: float = math.inf

    @property
    def ongoing(self) -> bool:
        """True when the condition is present at the start of the run, which then starts at its set point."""
        return not math.isfinite(self.start_h)

    def text(self, name: str | None = None) -> str:
        """The canonical text ('chronic_stress from 0 h until 336 h'), with `name` in place of the given one."""
        out = name or self.name
        if math.isfinite(self.start_h):
            out += f" from {self.start_h:g} h"
        if math.isfinite(self.end_h):
            out += f" until {self.end_h:g} h"
        return out


def parse_course(text: str) -> Course:
    """'chronic_stress from 0 d until 21 d' -> Course('chronic_stress', 0.0, 504.0); a bare name is ongoing."""
    if not isinstance(text, str):
        raise PlasticityError(f"condition: expected a condition name such as 'chronic_stress' (models/conditions.toml), got {text!r}")
    parts = _WORDS.split(text.strip())
    name = parts[0].strip()
    given: dict[str, str] = {}
    for word, value in zip(parts[1::2], parts[2::2]):
        word = word.lower()
        if word in given:
            raise PlasticityError(f"condition: '{word}' is given twice in {text!r}; give each of from, until, for at most once")
        given[word] = value
    if not name:
        raise PlasticityError(f"condition: {text!r} names no condition; expected e.g. 'chronic_stress from 0 d until 21 d'")
    start = parse_time(given["from"], "condition from") if "from" in given else -math.inf
    end = parse_time(given["until"], "condition until") if "until" in given else math.inf
    if "for" in given:
        if "from" not in given or "until" in given:
            raise PlasticityError(f"condition: 'for' is the length after 'from' (and replaces 'until'), e.g. 'chronic_stress from 0 d for 21 d'; got {text!r}")
        length = parse_time(given["for"], "condition for")
        if length <= 0:
            raise PlasticityError(f"condition for: expected a positive length, got {given['for']!r}")
        end = start + length
    if not start < end:
        raise PlasticityError(f"condition: the start ({start:g} h) must come before the end ({end:g} h) in {text!r}")
    return Course(name, start, end)
