"""The web app (neurobone serve): server-side checks with the CLI's one-line messages,
prescriptions and the study through the API, and the pages driven in headless Chromium
(Debian's chromium and chromium-driver, installed by the Makefile)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import uvicorn

from neurobone.web.app import create_app

#: a short, cheap prescription (the page's defaults are 2 years and 12/48 copies)
QUICK = {"horizon_years": "0.5", "draws": "3", "final_draws": "4", "seed": "2"}
PERSON = {"age": "66", "sex": "female", "t_score_spine": "-2.2", "t_score": "-1.9",
          "max_minutes_week": "100"}
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(tmp_path_factory.mktemp("reports")),
                                        host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    t0 = time.time()
    while not srv.started:
        assert time.time() - t0 < 30, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(10)


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def _wait(base, job, limit=300):
    t0 = time.time()
    while time.time() - t0 < limit:
        with urllib.request.urlopen(f"{base}/api/jobs/{job}") as r:
            s = json.load(r)
        if s["state"] in ("done", "failed"):
            return s
        time.sleep(0.3)
    raise AssertionError("the job did not finish")


def _cli_json(person: dict, quick: dict) -> dict:
    flags = {"age": "--age", "sex": "--sex", "t_score_spine": "--t-score-spine",
             "t_score": "--t-score-fn", "max_minutes_week": "--max-minutes-week",
             "horizon_years": "--horizon-years", "draws": "--draws",
             "final_draws": "--final-draws", "seed": "--seed"}
    args = [a for k, v in {**person, **quick}.items() for a in (flags[k], v)]
    proc = subprocess.run([sys.executable, "-m", "neurobone.cli", "prescribe", *args, "--json"],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


@pytest.fixture(scope="module")
def cli_result():
    return _cli_json(PERSON, QUICK)


@pytest.mark.parametrize("form, message", [
    ({"age": "7"}, "age: 7 years is outside the valid range 20 to 100 years"),
    ({"age": "62", "t_score_spine": "-9"}, "t-score-spine: -9 is outside the valid range"),
    ({"age": "62", "t_score": "abc"}, "t-score: must be a number, got 'abc'"),
    ({"age": ""}, "age: required"),
    ({"age": "62", "exclude": ["yoga"]}, "unknown modality 'yoga'"),
    ({"age": "62", "goal": "best"}, "valid: abmd, fracture"),
    ({"age": "62", "bogus": "1"}, "unknown field 'bogus'"),
    ({"age": "62", "p1np": "lots"}, "p1np: must be a number, got 'lots'"),
    ({"age": "62", "p1np": "20", "trial_plan": "yoga"}, "trial-plan: 'yoga' is not valid"),
    ({"age": "62", "drug": "aspirin"}, "drug: 'aspirin' is not valid"),
])
def test_every_field_is_checked_on_the_server_with_the_cli_message(server, form, message):
    status, body = _post(f"{server}/api/prescribe", form)
    assert status == 400
    assert message in body["error"] and "\n" not in body["error"]


def test_the_api_prescription_is_the_cli_json(server, cli_result):
    status, body = _post(f"{server}/api/prescribe", {**PERSON, **QUICK})
    assert status == 200
    s = _wait(server, body["job"])
    assert s["state"] == "done", s["error"]
    res = s["result"]
    assert res["plan"] == cli_result["plan"]
    assert _flat(res["predicted"]) == pytest.approx(_flat(cli_result["predicted"]), rel=1e-12)
    with urllib.request.urlopen(f"{server}/api/jobs/{body['job']}/plot.png") as r:
        assert r.headers["content-type"] == "image/png" and r.read(8) == b"\x89PNG\r\n\x1a\n"


def test_an_early_response_from_the_form_personalises_the_prescription(server):
    form = {**PERSON, **QUICK, "trial_plan": "liftmor", "p1np": "60", "dxa_spine": "2.5",
            "prior_draws": "60"}
    status, body = _post(f"{server}/api/prescribe", form)
    assert status == 200, body
    s = _wait(server, body["job"])
    assert s["state"] == "done", s["error"]
    res = s["result"]
    assert res["trial"]["measured_percent_change"] == {"p1np": 60.0, "dxa_spine": 2.5}
    assert res["diagnostics"]["posterior"]["prior_draws"] == 60


@pytest.mark.parametrize("form, message", [
    ({"study": "nosuch"}, "study: 'nosuch' is not a built-in study; valid: age, article-mouse"),
    ({"study": 3}, "study: 3 is not a built-in study"),
    ({"name": "age"}, "unknown field 'name'; valid: study"),
    ([1], "the request body must be a JSON object"),
])
def test_the_study_request_is_checked_with_one_line(server, form, message):
    status, body = _post(f"{server}/api/study", form)
    assert status == 400
    assert message in body["error"] and "\n" not in body["error"]


def test_the_study_page_lists_every_builtin_study(server):
    from neurobone.study import list_studies

    with urllib.request.urlopen(f"{server}/study") as r:
        page = r.read().decode()
    for name in list_studies()["name"]:
        assert f'<option value="{name}"' in page
    assert '<option value="article-mouse" selected>' in page


def test_the_study_runs_and_its_report_is_served(server):
    status, body = _post(f"{server}/api/study", {})
    s = _wait(server, body["job"])
    assert s["state"] == "done", s["error"]
    with urllib.request.urlopen(server + s["report"]) as r:
        page = r.read().decode()
    assert "<img" in page
    figure = page.split("<img src='")[1].split("'")[0]
    with urllib.request.urlopen(server + s["report"].replace("index.html", figure)) as r:
        assert r.read(4) == b"\x89PNG"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(server + s["report"].replace("index.html", "..%2F..%2Fetc"))


# ------------------------------------------------------------------------------ browser
@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "Debian's chromium and chromium-driver are needed (make installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"nb-chromium-{os.getpid()}"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,1600",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _fill(driver, values: dict):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name, value in values.items():
        el = driver.find_element(By.ID, name)
        if el.tag_name == "select":
            Select(el).select_by_visible_text(value)
        else:
            el.clear()
            el.send_keys(value)


def _screenshot_dir(tmp_path) -> Path:
    out = Path(os.environ.get("NEUROBONE_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_the_page_shows_the_cli_numbers_and_keeps_working_after_bad_input(
        server, browser, cli_result, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    assert "research model" in browser.find_element(By.CLASS_NAME, "disclaimer").text
    # bad input: the server's one line on the page, and the form stays usable
    _fill(browser, {**PERSON, **QUICK, "age": "7"})
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "error").text != "")
    assert browser.find_element(By.ID, "error").text == (
        "age: 7 years is outside the valid range 20 to 100 years")
    assert browser.find_element(By.ID, "submit").is_enabled()
    # good input: the plan and the numbers are the CLI's --json for the same person
    _fill(browser, {"age": PERSON["age"]})
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 300).until(ec.visibility_of_element_located((By.ID, "result")))
    assert browser.find_element(By.ID, "error").text == ""
    rows = browser.find_elements(By.CSS_SELECTOR, "#plan tbody tr")
    shown = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    want = [[s["modality"], str(s["days_per_week"]), f"{s['minutes']:g}"]
            for s in cli_result["plan"]]
    assert [row[:3] for row in shown] == [[m, d, f"{float(x):g}"] for m, d, x in want] or \
        [[r[0], r[1], f"{float(r[2]):g}"] for r in shown] == want
    first = browser.find_elements(By.CSS_SELECTOR, "#predicted tbody tr")[0]
    cells = [td.text for td in first.find_elements(By.TAG_NAME, "td")]
    p = cli_result["predicted"]
    assert cells[1] == f"{p['score']:.3f}"
    ls = p["abmd_ls_pct_change"]
    assert cells[2] == f"{ls['mean']:.2f} ({ls['low']:.2f} to {ls['high']:.2f})"
    assert cells[4].startswith(f"{p['mof_fracture_10y']['mean']:.2f}")
    # the waiting table gives both outcomes at the same date; the notes are the CLI's
    waits = browser.find_elements(By.CSS_SELECTOR, "#waiting tbody tr")
    for tr, w in zip(waits, cli_result["waiting"], strict=True):
        assert [td.text for td in tr.find_elements(By.TAG_NAME, "td")] == [
            f"{w['delay_years']:g}", f"{w['start_now']:.3f}", f"{w['start_later']:.3f}",
            f"{w['cost']:.3f}"]
    notes = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#notes li")]
    assert notes == [f"note: {n}" for n in cli_result["notes"]] and notes
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script("const i=document.getElementById('plot');"
                                   "return i.complete && i.naturalWidth > 0"))
    shot = _screenshot_dir(tmp_path) / "prescribe-page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


@pytest.mark.slow
def test_the_study_page_shows_the_report(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/study")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 600).until(ec.visibility_of_element_located((By.ID, "report")))
    browser.switch_to.frame(browser.find_element(By.ID, "report"))
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.TAG_NAME, "img"))
    browser.switch_to.default_content()
    browser.save_screenshot(str(_screenshot_dir(tmp_path) / "study-page.png"))


def test_serve_on_a_port_in_use_is_one_line_and_ctrl_c_exits_130():
    import signal

    port = _free_port()
    cmd = [sys.executable, "-m", "neurobone.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.time()
        while True:  # until it answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/").close()
                break
            except OSError:
                assert proc.poll() is None and time.time() - t0 < 60, proc.stderr.read()
                time.sleep(0.2)
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert again.returncode == 2
        lines = again.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot serve on" in lines[0] and "--port" in lines[0]
        assert again.stdout == ""  # no "neurobone at ..." for a server that never started
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130 and "Traceback" not in err
        assert f"neurobone at http://127.0.0.1:{port}/" in out
    finally:
        proc.kill()
        proc.wait()
