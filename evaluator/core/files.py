"""Reading inputs and writing outputs safely: text files with errors that name the file, strict JSON, writable
checks before any model work, and atomic writes of one file or of a set of files that land together."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.redaction import redact


def read_text(path: Path, what: str, flag: str) -> str:
    """A UTF-8 text file; a missing, unreadable or non-UTF-8 file is a TaskevalError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskevalError(f"{path}: {what} not found", f"check the path given to {flag}") from None
    except IsADirectoryError:
        raise TaskevalError(f"{path}: is a folder, not a {what}", f"give {flag} a file") from None
    except UnicodeDecodeError as error:
        raise TaskevalError(f"{path}: the {what} is not UTF-8 text (byte {error.start})",
                            "save the file as UTF-8") from None
    except OSError as error:
        raise TaskevalError(f"{path}: cannot read the {what} ({error.strerror})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


MAX_DEPTH = 64
"""How deep the JSON and YAML that taskeval reads may nest (a Task API call is two or three levels deep)."""


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep `value` nests (a scalar is 0), counted without recursion; stops counting past `limit`."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth + 1)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def strict_json(text: str, **options: Any) -> Any:
    """json.loads that refuses NaN and Infinity (Python's json accepts them; no other JSON reader does) and
    nesting deeper than MAX_DEPTH levels (a ValueError, never a RecursionError)."""
    try:
        value = json.loads(text, parse_constant=_no_constant, **options)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    if nesting_depth(value) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def dumps_strict(value: Any, **options: Any) -> str:
    """JSON text with no NaN or Infinity: a non-finite number is a bug, never a value in a report."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, **options)


def check_writable_dir(folder: Path, what: str) -> None:
    """Create `folder` if needed and prove a file can be written in it, before any model work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".taskeval-probe.")
        os.close(handle)
        os.unlink(probe)
    except FileExistsError:
        raise TaskevalError(f"{folder}: the {what} is a file, not a folder", "give a folder path") from None
    except OSError as error:
        raise TaskevalError(f"{folder}: cannot write the {what} ({error.strerror})",
                            "choose a folder this user can write to, on a disk with free space") from None


def check_writable_file(path: Path, what: str) -> None:
    """A file that can be created or replaced: its folder is writable and the path is not a folder."""
    if path.is_dir():
        raise TaskevalError(f"{path}: the {what} is a folder, not a file", "give a file path")
    check_writable_dir(path.parent, f"folder of the {what}")


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it, so a reader never sees half a file."""
    write_files_atomically({path: text})


def _file_mode() -> int:
    """The mode an ordinary new file gets here (0644 under the usual umask 022): mkstemp's 0600 would make reports
    unreadable to the group and others, unlike any other build artefact."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_files_atomically(files: Mapping[Path, str]) -> None:
    """Write every file to a temporary neighbour first, then rename them all: a full disk or a denied write
    leaves none of the new files (and a partial rename removes the ones already renamed). Registered secrets are
    redacted from every file."""
    staged: list[tuple[str, Path]] = []
    renamed: list[Path] = []
    mode = _file_mode()
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((temporary, path))
            os.fchmod(handle, mode)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(redact(text))
        for temporary, path in staged:
            os.replace(temporary, path)
            renamed.append(path)
    except BaseException:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        for path in renamed:
            path.unlink(missing_ok=True)
        raise


def json_rows(path: Path, text: str, hint: str) -> list[tuple[str, Any]]:
    """(location, parsed row) pairs of a JSONL file, or of a JSON array when the text starts with `[`; a line
    that is not strict JSON is a TaskevalError naming the file and line, with `hint`."""
    if text.lstrip().startswith("["):
        try:
            rows = strict_json(text)
        except ValueError as error:
            line = getattr(error, "lineno", None)
            raise TaskevalError(f"{path}{f':{line}' if line else ''}: not valid JSON ({_reason(error)})",
                                hint) from None
        return [(f"{path}: item {index + 1}", row) for index, row in enumerate(rows)]
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((f"{path}:{number}", strict_json(line)))
        except ValueError as error:
            raise TaskevalError(f"{path}:{number}: not valid JSON ({_reason(error)})", hint) from None
    return parsed


def _reason(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at column {error.colno}"
    return str(error)
