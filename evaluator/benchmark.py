"""Benchmark cases (SPEC §3): loading a JSON array or a JSONL file into validated, immutable cases."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.errors import TaskevalError


def compact_json(value: Any) -> str:
    """The compact JSON string SPEC §3 compares objects as."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Case:
    """One benchmark case."""

    id: str
    """Unique id (given, or the first 16 hex digits of the SHA-256 of the input)."""
    input: str
    """The natural-language request."""
    expected_output: str
    """The expected output as a string (an object is stored as its compact JSON)."""
    expected: Any
    """The expected output parsed as JSON."""
    expected_action: str
    """The expected `action` (given, or taken from the expected output)."""
    tags: tuple[str, ...] = ()
    """Free-form tags for the per-tag breakdown."""
    category: str | None = None
    """An optional category."""


def _parse_case(row: Any, where: str) -> Case:
    if not isinstance(row, dict):
        raise TaskevalError(f"{where}: a case must be a JSON object, got {type(row).__name__}")
    text = row.get("input")
    if not isinstance(text, str):
        raise TaskevalError(f"{where}: the case has no 'input' string", 'each case needs "input" and "expected_output"')
    if "expected_output" not in row:
        raise TaskevalError(f"{where}: the case has no 'expected_output'",
                            'each case needs "input" and "expected_output"')
    raw = row["expected_output"]
    if isinstance(raw, str):
        try:
            expected = json.loads(raw)
        except json.JSONDecodeError as error:
            raise TaskevalError(f"{where}: 'expected_output' is not valid JSON ({error.msg} at column {error.colno})",
                                "give the expected call as a JSON object or as a string holding one") from None
        expected_output = raw
    elif isinstance(raw, dict):
        expected, expected_output = raw, compact_json(raw)
    else:
        raise TaskevalError(f"{where}: 'expected_output' must be a JSON object or a string holding JSON")
    action = row.get("expected_action")
    if action is None and isinstance(expected, dict):
        action = expected.get("action")
    if not isinstance(action, str):
        raise TaskevalError(f"{where}: cannot tell the expected action",
                            "give 'expected_action' or an 'action' key in 'expected_output'")
    case_id = row.get("id", hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TaskevalError(f"{where}: 'tags' must be a list of strings")
    category = row.get("category")
    if category is not None and not isinstance(category, str):
        raise TaskevalError(f"{where}: 'category' must be a string")
    return Case(str(case_id), text, expected_output, expected, action, tuple(tags), category)


def _rows(path: Path, text: str) -> list[tuple[str, Any]]:
    """(location, parsed row) pairs from a JSON array or a JSONL file."""
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise TaskevalError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
        return [(f"{path}: case {index + 1}", row) for index, row in enumerate(rows)]
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as error:
            raise TaskevalError(f"{path}:{number}: not valid JSON ({error.msg} at column {error.colno})",
                                "a JSONL benchmark holds one JSON object per line") from None
    return parsed


def load_benchmark(path: str | Path) -> list[Case]:
    """All cases of a benchmark file, validated; errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskevalError(f"{path}: benchmark file not found", "check the path given to --benchmark") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TaskevalError(f"{path}: cannot read the benchmark ({error})") from None
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for where, row in _rows(path, text):
        case = _parse_case(row, where)
        if case.id in seen:
            raise TaskevalError(f"{where}: duplicate case id '{case.id}' (first at {seen[case.id]})",
                                "every case needs a unique id")
        seen[case.id] = where
        cases.append(case)
    if not cases:
        raise TaskevalError(f"{path}: the benchmark has no cases")
    return cases


def limit_cases(cases: list[Case], limit: int | None, seed: int) -> list[Case]:
    """A seeded sample of `limit` cases, kept in file order (all cases when limit is None or large enough)."""
    if limit is None or limit >= len(cases):
        return cases
    chosen = set(random.Random(seed).sample(range(len(cases)), limit))
    return [case for index, case in enumerate(cases) if index in chosen]


def benchmark_fingerprint(cases: list[Case]) -> str:
    """SHA-256 of the cases' canonical content (ids, inputs, expected outputs), not of the file's bytes."""
    canonical = [[case.id, case.input, compact_json(case.expected)] for case in cases]
    return sha256_hex(compact_json(canonical))
