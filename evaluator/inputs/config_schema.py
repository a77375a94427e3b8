"""The configuration's JSON Schema, generated from the dataclasses in evaluator/inputs/config.py (the one definition
of the config), for editors (`taskeval init` writes it beside taskeval.yaml) and `taskeval schema`."""

from __future__ import annotations

import dataclasses
from typing import Any

from evaluator.core.gate_comparisons import COMPARISONS
from evaluator.inputs.config import FLAT_ALIASES, SECTIONS, GateConfig
from evaluator.inputs.plugins import BACKENDS, JUDGE_PROVIDERS

JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", dict: "object", list: "array",
              type(None): "null"}


def _field_schema(item: dataclasses.Field[Any], choices: tuple[str, ...]) -> dict[str, Any]:
    types = sorted({JSON_TYPES[t] for t in item.metadata["types"]} - ({"integer"} if float in item.metadata["types"]
                                                                       else set()))
    schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    if choices:
        schema["enum"] = [*choices, *([None] if "null" in types else [])]
    default = item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default
    if default is not dataclasses.MISSING and not isinstance(default, tuple):
        schema["default"] = default
    return schema


def _section_schema(cls: type, choices: dict[str, tuple[str, ...]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    properties = {f.name: _field_schema(f, choices.get(f.name, f.metadata["choices"]))
                  for f in dataclasses.fields(cls)}
    schema = {"type": "object", "description": (cls.__doc__ or "").strip(), "additionalProperties": False,
              "properties": properties}
    return {**schema, "required": list(required)} if required else schema


def config_json_schema() -> dict[str, Any]:
    """The configuration's JSON Schema, generated from the dataclasses above (the one definition of the config),
    for editors and `taskeval schema`. Names that registries own (comparisons, judge providers) come from them."""
    providers = (*JUDGE_PROVIDERS.names(), "none")
    sections = {name: _section_schema(cls, {"provider": providers, "backend": tuple(BACKENDS.names())})
                for name, cls in SECTIONS.items()}
    gate = _section_schema(GateConfig, {"comparison": tuple(COMPARISONS.names())},
                           required=("name", "metric", "threshold", "comparison"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "taskeval configuration",
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {
            **sections,
            "quality_gates": {"type": "array", "items": gate, "description": "Blocking and warning gates; without "
                              "this key, the default gates (json_valid_rate >= 0.95 and accuracy >= 0.85)"},
            "stop_early": {"type": "boolean", "default": False, "description": "Stop generating (and judging) once "
                           "every verdict is settled, with bounds valid at any sample size"},
            **{alias: {"type": "number", "description": f"Alias of {section}.{key}"}
               for alias, (section, key) in FLAT_ALIASES.items()},
        },
    }
