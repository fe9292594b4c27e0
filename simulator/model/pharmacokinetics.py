"""Pharmacokinetics: the compartments, absorption and metabolite formation of the compounds a regimen brings in.

Every compound present (dosed, or formed from a dosed compound) gets a central compartment (plasma),
an optional peripheral one, a depot per extravascular route, an i.c.v. pool where dosed into the brain,
and a brain concentration that follows the free plasma level. Amounts are nmol, concentrations nM.
"""

from __future__ import annotations

import sympy as sp

from .._errors import ModelFileError, RegimenError, UnknownNameError
from .files import Compound, Library, Param, Species
from .parts import ModelParts
from .regimen import Regimen

LOG2 = sp.log(2)
BATH_EXCHANGE = Param("bath_exchange_rate", 60.0, "1/h", "assumed: medium exchange in culture takes about a minute", (10.0, 600.0))


def route_state(compound: str, route: str) -> str:
    """The state a dose by `route` lands in (a depot, or the i.c.v. pool)."""
    return f"{compound}_icv" if route == "icv" else f"{compound}_depot_{route}"


def compounds_present(lib: Library, regimen: Regimen, species: Species) -> tuple[list[str], dict[str, set[str]]]:
    """The compounds a run carries (dosed ones first, then their metabolites, transitively) and the routes
    each is dosed by; a route the compound's file has no PK for in this species is an error."""
    dosed: list[str] = []
    for d in regimen:
        c = lib.compound(d.compound)
        if c.id not in dosed:
            dosed.append(c.id)
    present = list(dosed)
    i = 0
    while i < len(present) and not species.bath:
        pk = lib.compounds[present[i]].pk.get(species.name)
        for m in pk.metabolites if pk else ():
            mid = lib.compound(m.compound).id
            if mid not in present:
                present.append(mid)
        i += 1
    routes_used: dict[str, set[str]] = {c: set() for c in present}
    for d in regimen:
        c = lib.compound(d.compound)
        _check_route(c, d, species)
        routes_used[c.id].add(d.route)
    return present, routes_used


def _check_route(c: Compound, d, species: Species) -> None:
    if species.bath:
        if d.route != "bath":
            raise RegimenError(f"route: species '{species.name}' takes bath applications only (e.g. '{c.name} 10 nM bath for 15 min'), got '{d.route}' in '{d}'")
        if not c.targets:
            raise RegimenError(f"compound: {c.name} has no targets of its own, so a bath application does nothing; apply its active form instead")
        return
    if d.route == "bath":
        raise RegimenError(f"route: 'bath' is for species 'culture'; species '{species.name}' needs a route such as ip, iv or oral in '{d}'")
    pk = c.pk.get(species.name)
    if pk is None:
        raise UnknownNameError("species", species.name, c.pk, context=f"PK of {c.name} (compounds/{c.id}.toml has PK for)")
    if d.route not in pk.routes:
        raise UnknownNameError("route", d.route, pk.routes, context=f"{c.name} in {species.name}")


def add_pharmacokinetics(m: ModelParts, lib: Library, species: Species, present: list[str], routes_used: dict[str, set[str]]) -> None:
    """Compartments of every compound present, then the formation of each metabolite from its parent."""
    for cid in present:
        if species.bath:
            _bath(m, lib.compounds[cid])
        else:
            _compound(m, lib.compounds[cid], species, routes_used[cid])
    if not species.bath:
        _metabolite_formation(m, lib, species, present, routes_used)


def _bath(m: ModelParts, c: Compound) -> None:
    """Culture: the medium's concentration follows the bath input (exchanged within about a minute)."""
    bath_in = m.input(f"{c.id}_bath")
    kx = m.param("bath_exchange_rate", BATH_EXCHANGE)
    brain = sp.Symbol(f"{c.id}_brain")
    m.state(brain.name, kx * (bath_in - brain), "nM")
    m.param(f"{c.id}_molar_mass", c.molar_mass)
    m.readouts.append((f"{c.id}_brain_nM", brain, "nM"))


def _compound(m: ModelParts, c: Compound, species: Species, routes: set[str]) -> None:
    cid = c.id
    pk = c.pk.get(species.name)
    if pk is None:
        raise UnknownNameError("species", species.name, c.pk, context=f"PK of metabolite {c.name}")
    P = {k: m.param(f"{cid}_{k}", v) for k, v in pk.params.items()}
    m.param(f"{cid}_molar_mass", c.molar_mass)
    bw = sp.Symbol("body_weight")
    brain_total: sp.Expr = sp.Integer(0)
    if pk.systemic:
        brain_total += _systemic(m, cid, P, bw, routes, pk.routes)
    if "icv" in routes:
        R = {k: m.param(f"{cid}_icv_{k}", v) for k, v in pk.routes["icv"].items()}
        icv = sp.Symbol(route_state(cid, "icv"))
        m.state(icv.name, -LOG2 / R["brain_elimination_halflife"] * icv, "nmol")
        brain_total += icv / R["distribution_volume"]
    m.assign[f"{cid}_brain_nM"] = brain_total
    m.readouts.append((f"{cid}_brain_nM", sp.Symbol(f"{cid}_brain_nM"), "nM"))


def absorption_rate(cid: str, route: str) -> sp.Expr:
    """The flux leaving a depot (nmol/h): the whole absorbed dose, before the first pass divides it."""
    return LOG2 / sp.Symbol(f"{cid}_{route}_absorption_halflife") * sp.Symbol(route_state(cid, route))


def _systemic(m: ModelParts, cid: str, P: dict, bw: sp.Symbol, routes: set[str], route_params: dict) -> sp.Expr:
    """Central (+ peripheral) compartments, depots and the brain; returns the brain concentration.

    Of what leaves a depot, the bioavailable fraction F reaches the central compartment; of the rest (1 - F), the
    first pass turns the shares named in `first_pass_to` into metabolites (added by _metabolite_formation) and
    eliminates what is left."""
    central = sp.Symbol(f"{cid}_central")
    vol = P["volume"] * bw
    cl = P["clearance"] * bw
    conc = central / vol  # nmol/L = nM
    flux = -cl * conc
    if "peripheral_volume" in P:
        periph = sp.Symbol(f"{cid}_peripheral")
        q = P["intercompartmental_clearance"] * bw
        flux += -q * conc + q * periph / (P["peripheral_volume"] * bw)
        m.state(periph.name, q * conc - q * periph / (P["peripheral_volume"] * bw), "nmol")
    for route in sorted(routes - {"icv"}):
        R = {k: m.param(f"{cid}_{route}_{k}", v) for k, v in route_params[route].items()}
        if route == "iv":
            continue
        absorbed = absorption_rate(cid, route)
        m.state(route_state(cid, route), -absorbed, "nmol")
        flux += R["bioavailability"] * absorbed
    if "iv" in routes:
        flux += m.input(f"{cid}_infusion")
    m.state(central.name, flux, "nmol")  # metabolite formation is added by _metabolite_formation
    keq = LOG2 / P["brain_equilibration_halflife"]
    brain = sp.Symbol(f"{cid}_brain")
    m.state(brain.name, keq * (P["brain_partition"] * P["fraction_unbound"] * conc - brain), "nM")
    m.readouts.append((f"{cid}_plasma_nM", conc, "nM"))
    return brain


def _metabolite_formation(m: ModelParts, lib: Library, species: Species, present: list[str], routes_used: dict[str, set[str]]) -> None:
    """Metabolites enter their central compartment from the parent's systemic clearance (the fraction of it that
    forms them) and, on an extravascular route, from the first pass (their share of the non-bioavailable part)."""
    bw = sp.Symbol("body_weight")
    for cid in present:
        pk = lib.compounds[cid].pk[species.name]
        for met in pk.metabolites:
            mid = lib.compound(met.compound).id
            if not lib.compounds[mid].pk[species.name].systemic or f"{cid}_central" not in m.states:
                raise ModelFileError(lib.compounds[cid].file, f"pk.{species.name}.metabolites", f"{mid} needs systemic PK in {species.name} to be formed from {cid}")
            frac = m.param(f"{cid}_to_{mid}_fraction", met.fraction)
            parent_flux = sp.Symbol(f"{cid}_clearance") * bw * sp.Symbol(f"{cid}_central") / (sp.Symbol(f"{cid}_volume") * bw)
            m.states[f"{mid}_central"] += frac * parent_flux
        for route in sorted(routes_used[cid] & set(pk.first_pass)):
            for name, fraction in pk.first_pass[route].items():
                mid = lib.compound(name).id
                share = m.param(f"{cid}_{route}_first_pass_to_{mid}", fraction)
                lost = 1 - sp.Symbol(f"{cid}_{route}_bioavailability")
                m.states[f"{mid}_central"] += share * lost * absorption_rate(cid, route)
