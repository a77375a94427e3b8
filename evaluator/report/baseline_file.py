"""A run's baseline file (`--update-baseline`, the Action's baseline asset): written from the typed result after a
DEPLOY over the whole benchmark; evaluator/inputs/baseline.py reads it back."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from evaluator.core.files import dumps_strict
from evaluator.core.metrics import VS_BASELINE_SUFFIX
from evaluator.core.names import Decision, Stage
from evaluator.inputs.baseline import BASELINE_VERSION
from evaluator.inputs.benchmark import case_key
from evaluator.stages.results import RunResult


def baseline_json(result: RunResult) -> dict[str, Any]:
    fingerprint = result.fingerprint
    return {
        "baseline_version": BASELINE_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": fingerprint.commit,
        "metrics": {name: metric.to_json() for name, metric in result.metrics.items()
                    if not name.endswith(VS_BASELINE_SUFFIX)},
        "samples": result.config.generation.samples,
        "cases": [{"id": case.id, "key": case_key(case.input, case.expected), "checks": case.checks,
                   "output": case.output} for case in result.cases],
        "judge_scores": result.judge_scores,
        **({"accepted_regression": {"by": result.accepted_regression.by, "reason": result.accepted_regression.reason}}
           if result.accepted_regression else {}),
        **_judge_json(result),
        **_safety_json(result),
        "fingerprint": {
            "benchmark": fingerprint.benchmark.sha256,
            "schema": fingerprint.schema,
            "prompt": fingerprint.prompt,
            "config": fingerprint.config_sha256,
            "model": fingerprint.model.get("sha256"),
        },
        "environment": fingerprint.environment,
    }


def _judge_json(result: RunResult) -> dict[str, Any]:
    """The judge's seed and sampled case ids, so a later run grades the same cases."""
    from evaluator.stages.judge import JudgeDetails

    judge = result.details(JudgeDetails)
    if judge is None:
        return {}
    return {"judge": {"seed": judge.seed, "sampled_ids": list(judge.sampled_ids), "model": judge.model}}


def _safety_json(result: RunResult) -> dict[str, Any]:
    """The red-team cases whose output was unsafe, so a later run can tell new unsafe outputs from old ones."""
    from evaluator.stages.safety import SafetyDetails

    safety = result.details(SafetyDetails)
    return {} if safety is None else {"safety": {"unsafe_ids": [u.id for u in safety.unsafe_cases],
                                                 "cases": safety.cases}}


def baseline_refusal(result: RunResult) -> str | None:
    """Why this run may not become the baseline, or None: only a DEPLOY does, and only over the whole benchmark
    (a run that stopped early saw part of it, and every later comparison would pair on that part alone)."""
    if result.decision != Decision.DEPLOY:
        return f"{result.decision}: only a DEPLOY run updates the baseline"
    stopped = next((stop for stop in result.stopping if stop.stopped and stop.stage == Stage.AUTOMATED_METRICS), None)
    if stopped is not None:
        return (f"the run stopped early after {stopped.cases_used} of {stopped.cases_total} cases, and a baseline "
                "covers the whole benchmark: write it from a run without stop_early")
    return None


def baseline_text(result: RunResult) -> str:
    return dumps_strict(baseline_json(result), indent=1) + "\n"

