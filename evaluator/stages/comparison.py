"""Stage 3: the candidate against the production baseline, metric by metric, as a non-inferiority test
(evaluator/stages/noninferiority.py): which cases pair, which metrics are compared, the flipped cases and the
warnings."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from evaluator.core.metrics import JUDGE_PREFIX, VS_BASELINE_SUFFIX, MetricValue, judge_metric, metric_definition
from evaluator.core.names import Stage
from evaluator.core.stats import cases_for_drop, holm_adjust, min_detectable_drop_mean
from evaluator.inputs.baseline import Baseline
from evaluator.inputs.benchmark import case_key
from evaluator.inputs.config import DEFAULT_REGRESSION_METRICS, RegressionConfig
from evaluator.stages.benchmark_power import cases_for_identical
from evaluator.stages.noninferiority import (
    CONFIRMED,
    PASS,
    MetricComparison,
    MetricTest,
    paired_test,
    points,
    unpaired_rate,
    verdict,
)
from evaluator.stages.results import ERRORED, FAILED, PASSED, Details, Fingerprint, StageResult
from evaluator.stages.scoring import CaseResult

STAGE = Stage.REGRESSION_COMPARISON
ENVIRONMENT_KEYS = ("device", "gpu", "cuda", "dtype", "batch_size", "torch", "transformers")
"""Environment differences worth a warning (quantization has a warning of its own)."""


@dataclass(frozen=True)
class BaselineSource:
    """Where the baseline came from."""

    source: str
    commit: str | None
    created_at: str | None


@dataclass(frozen=True)
class ActionRate:
    """Production's accuracy on one expected action, over the paired cases."""

    cases: int
    accuracy: float


@dataclass(frozen=True)
class FlippedCase:
    """A case whose `accuracy` check changed from the baseline."""

    id: str
    input: str
    expected: str
    output: str
    expected_action: str
    production_output: str | None = None
    """What production answered on this case (baselines written since it was kept)."""


@dataclass(frozen=True)
class ComparisonDetails(Details):
    """Stage 3's account (report.json's `comparison` section)."""

    baseline: BaselineSource
    paired: bool
    paired_cases: int
    alpha: float
    metrics: tuple[MetricComparison, ...]
    per_action_baseline: dict[str, ActionRate]
    flipped_cases: tuple[FlippedCase, ...]
    """Right in the baseline, wrong now."""
    fixed_cases: tuple[FlippedCase, ...]
    warnings: tuple[str, ...]
    not_compared: tuple[str, ...]
    """Metrics named for comparison that could not be compared, with the reason (they leave the counts unmeasured)."""
    unpaired_ids: tuple[str, ...] = ()
    """Cases of this run that match no baseline case (new or changed): production's outcome on them is unknown."""
    identical_outputs: int = 0
    """When every case's output is production's, how many cases (0 otherwise): nothing changed."""
    cases_for_identical: int = 0
    """With identical outputs: the fewest cases at which an unchanged model passes the comparison's margin."""
    production_unsafe: tuple[str, ...] | None = None
    """Red-team cases production's output was unsafe on (None when the baseline does not say): new ones stand out."""
    production_outputs: dict[str, str] | None = None
    """Paired case → production's output, where it differs from this run's (report.html shows them side by side; an
    absent paired case answered the same); None when the baseline keeps no outputs."""


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
                 baseline: Baseline, matched: set[str], alpha: float, anytime: bool = False, means: bool = False
                 ) -> tuple[MetricTest | None, str | None]:
    """The comparison of one metric, or None with the reason it cannot be compared; `anytime`: paired bounds valid
    at any sample size (a run with stop_early); `means`: per-case values are means of several samples."""
    if metric not in metrics:
        return None, f"`{metric}` not compared: this run did not compute it"
    if matched and baseline.cases is not None:
        current, before = _per_case(current_values, baseline.cases, metric, matched)
        if current and (all(isinstance(v, bool) for v in current + before) or len(current) >= 2):
            return paired_test(metric, current, before, alpha, anytime, means), None
    if metric not in baseline.metrics:
        return None, f"`{metric}` not compared: the baseline has no value for it"
    if not metric_definition(metric).is_rate:
        return None, (f"`{metric}` not compared: fewer than 2 cases have it in both runs, and without per-case "
                      "values only rates can be compared")
    old = baseline.metrics[metric]
    if old.n < 1:
        old = MetricValue(metric, old.value, metrics[metric].n)
    return unpaired_rate(metric, metrics[metric], old, alpha), None


def environment_warnings(baseline: Baseline, fingerprint: Fingerprint) -> list[str]:
    """A warning for each fingerprint or environment difference that keeps the pairing but may shift results."""
    warnings = []
    current = fingerprint.environment
    for key in ENVIRONMENT_KEYS:
        if key in baseline.environment and baseline.environment.get(key) != current.get(key):
            warnings.append(f"environment differs from the baseline's: {key} {baseline.environment.get(key)!r} → "
                            f"{current.get(key)!r}")
    was, now_loaded = baseline.environment.get("quantization"), current.get("quantization") or "none"
    if was is not None and was != now_loaded:
        warnings.append(f"production's baseline was measured with quantization '{was}' and this run with "
                        f"'{now_loaded}': quantized weights change outputs, so part of any difference may be the "
                        "quantization alone; compare at the same quantization to judge the model")
    now = {"schema": fingerprint.schema, "prompt": fingerprint.prompt, "config": fingerprint.config_sha256}
    for key, value in now.items():
        if key in baseline.fingerprint and baseline.fingerprint[key] != value:
            warnings.append(f"the {key} differs from the baseline's; results may shift for that reason alone")
    return warnings


def _per_action_baseline(cases: Sequence[CaseResult], baseline: Baseline, matched: set[str]
                         ) -> dict[str, ActionRate]:
    """Production's accuracy per expected action on the paired cases, for the report's per-action table."""
    if baseline.cases is None:
        return {}
    groups: dict[str, list[float]] = {}
    for case in cases:
        before = baseline.cases.get(case.id, {}).get("accuracy")
        if case.id in matched and isinstance(before, (bool, int, float)):
            groups.setdefault(case.expected_action, []).append(float(before))
    return {action: ActionRate(len(v), sum(v) / len(v)) for action, v in groups.items()}


def _flipped(cases: Sequence[CaseResult], baseline: Baseline, matched: set[str], broke: bool
             ) -> tuple[FlippedCase, ...]:
    """The paired cases whose `accuracy` changed: broke (right before, wrong now) or fixed. With several samples
    per case, right means right in most of them: broke is a case right in more than half its samples before and in
    fewer than half now (with one sample, right before and wrong now)."""
    if baseline.cases is None:
        return ()
    rows = []
    for case in (c for c in cases if c.id in matched):
        before = baseline.cases.get(case.id, {}).get("accuracy")
        now = case.checks.get("accuracy")
        if not isinstance(before, (bool, int, float)) or not isinstance(now, (bool, int, float)):
            continue
        was, became = float(before) - 0.5, float(now) - 0.5
        if was * became < 0 and (was > 0) is broke:
            rows.append(FlippedCase(case.id, case.input, case.expected, case.output, case.expected_action,
                                    baseline.outputs.get(case.id)))
    return tuple(rows)


def sampling_warnings(baseline: Baseline, samples: int) -> list[str]:
    """A note when production's baseline took another number of samples per case than this run: the shares pair
    all the same (each estimates the case's chance of being right), with more noise on the side with fewer."""
    if baseline.samples == samples:
        return []
    return [f"production's baseline took {baseline.samples} sample(s) per case and this run {samples}: per-case "
            "shares are compared as means (each estimates a case's chance of being right; the side with fewer "
            "samples is noisier, so the comparison is wider than with equal k)"]


def run_comparison(
    cases: Sequence[CaseResult], metrics: Mapping[str, MetricValue], baseline: Baseline, settings: RegressionConfig,
    fingerprint: Fingerprint, judge_scores: Mapping[str, Mapping[str, float]] | None = None,
    anytime: bool = False, samples: int = 1,
) -> StageResult:
    """Every compared metric against the baseline; `anytime` (stop_early): the paired bounds hold at any sample
    size, in the order the cases were generated; `samples`: this run's samples per case (above 1 on either side,
    per-case shares are compared as means)."""
    started = time.perf_counter()
    matched, warnings = matched_cases(cases, baseline, fingerprint.benchmark.sha256)
    warnings += environment_warnings(baseline, fingerprint) + sampling_warnings(baseline, samples)
    means = max(samples, baseline.samples) > 1
    names, left_out = compared_metric_names(settings, metrics, baseline)
    warnings += left_out
    tests, not_compared = [], []
    current_values = per_case_values(cases, judge_scores or {})
    for metric in names:
        test, reason = _test_metric(metric, current_values, metrics, baseline, matched, settings.alpha, anytime,
                                    means)
        if test is None:
            not_compared.append(str(reason))
        else:
            tests.append(test)
    if not names:
        not_compared.append("no metric could be compared: the baseline and this run share none of "
                            f"{', '.join(DEFAULT_REGRESSION_METRICS)} (name them in regression.metrics)")
    adjusted = holm_adjust([t.p_value for t in tests])
    results = [verdict(t, p, settings.margin(t.metric), settings.alpha)
               for t, p in zip(tests, adjusted)]
    identical = identical_outputs(cases, baseline, matched)
    needed = cases_for_identical(settings.margin("accuracy"), settings.alpha)
    if identical:  # nothing changed: never a regression, and the verdict says why it is still undecided
        results = [replace(r, verdict=f"identical outputs on all {identical} cases; {r.verdict}")
                   if r.label != PASS else r for r in results]
    table = {r.metric + VS_BASELINE_SUFFIX: MetricValue(r.metric + VS_BASELINE_SUFFIX, r.delta, r.cases, r.lower_bound,
                                                        r.upper_bound, 1 - 2 * settings.alpha) for r in results}
    failures = sum(1 for r in results if r.label != PASS)
    n = len(results)
    if not not_compared:  # a metric that could not be compared leaves the counts unmeasured: nothing unmeasured passes
        table["regression_failures"] = MetricValue("regression_failures", failures, n)
        table["confirmed_regressions"] = MetricValue("confirmed_regressions",
                                                     sum(1 for r in results if r.label == CONFIRMED), n)
    warnings += detectability_warnings(results)
    details = ComparisonDetails(
        BaselineSource(baseline.source, baseline.commit, baseline.created_at), bool(matched), len(matched),
        settings.alpha, tuple(results), _per_action_baseline(cases, baseline, matched),
        _flipped(cases, baseline, matched, broke=True), _flipped(cases, baseline, matched, broke=False),
        tuple(warnings), tuple(not_compared), tuple(c.id for c in cases if c.id not in matched), identical,
        needed if identical else 0, baseline.unsafe_ids, _production_outputs(cases, baseline, matched))
    status = ERRORED if not_compared else (PASSED if failures == 0 else FAILED)
    return StageResult(STAGE, status, time.perf_counter() - started, table, errors=tuple(not_compared),
                       details=details)


def _production_outputs(cases: Sequence[CaseResult], baseline: Baseline, matched: set[str]) -> dict[str, str] | None:
    if not baseline.outputs:
        return None
    return {case.id: baseline.outputs[case.id] for case in cases
            if case.id in matched and case.id in baseline.outputs and baseline.outputs[case.id] != case.output}


def identical_outputs(cases: Sequence[CaseResult], baseline: Baseline, matched: set[str]) -> int:
    """How many cases, when every case of this run is paired and its output is production's to the byte; else 0.
    With several samples per case on either side, 0: the first samples alike say nothing of the others."""
    several = baseline.samples > 1 or any(case.samples for case in cases)
    if not cases or len(matched) != len(cases) or not baseline.outputs or several:
        return 0
    same = all(baseline.outputs.get(case.id) == case.output for case in cases)
    return len(cases) if same else 0


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
            warnings.append(f"the {r.cases} cases compared on `{r.metric}` cannot detect a drop of {points(r.margin)} "
                            f"(detectable: {points(r.min_detectable_drop)}); about {needed} cases would")
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
        margin = settings.margin(metric)
        detectable = min_detectable_drop_mean(sd, sample, settings.alpha)
        if margin > 0 and detectable > margin:
            warnings.append(f"the judge sample of {sample} cannot detect a drop of {points(margin)} on `{metric}` "
                            f"(detectable: {points(detectable)}); about "
                            f"{cases_for_drop(sd, margin, settings.alpha)}"
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
