"""Property-based tests (hypothesis): every input gives a Result or exactly one typed PlasticityError.

Never another exception, a hang, a NaN or a negative concentration. Readouts must be finite and
>= -FLOOR, where FLOOR = 1000 x the solver's default absolute tolerance (Tolerances().atol = 1e-10,
so FLOOR = 1e-7 in the readout's unit): a state that decays to zero may undershoot by about atol,
and readouts are states divided by volumes or scaled by baselines, which can enlarge that by a few
orders of magnitude, never more. Most cases exercise parsing and validation, which are fast; the
simulations are short (hours <= 6) and reuse a few compiled model structures.

The number of generated cases is printed at the end of the pytest run (tests/conftest.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import simulator
from simulator import Dose, PlasticityError, SimulationError, Tolerances, load_library, parse_dose
from simulator.model.regimen import DOSE_UNITS, ROUTE_SPELLINGS, TIME_UNITS

FLOOR = 1000 * Tolerances().atol
LIB = load_library()
NAMES = sorted({c.name for c in LIB.compounds.values()} | {a for c in LIB.compounds.values() for a in c.aliases})
CANONICAL_ROUTES = set(ROUTE_SPELLINGS.values())
FAST = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def check_outcome(call):
    """Run call(); return the Result or the PlasticityError. Any other exception fails the test."""
    try:
        return call()
    except PlasticityError as exc:
        assert str(exc).strip(), "an error must say what went wrong"
        return exc


def check_result(r: simulator.Result) -> None:
    tc = r.timecourse
    values = tc.drop(columns="time_h").to_numpy()
    assert np.all(np.isfinite(values)), "NaN or inf in a readout"
    worst = values.min(initial=0.0)
    assert worst >= -FLOOR, f"negative readout {worst:g} (floor {FLOOR:g}) in {tc.columns[1 + int(np.argmin(values.min(axis=0)))]}"
    assert np.all(np.diff(tc["time_h"].to_numpy()) >= 0)


# ------------------------------------------------------------------------------- strategies
def fmt_number(x: float) -> str:
    return repr(float(x))


positive_amounts = st.floats(min_value=1e-6, max_value=1e4, allow_nan=False, allow_infinity=False)
any_amount_text = st.one_of(
    positive_amounts.map(fmt_number),
    st.floats(allow_nan=True, allow_infinity=True).map(fmt_number),
    st.integers(-5, 5).map(str),
    st.sampled_from(["0", "-1", "abc", "1e400", "1.2.3", "--1", ".5", "5.", "1e-7", "nan", "inf", "-inf", "1,5"]),
)
valid_units = st.sampled_from(["mg/kg", "ug/kg", "µg/kg", "μg/kg", "mg", "ug", "µg", "nmol", "g/kg", "ng", "pmol", "umol/kg", "nmol/kg"])
any_unit = st.one_of(valid_units, st.sampled_from(["nM", "uM", "mM", "mg/lb", "kg", "ml", "mg/kg/kg", "nM/kg", "MG/KG", "Ug/Kg"]))
any_route = st.sampled_from(sorted(ROUTE_SPELLINGS) + ["ipp", "i.q.", "iv.", "I.P.", "PO", "bathe", "icv/"])
time_unit = st.sampled_from(sorted(TIME_UNITS))
any_time = st.tuples(st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: f"{x:g}"), st.one_of(time_unit, st.sampled_from(["fortnight", "hz", "ms"])))
clause = st.one_of(
    st.tuples(st.sampled_from(["at", "over", "for", "every", "AT", "Every"]), any_time).map(lambda c: f"{c[0]} {c[1][0]} {c[1][1]}"),
    st.one_of(st.integers(-2, 30).map(str), st.sampled_from(["2.5", "two", ""])).map(lambda n: f"x {n}"),
)
compound_name = st.one_of(st.sampled_from(NAMES), st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789(),-", min_size=1, max_size=14))
dose_text = st.builds(
    lambda name, amount, unit, route, clauses: " ".join([name, amount, unit, route, *clauses]),
    compound_name, any_amount_text, any_unit, any_route, st.lists(clause, max_size=3),
)


def check_parse(text: str):
    out = check_outcome(lambda: parse_dose(text))
    if isinstance(out, Dose):
        assert math.isfinite(out.amount) and out.amount > 0
        assert out.unit in DOSE_UNITS and out.route in CANONICAL_ROUTES
        assert isinstance(out.count, int) and out.count >= 1
        assert all(math.isfinite(t) for t in out.times_h) and len(out.times_h) == out.count
        assert (DOSE_UNITS[out.unit][0] == "conc") == (out.route == "bath")
    return out


# ------------------------------------------------------------------------------- parsing (fast, many cases)
@settings(max_examples=700, **FAST)
@given(dose_text)
def test_random_regimen_strings_parse_or_raise_one_typed_error(count_case, text):
    count_case("regimen strings (structured)")
    check_parse(text)


@settings(max_examples=400, **FAST)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_one_typed_error(count_case, text):
    count_case("regimen strings (arbitrary text)")
    check_parse(text)


@st.composite
def valid_dose(draw):
    """A grammatical dose string and the Dose it must parse to."""
    name = draw(st.sampled_from(NAMES + ["(2R,6R)-HNK", "ANA-12", "compound-7"]))
    amount = draw(positive_amounts)
    bath = draw(st.booleans())
    if bath:
        unit, route_text, route = draw(st.sampled_from(["nM", "uM", "pM"])), "bath", "bath"
    else:
        unit = draw(valid_units)
        route_text = draw(st.sampled_from(sorted(k for k in ROUTE_SPELLINGS if k != "bath")))
        route = ROUTE_SPELLINGS[route_text]
    parts, kw = [name, fmt_number(amount), unit, route_text], {}
    if draw(st.booleans()):
        n, u = draw(st.integers(-120, 120)), draw(time_unit)
        parts.append(f"at {n} {u}")
        kw["at_h"] = n * TIME_UNITS[u]
    every = None
    if draw(st.booleans()):
        n, u = draw(st.integers(1, 100)), draw(st.sampled_from(["h", "d", "day", "hours"]))
        every = n * TIME_UNITS[u]
        count = draw(st.integers(1, 30))
        parts.append(f"every {n} {u} x {count}")
        kw.update(every_h=every, count=count)
    if draw(st.booleans()):
        n = draw(st.integers(1, 59))
        parts.append(f"{'for' if bath else 'over'} {n} min")
        kw["over_h"] = n * TIME_UNITS["min"]
        assume(every is None or kw["over_h"] <= every)
    order = draw(st.permutations(parts[4:]))
    if bath and every is not None and "over_h" in kw:  # after a repetition, 'for T' is the course's length, so a bath's own length comes first
        fors = [i for i, p in enumerate(order) if p.startswith("for ")]
        evs = [i for i, p in enumerate(order) if p.startswith("every ")]
        assume(fors[0] < evs[0])
    return " ".join(parts[:4] + list(order)), Dose(name, amount, unit, route, **kw)


@settings(max_examples=500, **FAST)
@given(valid_dose())
def test_every_grammatical_dose_parses_to_the_expected_dose(count_case, case):
    count_case("grammatical doses (exact parse)")
    text, expected = case
    d = parse_dose(text)
    assert d == expected
    shouted = text.upper().replace("\u039c", "u")  # 'µ'.upper() is the Greek capital Mu, not a unit prefix
    assert parse_dose(f"  {shouted}  ").route == expected.route


@settings(max_examples=400, **FAST)
@given(valid_dose(), st.lists(st.tuples(st.sampled_from("idr"), st.integers(0, 200), st.characters()), min_size=1, max_size=3))
def test_mutated_doses_parse_or_raise_one_typed_error(count_case, case, edits):
    count_case("mutated doses")
    text = case[0]
    for op, pos, ch in edits:
        pos %= len(text) + 1
        text = text[:pos] + ch + text[pos:] if op == "i" else text[:pos] + text[pos + 1:] if op == "d" else text[:pos] + ch + text[pos + 1:]
    check_parse(text)


# ------------------------------------------------------------------------------- simulations (short)
SIM_COMPOUNDS = ["ketamine", "esketamine", "psilocybin", "rapamycin", "lsd"]


@settings(max_examples=70, **FAST)
@given(
    compound=st.sampled_from(SIM_COMPOUNDS),
    amount=st.one_of(positive_amounts, st.sampled_from([1e-6, 1e4])),
    unit=st.sampled_from(["mg/kg", "ug/kg", "mg", "nmol", "nM"]),
    route=st.sampled_from(["ip", "iv", "oral", "intranasal", "icv", "sc", "bath"]),
    at=st.floats(-1.0, 3.0),
    species=st.sampled_from(["mouse", "rat", "human", "culture", "mouze"]),
    hours=st.one_of(st.floats(0.5, 6.0), st.sampled_from([0.0, -1.0, math.nan])),
)
def test_random_regimens_simulate_or_raise_one_typed_error(count_case, compound, amount, unit, route, at, species, hours):
    count_case("simulated regimens")
    text = f"{compound} {fmt_number(amount)} {unit} {route} at {at:.3f} h"
    out = check_outcome(lambda: simulator.simulate([text], species=species, hours=hours))
    if isinstance(out, simulator.Result):
        check_result(out)
        assert f"{LIB.compound(compound).id}_brain_nM" in out.timecourse


PARAMS = sorted(LIB.pathway.parameters)


@st.composite
def override(draw):
    name = draw(st.one_of(st.sampled_from(PARAMS), st.sampled_from(["k_glutamat", "K_GLUTAMATE", "spine", ""])))
    p = LIB.pathway.parameters.get(name)
    lo, hi = (p.range if p is not None and p.range else (1e-3, 1e3))
    kind = draw(st.sampled_from(["within", "outside", "negative", "zero", "special"]))
    if kind == "within":
        value = draw(st.floats(lo, hi)) if p is not None else 1.0
    elif kind == "outside":
        value = draw(st.sampled_from([lo * 1e-3, hi * 1e3, hi * 10]))
    elif kind == "negative":
        value = -draw(st.floats(1e-9, 1e6))
    elif kind == "zero":
        value = 0.0
    else:
        value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return name, value, kind


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns while the steady-state search meets extreme values
@settings(max_examples=120, **FAST)
@given(override(), st.sampled_from(["mouse", "rat"]))
def test_parameter_overrides_simulate_or_raise_one_typed_error(count_case, ov, species):
    count_case("parameter overrides")
    name, value, kind = ov
    out = check_outcome(lambda: simulator.simulate(["ketamine 10 mg/kg ip"], species=species, hours=2, params={name: value}))
    if isinstance(out, simulator.Result):
        check_result(out)
        assert out.provenance["parameters"][name] == value
    else:
        assert name in str(out) or isinstance(out, SimulationError), str(out)
    if kind in ("negative", "special") or name not in LIB.pathway.parameters:
        assert isinstance(out, PlasticityError), "invalid overrides must be refused"
    if kind == "within" and name in LIB.pathway.parameters:
        assert isinstance(out, simulator.Result), f"{name}={value} is inside its plausible range but failed: {out}"


# ------------------------------------------------------------------------------- numerical robustness (issue item 5)
@pytest.mark.parametrize("dose", [10.0**k for k in range(-6, 5)])
def test_ketamine_dose_range_in_mouse(dose):
    out = check_outcome(lambda: simulator.simulate([f"ketamine {dose:g} mg/kg ip"], species="mouse", hours=6))
    if isinstance(out, simulator.Result):
        check_result(out)
        assert out.timecourse["ketamine_brain_nM"].max() > 0
    else:
        assert isinstance(out, SimulationError) and " h" in str(out) and "Try" in str(out), str(out)


@settings(max_examples=40, **FAST)
@given(st.floats(-6, 4), st.sampled_from(["ip", "iv", "sc", "i.p.", "s.c."]))
def test_ketamine_random_doses_in_mouse(count_case, log_dose, route):
    count_case("ketamine doses 1e-6..1e4 mg/kg")
    out = check_outcome(lambda: simulator.simulate([f"ketamine {10**log_dose!r} mg/kg {route}"], species="mouse", hours=3))
    if isinstance(out, simulator.Result):
        check_result(out)
    else:
        assert isinstance(out, SimulationError), str(out)


def test_solver_failure_names_time_state_and_a_suggestion(monkeypatch):
    """When the integrator fails, the SimulationError says when, in which state, and what to try."""
    import scipy.integrate

    real = scipy.integrate.solve_ivp  # the SciPy path imports it where it integrates, so the patch reaches it there

    def failing(fun, t_span, y0, **kw):
        sol = real(fun, t_span, y0, **kw)
        if t_span[0] >= 0:  # fail the first segment after the dose
            sol.status, sol.message = -1, "Required step size is less than spacing between numbers."
        return sol

    monkeypatch.setattr(scipy.integrate, "solve_ivp", failing)
    monkeypatch.setenv("PLASTICITY_ENGINE", "scipy")  # the SciPy path's message (runs take the compiled kernel once it is built)
    with pytest.raises(SimulationError) as info:
        simulator.simulate(["ketamine 10 mg/kg ip"], species="mouse", hours=2)
    msg = str(info.value)
    assert "t = 0 h" in msg and "glutamate=" in msg and "Try" in msg and "step size" in msg
