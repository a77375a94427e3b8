"""Reading model text as one JSON object (`json_valid_rate`) and comparing JSON strictly."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from evaluator.core.files import MAX_DEPTH, nesting_depth

# The whole output is one fenced block: ``` or ```json, the object, and the closing fence. Anchored at both ends
# so text before or after the fence (an explanation, a second block) makes the output invalid.
FENCE_PATTERN = re.compile(r"\A```(?:json)?[ \t]*\n?(?P<body>.*?)\n?[ \t]*```\Z", re.DOTALL)


@dataclass(frozen=True)
class ParsedOutput:
    """A model output read as JSON."""

    value: dict[str, Any] | None
    """The object, or None when the output is not one valid JSON object."""
    fenced: bool
    """Whether the code-fence allowance was needed."""
    error: str | None
    """Why it is not valid, for the report."""


class _Rejected(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise _Rejected(f"duplicate key '{duplicate}'")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise _Rejected(f"{name} is not valid JSON")


def parse_output(text: str) -> ParsedOutput:
    """One JSON object from model text: whitespace and a single Markdown code fence are tolerated, nothing else."""
    body = text.strip()
    fenced = False
    match = FENCE_PATTERN.match(body)
    if match:
        body, fenced = match.group("body").strip(), True
    if not body:
        return ParsedOutput(None, fenced, "empty output")
    try:
        value = json.loads(body, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except _Rejected as error:
        return ParsedOutput(None, fenced, str(error))
    except json.JSONDecodeError as error:
        return ParsedOutput(None, fenced, f"{error.msg} at character {error.pos}")
    except RecursionError:  # a model may emit any depth: invalid output, never a crash
        return ParsedOutput(None, fenced, f"nested deeper than {MAX_DEPTH} levels")
    if nesting_depth(value) > MAX_DEPTH:
        return ParsedOutput(None, fenced, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, dict):
        return ParsedOutput(None, fenced, f"a JSON {type(value).__name__}, not an object")
    return ParsedOutput(value, fenced, None)


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality with strict types: key order is ignored, `true` ≠ `1`, `"5"` ≠ `5`; 5 and 5.0 are equal."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right))
    return bool(left == right)


def without_fields(value: Any, ignored: tuple[str, ...]) -> Any:
    """A top-level object without the ignored fields (other values unchanged)."""
    if not ignored or not isinstance(value, dict):
        return value
    return {key: item for key, item in value.items() if key not in ignored}
