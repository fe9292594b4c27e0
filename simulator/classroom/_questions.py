"""Predict-then-reveal questions: read from a TOML file a lecturer can edit, answered by the model.

The file holds prompts, settings and rules (questions.toml beside this module says how to write one); the
answers are computed from runs when the app or the lesson is built, never written down by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ._catalogue import FEEDBACK, NONE, Catalogue, Setting, TeachingFileError, read_toml, typed
from ._metrics import check_metric

QUESTIONS = Path(__file__).resolve().parent / "questions.toml"
KINDS = ("compare", "number", "which")
OUTCOMES = ("more", "same", "less", "none")


@dataclass
class Question:
    """One question: what is asked, how the answer is computed, and what to say with it."""

    id: str
    prompt: str
    kind: str
    readout: str
    metric: str
    explain: str = ""
    setting: Setting | None = None
    reference: Setting | None = None
    reference_readout: str = ""
    reference_metric: str = ""
    reference_value: float | None = None
    choices: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    same_within: float = 0.1
    none_below: float = 0.25
    unit: str = ""
    options: list[tuple[str, Setting]] = field(default_factory=list)
    pick: str = "largest"

    @property
    def shown_choices(self) -> list[str]:
        """What students choose from (labels, in order)."""
        if self.kind == "which":
            return [label for label, _ in self.options]
        return [self.labels.get(c, c) for c in self.choices]

    def settings(self) -> list[Setting]:
        """Every setting the answer needs."""
        out = [s for s in (self.setting, self.reference) if s is not None]
        return out + [s for _, s in self.options]


def _setting(cat: Catalogue, file, where: str, d) -> Setting:
    if not isinstance(d, dict):
        raise TeachingFileError(file, where, f"expected a table such as {{ compound = \"ketamine\" }}, got {d!r}")
    unknown = set(d) - {"compound", "dose", "species", "pretreatment", "cuts", "genotype", "condition", "clamp"}
    if unknown:
        raise TeachingFileError(file, where, f"unknown key(s) {sorted(unknown)}; a setting has compound, dose, species, pretreatment, cuts, genotype, condition, clamp")
    try:
        comp = cat.compound(str(d.get("compound", cat.default.compound)))
        species = str(d.get("species", "mouse"))
        s = Setting(comp.id, float(d.get("dose", comp.dosing[species].typical if species in comp.dosing else 1.0)), species,
                    str(d.get("pretreatment", NONE)), tuple(d.get("cuts", ())), str(d.get("genotype", "wild_type")), str(d.get("clamp", "")),
                    str(d.get("condition", NONE)))
        why = cat.offered(s)
        if why:
            raise TeachingFileError(file, where, why)
        cat.simulate_kwargs(s)  # names of cuts, genotype and the clamp's grammar
    except TeachingFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any bad value: one line naming the entry
        raise TeachingFileError(file, where, str(exc)) from None
    return s


def load_questions(cat: Catalogue, path: str | Path | None = None) -> list[Question]:
    """Read and check a questions file (default: the one shipped beside this module)."""
    path = Path(path) if path else QUESTIONS
    data = read_toml(path)
    out: list[Question] = []
    questions = data.get("question", [])
    if not isinstance(questions, list):
        raise TeachingFileError(path, "question", f"expected [[question]] tables, got {questions!r:.60}")
    for i, q in enumerate(questions):
        if not isinstance(q, dict):
            raise TeachingFileError(path, f"question {i + 1}", f"expected a [[question]] table, got {q!r:.60}")
        where = f"question {i + 1} ({str(q.get('id', 'no id'))[:60]})"
        out.append(typed(path, where, lambda q=q, where=where: _question(cat, path, where, q, out)))
    if not out:
        raise TeachingFileError(path, "question", "no questions: add at least one [[question]] table")
    return out


def _question(cat: Catalogue, path: Path, where: str, q: dict, out: list[Question]) -> Question:
    """One [[question]] table, checked (`out`: the questions read before it, whose ids it must not repeat)."""
    for k in ("id", "prompt", "kind", "readout", "metric"):
        if k not in q:
            raise TeachingFileError(path, where, f"missing '{k}'")
    if q["kind"] not in KINDS:
        raise TeachingFileError(path, where, f"kind '{q['kind']}' is not one of {', '.join(KINDS)}")
    if any(x.id == q["id"] for x in out):
        raise TeachingFileError(path, where, f"id '{q['id']}' is used twice")
    qu = Question(str(q["id"]), str(q["prompt"]), q["kind"], str(q["readout"]), str(q["metric"]), str(q.get("explain", "")))
    for k in ("metric", "reference_metric"):
        why = check_metric(str(q[k])) if k in q else ""
        if why:
            raise TeachingFileError(path, where, f"{k}: {why}")
    if q["kind"] == "which":
        if len(q.get("options", [])) < 2:
            raise TeachingFileError(path, where, "a 'which' question needs at least two options = [{ label, setting }, ...]")
        qu.options = [(str(o["label"]), _setting(cat, path, f"{where}.options[{j}]", o.get("setting"))) for j, o in enumerate(q["options"])]
        qu.pick = str(q.get("pick", "largest"))
        if qu.pick not in ("largest", "smallest"):
            raise TeachingFileError(path, where, f"pick must be 'largest' or 'smallest', got {qu.pick!r}")
    else:
        qu.setting = _setting(cat, path, f"{where}.setting", q.get("setting", {}))
    if q["kind"] == "compare":
        if "reference" in q:
            qu.reference = _setting(cat, path, f"{where}.reference", q["reference"])
        qu.reference_readout = str(q.get("reference_readout", ""))
        qu.reference_metric = str(q.get("reference_metric", ""))
        qu.reference_value = float(q["reference_value"]) if "reference_value" in q else None
        qu.choices = tuple(q.get("choices", OUTCOMES))
        bad = [c for c in qu.choices if c not in OUTCOMES]
        if bad or len(qu.choices) < 2:
            raise TeachingFileError(path, where, f"choices must be two or more of {', '.join(OUTCOMES)}, got {list(qu.choices)}")
        qu.labels = {str(k): str(v) for k, v in (q.get("labels") or {}).items()}
        qu.same_within = float(q.get("same_within", 0.1))
        qu.none_below = float(q.get("none_below", 0.25))
        if qu.reference is None and not (qu.reference_readout or qu.reference_metric) and qu.reference_value is None:
            raise TeachingFileError(path, where, "a 'compare' question needs a reference, a reference_readout or reference_metric, or a reference_value")
    qu.unit = str(q.get("unit", ""))
    return qu


def _fmt(x: float, metric: str) -> str:
    if metric.startswith("gain_"):
        return f"{x:+.2f} %"
    if metric.endswith("_h"):
        return f"{x:.1f} h"
    return f"{x:.3g}"


def _name(readout: str, metric: str) -> str:
    """'spine_density gain_24h' as words for the reveal: 'spine density, gain 24h'."""
    return f"{readout.replace('_', ' ')}, {metric.replace('_', ' ')}"


def compare_outcome(q: Question, v: float, ref: float) -> str:
    """more / same / less / none for a compare question, by the rules its file states."""
    if "none" in q.choices and ref > 0 and v <= q.none_below * ref:
        return "none"
    if "same" in q.choices and abs(v - ref) <= q.same_within * abs(ref):
        return "same"
    return "more" if v > ref else "less"


def answer(q: Question, bundle_for: Callable[[Setting], dict], cat: Catalogue) -> dict:
    """The model's answer: {'answer': a choice label or a number, 'detail': the numbers behind it}."""

    def metric(s: Setting, readout: str, name: str) -> float:
        b = bundle_for(s)
        if "error" in b:
            raise TeachingFileError(QUESTIONS.name, q.id, f"its setting cannot be run: {b['error']}")
        key = f"{readout} {name}"
        if key not in b["metrics"]:
            raise TeachingFileError(QUESTIONS.name, q.id, f"unknown readout '{readout}' for {cat.describe(s)}; a readout is a column of "
                                    "simulate()'s timecourse (glutamate, mtorc1, spine_density, ketamine_brain_nM, ...)")
        v = b["metrics"][key]
        if not math.isfinite(v):
            raise TeachingFileError(QUESTIONS.name, q.id, f"{_name(readout, name)} is undefined for {cat.describe(s)} (never reached in the run)")
        return v

    if q.kind == "number":
        v = metric(q.setting, q.readout, q.metric)
        return {"answer": round(v, 2), "detail": f"the model: {_fmt(v, q.metric)} ({_name(q.readout, q.metric)}, {cat.describe(q.setting)})"}
    if q.kind == "which":
        vals = [(label, metric(s, q.readout, q.metric)) for label, s in q.options]
        best = (max if q.pick == "largest" else min)(vals, key=lambda lv: lv[1])
        detail = "; ".join(f"{label}: {_fmt(v, q.metric)}" for label, v in vals)
        return {"answer": best[0], "detail": f"{_name(q.readout, q.metric)}: {detail}"}
    v = metric(q.setting, q.readout, q.metric)
    ref_readout, ref_metric = q.reference_readout or q.readout, q.reference_metric or q.metric
    if q.reference_value is not None:
        ref, ref_text = q.reference_value, f"baseline {q.reference_value:g}"
    else:
        ref_s = q.reference or q.setting
        ref = metric(ref_s, ref_readout, ref_metric)
        ref_text = f"{_fmt(ref, ref_metric)}" + (f" ({cat.describe(ref_s)})" if q.reference else f" ({_name(ref_readout, ref_metric)})")
    outcome = compare_outcome(q, v, ref)
    rule = []
    if "same" in q.choices:
        rule.append(f"'{q.labels.get('same', 'same')}' means within {100 * q.same_within:g} %")
    if "none" in q.choices:
        rule.append(f"'{q.labels.get('none', 'none')}' means {100 * q.none_below:g} % of the reference or less (or a loss)")
    ratio = f" ({100 * v / ref:.0f} % of it)" if ref and math.isfinite(v / ref) and q.reference_value is None else ""
    detail = f"the model: {_fmt(v, q.metric)}{ratio} against {ref_text}" + (f"; {', '.join(rule)}" if rule else "")
    return {"answer": q.labels.get(outcome, outcome), "detail": detail}


def quiz_table(qs: list[Question], cat: Catalogue, answers: dict[str, dict] | None = None) -> dict[str, list]:
    """The questions as columns for the views (the answer columns empty until computed)."""
    answers = answers or {}
    cols: dict[str, list] = {k: [] for k in ("id", "prompt", "kind", "choices", "unit", "answer", "detail", "explain", "setting", "setting_label")}
    for q in qs:
        s = q.setting or q.options[0][1]
        a = answers.get(q.id, {})
        cols["id"].append(q.id)
        cols["prompt"].append(q.prompt)
        cols["kind"].append(q.kind)
        cols["choices"].append("|".join(q.shown_choices))
        cols["unit"].append(q.unit)
        cols["answer"].append("" if "answer" not in a else str(a["answer"]))
        cols["detail"].append(a.get("detail", ""))
        cols["explain"].append(q.explain)
        cols["setting"].append(setting_json(s))
        cols["setting_label"].append(cat.describe(s))
    return cols


def setting_json(s: Setting) -> str:
    """A setting as the JSON the views' 'show this setting' button reads."""
    import json

    return json.dumps({"compound": s.compound, "dose": s.dose, "species": s.species, "pretreatment": s.pretreatment,
                       "cuts": [c for c in FEEDBACK if c in s.cuts], "genotype": s.genotype, "condition": s.condition})
