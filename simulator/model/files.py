"""Read and check the model files under models/ (pathway, species, genotypes, conditions, compounds).

Every problem is a ModelFileError naming the file, the key and what was expected. Numbers are
converted once, here, to the engine's canonical units (see _units).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from .._cache import load_entry, save_entry
from .._errors import ModelFileError, PlasticityError, UnknownNameError
from .._io import nesting_depth, read_regular
from .._limits import MAX_JSON_DEPTH, MAX_MODEL_FILE_BYTES
from .course import parse_course

ROUTES = ("iv", "ip", "sc", "oral", "intranasal", "icv")
TARGET_KINDS = ("block", "agonist", "modulator", "concentration")


def models_dir() -> Path:
    """models/ inside the installed package, or at the repository root for a source checkout.

    The environment variable PLASTICITY_MODELS, when set, names another models folder (same layout:
    pathway.toml, species.toml, genotypes.toml, compounds/*.toml), e.g. an edited copy.
    """
    env = os.environ.get("PLASTICITY_MODELS", "").strip()
    if env:
        cand = Path(env).expanduser().resolve()
        if not (cand / "pathway.toml").is_file():
            raise ModelFileError(str(cand), "PLASTICITY_MODELS", "expected a folder holding pathway.toml, species.toml, genotypes.toml and compounds/")
        return cand
    here = Path(__file__).resolve().parents[1]  # the simulator package: models/ in a wheel, or beside it in a checkout
    for cand in (here / "models", here.parent / "models"):
        if (cand / "pathway.toml").is_file():
            return cand
    raise FileNotFoundError(f"no models/pathway.toml next to {here} or its parent")


@dataclass(frozen=True)
class Param:
    """A number with its unit (canonical), plausible range and source."""

    name: str
    value: float
    unit: str
    source: str
    range: tuple[float, float] | None = None
    note: str = ""

    @property
    def assumed(self) -> bool:
        return self.source.strip().lower().startswith("assumed")


def read_param(entry: object, file: str, key: str, *, positive: bool = False, expect: str | None = None) -> Param:
    """Check one `{ value, unit, source, range? }` table and convert it to canonical units.

    `expect` is the canonical unit the engine needs for this key (e.g. 'L/h/kg' for a clearance);
    a unit of another dimension (or per-kg where per-animal is needed) is an error, not a silent mix-up.
    """
    from .units import parse_unit, to_canonical  # here: pint (0.3 s to import) loads only when files are parsed, not read from the cache

    if not isinstance(entry, dict):
        raise ModelFileError(file, key, f"expected a table {{ value = ..., unit = ..., source = ... }}, got {entry!r}")
    unknown = set(entry) - {"value", "unit", "source", "range", "note", "kind"}
    if unknown:
        raise ModelFileError(file, key, f"unexpected field(s) {sorted(unknown)}; allowed: value, unit, source, range, note, kind")
    for req in ("value", "unit", "source"):
        if req not in entry:
            raise ModelFileError(file, key, f"missing '{req}' (every number needs value, unit and source)")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ModelFileError(file, f"{key}.value", f"expected a finite number, got {value!r}")
    if not isinstance(entry["source"], str) or not entry["source"].strip():
        raise ModelFileError(file, f"{key}.source", "expected a non-empty source (paper, year, figure; 'calibrated'; or 'assumed' with a note)")
    if not isinstance(entry["unit"], str) or len(entry["unit"]) > 40:
        raise ModelFileError(file, f"{key}.unit", f"expected a unit such as '1/h' or 'nM' (text of at most 40 characters), got {entry['unit']!r:.60}")
    try:
        parse_unit(entry["unit"])
        val, unit = to_canonical(float(value), entry["unit"])
    except Exception as exc:  # noqa: BLE001 - pint's parser raises many types (AssertionError, TokenError ...) on odd text
        raise ModelFileError(file, f"{key}.unit", f"unknown or unsupported unit {entry['unit']!r} ({type(exc).__name__}: {exc})") from None
    if expect is not None and unit != expect:
        raise ModelFileError(file, f"{key}.unit", f"unit {entry['unit']!r} has the wrong dimension; expected a unit convertible to {expect!r}")
    rng = None
    if "range" in entry:
        r = entry["range"]
        if not (isinstance(r, list) and len(r) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r)):
            raise ModelFileError(file, f"{key}.range", f"expected [low, high], got {r!r}")
        lo, _ = to_canonical(float(r[0]), str(entry["unit"]))
        hi, _ = to_canonical(float(r[1]), str(entry["unit"]))
        if lo > hi:
            raise ModelFileError(file, f"{key}.range", f"low {r[0]} is above high {r[1]}")
        if not (lo - 1e-12 * abs(lo) <= val <= hi + 1e-12 * abs(hi)):
            raise ModelFileError(file, f"{key}.value", f"{value} lies outside its range {r}")
        rng = (lo, hi)
    is_rate = unit in ("1/h", "h")
    if (positive or is_rate) and val <= 0:
        raise ModelFileError(file, f"{key}.value", f"expected a positive {'rate or time' if is_rate else 'number'}, got {value}")
    if rng is not None and (positive or is_rate) and rng[0] <= 0:
        raise ModelFileError(file, f"{key}.range", f"expected a positive lower bound, got {entry['range'][0]}")
    return Param(key.split(".")[-1], val, unit, entry["source"].strip(), rng, str(entry.get("note", "")))


def _load_toml(path: Path) -> dict:
    return parse_toml(read_model_file(path, path.name), path.name)


def read_model_file(path: Path, file: str) -> bytes:
    """A model file's bytes: a regular file (a link to one is fine: the folder is the user's choice) of at most
    MAX_MODEL_FILE_BYTES; a FIFO, a device or /dev/zero is refused at once, not read for ever."""
    try:
        return read_regular(path, "(file)", MAX_MODEL_FILE_BYTES, follow=True)
    except PlasticityError as exc:
        raise ModelFileError(file, "(file)", str(exc).removeprefix("(file): ")) from None


# strings and comments, whose brackets do not nest: TOML's four string forms, then comments
_TOML_SKIP = re.compile(r"'''.*?'''|\"\"\"(?:[^\\]|\\.)*?\"\"\"|\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|#[^\n]*", re.S)


def parse_toml(data: bytes, file: str) -> dict:
    """TOML someone may have sent: UTF-8, nested at most MAX_JSON_DEPTH (checked in one linear pass before the
    standard library's recursive parser runs)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(file, "(file)", f"not UTF-8 text (byte at offset {exc.start}); save it as UTF-8") from None
    if nesting_depth(text, _TOML_SKIP) > MAX_JSON_DEPTH:
        raise ModelFileError(file, "(file)", f"arrays or tables nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelFileError(file, "(file)", f"malformed TOML: {exc}") from None


def _table(data: dict, key: str, file: str, *, required: bool = True) -> dict:
    val = data.get(key, None)
    if val is None:
        if required:
            raise ModelFileError(file, key, "missing table")
        return {}
    if not isinstance(val, dict):
        raise ModelFileError(file, key, f"expected a table, got {type(val).__name__}")
    return val


def _names(entry: dict, key: str, file: str, where: str) -> tuple[str, ...]:
    """A list of names (aliases): a string where a list is expected is an error, not its letters."""
    val = entry.get(key, [])
    if not isinstance(val, list) or not all(isinstance(x, str) and x.strip() for x in val):
        raise ModelFileError(file, f"{where}.{key}" if where else key, f"expected a list of names such as [\"wt\"], got {val!r:.60}")
    return tuple(x.strip().lower() for x in val)


def _flag(entry: dict, key: str, file: str, where: str) -> bool:
    val = entry.get(key, False)
    if not isinstance(val, bool):
        raise ModelFileError(file, f"{where}.{key}", f"expected true or false, got {val!r:.60}")
    return val


def _text(entry: dict, key: str, file: str, where: str, default: str | None = None) -> str:
    val = entry.get(key, default)
    if val is None:
        raise ModelFileError(file, f"{where}.{key}", "missing")
    if not isinstance(val, (str, int, float)) or isinstance(val, bool):
        raise ModelFileError(file, f"{where}.{key}", f"expected text, got {val!r}")
    return str(val)


# ------------------------------------------------------------------------------------------ pathway
@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    source_key: str  # the key compounds use for their potency (usually the target's own name)
    potency_scale: str | None
    description: str
    tau_scale: str | None = None  # a parameter scaling every ligand's tau: the tissue's receptor reserve and coupling
    hallucinogenic_slope: str | None = None  # a parameter: the transducer slope from receptor stimulus to the hallucinogenic response
    hallucinogenic_gain: str | None = None  # a parameter: that response's own amplification of the stimulus (its receptor reserve)


@dataclass(frozen=True)
class StateSpec:
    name: str
    ode: str
    initial: str
    unit: str
    description: str


@dataclass(frozen=True)
class Expr:
    name: str
    expr: str
    unit: str
    description: str
    node: str | None = None  # for readouts: the model node an intervention on this readout acts on


@dataclass(frozen=True)
class Edge:
    """A named feedback edge: expressions use its name for the upstream node `source`; `cut` replaces it by
    that node's drug-free steady state. `aliases` are former names that still work (in `cut` and in expressions)."""

    name: str
    source: str
    description: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pathway:
    file: str
    name: str
    targets: dict[str, Target]
    edges: dict[str, Edge]
    states: dict[str, StateSpec]
    assignments: dict[str, Expr]
    readouts: dict[str, Expr]
    parameters: dict[str, Param]

    def edge_name(self, name: str) -> str:
        """The edge's current name for a name or a former name (alias); an unknown name is an error suggesting one."""
        if name in self.edges:
            return name
        for e in self.edges.values():
            if name in e.aliases:
                return e.name
        raise UnknownNameError("feedback edge", name, [*self.edges, *(a for e in self.edges.values() for a in e.aliases)])


def _exprs(data: dict, section: str, file: str) -> dict[str, Expr]:
    out = {}
    for name, entry in _table(data, section, file).items():
        where = f"{section}.{name}"
        if not isinstance(entry, dict):
            raise ModelFileError(file, where, "expected a table { expr = ..., unit = ..., description = ... }")
        node = entry.get("node")
        if node is not None and not isinstance(node, str):
            raise ModelFileError(file, f"{where}.node", f"expected the name of a state or assignment, got {node!r:.60}")
        out[name] = Expr(name, _text(entry, "expr", file, where), _text(entry, "unit", file, where, "1"), _text(entry, "description", file, where, ""), node)
    return out


def load_pathway(path: Path) -> Pathway:
    file = path.name
    data = _load_toml(path)
    model = _table(data, "model", file)
    targets = {}
    for name, entry in _table(data, "targets", file).items():
        where = f"targets.{name}"
        if not isinstance(entry, dict):
            raise ModelFileError(file, where, f"expected a table {{ kind = ..., description = ... }}, got {entry!r:.60}")
        for key in ("potency_scale", "tau_scale", "hallucinogenic_slope", "hallucinogenic_gain"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise ModelFileError(file, f"{where}.{key}", f"expected a parameter name, got {entry[key]!r:.60}")
        kind = _text(entry, "kind", file, where)
        if kind not in TARGET_KINDS:
            raise ModelFileError(file, f"{where}.kind", f"expected one of {TARGET_KINDS}, got {kind!r}")
        for key in ("tau_scale", "hallucinogenic_slope", "hallucinogenic_gain"):
            if entry.get(key) is not None and kind != "agonist":
                raise ModelFileError(file, f"{where}.{key}", f"only an agonist target has an operational response to shape; kind is {kind!r}")
        targets[name] = Target(name, kind, _text(entry, "from", file, where, name), entry.get("potency_scale"), _text(entry, "description", file, where, ""),
                               entry.get("tau_scale"), entry.get("hallucinogenic_slope"), entry.get("hallucinogenic_gain"))
    edges = {}
    for name, entry in _table(data, "edges", file, required=False).items():
        if not isinstance(entry, dict):
            raise ModelFileError(file, f"edges.{name}", f"expected a table {{ from = ..., description = ... }}, got {entry!r:.60}")
        edges[name] = Edge(name, _text(entry, "from", file, f"edges.{name}"), _text(entry, "description", file, f"edges.{name}", ""),
                           _names(entry, "aliases", file, f"edges.{name}"))
    states = {}
    for name, entry in _table(data, "states", file).items():
        where = f"states.{name}"
        if not isinstance(entry, dict):
            raise ModelFileError(file, where, "expected a table { ode = ..., initial = ..., unit = ... }")
        states[name] = StateSpec(name, _text(entry, "ode", file, where), _text(entry, "initial", file, where), _text(entry, "unit", file, where, "1"), _text(entry, "description", file, where, ""))
    params = {name: read_param(entry, file, f"parameters.{name}") for name, entry in _table(data, "parameters", file).items()}
    for e in edges.values():
        if e.source not in states:
            raise UnknownNameError("state", e.source, states, context=f"{file}: edges.{e.name}.from")
    pw = Pathway(file, _text(model, "name", file, "model"), targets, edges, states, _exprs(data, "assignments", file), _exprs(data, "readouts", file), params)
    names: dict[str, str] = {}
    aliases = {a: e.name for e in edges.values() for a in e.aliases}
    for section, group in (("states", states), ("assignments", pw.assignments), ("parameters", params), ("edges", edges), ("edges", aliases)):
        for n in group:
            if n in names:
                where = f"edges.{aliases[n]}.aliases" if group is aliases else f"{section}.{n}"
                raise ModelFileError(file, where, f"duplicate name '{n}': already defined in [{names[n]}]")
            names[n] = section
    return pw


# ------------------------------------------------------------------------------------------ species
@dataclass(frozen=True)
class Species:
    name: str
    description: str
    body_weight: Param
    baseline_spine_density: Param
    baseline_head_diameter: Param
    bath: bool = False


def load_species(path: Path) -> dict[str, Species]:
    file = path.name
    out = {}
    for name, entry in _load_toml(path).items():
        w = name
        if not isinstance(entry, dict):
            raise ModelFileError(file, w, f"expected a table [{w}] with body_weight, baseline_spine_density, baseline_head_diameter; got {entry!r}")
        out[name] = Species(
            name,
            _text(entry, "description", file, w, ""),
            read_param(entry.get("body_weight"), file, f"{w}.body_weight", positive=True, expect="kg"),
            read_param(entry.get("baseline_spine_density"), file, f"{w}.baseline_spine_density", positive=True, expect="1/um"),
            read_param(entry.get("baseline_head_diameter"), file, f"{w}.baseline_head_diameter", positive=True, expect="um"),
            _flag(entry, "bath", file, w),
        )
    return out


@dataclass(frozen=True)
class Genotype:
    name: str
    description: str
    aliases: tuple[str, ...]
    multipliers: dict[str, Param]


def load_genotypes(path: Path, params: dict[str, Param]) -> dict[str, Genotype]:
    file = path.name
    out = {}
    for name, entry in _load_toml(path).items():
        if not isinstance(entry, dict):
            raise ModelFileError(file, name, f"expected a table [{name}] with description and multipliers; got {entry!r}")
        mult = {}
        for p, e in _table(entry, "multipliers", file, required=False).items():
            if p not in params:
                raise UnknownNameError("parameter", p, params, context=f"{file}: {name}.multipliers")
            mult[p] = read_param(e, file, f"{name}.multipliers.{p}")
        out[name] = Genotype(name, _text(entry, "description", file, name, ""), _names(entry, "aliases", file, name), mult)
    return out


@dataclass(frozen=True)
class Condition:
    """A brain state (chronic stress, chronic corticosterone ...): sourced multipliers of pathway parameters.

    `none` (no multipliers) is always defined; a run's `condition_severity` raises each multiplier to its power."""

    name: str
    description: str
    aliases: tuple[str, ...]
    multipliers: dict[str, Param]
    protocol: str = ""
    onset: Param | None = None  # rate (1/h) at which the condition's drive builds once it starts
    recovery: Param | None = None  # rate (1/h) at which the drive fades once it stops


NO_CONDITION = Condition("none", "no condition (the unstressed animal)", ("healthy", "control"), {})
CONDITIONS_FILE = "conditions.toml"


def _course(entry: dict, file: str, name: str) -> tuple[Param, Param]:
    """A condition's `course` table: the rates at which its drive builds (`onset`) and fades (`recovery`), each sourced."""
    course = entry.get("course")
    if not isinstance(course, dict) or set(course) != {"onset", "recovery"}:
        got = sorted(course) if isinstance(course, dict) else course
        raise ModelFileError(file, f"{name}.course", f"a condition with multipliers needs a table with exactly onset and recovery (rates such as '1/d'), got {got!r:.60}")
    onset, recovery = (read_param(course[k], file, f"{name}.course.{k}", positive=True, expect="1/h") for k in ("onset", "recovery"))
    return onset, recovery


def load_conditions(path: Path, params: dict[str, Param]) -> dict[str, Condition]:
    """models/conditions.toml, parsed like genotypes.toml (plus an optional `protocol` text); a folder
    without the file has only `none`."""
    if not path.is_file():
        return {"none": NO_CONDITION}
    file = path.name
    out: dict[str, Condition] = {}
    for name, entry in _load_toml(path).items():
        if not isinstance(entry, dict):
            raise ModelFileError(file, name, f"expected a table [{name}] with description and multipliers; got {entry!r:.60}")
        unknown = set(entry) - {"description", "aliases", "multipliers", "protocol", "course"}
        if unknown:
            raise ModelFileError(file, name, f"unexpected key(s) {sorted(unknown)}; allowed: description, aliases, multipliers, protocol, course")
        mult = {}
        for p, e in _table(entry, "multipliers", file, required=False).items():
            if p not in params:
                raise UnknownNameError("parameter", p, params, context=f"{file}: {name}.multipliers")
            mult[p] = read_param(e, file, f"{name}.multipliers.{p}", positive=True, expect="dimensionless")
        onset, recovery = _course(entry, file, name) if mult and name != "none" else (None, None)  # none: refused below
        out[name] = Condition(name, _text(entry, "description", file, name, ""), _names(entry, "aliases", file, name), mult,
                              _text(entry, "protocol", file, name, ""), onset, recovery)
    if "none" not in out:
        out = {"none": NO_CONDITION, **out}
    elif out["none"].multipliers:
        raise ModelFileError(file, "none.multipliers", "the condition 'none' changes nothing; give it no multipliers")
    seen: dict[str, str] = {}
    for c in out.values():
        for key in (c.name, *c.aliases):
            if key in seen and seen[key] != c.name:
                raise ModelFileError(file, f"{c.name}.aliases", f"name {key!r} is already used by condition '{seen[key]}'")
            seen[key] = c.name
    return out


# ------------------------------------------------------------------------------------------ compounds
@dataclass(frozen=True)
class CompoundTarget:
    """A compound at one target: affinity (`potency`, K in nM) and slope, and for agonists its operational efficacy.

    `tau` is Black & Leff's transducer ratio; a file may give `efficacy` instead (the ligand's maximal
    response as a fraction of the system maximum, e = tau / (1 + tau)). `koff` (1/h) makes binding kinetic:
    the bound receptor is a state, with kon = koff / potency."""

    target: str
    potency: Param
    hill: Param
    efficacy: Param | None
    hallucinogenic_efficacy: Param | None
    tau: Param | None = None
    koff: Param | None = None


@dataclass(frozen=True)
class Metabolite:
    compound: str
    fraction: Param


@dataclass(frozen=True)
class SpeciesPK:
    species: str
    params: dict[str, Param]
    routes: dict[str, dict[str, Param]]
    metabolites: tuple[Metabolite, ...]
    first_pass: dict[str, dict[str, Param]] = field(default_factory=dict)  # route -> metabolite -> share of the non-bioavailable part

    @property
    def systemic(self) -> bool:
        return "clearance" in self.params


@dataclass(frozen=True)
class Compound:
    id: str
    name: str
    aliases: tuple[str, ...]
    summary: str
    mechanism: str
    molar_mass: Param
    targets: dict[str, CompoundTarget]
    pk: dict[str, SpeciesPK]
    file: str

    def routes(self, species: str) -> list[str]:
        pk = self.pk.get(species)
        return sorted(pk.routes) if pk else []


_PK_SYSTEMIC = ("clearance", "volume", "fraction_unbound", "brain_partition", "brain_equilibration_halflife")
_PK_OPTIONAL = ("peripheral_volume", "intercompartmental_clearance")
_ROUTE_KEYS = {"bioavailability", "absorption_halflife", "distribution_volume", "brain_elimination_halflife"}
# the canonical unit the engine assumes for each compound and species number
EXPECTED_UNITS = {
    "clearance": "L/h/kg", "volume": "L/kg", "fraction_unbound": "dimensionless", "brain_partition": "dimensionless",
    "brain_equilibration_halflife": "h", "peripheral_volume": "L/kg", "intercompartmental_clearance": "L/h/kg",
    "bioavailability": "dimensionless", "absorption_halflife": "h", "distribution_volume": "L", "brain_elimination_halflife": "h",
    "potency": "nM", "hill": "dimensionless", "efficacy": "dimensionless", "hallucinogenic_efficacy": "dimensionless",
    "fraction": "dimensionless", "molar_mass": "g/mol", "tau": "dimensionless", "koff": "1/h",
    "body_weight": "kg", "baseline_spine_density": "1/um", "baseline_head_diameter": "um",
}


_TARGET_KEYS = ("potency", "hill", "efficacy", "tau", "hallucinogenic_efficacy", "koff")


def _compound_target(tname: str, entry: dict, file: str, w: str) -> CompoundTarget:
    """One `[targets.<name>]` table: affinity and slope, and the optional efficacy (efficacy or tau) and kinetics."""
    extra = set(entry) - set(_TARGET_KEYS)
    if extra:
        raise ModelFileError(file, f"{w}.{sorted(extra)[0]}", f"unexpected key; allowed: {', '.join(_TARGET_KEYS)}")
    opt = {k: read_param(entry[k], file, f"{w}.{k}", expect=EXPECTED_UNITS[k]) if k in entry else None
           for k in ("efficacy", "tau", "hallucinogenic_efficacy")}
    if opt["efficacy"] is not None and opt["tau"] is not None:
        raise ModelFileError(file, f"{w}.tau", "give either efficacy (maximal response, 0..1) or tau (operational efficacy), not both")
    for k in ("efficacy", "tau", "hallucinogenic_efficacy"):
        p = opt[k]
        if p is not None and (p.value < 0 or (p.range is not None and p.range[0] < 0)):
            raise ModelFileError(file, f"{w}.{k}", f"expected a number >= 0, got {p.value} with range {p.range}")
    hill = read_param(entry.get("hill"), file, f"{w}.hill", positive=True, expect="dimensionless")
    koff = read_param(entry["koff"], file, f"{w}.koff", positive=True, expect="1/h") if "koff" in entry else None
    if koff is not None and hill.value != 1:
        raise ModelFileError(file, f"{w}.hill", f"kinetic binding (koff) is one ligand on one site: hill must be 1, got {hill.value}")
    return CompoundTarget(tname, read_param(entry.get("potency"), file, f"{w}.potency", positive=True, expect="nM"), hill,
                          opt["efficacy"], opt["hallucinogenic_efficacy"], opt["tau"], koff)


def _first_pass(table: object, route: str, file: str, rw: str) -> dict[str, Param]:
    """`first_pass_to = { <metabolite> = { value, unit, source } }`: the share of the non-bioavailable part of the
    dose (1 - F) that the first pass turns into each metabolite; the shares sum to at most 1 (the rest is
    eliminated), so mass is conserved for any F in [0, 1]."""
    if route in ("iv", "icv"):
        raise ModelFileError(file, f"{rw}.first_pass_to", f"route {route} has no first pass (only extravascular routes absorbed through the liver)")
    if not isinstance(table, dict) or not table:
        raise ModelFileError(file, f"{rw}.first_pass_to", f"expected a table {{ <metabolite> = {{ value = ..., unit = \"1\", source = ... }} }}, got {table!r:.60}")
    out = {str(k).lower(): read_param(v, file, f"{rw}.first_pass_to.{k}", expect="dimensionless") for k, v in table.items()}
    for k, p in out.items():
        lo, hi = p.range if p.range is not None else (p.value, p.value)
        if not 0 <= lo <= hi <= 1:
            raise ModelFileError(file, f"{rw}.first_pass_to.{k}", f"expected a share between 0 and 1 (value and range), got {p.value} with range {p.range}")
    top = sum(p.range[1] if p.range is not None else p.value for p in out.values())
    if top > 1 + 1e-9:
        raise ModelFileError(file, f"{rw}.first_pass_to", f"the shares ({', '.join(f'{k} {p.value:g}' for k, p in out.items())}) may add up to {top:g} "
                             "at the top of their ranges; together they can be at most the whole first pass (1)")
    return out


def load_compound(path: Path, target_keys: set[str], species: set[str]) -> Compound:
    return parse_compound(_load_toml(path), path.stem, f"compounds/{path.name}", target_keys, species)


def parse_compound(data: dict, cid: str, file: str, target_keys: set[str], species: set[str]) -> Compound:
    """One compound from the tables of a compounds/*.toml file, or the same dict built in Python (`add_compound`);
    `file` names where it came from in every error."""
    name = _text(data, "name", file, "(top)").lower()
    targets = {}
    for tname, entry in _table(data, "targets", file, required=False).items():
        w = f"targets.{tname}"
        if not isinstance(entry, dict):
            raise ModelFileError(file, w, f"expected a table {{ potency = ..., hill = ... }}, got {entry!r}")
        if tname not in target_keys:
            raise UnknownNameError("target", tname, target_keys, context=f"{file}: {w}")
        targets[tname] = _compound_target(tname, entry, file, w)
    pk = {}
    for sp, entry in _table(data, "pk", file, required=False).items():
        w = f"pk.{sp}"
        if not isinstance(entry, dict):
            raise ModelFileError(file, w, f"expected a table of PK numbers, got {entry!r}")
        if sp not in species:
            raise UnknownNameError("species", sp, species, context=f"{file}: {w}")
        params = {}
        for key in _PK_SYSTEMIC + _PK_OPTIONAL:
            if key in entry:
                params[key] = read_param(entry[key], file, f"{w}.{key}", positive=key != "fraction_unbound", expect=EXPECTED_UNITS[key])
        present = [k for k in _PK_SYSTEMIC if k in params]
        if present and len(present) != len(_PK_SYSTEMIC):
            missing = sorted(set(_PK_SYSTEMIC) - set(present))
            raise ModelFileError(file, w, f"systemic PK needs {', '.join(_PK_SYSTEMIC)}; missing {', '.join(missing)}")
        if ("peripheral_volume" in params) != ("intercompartmental_clearance" in params):
            raise ModelFileError(file, w, "a peripheral compartment needs both peripheral_volume and intercompartmental_clearance")
        routes, first_pass = {}, {}
        for route, rentry in _table(entry, "routes", file, required=False).items():
            rw = f"{w}.routes.{route}"
            if route not in ROUTES:
                raise UnknownNameError("route", route, ROUTES, context=f"{file}: {rw}")
            extra = set(rentry) - _ROUTE_KEYS - {"first_pass_to"}
            if extra:
                raise ModelFileError(file, f"{rw}.{sorted(extra)[0]}", f"unexpected key; allowed: {sorted(_ROUTE_KEYS | {'first_pass_to'})}")
            rp = {k: read_param(v, file, f"{rw}.{k}", positive=k != "bioavailability", expect=EXPECTED_UNITS[k]) for k, v in rentry.items() if k != "first_pass_to"}
            if "first_pass_to" in rentry:
                first_pass[route] = _first_pass(rentry["first_pass_to"], route, file, rw)
            if route == "icv":
                for k in ("distribution_volume", "brain_elimination_halflife"):
                    if k not in rp:
                        raise ModelFileError(file, f"{rw}.{k}", "missing (an icv route needs distribution_volume and brain_elimination_halflife)")
            else:
                if not present:
                    raise ModelFileError(file, rw, f"route {route} needs systemic PK ({', '.join(_PK_SYSTEMIC)}) in [{w}]")
                if "bioavailability" not in rp:
                    raise ModelFileError(file, f"{rw}.bioavailability", "missing")
                if route != "iv" and "absorption_halflife" not in rp:
                    raise ModelFileError(file, f"{rw}.absorption_halflife", f"missing (route {route} absorbs from a depot)")
            routes[route] = rp
        mets = []
        listed = entry.get("metabolites", [])
        if not isinstance(listed, list):
            raise ModelFileError(file, f"{w}.metabolites", f"expected a list of tables {{ compound = ..., fraction = ... }}, got {listed!r:.60}")
        for i, m in enumerate(listed):
            mw = f"{w}.metabolites[{i}]"
            if not isinstance(m, dict):
                raise ModelFileError(file, mw, f"expected a table {{ compound = ..., fraction = ... }}, got {m!r:.60}")
            mets.append(Metabolite(_text(m, "compound", file, mw).lower(), read_param(m.get("fraction"), file, f"{mw}.fraction", expect="dimensionless")))
        pk[sp] = SpeciesPK(sp, params, routes, tuple(mets), first_pass)
    return Compound(
        cid,
        name,
        _names(data, "aliases", file, ""),
        _text(data, "summary", file, "(top)", ""),
        _text(data, "mechanism", file, "(top)", ""),
        read_param(data.get("molar_mass"), file, "molar_mass", positive=True, expect="g/mol"),
        targets,
        pk,
        file,
    )


# ------------------------------------------------------------------------------------------ library
@dataclass(frozen=True)
class Library:
    """Everything under models/, checked, with a hash of the files for provenance."""

    root: Path
    pathway: Pathway
    species: dict[str, Species]
    genotypes: dict[str, Genotype]
    compounds: dict[str, Compound]
    hash: str
    _lookup: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, Condition] = field(default_factory=lambda: {"none": NO_CONDITION})

    def compound(self, name: str) -> Compound:
        key = name.strip().lower()
        if key in self._lookup:
            return self.compounds[self._lookup[key]]
        raise UnknownNameError("compound", name, [c.name for c in self.compounds.values()])

    def genotype(self, name: str) -> Genotype:
        key = name.strip().lower()
        for g in self.genotypes.values():
            if key == g.name or key in g.aliases:
                return g
        raise UnknownNameError("genotype", name, self.genotypes)

    def condition(self, name: str) -> Condition:
        """A condition by name or alias ('none', 'chronic_stress', 'cus' ...), with or without its course ('cus from 0 d');
        an unknown name suggests the closest."""
        key = parse_course(name).name.lower() if isinstance(name, str) else str(name).strip().lower()
        for c in self.conditions.values():
            if key == c.name or key in c.aliases:
                return c
        raise UnknownNameError("condition", name, [*self.conditions, *(a for c in self.conditions.values() for a in c.aliases)])

    def get_species(self, name: str) -> Species:
        key = str(name).strip().lower()
        if key not in self.species:
            raise UnknownNameError("species", name, self.species)
        return self.species[key]


def load_library(root: Path | None = None) -> Library:
    """Load and check every model file; cached until a file in the folder changes (size or mtime),
    so an edit made while a session runs is seen by the next call."""
    root = Path(root or models_dir())
    files = _library_files(root)
    stamp = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            stamp.append((f.name, None))
            continue
        stamp.append((f.name, st.st_size, st.st_mtime_ns))
    return _load_library(str(root), tuple(stamp))


def _library_files(root: Path) -> list[Path]:
    extra = [root / CONDITIONS_FILE] if (root / CONDITIONS_FILE).is_file() else []  # optional: without it only 'none'
    return [root / "pathway.toml", root / "species.toml", root / "genotypes.toml", *extra, *sorted((root / "compounds").glob("*.toml"))]


def index_compounds(compounds: Iterable[Compound]) -> tuple[dict[str, Compound], dict[str, str]]:
    """Compounds by id, and every name, id and alias -> id; a name used by two compounds, or a metabolite
    no compound answers to, is an error naming the file."""
    by_id: dict[str, Compound] = {}
    lookup: dict[str, str] = {}
    for c in compounds:
        for key in (c.name, c.id, *c.aliases):
            if key in lookup and lookup[key] != c.id:
                raise ModelFileError(c.file, "aliases", f"name {key!r} is already used by {by_id[lookup[key]].file}")
            lookup[key] = c.id
        by_id[c.id] = c
    for c in by_id.values():
        for pk in c.pk.values():
            for m in pk.metabolites:
                if m.compound not in lookup:
                    raise UnknownNameError("compound", m.compound, lookup, context=f"{c.file}: pk.{pk.species}.metabolites")
                if lookup[m.compound] == c.id:
                    raise ModelFileError(c.file, f"pk.{pk.species}.metabolites", f"{c.name} is listed as its own metabolite")
            named = {lookup[m.compound] for m in pk.metabolites}
            for route, to in pk.first_pass.items():
                for met in to:
                    if lookup.get(met) not in named:
                        raise ModelFileError(c.file, f"pk.{pk.species}.routes.{route}.first_pass_to.{met}", f"'{met}' must also be listed in "
                                             f"[[pk.{pk.species}.metabolites]] (first-pass metabolism forms the same metabolite as systemic clearance); "
                                             f"listed: {sorted(m.compound for m in pk.metabolites) or 'none'}")
    return by_id, lookup


@lru_cache(maxsize=8)
def _load_library(root_s: str, stamp: tuple) -> Library:
    root = Path(root_s)
    files = _library_files(root)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(root).as_posix().encode())
        if not os.path.lexists(f):
            raise ModelFileError(f.relative_to(root).as_posix(), "(file)", f"cannot read {f} (no such file); every models folder needs pathway.toml, species.toml and genotypes.toml")
        digest.update(read_model_file(f, f.relative_to(root).as_posix()))
    key = hashlib.sha256(f"{root_s}\0{digest.hexdigest()}\0{_parser_hash()}".encode()).hexdigest()[:32]
    stored = load_entry("library", key)
    if isinstance(stored, Library):
        return replace(stored, root=root)
    from .dimensions import check_pathway_dimensions  # pint, as in read_param

    pathway = load_pathway(files[0])
    check_pathway_dimensions(pathway)
    species = load_species(files[1])
    genotypes = load_genotypes(files[2], pathway.parameters)
    conditions = load_conditions(root / CONDITIONS_FILE, pathway.parameters)
    target_keys = {t.source_key for t in pathway.targets.values()}
    compounds, lookup = index_compounds(load_compound(f, target_keys, set(species)) for f in files[3:]
                                        if not (f.name == CONDITIONS_FILE and f.parent == root))
    library = Library(root, pathway, species, genotypes, compounds, digest.hexdigest()[:16], lookup, conditions)
    save_entry("library", key, library)
    return library


@lru_cache(maxsize=1)
def _parser_hash() -> str:
    """A hash of the code that parses the files (model/'s sources and the leaves they use) and of the Python: a
    parsed library saved in the user cache (a fresh process reads it in 10 ms instead of parsing for 0.5 s) is
    read back only by the same code that parsed it."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(sys.version.encode())
    for f in [*sorted(here.glob("*.py")), *(here.parent / n for n in ("_errors.py", "_io.py", "_limits.py", "_cache.py"))]:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]
