"""Reading inputs and writing outputs: strict JSON, writable checks, all-or-none writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.core.files import check_writable_dir, dumps_strict, json_rows, strict_json, write_files_atomically


def test_strict_json_refuses_nan_and_infinity_both_ways() -> None:
    with pytest.raises(ValueError, match="NaN"):
        strict_json('{"a": NaN}')
    with pytest.raises(ValueError):
        dumps_strict({"a": float("inf")})


def test_json_rows_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    with pytest.raises(TaskevalError, match=r"x.jsonl:2: not valid JSON"):
        json_rows(path, '{"a": 1}\n{"a": \n', "one object a line")
    assert [where for where, _ in json_rows(path, '[{"a": 1}, {"a": 2}]', "")] == [f"{path}: item 1",
                                                                               f"{path}: item 2"]


def test_a_failed_write_leaves_none_of_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.replace
    calls: list[str] = []

    def replace_then_fail(source: str, target: os.PathLike[str]) -> None:
        calls.append(str(target))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(source, target)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(OSError):
        write_files_atomically({tmp_path / "a": "1", tmp_path / "b": "2"})
    assert list(tmp_path.iterdir()) == []  # the first rename was undone, no temporary file is left


def test_writable_checks_name_the_folder(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(TaskevalError, match="is a file"):
        check_writable_dir(taken, "output folder")
    check_writable_dir(tmp_path / "new" / "deep", "output folder")
    assert (tmp_path / "new" / "deep").is_dir()


def test_reports_are_readable_like_any_build_artefact(tmp_path: Path) -> None:
    import os

    from evaluator.core.files import write_files_atomically

    previous = os.umask(0o022)
    try:
        write_files_atomically({tmp_path / "report.json": "{}", tmp_path / "report.md": "# r"})
    finally:
        os.umask(previous)
    assert {(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {0o644}
