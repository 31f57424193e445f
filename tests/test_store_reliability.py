"""The cohort store under damage, concurrency, huge sizes and hostile queries (issue 13).

Each test damages a store, runs a second writer, asks for something huge or sends a
hostile query, and checks the contract: the damage is found and repaired to the same
bytes, a second writer refuses with one line, a size is refused before it is allocated,
a query reads the store's tables and nothing else.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from neurobone.cohort import run as runmod
from neurobone.cohort import store
from neurobone.cohort.run import MAX_CHUNKS, chunk_memory, make_spec, run_cohort
from neurobone.cohort.store import (
    LOCK,
    StoreLock,
    check_store,
    chunk_path,
    find_temporaries,
    finished_chunks,
    lock_state,
    lock_store,
    open_cohort,
    query,
    read_manifest,
    record_path,
)
from neurobone.errors import InputError

#: a short mouse scenario (fast): 4 chunks of 5 subjects, trajectories of every 3rd
MOUSE = {
    "species": "mouse",
    "duration_days": 21,
    "exercise": [{"modality": "treadmill", "speed_m_per_min": 12, "minutes": 45,
                  "days_per_week": 5}],
    "outputs": ["bv_tv"],
    "population": {"age_weeks": {"dist": "uniform", "low": 10, "high": 30}},
}
N, SEED, CHUNK, EVERY = 20, 3, 5, 3
ARGS = dict(chunk_size=CHUNK, trajectory_every=EVERY)


def one_line(exc: pytest.ExceptionInfo, needle: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and needle in msg, msg
    return msg


def store_files(out: Path) -> dict[str, bytes]:
    """Every Parquet file and checksum record of a store, by relative path."""
    return {str(p.relative_to(out)): p.read_bytes()
            for sub in ("summary", "trajectories", "checksums") if (out / sub).is_dir()
            for p in sorted((out / sub).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted cohort: the bytes every repaired store must come back to."""
    out = tmp_path_factory.mktemp("store") / "ref"
    res = run_cohort(MOUSE, N, SEED, out, **ARGS)
    assert res.complete and res.manifest["recomputed_chunks"] == []
    assert not (out / LOCK).exists()
    return out


@pytest.fixture
def copy(reference, tmp_path) -> Path:
    out = tmp_path / "c"
    shutil.copytree(reference, out)
    return out


def resume(out: Path, **kw):
    computed: list[tuple[int, str | None]] = []
    notes: list[str] = []
    res = run_cohort(MOUSE, N, SEED, out, **ARGS, **kw,
                     on_chunk=lambda s: computed.append((s["chunk"], s.get("recomputed"))),
                     on_note=notes.append)
    return res, computed, notes


def rewrite(path: Path, change) -> None:
    """Rewrite a Parquet file as valid Parquet with ``change(table) -> table`` applied."""
    table = pq.read_table(path)
    pq.write_table(change(table), path, compression="zstd")


def _set(table: pa.Table, name: str, values) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, pa.array(values, type=table.schema.field(name).type))


def _nudge(table: pa.Table) -> pa.Table:  # one value changed by one ulp
    v = table.column("bv_tv_end").to_numpy().copy()
    v[0] = np.nextafter(v[0], np.inf)
    return _set(table, "bv_tv_end", v)


def _relabel_trajectory_subject(table: pa.Table) -> pa.Table:  # the rows of another subject
    return _set(table, "subject", table.column("subject").to_numpy() + 1)


def _duplicate_a_subject(table: pa.Table) -> pa.Table:
    subj = table.column("subject").to_numpy().copy()
    subj[2] = subj[1]
    return _set(table, "subject", subj)


def _copy_chunk(out: Path, src: int, dst: int, record: bool) -> None:
    for table in ("summary", "trajectories"):
        shutil.copyfile(chunk_path(out, table, src), chunk_path(out, table, dst))
    if record:
        shutil.copyfile(record_path(out, src), record_path(out, dst))


def _edit_record(out: Path, k: int, **changes) -> None:
    rec = json.loads(record_path(out, k).read_text())
    rec.update(changes)
    record_path(out, k).write_text(json.dumps(rec))


def _replace_by_directory(p: Path) -> None:
    p.unlink()
    p.mkdir()
    (p / "x").write_text("x")


S, T = (lambda out: chunk_path(out, "summary", 2)), (lambda out: chunk_path(out, "trajectories", 2))
DAMAGE = {
    "truncated summary": (lambda out: S(out).write_bytes(S(out).read_bytes()[:300]),
                          "summary file is not readable Parquet"),
    "zeroed summary": (lambda out: S(out).write_bytes(bytes(S(out).stat().st_size)),
                       "summary file is not readable Parquet"),
    "random summary": (lambda out: S(out).write_bytes(os.urandom(S(out).stat().st_size)),
                       "summary file is not readable Parquet"),
    "truncated trajectories": (lambda out: T(out).write_bytes(T(out).read_bytes()[:-9]),
                               "trajectories file is not readable Parquet"),
    "empty trajectories": (lambda out: T(out).write_bytes(b""),
                           "trajectories file is not readable Parquet"),
    "summary deleted": (lambda out: S(out).unlink(), "summary file missing"),
    "summary is a directory": (lambda out: _replace_by_directory(S(out)),
                               "summary file is not a regular file"),
    "one value changed": (lambda out: rewrite(S(out), _nudge), "summary file's SHA-256 differs"),
    "copy of another chunk": (lambda out: _copy_chunk(out, 0, 2, record=False),
                              "summary file holds subjects 0..4 (5 rows), not subjects 10..14"),
    "copy of another chunk with its record": (lambda out: _copy_chunk(out, 1, 2, record=True),
                                              "summary file holds subjects 5..9 "
                                              "(5 rows), not subjects 10..14"),
    "duplicate subject": (lambda out: rewrite(S(out), _duplicate_a_subject), "1 duplicated"),
    "a column lost": (lambda out: rewrite(S(out), lambda t: t.drop_columns(["status"])),
                      "lacks the columns status"),
    "trajectories of another subject": (lambda out: rewrite(T(out), _relabel_trajectory_subject),
                                        "trajectories file holds subjects [13], not "
                                        "the sampled subjects [12] of 10..14"),
    "trajectory rows lost": (lambda out: rewrite(T(out), lambda t: t.slice(0, 5)),
                             "trajectories file has 5 rows, 22 were written"),
    "record missing": (lambda out: record_path(out, 2).unlink(), "no checksum record"),
    "record not JSON": (lambda out: record_path(out, 2).write_bytes(b"{\x00\xff"),
                        "unreadable checksum record"),
    "record a list": (lambda out: record_path(out, 2).write_text("[]"),
                      "malformed checksum record"),
    "record of another run": (lambda out: _edit_record(out, 2, run="0" * 64),
                              "written by another run"),
    "record of another chunk": (lambda out: _edit_record(out, 2, chunk=1),
                                "checksum record is of chunk 1"),
    "record with other digests": (
        lambda out: _edit_record(out, 2, files={
            **json.loads(record_path(out, 2).read_text())["files"],
            "summary": {**json.loads(record_path(out, 2).read_text())["files"]["summary"],
                        "sha256": "0" * 64}}),
        "summary file's SHA-256 differs"),
}


# ----------------------------------------------------------------------------- damaged chunks
@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_chunk_is_found_reported_and_recomputed_to_the_same_bytes(copy, reference, kind):
    damage, reason = DAMAGE[kind]
    damage(copy)
    damaged = store_files(copy)
    # check_store names it, changing nothing
    report = check_store(copy)
    assert not report["healthy"] and report["chunks_ok"] == 3
    assert [b["chunk"] for b in report["chunks_bad"]] == [2]
    assert reason in report["chunks_bad"][0]["reason"], report["chunks_bad"]
    assert store_files(copy) == damaged
    # a query over the damaged store: a result or one line, never another exception
    try:
        query(copy, "SELECT count(*) AS n FROM summary")
    except InputError as exc:
        assert "\n" not in str(exc)
    # the resume recomputes that chunk, and only it, saying why
    res, computed, notes = resume(copy)
    assert len(computed) == 1 and computed[0][0] == 2 and reason in computed[0][1], computed
    assert [r["chunk"] for r in res.manifest["recomputed_chunks"]] == [2]
    assert reason in read_manifest(copy)["recomputed_chunks"][0]["reason"]
    assert any("chunk 2 is damaged" in n for n in notes)
    assert store_files(copy) == store_files(reference)  # byte for byte
    n = query(copy, "SELECT count(*) AS n, count(DISTINCT subject) AS d FROM summary")
    assert (n.n[0], n.d[0]) == (N, N)
    assert check_store(copy)["healthy"]
    assert not (copy / LOCK).exists()


def test_a_copied_chunk_no_longer_resumes_into_duplicate_subjects(copy, reference):
    """The issue's case: a chunk replaced by a copy of another, record and all."""
    _copy_chunk(copy, 0, 3, record=True)
    dup = query(copy, "SELECT count(*) AS n, count(DISTINCT subject) AS d FROM summary")
    assert dup.n[0] == N and dup.d[0] == N - CHUNK  # what the old resume left behind
    res, computed, _ = resume(copy)
    assert [k for k, _ in computed] == [3] and "subjects 0..4" in computed[0][1]
    ok = query(copy, "SELECT count(*) AS n, count(DISTINCT subject) AS d FROM summary")
    assert (ok.n[0], ok.d[0]) == (N, N)
    assert store_files(copy) == store_files(reference)


def test_several_damaged_chunks_and_stray_entries(copy, reference):
    DAMAGE["truncated summary"][0](copy)
    record_path(copy, 0).unlink()
    # entries queries would read although they are no chunks of this cohort
    shutil.copytree(copy / "summary" / "chunk=00001", copy / "summary" / "chunk=00099")
    shutil.copytree(copy / "summary" / "chunk=00001", copy / "summary" / "chunk=7")
    shutil.copyfile(record_path(copy, 1), copy / "checksums" / "chunk=00099.json")
    report = check_store(copy)
    assert not report["healthy"]
    assert [b["chunk"] for b in report["chunks_bad"]] == [0, 2, None, None, None]
    assert sum("not a chunk of this cohort" in b["reason"] for b in report["chunks_bad"]) == 3
    res, computed, notes = resume(copy)
    assert sorted(k for k, _ in computed) == [0, 2]
    assert any("removed 3 entries" in n for n in notes)
    assert res.manifest["last_run_notes"] == notes
    assert store_files(copy) == store_files(reference)
    assert query(copy, "SELECT count(*) AS n FROM summary").n[0] == N


def test_temporaries_of_a_killed_writer_are_reported_then_removed(copy, reference):
    (copy / "summary" / "chunk=00001" / ".tmp-part.parquet.123.abcd").write_bytes(b"half")
    (copy / "checksums" / ".tmp-chunk=00003.json.1.x").write_bytes(b"{")
    report = check_store(copy)
    assert report["healthy"] and len(report["temporaries"]) == 2
    assert any("temporary" in n for n in report["notes"])
    resume(copy)  # the writer sweeps them up
    assert find_temporaries(copy) == [] and store_files(copy) == store_files(reference)


@pytest.mark.timeout(60)
def test_finding_finished_chunks_lists_the_directory_once(reference):
    """10^9 chunk numbers: no stat per chunk (the old way took hours)."""
    t0 = time.perf_counter()
    assert finished_chunks(reference, 10**9) == {0, 1, 2, 3}
    assert finished_chunks(reference, 2) == {0, 1}
    assert time.perf_counter() - t0 < 1.0


# ----------------------------------------------------------------------------- damaged manifests
def _manifest(out: Path, edit) -> None:
    man = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(edit(man)))


def _without(key):
    def edit(man):
        del man[key]
        return man
    return edit


def _manifest_dir(out: Path) -> None:
    (out / "manifest.json").unlink()
    (out / "manifest.json").mkdir()


def _table_file(name: str):
    def damage(out: Path) -> None:
        shutil.rmtree(out / name)
        (out / name).write_text("not a directory")
    return damage


MANIFESTS = {
    "a list": (lambda out: _manifest(out, lambda m: [m]), "a JSON list instead of an object"),
    "a string": (lambda out: (out / "manifest.json").write_text('"cohort"'), "a JSON str instead"),
    "string n_chunks": (lambda out: _manifest(out, lambda m: {**m, "n_chunks": "4"}),
                        "n_chunks is '4'"),
    "float n": (lambda out: _manifest(out, lambda m: {**m, "n": 20.5}), "n is 20.5"),
    "n_chunks inconsistent": (lambda out: _manifest(out, lambda m: {**m, "n_chunks": 7}), "make 4"),
    "no n": (lambda out: _manifest(out, _without("n")), "no 'n'"),
    "no outputs": (lambda out: _manifest(out, _without("outputs")), "no 'outputs'"),
    "outputs a string": (lambda out: _manifest(out, lambda m: {**m, "outputs": "bv_tv"}),
                         "outputs is 'bv_tv'"),
    "infinite rtol": (lambda out: (out / "manifest.json").write_text(
        (out / "manifest.json").read_text().replace('"rtol": 5e-05', '"rtol": 1e999')),
        "rtol is inf"),
    "not JSON": (lambda out: (out / "manifest.json").write_text("{\"n\": "),
                 "unreadable cohort manifest"),
    "binary": (lambda out: (out / "manifest.json").write_bytes(b"\xff\xfe\x00" + os.urandom(64)),
               "unreadable cohort manifest"),
    "deeply nested": (lambda out: (out / "manifest.json").write_text("[" * 200000),
                      "unreadable cohort manifest"),
    "a directory": (_manifest_dir, "not a regular file"),
    "summary a file": (_table_file("summary"), "'summary' is not a directory"),
    "trajectories a file": (_table_file("trajectories"), "'trajectories' is not a directory"),
    "checksums a file": (_table_file("checksums"), "'checksums' is not a directory"),
}


@pytest.mark.parametrize("kind", list(MANIFESTS))
def test_a_damaged_manifest_is_one_line_and_overwrite_recovers(copy, reference, kind):
    damage, needle = MANIFESTS[kind]
    damage(copy)
    with pytest.raises(InputError) as exc:
        resume(copy)
    one_line(exc, needle)
    assert "rerun with --overwrite" in str(exc.value)
    with pytest.raises(InputError) as exc:
        query(copy, "SELECT count(*) FROM summary")
    one_line(exc, needle)
    report = check_store(copy)  # a report, not an exception
    assert not report["healthy"] and any(needle in n for n in report["notes"])
    if kind not in ("summary a file", "trajectories a file", "checksums a file"):
        with pytest.raises(InputError) as exc:
            open_cohort(copy)
        one_line(exc, needle)
    assert not (copy / LOCK).exists()  # refused after taking the lock: released
    res, _, _ = resume(copy, overwrite=True)
    assert res.complete and store_files(copy) == store_files(reference)


@pytest.mark.parametrize("kind", ["a list", "string n_chunks", "summary a file"])
def test_cli_damaged_manifest_one_line_exit_2(copy, tmp_path, cli, one_line_error, kind):
    MANIFESTS[kind][0](copy)
    scn = tmp_path / "m.yaml"
    scn.write_text(yaml.safe_dump(MOUSE))
    code, _, err = cli("cohort", scn, "--n", N, "--seed", SEED, "--out", copy,
                       "--chunk-size", CHUNK, "--trajectory-every", EVERY)
    one_line_error(code, err, "rerun with --overwrite")
    code, _, err = cli("query", copy, "SELECT 1")
    one_line_error(code, err, "rerun with --overwrite")


# ----------------------------------------------------------------------------- the lock
def _lock_for(out: Path, pid: int, host: str | None = None, **extra) -> dict:
    info = {"pid": pid, "host": host or socket.gethostname(), "started": "2026-01-01T00:00:00+0000",
            **extra}
    (out / LOCK).write_text(json.dumps(info))
    return info


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_held_lock_refuses_a_second_writer_with_one_line(copy, sleeper, cli, tmp_path,
                                                           one_line_error):
    record_path(copy, 3).unlink()  # work the second writer would do
    _lock_for(copy, sleeper.pid, pid_start=store._proc_start(sleeper.pid))
    before = (copy / LOCK).read_bytes()
    with pytest.raises(InputError) as exc:
        resume(copy)
    one_line(exc, f"is being written by another run (pid {sleeper.pid} on ")
    assert "wait for it to finish or use another --out" in str(exc.value)
    assert not record_path(copy, 3).exists()  # nothing done
    assert (copy / LOCK).read_bytes() == before  # the holder's lock untouched
    state = lock_state(copy)
    assert state["pid"] == sleeper.pid and state["state"] == "running"
    scn = tmp_path / "m.yaml"
    scn.write_text(yaml.safe_dump(MOUSE))
    code, _, err = cli("cohort", scn, "--n", N, "--seed", SEED, "--out", copy,
                       "--chunk-size", CHUNK, "--trajectory-every", EVERY)
    one_line_error(code, err, f"pid {sleeper.pid}")
    # --overwrite does not get past it either (it would delete a live run's files)
    with pytest.raises(InputError, match="is being written by another run"):
        resume(copy, overwrite=True)
    assert (copy / "manifest.json").exists()


def test_waiting_for_the_lock(copy, sleeper):
    _lock_for(copy, sleeper.pid)
    t0 = time.monotonic()
    with pytest.raises(InputError) as exc:
        resume(copy, lock_wait=0.6)
    one_line(exc, "(waited 0.6 s)")
    assert 0.5 < time.monotonic() - t0 < 5
    timer = threading.Timer(0.5, lambda: (copy / LOCK).unlink())
    timer.start()
    try:
        res, computed, _ = resume(copy, lock_wait=30)
    finally:
        timer.cancel()
    assert res.complete and computed == [] and not (copy / LOCK).exists()


def test_a_stale_lock_is_taken_over_saying_so(copy, reference):
    pid = _dead_pid()
    _lock_for(copy, pid)
    assert lock_state(copy)["state"] == "stale"
    assert any("stale lock" in n for n in check_store(copy)["notes"])
    record_path(copy, 1).unlink()
    res, computed, notes = resume(copy)
    assert notes[0].startswith(f"took over the stale lock of pid {pid} on ")
    assert "no longer runs" in notes[0]
    assert res.manifest["last_run_notes"] == notes
    assert [k for k, _ in computed] == [1]
    assert not (copy / LOCK).exists() and store_files(copy) == store_files(reference)


@pytest.mark.skipif(store._proc_start(os.getpid()) is None, reason="needs /proc")
def test_a_lock_whose_pid_now_belongs_to_another_process_is_stale(copy):
    _lock_for(copy, os.getpid(), pid_start=store._proc_start(os.getpid()) + 1)
    _, _, notes = resume(copy)
    assert "its pid now belongs to another process" in notes[0]


def test_a_lock_from_before_a_restart_is_stale(copy, sleeper):
    _lock_for(copy, sleeper.pid, boot_id="another-boot")
    if store._boot_id() is None:
        pytest.skip("no boot id on this system")
    _, _, notes = resume(copy)
    assert "restarted" in notes[0]


def test_a_lock_of_another_machine_is_refused_naming_it(copy):
    _lock_for(copy, 1, host="elsewhere.example")
    with pytest.raises(InputError) as exc:
        resume(copy)
    msg = one_line(exc, "on 'elsewhere.example'")
    assert "if that run is gone, delete" in msg and str(copy / LOCK) in msg


def test_an_unreadable_lock_is_respected_while_young_and_taken_over_when_old(copy):
    (copy / LOCK).write_bytes(b"")  # a writer between creating and filling it in
    with pytest.raises(InputError, match="an unknown writer"):
        resume(copy)
    old = time.time() - 3600
    os.utime(copy / LOCK, (old, old))
    _, _, notes = resume(copy)
    assert "took over the stale lock of an unknown writer (unreadable" in notes[0]


def test_only_one_of_many_takers_gets_a_stale_lock(copy, monkeypatch):
    _lock_for(copy, _dead_pid())
    judge = store._judge

    def slow_judge(*args):  # widen the window between reading the stale lock and replacing it
        time.sleep(0.05)
        return judge(*args)

    monkeypatch.setattr(store, "_judge", slow_judge)
    got: list = []
    barrier = threading.Barrier(8)

    def take():
        barrier.wait()
        try:
            got.append(lock_store(copy))
        except InputError as exc:
            got.append(str(exc))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [g for g in got if isinstance(g, StoreLock)]
    assert len(winners) == 1, got
    assert all("is being written by another run" in g for g in got if isinstance(g, str))
    assert json.loads((copy / LOCK).read_text())["pid"] == os.getpid()
    winners[0].release()
    assert not (copy / LOCK).exists()


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_the_lock_is_released_when_the_run_stops(copy, error):
    record_path(copy, 1).unlink()

    def stop(stats):
        assert lock_state(copy)["pid"] == os.getpid()  # held while running
        raise error

    with pytest.raises(error):
        run_cohort(MOUSE, N, SEED, copy, **ARGS, on_chunk=stop)
    assert not (copy / LOCK).exists() and lock_state(copy) is None


@pytest.mark.slow
def test_two_processes_into_one_directory_one_refuses(tmp_path):
    scn = tmp_path / "m.yaml"
    scn.write_text(yaml.safe_dump(MOUSE))
    out = tmp_path / "o"
    args = [sys.executable, "-m", "neurobone.cli", "cohort", str(scn), "--n", "400", "--seed", "1",
            "--out", str(out), "--chunk-size", "1", "--threads", "1"]
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not record_path(out, 0).exists():
            time.sleep(0.02)
        assert lock_state(out)["pid"] == first.pid
        second = subprocess.run(args, capture_output=True, text=True)
        assert first.poll() is None, "the first run ended before the second tried"
        lines = second.stderr.strip().splitlines()
        assert second.returncode == 2 and len(lines) == 1, second.stderr
        assert f"being written by another run (pid {first.pid} on " in lines[0]
        assert first.wait(timeout=600) == 0, first.stderr.read()
    finally:
        first.kill()
        first.wait()
    report = check_store(out)
    assert report["healthy"] and report["complete"] and report["lock"] is None


# ----------------------------------------------------------------------------- sizes
def test_huge_cohorts_are_refused_quickly_before_anything_is_written(tmp_path):
    out = tmp_path / "o"
    cases = [
        (dict(n=10**12), "n: Input should be less than or equal to 1000000000"),
        (dict(n=10**9, chunk_size=10),
         f"more than {MAX_CHUNKS:,}; use a chunk size of at least 1,000"),
        (dict(n=10**9, chunk_size=10**9), "a chunk of 1,000,000,000 subjects would need about"),
        (dict(n=10, trajectory_step=1e-9),
         "use a smaller --chunk-size, a longer --trajectory-step"),
        (dict(n=10, trajectory_step=5e-324), "would need about"),
    ]
    for kw, needle in cases:
        args = {"n": N, "seed": 1, **kw}
        t0 = time.perf_counter()
        with pytest.raises(InputError) as exc:
            run_cohort(MOUSE, out_dir=out, **args)
        one_line(exc, needle)
        assert time.perf_counter() - t0 < 30, kw
        assert not out.exists()


def test_the_memory_estimate_is_checked_against_what_is_available(tmp_path, monkeypatch):
    spec = make_spec(scenario={}, n=1000, seed=0, chunk_size=1000, trajectory_every=100,
                     trajectory_step=7.0)
    est = chunk_memory(spec, 364.0, 6, 50, 30)
    assert est["sampled"] == 10 and est["points"] == 54
    assert est["trajectories"] == 10 * 54 * 8 * 8
    assert est["total"] > est["trajectories"] + est["summary"]
    assert runmod.available_memory() > 2**20
    monkeypatch.setattr(runmod, "available_memory", lambda: 1000)
    with pytest.raises(InputError) as exc:
        run_cohort(MOUSE, N, SEED, tmp_path / "o", **ARGS)
    one_line(exc, "more than the 0.977 kB available; use a smaller --chunk-size")
    assert not (tmp_path / "o").exists()


def test_the_largest_cohort_starts_at_once(tmp_path):
    """n = MAX_SUBJECTS in the default chunks (a million): the run begins without
    looking at a million paths, and stops cleanly, releasing its lock."""
    class Started(Exception):
        pass

    def progress(done, total, stage):
        assert (done, total) == (0, 10**9)
        raise Started

    out = tmp_path / "big"
    t0 = time.perf_counter()
    with pytest.raises(Started):
        run_cohort(MOUSE, 10**9, 1, out, progress=progress)
    assert time.perf_counter() - t0 < 30
    man = read_manifest(out)
    assert man["n_chunks"] == 10**6 and not man["complete"]
    assert not (out / LOCK).exists()
    assert open_cohort(out).finished == set()


# ----------------------------------------------------------------------------- the query sandbox
REFUSED = [
    "COPY (SELECT 1 AS x) TO '{outside}/x.csv'",
    "COPY summary TO '{store}/summary/chunk=00000/part.parquet' (FORMAT parquet)",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv('{outside}/secret.csv')",
    "SELECT * FROM read_text('{store}/manifest.json')",
    "SELECT * FROM read_text('{store}/summary/../manifest.json')",
    "SELECT * FROM glob('/root/*')",
    "SELECT * FROM glob('{outside}/*')",
    "SELECT * FROM read_parquet('{outside}/*.parquet')",
    "ATTACH '{outside}/x.duckdb' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "RESET allowed_directories",
    "CREATE TABLE t AS SELECT * FROM summary",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "EXPORT DATABASE '{outside}/db'",
    "SELECT 1; SELECT 2",
    "SELECT 1; COPY (SELECT 1) TO '{outside}/y.csv'",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_the_query_sandbox_refuses_anything_but_reading_the_store(reference, tmp_path, sql):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("a,b\n1,2\n")
    before = store_files(reference)
    text = sql.format(outside=outside, store=reference)
    with pytest.raises(InputError) as exc:
        query(reference, text)
    one_line(exc, "query refused: ")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"]  # nothing written
    assert store_files(reference) == before
    # the result object's query is the sandbox too
    with pytest.raises(InputError, match="query refused"):
        open_cohort(reference).query(text)


@pytest.mark.parametrize("sql, check", [
    ("SELECT count(*) AS n FROM summary", lambda df: df.n[0] == N),
    ("SELECT count(*) AS n FROM trajectories", lambda df: df.n[0] == 7 * 22),
    ("WITH s AS (SELECT * FROM summary WHERE status = 0) SELECT count(*) AS n FROM s",
     lambda df: df.n[0] == N),
    ("SELECT s.subject, max(t.day) AS last FROM summary s JOIN trajectories t USING (subject) "
     "GROUP BY 1 ORDER BY 1", lambda df: df.subject.tolist() == list(range(0, N, EVERY))),
    ("DESCRIBE summary", lambda df: "bv_tv_pct" in df.column_name.tolist()),
    ("SUMMARIZE SELECT bv_tv_pct FROM summary", lambda df: len(df) == 1),
    ("EXPLAIN SELECT * FROM summary", lambda df: len(df) >= 1),
    ("PIVOT (SELECT sex FROM summary) ON sex USING count(*)", lambda df: df.female.tolist() == [N]),
    ("FROM summary SELECT chunk, count(*) AS n GROUP BY ALL ORDER BY ALL",
     lambda df: df.n.tolist() == [5] * 4),
    ("SELECT 1 AS one;", lambda df: df.one[0] == 1),
])
def test_the_query_sandbox_runs_ordinary_selects(reference, sql, check):
    assert check(query(reference, sql))


def test_the_sandbox_with_relative_and_quoted_paths(reference, tmp_path, monkeypatch):
    odd = tmp_path / "it's a store"
    shutil.copytree(reference, odd)
    assert query(odd, "SELECT count(*) AS n FROM summary").n[0] == N
    monkeypatch.chdir(tmp_path)
    assert query("it's a store", "SELECT count(*) AS n FROM summary").n[0] == N
    with pytest.raises(InputError, match="query refused"):  # relative paths resolve outside
        query("it's a store", "SELECT * FROM read_text('it''s a store/manifest.json')")


def test_a_store_whose_first_chunk_is_being_written_is_queried(tmp_path):
    """A run killed (or still busy) before its first chunk's files: no rows, no error."""
    out = tmp_path / "o"

    def stop(done, total, stage):
        for table in ("summary", "trajectories"):  # as atomic_write leaves it mid-way
            (out / table / "chunk=00000").mkdir(parents=True)
            (out / table / "chunk=00000" / ".tmp-part.parquet.1.x").write_bytes(b"PAR1")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cohort(MOUSE, N, SEED, out, **ARGS, progress=stop)
    assert query(out, "SELECT count(*) AS n FROM summary").n[0] == 0
    assert query(out, "SELECT count(*) AS n FROM trajectories").n[0] == 0
    report = check_store(out)
    assert (report["healthy"] and report["missing"] == [0, 1, 2, 3]
            and len(report["temporaries"]) == 2)


@pytest.mark.parametrize("sql", ["", "   ", "\n\t", "-- only a comment", "/* nothing */"])
def test_an_empty_query_is_one_line(reference, sql):
    for unsafe in (False, True):
        with pytest.raises(InputError) as exc:
            query(reference, sql, unsafe=unsafe)
        one_line(exc, "query: the SQL")


def test_unsafe_is_full_duckdb(reference, tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    df = query(reference, f"SELECT * FROM read_csv('{tmp_path / 'x.csv'}')", unsafe=True)
    assert df.a[0] == 1
    query(reference, f"COPY (SELECT count(*) AS n FROM summary) TO '{tmp_path / 'n.csv'}'",
          unsafe=True)
    assert (tmp_path / "n.csv").read_text().split() == ["n", str(N)]


def test_cli_empty_query_one_line(reference, cli, one_line_error):
    code, _, err = cli("query", reference, "")
    one_line_error(code, err, "the SQL is empty")
    code, _, err = cli("query", reference, "SELECT * FROM read_csv('/etc/passwd')")
    one_line_error(code, err, "query refused")


# ----------------------------------------------------------------------------- check_store
def test_check_store_of_a_healthy_store(reference):
    report = check_store(reference)
    assert report == {"directory": str(reference), "healthy": True, "complete": True, "n_chunks": 4,
                      "chunks_ok": 4, "chunks_bad": [], "missing": [], "temporaries": [],
                      "lock": None, "notes": []}


def test_check_store_of_an_unfinished_and_of_a_damaged_store(tmp_path, copy):
    out = tmp_path / "u"

    class Stop(Exception):
        pass

    def crash(stats):
        if stats["chunk"] == 1:
            raise Stop

    with pytest.raises(Stop):
        run_cohort(MOUSE, N, SEED, out, **ARGS, on_chunk=crash)
    report = check_store(out)
    assert report["healthy"] and not report["complete"]
    assert report["chunks_ok"] == 2 and report["missing"] == [2, 3]
    assert any("2 of 4 chunk(s) not finished" in n for n in report["notes"])
    # several kinds of damage at once
    DAMAGE["zeroed summary"][0](copy)
    record_path(copy, 3).unlink()
    shutil.rmtree(chunk_path(copy, "summary", 0).parent)
    shutil.rmtree(chunk_path(copy, "trajectories", 0).parent)
    record_path(copy, 0).unlink()
    _lock_for(copy, _dead_pid())
    report = check_store(copy)
    assert not report["healthy"] and not report["complete"]
    assert report["chunks_ok"] == 1 and report["missing"] == [0]
    assert [(b["chunk"], b["reason"].split(" (")[0]) for b in report["chunks_bad"]] == [
        (2, "summary file is not readable Parquet"), (3, "no checksum record")]
    assert report["lock"]["state"] == "stale"
    notes = " | ".join(report["notes"])
    assert "stale lock" in notes and "2 damaged chunk(s)" in notes
    assert "the manifest says the run finished, but 1 chunk(s) have no files" in notes


def test_check_store_while_a_writer_runs(copy, sleeper):
    record_path(copy, 3).unlink()  # as between a chunk's files and its record
    _lock_for(copy, sleeper.pid)
    report = check_store(copy)
    assert report["chunks_bad"] == [] and report["missing"] == [3]
    assert report["lock"]["state"] == "running"
    assert any("a run is writing this store now" in n for n in report["notes"])


def test_check_store_of_no_store(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_store(tmp_path / "nope")
    with pytest.raises(InputError, match="holds no cohort"):
        check_store(tmp_path)


# ----------------------------------------------------------------------------- dask addresses
def _serve(payload: bytes | None) -> tuple[str, socket.socket]:
    """A local TCP server that answers every connection with ``payload`` (None: says
    nothing and keeps the connection open)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []

    def loop():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)
            if payload is not None:
                try:
                    conn.sendall(payload)
                except OSError:
                    pass

    threading.Thread(target=loop, daemon=True).start()
    return f"tcp://127.0.0.1:{srv.getsockname()[1]}", srv


@pytest.mark.slow
@pytest.mark.timeout(120)  # distributed alone waits for ever on a silent peer
@pytest.mark.parametrize("payload, needle", [
    (b"\xff" * 64, "cannot reach the Dask scheduler"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", "not as a Dask scheduler"),
    (os.urandom(4096), "cannot reach the Dask scheduler"),
    (None, "no Dask scheduler answered within 1 s"),
])
def test_an_odd_dask_address_is_one_line_within_the_timeout(payload, needle):
    pytest.importorskip("distributed")
    from neurobone.cohort.console import dask_client

    address, srv = _serve(payload)
    try:
        t0 = time.monotonic()
        with pytest.raises(InputError) as exc:
            with dask_client(address, timeout=1.0):
                pass
        assert time.monotonic() - t0 < 15
        one_line(exc, address)
        assert needle in str(exc.value) or "cannot reach" in str(exc.value), str(exc.value)
    finally:
        srv.close()


@pytest.mark.slow
@pytest.mark.parametrize("address, needle", [
    ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler"),
    ("tcp://host with spaces:8786", "expected a scheduler address"),
    ("local:100000", "at most"),
])
def test_bad_dask_addresses(address, needle):
    pytest.importorskip("distributed")
    from neurobone.cohort.console import dask_client

    with pytest.raises(InputError) as exc:
        with dask_client(address, timeout=2.0):
            pass
    one_line(exc, needle)


@pytest.mark.slow
def test_with_dask_the_parent_holds_the_lock_and_workers_verify_nothing_twice(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "d"
    shutil.copytree(reference, out)
    chunk_path(out, "summary", 1).write_bytes(os.urandom(100))
    record_path(out, 3).unlink()
    holders = []
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster) as client):
        res = run_cohort(MOUSE, N, SEED, out, **ARGS, client=client, threads=1,
                         on_chunk=lambda s: holders.append((s["chunk"], s["pid"],
                                                            lock_state(out)["pid"])))
    assert sorted(h[0] for h in holders) == [1, 3]
    assert all(pid != os.getpid() and holder == os.getpid() for _, pid, holder in holders)
    assert [r["chunk"] for r in res.manifest["recomputed_chunks"]] == [1, 3]
    assert store_files(out) == store_files(reference) and not (out / LOCK).exists()


# ----------------------------------------------------------------------------- killed at random
@pytest.mark.slow
def test_killed_at_random_moments_then_resumed_gives_the_same_bytes(tmp_path):
    """SIGKILL the CLI at random moments -- while it starts, or at a random point of its
    chunks (drawn over the work that remains) -- resume each time, and compare the final
    store with an uninterrupted run's byte for byte."""
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    scn = tmp_path / "m.yaml"
    scn.write_text(yaml.safe_dump(MOUSE))
    n, chunk = 160, 2
    n_chunks = n // chunk

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "neurobone.cli", "cohort", str(scn), "--n", str(n),
                "--seed", "5", "--out", str(out), "--chunk-size", str(chunk),
                "--trajectory-every", str(EVERY), "--threads", "1"]

    def wait_for_lock(out: Path, proc) -> float:
        """Until ``proc`` holds the lock (a killed run's stale lock may be there first)."""
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            state = lock_state(out) if out.exists() else None
            if state is not None and state["pid"] == proc.pid:
                break
            time.sleep(0.005)
        return time.monotonic()

    # the uninterrupted run, timed from taking the lock (its chunks) to the end
    ref = tmp_path / "ref"
    spawned = time.monotonic()
    proc = subprocess.Popen(command(ref), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    started = wait_for_lock(ref, proc)
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    startup, work = started - spawned, max(time.monotonic() - started, 0.5)

    out = tmp_path / "k"
    kills = []
    for i in range(6):
        before = len(finished_chunks(out, n_chunks))
        if before == n_chunks:
            break
        proc = subprocess.Popen(command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remaining = work * (1 - before / n_chunks)
        if i > 0 and rng.random() < 0.25:  # while it starts (imports, kernels, the lock)
            delay = rng.uniform(0.0, startup)
            time.sleep(delay)
        elif i == 0:  # surely mid-way: once a random number of chunks is finished
            target = rng.randrange(1, n_chunks - 1)
            t0 = time.monotonic()
            while len(finished_chunks(out, n_chunks)) < target and proc.poll() is None:
                time.sleep(0.002)
            delay = time.monotonic() - t0
        else:  # at a random time during its chunks
            wait_for_lock(out, proc)
            delay = rng.uniform(0.0, 1.1 * remaining)
            time.sleep(delay)
        # Popen.kill: SIGKILL, or nothing when the run has already ended and been reaped
        # (wait_for_lock polls it; os.kill would then raise ProcessLookupError)
        proc.kill()
        proc.wait()
        kills.append((round(delay, 3), before, len(finished_chunks(out, n_chunks))))
    print(f"random seed {seed}; kills (delay s, chunks before, after): {kills}")
    assert any(0 < after < n_chunks for _, _, after in kills), (seed, kills)  # some mid-way
    r = subprocess.run(command(out), capture_output=True, text=True)
    assert r.returncode == 0, (seed, kills, r.stderr)
    assert store_files(out) == store_files(ref), (seed, kills)
    report = check_store(out)
    assert report["healthy"] and report["complete"] and report["temporaries"] == [], (seed, kills)
    assert not (out / LOCK).exists()
