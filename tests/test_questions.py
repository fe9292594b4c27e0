"""The classroom's questions are right by construction: every answer is recomputed here from what its prompt says.

Each question in simulator/classroom/questions.toml names a readout (a column of `simulate()`'s timecourse) and a
metric of it. This test checks that the prompt's words name that readout and metric, recomputes the metric straight
from `simulator.simulate` timecourses with formulas written out again here (not the classroom's code), applies the
rule the file states (more / same / less / none; largest / smallest), and compares with what the classroom reveals.
The settings become regimens through the catalogue (`simulate_kwargs`): the browser tests check that mapping against
hand-written regimens.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import simulator

pytestmark = pytest.mark.slow  # about 30 simulate() calls

WORDS = {  # what a prompt must say to be asking about a readout
    "spine_density": "spine",
    "spine_new": "new spines",
    "mtorc1": "mTORC1",
    "synaptic_protein": "synaptic protein",
    "ketamine_brain_nM": "ketamine's brain peak",
    "hallucinogenic_signal": "hallucinogenic signal",
    "occupancy_ht2a": "5-HT2A occupancy",
}


def _metric_words(metric: str) -> list[str]:
    """What a prompt must say to be asking about a metric."""
    m = re.fullmatch(r"(gain|at)_([0-9.]+)h", metric)
    if m:
        return [f"spine gain at {m.group(2)} h"] if m.group(1) == "gain" else [f"at {m.group(2)} h"]
    return {"gone_h": ["1 %", "left"], "peak": ["peak"], "peak_h": ["peak", "most"], "up_h": ["stays above baseline"]}[metric]


@pytest.fixture(scope="module")
def classroom():
    from simulator.classroom._catalogue import load_catalogue
    from simulator.classroom._questions import load_questions

    cat = load_catalogue()
    return cat, load_questions(cat)


@pytest.fixture(scope="module")
def runs(classroom):
    cat, _ = classroom
    cache: dict[str, simulator.Result] = {}

    def run(s) -> simulator.Result:
        if s.key not in cache:
            kw = cat.simulate_kwargs(s)
            cache[s.key] = simulator.simulate(kw.pop("regimen"), **kw)
        return cache[s.key]

    return run


def recompute(r: simulator.Result, readout: str, metric: str) -> float:
    """The metric as the questions file defines it, from the timecourse and its vehicle run."""
    tc = r.timecourse
    post = tc[tc["time_h"] >= 0]
    x = post[readout]
    if metric == "peak":
        return float(x.max())
    if metric == "peak_h":
        return float(post["time_h"][x.idxmax()])
    if metric == "gone_h":
        after = post.loc[x.idxmax():]
        return float(after["time_h"][after[readout] < 0.01 * x.max()].iloc[0])
    if metric == "up_h":
        excess = x - r.vehicle.timecourse.loc[post.index, readout]
        t_up = post["time_h"][excess > 0.1 * excess.max()]
        return float(t_up.iloc[-1] - t_up.iloc[0])
    h = float(re.fullmatch(r"(?:at|gain)_([0-9.]+)h", metric).group(1))
    if metric.startswith("gain"):
        v = float(np.interp(h, tc["time_h"], r.vehicle.timecourse[readout]))
        return 100 * (float(np.interp(h, tc["time_h"], tc[readout])) / v - 1)
    return float(np.interp(h, tc["time_h"], tc[readout]))


def test_every_prompt_names_its_readout_and_metric(classroom):
    _, qs = classroom
    for q in qs:
        text = q.prompt.lower()
        assert q.readout in WORDS, f"{q.id}: add the words that name readout {q.readout!r} to WORDS"
        assert WORDS[q.readout].lower() in text, f"{q.id}: the prompt does not name {WORDS[q.readout]!r}"
        assert any(w.lower() in text for w in _metric_words(q.metric)), f"{q.id}: the prompt does not say {_metric_words(q.metric)}"
        if q.reference_readout or q.reference_metric:
            ref_readout, ref_metric = q.reference_readout or q.readout, q.reference_metric or q.metric
            assert WORDS[ref_readout].lower() in text and any(w.lower() in text for w in _metric_words(ref_metric)), q.id


def test_every_answer_is_what_its_prompt_asks(classroom, runs):
    from simulator.classroom._questions import answer
    from simulator.classroom._runs import safe_compute

    cat, qs = classroom
    bundles: dict[str, dict] = {}

    def bundle(s):
        return bundles.setdefault(s.key, safe_compute(cat, s))

    for q in qs:
        shown = answer(q, bundle, cat)["answer"]
        if q.kind == "number":
            assert shown == pytest.approx(recompute(runs(q.setting), q.readout, q.metric), abs=0.01), q.id
        elif q.kind == "which":
            vals = {label: recompute(runs(s), q.readout, q.metric) for label, s in q.options}
            assert shown == (max if q.pick == "largest" else min)(vals, key=vals.get), (q.id, vals)
        else:
            v = recompute(runs(q.setting), q.readout, q.metric)
            if q.reference_value is not None:
                ref = q.reference_value
            else:
                ref = recompute(runs(q.reference or q.setting), q.reference_readout or q.readout, q.reference_metric or q.metric)
            if "none" in q.choices and ref > 0 and v <= q.none_below * ref:
                want = "none"
            elif "same" in q.choices and abs(v - ref) <= q.same_within * abs(ref):
                want = "same"
            else:
                want = "more" if v > ref else "less"
            assert shown == q.labels.get(want, want), (q.id, v, ref)


def test_question_1_ketamine_alone_and_its_half_life_hint(classroom, runs):
    """The half-life hint leads to the answer: 1 % left is log2(100) = 6.6 half-lives after the peak."""
    _, qs = classroom
    q = next(q for q in qs if q.id == "drug-gone")
    assert (q.readout, q.metric) == ("ketamine_brain_nM", "gone_h")
    r = runs(q.setting)
    gone = recompute(r, q.readout, q.metric)
    assert 2.5 <= gone <= 3.5
    tc = r.timecourse
    c, t = tc["ketamine_brain_nM"].to_numpy(), tc["time_h"].to_numpy()
    i = int(np.argmax(c))
    sel = (t > t[i]) & (c < 0.5 * c[i]) & (c > 0.1 * c[i])
    half_life_h = math.log(2) / -np.polyfit(t[sel], np.log(c[sel]), 1)[0]
    assert 10 <= 60 * half_life_h < 60, "the prompt says tens of minutes"
    from_hint = t[i] + math.log2(100) * half_life_h
    assert 0.5 <= from_hint / gone <= 2, "a student who follows the hint is told they agree (within a factor of 2)"


def test_new_spines_peak_after_synaptic_protein(classroom, runs):
    """The hint of the new-spines question: they are built while synaptic protein is raised, so they peak after it."""
    _, qs = classroom
    q = next(q for q in qs if q.id == "new-spines-when")
    r = runs(q.setting)
    assert recompute(r, "spine_new", "peak_h") > recompute(r, "synaptic_protein", "peak_h")
