"""The bibliography table src/neurobone/data/references.csv is well formed.

Rule checked: every cited work carries a DOI or a PMID, unless it is marked
``not_found`` (then the note says what was tried); corrected citations say what was
wrong. docs/references.md explains the table and its counts must match the CSV.
"""

import ast
import csv
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CSV_PATH = ROOT / "src" / "neurobone" / "data" / "references.csv"
DOC_PATH = ROOT / "docs" / "references.md"
REFS_PY = ROOT / "src" / "neurobone" / "model" / "components" / "refs.py"

COLUMNS = ["key", "authors", "year", "title", "journal", "volume", "pages", "doi", "pmid",
           "status", "note"]
STATUSES = {"verified", "corrected", "not_found"}
DOI_RE = re.compile(r"10\.\d{4,9}/\S+")
#: constants of refs.py that are not citations of a published work
NOT_WORKS = {"ASSUMED"}


@pytest.fixture(scope="module")
def table() -> tuple[list[str], list[dict]]:
    with CSV_PATH.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_columns(table):
    header, _ = table
    assert header == COLUMNS


def test_keys_are_unique_and_named_like_constants(table):
    _, rows = table
    keys = [r["key"] for r in rows]
    dups = sorted(k for k, n in Counter(keys).items() if n > 1)
    assert not dups, f"duplicate keys: {dups}"
    bad = [k for k in keys if not re.fullmatch(r"[A-Z][A-Z0-9_]*", k)]
    assert not bad, f"keys not in the AUTHORYEAR constant style: {bad}"


def test_status_values(table):
    _, rows = table
    bad = [(r["key"], r["status"]) for r in rows if r["status"] not in STATUSES]
    assert not bad, f"unknown status: {bad}"


def test_every_found_work_has_a_doi_or_pmid(table):
    _, rows = table
    missing = [r["key"] for r in rows
               if r["status"] != "not_found" and not (r["doi"].strip() or r["pmid"].strip())]
    assert not missing, f"no DOI and no PMID although not marked not_found: {missing}"


def test_dois_look_like_dois(table):
    _, rows = table
    bad = [(r["key"], r["doi"]) for r in rows if r["doi"] and not DOI_RE.fullmatch(r["doi"])]
    assert not bad, f"malformed DOI: {bad}"


def test_pmids_are_digits(table):
    _, rows = table
    bad = [(r["key"], r["pmid"]) for r in rows if r["pmid"] and not r["pmid"].isdigit()]
    assert not bad, f"malformed PMID: {bad}"


def test_years_are_years(table):
    _, rows = table
    bad = [(r["key"], r["year"]) for r in rows if not re.fullmatch(r"(19|20)\d\d", r["year"])]
    assert not bad, f"malformed year: {bad}"


def test_corrections_and_misses_are_explained(table):
    _, rows = table
    silent = [r["key"] for r in rows if r["status"] in {"corrected", "not_found"}
              and not r["note"].strip()]
    assert not silent, f"corrected/not_found rows need a note: {silent}"


def test_every_refs_constant_has_a_row(table):
    """Each citation constant of refs.py is a key of the table (the constant's name)."""
    _, rows = table
    if not REFS_PY.exists():
        pytest.skip("refs.py is not there")
    tree = ast.parse(REFS_PY.read_text(encoding="utf-8"))
    constants = {t.id for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()}
    missing = sorted(constants - NOT_WORKS - {r["key"] for r in rows})
    assert not missing, f"refs.py constants without a row in references.csv: {missing}"


def test_doc_counts_match_the_csv(table):
    """docs/references.md states how many rows have each status; the numbers are the CSV's."""
    _, rows = table
    text = DOC_PATH.read_text(encoding="utf-8")
    counts = Counter(r["status"] for r in rows)
    for status in STATUSES:
        m = re.search(rf"^\|\s*`{status}`\s*\|\s*(\d+)\s*\|", text, flags=re.M)
        assert m, f"docs/references.md has no count row for {status}"
        assert int(m.group(1)) == counts[status], (status, m.group(1), counts[status])
    m = re.search(r"^\|\s*total\s*\|\s*(\d+)\s*\|", text, flags=re.M)
    assert m and int(m.group(1)) == len(rows), "docs/references.md total does not match"
