"""CLI: models, simulate (a model or a scenario), decompose, steady-state and bad input
(one line, exit code 2). Run in-process (fast); one test runs the real entry point."""

import io
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TREADMILL = ROOT / "examples" / "mouse_treadmill.yaml"


def test_models_lists_published_models(cli):
    code, out, _ = cli("models")
    assert code == 0
    assert "lemaire2004" in out and "Lemaire" in out and "pivonka2008" in out


def test_simulate_writes_one_row_per_day(cli, tmp_path):
    out = tmp_path / "o.csv"
    code, _, err = cli("simulate", "--model", "lemaire2004", "--days", "30",
                       "--set", "I_P=1000@10:20", "-o", out)
    assert code == 0, err
    df = pd.read_csv(out)
    assert list(df["day"]) == list(range(31))
    assert {"R", "B", "C", "RANKL", "OPG"} <= set(df.columns)
    assert df["C"].iloc[20] > df["C"].iloc[5]
    assert df["C"].iloc[5] == pytest.approx(df["C"].iloc[0], rel=1e-4)  # before the infusion


def test_simulate_a_scenario_writes_its_outputs(cli):
    code, out, err = cli("simulate", TREADMILL)
    assert code == 0, err
    df = pd.read_csv(io.StringIO(out))
    from neurobone.scenario.run import run_scenario

    res = run_scenario(TREADMILL)
    assert list(df.columns) == ["day", *res.plan.outputs]
    assert len(df) == int(res.scenario.duration_days) + 1
    pd.testing.assert_series_equal(df["bv_tv"], pd.Series(res["bv_tv"], name="bv_tv"), rtol=1e-9)
    # --set adds overrides to the scenario's: no bone gain without the exercise load
    code, out, _ = cli("simulate", TREADMILL, "--set", "ex_load_ax=0", "--set", "ex_load_ap=0")
    flat = pd.read_csv(io.StringIO(out))
    assert code == 0 and flat["bv_tv"].iloc[-1] < df["bv_tv"].iloc[-1]


def test_decompose_command(cli, tmp_path):
    out = tmp_path / "d.csv"
    code, text, err = cli("decompose", TREADMILL, "--output", "bv_tv", "-o", out)
    assert code == 0, err
    assert "neural" in text and "mechanical" in text
    df = pd.read_csv(out)
    assert list(df.output) == ["bv_tv"] and 0.25 < df.neural_share[0] < 0.85


def test_steady_state_command(cli):
    code, out, _ = cli("steady-state", "--model", "lemaire2004")
    assert code == 0
    assert out.splitlines()[0].startswith("R\t7.734")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["simulate", "--model", "nope"], "valid:"),
        (["simulate", "--days", "-3"], "positive"),
        (["simulate", "--days", "ten"], "positive"),
        (["simulate", "--days", "9000000"], "at most 21915 (60 years)"),
        (["simulate", "--set", "I_P"], "NAME=VALUE"),
        (["simulate", "--set", "I_P=abc"], "not a number"),
        (["simulate", "--set", "XX=1"], "valid:"),
        (["simulate", "--set", "I_P=1@30:10"], "must be after"),
        (["simulate", "-o", "/nonexistent-dir/x.csv"], "does not exist"),
        (["simulate", "--bogus"], "No such option"),
        (["simulate", str(TREADMILL), "--days", "3"], "not both"),
        (["simulate", str(TREADMILL), "--set", "nope=1"], "unknown parameter 'nope'"),
        (["simulate", "missing.yaml"], "does not exist"),
        (["steady-state", "--model", "nope"], "valid:"),
        (["decompose", "missing.yaml"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, one_line_error, args, needle):
    code, _, err = cli(*args)
    one_line_error(code, err, needle)


def test_decompose_without_exercise_is_one_line_exit_2(cli, one_line_error, tmp_path):
    scn = tmp_path / "s.yaml"
    scn.write_text("species: mouse\nduration_days: 10\n")
    code, _, err = cli("decompose", scn)
    one_line_error(code, err, "no exercise effect to decompose")


def test_the_installed_entry_point_exits_2_with_one_line(cli_process, one_line_error):
    r = cli_process("simulate", "--set", "I_P=abc")
    one_line_error(r.returncode, r.stderr, "not a number")
    r = cli_process("models")
    assert r.returncode == 0 and "lemaire2004" in r.stdout


def test_python_dash_m_neurobone_is_the_command_line(one_line_error):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "neurobone", "models"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "lemaire2004" in r.stdout, r.stderr
    r = subprocess.run([sys.executable, "-m", "neurobone", "run", "no-such-study"],
                       capture_output=True, text=True)
    one_line_error(r.returncode, r.stderr, "unknown study 'no-such-study'")


def test_every_command_has_help(cli):
    for cmd in ("models", "simulate", "decompose", "steady-state", "export-sbml", "run",
                "analyze", "power", "cohort", "query", "check", "warm-up"):
        code, out, _ = cli(cmd, "--help")
        assert code == 0 and "Usage" in out, cmd
