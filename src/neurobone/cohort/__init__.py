"""Virtual cohorts: populations of subjects run in chunks into a Parquet store.

>>> from neurobone.cohort import run_cohort, query
>>> result = run_cohort("examples/cohort_running.yaml", n=1000, seed=1, out_dir="out")
>>> query("out", "SELECT avg(abmd_ls_pct) FROM summary")

See docs/cohorts.md. The names below are imported lazily, so that the scenario schema
can use :class:`~neurobone.cohort.population.Population` without importing the runner.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "run_cohort": "neurobone.cohort.run",
    "CohortSpec": "neurobone.cohort.run",
    "query": "neurobone.cohort.store",
    "open_cohort": "neurobone.cohort.store",
    "CohortResult": "neurobone.cohort.store",
    "Population": "neurobone.cohort.population",
    "sample_covariates": "neurobone.cohort.population",
    "sample_parameters": "neurobone.cohort.population",
}

__all__ = ["CohortResult", "CohortSpec", "Population", "open_cohort", "query", "run_cohort",
           "sample_covariates", "sample_parameters"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'neurobone.cohort' has no attribute {name!r}")
