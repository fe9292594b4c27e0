"""Target engagement: how the brain concentrations of the compounds present act on each target of the pathway.

Every ligand of a target competes for the same site by mass action: ligand i with free concentration C_i,
affinity K_i and slope n_i has x_i = (C_i / K_i)^n_i and occupancy occ_i = x_i / (1 + sum_j x_j). A ligand
with an off-rate (`koff`) binds kinetically instead: its bound fraction b_i is a state,
db_i/dt = koff_i * (C_i / K_i * R_free - b_i), where R_free is the fraction of receptors left free.

The pathway reads, by name:
- occ_<target>: the receptors occupied by any ligand (0..1); blocks act through it;
- drive_<target>: the response. At an agonist target (kind "agonist") it is Black & Leff's operational model
  with competition, sum_i tau_i occ_i / (1 + sum_i tau_i occ_i), as a fraction of the system's maximum, so an
  antagonist (tau 0) lowers every agonist's response in proportion to the receptors it holds (a target's
  `tau_scale` parameter multiplies every tau: tau = ligand efficacy x the tissue's receptor density and coupling); at a modulator
  target (kind "modulator", allosteric potentiation) it is sum_i e_i occ_i, each ligand's maximal potentiation
  e_i times its occupancy;
- halluc_<target>: the same response weighted by each ligand's hallucinogenic efficacy; where the target names
  `hallucinogenic_slope` (n) and `hallucinogenic_gain` (g) parameters, this response has its own transducer,
  (g S)^n / (1 + (g S)^n) of the stimulus S = sum_i tau_i occ_i (Black & Leff's slope and receptor reserve for a
  perceptual response, steeper and more amplified than the cellular one);
- conc_<target>: the summed free concentration (nM), for bath-applied ligands.
"""

from __future__ import annotations

import sympy as sp

from .._errors import ModelFileError
from .files import CompoundTarget, Library, Species, Target
from .parts import ModelParts

Ligand = tuple[str, CompoundTarget, str]  # compound id, its target entry, its file


def add_receptors(m: ModelParts, lib: Library, species: Species, present: list[str]) -> None:
    """One engagement term per pathway target, from every compound present that names it."""
    for t in lib.pathway.targets.values():
        ligands = [(cid, lib.compounds[cid].targets[t.source_key], lib.compounds[cid].file) for cid in present if t.source_key in lib.compounds[cid].targets]
        conc = {cid: sp.Symbol(f"{cid}_brain") if species.bath else sp.Symbol(f"{cid}_brain_nM") for cid, _, _ in ligands}
        if t.kind == "concentration":
            m.assign[f"conc_{t.name}"] = sp.Add(*conc.values())
            continue
        occ = _occupancies(m, t, ligands, conc)
        m.assign[f"occ_{t.name}"] = sp.Add(*occ.values())
        if t.kind == "agonist":
            m.assign[f"drive_{t.name}"], m.assign[f"halluc_{t.name}"] = _operational(m, t, ligands, occ)
        elif t.kind == "modulator":
            m.assign[f"drive_{t.name}"] = sp.Add(*(_param(m, cid, t, ct, "efficacy") * occ[cid] for cid, ct, _ in ligands if ct.efficacy is not None))
            m.assign[f"halluc_{t.name}"] = sp.Add(*(_param(m, cid, t, ct, "hallucinogenic_efficacy") * occ[cid]
                                                   for cid, ct, _ in ligands if ct.hallucinogenic_efficacy is not None))
        if ligands:
            m.readouts.append((f"occupancy_{t.name}", sp.Symbol(f"occ_{t.name}"), "1"))


def _param(m: ModelParts, cid: str, t: Target, ct: CompoundTarget, key: str) -> sp.Symbol:
    return m.param(f"{cid}_{t.source_key}_{key}", getattr(ct, key))


def _occupancies(m: ModelParts, t: Target, ligands: list[Ligand], conc: dict[str, sp.Symbol]) -> dict[str, sp.Expr]:
    """Each ligand's share of the receptors: fast ligands at equilibrium with the receptors the slow (kinetic)
    ligands leave free; slow ligands as bound-fraction states."""
    ratio, slope = {}, {}
    for cid, ct, _ in ligands:
        k = _param(m, cid, t, ct, "potency")
        if t.potency_scale:
            k = k / sp.Symbol(t.potency_scale)
        ratio[cid] = conc[cid] / k
        slope[cid] = _param(m, cid, t, ct, "hill")
    slow = [cid for cid, ct, _ in ligands if ct.koff is not None]
    bound = {cid: sp.Symbol(f"bound_{t.name}_{cid}") for cid in slow}
    left = 1 - sp.Add(*bound.values())  # receptors not held by a slow ligand
    x = {cid: ratio[cid] ** slope[cid] for cid, _, _ in ligands if cid not in bound}
    free = left / (1 + sp.Add(*x.values()))
    for cid, ct, _ in ligands:
        if cid in bound:
            koff = _param(m, cid, t, ct, "koff")
            m.state(bound[cid].name, koff * (ratio[cid] * free - bound[cid]), "1")
            m.descriptions[bound[cid].name] = f"fraction of {t.name} receptors bound by {cid} (kinetic binding: kon = koff / affinity)"
    return {cid: bound[cid] if cid in bound else x[cid] * free for cid, _, _ in ligands}


def _operational(m: ModelParts, t: Target, ligands: list[Ligand], occ: dict[str, sp.Expr]) -> tuple[sp.Expr, sp.Expr]:
    """Black & Leff with competition: the response and its hallucinogenic part, as fractions of the system maximum."""
    stim, hal = [], []
    for cid, ct, file in ligands:
        tau = _tau(m, cid, t, ct, file)
        if tau is None:
            continue
        if t.tau_scale:
            tau = tau * sp.Symbol(t.tau_scale)
        stim.append(tau * occ[cid])
        if ct.hallucinogenic_efficacy is not None:
            hal.append(_param(m, cid, t, ct, "hallucinogenic_efficacy") * tau * occ[cid])
    total = sp.Add(*stim)
    if not (t.hallucinogenic_slope or t.hallucinogenic_gain):
        return total / (1 + total), sp.Add(*hal) / (1 + total)
    # the hallucinogenic response's own transducer, (g S)^n / (1 + (g S)^n) of the stimulus S (Black & Leff's slope n,
    # and a gain g for its receptor reserve), shared among the ligands by their part of S; n = g = 1 is the form above
    n = sp.Symbol(t.hallucinogenic_slope) if t.hallucinogenic_slope else sp.Integer(1)
    g = sp.Symbol(t.hallucinogenic_gain) if t.hallucinogenic_gain else sp.Integer(1)
    return total / (1 + total), sp.Add(*hal) * g ** n * total ** (n - 1) / (1 + (g * total) ** n)


def _tau(m: ModelParts, cid: str, t: Target, ct: CompoundTarget, file: str) -> sp.Expr | None:
    """The ligand's operational efficacy: `tau` itself, or from its maximal response e as tau = e / (1 - e)
    (an antagonist, e = 0, has tau 0); None for a ligand with neither (it still competes for the site)."""
    if ct.tau is not None:
        return _param(m, cid, t, ct, "tau")
    if ct.efficacy is None:
        return None
    e = ct.efficacy
    if not (e.value < 1 and (e.range is None or e.range[1] < 1)):
        raise ModelFileError(file, f"targets.{t.source_key}.efficacy", f"at an agonist target the maximal response must stay below 1 "
                             f"(tau = e / (1 - e) is infinite at 1), got {e.value} with range {e.range}; give tau instead for a full agonist")
    eff = _param(m, cid, t, ct, "efficacy")
    return eff / (1 - eff)
