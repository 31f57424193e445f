"""The local web app: a prescription form and a study page (``neurobone serve``).

Built on FastAPI (served by uvicorn): requests and answers are plain JSON with the
library's own one-line messages, the long computations run in a worker thread
(:mod:`neurobone.web.jobs`) while the pages poll their progress, and its OpenAPI
description comes free at ``/docs``. Pages are static HTML with a small script; every
number they show comes from the API's JSON, which is the CLI's ``--json``.

Every field is checked on the server by the library itself (:class:`~neurobone.
prescription.person.Person`, :func:`~neurobone.prescription.search.prescribe`'s checks),
so a bad value gets the same one line as on the command line.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import math
import tempfile
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from neurobone._version import __version__
from neurobone.errors import InputError
from neurobone.model.brainbone.regimens import DRUGS
from neurobone.prescription.person import Person
from neurobone.prescription.personal import MEASURES, Trial
from neurobone.prescription.plans import TRIAL_PLANS, allowed_modalities, rules
from neurobone.prescription.search import DISCLAIMER, GOALS, SITES, _check, prescribe
from neurobone.study.design import Study, list_studies, packaged_studies, packaged_study
from neurobone.web.jobs import Jobs

#: the study page's default: the article's mouse study
DEFAULT_STUDY = "article-mouse"

#: the form's fields: name -> (kind, default); kinds: number, optional number, text, list
FIELDS = {
    "age": ("number", None), "sex": ("text", "female"),
    "t_score_spine": ("optional", None), "t_score": ("optional", None),
    "menopause_age": ("optional", None), "max_minutes_week": ("number", 150.0),
    "exclude": ("list", ()), "goal": ("text", "abmd"), "sites": ("list", ("spine",
                                                                          "femoral_neck")),
    "horizon_years": ("number", 2.0), "draws": ("integer", 12), "final_draws": ("integer", 48),
    "seed": ("integer", 0), "drug": ("text", ""),
    "trial_plan": ("text", "guideline"), "trial_days": ("number", 182.0),
    "dxa_spine": ("optional", None), "dxa_femoral_neck": ("optional", None),
    "ctx": ("optional", None), "p1np": ("optional", None), "msna": ("optional", None),
    "prior_draws": ("integer", 400),
}


def _value(name: str, kind: str, raw, default):
    label = name.replace("_", "-")
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if kind == "number" and default is None:
            raise InputError(f"{label}: required")
        return default
    if kind in ("number", "optional", "integer"):
        if isinstance(raw, bool):
            raise InputError(f"{label}: must be a number, got {raw!r}")
        try:
            x = float(raw)
        except (TypeError, ValueError):
            raise InputError(f"{label}: must be a number, got {raw!r}") from None
        if not math.isfinite(x):
            raise InputError(f"{label}: must be a finite number, got {raw!r}")
        if kind == "integer":
            if x != int(x):
                raise InputError(f"{label}: must be a whole number, got {raw!r}")
            return int(x)
        return x
    if kind == "list":
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, (list, tuple)):
            raise InputError(f"{label}: must be a list, got {raw!r}")
        return tuple(str(x).strip() for x in items if str(x).strip())
    if not isinstance(raw, str):
        raise InputError(f"{label}: must be text, got {raw!r}")
    return raw.strip()


def prescription_arguments(form: dict) -> tuple[Person, dict]:
    """The person and the options of a prescription form, checked (InputError: one line)."""
    if not isinstance(form, dict):
        raise InputError("the request must be a JSON object of the form's fields")
    unknown = sorted(set(form) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r}; valid: {', '.join(FIELDS)}")
    v = {name: _value(name, kind, form.get(name), default)
         for name, (kind, default) in FIELDS.items()}
    person = Person(v["age"], v["sex"], t_score_spine=v["t_score_spine"], t_score=v["t_score"],
                    menopause_age=v["menopause_age"])
    options = {k: v[k] for k in ("goal", "sites", "horizon_years", "max_minutes_week",
                                 "exclude", "draws", "final_draws", "seed", "prior_draws")}
    options["drug"] = v["drug"] or None
    options["trial"] = Trial.named(v["trial_plan"], v["trial_days"],
                                   **{m: v[m] for m in MEASURES})
    _check(options["goal"], options["sites"], options["horizon_years"],
           options["max_minutes_week"], options["draws"], options["final_draws"],
           options["seed"], 0.01)
    allowed_modalities(person, options["exclude"])
    if options["drug"] is not None and options["drug"] not in (*DRUGS, "any"):
        raise InputError(f"drug: {options['drug']!r} is not valid; valid: "
                         f"{', '.join(DRUGS)}, any")
    if options["prior_draws"] < max(options["draws"], options["final_draws"]):
        raise InputError("prior-draws: must be at least draws and final-draws")
    return person, options


def study_argument(form) -> Study:
    """The built-in study a study request names (``{"study": NAME}``; default the
    article's), checked like ``neurobone run NAME``."""
    if not isinstance(form, dict):
        raise InputError("the request body must be a JSON object")
    unknown = sorted(set(form) - {"study"})
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r}; valid: study")
    name = form.get("study", DEFAULT_STUDY)
    if not isinstance(name, str) or name not in packaged_studies():
        raise InputError(f"study: {name!r} is not a built-in study; valid: "
                         f"{', '.join(packaged_studies())}")
    return packaged_study(name)


def _page(name: str) -> str:
    text = resources.files("neurobone.web").joinpath("pages", name).read_text()
    modalities = "".join(
        f'<label><input type="checkbox" name="exclude" value="{m}"> {m}</label> '
        for m in rules())
    return (text.replace("{{VERSION}}", __version__).replace("{{DISCLAIMER}}", DISCLAIMER)
            .replace("{{MODALITIES}}", modalities)
            .replace("{{GOALS}}", "".join(f"<option>{g}</option>" for g in GOALS))
            .replace("{{DRUGS}}", "".join(f"<option>{d}</option>" for d in ("", *DRUGS, "any")))
            .replace("{{TRIALS}}", "".join(f"<option>{t}</option>" for t in TRIAL_PLANS))
            .replace("{{STUDIES}}", "".join(
                f'<option value="{html.escape(r.name)}"'
                f'{" selected" if r.name == DEFAULT_STUDY else ""}>{html.escape(r.name)}: '
                f"{html.escape(r.question)}</option>"
                for r in list_studies().itertuples()))
            .replace("{{SITES}}", "".join(
                f'<label><input type="checkbox" name="sites" value="{s}"'
                f'{" checked" if s in FIELDS["sites"][1] else ""}> {s}</label> '
                for s in SITES)))


def create_app(report_root: Path | None = None):
    """The FastAPI application (``report_root``: where study reports are written; default
    a temporary folder)."""
    jobs = Jobs()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        jobs.shutdown()

    app = FastAPI(title="neurobone", version=__version__, lifespan=lifespan,
                  description="Exercise -> brain -> bone: prescriptions and studies. "
                              + DISCLAIMER)
    root = Path(report_root) if report_root else Path(tempfile.mkdtemp(prefix="nb-web-"))
    app.state.jobs = jobs

    def error(exc: InputError, status: int = 400):
        return JSONResponse({"error": str(exc).splitlines()[0]}, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def home():
        return _page("prescribe.html")

    @app.get("/study", response_class=HTMLResponse)
    def study_page():
        return _page("study.html")

    @app.post("/api/prescribe")
    async def start_prescription(request: Request):
        try:
            form = await request.json()
        except ValueError:
            return error(InputError("the request body is not JSON"))
        try:
            person, options = prescription_arguments(form)
        except InputError as exc:
            return error(exc)
        job = jobs.submit("prescribe", lambda progress: prescribe(person, progress=progress,
                                                                  **options))
        return {"job": job.id}

    @app.post("/api/study")
    async def start_study(request: Request):
        from neurobone.report import write_report
        from neurobone.study.run import run_study

        body = await request.body()
        try:
            form = json.loads(body) if body.strip() else {}
        except ValueError:
            return error(InputError("the request body is not JSON"))
        try:
            spec = study_argument(form)
        except InputError as exc:
            return error(exc)

        def work(progress):
            res = run_study(spec, progress=progress)
            progress(1, 1, "writing the report")
            out = root / f"study-{len(list(root.glob('study-*'))) + 1}"
            write_report(res, out)
            return out

        job = jobs.submit("study", work)
        return {"job": job.id}

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            return JSONResponse({"error": f"no job {job_id!r}"}, status_code=404)
        out = job.status()
        if job.state == "done" and job.kind == "prescribe":
            out["result"] = job.result.to_json()
        if job.state == "done" and job.kind == "study":
            out["report"] = f"/reports/{job.result.name}/index.html"
        return out

    @app.get("/api/jobs/{job_id}/plot.png")
    def job_plot(job_id: str):
        job = jobs.get(job_id)
        if job is None or job.state != "done" or job.kind != "prescribe":
            return JSONResponse({"error": f"no finished prescription {job_id!r}"},
                                status_code=404)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = job.result.plot()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        return Response(buf.getvalue(), media_type="image/png")

    @app.get("/reports/{folder}/{name}")
    def report_file(folder: str, name: str):
        path = (root / folder / name).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            return JSONResponse({"error": "no such report file"}, status_code=404)
        return FileResponse(path)

    return app


def serve(host: str = "127.0.0.1", port: int = 8765, report_root: Path | None = None,
          announce=None) -> None:
    """Run the app with uvicorn until interrupted (localhost only by default). The server
    stops only on a signal; Ctrl-C ends it as KeyboardInterrupt (exit code 130 from the
    command line). ``announce(url)`` is called once the address is known to be usable."""
    import socket

    import uvicorn

    try:  # a port in use or an address not of this machine: one line, before starting
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise InputError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; try another "
                         "--port or --host") from None
    if announce is not None:
        announce(f"http://{host}:{port}/")
    server = uvicorn.Server(uvicorn.Config(create_app(report_root), host=host, port=port,
                                           log_level="warning"))
    server.run()
    raise KeyboardInterrupt
