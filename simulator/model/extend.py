"""Compounds from Python: the same tables as a compounds/*.toml file, checked by the same parser, in a library copy.

A library is immutable and named by a hash of its content (compose caches models by it), so adding or
changing a compound gives a new Library with a new hash; models/ and the default library stay as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace

from .._errors import PlasticityError, UnknownNameError
from .files import Library, index_compounds, load_library, parse_compound, parse_toml, read_model_file

ADDED = "add_compound"  # the `file` of a compound defined in Python, in its errors and the parameter table


def _plain(value: object, where: str) -> object:
    """The dict as TOML would give it: tables, lists (a tuple becomes a list), text, numbers and booleans only."""
    if isinstance(value, Mapping):
        for k in value:
            if not isinstance(k, str):
                raise PlasticityError(f"add_compound: {where}: keys must be text, got {k!r}")
        return {k: _plain(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or not isinstance(value, (str, int, float, bool)):
        raise PlasticityError(f"add_compound: {where}: expected a table, list, text or number (as in a TOML file), got {value!r:.60}")
    return value


def compound_id(name: str) -> str:
    """The id a compound's file name would give it: 'My Drug-2' -> 'my_drug_2'."""
    cid = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if not cid:
        raise PlasticityError(f"add_compound: name {name!r} gives no id; use letters or digits")
    return cid


def compound_data(name: str, *, library: Library | None = None) -> dict:
    """The tables of a compound's file as a dict (a fresh copy to edit and pass to `add_compound`).

    ```python
    data = simulator.compound_data("ketamine")
    data["pk"]["mouse"]["clearance"]["value"] = 8.0
    lib = simulator.add_compound(data)
    ```
    """
    lib = library or load_library()
    c = lib.compound(name)
    if c.file.startswith(ADDED):
        raise PlasticityError(f"compound_data: {c.name} was defined in Python ({c.file}), not read from a file; edit the dict you passed")
    return parse_toml(read_model_file(lib.root / c.file, c.file), c.file)


def add_compound(data: Mapping, *, library: Library | None = None, id: str | None = None) -> Library:  # noqa: A002 - the compound's id
    """A copy of `library` (default: the models folder's) with the compound `data` describes, added or replacing
    the compound of the same id; pass it as `simulate(..., library=lib)`, `parameters(..., library=lib)`.

    `data` holds the same tables as a compounds/*.toml file (name, aliases, summary, mechanism, molar_mass,
    targets, pk per species with routes and metabolites, and any key the loader accepts), every number as
    `{"value": ..., "unit": ..., "source": ..., "range": [low, high]}`. It is checked by the same parser as
    the files, so a missing unit, an unknown target or species, a name another compound already uses, or an
    unknown metabolite is a ModelFileError naming `add_compound('<id>')` and the key. A compound the name
    already names (by name, id or alias) is replaced and keeps its id; a new one gets `id`, by default the
    name as a file name would give it ('my drug' -> 'my_drug'), the prefix of its columns and parameters.

    Examples:
        >>> lib = simulator.add_compound({"name": "mydrug", "molar_mass": {"value": 300, "unit": "g/mol", "source": "PubChem"},
        ...     "targets": {"nmda": {"potency": {"value": 500, "unit": "nM", "source": "assumed"}, "hill": {...}}}, "pk": {...}})
        >>> simulator.simulate("mydrug 10 mg/kg ip", library=lib)
    """
    if not isinstance(data, Mapping):
        raise PlasticityError(f"add_compound: expected a dict with the tables of a compound file (name, molar_mass, targets, pk), got {data!r:.60}")
    plain = _plain(data, "")
    name = plain.get("name")
    if not isinstance(name, str):
        raise PlasticityError(f"add_compound: name: expected the compound's name as text, got {name!r:.60}")
    lib = library or load_library()
    try:
        known = lib.compound(name).id
    except UnknownNameError:
        known = None
    if id is not None and (not isinstance(id, str) or compound_id(id) != id):
        raise PlasticityError(f"add_compound: id: expected lower-case letters, digits and '_' (such as 'my_drug'), got {id!r}")
    cid = id or known or compound_id(name)
    compound = parse_compound(plain, cid, f"{ADDED}({cid!r})", {t.source_key for t in lib.pathway.targets.values()}, set(lib.species))
    compounds, lookup = index_compounds([*(c for i, c in lib.compounds.items() if i != cid), compound])
    content = json.dumps(plain, sort_keys=True).encode()
    digest = hashlib.sha256(f"{lib.hash}+{cid}:".encode() + content).hexdigest()[:16]
    return replace(lib, compounds=compounds, hash=digest, _lookup=lookup)
