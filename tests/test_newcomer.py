"""Issue 15, a newcomer's first hour: clinical schedules, plain files, quick commands, one name per quantity."""

from __future__ import annotations

import pytest

from simulator import RegimenError, parse_dose


# ---------------------------------------------------------------- clinical schedules in the grammar
@pytest.mark.parametrize(
    "text, count, every_h",
    [
        ("ketamine 10 mg/kg ip daily for 14 d", 14, 24.0),
        ("esketamine 56 mg intranasal twice weekly for 4 weeks", 8, 84.0),
        ("esketamine 56 mg intranasal every 3.5 d for 4 weeks", 8, 84.0),
        ("psilocybin 1 mg/kg ip weekly x 4", 4, 168.0),
        ("fluoxetine 10 mg/kg oral once daily for 28 days", 28, 24.0),
        ("ketamine 10 mg/kg ip every 5 d for 2 weeks", 3, 120.0),  # starts at 0, 5 and 10 d fall within 14 d
        ("ketamine 10 mg/kg ip every other day x 3", 3, 48.0),
        ("ketamine 10 mg/kg ip twice daily for 2 d", 4, 12.0),
    ],
)
def test_clinical_schedules_read_as_meant(text, count, every_h):
    d = parse_dose(text)
    assert d.count == count and d.every_h == every_h and d.over_h is None
    assert len(d.times_h) == count
    assert parse_dose(str(d)) == d  # the canonical text reads back to the same dose


def test_for_before_a_repetition_is_still_an_infusion_or_a_bath():
    assert parse_dose("lsd 10 nM bath for 15 min").over_h == pytest.approx(0.25)
    d = parse_dose("ketamine 0.5 mg/kg iv over 40 min twice weekly for 2 weeks")
    assert d.over_h == pytest.approx(40 / 60) and d.count == 4
    d = parse_dose("ketamine 10 mg/kg ip at 2 h daily for 3 d")
    assert d.times_h == [2.0, 26.0, 50.0]


@pytest.mark.parametrize(
    "text, words",
    [
        ("ketamine 10 mg/kg ip daily", ["how many doses", "daily for 14 d", "daily x 14"]),
        ("ketamine 10 mg/kg ip daily x 3 for 3 d", ["not both"]),
        ("ketamine 10 mg/kg ip daily weekly x 2", ["given twice"]),
        ("ketamine 10 mg/kg ip daily for 0 d", ["must be positive"]),
        ("ketamine 10 mg/kg ip daily for 2 d for 3 d", ["given twice"]),
    ],
)
def test_schedule_mistakes_are_named(text, words):
    with pytest.raises(RegimenError) as err:
        parse_dose(text)
    for w in words:
        assert w in str(err.value)
