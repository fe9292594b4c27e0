"""The regimen grammar (DESIGN.md "Regimen strings"): every form, every spelling, every bad form."""

from __future__ import annotations

import pytest

from simulator import Dose, Regimen, RegimenError, UnknownNameError, parse_dose
from simulator.model.regimen import parse_time


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ketamine 10 mg/kg ip", Dose("ketamine", 10, "mg/kg", "ip")),
        ("ketamine 10 mg/kg ip at 2 h", Dose("ketamine", 10, "mg/kg", "ip", at_h=2.0)),
        ("ketamine 0.5 mg/kg iv over 40 min", Dose("ketamine", 0.5, "mg/kg", "iv", over_h=40 / 60)),
        ("esketamine 56 mg intranasal every 3.5 d x 8", Dose("esketamine", 56, "mg", "intranasal", every_h=84.0, count=8)),
        ("rapamycin 0.2 nmol icv at -30 min", Dose("rapamycin", 0.2, "nmol", "icv", at_h=-0.5)),
        ("lsd 10 nM bath for 15 min", Dose("lsd", 10, "nM", "bath", over_h=0.25)),
        ("bdnf 2 nM bath", Dose("bdnf", 2, "nM", "bath")),
        ("ketamine 1 mg/kg iv at 1 h every 2 h over 10 min x 3", Dose("ketamine", 1, "mg/kg", "iv", at_h=1.0, over_h=10 / 60, every_h=2.0, count=3)),
        ("ketamine 1 mg/kg iv every 1 d x 2 over 30 min at 6 h", Dose("ketamine", 1, "mg/kg", "iv", at_h=6.0, over_h=0.5, every_h=24.0, count=2)),
        ("(2R,6R)-HNK 10 mg/kg ip", Dose("(2R,6R)-HNK", 10, "mg/kg", "ip")),
        ("ANA-12 0.5 mg/kg ip", Dose("ANA-12", 0.5, "mg/kg", "ip")),
        ("  ketamine   10   mg/kg   ip  ", Dose("ketamine", 10, "mg/kg", "ip")),
        ("ketamine 1e-3 mg/kg ip", Dose("ketamine", 1e-3, "mg/kg", "ip")),
        ("ketamine 10mg/kg ip", Dose("ketamine", 10, "mg/kg", "ip")),
        ("ketamine 10 mg/kg ip at 90 s", Dose("ketamine", 10, "mg/kg", "ip", at_h=90 / 3600)),
        ("ketamine 10 mg/kg ip at 1 w", Dose("ketamine", 10, "mg/kg", "ip", at_h=168.0)),
    ],
)
def test_every_documented_form_parses_to_the_right_dose(text, expected):
    assert parse_dose(text) == expected


def test_times_of_a_repeated_schedule_count_the_first_dose():
    d = parse_dose("esketamine 56 mg intranasal at 1 h every 3.5 d x 8")
    assert d.times_h == [1.0 + 84.0 * i for i in range(8)]
    assert parse_dose("ketamine 10 mg/kg ip").times_h == [0.0]


@pytest.mark.parametrize(
    "spelling, route",
    [
        ("ip", "ip"), ("i.p.", "ip"), ("IP", "ip"), ("iv", "iv"), ("i.v.", "iv"), ("oral", "oral"), ("po", "oral"), ("p.o.", "oral"),
        ("intranasal", "intranasal"), ("in", "intranasal"), ("sc", "sc"), ("s.c.", "sc"), ("icv", "icv"), ("i.c.v.", "icv"),
    ],
)
def test_route_spellings(spelling, route):
    assert parse_dose(f"ketamine 1 mg/kg {spelling}").route == route


@pytest.mark.parametrize("unit", ["ug", "µg", "μg", "UG"])  # micro sign U+00B5 and Greek mu U+03BC
def test_microgram_spellings_are_the_same(unit):
    assert parse_dose(f"ketamine 3 {unit}/kg ip") == Dose("ketamine", 3, "ug/kg", "ip")
    assert parse_dose(f"ketamine 3 {unit} ip").unit == "ug"


@pytest.mark.parametrize("text, hours", [("30 min", 0.5), ("2 h", 2.0), ("3.5 d", 84.0), ("-30 min", -0.5), ("90s", 0.025), ("1 week", 168.0)])
def test_parse_time(text, hours):
    assert parse_time(text) == pytest.approx(hours, rel=1e-15)


def test_str_round_trips():
    for text in [
        "ketamine 10 mg/kg ip", "ketamine 10 mg/kg ip at 2 h", "ketamine 0.5 mg/kg iv over 40 min", "rapamycin 0.2 nmol icv at -30 min",
        "esketamine 56 mg intranasal every 3.5 d x 8", "lsd 10 nM bath for 15 min", "(2R,6R)-HNK 10 mg/kg ip",
    ]:
        d = parse_dose(text)
        assert parse_dose(str(d)) == d


@pytest.mark.parametrize(
    "text, error, words",
    [
        ("ketamine -1 mg/kg ip", RegimenError, ["amount", "positive", "-1"]),
        ("ketamine 0 mg/kg ip", RegimenError, ["amount", "positive"]),
        ("ketamine abc mg/kg ip", RegimenError, ["amount", "'abc'", "not a number"]),
        ("ketamine nan mg/kg ip", RegimenError, ["amount", "finite", "nan"]),
        ("ketamine inf mg/kg ip", RegimenError, ["amount", "finite"]),
        ("ketamine 1e400 mg/kg ip", RegimenError, ["amount", "finite"]),
        ("ketamine 1 mg/lb ip", UnknownNameError, ["dose unit", "'mg/lb'", "Did you mean 'mg/kg'"]),
        ("ketamine 1 mg/kg ipp", UnknownNameError, ["route", "'ipp'", "Did you mean 'ip'"]),
        ("ketamine 1 nM ip", RegimenError, ["unit", "bath"]),
        ("ketamine 1 mg/kg bath", RegimenError, ["unit", "'mg/kg'", "bath"]),
        ("ketamine 1 mg/kg ip foo", RegimenError, ["'foo'", "expected 'at T'"]),
        ("ketamine 1 mg/kg ip at", RegimenError, ["at", "expected a time"]),
        ("ketamine 1 mg/kg ip at 2", RegimenError, ["at", "expected a time"]),
        ("ketamine 1 mg/kg ip at 1 fortnight", UnknownNameError, ["time unit", "'fortnight'"]),
        ("ketamine 1 mg/kg ip at 1 h at 2 h", RegimenError, ["at", "given twice"]),
        ("ketamine 1 mg/kg ip x 2", RegimenError, ["x 2", "interval", "every"]),
        ("ketamine 1 mg/kg ip every 1 d", RegimenError, ["every", "how many doses", "x 14"]),  # not one dose, silently
        ("ketamine 1 mg/kg ip at 2 h every 12 h", RegimenError, ["every", "how many doses"]),
        ("ketamine 1 mg/kg ip every 1 d x 2.5", RegimenError, ["x", "whole number"]),
        ("ketamine 1 mg/kg ip every 1 d x 0", RegimenError, ["x", ">= 1", "0"]),
        ("ketamine 1 mg/kg ip every 0 h x 2", RegimenError, ["every", "positive"]),
        ("ketamine 1 mg/kg iv over 0 min", RegimenError, ["over", "positive"]),
        ("ketamine 1 mg/kg iv over 3 h every 2 h x 2", RegimenError, ["over", "longer than the dosing interval"]),
        ("ketamine 1 mg/kg ip at 1 h 5", RegimenError, ["at", "'5'"]),
        ("ketamine", RegimenError, ["dose", "'ketamine'", "expected '<compound> <amount> <unit> <route>"]),
        ("", RegimenError, ["dose", "expected"]),
        ("10 mg/kg ip", RegimenError, ["dose"]),
    ],
)
def test_bad_forms_raise_one_typed_error_naming_the_problem(text, error, words):
    with pytest.raises(error) as info:
        parse_dose(text)
    assert type(info.value) is error
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize("value", [None, 5, 1.5, ["ketamine 10 mg/kg ip"], b"ketamine 10 mg/kg ip"])
def test_non_string_dose(value):
    with pytest.raises(RegimenError, match="dose: expected a string"):
        parse_dose(value)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(compound="", amount=1, unit="mg/kg", route="ip"), "compound"),
        (dict(compound="ketamine", amount=True, unit="mg/kg", route="ip"), "amount"),
        (dict(compound="ketamine", amount="1", unit="mg/kg", route="ip"), "amount"),
        (dict(compound="ketamine", amount=1, unit="mg/kg", route="ip", at_h=float("nan")), "at_h"),
        (dict(compound="ketamine", amount=1, unit="mg/kg", route="ip", every_h=1.0, count=2.0), "x"),
    ],
)
def test_dose_constructor_checks_fields(kwargs, field):
    with pytest.raises(RegimenError) as info:
        Dose(**kwargs)
    assert str(info.value).startswith(field)


def test_regimen_coerce():
    assert len(Regimen.coerce(None)) == 0 and str(Regimen.coerce([])) == "vehicle"
    r = Regimen.coerce(["rapamycin 0.2 nmol icv at -30 min", Dose("ketamine", 10, "mg/kg", "ip")])
    assert [d.compound for d in r] == ["rapamycin", "ketamine"]
    assert r.start_h == -0.5
    assert Regimen.coerce("ketamine 10 mg/kg ip").doses == (parse_dose("ketamine 10 mg/kg ip"),)
    assert Regimen.coerce(r) is r


def test_regimen_from_toml_both_forms(tmp_path):
    f = tmp_path / "protocol.toml"
    f.write_text(
        'doses = ["rapamycin 0.2 nmol icv at -30 min"]\n\n'
        "[[dose]]\ncompound = \"ketamine\"\namount = \"10 mg/kg\"\nroute = \"ip\"\n\n"
        "[[dose]]\ncompound = \"esketamine\"\namount = \"56 mg\"\nroute = \"intranasal\"\nat = \"1 h\"\nevery = \"3.5 d\"\ncount = 8\n\n"
        "[[dose]]\ncompound = \"ketamine\"\namount = \"0.5 mg/kg\"\nroute = \"iv\"\nover = \"40 min\"\n"
    )
    r = Regimen.from_toml(f)
    assert r.doses == (
        parse_dose("rapamycin 0.2 nmol icv at -30 min"),
        parse_dose("ketamine 10 mg/kg ip"),
        parse_dose("esketamine 56 mg intranasal at 1 h every 3.5 d x 8"),
        parse_dose("ketamine 0.5 mg/kg iv over 40 min"),
    )


@pytest.mark.parametrize(
    "body, words",
    [
        ("doses = [\"ketamine 10 mg/kg\"", ["protocol.toml", "cannot read regimen file"]),
        ("[[dose]]\ncompound = \"ketamine\"\nroute = \"ip\"\n", ["dose[0]", "missing key", "amount"]),
        ("[[dose]]\ncompound = \"ketamine\"\namount = \"ten mg/kg\"\nroute = \"ip\"\n", ["dose[0]", "ten"]),
        ("[[dose]]\ncompound = \"ketamine\"\namount = \"-1 mg/kg\"\nroute = \"ip\"\n", ["amount", "positive"]),
        ("doses = [\"ketamine -1 mg/kg ip\"]", ["amount", "positive"]),
    ],
)
def test_regimen_from_toml_errors(tmp_path, body, words):
    f = tmp_path / "protocol.toml"
    f.write_text(body)
    with pytest.raises(RegimenError) as info:
        Regimen.from_toml(f)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_regimen_from_missing_file(tmp_path):
    with pytest.raises(RegimenError, match="cannot read regimen file"):
        Regimen.from_toml(tmp_path / "nope.toml")
