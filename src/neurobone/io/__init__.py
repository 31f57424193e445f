"""Import and export: SBML (:mod:`neurobone.io.sbml`)."""
