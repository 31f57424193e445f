"""YAML input files (scenarios, studies): reading, and errors that name file:line: field.

:func:`read_text` reads an input file or fails with one line: a missing path, a
directory, a FIFO or device (never opened, so never waited on), an unreadable file, one
too large, binary content or text that is not UTF-8. :func:`read_yaml` parses it with a
loader that rejects duplicate keys (``study.yaml:12: duplicate key 'seed' (first at line
3)``), where PyYAML would silently keep the last value.

Validation errors from Pydantic are located in the YAML source (the line of the field)
so that every bad input becomes one line: ``study.yaml:12: arms.1.exercise: reason``.
Names that may hold control characters or line breaks (file names, keys) are shown with
``repr`` (:func:`shown`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from neurobone.errors import InputError

__all__ = ["MAX_INPUT_BYTES", "read_text", "read_yaml", "shown", "one_line", "line_of", "where",
           "message"]

#: the largest input file read (a scenario or study file is a few kB)
MAX_INPUT_BYTES = 16 * 1024 * 1024


def shown(name: object) -> str:
    """``name`` as text for a one-line message: as is when every character is printable
    and it is not empty, else its ``repr`` (line breaks and control characters escaped)."""
    text = str(name)
    if text and text.isprintable():
        return text
    return repr(text)


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _quoted(path: str | Path) -> str:
    return repr(str(path))


def read_text(path: str | Path, kind: str) -> str:
    """The text of the ``kind`` input file at ``path`` (UTF-8, an optional byte-order mark
    dropped), or an :class:`InputError` of one line naming the problem.

    The path's type is checked with ``stat`` before it is opened, and the opened file is
    checked again (``fstat``): a FIFO, socket or device is refused without being read, so
    a FIFO with no writer cannot make the command wait for ever.
    """
    name = _quoted(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{kind} file {name} does not exist") from None
    except NotADirectoryError:
        raise InputError(f"{kind} file {name} does not exist (a part of the path is not a "
                         "directory)") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputError(f"cannot read {kind} file {name}: {_reason(exc)}") from None
    _check_regular(st, kind, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"cannot read {kind} file {name}: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        _check_regular(st, kind, name)  # replaced between stat and open
        if st.st_size > MAX_INPUT_BYTES:
            raise InputError(f"{kind} file {name} is {st.st_size / 2**20:.0f} MB; an input file "
                             f"is at most {MAX_INPUT_BYTES // 2**20} MB")
        chunks, size = [], 0
        while True:
            block = os.read(fd, 1 << 20)
            if not block:
                break
            size += len(block)
            if size > MAX_INPUT_BYTES:
                raise InputError(f"{kind} file {name} is larger than "
                                 f"{MAX_INPUT_BYTES // 2**20} MB, the most an input file may be")
            chunks.append(block)
    except OSError as exc:  # e.g. /proc/self/mem: Input/output error
        raise InputError(f"cannot read {kind} file {name}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{kind} file {name} is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise InputError(f"{kind} file {name} is binary (it holds NUL bytes), not a YAML text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{kind} file {name} is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                         f"on line {line}); save it as UTF-8") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


def _check_regular(st: os.stat_result, kind: str, name: str) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{kind} file {name} is a directory; give a YAML file")
    if not stat.S_ISREG(mode):
        what = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise InputError(f"{kind} file {name} is {what}; give a regular YAML file")


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int, first: int):
        super().__init__(key, line, first)
        self.key, self.line, self.first = key, line, first


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that names one key twice (merge keys
    ``<<`` may still be overridden, as YAML intends)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable: the base class says so, located
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise _DuplicateKey(key, line, first)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path, kind: str) -> tuple[Any, yaml.Node | None]:
    """The parsed data and the node tree (for line numbers) of a YAML ``kind`` file."""
    text = read_text(path, kind)
    source = shown(path)
    try:
        loader = UniqueKeyLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _DuplicateKey as exc:
        raise InputError(f"{source}:{exc.line}: duplicate key {exc.key!r} "
                         f"(first at line {exc.first})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"{source}:{mark.line + 1}" if mark else source
        problem = exc.problem or exc.context or "cannot be parsed"
        raise InputError(f"{at}: not valid YAML: {shown(problem)}") from None
    except yaml.reader.ReaderError as exc:
        raise InputError(f"{source}: not valid YAML: character {exc.character!r} at position "
                         f"{exc.position} is not allowed ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {shown(exc)}") from None
    except RecursionError:
        raise InputError(f"{source}: not valid YAML: nested too deeply") from None
    return data, root


def line_of(root: yaml.Node | None, loc: tuple) -> int | None:
    """Line (1-based) of the YAML node at a Pydantic error location."""
    node, line = root, None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == key:
                    nxt = v
                    line = k.start_mark.line + 1
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
    if node is not None:
        line = node.start_mark.line + 1
    return line


def where(source: str, root: yaml.Node | None, loc: tuple) -> str:
    """``source:line`` of a field, or ``source`` when the line is unknown."""
    line = line_of(root, loc)
    source = shown(source)
    return f"{source}:{line}" if line else source


def message(err: dict) -> str:
    """A Pydantic error's message, worded for people."""
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "literal_error":
        msg = f"{msg} (got {err.get('input')!r})"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def _part(key: object) -> str:
    """One part of a field's location: as is, or its ``repr`` when it is not a plain
    printable name (a key with a line break stays on the message's one line)."""
    text = str(key)
    return text if text and text.isprintable() and "." not in text else repr(key)
