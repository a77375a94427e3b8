"""Stage 5: quality gates — compare named metrics with thresholds and decide DEPLOY or BLOCK.

A gate whose metric (or the bound it requires) is absent is *not evaluated*: it blocks when it is blocking and
warns when it is a warning, with the reason, so a gate can never pass on a number that was not measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaluator.core.gate_comparisons import COMPARISONS
from evaluator.core.metrics import MetricValue, value_range
from evaluator.core.names import Decision, GateType, OnInconclusive, Require
from evaluator.inputs.config import GateConfig, RegressionConfig

if TYPE_CHECKING:
    from evaluator.stages.results import AcceptedRegression

DEPLOY, BLOCK = Decision.DEPLOY, Decision.BLOCK


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate."""

    name: str
    """The gate's name from the configuration."""
    metric: str
    """The metric it reads."""
    comparison: str
    """Canonical comparison name (`greater_equal`, ...)."""
    threshold: float
    """The configured threshold."""
    gate_type: str
    """`blocking` or `warning`."""
    require: str
    """`value`, `lower_bound` or `upper_bound`: which number is compared."""
    actual: float | None
    """The metric's point estimate, or None when it was not computed."""
    ci_low: float | None
    """Lower end of the metric's interval, when it has one."""
    ci_high: float | None
    """Upper end of the metric's interval, when it has one."""
    margin: float | None
    """Compared number minus threshold (positive is on the good side of a ≥ or > gate)."""
    passed: bool | None
    """True, False, or None when the gate could not be evaluated."""
    explanation: str
    """Why it passed, failed or was not evaluated, in words."""
    description: str = ""
    """The gate's description from the configuration."""

    @property
    def is_blocking(self) -> bool:
        return self.gate_type == GateType.BLOCKING

    @property
    def blocks(self) -> bool:
        """A blocking gate that did not pass (failed, or could not be evaluated)."""
        return self.is_blocking and self.passed is not True

    @property
    def warns(self) -> bool:
        """A warning gate that did not pass."""
        return not self.is_blocking and self.passed is not True

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name, "metric": self.metric, "comparison": self.comparison, "threshold": self.threshold,
            "gate_type": self.gate_type, "require": self.require, "actual": self.actual, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "margin": self.margin, "passed": self.passed, "explanation": self.explanation,
            "description": self.description, "blocks": self.blocks,
        }


def shortfall(metric: str, margin: float) -> str:
    """How far a gate missed, in points for a metric that is a share (one unit everywhere a report says it)."""
    if value_range(metric) is not None:
        return f"{abs(margin) * 100:.1f} points"
    return format_value(abs(margin))


def format_value(value: float) -> str:
    """A metric's value as reports show it: whole numbers with thousands separators, never an exponent."""
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def _compared_number(gate: GateConfig, metric: MetricValue) -> float | None:
    if gate.require == Require.LOWER_BOUND:
        return metric.ci_low
    if gate.require == Require.UPPER_BOUND:
        return metric.ci_high
    return metric.value


def evaluate_gate(
    gate: GateConfig, metrics: Mapping[str, MetricValue], absent_reasons: Mapping[str, str]
) -> GateResult:
    """One gate against the metric table. `absent_reasons` says why a metric that is missing was not computed."""
    comparison = COMPARISONS.get(gate.comparison)
    metric = metrics.get(gate.metric)
    base: dict[str, Any] = {
        "name": gate.name, "metric": gate.metric, "comparison": comparison.name, "threshold": gate.threshold,
        "gate_type": gate.gate_type, "require": gate.require, "description": gate.description,
    }
    if metric is None:
        reason = absent_reasons.get(gate.metric, "no stage of this run computes it")
        effect = "blocks the deployment" if gate.gate_type == GateType.BLOCKING else "is only a warning"
        return GateResult(**base, actual=None, ci_low=None, ci_high=None, margin=None, passed=None,
                          explanation=f"not evaluated: `{gate.metric}` was not computed ({reason}); this {effect}")
    compared = _compared_number(gate, metric)
    if compared is None:
        return GateResult(**base, actual=metric.value, ci_low=None, ci_high=None, margin=None, passed=None,
                          explanation=f"not evaluated: `{gate.metric}` has no interval to take the {gate.require} of")
    passed = comparison.test(compared, gate.threshold)
    margin = compared - gate.threshold
    end = {"lower_bound": "lower", "upper_bound": "upper"}.get(gate.require)
    what = f"the {end} end of its {metric.confidence:.0%} interval" if end else ""
    subject = f"`{gate.metric}`{' (' + what + ')' if what else ''} = {format_value(compared)}"
    verdict = "meets" if passed else "does not meet"
    explanation = f"{subject} {verdict} {comparison.symbol} {format_value(gate.threshold)}"
    if not passed and comparison.name != "equal":
        explanation += f" (off by {shortfall(gate.metric, margin)})"
    return GateResult(**base, actual=metric.value, ci_low=metric.ci_low, ci_high=metric.ci_high, margin=margin,
                      passed=passed, explanation=explanation)


def evaluate_gates(
    gates: tuple[GateConfig, ...], metrics: Mapping[str, MetricValue], absent_reasons: Mapping[str, str]
) -> list[GateResult]:
    return [evaluate_gate(gate, metrics, absent_reasons) for gate in gates]


def decide(results: list[GateResult]) -> Decision:
    """DEPLOY needs evidence: at least one blocking gate evaluated and passed, and no blocking gate that failed or
    could not be evaluated (warnings allowed). Anything else is BLOCK."""
    evidence = any(r.is_blocking and r.passed is True for r in results)
    return DEPLOY if evidence and not any(result.blocks for result in results) else BLOCK


def regression_gates(settings: RegressionConfig, accepted: AcceptedRegression | None = None
                     ) -> tuple[GateConfig, ...]:
    """The `no_regression` gate, which exists only when a baseline was loaded (a warning when a regression was
    accepted on purpose)."""
    if accepted is not None:
        return (GateConfig("no_regression", "regression_failures", 0, "less_equal", GateType.WARNING.value,
                           f"every compared metric non-inferior to the baseline (a regression was accepted by "
                           f"{accepted.by}: {accepted.reason})"),)
    if settings.on_inconclusive == OnInconclusive.WARN:
        return (
            GateConfig("no_regression", "confirmed_regressions", 0, "less_equal", settings.gate,
                       "no confirmed regression against the baseline"),
            GateConfig("no_inconclusive_regression", "regression_failures", 0, "less_equal", GateType.WARNING.value,
                       "no compared metric left inconclusive"),
        )
    return (GateConfig("no_regression", "regression_failures", 0, "less_equal", settings.gate,
                       "every compared metric non-inferior to the baseline"),)
