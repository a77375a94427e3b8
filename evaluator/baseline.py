"""The baseline file (SPEC §7): the production model's results, read for stage 3 and written after a DEPLOY.

Two shapes are read: the versioned file taskeval writes (per-case outcomes, so the comparison is paired), and the
original design's flat file of aggregate rates (`{"accuracy": 0.87, "json_valid_rate": 0.97, "n": 500}`), which is
compared unpaired.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evaluator.errors import TaskevalError, did_you_mean
from evaluator.metrics import METRICS, MetricValue, judge_metric
from evaluator.report import write_atomically
from evaluator.results import RunResult

BASELINE_VERSION = 1
REQUIRED_KEYS = ("baseline_version", "metrics", "cases", "fingerprint", "environment")


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline."""

    source: str
    """Where it was read from."""
    metrics: dict[str, MetricValue]
    """Its aggregate metrics."""
    cases: dict[str, dict[str, Any]] | None
    """Case id → checks (metric name → outcome); None for a flat baseline of rates."""
    fingerprint: dict[str, Any] = field(default_factory=dict)
    """Benchmark, schema, prompt, configuration and model digests."""
    environment: dict[str, Any] = field(default_factory=dict)
    """Device, dtype, quantization, batch size and library versions of the run that made it."""
    n_given: bool = True
    """False for a flat baseline without "n" (the candidate's n is assumed)."""
    commit: str | None = None
    created_at: str | None = None


def _metric_value(name: str, raw: Any, source: str) -> MetricValue:
    if isinstance(raw, dict) and isinstance(raw.get("value"), (int, float)) and isinstance(raw.get("n"), int):
        return MetricValue(name, float(raw["value"]), raw["n"], raw.get("ci_low"), raw.get("ci_high"))
    raise TaskevalError(f"{source}: metrics.{name} must be an object with a numeric 'value' and an integer 'n'")


def _flat(data: dict[str, Any], source: str) -> Baseline:
    n = data.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise TaskevalError(f"{source}: 'n' must be a positive integer, got {n!r}")
    metrics = {}
    for name, value in data.items():
        if name == "n":
            continue
        if name not in METRICS:
            raise TaskevalError(f"{source}: unknown metric '{name}' in the flat baseline",
                                did_you_mean(name, METRICS) or "a flat baseline maps metric names to rates, plus 'n'")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TaskevalError(f"{source}: '{name}' must be a number, got {value!r}")
        metrics[name] = MetricValue(name, float(value), n or 0)
    return Baseline(source, metrics, None, n_given=n is not None)


def load_baseline(path: Path) -> Baseline:
    """A baseline file, validated; errors name the file and the problem."""
    source = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskevalError(f"{source}: baseline file not found", "check the path given to --baseline") from None
    except json.JSONDecodeError as error:
        raise TaskevalError(f"{source}:{error.lineno}: the baseline is not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise TaskevalError(f"{source}: a baseline must be a JSON object")
    if "baseline_version" not in data:
        if not any(key in data for key in REQUIRED_KEYS[1:]):
            return _flat(data, source)
    if data.get("baseline_version") != BASELINE_VERSION:
        raise TaskevalError(f"{source}: unknown baseline_version {data.get('baseline_version')!r}",
                            f"this taskeval reads version {BASELINE_VERSION}; re-create the baseline with it")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise TaskevalError(f"{source}: the baseline lacks {', '.join(repr(k) for k in missing)}",
                            "write baselines with `taskeval run ... --update-baseline FILE`")
    if not isinstance(data["metrics"], dict) or not isinstance(data["cases"], list):
        raise TaskevalError(f"{source}: 'metrics' must be an object and 'cases' a list")
    cases: dict[str, dict[str, Any]] = {}
    for index, case in enumerate(data["cases"]):
        if not isinstance(case, dict) or "id" not in case or not isinstance(case.get("checks"), dict):
            raise TaskevalError(f"{source}: cases[{index}] needs an 'id' and a 'checks' object")
        cases[str(case["id"])] = dict(case["checks"])
    judge_scores = data.get("judge_scores") or {}
    if not isinstance(judge_scores, dict):
        raise TaskevalError(f"{source}: 'judge_scores' must be an object of case id → scores")
    for case_id, scores in judge_scores.items():
        if case_id in cases and isinstance(scores, dict):
            cases[case_id].update({judge_metric(name): value for name, value in scores.items()})
    metrics = {name: _metric_value(name, raw, source) for name, raw in data["metrics"].items()}
    return Baseline(source, metrics, cases, dict(data["fingerprint"]), dict(data["environment"]),
                    commit=data.get("commit"), created_at=data.get("created_at"))


def current_commit() -> str | None:
    """The commit being evaluated: GITHUB_SHA in Actions, else the working tree's HEAD, else None."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def baseline_json(result: RunResult) -> dict[str, Any]:
    fingerprint = result.fingerprint
    return {
        "baseline_version": BASELINE_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": current_commit(),
        "metrics": {name: metric.to_json() for name, metric in result.metrics.items()
                    if not name.endswith("_vs_baseline")},
        "cases": [{"id": case.id, "checks": case.checks} for case in result.cases],
        "judge_scores": result.judge_scores,
        "fingerprint": {
            "benchmark": fingerprint["benchmark"]["sha256"],
            "schema": fingerprint.get("schema"),
            "prompt": fingerprint.get("prompt"),
            "config": fingerprint["config"]["sha256"],
            "model": fingerprint["model"].get("sha256"),
        },
        "environment": fingerprint.get("environment", {}),
    }


def write_baseline(result: RunResult, path: Path) -> None:
    write_atomically(path, json.dumps(baseline_json(result), ensure_ascii=False, indent=1) + "\n")
