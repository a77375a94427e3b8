"""JSON Schemas of report.json and baseline.json, generated from the typed records they are written from (the gate,
the metric value, the fingerprint, the stopping record, the case) and shipped, versioned, in
evaluator/report/schemas/ (`taskeval schema --report`, `--baseline`). A test regenerates them and compares, and
validates the demo's files against them; publish mode reads a report through the same schema and the same types."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from evaluator.core.names import Decision, GateType, Stage, Status
from evaluator.inputs.baseline import BASELINE_VERSION
from evaluator.inputs.config_schema import config_json_schema
from evaluator.report.flaky import FlakyCase
from evaluator.report.writer import REPORT_VERSION
from evaluator.stages.gates import GateResult
from evaluator.stages.results import BenchmarkPrint, EarlyStop

SHIPPED = Path(__file__).resolve().parent / "schemas"
REPORT_SCHEMA = SHIPPED / f"report-{REPORT_VERSION}.schema.json"
BASELINE_SCHEMA = SHIPPED / f"baseline-{BASELINE_VERSION}.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
NUMBER, TEXT, INTEGER = {"type": "number"}, {"type": "string"}, {"type": "integer"}
MAPPING: dict[str, Any] = {"type": "object"}
TEXTS = {"type": "array", "items": TEXT}


def type_schema(annotation: Any) -> dict[str, Any]:
    """The JSON Schema of a field's type, as the record's `to_json` writes it (tuples as arrays, enums as text)."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        schemas = [type_schema(a) for a in arguments if a is not type(None)]
        kinds = [s["type"] for s in schemas if set(s) == {"type"} and isinstance(s["type"], str)]
        nullable = type(None) in arguments
        if len(kinds) == len(schemas):
            return {"type": sorted(set(kinds) | ({"null"} if nullable else set()))}
        return {"anyOf": [*schemas, *([{"type": "null"}] if nullable else [])]}
    if origin in (tuple, list):
        return {"type": "array", "items": type_schema(arguments[0])} if arguments else {"type": "array"}
    if origin is dict or annotation is dict:
        return MAPPING
    if dataclasses.is_dataclass(annotation):
        return record_schema(annotation)
    if isinstance(annotation, type) and issubclass(annotation, str):
        return TEXT
    known = {bool: {"type": "boolean"}, int: INTEGER, float: {"type": "number"}, Any: {}}
    return known.get(annotation, {})


def record_schema(cls: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with one property per field of the record, and no other (every field required: `to_json` writes
    them all), so a reader can build the record from it without a surprise key."""
    hints = typing.get_type_hints(cls)
    properties = {f.name: type_schema(hints[f.name]) for f in dataclasses.fields(cls)}
    properties.update(extra or {})
    return {"type": "object", "required": sorted(properties), "properties": properties, "additionalProperties": False}


def _metric_value() -> dict[str, Any]:
    return {"type": "object", "required": ["value", "n"], "additionalProperties": False,
            "properties": {"value": NUMBER, "n": INTEGER, "ci_low": NUMBER, "ci_high": NUMBER}}


def _fingerprint() -> dict[str, Any]:
    """As `Fingerprint.to_json` groups it: the config's path and digest, and the source, in objects of their own."""
    nullable_text = {"type": ["null", "string"]}
    properties = {
        "model": MAPPING, "benchmark": record_schema(BenchmarkPrint),
        "config": {"type": "object", "required": ["path", "sha256"], "properties": {"path": TEXT, "sha256": TEXT}},
        "schema": nullable_text, "prompt": nullable_text, "environment": MAPPING, "libraries": MAPPING,
        "seed": INTEGER,
        "source": {"type": "object", "required": ["commit", "run_url"],
                   "properties": {"commit": nullable_text, "run_url": nullable_text}},
    }
    return {"type": "object", "required": sorted(properties), "properties": properties}


def _case() -> dict[str, Any]:
    checks = {"type": "object", "additionalProperties": {"type": ["boolean", "number"]}}
    sample = {"type": "object", "required": ["output", "checks"], "properties": {"output": TEXT, "checks": checks}}
    return {"type": "object", "required": ["id", "input", "expected", "output", "checks"],
            "properties": {"id": TEXT, "input": TEXT, "expected": TEXT, "output": TEXT, "checks": checks,
                           "judge": {"type": "object", "additionalProperties": NUMBER}, "judge_reasoning": TEXT,
                           "flaky": {"type": "boolean"}, "samples": {"type": "array", "items": sample,
                                                                      "minItems": 2}}}


def _sampling() -> dict[str, Any]:
    """report.json's `sampling` section (generation.samples above 1)."""
    flaky = record_schema(FlakyCase)
    return {"type": "object", "required": ["samples", "temperature", "top_p", "generation_cost_multiplier",
                                           "flaky_cases", "flaky"],
            "properties": {"samples": {"type": "integer", "minimum": 2}, "temperature": NUMBER, "top_p": NUMBER,
                           "generation_cost_multiplier": INTEGER, "flaky_cases": INTEGER,
                           "flaky": {"type": "array", "items": flaky}}}


def report_schema() -> dict[str, Any]:
    """report.json, version REPORT_VERSION: every run writes the whole of it; an ERROR report the error and the
    empty sections."""
    stage = {"type": "object", "required": ["name", "status", "duration_seconds", "metrics", "errors"],
             "properties": {"name": {"enum": [s.value for s in Stage]}, "status": {"enum": [s.value for s in Status]},
                            "duration_seconds": NUMBER, "metrics": {"type": "object",
                                                                    "additionalProperties": _metric_value()},
                            "errors": TEXTS, "details": MAPPING}}
    gate = record_schema(GateResult, {"blocks": {"type": "boolean"}})
    gate["properties"]["gate_type"] = {"enum": [g.value for g in GateType]}
    full = ["started_at", "duration_seconds", "warnings", "fingerprint", "config"]
    return {
        "$schema": DRAFT, "$id": f"https://taskeval.dev/schemas/report-{REPORT_VERSION}.schema.json",
        "title": f"taskeval report.json, version {REPORT_VERSION}", "type": "object",
        "required": ["report_version", "decision", "metrics", "gates", "stages", "cases"],
        "properties": {
            "report_version": {"const": REPORT_VERSION}, "decision": {"enum": [d.value for d in Decision]},
            "started_at": TEXT, "duration_seconds": NUMBER,
            "metrics": {"type": "object", "additionalProperties": _metric_value()},
            "gates": {"type": "array", "items": gate}, "stages": {"type": "array", "items": stage},
            "warnings": TEXTS, "cases": {"type": "array", "items": _case()}, "fingerprint": _fingerprint(),
            "config": {key: value for key, value in config_json_schema().items() if key not in ("$schema", "title")},
            "comparison": MAPPING, "cost": {"type": "object", "additionalProperties": NUMBER},
            "stopping": {"type": "array", "items": record_schema(EarlyStop)}, "sampling": _sampling(),
            "shards": {"type": "object", "required": ["count", "cases"], "additionalProperties": False,
                       "properties": {"count": {"type": "integer", "minimum": 1},
                                      "cases": {"type": "array", "items": {"type": "integer", "minimum": 0}}}},
            "accepted_regression": {"type": "object", "required": ["by", "reason"],
                                    "properties": {"by": TEXT, "reason": TEXT}},
            "error": {"type": "object", "required": ["message"],
                      "properties": {"message": TEXT, "hint": {"type": ["null", "string"]}}},
        },
        "if": {"properties": {"decision": {"const": Decision.ERROR.value}}},
        "then": {"required": ["error"]},
        "else": {"required": full},
    }


def baseline_schema() -> dict[str, Any]:
    """baseline.json, version BASELINE_VERSION, as evaluator/report/baseline_file.py writes it."""
    nullable_text = {"type": ["null", "string"]}
    case = {"type": "object", "required": ["id", "key", "checks"],  # `output`: kept since baselines store outputs
            "properties": {"id": TEXT, "key": TEXT, "output": TEXT,
                           "checks": {"type": "object", "additionalProperties": {"type": ["boolean", "number"]}}}}
    digests = {"type": "object", "required": ["benchmark", "schema", "prompt", "config", "model"],
               "properties": {key: nullable_text for key in ("benchmark", "schema", "prompt", "config", "model")}}
    return {
        "$schema": DRAFT, "$id": f"https://taskeval.dev/schemas/baseline-{BASELINE_VERSION}.schema.json",
        "title": f"taskeval baseline.json, version {BASELINE_VERSION}", "type": "object",
        "required": ["baseline_version", "created_at", "commit", "metrics", "cases", "judge_scores", "fingerprint",
                     "environment"],
        "properties": {
            "baseline_version": {"const": BASELINE_VERSION}, "created_at": TEXT, "commit": nullable_text,
            "metrics": {"type": "object", "additionalProperties": _metric_value()},
            "cases": {"type": "array", "items": case},
            "judge_scores": {"type": "object", "additionalProperties": {"type": "object",
                                                                        "additionalProperties": NUMBER}},
            "accepted_regression": {"type": "object", "required": ["by", "reason"],
                                    "properties": {"by": TEXT, "reason": TEXT}},
            "judge": {"type": "object", "required": ["seed", "sampled_ids", "model"],
                      "properties": {"seed": INTEGER, "sampled_ids": TEXTS, "model": TEXT}},
            "safety": {"type": "object", "required": ["unsafe_ids", "cases"],
                       "properties": {"unsafe_ids": TEXTS, "cases": INTEGER}},
            "fingerprint": digests, "environment": MAPPING, "samples": {"type": "integer", "minimum": 1},
        },
    }


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, ensure_ascii=False) + "\n"


def shipped(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


if __name__ == "__main__":  # python -m evaluator.report.schemas: write the shipped files again
    SHIPPED.mkdir(exist_ok=True)
    REPORT_SCHEMA.write_text(schema_text(report_schema()), encoding="utf-8")
    BASELINE_SCHEMA.write_text(schema_text(baseline_schema()), encoding="utf-8")
