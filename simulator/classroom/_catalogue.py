"""What the classroom offers: compounds with display names and dose choices, pretreatments, feedback cuts,
genotypes; and `Setting`, one choice of all of them, which turns into a `simulate()` call.

The offer is data (`catalogue.toml` beside this file, or a lecturer's copy); it is checked against the model
library on loading, so a typo in it fails with the file, the entry and the fix, not in the middle of a class.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from .._errors import PlasticityError, UnknownNameError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE / "catalogue.toml"
HOURS = 72.0
GAIN_HOURS = (24, 48, 72)
NONE = "none"

# the two feedback edges the engine can cut, with what a student sees
FEEDBACK = {
    "mtorc1_to_bdnf": "mTORC1 → BDNF",
    "synaptic_protein_to_ampa": "synaptic protein → AMPA",
}
ROUTE_NAMES = {"ip": "i.p.", "iv": "i.v.", "sc": "s.c.", "icv": "i.c.v.", "oral": "oral", "intranasal": "intranasal"}


class TeachingFileError(PlasticityError):
    """A classroom file (the catalogue or a questions file) is malformed; the message names the file, the entry and the fix."""

    def __init__(self, file: str | Path, key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class Dosing:
    """How one compound is dosed in one species: the typical dose, its unit and route, and the dose choices."""

    typical: float
    unit: str
    route: str
    doses: tuple[float, ...]
    over: str = ""

    @property
    def unit_label(self) -> str:
        """'mg/kg i.p.', 'mg/kg i.v. over 40 min'."""
        over = f" over {self.over}" if self.over else ""
        return f"{self.unit} {ROUTE_NAMES.get(self.route, self.route)}{over}"


@dataclass(frozen=True)
class Compound:
    id: str
    name: str  # the library's name, used in dose strings
    display: str
    dosing: dict[str, Dosing]


@dataclass(frozen=True)
class Pretreatment:
    key: str
    display: str
    doses: dict[str, str]  # species -> dose string


@dataclass(frozen=True)
class Setting:
    """One choice of every control: a drug at a dose in a species, with a pretreatment, cuts, a genotype, a condition (and a clamp)."""

    compound: str
    dose: float
    species: str = "mouse"
    pretreatment: str = NONE
    cuts: tuple[str, ...] = ()
    genotype: str = "wild_type"
    clamp: str = ""  # 'mtorc1=0 from 2 h to 6 h' (questions only; the controls have none)
    condition: str = NONE  # a brain state from models/conditions.toml: none, chronic_stress, chronic_corticosterone

    def __post_init__(self):
        object.__setattr__(self, "cuts", tuple(sorted(set(self.cuts))))
        object.__setattr__(self, "dose", float(self.dose))

    @property
    def key(self) -> str:
        """A stable text key: the lesson page looks runs up by it."""
        return "|".join([self.compound, f"{self.dose:g}", self.species, self.pretreatment, "+".join(self.cuts) or "-", self.genotype, self.condition, self.clamp])

    def with_(self, **changes) -> Setting:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass
class Catalogue:
    """The compounds, pretreatments and species the classroom offers (see catalogue.toml)."""

    file: Path
    species: list[str]
    compounds: dict[str, Compound]
    pretreatments: dict[str, Pretreatment]
    genotypes: list[str]
    default: Setting
    conditions: dict[str, str] = field(default_factory=lambda: {NONE: "none"})  # condition -> display name
    _lib: object = field(repr=False, default=None)

    def dosing(self, s: Setting) -> Dosing:
        comp = self.compound(s.compound)
        if s.species not in comp.dosing:
            raise PlasticityError(f"{comp.display} is not offered for {s.species} (catalogue: {', '.join(comp.dosing)})")
        return comp.dosing[s.species]

    def compound(self, cid: str) -> Compound:
        if cid not in self.compounds:
            raise UnknownNameError("compound", cid, self.compounds, context="the classroom catalogue")
        return self.compounds[cid]

    def dose_string(self, s: Setting) -> str:
        d = self.dosing(s)
        over = f" over {d.over}" if d.over else ""
        return f"{self.compound(s.compound).name} {s.dose:g} {d.unit} {d.route}{over}"

    def regimen(self, s: Setting) -> list[str]:
        """The dose strings `simulate()` gets for a setting: the pretreatment (if any), then the drug."""
        out = []
        if s.pretreatment != NONE:
            if s.pretreatment not in self.pretreatments:
                raise UnknownNameError("pretreatment", s.pretreatment, [NONE, *self.pretreatments])
            p = self.pretreatments[s.pretreatment]
            if s.species not in p.doses:
                raise PlasticityError(f"pretreatment {p.display} is not offered for {s.species} (only {', '.join(p.doses)})")
            out.append(p.doses[s.species])
        return out + [self.dose_string(s)]

    def simulate_kwargs(self, s: Setting) -> dict:
        """Everything `simulator.simulate` is called with for a setting."""
        from ..model.interventions import parse_clamp

        for c in s.cuts:
            if c not in FEEDBACK:
                raise UnknownNameError("feedback edge", c, FEEDBACK)
        if s.genotype not in self.genotypes:
            raise UnknownNameError("genotype", s.genotype, self.genotypes)
        if s.condition not in self.conditions:
            raise UnknownNameError("condition", s.condition, self.conditions)
        kw: dict = {"species": s.species, "hours": HOURS, "genotype": s.genotype, "cut": list(s.cuts), "condition": s.condition}
        if s.clamp:
            kw["clamp"] = parse_clamp([s.clamp])
        return {"regimen": self.regimen(s), **kw}

    def describe(self, s: Setting) -> str:
        """A one-line description for titles: 'Ketamine 10 mg/kg i.p., mouse, after rapamycin, mTORC1 → BDNF cut'."""
        comp = self.compound(s.compound)
        parts = [f"{comp.display} {s.dose:g} {self.dosing(s).unit_label}", s.species]
        if s.pretreatment != NONE:
            parts.append("after " + self.pretreatments[s.pretreatment].display.split(" (")[0])
        if s.cuts:
            parts.append(" and ".join(FEEDBACK[c].split(" (")[0] for c in s.cuts) + " cut")
        if s.genotype != "wild_type":
            parts.append(s.genotype)
        if s.condition != NONE:
            parts.append(self.conditions.get(s.condition, s.condition))
        if s.clamp:
            parts.append(f"clamp {s.clamp}")
        return ", ".join(parts)

    def offered(self, s: Setting) -> str:
        """'' when the setting can be run, else why not (a species without this compound or pretreatment)."""
        try:
            self.regimen(s)
        except PlasticityError as exc:
            return str(exc)
        return ""


def _num(file, key, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise TeachingFileError(file, key, f"expected a positive number, got {v!r}")
    return float(v)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and check a catalogue file (default: the one shipped beside this module)."""
    path = Path(path) if path else CATALOGUE
    return typed(path, "(file)", lambda: _load(str(path), path.stat().st_mtime_ns if path.exists() else 0))


def typed(path: Path, where: str, build):
    """build(), with any wrong type or value a file can hold (a string where a table belongs, a missing label)
    turned into one TeachingFileError naming the file and the entry: files are data a lecturer may have been sent."""
    try:
        return build()
    except PlasticityError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise TeachingFileError(path, where, f"a value of the wrong type or shape ({type(exc).__name__}: {what[:200]})") from None


def read_toml(path: Path) -> dict:
    """A lecturer's TOML file, or a TeachingFileError naming it (used for the catalogue and the questions): a
    regular file of at most MAX_MODEL_FILE_BYTES, UTF-8, nested at most MAX_JSON_DEPTH. Read again when it changes."""
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        stamp = None  # the read below names the problem
    return _read_toml(path, stamp)


@lru_cache(maxsize=4)
def _read_toml(path: Path, _stamp: tuple | None) -> dict:
    from .._io import nesting_depth, read_regular
    from .._limits import MAX_JSON_DEPTH, MAX_MODEL_FILE_BYTES
    from ..model.files import _TOML_SKIP

    try:
        text = read_regular(path, "(file)", MAX_MODEL_FILE_BYTES, follow=True).decode("utf-8")
    except PlasticityError as exc:
        raise TeachingFileError(path, "(file)", str(exc).removeprefix("(file): ")) from None
    except UnicodeDecodeError as exc:
        raise TeachingFileError(path, "(file)", f"not UTF-8 text (byte at offset {exc.start}); save it as UTF-8") from None
    if nesting_depth(text, _TOML_SKIP) > MAX_JSON_DEPTH:
        raise TeachingFileError(path, "(file)", f"arrays or tables nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TeachingFileError(path, "(file)", f"not valid TOML: {exc}") from None


def _load(path_s: str, _stamp: int) -> Catalogue:
    from ..model.files import load_library
    from ..model.regimen import parse_dose

    path = Path(path_s)
    data = read_toml(path)
    lib = load_library()
    species = data.get("species", ["mouse", "rat", "human"])
    for sp in species:
        if sp not in lib.species:
            raise TeachingFileError(path, "species", str(UnknownNameError("species", sp, lib.species)))
    compounds: dict[str, Compound] = {}
    for cid, entry in (data.get("compounds") or {}).items():
        if cid not in lib.compounds:
            raise TeachingFileError(path, f"compounds.{cid}", str(UnknownNameError("compound id", cid, lib.compounds)))
        lc = lib.compounds[cid]
        dosing = {}
        for sp in species:
            if sp not in entry:
                continue
            e = entry[sp]
            where = f"compounds.{cid}.{sp}"
            for k in ("typical", "unit", "route", "doses"):
                if k not in e:
                    raise TeachingFileError(path, where, f"missing '{k}' (typical, unit, route and doses are needed)")
            doses = tuple(sorted({_num(path, where + ".doses", v) for v in e["doses"]}))
            d = Dosing(_num(path, where + ".typical", e["typical"]), str(e["unit"]), str(e["route"]), doses, str(e.get("over", "")))
            if d.typical not in doses:
                raise TeachingFileError(path, where, f"the typical dose {d.typical:g} is not among the doses {list(doses)}")
            if sp not in lc.pk:
                raise TeachingFileError(path, where, f"the model has no {sp} pharmacokinetics for {lc.name} (it has: {', '.join(lc.pk) or 'none'})")
            try:
                parsed = parse_dose(f"{lc.name} {d.typical:g} {d.unit} {d.route}" + (f" over {d.over}" if d.over else ""))
            except PlasticityError as exc:
                raise TeachingFileError(path, where, str(exc)) from None
            if parsed.route not in lc.pk[sp].routes:
                raise TeachingFileError(path, where, f"route '{d.route}' has no {sp} pharmacokinetics for {lc.name} (routes: {', '.join(lc.pk[sp].routes)})")
            dosing[sp] = d
        if not dosing:
            raise TeachingFileError(path, f"compounds.{cid}", f"no dosing for any of the species {species}")
        compounds[cid] = Compound(cid, lc.name, str(entry.get("display", lc.name)), dosing)
    if not compounds:
        raise TeachingFileError(path, "compounds", "no compounds: add at least one [compounds.<id>] table")
    pretreatments: dict[str, Pretreatment] = {}
    for key, entry in (data.get("pretreatments") or {}).items():
        doses = {sp: str(v) for sp, v in entry.items() if sp in species}
        for sp, text in doses.items():
            try:
                parse_dose(text)
            except PlasticityError as exc:
                raise TeachingFileError(path, f"pretreatments.{key}.{sp}", str(exc)) from None
        pretreatments[key] = Pretreatment(key, str(entry.get("display", key)), doses)
    d = data.get("default", {})
    cid = d.get("compound", next(iter(compounds)))
    if cid not in compounds:
        raise TeachingFileError(path, "default.compound", str(UnknownNameError("compound", cid, compounds)))
    sp = d.get("species", next(iter(compounds[cid].dosing)))
    if sp not in compounds[cid].dosing:
        raise TeachingFileError(path, "default.species", f"{cid} has no dosing for {sp}")
    default = Setting(cid, compounds[cid].dosing[sp].typical, sp)
    shown = data.get("conditions", {})
    if not isinstance(shown, dict):
        raise TeachingFileError(path, "conditions", f"expected a table of condition = \"display name\", got {shown!r}")
    for name in shown:
        if name not in lib.conditions:
            raise TeachingFileError(path, f"conditions.{name}", str(UnknownNameError("condition", name, lib.conditions)))
    conditions = {NONE: str(shown.get(NONE, "none"))}  # every condition of the model, 'none' first; the file names them
    conditions.update({c: str(shown.get(c, c.replace("_", " "))) for c in lib.conditions if c != NONE})
    return Catalogue(path, list(species), compounds, pretreatments, list(lib.genotypes), default, conditions, lib)
