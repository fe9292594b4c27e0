"""Target engagement: how the brain concentrations of the compounds present act on each target of the pathway.

The pathway reads the results by name: occ_<target> (occupancy, 0..1) for blocks, drive_<target> and
halluc_<target> for agonists, conc_<target> (nM) for bath-applied ligands.
"""

from __future__ import annotations

import sympy as sp

from .files import Library, Species
from .parts import ModelParts


def add_receptors(m: ModelParts, lib: Library, species: Species, present: list[str]) -> None:
    """One engagement term per pathway target, from every compound present that names it."""
    for t in lib.pathway.targets.values():
        terms, eff_terms, hal_terms, concs = [], [], [], []
        for cid in present:
            ct = lib.compounds[cid].targets.get(t.source_key)
            if ct is None:
                continue
            cbrain = sp.Symbol(f"{cid}_brain_nM") if not species.bath else sp.Symbol(f"{cid}_brain")
            if t.kind == "concentration":
                concs.append(cbrain)
                continue
            k = m.param(f"{cid}_{t.source_key}_potency", ct.potency)
            if t.potency_scale:
                k = k / sp.Symbol(t.potency_scale)
            n = m.param(f"{cid}_{t.source_key}_hill", ct.hill)
            term = (cbrain / k) ** n
            terms.append(term)
            if ct.efficacy is not None:
                eff_terms.append(m.param(f"{cid}_{t.source_key}_efficacy", ct.efficacy) * term)
            if ct.hallucinogenic_efficacy is not None:
                hal_terms.append(m.param(f"{cid}_{t.source_key}_hallucinogenic_efficacy", ct.hallucinogenic_efficacy) * term)
        total = sp.Add(*terms)
        if t.kind == "concentration":
            m.assign[f"conc_{t.name}"] = sp.Add(*concs)
            continue
        m.assign[f"occ_{t.name}"] = total / (1 + total)
        if t.kind == "agonist":
            m.assign[f"drive_{t.name}"] = sp.Add(*eff_terms) / (1 + total)
            m.assign[f"halluc_{t.name}"] = sp.Add(*hal_terms) / (1 + total)
        if terms:
            m.readouts.append((f"occupancy_{t.name}", sp.Symbol(f"occ_{t.name}"), "1"))
