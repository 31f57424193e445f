"""Parameter uncertainty (neurobone.fit.laplace, neurobone.fit.uncertainty): the shipped
draws of the calibrated parameters belong to the shipped calibration and centre on its
values; a scenario's bands order low <= median <= high and hold the calibrated run; every
figure and result says the band is parameter uncertainty only; bad input is one line."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from neurobone.errors import InputError
from neurobone.fit.laplace import draws_path
from neurobone.fit.pipeline import _flatten, output_path
from neurobone.fit.uncertainty import scenario_bands
from neurobone.model.brainbone import HYPOTHESES, calibration_draws

SHORT = {"species": "mouse", "duration_days": 14,
         "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 5}],
         "outputs": ["bv_tv", "connectivity"]}
SHIPPED = [h for h in HYPOTHESES if draws_path(h, "csv").is_file()]


def test_the_article_hypothesis_ships_its_draws():
    assert "article" in SHIPPED


@pytest.mark.parametrize("hypothesis", SHIPPED)
def test_draws_belong_to_the_shipped_calibration_and_centre_on_it(hypothesis):
    draws, prov = calibration_draws(hypothesis)
    source = output_path(hypothesis).read_bytes()
    assert prov["calibration_file_sha256"] == hashlib.sha256(source).hexdigest()
    values = _flatten(json.loads(source)["values"])
    n = prov["draws"]
    for step in prov["steps"]:
        for k, p in enumerate(step.get("drawn", [])):
            x = np.log(np.abs(draws[p]))
            assert len(x) == n and np.all(np.sign(draws[p]) == np.sign(values[p]))
            sd = np.sqrt(step["log_cov"][k][k])
            # the draws' mean lies within 4 standard errors of the calibrated value
            assert abs(x.mean() - np.log(abs(values[p]))) < 4 * sd / np.sqrt(n) + 1e-12
            assert x.std() == pytest.approx(sd, rel=0.25)
        for p in step["held"]:
            assert np.ptp(draws[p]) == 0 and draws[p][0] == pytest.approx(values[p])


@pytest.fixture(scope="module")
def bands():
    return scenario_bands(SHORT, draws=8, seed=1)


def test_bands_are_ordered_and_hold_the_calibrated_run(bands):
    from neurobone.scenario.run import run_scenario

    b = bands.bands
    assert set(b["output"]) == {"bv_tv", "connectivity"}
    assert (b["low"] <= b["median"] + 1e-12).all() and (b["median"] <= b["high"] + 1e-12).all()
    end = b[b["day"] == 14].set_index("output")
    direct = run_scenario(SHORT)
    for o in ("bv_tv", "connectivity"):
        assert end.loc[o, "calibrated"] == pytest.approx(direct[o][-1], rel=1e-4)
    # the circuit's kinetics are uncertain: connectivity's band has a width
    assert end.loc["connectivity", "high"] > end.loc["connectivity", "low"]
    assert bands.draws == 8 and bands.failed == 0


def test_every_result_says_what_the_band_is(bands):
    import matplotlib

    matplotlib.use("Agg")
    assert "Parameter uncertainty only" in bands.caption
    assert "between-subject variability and measurement error are not included" in bands.caption
    fig = bands.plot()
    assert any("Parameter uncertainty only" in t.get_text() for t in fig.texts)
    from html import escape

    assert escape(bands.caption) in bands._repr_html_()
    assert "UncertaintyResult" in repr(bands)


def test_the_same_seed_gives_the_same_bands(bands):
    again = scenario_bands(SHORT, draws=8, seed=1)
    pd.testing.assert_frame_equal(again.bands, bands.bands)


@pytest.mark.parametrize("kwargs,needle", [
    ({"draws": 1}, "draws must be an integer of at least 2"),
    ({"level": 1.5}, "level must be a number between 0 and 1"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"outputs": ["nope"]}, "unknown output 'nope'"),
])
def test_bad_input_is_one_line(kwargs, needle):
    with pytest.raises(InputError, match=needle) as e:
        scenario_bands(SHORT, **{"draws": 4, **kwargs})
    assert "\n" not in str(e.value)


def test_cli_uncertainty(cli, tmp_path, one_line_error):
    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(SHORT))
    out, fig = tmp_path / "bands.csv", tmp_path / "bands.png"
    code, _, err = cli("simulate", scn, "--uncertainty", "4", "-o", out, "--plot", fig)
    assert code == 0, err
    assert "Parameter uncertainty only" in err
    df = pd.read_csv(out)
    assert list(df.columns) == ["day", "output", "low", "median", "high", "calibrated"]
    assert fig.stat().st_size > 1000
    code, _, err = cli("simulate", scn, "--plot", fig)
    one_line_error(code, err, "--plot applies with --uncertainty only")
    code, _, err = cli("simulate", "--model", "lemaire2004", "--uncertainty", "4")
    one_line_error(code, err, "--uncertainty needs a scenario file")


STUDY = {
    "name": "two-week design", "species": "mouse", "subject": {"sex": "female", "age_weeks": 12},
    "duration_days": 14, "n_per_arm": 2, "seed": 1, "outputs": ["bv_tv", "connectivity"],
    "arms": [{"name": "sedentary"},
             {"name": "exercise", "exercise": [SHORT["exercise"][0]]}],
}


def test_a_studys_comparisons_over_parameter_uncertainty():
    from neurobone.report.uncertainty import parameter_bands
    from neurobone.scenario.run import run_scenario
    from neurobone.study import as_study, run_study

    res = run_study(as_study(STUDY))
    pb = parameter_bands(res, draws=4)
    d = pb.differences.set_index(["arm", "reference"]).loc[("exercise", "sedentary")]
    assert d["value"] == res.value_of("bv_tv") == "change_pct"
    # the calibrated difference is the arms' mean subjects' percent changes, run directly
    ex = run_scenario(res.study.scenario("exercise"))["bv_tv"]
    sed = run_scenario(res.study.scenario("sedentary"))["bv_tv"]
    direct = 100 * (ex[14] / ex[0] - 1) - 100 * (sed[14] / sed[0] - 1)
    assert d["calibrated"] == pytest.approx(direct, rel=1e-3)
    assert d["low"] <= d["median"] <= d["high"]
    assert set(pb.arms["arm"]) == {"sedentary", "exercise"}
    assert "Parameter uncertainty only" in pb.caption


def test_cli_run_with_uncertainty_writes_the_tables(cli, tmp_path, one_line_error):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    out = tmp_path / "report"
    code, stdout, err = cli("run", path, "--uncertainty", "3", "-o", out)
    assert code == 0, err
    assert "Over the calibration's parameter uncertainty" in stdout
    diffs = pd.read_csv(out / "parameter_differences.csv")
    assert list(diffs["arm"]) == ["exercise"]
    assert (out / "parameter_bands.png").is_file() and (out / "parameter_bands.csv").is_file()
    code, _, err = cli("run", path, "--uncertainty", "1", "-o", tmp_path / "r2")
    one_line_error(code, err, "--uncertainty must be a number of draws of at least 2")
