"""Long computations of the web app, run one at a time in a worker thread.

The server answers while a job runs: a request starts a job and gets its id at once,
and the page polls the job's state (``queued``, ``running`` with ``done``/``total``/
``stage``, ``done`` with the result, or ``failed`` with one line). One worker thread, so
two users' computations queue instead of sharing two cores.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from neurobone.errors import NeuroboneError

#: finished jobs kept (the oldest are forgotten first)
KEEP = 50


@dataclass
class Job:
    """One computation: its state, progress, result or error."""

    id: str
    kind: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    stage: str = ""
    result: Any = None
    error: str = ""
    extra: dict = field(default_factory=dict)

    def status(self) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "done": self.done,
                "total": self.total, "stage": self.stage, "error": self.error}


class Jobs:
    """Jobs by id, run by one worker thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neurobone-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def submit(self, kind: str, work: Callable[[Callable[[int, int, str], None]], Any]) -> Job:
        """Start ``work(progress)`` in the worker; returns the job at once."""
        job = Job(uuid.uuid4().hex[:12], kind)

        def progress(done: int, total: int, stage: str) -> None:
            job.done, job.total, job.stage = int(done), int(total), str(stage)

        def run() -> None:
            job.state = "running"
            try:
                job.result = work(progress)
                job.state = "done"
            except NeuroboneError as exc:
                job.error, job.state = str(exc).splitlines()[0], "failed"
            except Exception as exc:  # a bug: the page says so in one line, the server lives
                job.error = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]
                job.state = "failed"

        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state in ("done", "failed")]
            for old in finished[:max(0, len(finished) - KEEP)]:
                del self._jobs[old.id]
        self._pool.submit(run)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
