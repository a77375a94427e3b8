"""The fixed vocabularies of a run: stage names, stage statuses, decisions and gate types. Each is a `str` enum,
so it compares equal to its text and is written to JSON as that text (the names users and reports rely on)."""

from __future__ import annotations

from enum import Enum


class Stage(str, Enum):
    """The stages, in the order a run goes through them."""

    AUTOMATED_METRICS = "automated_metrics"
    LLM_JUDGE = "llm_judge"
    SAFETY = "safety"
    LATENCY = "latency"
    REGRESSION_COMPARISON = "regression_comparison"
    AGGREGATION = "aggregation"
    QUALITY_GATES = "quality_gates"

    def __str__(self) -> str:
        return self.value


class Status(str, Enum):
    """How a stage ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


class Decision(str, Enum):
    """The verdict: exit 0, 1 and 2."""

    DEPLOY = "DEPLOY"
    BLOCK = "BLOCK"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value


class GateType(str, Enum):
    """Whether a failed gate blocks the deployment or only warns."""

    BLOCKING = "blocking"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value
