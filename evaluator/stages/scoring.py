"""Stage 1 scoring: deterministic per-case checks, their aggregation into metrics, and the breakdowns.

The per-case checks are defined with their metrics, in evaluator/core/metrics.py (the metric seam).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evaluator.core.metrics import CHECKS, METRICS, CheckInput, MetricValue, per_case_metric_names
from evaluator.core.parsing import ParsedOutput, parse_output
from evaluator.core.records import Case, Generation
from evaluator.core.stats import share_interval, wilson_interval

INVALID = "<invalid>"
NO_ACTION = "<no action>"

@dataclass(frozen=True)
class SampleResult:
    """One of a case's repeated samples (generation.samples), scored: report.json keeps every one."""

    output: str
    produced_action: str
    checks: dict[str, bool | float]
    parse_error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"output": self.output, "produced_action": self.produced_action, "checks": self.checks,
                "parse_error": self.parse_error, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome, as kept in the report. With k samples per case its output, action, tokens and latency
    are the first sample's (the one the judge grades), its checks the share of samples that pass each (a mean for
    field_accuracy), and `samples` holds every sample."""

    id: str
    input: str
    expected: str
    output: str
    expected_action: str
    produced_action: str
    """The output's action, `<invalid>` when it does not parse, `<no action>` when it has none."""
    checks: dict[str, bool | float]
    """Metric name → outcome for this case (a number for field_accuracy); checks that do not apply are absent."""
    tags: tuple[str, ...] = ()
    category: str | None = None
    parse_error: str | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    samples: tuple[SampleResult, ...] = ()
    """Every sample, scored, when generation.samples is above 1 (empty for a single sample)."""

    @property
    def first_checks(self) -> dict[str, bool | float]:
        """The first sample's own checks (with one sample, the case's)."""
        return self.samples[0].checks if self.samples else self.checks

    @property
    def flaky(self) -> bool:
        """Right in some samples and wrong in others."""
        return self.checks.get("flaky_rate") is True

    def to_json(self) -> dict[str, Any]:
        sampled = {"flaky": self.flaky, "samples": [s.to_json() for s in self.samples]} if self.samples else {}
        return {
            "id": self.id, "input": self.input, "expected": self.expected, "output": self.output,
            "expected_action": self.expected_action, "produced_action": self.produced_action, "checks": self.checks,
            "tags": list(self.tags), "category": self.category, "parse_error": self.parse_error,
            "latency_ms": self.latency_ms, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens, **sampled,
        }


def produced_action(parsed: ParsedOutput) -> str:
    if parsed.value is None:
        return INVALID
    action = parsed.value.get("action")
    return action if isinstance(action, str) else NO_ACTION


def score_case(case: Case, generation: Generation, ignore_fields: tuple[str, ...], validator: Any | None) -> CaseResult:
    parsed = parse_output(generation.output)
    context = CheckInput(case, generation, parsed, ignore_fields, validator)
    checks: dict[str, bool | float] = {}
    for name in CHECKS:
        outcome = CHECKS.get(name)(context)
        if outcome is not None:
            checks[name] = outcome
    return CaseResult(
        id=case.id, input=case.input, expected=case.expected_output, output=generation.output,
        expected_action=case.expected_action, produced_action=produced_action(parsed), checks=checks,
        tags=case.tags, category=case.category, parse_error=parsed.error, latency_ms=generation.latency_ms,
        prompt_tokens=generation.prompt_tokens, completion_tokens=generation.completion_tokens,
    )


def score_samples(case: Case, generations: Sequence[Generation], ignore_fields: tuple[str, ...],
                  validator: Any | None) -> CaseResult:
    """A case scored over its samples: each sample's checks, their shares, and whether the samples agree on
    `accuracy` (pass_all_k, pass_any_k, flaky_rate). With one sample the checks are that sample's own."""
    scored = [score_case(case, g, ignore_fields, validator) for g in generations]
    first = scored[0]
    right = [r.checks.get("accuracy") is True for r in scored]
    consistency = {"pass_all_k": all(right), "pass_any_k": any(right), "flaky_rate": any(right) and not all(right)}
    if len(scored) == 1:
        return replace(first, checks={**first.checks, **consistency})
    shares = {name: sum(float(r.checks[name]) for r in scored) / len(scored)
              for name in first.checks if all(name in r.checks for r in scored)}
    samples = tuple(SampleResult(r.output, r.produced_action, r.checks, r.parse_error, r.prompt_tokens,
                                 r.completion_tokens, r.latency_ms) for r in scored)
    return replace(first, checks={**shares, **consistency}, samples=samples)


def samples_per_case(results: Sequence[CaseResult]) -> int:
    """k: how many samples each case was scored on."""
    return max((len(r.samples) for r in results), default=0) or 1


def aggregate_checks(results: Sequence[CaseResult]) -> dict[str, MetricValue]:
    """Rates with Wilson intervals (for shares of k samples, at the trials their spread implies) and means, from the
    per-case checks; a check no case has is absent."""
    metrics: dict[str, MetricValue] = {}
    per_case = samples_per_case(results)
    for name in per_case_metric_names():
        values = [r.checks[name] for r in results if name in r.checks]
        if not values:
            continue
        if METRICS.get(name).is_rate and all(isinstance(v, bool) for v in values):
            hits = sum(1 for v in values if v is True)
            low, high = wilson_interval(hits, len(values))
            metrics[name] = MetricValue(name, hits / len(values), len(values), low, high)
        elif METRICS.get(name).is_rate:
            shares = [float(v) for v in values]
            low, high = share_interval(shares, per_case)
            metrics[name] = MetricValue(name, sum(shares) / len(shares), len(shares), low, high)
        else:
            metrics[name] = MetricValue(name, sum(float(v) for v in values) / len(values), len(values))
    return metrics


def requests_of(results: Sequence[CaseResult]) -> Iterator[CaseResult | SampleResult]:
    """Every generated output: each sample of a case scored on several, else the case itself."""
    for result in results:
        yield from result.samples or (result,)


def token_metrics(
    results: Sequence[CaseResult], price_per_million: float | None, gpu_hour_usd: float | None = None
) -> dict[str, MetricValue]:
    """tokens_per_request (when every case has token counts) and the cost of a request: at the configured price
    per million tokens, or, for a self-hosted model, the GPU-hour price times the measured generation time per case
    (batched, so it reflects throughput)."""
    metrics: dict[str, MetricValue] = {}
    generated = list(requests_of(results))
    totals = [r.prompt_tokens + r.completion_tokens for r in generated
              if r.prompt_tokens is not None and r.completion_tokens is not None]
    if totals and len(totals) == len(generated):
        mean = sum(totals) / len(totals)
        metrics["tokens_per_request"] = MetricValue("tokens_per_request", mean, len(totals))
        if price_per_million is not None:
            metrics["cost_per_request_usd"] = MetricValue("cost_per_request_usd", mean * price_per_million / 1e6,
                                                          len(totals))
    latencies = [r.latency_ms for r in generated if r.latency_ms is not None]
    if gpu_hour_usd is not None and latencies and len(latencies) == len(generated):
        seconds = sum(latencies) / 1000 / len(latencies)
        metrics["cost_per_request_usd"] = MetricValue("cost_per_request_usd", gpu_hour_usd * seconds / 3600,
                                                      len(latencies))
    return metrics


@dataclass(frozen=True)
class GroupStats:
    """Accuracy of a group of cases (an expected action or a tag)."""

    cases: int
    correct: int | float
    """Cases right (with k samples: the sum of their shares right)."""
    accuracy: float
    produced: dict[str, int] = field(default_factory=dict)
    """For an action: how often each action was produced (its row of the confusion matrix)."""

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"cases": self.cases, "correct": self.correct, "accuracy": self.accuracy}
        if self.produced:
            row["produced"] = self.produced
        return row


def _group(results: Sequence[CaseResult], key: Callable[[CaseResult], Sequence[str]]) -> dict[str, list[CaseResult]]:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        for name in key(result):
            groups[name].append(result)
    return dict(sorted(groups.items()))


def _stats(members: list[CaseResult], with_confusion: bool) -> GroupStats:
    shares = [float(r.checks.get("accuracy", False)) for r in members]
    correct = int(sum(shares)) if all(s in (0, 1) for s in shares) else sum(shares)
    produced = dict(Counter(r.produced_action for r in members).most_common()) if with_confusion else {}
    return GroupStats(len(members), correct, correct / len(members), produced)


def per_action(results: Sequence[CaseResult]) -> dict[str, GroupStats]:
    return {a: _stats(m, True) for a, m in _group(results, lambda r: [r.expected_action]).items()}


def per_tag(results: Sequence[CaseResult]) -> dict[str, GroupStats]:
    return {t: _stats(m, False) for t, m in _group(results, lambda r: list(r.tags)).items()}


def score_cases(
    cases: Sequence[Case], generations: Sequence[Sequence[Generation]], ignore_fields: Sequence[str],
    validator: Any | None
) -> list[CaseResult]:
    """Each case scored over its samples (one or more generations per case)."""
    return [score_samples(c, g, tuple(ignore_fields), validator) for c, g in zip(cases, generations)]


def fails(name: str, value: bool | float) -> bool:
    """Whether a case fails a pass/fail check: some sample on the metric's bad side (False for a higher-is-better
    rate, True for a lower-is-better one); a mean such as field_accuracy has no failing cases."""
    definition = METRICS.get(name)
    if not definition.is_rate:
        return False
    share = float(value)
    return share < 1 if definition.direction == "higher" else share > 0


@dataclass(frozen=True)
class FailureDrivers:
    """Where the failing cases of one pass/fail check come from: computed once by stage 1, shown by report.md beside a
    failed gate and kept in report.json."""

    failing: int
    by_action: dict[str, int]
    """Expected action → failing cases, most first."""
    tags: dict[str, int]
    """The three tags (other than the action's own) most failing cases carry."""
    confusions: tuple[tuple[str, str, int], ...]
    """(expected action, produced action, cases): the three most frequent wrong actions."""


def failure_drivers(results: Sequence[CaseResult]) -> dict[str, FailureDrivers]:
    """For each pass/fail check that some case fails: by action, by tag, and the confusions."""
    names = sorted({name for r in results for name, value in r.checks.items() if fails(name, value)})
    drivers = {}
    for name in names:
        failing = [r for r in results if name in r.checks and fails(name, r.checks[name])]
        tags = Counter(t for r in failing for t in r.tags if t != r.expected_action)
        confused = Counter((r.expected_action, r.produced_action) for r in failing
                           if r.produced_action != r.expected_action)
        drivers[name] = FailureDrivers(len(failing), dict(Counter(r.expected_action for r in failing).most_common()),
                                       dict(tags.most_common(3)),
                                       tuple((e, p, n) for (e, p), n in confused.most_common(3)))
    return drivers
