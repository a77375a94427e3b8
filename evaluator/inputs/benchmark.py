"""Benchmark cases: loading a JSON array or a JSONL file into validated, immutable cases."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import json_rows, read_text, strict_json
from evaluator.core.hashing import compact_json, sha256_hex
from evaluator.core.records import Case


def _parse_case(row: Any, where: str) -> Case:
    if not isinstance(row, dict):
        raise TaskevalError(f"{where}: a case must be a JSON object, got {type(row).__name__}")
    text = row.get("input")
    if not isinstance(text, str):
        raise TaskevalError(f"{where}: the case has no 'input' string", 'each case needs "input" and "expected_output"')
    if "expected_output" not in row:
        near = next((key for key in ("expected", "output", "answer", "target", "label", "gold", "expected_call")
                     if key in row), None)
        raise TaskevalError(f"{where}: the case has no 'expected_output'" + (f" (found '{near}')" if near else ""),
                            f"did you mean 'expected_output'? rename '{near}' to it" if near else
                            'each case needs "input" and "expected_output"')
    raw = row["expected_output"]
    if isinstance(raw, str):
        try:
            expected = strict_json(raw)
        except ValueError as error:
            raise TaskevalError(f"{where}: 'expected_output' is not valid JSON ({error})",
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
    if isinstance(case_id, bool) or not isinstance(case_id, (str, int)) or str(case_id).strip() == "":
        raise TaskevalError(f"{where}: 'id' must be a non-empty string, got {case_id!r}",
                            "leave 'id' out to have one made from the input")
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TaskevalError(f"{where}: 'tags' must be a list of strings")
    category = row.get("category")
    if category is not None and not isinstance(category, str):
        raise TaskevalError(f"{where}: 'category' must be a string")
    return Case(str(case_id), text, expected_output, expected, action, tuple(tags), category)


def load_benchmark(path: str | Path) -> list[Case]:
    """All cases of a benchmark file, validated; errors name the file and line."""
    path = Path(path)
    text = read_text(path, "benchmark file", "--benchmark")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for where, row in json_rows(path, text, "a benchmark is a JSON array of cases or a JSONL file, one case a line"):
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


def case_key(text: str, expected_output: str) -> str:
    """A case's digest of its input and expected output (canonical JSON), kept per case in the baseline so that a
    later run pairs exactly the cases that did not change."""
    return sha256_hex(compact_json([text, json.loads(expected_output)]))[:16]


def benchmark_fingerprint(cases: list[Case]) -> str:
    """SHA-256 of the cases' canonical content (ids, inputs, expected outputs), not of the file's bytes."""
    canonical = [[case.id, case.input, compact_json(case.expected)] for case in cases]
    return sha256_hex(compact_json(canonical))
