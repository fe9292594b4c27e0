"""SBML inside the documented limits ends in a result or one SBMLError (issue 26): triggers that would expand
for ever, chained rules, math at the depth limit, dangling references and duplicate ids.

Each case runs in a child process (tests/fuzz_worker.py) capped in memory and time, so a hang or a
RecursionError is seen as the failure it is, not as a stuck test run.
"""

from __future__ import annotations

import pytest
from fuzz_worker import Worker

TIME_LIMIT_S = 20.0
MAX_RSS = 3 * 2**30 // 2  # 1.5 GiB
M = 'xmlns="http://www.w3.org/1998/Math/MathML"'
T = '<csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol>'
DECAY = f'<rateRule variable="x"><math {M}><apply><times/><cn>-1</cn><ci>k</ci><ci>x</ci></apply></math></rateRule>'
COMPARTMENT = ('<listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>'
               '<listOfSpecies><species id="s" compartment="c" initialAmount="1" hasOnlySubstanceUnits="false" '
               'boundaryCondition="false" constant="false"{extra}/></listOfSpecies>')
REACTION = ('<listOfReactions><reaction id="r" reversible="false"><listOfReactants><speciesReference species="s" stoichiometry="1" '
            f'constant="true"/></listOfReactants><kineticLaw><math {M}><apply><times/><ci>k</ci><ci>s</ci></apply></math></kineticLaw>'
            '</reaction></listOfReactions>')


def doc(body: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" '
            f'version="2"><model id="m">{body}</model></sbml>')


def params(extra: str = "") -> str:
    return (f'<listOfParameters><parameter id="x" value="1" constant="false"/><parameter id="k" value="1" constant="true"/>{extra}'
            '</listOfParameters>')


def event(trigger: str, var: str = "x") -> str:
    return (f'<listOfEvents><event id="e" useValuesFromTriggerTime="true"><trigger initialValue="false" persistent="true">'
            f'<math {M}>{trigger}</math></trigger><listOfEventAssignments><eventAssignment variable="{var}"><math {M}><cn>1</cn></math>'
            '</eventAssignment></listOfEventAssignments></event></listOfEvents>')


def nest(op: str, depth: int) -> str:
    return f"<apply><{op}/>" * depth + "<ci>k</ci>" + "</apply>" * depth


CHAIN = "".join(f'<assignmentRule variable="a{i}"><math {M}><apply><times/><ci>a{i - 1}</ci><apply><plus/><ci>a{i - 1}</ci><cn>1</cn>'
                f'</apply></apply></math></assignmentRule>' for i in range(1, 41))
CHAIN_PARAMS = '<parameter id="a0" value="0.01" constant="true"/>' + "".join(f'<parameter id="a{i}" constant="false"/>' for i in range(1, 41))

# (id, document, None for a result or the words the SBMLError must contain)
CASES = [
    ("trigger time > (k+1)^100000", doc(params() + f"<listOfRules>{DECAY}</listOfRules>" + event(
        f'<apply><gt/>{T}<apply><power/><apply><plus/><ci>k</ci><cn>1</cn></apply><cn type="integer">100000</cn></apply></apply>')), None),
    ("40 chained rules in a trigger", doc(params(CHAIN_PARAMS) + f"<listOfRules>{DECAY}{CHAIN}</listOfRules>"
                                          + event(f"<apply><gt/>{T}<ci>a40</ci></apply>")), None),
    ("exp nested 99 in a trigger", doc(params() + f"<listOfRules>{DECAY}</listOfRules>" + event(f"<apply><gt/>{T}{nest('exp', 98)}</apply>")), None),
    ("exp nested 99 in a rule", doc(params('<parameter id="y" constant="false"/>') + f"<listOfRules>{DECAY}<assignmentRule variable=\"y\">"
                                    f"<math {M}>{nest('exp', 99)}</math></assignmentRule></listOfRules>"), None),
    ("sin nested 99 in a rate", doc(params() + f'<listOfRules><rateRule variable="x"><math {M}>{nest("sin", 99)}</math></rateRule></listOfRules>'), None),
    ("exp nested 199 in a rate", doc(params() + f'<listOfRules><rateRule variable="x"><math {M}>{nest("exp", 199)}</math></rateRule></listOfRules>'),
     ["rateRule", "MAX_MATH_DEPTH"]),
    ("unknown conversionFactor", doc(COMPARTMENT.format(extra=' conversionFactor="nope"') + params() + REACTION),
     ["species", "'s'", "conversionFactor", "'nope'"]),
    ("event assigns a reaction", doc(COMPARTMENT.format(extra="") + params() + REACTION + event(f"<apply><gt/>{T}<cn>1</cn></apply>", var="r")),
     ["event", "'e'", "variable 'r'"]),
    ("two parameters with one id", doc(params('<parameter id="k" value="5" constant="true"/>') + f"<listOfRules>{DECAY}</listOfRules>"),
     ["parameter", "'k'", "conflicts"]),
]


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


@pytest.mark.parametrize("name, text, words", CASES, ids=[c[0] for c in CASES])
def test_sbml_near_the_limits_ends_in_a_result_or_one_sbml_error(worker, name, text, words):
    outcome = worker.run(("sbml", text, 0.01), TIME_LIMIT_S + 30)
    assert outcome[0] not in ("hang", "died", "crash", "memory"), outcome
    assert worker.seconds < TIME_LIMIT_S, f"{name}: took {worker.seconds:.1f} s"
    assert worker.peak_rss < MAX_RSS, f"{name}: resident memory {worker.peak_rss / 2**30:.2f} GiB"
    if words is None:
        assert outcome[0] == "ok", outcome
    else:
        assert outcome[0] == "typed" and outcome[1] in ("SBMLError", "SBMLLimitError"), outcome
        for w in words:
            assert w in outcome[2], (w, outcome[2])
