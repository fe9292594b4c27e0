"""SBO terms and MIRIAM identifiers for the exported network (identifiers.org URIs, bqbiol:is).

Proteins are the human UniProt entries (the model's folds stand for the rodent and human orthologues
alike). Checked against public text where marked "checked"; the others are recalled from the UniProt
and ChEBI databases and should be confirmed before a curated submission.
"""

from __future__ import annotations

# SBO terms (recalled from the Systems Biology Ontology)
SBO_DEGRADATION = "SBO:0000179"
SBO_TRANSPORT = "SBO:0000185"
SBO_PRODUCTION = "SBO:0000393"
SBO_SIMPLE_CHEMICAL = "SBO:0000247"
SBO_POLYPEPTIDE = "SBO:0000252"
SBO_PHYSICAL_ENTITY = "SBO:0000240"  # material entity: spines, network states (neither one chemical nor one protein); libsbml checks the branch
SBO_COMPARTMENT = "SBO:0000290"

UNIPROT = {  # state name prefix -> UniProt accession (human)
    "bdnf": "P23560",  # BDNF (the brief's list; recalled)
    "trkb": "Q16620",  # NTRK2 / TrkB (recalled)
    "mtorc1": "P42345",  # MTOR (recalled)
    "ampa": "P42261",  # GRIA1, the AMPA receptor subunit (recalled)
    "pakt": "P31749",  # AKT1 (recalled)
    "perk": "P28482",  # MAPK1 / ERK2 (recalled)
    "ht2a": "P28223",  # HTR2A, the 5-HT2A receptor (recalled)
}
CHEBI = {  # compound id in models/compounds -> ChEBI id
    "ketamine": "CHEBI:6121",  # checked (public compound tables)
    "psilocybin": "CHEBI:8614",  # checked (public compound tables)
    "lsd": "CHEBI:6605",  # recalled
    "psilocin": "CHEBI:8615",  # recalled
    "scopolamine": "CHEBI:16794",  # recalled
    "rapamycin": "CHEBI:9168",  # sirolimus (recalled)
    "norketamine": "CHEBI:142447",  # recalled
    "esketamine": "CHEBI:60799",  # recalled
    "dmt": "CHEBI:28969",  # N,N-dimethyltryptamine (recalled)
    "fluoxetine": "CHEBI:5118",  # recalled
    "ketanserin": "CHEBI:6123",  # recalled
    "nbqx": "CHEBI:34884",  # recalled
    "anisomycin": "CHEBI:338412",  # recalled
}
GLUTAMATE = "CHEBI:14321"  # glutamate(1-) (recalled)
PROTEIN_STATES = ("bdnf", "trkb", "mtorc1", "ampa", "pakt", "perk", "synaptic_protein", "ht2a")


def species_terms(state: str, compounds: list[str]) -> tuple[str, list[str]]:
    """(SBO term, identifiers.org URIs) for a state of the composed model."""
    for c in sorted(compounds, key=len, reverse=True):
        if state.startswith(c + "_"):
            return SBO_SIMPLE_CHEMICAL, [f"https://identifiers.org/{CHEBI[c]}"] if c in CHEBI else []
    if state.startswith("glutamate"):
        return SBO_SIMPLE_CHEMICAL, [f"https://identifiers.org/{GLUTAMATE}"]
    for prefix, acc in UNIPROT.items():
        if state.startswith(prefix):
            return SBO_POLYPEPTIDE, [f"https://identifiers.org/uniprot:{acc}"]
    if state.startswith(PROTEIN_STATES):
        return SBO_POLYPEPTIDE, []
    return SBO_PHYSICAL_ENTITY, []
