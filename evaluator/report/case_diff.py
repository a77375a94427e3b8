"""What differs between an expected call and the model's output, field by field, in words a reviewer reads at a
glance (`task_id: 3069 → 306`, `due: missing`), instead of two escaped JSON strings."""

from __future__ import annotations

import json
from typing import Any

from evaluator.core.parsing import parse_output

MAX_FIELDS = 4


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def field_differences(expected: str, output: str) -> str:
    """`key: expected → got` for each differing top-level field (`missing`, `extra`), or why the output is not a
    call at all. Plain text: the caller escapes it for Markdown."""
    parsed = parse_output(output)
    if parsed.value is None:
        snippet = " ".join(output.split())[:60]
        return f"not a JSON object ({parsed.error or 'does not parse'}): {snippet!r}"
    try:
        wanted = json.loads(expected)
    except ValueError:
        return "expected output is not JSON"
    got = parsed.value
    if not isinstance(wanted, dict):
        return f"expected {_show(wanted)}, got {_show(got)}"
    changes = []
    for key in [*wanted, *(k for k in got if k not in wanted)]:
        if key not in got:
            changes.append(f"{key}: missing (expected {_show(wanted[key])})")
        elif key not in wanted:
            changes.append(f"{key}: extra {_show(got[key])}")
        elif got[key] != wanted[key] or type(got[key]) is not type(wanted[key]):
            changes.append(f"{key}: {_show(wanted[key])} → {_show(got[key])}")
    if not changes:
        return "same call (differs only in ignored fields or formatting)"
    more = f"; +{len(changes) - MAX_FIELDS} more" if len(changes) > MAX_FIELDS else ""
    return "; ".join(changes[:MAX_FIELDS]) + more
