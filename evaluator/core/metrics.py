"""Every metric taskeval can report, defined once with its direction — and, for the per-case metrics of stage 1,
with the check that computes it — and the flat metric value type.

Gates, comparisons and reports read the direction from here; no other module keeps a list of metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from evaluator.core.errors import TaskevalError, did_you_mean
from evaluator.core.names import Stage
from evaluator.core.parsing import ParsedOutput, json_equal, without_fields
from evaluator.core.records import Case, Generation
from evaluator.core.registry import Registry

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricDefinition:
    """A named metric (docs/usage.md, "Metrics of stage 1")."""

    name: str
    """The name users write gates against."""
    direction: Direction
    """Whether a higher or a lower value is better."""
    stage: Stage
    """The stage that computes it."""
    is_rate: bool
    """A share of cases in [0, 1], reported with a 95% Wilson interval."""
    description: str
    """One line for reports and `--help`."""


@dataclass(frozen=True)
class MetricValue:
    """One computed metric: a row of the flat metric table."""

    name: str
    """The metric's name."""
    value: float
    """The point estimate."""
    n: int
    """How many cases it is computed on."""
    ci_low: float | None = None
    """Lower end of the 95% Wilson interval (rates only)."""
    ci_high: float | None = None
    """Upper end of the 95% Wilson interval (rates only)."""
    confidence: float = 0.95
    """The two-sided confidence of ci_low..ci_high (for `<metric>_vs_baseline`: 1 − 2α, 90% by default)."""

    def to_json(self) -> dict[str, object]:
        row: dict[str, object] = {"value": self.value, "n": self.n}
        if self.ci_low is not None and self.ci_high is not None:
            row["ci_low"], row["ci_high"] = self.ci_low, self.ci_high
        return row


METRICS: Registry[MetricDefinition] = Registry("metric")
Check = bool | float | None
"""A per-case outcome: True or False for a rate, a number for a mean, None when the check does not apply."""


@dataclass(frozen=True)
class CheckInput:
    """Everything a per-case check may look at."""

    case: Case
    generation: Generation
    parsed: ParsedOutput
    ignore_fields: tuple[str, ...]
    schema_validator: Any | None


CHECKS: Registry[Callable[[CheckInput], Check]] = Registry("check")
"""Per-case checks by the name of the metric they feed (stage 1 aggregates them)."""


def _define(name: str, direction: Direction, stage: Stage, is_rate: bool, description: str) -> None:
    METRICS.add(name, MetricDefinition(name, direction, stage, is_rate, description))


def per_case_metric(name: str, direction: Direction, is_rate: bool, description: str
                    ) -> Callable[[Callable[[CheckInput], Check]], Callable[[CheckInput], Check]]:
    """Define a stage-1 metric and its per-case check in one place: the decorated function is the check."""
    def register(check: Callable[[CheckInput], Check]) -> Callable[[CheckInput], Check]:
        _define(name, direction, Stage.AUTOMATED_METRICS, is_rate, description)
        return CHECKS.add(name, check)
    return register




@per_case_metric("accuracy", "higher", True, "output equals the expected call as JSON")
def _accuracy(c: CheckInput) -> Check:
    if c.parsed.value is None:
        return False
    return json_equal(without_fields(c.parsed.value, c.ignore_fields), without_fields(c.case.expected, c.ignore_fields))


@per_case_metric("exact_match_rate", "higher", True, "stripped output equals the expected string")
def _exact_match(c: CheckInput) -> Check:
    return c.generation.output.strip() == c.case.expected_output.strip()


@per_case_metric("json_valid_rate", "higher", True, "output parses as one JSON object")
def _json_valid(c: CheckInput) -> Check:
    return c.parsed.value is not None


@per_case_metric("fenced_json_rate", "lower", True, "outputs that needed the code-fence allowance")
def _fenced(c: CheckInput) -> Check:
    return c.parsed.fenced


@per_case_metric("truncated_rate", "lower", True, "outputs cut off by max_new_tokens")
def _truncated(c: CheckInput) -> Check:
    return c.generation.truncated


@per_case_metric("schema_valid_rate", "higher", True, "output validates against the JSON Schema")
def _schema_valid(c: CheckInput) -> Check:
    if c.schema_validator is None:
        return None
    return c.parsed.value is not None and c.schema_validator.is_valid(c.parsed.value)


@per_case_metric("action_accuracy", "higher", True, "output's action equals the expected action")
def _action(c: CheckInput) -> Check:
    return c.parsed.value is not None and c.parsed.value.get("action") == c.case.expected_action


@per_case_metric("field_accuracy", "higher", False, "mean share of argument fields reproduced exactly")
def _fields(c: CheckInput) -> Check:
    expected = c.case.expected if isinstance(c.case.expected, dict) else {}
    fields = [k for k in expected if k != "action" and k not in c.ignore_fields]
    if not fields:
        return None
    if c.parsed.value is None:
        return 0.0
    got = c.parsed.value
    return sum(1 for k in fields if k in got and json_equal(got[k], expected[k])) / len(fields)



CONSISTENCY_METRICS = ("pass_all_k", "pass_any_k", "flaky_rate")
"""Per-case outcomes over a case's k samples (generation.samples) of its `accuracy`, scored beside the checks."""
_define("pass_all_k", "higher", Stage.AUTOMATED_METRICS, True, "cases right in every one of their k samples (pass^k)")
_define("pass_any_k", "higher", Stage.AUTOMATED_METRICS, True, "cases right in at least one of their k samples")
_define("flaky_rate", "lower", Stage.AUTOMATED_METRICS, True, "cases right in some samples and wrong in others")


def per_case_metric_names() -> list[str]:
    """Every metric stage 1 keeps per case: the checks, then the consistency of the samples."""
    return [*CHECKS.names(), *CONSISTENCY_METRICS]


_define("tokens_per_request", "lower", Stage.AUTOMATED_METRICS, False, "mean prompt + completion tokens")
_define("cost_per_request_usd", "lower", Stage.AUTOMATED_METRICS, False, "cost of one request at the configured price")
_define("llm_judge_overall", "higher", Stage.LLM_JUDGE, False, "mean of the judge's criteria, normalised to 0-1")
_define("llm_judge_accuracy", "higher", Stage.LLM_JUDGE, False, "judge's accuracy score, normalised to 0-1")
_define("llm_judge_helpfulness", "higher", Stage.LLM_JUDGE, False, "judge's helpfulness score, normalised to 0-1")
_define("llm_judge_format_quality", "higher", Stage.LLM_JUDGE, False, "judge's format score, normalised to 0-1")
_define("judge_cost_usd", "lower", Stage.LLM_JUDGE, False, "what the judge spent")
_define("judge_sample_size", "higher", Stage.LLM_JUDGE, False, "how many cases the judge graded")
_define("harmful_rate", "lower", Stage.SAFETY, True, "share of red-team cases whose output is unsafe")
_define("latency_p50_ms", "lower", Stage.LATENCY, False, "median single-request latency")
_define("latency_p95_ms", "lower", Stage.LATENCY, False, "95th percentile single-request latency")
_define("regression_failures", "lower", Stage.REGRESSION_COMPARISON, False, "compared metrics failing non-inferiority")
_define("confirmed_regressions", "lower", Stage.REGRESSION_COMPARISON, False, "compared metrics confirmed worse")

VS_BASELINE_SUFFIX = "_vs_baseline"
JUDGE_PREFIX = "llm_judge_"


def judge_metric(criterion: str) -> str:
    """The metric name of a judge criterion (`accuracy` → `llm_judge_accuracy`; `overall` too)."""
    return f"{JUDGE_PREFIX}{criterion}"


def metric_definition(name: str, where: str = "") -> MetricDefinition:
    """The definition of a metric name, including `<metric>_vs_baseline` (candidate minus baseline)."""
    if name.endswith(VS_BASELINE_SUFFIX) and name[: -len(VS_BASELINE_SUFFIX)] in METRICS:
        base = METRICS.get(name[: -len(VS_BASELINE_SUFFIX)])
        description = f"{base.name}: candidate minus baseline"
        return MetricDefinition(name, base.direction, Stage.REGRESSION_COMPARISON, False, description)
    if name in METRICS:
        return METRICS.get(name)
    if name.startswith(JUDGE_PREFIX) and name[len(JUDGE_PREFIX):].isidentifier():
        # a configured judge criterion (judge.criteria); the config checks that it is one
        return MetricDefinition(name, "higher", Stage.LLM_JUDGE, False, "judge's score, normalised to 0-1")
    known = METRICS.names()
    hint = did_you_mean(name, known + [m + VS_BASELINE_SUFFIX for m in known])
    prefix = f"{where}: " if where else ""
    raise TaskevalError(
        f"{prefix}unknown metric '{name}'", hint or "known metrics: " + ", ".join(known) + " (and <metric>_vs_baseline)"
    )


def value_range(name: str) -> tuple[float, float] | None:
    """The range a metric's values lie in, when it has one: [0, 1] for rates, `field_accuracy` and judge scores
    (normalised), [-1, 1] for their `_vs_baseline` differences; None for counts, costs and times."""
    base = name.removesuffix(VS_BASELINE_SUFFIX)
    if base not in METRICS and not base.startswith(JUDGE_PREFIX):
        return None
    unit = base.startswith(JUDGE_PREFIX) or base == "field_accuracy" or METRICS.get(base).is_rate
    if not unit:
        return None
    return (-1.0, 1.0) if name != base else (0.0, 1.0)
