"""In-silico studies: arms of subjects with between-animal variability, measured with
instrument error, summarised with the statistics a reviewer expects.

>>> from neurobone.study import run_study
>>> result = run_study()            # the article's mouse study
>>> result.comparisons(outputs=["bv_tv"])

See docs/studies.md.
"""

from neurobone.study.data import analyze_data
from neurobone.study.design import (
    Arm,
    Study,
    article_study,
    default_comparisons,
    find_study,
    hypothesis_names,
    list_studies,
    load_study,
    packaged_studies,
    packaged_study,
    parse_study,
)
from neurobone.study.run import StudyResult, as_study, run_hypotheses, run_study

__all__ = [
    "Arm", "Study", "StudyResult", "analyze_data", "article_study", "as_study",
    "default_comparisons", "find_study", "hypothesis_names", "list_studies", "load_study",
    "packaged_studies", "packaged_study", "parse_study", "run_hypotheses", "run_study",
]
