"""CLI: models, simulate, steady-state and bad input (one line, exit code 2)."""

import subprocess
import sys

import pandas as pd
import pytest


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "neurobone.cli", *args], capture_output=True,
                          text=True, **kw)


def test_models_lists_published_models():
    r = run("models")
    assert r.returncode == 0
    assert "lemaire2004" in r.stdout and "Lemaire" in r.stdout


def test_simulate_writes_one_row_per_day(tmp_path):
    out = tmp_path / "o.csv"
    r = run("simulate", "--model", "lemaire2004", "--days", "30", "--set", "I_P=1000@10:20", "-o", str(out))
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df["day"]) == list(range(31))
    assert {"R", "B", "C", "RANKL", "OPG"} <= set(df.columns)
    assert df["C"].iloc[20] > df["C"].iloc[5]


def test_steady_state_command():
    r = run("steady-state", "--model", "lemaire2004")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].startswith("R\t7.734")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["simulate", "--model", "nope"], "valid:"),
        (["simulate", "--days", "-3"], "positive"),
        (["simulate", "--days", "ten"], "positive"),
        (["simulate", "--set", "I_P"], "NAME=VALUE"),
        (["simulate", "--set", "I_P=abc"], "not a number"),
        (["simulate", "--set", "XX=1"], "valid:"),
        (["simulate", "--set", "I_P=1@30:10"], "must be after"),
        (["simulate", "-o", "/nonexistent-dir/x.csv"], "does not exist"),
        (["simulate", "--bogus"], "No such option"),
        (["steady-state", "--model", "nope"], "valid:"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needle):
    r = run(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_every_command_has_help():
    for cmd in ("models", "simulate", "steady-state"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout
