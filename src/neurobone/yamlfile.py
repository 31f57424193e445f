"""YAML input files (scenarios, studies): reading, and errors that name file:line: field.

Validation errors from Pydantic are located in the YAML source (the line of the field)
so that every bad input becomes one line: ``study.yaml:12: arms.1.exercise: reason``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from neurobone.errors import InputError


def read_yaml(path: str | Path, kind: str) -> tuple[Any, yaml.Node | None]:
    """The parsed data and the node tree (for line numbers) of a YAML ``kind`` file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{kind} file {str(path)!r} does not exist")
    if path.is_dir():
        raise InputError(f"{kind} file {str(path)!r} is a directory")
    text = path.read_text()
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None


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


def located_error(errors: list[tuple[tuple, str]], source: str, root: yaml.Node | None) -> InputError:
    """One-line error for the first of ``(location, message)`` pairs."""
    loc, msg = errors[0]
    field = ".".join(str(x) for x in loc) or "(top level)"
    extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InputError(f"{where(source, root, loc)}: {field}: {msg}{extra}")


def validation_error(exc: ValidationError, source: str, root: yaml.Node | None) -> InputError:
    """The one-line :class:`InputError` for a Pydantic validation failure."""
    return located_error([(tuple(e["loc"]), message(e)) for e in exc.errors()], source, root)
