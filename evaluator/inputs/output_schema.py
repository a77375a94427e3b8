"""The JSON Schema the model's outputs are validated against (`metrics.schema`, for schema_valid_rate): loaded and
checked with the other inputs, before any model work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import read_text, strict_json


def schema_validator(schema_path: str | None, config_source: str) -> tuple[Any | None, str | None]:
    """A JSON Schema validator for the configured schema, or (None, why) when none is configured. A configured
    schema that is missing or invalid is an input error: the metric must not silently disappear."""
    if schema_path is None:
        return None, "metrics.schema is not set"
    path = Path(schema_path)
    text = read_text(path, "JSON Schema", f"metrics.schema in {config_source}")
    import jsonschema

    try:
        schema = strict_json(text)
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except json.JSONDecodeError as error:
        raise TaskevalError(f"{path}:{error.lineno}: the JSON Schema is not valid JSON ({error.msg})") from None
    except ValueError as error:
        raise TaskevalError(f"{path}: the JSON Schema is not valid JSON ({error})") from None
    except jsonschema.SchemaError as error:
        raise TaskevalError(f"{path}: not a valid JSON Schema: {error.message}") from None
    return validator_class(schema), None
