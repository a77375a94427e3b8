"""The fixed vocabularies of a run: stage names, stage statuses, decisions, gate types, what a gate compares, what an
inconclusive comparison does and a comparison's label. Each is a `str` enum,
so it compares equal to its text and is written to JSON as that text (the names users and reports rely on)."""

from __future__ import annotations

from enum import Enum


class _Text(str, Enum):
    """An enum whose members print as their text."""

    def __str__(self) -> str:
        return str(self.value)


class Stage(_Text):
    """The stages, in the order a run goes through them."""

    AUTOMATED_METRICS = "automated_metrics"
    LLM_JUDGE = "llm_judge"
    SAFETY = "safety"
    LATENCY = "latency"
    REGRESSION_COMPARISON = "regression_comparison"
    AGGREGATION = "aggregation"
    QUALITY_GATES = "quality_gates"


class Status(_Text):
    """How a stage ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


class Decision(_Text):
    """The verdict: exit 0, 1 and 2."""

    DEPLOY = "DEPLOY"
    BLOCK = "BLOCK"
    ERROR = "ERROR"


class Require(_Text):
    """Which number a gate compares: the metric's value, or one end of its interval."""

    VALUE = "value"
    LOWER_BOUND = "lower_bound"
    UPPER_BOUND = "upper_bound"


class OnInconclusive(_Text):
    """What an inconclusive comparison does: block (`regression_failures` counts it) or only warn."""

    BLOCK = "block"
    WARN = "warn"


class Label(_Text):
    """A compared metric's verdict against production."""

    PASS = "pass"
    CONFIRMED = "confirmed_regression"
    INCONCLUSIVE = "inconclusive"


class GateType(_Text):
    """Whether a failed gate blocks the deployment or only warns."""

    BLOCKING = "blocking"
    WARNING = "warning"
