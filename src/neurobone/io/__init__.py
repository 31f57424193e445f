"""Import and export: SBML (:mod:`neurobone.io.sbml`), PEtab (:mod:`neurobone.io.petab`)."""
