"""Checking a JSON document against a JSON Schema, with errors a reader can act on (report.json, baseline.json and
shard records are read through their schemas)."""

from __future__ import annotations

from typing import Any


def validation_errors(data: Any, schema: dict[str, Any], limit: int = 3) -> list[str]:
    """Where `data` breaks `schema`, at most `limit` places, each as "key.path: what" (empty when it conforms)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{key_path(e.absolute_path)}: {e.message[:200]}" for e in errors[:limit]]


def key_path(parts: Any) -> str:
    """`gates[0].passed`: where in a JSON document, as a reader would write it."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the top level)"
