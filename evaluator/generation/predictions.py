"""The predictions-file backend: score outputs produced elsewhere, without loading a model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import json_rows, read_text
from evaluator.core.hashing import sha256_hex
from evaluator.core.records import BatchCallback, Generation, Request


def _first_few(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _optional_count(row: dict[str, Any], key: str, where: str, integer: bool) -> Any:
    """An optional non-negative number (an integer for token counts): a negative, fractional or non-numeric
    value would pass a gate on a number that was never measured."""
    value = row.get(key)
    if value is None:
        return None
    wanted = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted) or value < 0 or not math.isfinite(value):
        kind = "a non-negative integer" if integer else "a non-negative number"
        raise TaskevalError(f"{where}: '{key}' must be {kind}, got {value!r}", "leave the key out when unknown")
    return value


def _prediction(row: Any, where: str) -> Generation:
    if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("output"), str):
        raise TaskevalError(f"{where}: a prediction needs an 'id' and an 'output' string",
                            'each line is {"id": ..., "output": ...}')
    truncated = row.get("truncated", False)
    if not isinstance(truncated, bool):
        raise TaskevalError(f"{where}: 'truncated' must be true or false, got {truncated!r}")
    return Generation(
        output=row["output"], truncated=truncated,
        prompt_tokens=_optional_count(row, "prompt_tokens", where, integer=True),
        completion_tokens=_optional_count(row, "completion_tokens", where, integer=True),
        latency_ms=_optional_count(row, "latency_ms", where, integer=False),
    )


def load_predictions(
    path: Path, benchmark_ids: Sequence[str], optional_ids: Sequence[str] = ()
) -> dict[str, Generation]:
    """Predictions by case id; every benchmark case must have exactly one, optional ones all or none."""
    text = read_text(path, "predictions file", "--predictions")
    predictions: dict[str, Generation] = {}
    duplicates: list[str] = []
    for where, row in json_rows(path, text, 'each line is {"id": ..., "output": ...}'):
        generation = _prediction(row, where)
        case_id = str(row["id"])
        if case_id in predictions:
            duplicates.append(case_id)
        predictions[case_id] = generation
    known = set(benchmark_ids) | set(optional_ids)
    missing = [i for i in benchmark_ids if i not in predictions]
    optional_given = [i for i in optional_ids if i in predictions]
    if optional_given and len(optional_given) < len(optional_ids):
        missing += [i for i in optional_ids if i not in predictions]
    unknown = [i for i in predictions if i not in known]
    for problem, ids in (("duplicate", duplicates), ("missing", missing), ("unknown", unknown)):
        if ids:
            raise TaskevalError(
                f"{path}: {len(ids)} {problem} prediction id(s): {_first_few(ids)}",
                "every benchmark case needs exactly one prediction with the case's id",
            )
    return predictions


class PredictionsBackend:
    """Outputs read from a JSONL file of {"id", "output"} (optional latency_ms, prompt_tokens, completion_tokens).

    Every benchmark case needs a prediction; red-team ids (`optional_ids`) may be there too, all or none."""

    runs_model = False

    def __init__(self, path: Path, benchmark_ids: Sequence[str], optional_ids: Sequence[str] = ()) -> None:
        self.path = path
        self.description = f"predictions file {path}"
        self._predictions = load_predictions(path, benchmark_ids, optional_ids)
        self._digest = sha256_hex(read_text(path, "predictions file", "--predictions"))

    def fingerprint(self) -> dict[str, object]:
        return {"backend": "predictions", "path": str(self.path), "sha256": self._digest}

    def covers(self, requests: Sequence[Request]) -> bool:
        return all(r.id in self._predictions for r in requests)

    def cache_key(self) -> None:
        return None

    def generate(self, cases: Sequence[Request], on_batch: BatchCallback | None = None) -> list[Generation]:
        generations = [self._predictions[case.id] for case in cases]
        if on_batch is not None:
            on_batch(list(zip(cases, generations)))
        return generations

