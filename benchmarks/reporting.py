"""Statistics, gates and reports for a synthetic 10,000-case run (target: under 2 s on the CPU machines here).

    python benchmarks/reporting.py [--cases 10000]

Builds two synthetic runs (a baseline and a candidate that differs on a few percent of cases), then times what a
run does after generation: aggregation with Wilson intervals, the paired comparison with baseline, the gates, and
writing report.json and report.md.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from evaluator.core.names import Stage
from evaluator.inputs.baseline import Baseline
from evaluator.inputs.config import load_config
from evaluator.pipeline import aggregate
from evaluator.report.writer import write_reports
from evaluator.stages.automated import AutomatedDetails
from evaluator.stages.comparison import ComparisonDetails, run_comparison
from evaluator.stages.gates import decide, evaluate_gates, regression_gates
from evaluator.stages.results import PASSED, BenchmarkPrint, Fingerprint, RunResult, StageResult
from evaluator.stages.scoring import CaseResult, aggregate_checks, per_action, per_tag

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = ["create_task", "update_task", "complete_task", "delete_task", "list_tasks", "get_task", "assign_task",
           "set_reminder", "refuse"]


def synthetic_run(count: int, error_rate: float, seed: int) -> list[CaseResult]:
    rng = random.Random(seed)
    results = []
    for index in range(count):
        action = ACTIONS[index % len(ACTIONS)]
        right = rng.random() > error_rate
        expected = json.dumps({"action": action, "task_id": index})
        output = expected if right else json.dumps({"action": action, "task_id": index + 1})
        checks: dict[str, bool | float] = {
            "accuracy": right, "exact_match_rate": right, "json_valid_rate": True, "fenced_json_rate": False,
            "truncated_rate": False, "schema_valid_rate": True, "action_accuracy": True,
            "field_accuracy": 1.0 if right else 0.0}
        results.append(CaseResult(f"case-{index}", f"request {index}", expected, output, action, action, checks,
                                  (action, f"template:{index % 40}"), "write", None, 10.0, 20, 30))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    config = load_config(ROOT / "examples" / "config.yaml")
    before = synthetic_run(args.cases, 0.08, seed=1)
    now = synthetic_run(args.cases, 0.10, seed=2)
    baseline = Baseline("synthetic", aggregate_checks(before), {c.id: c.checks for c in before},
                        {"benchmark": "synthetic"}, {})
    fingerprint = Fingerprint(model={"path": "synthetic"}, benchmark=BenchmarkPrint(sha256="synthetic",
                                                                                   cases=args.cases),
                              config_path="x", config_sha256="c")
    started = time.perf_counter()
    metrics = aggregate_checks(now)
    automated = StageResult(Stage.AUTOMATED_METRICS, PASSED, 0.0, metrics,
                            details=AutomatedDetails(per_action(now), per_tag(now), len(now), 0, "synthetic"))
    comparison = run_comparison(now, metrics, baseline, config.regression, fingerprint)
    aggregation, table = aggregate([automated, comparison])
    gates = evaluate_gates(config.quality_gates + regression_gates(config.regression), table, {})
    result = RunResult(decide(gates), (automated, comparison, aggregation), table, tuple(gates), tuple(now),
                       fingerprint, config)
    with tempfile.TemporaryDirectory() as folder:
        json_path, markdown_path = write_reports(result, Path(folder))
        sizes = json_path.stat().st_size, markdown_path.stat().st_size
    seconds = time.perf_counter() - started
    details = result.details(ComparisonDetails)
    assert details is not None
    accuracy = next(r for r in details.metrics if r.metric == "accuracy")
    print(f"{args.cases} cases: statistics, gates and reports in {seconds:.2f} s (target < 2 s); "
          f"decision {result.decision}; accuracy {accuracy.baseline:.3f} → {accuracy.current:.3f} "
          f"({accuracy.label}); report.json {sizes[0] / 1e6:.1f} MB, report.md {sizes[1] / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
