"""Stage 3: the candidate against the production baseline, metric by metric, as a non-inferiority test.

Every comparison is made on the "good" scale (a lower-is-better metric is mirrored), so one rule serves every
metric: it passes when the one-sided (1 − α) lower bound of the good-scale change is above −δ. Reported deltas and
bounds are turned back into the metric's own units.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evaluator.baseline import Baseline
from evaluator.benchmark import case_key
from evaluator.config import DEFAULT_REGRESSION_METRICS, RegressionConfig
from evaluator.metrics import JUDGE_PREFIX, MetricValue, judge_metric, metric_definition
from evaluator.results import ERRORED, FAILED, PASSED, StageResult
from evaluator.scoring import CaseResult
from evaluator.stats import (
    PairedTable,
    cases_for_drop,
    holm_adjust,
    mcnemar_midp_worse,
    mean_difference_interval,
    min_detectable_drop_mean,
    min_detectable_drop_paired,
    min_detectable_drop_unpaired,
    newcombe_hybrid_interval,
    sign_test_worse,
    tango_interval,
    two_proportion_z_worse,
    wilcoxon_pratt_worse,
)

STAGE = "regression_comparison"
PASS, CONFIRMED, INCONCLUSIVE = "pass", "confirmed_regression", "inconclusive"
ENVIRONMENT_KEYS = ("device", "gpu", "cuda", "dtype", "quantization", "batch_size", "torch", "transformers")
METHOD_PAIRED_BINARY = "paired: Tango score interval (continuity-corrected), McNemar mid-p"
METHOD_PAIRED_NUMERIC = "paired: t interval with one worst-case case, exact sign test (Wilcoxon-Pratt secondary)"
METHOD_UNPAIRED = "unpaired: Newcombe hybrid score interval, pooled two-proportion z-test"


@dataclass(frozen=True)
class MetricComparison:
    """One compared metric."""

    metric: str
    baseline: float
    current: float
    delta: float
    """current − baseline, in the metric's units."""
    lower_bound: float
    """Lower end of the two-sided (1 − 2α) interval of delta: the one-sided (1 − α) bound."""
    upper_bound: float
    p_value: float
    """One-sided p-value that the candidate is worse."""
    p_adjusted: float
    """Holm-adjusted over every compared metric."""
    label: str
    """`pass`, `confirmed_regression` or `inconclusive`."""
    paired: bool
    margin: float
    """δ: the tolerated drop."""
    verdict: str
    """The label in words, for reviewers."""
    b: int | None = None
    """Paired binary metrics: cases good in the baseline only (regressions)."""
    c: int | None = None
    """Paired binary metrics: cases good in the candidate only (fixes)."""
    min_detectable_drop: float | None = None
    """Smallest drop the benchmark detects with power 0.8 (docs/statistics.md: formula)."""
    cases_needed: int | None = None
    """For an inconclusive verdict: about how many cases would decide it."""
    method: str = ""
    """The interval and the test behind the verdict (docs/statistics.md)."""
    cases: int = 0
    """How many cases were compared (paired: present in both runs)."""
    p_secondary: float | None = None
    """Numeric metrics: the Wilcoxon signed-rank p-value (Pratt's zero handling), for reference."""


@dataclass(frozen=True)
class _Test:
    """A comparison before the Holm step, on the good scale."""

    metric: str
    baseline: float
    current: float
    good_delta: float
    good_low: float
    good_high: float
    p_value: float
    paired: bool
    n: int
    """Cases compared (the candidate's)."""
    b: int | None = None
    c: int | None = None
    min_detectable_drop: float | None = None
    method: str = METHOD_UNPAIRED
    p_secondary: float | None = None


def _orientation(metric: str) -> int:
    return 1 if metric_definition(metric).direction == "higher" else -1


def _paired_binary(metric: str, current: Sequence[bool], baseline: Sequence[bool], alpha: float) -> _Test:
    sign = _orientation(metric)
    good_now = [v if sign > 0 else not v for v in current]
    good_before = [v if sign > 0 else not v for v in baseline]
    pairs = list(zip(good_before, good_now))
    table = PairedTable(a=pairs.count((True, True)), b=pairs.count((True, False)), c=pairs.count((False, True)),
                        d=pairs.count((False, False)))
    low, high = tango_interval(table, 1 - 2 * alpha)
    n = table.n
    return _Test(metric, sum(baseline) / n, sum(current) / n, table.delta, low, high, mcnemar_midp_worse(table),
                 True, n, table.b, table.c, min_detectable_drop_paired(table, alpha), METHOD_PAIRED_BINARY)


NUMERIC_RANGE = 1.0
"""Per-case numbers (judge scores normalised to 0-1, field_accuracy) lie in [0, 1]: a difference is at worst −1."""


def _paired_numeric(metric: str, current: Sequence[float], baseline: Sequence[float], alpha: float) -> _Test:
    sign = _orientation(metric)
    good_now, good_before = [sign * v for v in current], [sign * v for v in baseline]
    delta, low, high = mean_difference_interval(good_before, good_now, 1 - 2 * alpha, worst=-NUMERIC_RANGE)
    padded = [a - b for a, b in zip(good_now, good_before)] + [-NUMERIC_RANGE]
    mean = sum(padded) / len(padded)
    sd = math.sqrt(sum((d - mean) ** 2 for d in padded) / (len(padded) - 1))
    return _Test(metric, sum(baseline) / len(baseline), sum(current) / len(current), delta, low, high,
                 sign_test_worse(good_before, good_now), True, len(current),
                 min_detectable_drop=min_detectable_drop_mean(sd, len(current), alpha, worst=NUMERIC_RANGE),
                 method=METHOD_PAIRED_NUMERIC, p_secondary=wilcoxon_pratt_worse(good_before, good_now))


def paired_test(metric: str, current: Sequence[bool | float], baseline: Sequence[bool | float], alpha: float
                ) -> _Test:
    """The paired comparison of one metric's per-case values: a table of pass/fail (Tango) when every value is
    0 or 1 — booleans, or numbers such as a field_accuracy of 0 or 1 — else the mean difference (t bound)."""
    if all(v in (0, 1) for v in [*current, *baseline]):
        return _paired_binary(metric, [bool(v) for v in current], [bool(v) for v in baseline], alpha)
    return _paired_numeric(metric, [float(v) for v in current], [float(v) for v in baseline], alpha)


def _unpaired_rate(metric: str, current: MetricValue, baseline: MetricValue, alpha: float) -> _Test:
    sign = _orientation(metric)
    n_now, n_before = current.n, baseline.n
    good_now = round((current.value if sign > 0 else 1 - current.value) * n_now)
    good_before = round((baseline.value if sign > 0 else 1 - baseline.value) * n_before)
    low, high = newcombe_hybrid_interval(good_now, n_now, good_before, n_before, 1 - 2 * alpha)
    p_now, p_before = good_now / n_now, good_before / n_before
    return _Test(metric, baseline.value, current.value, p_now - p_before, low, high,
                 two_proportion_z_worse(good_now, n_now, good_before, n_before), False, n_now,
                 min_detectable_drop=min_detectable_drop_unpaired(p_before, n_now, n_before, alpha))


def _points(value: float) -> str:
    return f"{value * 100:.1f} points"


def _margin(value: float) -> str:
    return f"{value * 100:g}-point margin"


def _cases_needed(test: _Test, margin: float) -> int | None:
    """About how many cases would decide an inconclusive verdict: the bound's distance from the estimate shrinks
    as 1/√n, so n' = n · (current distance / distance that decides)². The deciding distance is the room between
    the estimate and −δ (to pass) or, when the estimate is already past −δ, the estimate itself (to confirm)."""
    width = test.good_delta - test.good_low
    room = test.good_delta + margin if test.good_delta > -margin else -test.good_delta
    if width <= 0 or room <= 0:
        return None
    return math.ceil(test.n * (width / room) ** 2)


def _decide(test: _Test, p_adjusted: float, margin: float, alpha: float) -> MetricComparison:
    sign = _orientation(test.metric)
    if test.good_low > -margin:
        label = PASS
        if test.good_delta < 0 and p_adjusted < alpha:
            verdict = f"significant drop of {_points(-test.good_delta)}, within the {_margin(margin)}"
        elif test.good_low > 0:
            verdict = f"improved by {_points(test.good_delta)} (significant)"
        else:
            verdict = f"within the {_margin(margin)}"
        needed = None
    else:
        label = CONFIRMED if p_adjusted < alpha else INCONCLUSIVE
        needed = _cases_needed(test, margin) if label == INCONCLUSIVE else None
        if label == CONFIRMED:
            broke = f" ({test.b} cases broke, {test.c} fixed)" if test.b is not None else ""
            verdict = f"confirmed regression{broke}"
        else:
            verdict = f"inconclusive: cannot rule out a drop of more than {_points(margin)}"
            verdict += f"; about {needed} cases would decide it" if needed else ""
    low, high = (test.good_low, test.good_high) if sign > 0 else (-test.good_high, -test.good_low)
    return MetricComparison(
        metric=test.metric, baseline=test.baseline, current=test.current, delta=sign * test.good_delta,
        lower_bound=low, upper_bound=high, p_value=test.p_value, p_adjusted=p_adjusted, label=label,
        paired=test.paired, margin=margin, verdict=verdict, b=test.b, c=test.c,
        min_detectable_drop=test.min_detectable_drop, cases_needed=needed, method=test.method, cases=test.n,
        p_secondary=test.p_secondary,
    )


def per_case_values(cases: Sequence[CaseResult], judge_scores: Mapping[str, Mapping[str, float]]
                    ) -> dict[str, dict[str, Any]]:
    """Case id → metric → value: the checks, and the judge's normalised scores as `llm_judge_<criterion>`."""
    return {case.id: {**case.checks, **{judge_metric(k): v for k, v in judge_scores.get(case.id, {}).items()}}
            for case in cases}


def _per_case(current_values: Mapping[str, Mapping[str, Any]], baseline_cases: Mapping[str, Mapping[str, Any]],
              metric: str, matched: set[str]) -> tuple[list[Any], list[Any]]:
    """Aligned (current, baseline) per-case values of a metric over the matched cases both runs have it for."""
    current, before = [], []
    for case_id, values in current_values.items():
        if case_id not in matched:
            continue
        old = baseline_cases.get(case_id, {})
        if metric in values and metric in old:
            current.append(values[metric])
            before.append(old[metric])
    return current, before


def _test_metric(metric: str, current_values: Mapping[str, Mapping[str, Any]], metrics: Mapping[str, MetricValue],
                 baseline: Baseline, matched: set[str], alpha: float) -> tuple[_Test | None, str | None]:
    """The comparison of one metric, or None with the reason it cannot be compared."""
    if metric not in metrics:
        return None, f"`{metric}` not compared: this run did not compute it"
    if matched and baseline.cases is not None:
        current, before = _per_case(current_values, baseline.cases, metric, matched)
        if current and (all(isinstance(v, bool) for v in current + before) or len(current) >= 2):
            return paired_test(metric, current, before, alpha), None
    if metric not in baseline.metrics:
        return None, f"`{metric}` not compared: the baseline has no value for it"
    if not metric_definition(metric).is_rate:
        return None, (f"`{metric}` not compared: fewer than 2 cases have it in both runs, and without per-case "
                      "values only rates can be compared")
    old = baseline.metrics[metric]
    if old.n < 1:
        old = MetricValue(metric, old.value, metrics[metric].n)
    return _unpaired_rate(metric, metrics[metric], old, alpha), None


def environment_warnings(baseline: Baseline, fingerprint: Mapping[str, Any]) -> list[str]:
    """A warning for each fingerprint or environment difference that keeps the pairing but may shift results."""
    warnings = []
    current = fingerprint.get("environment", {})
    for key in ENVIRONMENT_KEYS:
        if key in baseline.environment and baseline.environment.get(key) != current.get(key):
            warnings.append(f"environment differs from the baseline's: {key} {baseline.environment.get(key)!r} → "
                            f"{current.get(key)!r}")
    now = {"schema": fingerprint.get("schema"), "prompt": fingerprint.get("prompt"),
           "config": fingerprint.get("config", {}).get("sha256")}
    for key, value in now.items():
        if key in baseline.fingerprint and baseline.fingerprint[key] != value:
            warnings.append(f"the {key} differs from the baseline's; results may shift for that reason alone")
    return warnings


def _per_action_baseline(cases: Sequence[CaseResult], baseline: Baseline, matched: set[str]
                         ) -> dict[str, dict[str, float]]:
    """Production's accuracy per expected action on the paired cases, for the report's per-action table."""
    if baseline.cases is None:
        return {}
    groups: dict[str, list[bool]] = {}
    for case in cases:
        before = baseline.cases.get(case.id, {}).get("accuracy")
        if case.id in matched and isinstance(before, bool):
            groups.setdefault(case.expected_action, []).append(before)
    return {action: {"cases": len(v), "accuracy": sum(v) / len(v)} for action, v in groups.items()}


def _flipped(cases: Sequence[CaseResult], baseline: Baseline, broke: bool) -> list[dict[str, Any]]:
    if baseline.cases is None:
        return []
    rows = []
    for case in cases:
        before = baseline.cases.get(case.id, {}).get("accuracy")
        now = case.checks.get("accuracy")
        if isinstance(before, bool) and isinstance(now, bool) and before != now and before is broke:
            rows.append({"id": case.id, "input": case.input, "expected": case.expected, "output": case.output,
                         "expected_action": case.expected_action})
    return rows


def run_comparison(
    cases: Sequence[CaseResult], metrics: Mapping[str, MetricValue], baseline: Baseline, settings: RegressionConfig,
    fingerprint: Mapping[str, Any], judge_scores: Mapping[str, Mapping[str, float]] | None = None,
) -> StageResult:
    started = time.perf_counter()
    matched, warnings = matched_cases(cases, baseline, fingerprint["benchmark"]["sha256"])
    warnings += environment_warnings(baseline, fingerprint)
    names, left_out = compared_metric_names(settings, metrics, baseline)
    warnings += left_out
    tests, not_compared = [], []
    current_values = per_case_values(cases, judge_scores or {})
    for metric in names:
        test, reason = _test_metric(metric, current_values, metrics, baseline, matched, settings.alpha)
        if test is None:
            not_compared.append(str(reason))
        else:
            tests.append(test)
    if not names:
        not_compared.append("no metric could be compared: the baseline and this run share none of "
                            f"{', '.join(DEFAULT_REGRESSION_METRICS)} (name them in regression.metrics)")
    adjusted = holm_adjust([t.p_value for t in tests])
    default_margin = -settings.threshold
    results = [_decide(t, p, float(settings.margins.get(t.metric, default_margin)), settings.alpha)
               for t, p in zip(tests, adjusted)]
    table = {f"{r.metric}_vs_baseline": MetricValue(f"{r.metric}_vs_baseline", r.delta, r.cases, r.lower_bound,
                                                    r.upper_bound, 1 - 2 * settings.alpha) for r in results}
    failures = sum(1 for r in results if r.label != PASS)
    n = len(results)
    if not not_compared:  # a metric that could not be compared leaves the counts unmeasured: nothing unmeasured passes
        table["regression_failures"] = MetricValue("regression_failures", failures, n)
        table["confirmed_regressions"] = MetricValue("confirmed_regressions",
                                                     sum(1 for r in results if r.label == CONFIRMED), n)
    warnings += detectability_warnings(results)
    details = {
        "baseline": {"source": baseline.source, "commit": baseline.commit, "created_at": baseline.created_at},
        "paired": bool(matched),
        "paired_cases": len(matched),
        "alpha": settings.alpha,
        "metrics": [asdict(r) for r in results],
        "per_action_baseline": _per_action_baseline(cases, baseline, matched),
        "flipped_cases": _flipped(cases, baseline, broke=True),
        "fixed_cases": _flipped(cases, baseline, broke=False),
        "warnings": warnings,
        "not_compared": not_compared,
    }
    status = ERRORED if not_compared else (PASSED if failures == 0 else FAILED)
    return StageResult(STAGE, status, time.perf_counter() - started, table, errors=tuple(not_compared),
                       details=details)


def matched_cases(cases: Sequence[CaseResult], baseline: Baseline, benchmark_digest: str
                  ) -> tuple[set[str], list[str]]:
    """The cases compared paired — those whose id, input and expected output are the baseline's — and warnings.
    A baseline without per-case digests pairs only when the whole benchmark is the same."""
    if baseline.cases is None:
        warnings = ["the baseline holds aggregate rates only: the comparison is unpaired and weaker"]
        if not baseline.n_given:
            warnings.append("the baseline gives no 'n': the candidate's number of cases is assumed")
        return set(), warnings
    if baseline.case_keys:
        matched = {c.id for c in cases if baseline.case_keys.get(c.id) == case_key(c.input, c.expected)}
    else:
        matched = {c.id for c in cases} if baseline.fingerprint.get("benchmark") == benchmark_digest else set()
    if not matched:
        return matched, ["no case matches the baseline's (id, input and expected output): the comparison is "
                         "unpaired and weaker"]
    if len(matched) < len(cases):
        return matched, [f"paired on the {len(matched)} of {len(cases)} cases that match the baseline's; the others "
                         "are new or changed"]
    return matched, []


def detectability_warnings(results: Sequence[MetricComparison]) -> list[str]:
    """A warning for each compared metric whose detectable drop is larger than its margin: a pass there says
    little. MDD shrinks as 1/√n, so about n · (MDD / δ)² cases would detect a drop of δ."""
    warnings = []
    for r in results:
        if r.min_detectable_drop is not None and r.min_detectable_drop > r.margin > 0:
            needed = math.ceil(r.cases * (r.min_detectable_drop / r.margin) ** 2)
            warnings.append(f"the {r.cases} cases compared on `{r.metric}` cannot detect a drop of {_points(r.margin)} "
                            f"(detectable: {_points(r.min_detectable_drop)}); about {needed} cases would")
    return warnings


def planned_judge_warnings(settings: RegressionConfig, baseline: Baseline, sample: int) -> list[str]:
    """Before the run: for each judge metric to be compared, whether a judge sample of `sample` cases can detect a
    drop of its margin, from the spread of the baseline's scores (√2 · their SD for a difference of two runs)."""
    names = settings.metrics if settings.metrics is not None else DEFAULT_REGRESSION_METRICS
    warnings = []
    for metric in (m for m in names if m.startswith(JUDGE_PREFIX)):
        values = [v[metric] for v in (baseline.cases or {}).values() if isinstance(v.get(metric), (int, float))]
        if len(values) < 2 or sample < 1:
            continue
        mean = sum(values) / len(values)
        sd = math.sqrt(2 * sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        margin = float(settings.margins.get(metric, -settings.threshold))
        detectable = min_detectable_drop_mean(sd, sample, settings.alpha, worst=NUMERIC_RANGE)
        if margin > 0 and detectable > margin:
            warnings.append(f"the judge sample of {sample} cannot detect a drop of {_points(margin)} on `{metric}` "
                            f"(detectable: {_points(detectable)}); about "
                            f"{cases_for_drop(sd, margin, settings.alpha, worst=NUMERIC_RANGE)}"
                            " cases would (raise judge.sample_rate or judge.min_samples)")
    return warnings


def compared_metric_names(settings: RegressionConfig, metrics: Mapping[str, MetricValue], baseline: Baseline
                          ) -> tuple[list[str], list[str]]:
    """The metrics to compare, and a note for each default one left out. Metrics named in regression.metrics are
    all compared (one that cannot be is an error); the default set is limited to what both runs measured."""
    if settings.metrics is not None:
        return list(settings.metrics), []
    names, notes = [], []
    for name in DEFAULT_REGRESSION_METRICS:
        if name not in metrics:
            continue
        if name not in baseline.metrics:
            notes.append(f"`{name}` not compared: the baseline has no value for it (name it in regression.metrics "
                         "to require it)")
            continue
        names.append(name)
    return names, notes
