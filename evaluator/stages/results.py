"""The values a run produces: stage results (each stage's details a typed, frozen value of its own) and the run
result that reports are rendered from. They become JSON in one place, evaluator/report/writer.py."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from evaluator.core.metrics import MetricValue
from evaluator.core.names import Decision, Stage, Status
from evaluator.inputs.config import Config
from evaluator.stages.gates import GateResult
from evaluator.stages.scoring import CaseResult

PASSED, FAILED, SKIPPED, ERRORED = Status.PASSED, Status.FAILED, Status.SKIPPED, Status.ERROR


@dataclass(frozen=True)
class Details:
    """What a stage reports beyond its metrics; each stage defines its own frozen subclass."""


D = TypeVar("D", bound=Details)


@dataclass(frozen=True)
class StageResult:
    """One stage of the run."""

    name: Stage
    """Which stage."""
    status: Status
    """passed, failed, skipped or error."""
    duration_seconds: float
    """Wall time of the stage."""
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    """The metrics this stage computed."""
    errors: tuple[str, ...] = ()
    """What went wrong, for `error` (and the reason, for `skipped`)."""
    details: Details | None = None
    """The stage's own typed details (breakdowns, counts), when it has any."""


def skipped(name: Stage, reason: str) -> StageResult:
    return StageResult(name, SKIPPED, 0.0, errors=(reason,))


@dataclass(frozen=True)
class AcceptedRegression:
    """A drop against production that a person accepted on purpose (README, "Accepting a regression"): the
    comparison's gate only warns for this run, and the report and the next baseline keep who and why."""

    by: str
    """Who accepted it (the workflow's actor, or the person at the command line)."""
    reason: str
    """Why, in their words."""


@dataclass(frozen=True)
class EarlyStop:
    """What stop_early did in one stage (report.json's `stopping`): docs/statistics.md, "Stopping early"."""

    stage: str
    """`automated_metrics` (cases generated) or `llm_judge` (sampled cases judged)."""
    cases_used: int
    cases_total: int
    stopped: bool
    """Whether the run stopped before its last case."""
    reason: str
    """In words, with the bounds that settled it."""
    settled: tuple[str, ...]
    unsettled: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "cases_used": self.cases_used, "cases_total": self.cases_total,
                "stopped": self.stopped, "reason": self.reason, "settled": list(self.settled),
                "unsettled": list(self.unsettled)}


@dataclass(frozen=True)
class BenchmarkPrint:
    """Which benchmark: its path, the digest of its cases' content, how many this run evaluated, of how many."""

    path: str = ""
    sha256: str = ""
    cases: int = 0
    total_cases: int = 0


@dataclass(frozen=True)
class Fingerprint:
    """What was evaluated, how and on what (report.json's `fingerprint`); the baseline keeps its digests, and a
    later comparison names each difference."""

    model: dict[str, Any] = field(default_factory=dict)
    """The backend's own account: path, sha256, device, dtype, quantization, batch size… (it varies by backend)."""
    benchmark: BenchmarkPrint = field(default_factory=BenchmarkPrint)
    config_path: str = ""
    config_sha256: str = ""
    schema: str | None = None
    """Digest of the JSON Schema file, when one is configured."""
    prompt: str | None = None
    """Digest of the prompt template and system prompt."""
    environment: dict[str, Any] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    commit: str | None = None
    run_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "benchmark": dataclasses.asdict(self.benchmark),
            "config": {"path": self.config_path, "sha256": self.config_sha256}, "schema": self.schema,
            "prompt": self.prompt, "environment": self.environment, "libraries": self.libraries, "seed": self.seed,
            "source": {"commit": self.commit, "run_url": self.run_url},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        """Read back what `to_json` wrote (report.json's schema has checked the shape)."""
        config, source = data.get("config") or {}, data.get("source") or {}
        return cls(model=data.get("model") or {}, benchmark=BenchmarkPrint(**(data.get("benchmark") or {})),
                   config_path=config.get("path", ""), config_sha256=config.get("sha256", ""),
                   schema=data.get("schema"), prompt=data.get("prompt"), environment=data.get("environment") or {},
                   libraries=data.get("libraries") or {}, seed=data.get("seed", 0), commit=source.get("commit"),
                   run_url=source.get("run_url"))


@dataclass(frozen=True)
class RunResult:
    """Everything a run decided and measured."""

    decision: Decision
    stages: tuple[StageResult, ...]
    metrics: dict[str, MetricValue]
    gates: tuple[GateResult, ...]
    cases: tuple[CaseResult, ...]
    fingerprint: Fingerprint
    config: Config
    warnings: tuple[str, ...] = ()
    started_at: str = ""
    duration_seconds: float = 0.0
    judge_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    """Case id → the judge's normalised scores (criteria and `overall`), for the judged cases."""
    judge_reasoning: dict[str, str] = field(default_factory=dict)
    """Case id → the judge's reasoning, for the judged cases."""
    cost: dict[str, float] = field(default_factory=dict)
    """What the run cost (compute at the GPU-hour price, judge), when prices are configured."""
    accepted_regression: AcceptedRegression | None = None
    """A regression against production accepted on purpose for this run, by whom and why."""
    stopping: tuple[EarlyStop, ...] = ()
    """With stop_early: where stage 1 and the judge stopped, and why."""
    shards: tuple[int, ...] = ()
    """Merged from shard records (`taskeval gate`): the cases of each shard, in shard order; empty for one run."""

    def stage(self, name: Stage) -> StageResult | None:
        return next((s for s in self.stages if s.name == name), None)

    def details(self, kind: type[D]) -> D | None:
        """The details of the stage that reports `kind`, when that stage ran and reported them."""
        return next((s.details for s in self.stages if isinstance(s.details, kind)), None)
