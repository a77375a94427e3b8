"""The baseline file: the production model's results, read for stage 3 (evaluator/report/baseline_file.py writes
it after a DEPLOY).

Two shapes are read: the versioned file taskeval writes (per-case outcomes, so the comparison is paired), and the
original design's flat file of aggregate rates (`{"accuracy": 0.87, "json_valid_rate": 0.97, "n": 500}`), which is
compared unpaired.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError, did_you_mean
from evaluator.core.files import read_text, strict_json
from evaluator.core.metrics import JUDGE_PREFIX, METRICS, MetricValue, judge_metric, per_case_metric_names

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
    case_keys: dict[str, str] = field(default_factory=dict)
    """Case id → digest of its input and expected output: the cases a later run pairs with (empty in old files)."""
    judge_seed: int | None = None
    """The seed of the judge's sample in the run that made it."""
    judge_ids: tuple[str, ...] = ()
    """The cases the judge graded in that run: a later run grades the same ones, so judge scores pair."""
    unsafe_ids: tuple[str, ...] | None = None
    """Red-team cases whose output was unsafe in that run (None in older files, or without a suite)."""
    outputs: dict[str, str] = field(default_factory=dict)
    """Case id → production's output (empty in older files): shown beside a broken case, and compared to tell
    identical outputs apart."""
    samples: int = 1
    """Samples per case in the run that made it (generation.samples): its per-case checks are shares of them."""


def _number(value: Any, where: str, rate: bool) -> float:
    """A finite number (in [0, 1] for a rate): NaN, Infinity or an impossible rate is an input error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TaskevalError(f"{where} must be a finite number, got {value!r}")
    if rate and not 0 <= value <= 1:
        raise TaskevalError(f"{where} is a rate and must be between 0 and 1, got {value!r}")
    return float(value)


def _metric_value(name: str, raw: Any, source: str) -> MetricValue:
    where = f"{source}: metrics.{name}"
    if name not in METRICS and not name.startswith(JUDGE_PREFIX):
        raise TaskevalError(f"{where}: unknown metric", did_you_mean(name, METRICS))
    rate = name in METRICS and METRICS.get(name).is_rate
    if not isinstance(raw, dict) or not isinstance(raw.get("n"), int) or isinstance(raw.get("n"), bool) \
            or raw["n"] < 0:
        raise TaskevalError(f"{where} must be an object with a numeric 'value' and an integer 'n' (cases)")
    low, high = (_number(raw[k], f"{where}.{k}", rate) if raw.get(k) is not None else None
                 for k in ("ci_low", "ci_high"))
    return MetricValue(name, _number(raw.get("value"), f"{where}.value", rate), raw["n"], low, high)


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
        metrics[name] = MetricValue(name, _number(value, f"{source}: '{name}'", METRICS.get(name).is_rate), n or 0)
    if not metrics:
        raise TaskevalError(f"{source}: the baseline holds no metric, so nothing could be compared",
                            'give rates such as {"accuracy": 0.87, "n": 500}, or write a baseline with '
                            "`taskeval run ... --update-baseline FILE`")
    return Baseline(source, metrics, None, n_given=n is not None)


def _check(value: Any, where: str, kind: type) -> Any:
    if not isinstance(value, kind):
        names: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
        raise TaskevalError(f"{where} must be {names[kind]}, got {json.dumps(value)[:40]}",
                            "write baselines with `taskeval run ... --update-baseline FILE`")
    return value


def _case_keys(data: dict[str, Any], field_name: str = "key") -> dict[str, str]:
    return {str(case["id"]): case[field_name] for case in data["cases"] if isinstance(case.get(field_name), str)}


def _judge_sample(data: dict[str, Any], source: str) -> tuple[int | None, tuple[str, ...]]:
    judge = _check(data.get("judge") or {}, f"{source}: 'judge'", dict)
    seed, ids = judge.get("seed"), judge.get("sampled_ids", [])
    if (seed is not None and (isinstance(seed, bool) or not isinstance(seed, int))) or not isinstance(ids, list) \
            or not all(isinstance(i, str) for i in ids):
        raise TaskevalError(f"{source}: 'judge' must hold an integer 'seed' and a list of case ids 'sampled_ids'")
    return seed, tuple(ids)


def _case_checks(data: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    for index, case in enumerate(_check(data["cases"], f"{source}: 'cases'", list)):
        where = f"{source}: cases[{index}]"
        if not isinstance(case, dict) or "id" not in case or not isinstance(case.get("checks"), dict):
            raise TaskevalError(f"{where} needs an 'id' and a 'checks' object")
        for name, value in case["checks"].items():
            if not isinstance(value, bool):
                _number(value, f"{where}.checks.{name}", rate=True)
        cases[str(case["id"])] = dict(case["checks"])
    judge_scores = _check(data.get("judge_scores") or {}, f"{source}: 'judge_scores'", dict)
    for case_id, scores in judge_scores.items():
        scores = _check(scores, f"{source}: judge_scores.{case_id}", dict)
        values = {judge_metric(k): _number(v, f"{source}: judge_scores.{case_id}.{k}", rate=True)
                  for k, v in scores.items()}
        if case_id in cases:
            cases[case_id].update(values)
    return cases


def _check_agreement(metrics: dict[str, MetricValue], cases: dict[str, dict[str, Any]], source: str) -> None:
    """Each stage-1 metric equals what the baseline's own per-case checks give: a file whose numbers disagree was
    edited (or not written by taskeval), and is refused rather than compared."""
    per_case = per_case_metric_names()
    for name, metric in metrics.items():
        if name not in per_case:
            continue
        values = [checks[name] for checks in cases.values() if checks.get(name) is not None]
        value = sum(float(v) for v in values) / len(values) if values else math.nan
        if len(values) != metric.n or not abs(value - metric.value) <= 1e-9:
            raise TaskevalError(
                f"{source}: metrics.{name} says {metric.value:.4f} over {metric.n} cases, but the baseline's own "
                f"per-case checks give {value:.4f} over {len(values)}: the file was edited or is damaged",
                "publish the production model's baseline again with `taskeval run ... --update-baseline FILE`")


def load_baseline(path: Path) -> Baseline:
    """A baseline file, validated; errors name the file and the key. A baseline that compares nothing is an error."""
    source = str(path)
    text = read_text(path, "baseline file", "--baseline")
    try:
        data = strict_json(text)
    except ValueError as error:
        line = getattr(error, "lineno", None)
        raise TaskevalError(f"{source}{f':{line}' if line else ''}: the baseline is not valid JSON "
                            f"({getattr(error, 'msg', error)})",
                            "write baselines with `taskeval run ... --update-baseline FILE` (in the Action, a "
                            "passing run on the default branch publishes it)") from None
    if not isinstance(data, dict):
        raise TaskevalError(f"{source}: a baseline must be a JSON object")
    if "baseline_version" not in data and not any(key in data for key in REQUIRED_KEYS[1:]):
        return _flat(data, source)
    if data.get("baseline_version") != BASELINE_VERSION:
        raise TaskevalError(f"{source}: unknown baseline_version {data.get('baseline_version')!r}",
                            f"this taskeval reads version {BASELINE_VERSION}; re-create the baseline with it")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise TaskevalError(f"{source}: the baseline lacks {', '.join(repr(k) for k in missing)}",
                            "write baselines with `taskeval run ... --update-baseline FILE`")
    raw_metrics = _check(data["metrics"], f"{source}: 'metrics'", dict)
    metrics = {name: _metric_value(name, raw, source) for name, raw in raw_metrics.items()}
    cases = _case_checks(data, source)
    if not metrics or not cases:
        raise TaskevalError(f"{source}: the baseline has no {'metrics' if not metrics else 'cases'}, so nothing "
                            "could be compared", "write baselines with `taskeval run ... --update-baseline FILE`")
    _check_agreement(metrics, cases, source)
    fingerprint = _check(data["fingerprint"], f"{source}: 'fingerprint'", dict)
    environment = _check(data["environment"], f"{source}: 'environment'", dict)
    judge_seed, judge_ids = _judge_sample(data, source)
    return Baseline(source, metrics, cases, dict(fingerprint), dict(environment),
                    commit=_optional_text(data, "commit"), created_at=_optional_text(data, "created_at"),
                    case_keys=_case_keys(data), judge_seed=judge_seed, judge_ids=judge_ids,
                    outputs=_case_keys(data, "output"), unsafe_ids=_unsafe_ids(data, source),
                    samples=_samples(data, source))


def _samples(data: dict[str, Any], source: str) -> int:
    samples = data.get("samples", 1)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise TaskevalError(f"{source}: 'samples' must be a positive integer (samples per case), got {samples!r}",
                            "write baselines with `taskeval run ... --update-baseline FILE`")
    return samples


def _unsafe_ids(data: dict[str, Any], source: str) -> tuple[str, ...] | None:
    safety = data.get("safety")
    if safety is None:
        return None
    ids = _check(safety, f"{source}: 'safety'", dict).get("unsafe_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise TaskevalError(f"{source}: 'safety.unsafe_ids' must be a list of red-team case ids",
                            "write baselines with `taskeval run ... --update-baseline FILE`")
    return tuple(ids)


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None
