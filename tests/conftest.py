"""Fixtures shared by the test modules (which never import each other)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CALIBRATION_CSV = SHARED / "targets" / "calibration.csv"
#: calibration rows run by ``make test``; the others are marked slow (``make test-all``)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not beside the project")
    return SHARED


def calibration_rows() -> list[dict]:
    """The rows of ../shared/targets/calibration.csv (empty when it is not there)."""
    return pd.read_csv(CALIBRATION_CSV).to_dict("records") if CALIBRATION_CSV.exists() else []


def pytest_generate_tests(metafunc):
    """``calibration_row``: one test per row of calibration.csv; ``project_row``
    likewise for the project's own rows (``data/target_rows.csv`` rows not in the shared
    table). Every row is evaluated from cached scenario runs."""
    def param(row):
        return pytest.param(row, id=row["id"])

    if "calibration_row" in metafunc.fixturenames:
        metafunc.parametrize("calibration_row", [param(r) for r in calibration_rows()])
    if "project_row" in metafunc.fixturenames:
        from neurobone.fit.targets import load_targets

        table = load_targets(CALIBRATION_CSV) if CALIBRATION_CSV.exists() else None
        shared = {r["id"] for r in calibration_rows()}
        rows = [] if table is None else [r for r in table.to_dict("records")
                                         if r["id"] not in shared]
        metafunc.parametrize("project_row", [param(r) for r in rows])


# ----------------------------------------------------------------------------- the CLI
@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: ``cli("run", "--n", "3")`` -> ``(exit code, stdout, stderr)``."""
    from neurobone.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main([str(a) for a in argv])
            code = 0
        except SystemExit as exc:
            code = 0 if exc.code is None else int(exc.code)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def run_cli_process(*argv: str, **kw) -> subprocess.CompletedProcess:
    """The CLI as a separate process (``python -m neurobone.cli``)."""
    return subprocess.run([sys.executable, "-m", "neurobone.cli", *map(str, argv)],
                          capture_output=True, text=True, **kw)


@pytest.fixture
def cli_process():
    """Run the CLI as a separate process: returns a ``CompletedProcess``."""
    return run_cli_process


def assert_one_line_error(code: int, err: str, needle: str) -> None:
    """Bad input: exit code 2, one line on stderr naming the problem, no traceback."""
    lines = err.rstrip().splitlines()  # a blank line before the message counts
    assert code == 2, err
    assert len(lines) == 1, err
    assert needle in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.fixture
def one_line_error():
    """:func:`assert_one_line_error` as a fixture."""
    return assert_one_line_error
