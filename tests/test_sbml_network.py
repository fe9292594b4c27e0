"""The SBML export as a network other tools can draw: species in compartments, reactions with SBO
terms, MIRIAM annotations; COPASI (python-copasi) loads it and reproduces libRoadRunner's time course."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator.sbml.network import LOSS, PRODUCTION, TRANSFER, reactions

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

HOURS = 24.0
STEPS = 240


@pytest.fixture(scope="module")
def ketamine() -> str:
    return simulator.to_sbml(["ketamine 10 mg/kg ip"], species="mouse")


def test_ketamine_export_is_a_network_with_sbo_terms_and_annotations(ketamine):
    doc = libsbml.readSBMLFromString(ketamine)  # held: the model dies with its document
    m = doc.getModel()
    assert m.getNumReactions() >= 10
    assert not any(r.isRate() for r in m.getListOfRules())  # no state left as a rate-rule parameter
    for x in list(m.getListOfReactions()) + list(m.getListOfSpecies()) + list(m.getListOfCompartments()):
        assert x.isSetSBOTerm(), x.getId()
    sbo = {r.getId(): r.getSBOTermID() for r in m.getListOfReactions()}
    assert sbo["ketamine_depot_ip_to_ketamine_central"] == "SBO:0000185"  # absorption: a transport
    assert sbo["mtorc1_loss"] == "SBO:0000179" and sbo["mtorc1_production"] == "SBO:0000393"
    assert m.getSpecies("ketamine_central").getCompartment() == "central"
    assert m.getSpecies("ketamine_brain").getCompartment() == "brain"
    assert m.getSpecies("mtorc1").getCompartment() == "synapse"

    def uris(sid):
        cvs = m.getSpecies(sid).getCVTerms()
        return [cv.getResourceURI(i) for cv in cvs for i in range(cv.getNumResources())]

    assert "https://identifiers.org/CHEBI:6121" in uris("ketamine_central")
    assert "https://identifiers.org/uniprot:P23560" in uris("bdnf_protein")
    assert "https://identifiers.org/uniprot:P42345" in uris("mtorc1")


def test_reaction_rates_add_up_to_every_ode():
    """The split is exact: for each state, productions and transfers in minus losses and transfers out is its ODE."""
    flat = simulator.simulate(["ketamine 10 mg/kg ip"], species="rat", hours=1).setup.flat
    net = {s: 0 for s in flat.states}
    for r in reactions(flat):
        assert r.kind in (TRANSFER, LOSS, PRODUCTION)
        if r.reactant:
            net[r.reactant] -= r.rate
        if r.product:
            net[r.product] += r.rate
    import sympy as sp

    for s, ode in zip(flat.states, flat.odes, strict=True):
        assert sp.simplify(net[s] - ode) == 0, s


def roadrunner_species(xml: str, times: np.ndarray, ids: list[str]) -> np.ndarray:
    rr = roadrunner.RoadRunner(xml)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    return rr.simulate(times=list(times), selections=[f"[{i}]" for i in ids])


def copasi_species(xml: str, ids: list[str]) -> np.ndarray:
    copasi = pytest.importorskip("COPASI")
    dm = copasi.CRootContainer.addDatamodel()
    try:
        assert dm.importSBMLFromString(xml)
        task = dm.getTask("Time-Course")
        task.setMethodType(copasi.CTaskEnum.Method_deterministic)
        pb = task.getProblem()
        pb.setModel(dm.getModel())
        pb.setStepNumber(STEPS)
        pb.setDuration(HOURS)
        pb.setTimeSeriesRequested(True)
        method = task.getMethod()
        method.getParameter("Relative Tolerance").setDblValue(1e-10)
        method.getParameter("Absolute Tolerance").setDblValue(1e-14)
        method.getParameter("Max Internal Steps").setIntValue(1_000_000)
        assert task.process(True)
        ts = task.getTimeSeries()
        titles = [ts.getTitle(i) for i in range(ts.getNumVariables())]
        cols = [titles.index(i) for i in ["Time"] + ids]
        return np.array([[ts.getConcentrationData(k, c) for c in cols] for k in range(ts.getRecordedSteps())])
    finally:
        copasi.CRootContainer.removeDatamodel(dm)


def test_copasi_reproduces_roadrunner(ketamine):
    doc = libsbml.readSBMLFromString(ketamine)
    ids = [s.getId() for s in doc.getModel().getListOfSpecies()]
    got = copasi_species(ketamine, ids)
    ref = roadrunner_species(ketamine, got[:, 0], ids)
    assert np.allclose(got[:, 0], np.linspace(0, HOURS, STEPS + 1))
    for j, sid in enumerate(ids):
        a, b = got[:, j + 1], ref[:, j]
        floor = 1e-6 * np.max(np.abs(b)) + 1e-12  # a floor near the solvers' tolerance: a decayed depot is ~0 in both
        err = np.max(np.abs(a - b) / (np.abs(b) + floor))
        assert err <= 1e-4, (sid, err)
    k = ids.index("ketamine_brain")
    assert ref[:, k].max() > 1.0  # the dose reached the brain in both
