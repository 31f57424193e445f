"""The CLI's failure paths (issue 13): bad input files, one-line messages, duplicate YAML
keys, output paths checked without being created, atomic outputs, the report folder's
marker, Ctrl-C and SIGTERM, and the wiring of `check` and `query --unsafe`.

Most cases run the CLI in-process (the ``cli`` fixture); the signals need a real process.
docs/reliability.md lists the guarantees these tests keep.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from neurobone.atomic import TMP_PREFIX

ROOT = Path(__file__).resolve().parents[1]
TREADMILL = ROOT / "examples" / "mouse_treadmill.yaml"
COHORT = ROOT / "examples" / "cohort_running.yaml"
STUDY = ROOT / "examples" / "article_mouse_study.yaml"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TMP_PREFIX))


def _one_line(code: int, err: str, needle: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("neurobone: error: "), lines[0]
    assert needle in lines[0], lines[0]
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- output paths
REJECTED = [
    ["simulate", "--model", "nope"],
    ["simulate", "--set", "I_P=abc"],
    ["simulate", "--set", "XX=1"],
    ["simulate", "--days", "-3"],
    ["simulate", "missing.yaml"],
    ["simulate", str(TREADMILL), "--days", "3"],
    ["decompose", "missing.yaml"],
    ["export-sbml", "--model", "nope"],
    ["export-sbml", "--scenario", "missing.yaml"],
]


@pytest.mark.parametrize("args", REJECTED, ids=[" ".join(a[:3]) for a in REJECTED])
def test_a_rejected_command_creates_no_output_file(cli, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "X.out"
    code, _, err = cli(*args, "-o", out)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_rejected_query_creates_no_output_file(cli, tmp_path, monkeypatch):
    from neurobone.cohort import store
    from neurobone.errors import InputError

    def no_cohort(directory, sql, unsafe=False):
        raise InputError(f"no cohort in {str(directory)!r}")

    monkeypatch.setattr(store, "query", no_cohort)
    code, _, err = cli("query", tmp_path / "nothing", "SELECT 1", "-o", tmp_path / "q.csv")
    _one_line(code, err, "no cohort")
    assert not (tmp_path / "q.csv").exists()


def _special_outputs(d: Path) -> dict[str, tuple[Path, str]]:
    fifo = d / "fifo.csv"
    os.mkfifo(fifo)
    (d / "dir.csv").mkdir()
    (d / "afile").write_text("x")
    return {
        "/dev/full": (Path("/dev/full"), "it is a device"),
        "/dev/null": (Path("/dev/null"), "it is a device"),
        "fifo": (fifo, "it is a FIFO"),
        "directory": (d / "dir.csv", "is a directory"),
        "missing-dir": (d / "nope" / "x.csv", "does not exist"),
        "under-a-file": (d / "afile" / "x.csv", "not a directory"),
        "empty": ("", "'.' is a directory"),  # Typer reads "" as the path "."
    }


@pytest.fixture
def devices_guarded(monkeypatch):
    """Nothing in this process may rename a file over a path in /dev: a broken check
    run as root would otherwise replace /dev/full or /dev/null by a regular file."""
    real_replace, real_rename = os.replace, os.rename

    def guard(real):
        def move(src, dst, *a, **k):
            if os.path.abspath(dst).startswith("/dev/"):
                raise AssertionError(f"refused in the tests: a rename over {dst}")
            return real(src, dst, *a, **k)
        return move

    monkeypatch.setattr(os, "replace", guard(real_replace))
    monkeypatch.setattr(os, "rename", guard(real_rename))


@pytest.mark.timeout(60)  # writing into a FIFO would wait for a reader
@pytest.mark.parametrize("command", ["simulate", "decompose", "export-sbml", "query"])
def test_special_output_paths_are_one_line(cli, tmp_path, command, devices_guarded):
    for name, (path, needle) in _special_outputs(tmp_path).items():
        if name.startswith("/dev") and not path.exists():
            continue
        args = {"simulate": ["simulate", "--days", "5"],
                "decompose": ["decompose", TREADMILL],
                "export-sbml": ["export-sbml"],
                "query": ["query", tmp_path, "SELECT 1"]}[command]
        code, _, err = cli(*args, "-o", path)
        _one_line(code, err, needle)


def test_atomic_write_never_replaces_a_device_or_fifo(tmp_path, devices_guarded):
    from neurobone.atomic import atomic_write
    from neurobone.errors import InputError
    from neurobone.files import check_output_file, write_output

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    targets = [fifo, tmp_path]
    try:
        os.mknod(tmp_path / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        targets.append(tmp_path / "full")
    except (PermissionError, OSError):
        pass  # not root: the FIFO and the directory still show it
    for target in targets:
        kind = target.lstat().st_mode
        with pytest.raises(OSError, match="not a regular file"):
            atomic_write(target, lambda tmp: tmp.write_text("x"))
        with pytest.raises(InputError, match="not a regular file"):
            write_output(target, lambda tmp: tmp.write_text("x"))
        assert target.lstat().st_mode == kind
    for dev in ("/dev/full", "/dev/null"):
        if Path(dev).exists():
            with pytest.raises(InputError, match="it is a device"):
                check_output_file(dev)
    assert _leftovers(tmp_path) == []


def test_a_read_only_output_or_directory_is_one_line(cli, tmp_path, monkeypatch):
    """Simulated with os.access (the tests may run as root, for whom every mode allows)."""
    import neurobone.files as files

    out = tmp_path / "ro.csv"
    out.write_text("keep\n")
    real = os.access

    def access(refused):
        return lambda p, mode, *a, **k: (not (Path(p) == refused and mode & os.W_OK)
                                         and real(p, mode, *a, **k))

    monkeypatch.setattr(files.os, "access", access(out))
    code, _, err = cli("simulate", "--days", "5", "-o", out)
    _one_line(code, err, "read-only")
    assert out.read_text() == "keep\n"
    monkeypatch.setattr(files.os, "access", access(tmp_path))
    code, _, err = cli("simulate", "--days", "5", "-o", tmp_path / "new.csv")
    _one_line(code, err, "is not writable")
    assert not (tmp_path / "new.csv").exists()


def _full_disk(monkeypatch, method):
    """Make ``method`` write half of its output and fail as on a full disk."""
    def full(self, path=None, *a, **k):
        if path is None:
            return method(self, path, *a, **k)
        Path(path).write_text("day,C\n0,1\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return full


def test_a_full_disk_is_one_line_and_keeps_the_previous_file(cli, tmp_path, monkeypatch):
    out = tmp_path / "run.csv"
    out.write_text("previous\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full_disk(monkeypatch, pd.DataFrame.to_csv))
    code, _, err = cli("simulate", "--days", "5", "-o", out)
    line = _one_line(code, err, "No space left on device")
    assert repr(str(out)) in line
    assert out.read_text() == "previous\n" and _leftovers(tmp_path) == []
    code, _, err = cli("decompose", TREADMILL, "-o", tmp_path / "d.csv")
    _one_line(code, err, "No space left on device")
    assert not (tmp_path / "d.csv").exists() and _leftovers(tmp_path) == []


def test_export_sbml_on_a_full_disk_is_one_line(cli, tmp_path, monkeypatch):
    import neurobone.io.sbml as sbml

    def full(path, *a, **k):
        Path(path).write_text("<sbml")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sbml, "write_sbml", full)
    out = tmp_path / "m.xml"
    code, _, err = cli("export-sbml", "-o", out)
    _one_line(code, err, "No space left on device")
    assert not out.exists() and _leftovers(tmp_path) == []


def test_outputs_are_written_atomically(cli, tmp_path, monkeypatch):
    """simulate, decompose, query and export-sbml write through atomic_write: the target
    appears only by the final rename, complete."""
    from neurobone.cohort import store
    from tests.helpers import spy_atomic_writes

    seen = spy_atomic_writes(monkeypatch)
    monkeypatch.setattr(store, "query", lambda d, sql, unsafe=False: pd.DataFrame({"n": [1]}))
    runs = [("simulate", "--days", "5", "-o", tmp_path / "s.csv"),
            ("decompose", TREADMILL, "--output", "bv_tv", "-o", tmp_path / "d.csv"),
            ("query", tmp_path, "SELECT 1", "-o", tmp_path / "q.csv"),
            ("export-sbml", "-o", tmp_path / "m.xml")]
    for argv in runs:
        code, _, err = cli(*argv)
        assert code == 0, err
    assert seen == ["s.csv", "d.csv", "q.csv", "m.xml"]
    assert pd.read_csv(tmp_path / "s.csv")["day"].tolist() == list(range(6))
    assert _leftovers(tmp_path) == []


def test_a_symlinked_output_keeps_the_link(cli, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    code, _, err = cli("simulate", "--days", "3", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and pd.read_csv(real)["day"].tolist() == [0, 1, 2, 3]


# --------------------------------------------------------------------------- report folder
def test_run_refuses_a_foreign_folder_before_the_study_runs(cli, tmp_path, monkeypatch):
    import neurobone.study as study

    def never(*a, **k):
        raise AssertionError("the study ran")

    monkeypatch.setattr(study, "run_study", never)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my own notes\n")
    code, _, err = cli("run", "--n", "3", "--out", folder)
    _one_line(code, err, "is not empty and holds no neurobone report")
    assert "--overwrite" in err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    # a file where the folder should be, and a folder inside a file
    (tmp_path / "plain").write_text("x")
    for out, needle in ((tmp_path / "plain", "is not a directory"),
                        (tmp_path / "plain" / "r", "not a directory")):
        code, _, err = cli("run", "--n", "3", "--out", out)
        _one_line(code, err, needle)


def test_run_writes_a_marked_report_and_may_rewrite_it(cli, tmp_path, monkeypatch):
    import neurobone.atomic as atomic
    import neurobone.files as files

    folder = tmp_path / "rep"
    code, _, err = cli("run", "--n", "3", "--out", folder)
    assert code == 0, err
    marker = json.loads((folder / ".neurobone-report").read_text())
    written = sorted(p.name for p in folder.iterdir() if p.name != ".neurobone-report")
    assert marker["files"] == written and "index.html" in written and "study.yaml" in written

    # a second run into the report: allowed, every file written atomically, and the
    # previous report's files it does not write again are removed (not the user's)
    (folder / "old_timecourse.png").write_bytes(b"png")
    marker["files"].append("old_timecourse.png")
    (folder / ".neurobone-report").write_text(json.dumps(marker))
    (folder / "my_notes.txt").write_text("mine\n")
    seen = []
    real = atomic.atomic_write
    monkeypatch.setattr(files, "atomic_write",
                        lambda p, w: (seen.append(Path(p).name), real(p, w))[1])
    code, _, err = cli("run", "--n", "3", "--out", folder)
    assert code == 0, err
    assert set(written) <= set(seen) and ".neurobone-report" in seen
    assert not (folder / "old_timecourse.png").exists()
    assert (folder / "my_notes.txt").read_text() == "mine\n"
    assert _leftovers(folder) == []


def test_run_overwrite_writes_among_the_users_files(cli, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my own notes\n")
    (folder / "results.csv").write_text("an old table\n")
    code, _, err = cli("run", "--n", "3", "--out", folder, "--overwrite")
    assert code == 0, err
    assert (folder / "notes.txt").read_text() == "my own notes\n"
    assert (folder / "results.csv").read_text() != "an old table\n"
    assert (folder / ".neurobone-report").is_file() and (folder / "index.html").is_file()


def test_a_report_written_before_the_marker_is_recognised(tmp_path):
    from neurobone.report import is_report_folder, prepare_folder

    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "index.html").write_text("<html>")
    (folder / "study.yaml").write_text("# the design as run by neurobone 0.0.9\nname: x\n")
    assert is_report_folder(folder) and prepare_folder(folder) == folder
    (folder / "study.yaml").write_text("name: x\n")
    assert not is_report_folder(folder)


# --------------------------------------------------------------------------- input files
def _latin1(d: Path) -> Path:
    p = d / "latin1.yaml"
    p.write_bytes("species: mouse\nduration_days: 10\n# caf\xe9\n".encode("latin-1"))
    return p


def _utf16(d: Path) -> Path:
    p = d / "utf16.yaml"
    p.write_bytes("species: mouse\nduration_days: 10\n".encode("utf-16"))
    return p


def _binary(d: Path) -> Path:
    p = d / "binary.yaml"
    p.write_bytes(bytes(range(1, 256)) * 4)  # no NUL: undecodable
    return p


def _nul(d: Path) -> Path:
    p = d / "nul.yaml"
    p.write_bytes(b"species: mouse\x00\x00\nduration_days: 10\n")
    return p


def _fifo(d: Path) -> Path:
    p = d / "pipe.yaml"
    os.mkfifo(p)
    return p


def _directory(d: Path) -> Path:
    p = d / "folder.yaml"
    p.mkdir()
    return p


def _missing(d: Path) -> Path:
    return d / "missing.yaml"


def _under_a_file(d: Path) -> Path:
    (d / "plain").write_text("x")
    return d / "plain" / "s.yaml"


BAD_FILES = {
    "latin1": (_latin1, "is not UTF-8 text (byte 0xe9 on line 3)"),
    "utf16": (_utf16, "is UTF-16 text"),
    "binary": (_binary, "is not UTF-8 text"),
    "nul-bytes": (_nul, "is binary"),
    "fifo": (_fifo, "is a FIFO"),
    "directory": (_directory, "is a directory"),
    "missing": (_missing, "does not exist"),
    "under-a-file": (_under_a_file, "does not exist"),
    "device": (lambda d: Path("/dev/null"), "is a device"),
    "proc-mem": (lambda d: Path("/proc/self/mem"), "cannot read"),
}

COMMANDS = {
    "simulate": lambda f, d: ["simulate", f, "-o", d / "out.csv"],
    "decompose": lambda f, d: ["decompose", f, "-o", d / "out.csv"],
    "export-sbml": lambda f, d: ["export-sbml", "--scenario", f, "-o", d / "out.xml"],
    "cohort": lambda f, d: ["cohort", f, "--n", "3", "--out", d / "cohort"],
    "run": lambda f, d: ["run", f, "--out", d / "report"],
}


@pytest.mark.timeout(60)  # a FIFO read would wait for ever
@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_input_file_is_one_line_and_creates_nothing(cli, tmp_path, kind, command):
    make, needle = BAD_FILES[kind]
    if kind == "proc-mem" and not Path("/proc/self/mem").exists():
        pytest.skip("no /proc on this system")
    path = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = cli(*COMMANDS[command](path, tmp_path))
    line = _one_line(code, err, needle)
    assert repr(str(path)) in line  # the file is named
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no folder


def test_an_unreadable_file_is_one_line(cli, tmp_path, monkeypatch):
    """Permission denied (simulated: the tests may run as root, who reads everything)."""
    scn = tmp_path / "s.yaml"
    scn.write_text("species: mouse\nduration_days: 10\n")
    real_open = os.open

    def refuse(path, *a, **k):
        if Path(path) == scn:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", refuse)
    code, _, err = cli("simulate", scn)
    _one_line(code, err, "cannot read scenario file")
    assert "Permission denied" in err


def test_a_huge_input_file_is_refused_before_it_is_read(cli, tmp_path):
    from neurobone.yamlfile import MAX_INPUT_BYTES

    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:  # sparse: no disk used
        fh.truncate(MAX_INPUT_BYTES + 1)
    code, _, err = cli("simulate", big)
    _one_line(code, err, "an input file is at most")


def test_a_utf8_byte_order_mark_is_accepted(cli, tmp_path):
    scn = tmp_path / "bom.yaml"
    scn.write_bytes(b"\xef\xbb\xbf" + TREADMILL.read_bytes())
    from neurobone.scenario.schema import load_scenario

    assert load_scenario(scn) == load_scenario(TREADMILL)


def test_a_study_file_is_checked_too(cli, tmp_path):
    code, _, err = cli("run", _latin1(tmp_path), "--out", tmp_path / "r")
    _one_line(code, err, "study file")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- duplicate keys
def test_a_duplicate_key_names_both_lines(cli, tmp_path):
    scn = tmp_path / "dup.yaml"
    scn.write_text("species: mouse\nduration_days: 10\n# a comment\nspecies: human\n")
    code, _, err = cli("simulate", scn)
    line = _one_line(code, err, "duplicate key 'species' (first at line 1)")
    assert line == f"neurobone: error: {scn}:4: duplicate key 'species' (first at line 1)"


def test_a_duplicate_key_in_a_study_arm_is_located(tmp_path):
    from neurobone.errors import InputError
    from neurobone.study import load_study

    text = STUDY.read_text()
    lines = text.splitlines()
    arm = next(i for i, s in enumerate(lines) if s.strip() == "- name: exercise")
    lines.insert(arm + 2, "    description: twice")  # a second description in the arm
    study = tmp_path / "study.yaml"
    study.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        load_study(study)
    assert str(info.value) == (f"{study}:{arm + 3}: duplicate key 'description' "
                               f"(first at line {arm + 2})")


def test_keys_that_are_equal_values_are_duplicates_but_merge_keys_are_not(tmp_path):
    from neurobone.errors import InputError
    from neurobone.yamlfile import read_yaml

    f = tmp_path / "x.yaml"
    f.write_text("a: 1\nb: {1: x, 1.0: y}\n")
    with pytest.raises(InputError, match=r"x.yaml:2: duplicate key 1.0 \(first at line 2\)"):
        read_yaml(f, "scenario")
    f.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")
    data, root = read_yaml(f, "scenario")
    assert data["other"] == {"x": 1, "y": 3} and root is not None


def test_yaml_errors_stay_on_one_line(cli, tmp_path):
    cases = {
        "tab.yaml": "species:\tmouse\n\tduration_days: 10\n",
        "unclosed.yaml": "species: [mouse\n",
        "two_docs.yaml": "species: mouse\n---\nspecies: human\n",
        "tag.yaml": "species: !!python/object:os.system mouse\n",
        "control.yaml": "species: mo\x07use\n",
        "deep.yaml": "[" * 20000 + "]" * 20000 + "\n",
    }
    for name, text in cases.items():
        f = tmp_path / name
        f.write_text(text)
        code, _, err = cli("simulate", f)
        _one_line(code, err, str(f))


# --------------------------------------------------------------------------- one line
def test_a_file_name_with_a_newline_is_shown_with_repr(cli, tmp_path):
    scn = tmp_path / "two\nlines.yaml"
    code, _, err = cli("simulate", scn)
    _one_line(code, err, repr(str(scn)))
    scn.write_text("species: mouse\n")  # exists now: the error is located in it
    code, _, err = cli("simulate", scn)
    line = _one_line(code, err, "duration_days")
    assert repr(str(scn)) in line


def test_a_yaml_key_with_a_newline_is_shown_with_repr(cli, tmp_path):
    scn = tmp_path / "key.yaml"
    scn.write_text('species: mouse\nduration_days: 10\n"spe\\ncies\\u0007": 1\n')
    code, _, err = cli("simulate", scn)
    line = _one_line(code, err, "unknown field")
    assert repr("spe\ncies\x07") in line


def test_a_set_name_with_a_newline_is_one_line(cli):
    code, _, err = cli("simulate", "--set", "I\nP=1")
    _one_line(code, err, repr("I\nP=1"))


# --------------------------------------------------------- main(): interrupts, last guards
def test_ctrl_c_in_a_command_exits_130_with_one_line(cli, monkeypatch):
    """Typer turns KeyboardInterrupt into a returned 130 under standalone_mode=False;
    main() must not drop it (it did: exit 0, nothing said)."""
    from neurobone.model import registry

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(registry, "get_model", interrupted)
    code, out, err = cli("steady-state")
    assert code == 130
    assert err.strip().splitlines() == ["neurobone: interrupted"]


def test_sigterm_handler_is_installed_and_restored(cli, monkeypatch):
    from neurobone import cli as cli_module
    from neurobone.model import registry

    before = signal.getsignal(signal.SIGTERM)

    def terminated(name):
        assert signal.getsignal(signal.SIGTERM) is cli_module._terminate
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(registry, "get_model", terminated)
    code, _, err = cli("steady-state")
    assert code == 143 and err.strip().splitlines() == ["neurobone: interrupted"]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("signal_exc, exit_code", [(KeyboardInterrupt, 130), ("Terminated", 143)])
def test_a_signal_wrapped_by_a_kernel_call_is_still_an_interrupt(cli, monkeypatch, signal_exc,
                                                                 exit_code):
    """A signal handled while a compiled kernel's call returns surfaces as a SystemError
    caused by the signal's exception (CPython: "returned a result with an exception
    set"); it is an interrupt, not an internal error."""
    from neurobone import cli as cli_module
    from neurobone.model import registry

    if signal_exc == "Terminated":
        signal_exc = cli_module.Terminated

    def kernel(name):
        try:
            raise signal_exc()
        except BaseException as exc:
            raise SystemError("CPUDispatcher(<function observe>) returned a result with an "
                              "exception set") from exc

    monkeypatch.setattr(registry, "get_model", kernel)
    code, _, err = cli("steady-state")
    assert code == exit_code and err.strip().splitlines() == ["neurobone: interrupted"]


def test_any_message_with_a_line_break_is_printed_on_one_line(cli, monkeypatch):
    """The last guard in main(): whatever the library's message, one line."""
    from neurobone.errors import InputError
    from neurobone.model import registry

    def broken(name):
        raise InputError("first\nsecond\rthird\x1b[31m")

    monkeypatch.setattr(registry, "get_model", broken)
    code, _, err = cli("steady-state")
    line = _one_line(code, err, "first\\nsecond\\rthird\\x1b[31m")
    assert "\x1b" not in line

    def bug(name):
        raise RuntimeError("a\nb")

    monkeypatch.setattr(registry, "get_model", bug)
    code, _, err = cli("steady-state")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "internal error" in err


def test_an_interrupted_report_leaves_whole_files(cli, tmp_path, monkeypatch):
    """Ctrl-C while the report is written: exit 130; every file there is whole."""
    import neurobone.report as report

    folder = tmp_path / "rep"
    calls = []
    real = report._csv

    def interrupted(df, path):
        calls.append(path.name)
        if len(calls) == 3:
            def half(tmp):
                tmp.write_text("half a table")
                raise KeyboardInterrupt
            report.write_output(path, half)
        real(df, path)

    monkeypatch.setattr(report, "_csv", interrupted)
    code, _, err = cli("run", "--n", "3", "--out", folder)
    assert code == 130 and err.strip().splitlines()[-1] == "neurobone: interrupted"
    assert _leftovers(folder) == [] and (folder / ".neurobone-report").is_file()
    assert not (folder / calls[2]).exists()
    for name in calls[:2]:
        pd.read_csv(folder / name)  # whole
    # the folder is a report now: a rerun needs no --overwrite
    monkeypatch.setattr(report, "_csv", real)
    code, _, err = cli("run", "--n", "3", "--out", folder)
    assert code == 0, err


_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import pandas as pd

    ready = Path(sys.argv[1])
    real = pd.DataFrame.to_csv

    def slow(self, path=None, *a, **k):
        if path is None:
            return real(self, path, *a, **k)
        real(self.iloc[: len(self) // 2], path, *a, **k)   # half of the rows ...
        ready.with_suffix(".part").write_text(str(path))
        ready.with_suffix(".part").rename(ready)             # ... then the signal comes
        time.sleep(120)
        return real(self, path, *a, **k)

    pd.DataFrame.to_csv = slow
    from neurobone.cli import main
    main(sys.argv[2:])
""")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _spawn(argv: list, cwd: Path) -> subprocess.Popen:
    # SIGINT as at a terminal: default handling (a background job may inherit SIG_IGN)
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_sigint)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the command ended first ({proc.returncode}): "
                                 f"{proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("the command did not get there in time")
        time.sleep(0.05)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("previous", [False, True], ids=["new", "previous-file"])
def test_a_signal_while_the_csv_is_written_leaves_no_partial_file(tmp_path, sig, code, previous):
    out = tmp_path / "out.csv"
    if previous:
        out.write_text("the previous run\n")
    ready = tmp_path / "ready"
    proc = _spawn([sys.executable, "-c", _SLOW_WRITER, ready, "simulate", "--model", "lemaire2004",
                   "--days", "2000", "-o", out], tmp_path)
    _wait_for(ready.exists, proc)
    half = Path(ready.read_text())
    assert half.name.startswith(TMP_PREFIX) and half.stat().st_size > 0  # written aside
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == "neurobone: interrupted" and "Traceback" not in err
    if previous:
        assert out.read_text() == "the previous run\n"
    else:
        assert not out.exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_cohort_run_exits_cleanly(tmp_path, sig, code):
    """The real command, no patches: stopped after its first chunk is stored."""
    out = tmp_path / "cohort"
    proc = _spawn([sys.executable, "-m", "neurobone.cli", "cohort", COHORT, "--n", "100000",
                   "--chunk-size", "100", "--seed", "1", "--out", out], tmp_path)
    _wait_for(lambda: any(out.glob("summary/chunk=*/part.parquet")), proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == "neurobone: interrupted" and "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False
    for path in out.rglob("*"):
        assert not path.name.startswith(TMP_PREFIX), path


# --------------------------------------------------------------------------- steady state
@pytest.mark.parametrize("setting", ["I_P=1@1:2", "I_P=1@0:", "I_P=1@:"])
def test_steady_state_rejects_a_time_window(cli, setting):
    code, out, err = cli("steady-state", "--set", setting)
    _one_line(code, err, "a steady state has no time")
    assert out == ""


def test_steady_state_takes_a_plain_override(cli):
    code, out, err = cli("steady-state", "--set", "I_P=1")
    assert code == 0, err
    code, base, _ = cli("steady-state")
    assert out.splitlines()[0] != base.splitlines()[0]  # the value was used


# --------------------------------------------------------------------------- check, query
def test_check_prints_the_report_and_exits_0_when_healthy(cli, tmp_path, monkeypatch):
    from neurobone.cohort import store

    seen = []

    def healthy(directory):
        seen.append(Path(directory))
        return {"healthy": True, "chunks": 3, "bad_chunks": [], "lock": "free"}

    monkeypatch.setattr(store, "check_store", healthy, raising=False)
    code, out, err = cli("check", tmp_path)
    assert code == 0, err
    assert seen == [tmp_path]
    assert "healthy: True" in out and "chunks: 3" in out and "lock: free" in out


def test_check_exits_1_when_damaged_and_2_on_bad_input(cli, tmp_path, monkeypatch):
    from neurobone.cohort import store
    from neurobone.errors import InputError

    monkeypatch.setattr(store, "check_store", raising=False, value=lambda d: {
        "healthy": False, "bad_chunks": ["chunk 3: not a Parquet file", "chunk 5:\nzeroed"]})
    code, out, err = cli("check", tmp_path)
    assert code == 1, err
    assert "chunk 3: not a Parquet file" in out and "chunk 5:\\nzeroed" in out

    def no_cohort(directory):
        raise InputError(f"no cohort in {str(directory)!r}")

    monkeypatch.setattr(store, "check_store", no_cohort, raising=False)
    code, _, err = cli("check", tmp_path)
    _one_line(code, err, "no cohort")


def test_query_is_sandboxed_unless_unsafe(cli, tmp_path, monkeypatch):
    from neurobone.cohort import store

    seen = []

    def query(directory, sql, unsafe=False):
        seen.append((Path(directory), sql, unsafe))
        return pd.DataFrame({"n": [7]})

    monkeypatch.setattr(store, "query", query)
    code, out, err = cli("query", tmp_path, "SELECT count(*) AS n FROM summary")
    assert code == 0, err
    code, _, err = cli("query", tmp_path, "SELECT 1", "--unsafe")
    assert code == 0, err
    assert seen == [(tmp_path, "SELECT count(*) AS n FROM summary", False),
                    (tmp_path, "SELECT 1", True)]
    assert "7" in out


def test_a_command_exit_code_is_kept(cli, monkeypatch):
    """A typer.Exit(1) inside a command (check: an unhealthy store) is the exit code."""
    from neurobone.cohort import store

    monkeypatch.setattr(store, "check_store", lambda d: {"healthy": False}, raising=False)
    code, _, _ = cli("check", "anywhere")
    assert code == 1
