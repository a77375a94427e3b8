"""Baseline files: reading both shapes, clear errors, and writing only after a DEPLOY."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.core.errors import TaskevalError
from evaluator.inputs.baseline import BASELINE_VERSION, load_baseline
from tests.helpers import EXAMPLES, ROOT, benchmark_rows, redteam_predictions, write_jsonl

SHIPPED = EXAMPLES / "baselines" / "task-api-v1.json"


@pytest.fixture(autouse=True)
def in_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "baseline.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_the_shipped_baseline_is_paired_and_complete() -> None:
    baseline = load_baseline(SHIPPED)
    assert baseline.cases is not None and len(baseline.cases) == 500
    assert baseline.metrics["accuracy"].n == 500
    assert set(baseline.fingerprint) >= {"benchmark", "schema", "prompt", "config", "model"}
    assert set(baseline.environment) >= {"device", "dtype", "quantization", "batch_size", "torch", "transformers"}


def test_flat_baseline_of_the_original_design(tmp_path: Path) -> None:
    baseline = load_baseline(write(tmp_path, {"accuracy": 0.87, "json_valid_rate": 0.97}))
    assert baseline.cases is None and not baseline.n_given
    assert baseline.metrics["accuracy"].value == 0.87
    with_n = load_baseline(write(tmp_path, {"accuracy": 0.87, "n": 300}))
    assert with_n.n_given and with_n.metrics["accuracy"].n == 300


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{oops", "not valid JSON"),
        ([1, 2], "must be a JSON object"),
        ({"baseline_version": 99, "metrics": {}, "cases": [], "fingerprint": {}, "environment": {}},
         "unknown baseline_version 99"),
        ({"baseline_version": BASELINE_VERSION, "metrics": {}}, "lacks 'cases', 'fingerprint', 'environment'"),
        ({"accuracy": 0.87, "acuracy_x": 1}, "unknown metric 'acuracy_x'"),
        ({"accuracy": "high"}, "'accuracy' must be a finite number"),
        ({"baseline_version": BASELINE_VERSION, "metrics": {"accuracy": 0.9}, "cases": [], "fingerprint": {},
          "environment": {}}, "metrics.accuracy must be an object"),
    ],
)
def test_bad_baselines_name_the_file_and_problem(tmp_path: Path, data: object, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(TaskevalError, match=message) as raised:
        load_baseline(path)
    assert str(path) in raised.value.message


def test_bad_baseline_exits_2_before_any_generation(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, {"baseline_version": 7})
    code = main(["run", "--model", "tests/models/tiny-v2", "--benchmark", "examples/task_api/benchmark.jsonl",
                 "--baseline", str(path), "--output-dir", str(tmp_path / "out")])
    assert code == 2 and "unknown baseline_version 7" in capsys.readouterr().err


def run_predictions(tmp_path: Path, wrong: int, *extra: str, count: int = 500) -> tuple[int, dict]:
    rows = benchmark_rows(count)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    predictions = write_jsonl(tmp_path / f"p{wrong}.jsonl", [
        {"id": r["id"], "output": "{}" if i < wrong else r["expected_output"]} for i, r in enumerate(rows)]
        + redteam_predictions())
    out = tmp_path / f"out{wrong}"
    code = main(["run", "--benchmark", str(bench), "--predictions", str(predictions), "--config",
                 "examples/config.yaml", "--output-dir", str(out), "--quiet", *extra])
    return code, json.loads((out / "report.json").read_text())


def test_first_run_without_baseline_deploys_and_publishes_one_that_the_next_run_pairs_with(tmp_path: Path) -> None:
    target = tmp_path / "new-baseline.json"
    code, report = run_predictions(tmp_path, 0, "--update-baseline", str(target))
    assert code == 0 and target.exists()
    assert report["stages"][4] == {"name": "regression_comparison", "status": "skipped", "duration_seconds": 0.0,
                                   "metrics": {}, "errors": ["no baseline given"]}
    assert "no_regression" not in {g["name"] for g in report["gates"]}
    written = json.loads(target.read_text())
    assert written["baseline_version"] == BASELINE_VERSION and len(written["cases"]) == 500
    code, again = run_predictions(tmp_path, 0, "--baseline", str(target))
    assert code == 0
    assert again["comparison"]["paired"] is True
    assert {row["label"] for row in again["comparison"]["metrics"]} == {"pass"}
    assert again["metrics"]["accuracy_vs_baseline"]["value"] == 0


def test_a_blocked_run_never_writes_the_baseline(tmp_path: Path) -> None:
    target = tmp_path / "never.json"
    code, _ = run_predictions(tmp_path, 100, "--update-baseline", str(target))
    assert code == 1 and not target.exists()


def test_regression_against_the_baseline_blocks_through_no_regression(tmp_path: Path) -> None:
    target = tmp_path / "b.json"
    run_predictions(tmp_path, 0, "--update-baseline", str(target))
    code, report = run_predictions(tmp_path, 40, "--baseline", str(target))
    gates = {g["name"]: g for g in report["gates"]}
    assert code == 1 and report["metrics"]["accuracy"]["value"] == 0.92  # passes the accuracy gate itself
    assert gates["accuracy"]["passed"] is True
    assert gates["no_regression"]["passed"] is False and gates["no_regression"]["gate_type"] == "blocking"
    accuracy = next(r for r in report["comparison"]["metrics"] if r["metric"] == "accuracy")
    assert (accuracy["b"], accuracy["c"], accuracy["label"]) == (40, 0, "confirmed_regression")
    assert [c["id"] for c in report["comparison"]["flipped_cases"]] == [r["id"] for r in benchmark_rows(40)]
    assert report["metrics"]["accuracy_vs_baseline"]["value"] == pytest.approx(-0.08)


def test_on_inconclusive_warn_blocks_only_confirmed_regressions(tmp_path: Path) -> None:
    target = tmp_path / "b.json"
    run_predictions(tmp_path, 0, "--update-baseline", str(target), count=40)
    config = tmp_path / "warn.yaml"
    config.write_text((EXAMPLES / "config.yaml").read_text().split("quality_gates:")[0]
                      + "regression: {on_inconclusive: warn}\nquality_gates:\n"
                      "  - {name: format, metric: json_valid_rate, threshold: 0.5, comparison: '>='}\n")
    rows = benchmark_rows(40)
    predictions = write_jsonl(tmp_path / "p.jsonl", [
        {"id": r["id"], "output": "{}" if i < 2 else r["expected_output"]} for i, r in enumerate(rows)])
    out = tmp_path / "warn-out"
    code = main(["run", "--benchmark", str(tmp_path / "bench.jsonl"), "--predictions", str(predictions), "--config",
                 str(config), "--baseline", str(target), "--output-dir", str(out), "--quiet"])
    report = json.loads((out / "report.json").read_text())
    gates = {g["name"]: g for g in report["gates"]}
    assert report["comparison"]["metrics"][0]["label"] == "inconclusive"
    assert gates["no_regression"]["metric"] == "confirmed_regressions" and gates["no_regression"]["passed"] is True
    assert gates["no_inconclusive_regression"]["passed"] is False
    assert gates["no_inconclusive_regression"]["gate_type"] == "warning"
    assert code == 0
