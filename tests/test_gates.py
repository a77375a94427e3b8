import pytest

from evaluator.core.metrics import MetricValue
from evaluator.inputs.config import GateConfig
from evaluator.stages.gates import BLOCK, DEPLOY, decide, evaluate_gate

METRICS = {
    "accuracy": MetricValue("accuracy", 0.86, 500, 0.827, 0.889),
    "harmful_rate": MetricValue("harmful_rate", 0.05, 200, 0.027, 0.09),
    "tokens_per_request": MetricValue("tokens_per_request", 44.0, 500),
}


def gate(metric: str = "accuracy", threshold: float = 0.85, comparison: str = "greater_equal",
         gate_type: str = "blocking", require: str = "value") -> GateConfig:
    return GateConfig(name="g", metric=metric, threshold=threshold, comparison=comparison, gate_type=gate_type,
                      require=require)


@pytest.mark.parametrize(
    ("comparison", "threshold", "expected"),
    [
        ("greater_equal", 0.86, True), ("greater_equal", 0.861, False), (">=", 0.86, True),
        ("greater_than", 0.86, False), ("greater_than", 0.859, True), (">", 0.86, False),
        ("less_than", 0.86, False), ("less_than", 0.861, True), ("<", 0.861, True),
        ("less_equal", 0.86, True), ("less_equal", 0.859, False), ("<=", 0.86, True),
        ("equal", 0.86, True), ("equal", 0.85, False), ("==", 0.86, True),
    ],
)
def test_every_comparison_at_its_boundary(comparison: str, threshold: float, expected: bool) -> None:
    result = evaluate_gate(gate(comparison=comparison, threshold=threshold), METRICS, {})
    assert result.passed is expected
    assert result.margin == pytest.approx(0.86 - threshold)


def test_lower_bound_requirement_uses_the_interval() -> None:
    assert evaluate_gate(gate(threshold=0.85), METRICS, {}).passed is True
    strict = evaluate_gate(gate(threshold=0.85, require="lower_bound"), METRICS, {})
    assert strict.passed is False and "the lower end of its 95% interval" in strict.explanation


def test_upper_bound_requirement_for_a_lower_is_better_metric() -> None:
    assert evaluate_gate(gate("harmful_rate", 0.10, "less_than", require="upper_bound"), METRICS, {}).passed is True
    assert evaluate_gate(gate("harmful_rate", 0.05, "less_than"), METRICS, {}).passed is False


def test_bound_of_a_metric_without_interval_is_not_evaluated() -> None:
    result = evaluate_gate(gate("tokens_per_request", 50, "less_than", require="upper_bound"), METRICS, {})
    assert result.passed is None


def test_absent_metric_blocks_a_blocking_gate_and_warns_a_warning_gate() -> None:
    blocking = evaluate_gate(gate("harmful_rate", 0.05, "less_than"), {}, {"harmful_rate": "no safety.suite"})
    assert blocking.passed is None and blocking.blocks
    assert "no safety.suite" in blocking.explanation and "blocks" in blocking.explanation
    warning = evaluate_gate(gate("harmful_rate", 0.05, "less_than", gate_type="warning"), {}, {})
    assert warning.passed is None and not warning.blocks
    assert decide([warning]) == BLOCK  # no blocking gate passed: no evidence for DEPLOY
    assert decide([blocking, warning]) == BLOCK


def test_failed_warning_does_not_block_and_failed_blocking_does() -> None:
    failed_warning = evaluate_gate(gate(threshold=0.9, gate_type="warning"), METRICS, {})
    passed_blocking = evaluate_gate(gate(threshold=0.5), METRICS, {})
    assert failed_warning.passed is False and decide([passed_blocking, failed_warning]) == DEPLOY
    failed_blocking = evaluate_gate(gate(threshold=0.9), METRICS, {})
    assert decide([failed_blocking, failed_warning]) == BLOCK
    assert decide([]) == BLOCK and decide([failed_warning]) == BLOCK


def test_a_missed_share_is_said_in_points_and_a_count_as_a_number() -> None:
    from evaluator.stages.gates import shortfall

    measured = {"accuracy": MetricValue("accuracy", 0.776, 500)}
    assert "(off by 7.4 points)" in evaluate_gate(gate(threshold=0.85), measured, {}).explanation
    assert shortfall("latency_p95_ms", -11960.0) == "11,960" and shortfall("harmful_rate", 0.02) == "2.0 points"
