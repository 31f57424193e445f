"""Virtual cohorts: populations of subjects run in chunks into a Parquet store.

>>> from neurobone.cohort import run_cohort, query
>>> result = run_cohort("examples/cohort_running.yaml", n=1000, seed=1, out_dir="out")
>>> query("out", "SELECT avg(abmd_ls_pct) FROM summary")

Who the subjects are is the scenario's ``population:`` block
(:mod:`neurobone.scenario.population`). See docs/cohorts.md.
"""

from neurobone.cohort.run import CohortSpec, run_cohort
from neurobone.cohort.store import CohortResult, check_store, open_cohort, query

__all__ = ["CohortResult", "CohortSpec", "check_store", "open_cohort", "query", "run_cohort"]
