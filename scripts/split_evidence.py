"""The calibration/prediction split of models/validation.toml, drawn by a rule (issue 22).

Rule, frozen on 2026-12-07 before any fitting to the grown evidence base:

1. The units are whole papers: every target's `paper` key ("Li 2010"). A paper's targets are never split.
2. The distinct keys, sorted alphabetically, are put in a random order by numpy.random.default_rng(SEED).permutation.
3. Papers are taken in that order into the prediction set until both hold: at least 35% of the distinct papers are
   in it, and at least 35% of all targets are. Every other paper's targets form the calibration set.

    python scripts/split_evidence.py           # redo the draw from the record and check models/validation.toml (exit 1 on a mismatch)
    python scripts/split_evidence.py --write   # draw, write models/validation_split.toml (the record) and every target's set

The record, models/validation_split.toml, holds the seed, the date, the rule and each paper's number of targets at the
split, so the draw can be redone exactly whatever is added later. scripts/calibrate.py fits the calibration set only;
the prediction set is what the model is judged on without having seen it. After the split is committed no target
moves between sets: a target added later takes the set of its paper when that paper was drawn, and a paper added
later goes to the calibration set (the check enforces both).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

SEED = 20261207
DATE = "2026-12-07"
SHARE = 0.35
FILE = Path(__file__).resolve().parents[1] / "models" / "validation.toml"
RECORD = FILE.with_name("validation_split.toml")
RULE = ("whole papers (the targets' paper keys, sorted) in the order of numpy.random.default_rng(seed).permutation, "
        "taken into the prediction set until it holds >= 35% of the distinct papers and >= 35% of all targets")


def draw(counts: dict[str, int], seed: int = SEED, share: float = SHARE) -> tuple[list[str], list[str]]:
    """The prediction papers, in the order drawn, and the random order of all papers; counts: paper -> its targets."""
    papers = sorted(counts)
    order = [papers[i] for i in np.random.default_rng(seed).permutation(len(papers))]
    need_papers, need_targets = math.ceil(share * len(papers)), share * sum(counts.values())
    chosen: list[str] = []
    n_targets = 0
    for p in order:
        if len(chosen) >= need_papers and n_targets >= need_targets:
            break
        chosen.append(p)
        n_targets += counts[p]
    return chosen, order


def load(path: Path = FILE) -> list[dict]:
    with open(path, "rb") as f:
        return tomllib.load(f)["targets"]


def load_record(path: Path = RECORD) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def redo(record: dict) -> list[str]:
    """The prediction papers drawn again from the record's counts and seed; must equal the record's list."""
    chosen, _ = draw(dict(record["papers"]), int(record["seed"]), float(record["share"]))
    return chosen


def expected_sets(targets: list[dict], prediction: set[str]) -> dict[str, str]:
    """id -> set: prediction for the drawn papers, calibration for every other paper (including papers added later)."""
    return {t["id"]: ("prediction" if t["paper"] in prediction else "calibration") for t in targets}


def write_record(path: Path, counts: dict[str, int], chosen: list[str], order: list[str]) -> None:
    q = lambda s: '"' + s.replace('"', '\\"') + '"'  # noqa: E731
    lines = ["# The calibration/prediction split of models/validation.toml (issue 22). Written once by",
             "# scripts/split_evidence.py --write; never edited by hand. The check redoes the draw from these counts.",
             f"seed = {SEED}", f'date = "{DATE}"', f"share = {SHARE}", f"rule = {q(RULE)}",
             f"n_targets = {sum(counts.values())}", f"n_papers = {len(counts)}",
             "prediction = [" + ", ".join(q(p) for p in chosen) + "]  # in the order drawn",
             "order = [" + ", ".join(q(p) for p in order) + "]  # the whole random order", "",
             "[papers]  # paper -> its number of targets at the split"]
    lines += [f"{q(p)} = {n}" for p, n in sorted(counts.items())]
    path.write_text("\n".join(lines) + "\n")


def write(path: Path, sets: dict[str, str]) -> None:
    text = path.read_text()

    def one(m: re.Match) -> str:
        block = m.group(0)
        tid = re.search(r'^id = "([^"]+)"', block, re.M).group(1)
        if re.search(r"^set = ", block, re.M):
            return re.sub(r'^set = "[a-z]+"$', f'set = "{sets[tid]}"', block, count=1, flags=re.M)
        return re.sub(r"^(reading = .*\n)", rf'\1set = "{sets[tid]}"\n', block, count=1, flags=re.M)

    text = re.sub(r"\[\[targets\]\]\n(?:(?!\n\n|\n#|\n\[).)*", one, text, flags=re.S)
    path.write_text(text)


def summary(targets: list[dict], chosen: list[str]) -> str:
    pred = set(chosen)
    n_pred = sum(t["paper"] in pred for t in targets)
    papers = {t["paper"] for t in targets}
    return (f"seed {SEED}: {len(pred)} of {len(papers)} papers ({100 * len(pred) / len(papers):.0f}%) and {n_pred} of {len(targets)} targets "
            f"({100 * n_pred / len(targets):.0f}%) in the prediction set\nprediction papers, in the order drawn: {', '.join(chosen)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="write the sets into models/validation.toml")
    ap.add_argument("--file", type=Path, default=FILE)
    args = ap.parse_args(argv)
    targets = load(args.file)
    missing = [t["id"] for t in targets if not t.get("paper")]
    if missing:
        print(f"targets without a paper key: {', '.join(missing)}", file=sys.stderr)
        return 2
    record_path = args.file.with_name(RECORD.name)
    if args.write:
        counts = dict(Counter(t["paper"] for t in targets))
        chosen, order = draw(counts)
        write_record(record_path, counts, chosen, order)
        write(args.file, expected_sets(targets, set(chosen)))
        print(summary(targets, chosen))
        print(f"wrote {record_path} and the sets into {args.file}")
        return 0
    record = load_record(record_path)
    chosen = redo(record)
    if chosen != list(record["prediction"]):
        print(f"the draw from {record_path} gives {chosen}, not the recorded {record['prediction']}", file=sys.stderr)
        return 1
    print(summary(targets, chosen))
    sets = expected_sets(targets, set(chosen))
    wrong = [t["id"] for t in targets if t.get("set", "calibration") != sets[t["id"]]]
    if wrong:
        print(f"{len(wrong)} targets differ from the draw: {', '.join(wrong)}", file=sys.stderr)
        return 1
    print("the file matches the draw")
    return 0


if __name__ == "__main__":
    sys.exit(main())
