"""The values a run produces: stage results and the run result that reports are rendered from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evaluator.gates import GateResult
from evaluator.metrics import MetricValue
from evaluator.scoring import CaseResult

PASSED, FAILED, SKIPPED, ERRORED = "passed", "failed", "skipped", "error"


@dataclass(frozen=True)
class StageResult:
    """One stage of the run."""

    name: str
    """Stage name (`automated_metrics`, `llm_judge`, ...)."""
    status: str
    """`passed`, `failed`, `skipped` or `error`."""
    duration_seconds: float
    """Wall time of the stage."""
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    """The metrics this stage computed."""
    errors: tuple[str, ...] = ()
    """What went wrong, for `error` (and the reason, for `skipped`)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Stage-specific data for the report (breakdowns, counts)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "duration_seconds": round(self.duration_seconds, 3),
            "metrics": {name: m.to_json() for name, m in self.metrics.items()}, "errors": list(self.errors),
            **({"details": self.details} if self.details else {}),
        }


def skipped(name: str, reason: str) -> StageResult:
    return StageResult(name, SKIPPED, 0.0, errors=(reason,))


@dataclass(frozen=True)
class RunResult:
    """Everything a run decided and measured."""

    decision: str
    stages: tuple[StageResult, ...]
    metrics: dict[str, MetricValue]
    gates: tuple[GateResult, ...]
    cases: tuple[CaseResult, ...]
    fingerprint: dict[str, Any]
    config: dict[str, Any]
    warnings: tuple[str, ...] = ()
    started_at: str = ""
    duration_seconds: float = 0.0
    judge_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    """Case id → the judge's normalised scores (criteria and `overall`), for the judged cases."""
    cost: dict[str, float] = field(default_factory=dict)
    """What the run cost (compute at the GPU-hour price, judge), when prices are configured."""

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.name == name), None)
