"""SBML in and out: export of the composed model, and the importer."""
