"""report.json's and baseline.json's JSON Schemas: generated from the typed records, shipped versioned in the
package, and the demo's files conform (real jsonschema validation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.core.json_checks import validation_errors
from evaluator.report.schemas import (
    BASELINE_SCHEMA,
    REPORT_SCHEMA,
    baseline_schema,
    report_schema,
    schema_text,
    shipped,
)
from evaluator.report.writer import write_error_reports
from tests.helpers import EXAMPLES, ROOT, benchmark_rows, redteam_predictions, write_jsonl


def test_the_shipped_schemas_are_the_generated_ones() -> None:
    """`python -m evaluator.report.schemas` writes them; a record that changes without them fails here."""
    assert REPORT_SCHEMA.read_text(encoding="utf-8") == schema_text(report_schema())
    assert BASELINE_SCHEMA.read_text(encoding="utf-8") == schema_text(baseline_schema())
    assert REPORT_SCHEMA.name == "report-1.2.schema.json" and BASELINE_SCHEMA.name == "baseline-1.schema.json"


def test_the_demo_files_conform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rows = benchmark_rows(500)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    predictions = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": r["expected_output"]} for r in rows]
                              + redteam_predictions())
    args = ["run", "--benchmark", str(bench), "--predictions", str(predictions), "--config",
            str(EXAMPLES / "config.yaml"), "--quiet", "--no-cache"]
    assert main([*args, "--output-dir", str(tmp_path / "a"), "--baseline",
                 str(EXAMPLES / "baselines" / "task-api-v1.json"), "--update-baseline",
                 str(tmp_path / "baseline.json")]) == 0
    assert main([*args, "--output-dir", str(tmp_path / "b"), "--stop-early"]) == 0
    write_error_reports("the config file was not found", "give --config an existing file", tmp_path / "c")
    report, baseline = shipped(REPORT_SCHEMA), shipped(BASELINE_SCHEMA)
    for folder in "abc":
        data = json.loads((tmp_path / folder / "report.json").read_text())
        assert validation_errors(data, report) == [], folder
    assert json.loads((tmp_path / "c" / "report.json").read_text())["decision"] == "ERROR"
    assert validation_errors(json.loads((tmp_path / "baseline.json").read_text()), baseline) == []
    assert validation_errors(json.loads((EXAMPLES / "baselines" / "task-api-v1.json").read_text()), baseline) == []


def test_a_report_that_breaks_the_schema_is_named_where() -> None:
    data = json.loads(json.dumps({"report_version": "1.2", "decision": "DEPLOY", "metrics": {}, "stages": [],
                                  "cases": [], "gates": [{"name": "g", "passed": "yes"}]}))
    problems = validation_errors(data, shipped(REPORT_SCHEMA), limit=20)
    assert any(p.startswith("gates[0].passed: 'yes' is not of type") for p in problems)
    assert any(p.startswith("(the top level): 'fingerprint' is a required property") for p in problems)


def test_taskeval_schema_prints_the_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--report"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "taskeval report.json, version 1.2"
    assert main(["schema", "--baseline"]) == 0
    assert json.loads(capsys.readouterr().out) == shipped(BASELINE_SCHEMA)


def test_a_record_with_a_key_its_type_does_not_have_is_refused_by_the_schema_not_by_a_crash() -> None:
    """Publish mode builds the records from a fork's report: an extra key must be a named schema error."""
    from evaluator.stages.results import Fingerprint

    fingerprint = Fingerprint().to_json()
    fingerprint["benchmark"]["injected"] = 1
    data = {"report_version": "1.2", "decision": "BLOCK", "metrics": {}, "stages": [], "cases": [], "gates": [],
            "started_at": "", "duration_seconds": 0, "warnings": [], "fingerprint": fingerprint, "config": {}}
    problems = validation_errors(data, shipped(REPORT_SCHEMA), limit=20)
    assert any(p.startswith("fingerprint.benchmark: Additional properties are not allowed") for p in problems)
