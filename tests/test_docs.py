"""The generated docs match the model definitions, documented names exist, and the
documented examples run."""

import ast
import importlib
import re
from pathlib import Path

import pytest

from neurobone.model.brainbone.dosing import modality_table
from neurobone.model.reference import render
from neurobone.model.registry import get_model
from neurobone.scenario.run import run_scenario
from neurobone.scenario.schema import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: pages whose Python examples take long (a Dask cluster, cohorts of thousands,
#: a fit with its profiles and a 3-parameter posterior sample, drug runs of years):
#: make test-slow
SLOW_EXAMPLES = {"cohorts.md", "fitting.md", "drugs.md", "uncertainty.md"}


def _page(path: Path, slow: bool = False):
    marks = []
    if slow:
        marks.append(pytest.mark.slow)
    return pytest.param(path, id=path.name, marks=marks)


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def _saved_files(path: Path) -> list[tuple[str, str]]:
    """The files a page asks the reader to save ("Save this as `NAME`:" and a fenced block)."""
    return re.findall(r"[Ss]ave this as `([^`]+)`:?\s*\n+```\w*\n(.*?)```", path.read_text(),
                      flags=re.S)


def _resolves(dotted: str) -> bool:
    """True when ``a.b.c`` is a module or an attribute of the longest importable prefix."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for name in parts[k:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


@pytest.mark.parametrize("name, path", [("neurobone", "model-reference.md"),
                                        ("pivonka2008", "model-reference-pivonka2008.md"),
                                        ("lemaire2004", "model-reference-lemaire2004.md")])
def test_model_reference_is_up_to_date(name, path):
    text = (ROOT / "docs" / path).read_text()
    assert text == render(get_model(name)), (
        f"docs/{path} is stale: python -m neurobone.model.reference {name} > docs/{path}")


def test_scenario_docs_list_every_modality():
    text = (ROOT / "docs" / "scenarios.md").read_text()
    for r in modality_table().itertuples():
        assert f"`{r.modality}`" in text and f"`{r.intensity_field}`" in text


@pytest.mark.parametrize("path", [_page(p) for p in DOCS])
def test_documented_imports_and_names_exist(path):
    """Every ``from neurobone... import X`` of a Python example, and every
    ```neurobone.a.b``` the text names, exists."""
    missing = []
    for block in _python_blocks(path):
        try:
            tree = ast.parse(block)
        except SyntaxError:  # a signature shown as Python, not an example
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neurobone"):
                missing += [f"{node.module}.{a.name}" for a in node.names
                            if not _resolves(f"{node.module}.{a.name}")]
            elif isinstance(node, ast.Import):
                missing += [a.name for a in node.names
                            if a.name.startswith("neurobone") and not _resolves(a.name)]
    for dotted in re.findall(r"`(neurobone(?:\.\w+)+)", path.read_text()):
        if not _resolves(dotted):
            missing.append(dotted)
    assert not missing, f"{path.name} names what does not exist: {sorted(set(missing))}"


@pytest.mark.parametrize("path", [_page(p, slow=p.name in SLOW_EXAMPLES) for p in DOCS
                                  if _python_blocks(p)])
def test_python_examples_of_the_docs_run(path, tmp_path, monkeypatch):
    """Every ```python block of a page runs as a script would (each in a fresh namespace),
    in an empty directory holding ``examples/`` and the files the page asks to save."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for name, content in _saved_files(path):
        (tmp_path / name).write_text(content)
    monkeypatch.chdir(tmp_path)
    try:
        for block in _python_blocks(path):
            code = compile(block, str(path.relative_to(ROOT)), "exec")
            exec(code, {"__name__": "__main__"})
    finally:
        plt.close("all")


def test_every_page_with_python_examples_runs_them():
    # the pages the test above runs: those of the docs with examples, none left out
    pages = {p.name for p in DOCS if _python_blocks(p)}
    assert {"README.md", "engine.md", "scenarios.md", "studies.md", "cohorts.md", "model.md",
            "published-models.md"} <= pages


@pytest.mark.parametrize("path", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")
                                        if not p.name.startswith(("cohort", "article"))))
def test_example_scenarios_run(path):
    res = run_scenario(ROOT / "examples" / path)
    assert len(res.table()) == int(res.scenario.duration_days) + 1
    assert res.table().notna().all().all()


def test_cohort_examples_are_scenarios_with_a_population():
    paths = sorted((ROOT / "examples").glob("cohort*.yaml"))
    assert paths
    for p in paths:
        assert load_scenario(p).population is not None, p.name
