"""Atomic writes: the whole new file or the old one, and no temporary left behind."""

from __future__ import annotations

import pytest

from neurobone.atomic import TMP_PREFIX, atomic_write, temporary_path


def _leftovers(directory):
    return [p.name for p in directory.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_writes_through_a_temporary_and_creates_the_directory(tmp_path):
    target = tmp_path / "a" / "b" / "notes.txt"
    seen = []

    def writer(tmp):
        seen.append(tmp)
        assert tmp.parent == target.parent and tmp.name.startswith(TMP_PREFIX + "notes.txt.")
        assert not target.exists()  # nothing visible under the final name yet
        tmp.write_text("first\n")

    assert atomic_write(target, writer) == target
    assert target.read_text() == "first\n" and not seen[0].exists()
    atomic_write(str(target), lambda tmp: tmp.write_bytes(b"second\n"))
    assert target.read_bytes() == b"second\n"
    assert _leftovers(target.parent) == []


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_text("old")

    def writer(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, writer)
    assert target.read_text() == "old" and _leftovers(tmp_path) == []
    with pytest.raises(FileNotFoundError):  # a writer that writes nothing is an error
        atomic_write(target, lambda tmp: None)
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_temporary_names_are_unique_and_hidden(tmp_path):
    names = {temporary_path(tmp_path / "part.parquet").name for _ in range(50)}
    assert len(names) == 50 and all(n.startswith(".") for n in names)
