"""Stage 2: an LLM judge grades a seeded, stratified sample of the outputs within a hard budget.

The sample is ceil(sample_rate × N) cases (at least min_samples, at most N), split across expected actions by
largest remainder and chosen within each action by a hash of (seed, case id), so the baseline and the candidate are
judged on the same cases. Scores 1-5 are reported normalised to 0-1 as (s − 1) / 4; a verdict that cannot be used
is unscored and left out of the means, never a zero.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

from tqdm import tqdm

from evaluator.core.cache_signing import CacheSigner
from evaluator.core.errors import TaskevalError
from evaluator.core.files import strict_json, write_atomically
from evaluator.core.hashing import sha256_hex
from evaluator.core.metrics import MetricValue, judge_metric
from evaluator.core.names import Stage
from evaluator.core.openai_calls import describe
from evaluator.core.redaction import redact
from evaluator.core.stats import paired_bootstrap_interval
from evaluator.inputs.config import JudgeConfig
from evaluator.inputs.plugins import JUDGE_PROVIDERS, LOCAL_JUDGES
from evaluator.stages.early_stop import LOOK_EVERY, EarlyStop, Looker, in_looks
from evaluator.stages.judge_client import PROMPT_VERSION, BatchJudge, Judge, Verdict, estimate_tokens
from evaluator.stages.results import ERRORED, PASSED, Details, StageResult, skipped
from evaluator.stages.scoring import CaseResult

STAGE = Stage.LLM_JUDGE


@dataclass(frozen=True)
class JudgeProblem:
    """A judged case that has no usable score, and why (an unparsable verdict or a failed call)."""

    id: str
    reason: str


@dataclass(frozen=True)
class LowScored:
    """One of the lowest-scored cases, with the judge's reasoning."""

    id: str
    input: str
    expected: str
    output: str
    overall: float
    reasoning: str


@dataclass(frozen=True)
class JudgeDetails(Details):
    """Stage 2's account: what was planned, judged, cached, failed and spent."""

    model: str
    prompt_version: str
    planned: int
    judged: int
    cached: int
    seed: int
    sampled_ids: tuple[str, ...]
    """The judged sample, kept in the baseline so a later run judges the same cases."""
    unscored: tuple[JudgeProblem, ...]
    failed: tuple[JudgeProblem, ...]
    left_out_by_budget: int
    budget_usd: float
    spent_usd: float
    agreement: dict[str, int]
    """How the judge's accuracy score agrees with the exact `accuracy` check."""
    lowest: tuple[LowScored, ...]
    notes: tuple[str, ...]
    stopping: EarlyStop | None = None
    """With stop_early: how many sampled cases were judged, and why it stopped there."""
HIGH_SCORE = 4
"""A judge accuracy score of 4 or 5 counts as "the judge calls it right" when comparing with the exact checks."""
LOWEST_SHOWN = 5


def sample_size(total: int, rate: float, minimum: int) -> int:
    return min(total, max(minimum, math.ceil(rate * total - 1e-9)))


def judge_sample(cases: Sequence[CaseResult], rate: float, minimum: int, seed: int) -> list[CaseResult]:
    """The stratified, seeded sample, in benchmark order."""
    size = sample_size(len(cases), rate, minimum)
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for case in cases:
        groups[case.expected_action].append(case)
    exact = {action: size * len(members) / len(cases) for action, members in groups.items()}
    quota = {action: math.floor(share) for action, share in exact.items()}
    by_remainder = sorted(exact, key=lambda a: (-(exact[a] - quota[a]), a))
    for action in by_remainder[: size - sum(quota.values())]:
        quota[action] += 1
    chosen: set[str] = set()
    for action, members in groups.items():
        ranked = sorted(members, key=lambda c: hashlib.sha256(f"{seed}:{c.id}".encode()).hexdigest())
        chosen.update(c.id for c in ranked[: quota[action]])
    return [case for case in cases if case.id in chosen]


class Budget:
    """A hard spending limit shared by concurrent calls: a call starts only if its worst-case cost still fits."""

    def __init__(self, limit_usd: float) -> None:
        self.limit = limit_usd
        self.spent = 0.0
        self._reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, estimate: float) -> bool:
        with self._lock:
            if self.spent + self._reserved + estimate > self.limit:
                return False
            self._reserved += estimate
            return True

    def settle(self, estimate: float, actual: float) -> None:
        with self._lock:
            self._reserved -= estimate
            self.spent += actual


@dataclass
class _Outcome:
    """What happened to one sampled case."""

    case: CaseResult
    verdict: Verdict | None = None
    cached: bool = False
    cost_usd: float = 0.0
    error: str | None = None
    over_budget: bool = False
    usage_note: str | None = None


@dataclass(frozen=True)
class JudgeRun:
    """Stage 2's result and the per-case normalised scores (criterion and `overall` → 0..1)."""

    stage: StageResult
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    reasoning: dict[str, str] = field(default_factory=dict)
    """Per scored case, the judge's reasoning (report.json's `cases[].judge_reasoning`, shown by report.html)."""


class VerdictCache:
    """Verdicts on disk, keyed by everything a verdict depends on: the judge (provider, endpoint, model), the prompt
    version, the criteria and the case's request, reference and output. A re-run of the same makes no calls; a
    changed gold output or criterion is judged again. A cache that cannot be written is dropped with a warning."""

    def __init__(self, folder: Path | None, settings: JudgeConfig, signer: CacheSigner | None) -> None:
        self.folder = folder if signer is not None else None
        self.signer = signer
        self.judge = [settings.provider, settings.base_url, settings.model, PROMPT_VERSION, list(settings.criteria)]
        self.warning: str | None = None
        self.rejected = 0
        """Cached verdicts that failed their signature or their shape (judged again)."""

    def _key(self, case: CaseResult) -> str:
        return sha256_hex(json.dumps([*self.judge, case.id, case.input, case.expected, case.output]))

    def get(self, case: CaseResult) -> Verdict | None:
        """The cached verdict, when there is one and its signature holds (the folder is in the workspace)."""
        if self.folder is None or self.signer is None:
            return None
        key = self._key(case)
        try:
            stored = strict_json((self.folder / f"{key[:40]}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError):
            self.rejected += 1
            return None
        content = stored.get("verdict") if isinstance(stored, dict) else None
        try:
            if not isinstance(content, dict) or not self.signer.verify(key, content, stored.get("mac")):
                raise TypeError("signature")
            return Verdict(**content)
        except (TypeError, AttributeError):
            self.rejected += 1
            return None

    def put(self, case: CaseResult, verdict: Verdict) -> None:
        if self.folder is None or self.signer is None:
            return
        key = self._key(case)
        content = verdict.__dict__
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(self.folder / f"{key[:40]}.json",
                             json.dumps({"verdict": content, "mac": self.signer.sign(key, content)}))
        except OSError as error:
            self.warning = f"the judge's verdict cache in {self.folder} cannot be written ({error.strerror}); " \
                           "verdicts are not cached"
            self.folder = None


def call_cost(settings: JudgeConfig, prompt_tokens: float, completion_tokens: float) -> float:
    """What a call costs at the configured price; nothing for a local judge, which has none."""
    price = settings.prices.get(settings.model)
    if price is None:
        return 0.0
    return (prompt_tokens * float(price["input"]) + completion_tokens * float(price["output"])) / 1e6


def _judge_one(judge: Judge, settings: JudgeConfig, budget: Budget, cache: VerdictCache,
               outcome: _Outcome) -> _Outcome:
    messages = judge.messages(outcome.case.input, outcome.case.expected, outcome.case.output)
    prompt_estimate = estimate_tokens(messages, settings.model)
    estimate = call_cost(settings, prompt_estimate, settings.max_output_tokens)
    if not budget.reserve(estimate):
        outcome.over_budget = True
        return outcome
    actual = 0.0
    try:
        verdict = judge.judge(messages)
        actual = call_cost(settings, verdict.prompt_tokens, verdict.completion_tokens)
        if not _plausible_usage(verdict, prompt_estimate, settings.max_output_tokens):
            outcome.usage_note = (f"reported usage ({verdict.prompt_tokens} + {verdict.completion_tokens} tokens) "
                                  "is impossible for this request; its worst case was counted instead")
            actual = estimate
        outcome.verdict, outcome.cost_usd = verdict, actual
        cache.put(outcome.case, verdict)
    except Exception as error:  # a failed call leaves the case unscored; the run goes on
        outcome.error = f"{describe(error)}: {redact(str(error))[:200]}"
    finally:
        budget.settle(estimate, actual)
    return outcome


def _judge_in_process(judge: BatchJudge, cache: VerdictCache, pending: list[_Outcome]) -> None:
    """A local judge grades every pending case in its own batches; a failure leaves them unscored, with the cause."""
    if not pending:
        return
    try:
        verdicts = judge.judge_many([judge.messages(o.case.input, o.case.expected, o.case.output) for o in pending])
    except Exception as error:  # a local model that fails (out of memory, say) leaves the cases unscored
        for outcome in pending:
            outcome.error = f"{type(error).__name__}: {redact(str(error))[:200]}"
        return
    for outcome, verdict in zip(pending, verdicts):
        outcome.verdict = verdict
        cache.put(outcome.case, verdict)


def _plausible_usage(verdict: Verdict, prompt_estimate: int, max_output_tokens: int) -> bool:
    """The server's token counts are trusted only within what was reserved for the call (the prompt estimate is an
    upper bound, and the reply is capped at max_output_tokens), so the spend can never pass the budget."""
    return 0 <= verdict.prompt_tokens <= prompt_estimate and 0 <= verdict.completion_tokens <= max_output_tokens


def _normalised(verdict: Verdict) -> dict[str, float]:
    assert verdict.scores is not None
    scores = {name: (value - 1) / 4 for name, value in verdict.scores.items()}
    scores["overall"] = sum(scores.values()) / len(scores)
    return scores


def _mean_metric(name: str, values: list[float], seed: int) -> MetricValue:
    mean, low, high = paired_bootstrap_interval([0.0] * len(values), values, 0.95, seed=seed)
    return MetricValue(name, mean, len(values), low, high)


def _agreement(outcomes: list[_Outcome]) -> dict[str, int]:
    """How the judge's accuracy score agrees with the exact `accuracy` check on the judged cases."""
    counts = {"agree": 0, "checks_wrong_judge_high": 0, "checks_right_judge_low": 0, "compared": 0}
    for outcome in outcomes:
        if outcome.verdict is None or outcome.verdict.scores is None or "accuracy" not in outcome.verdict.scores:
            continue
        exact = outcome.case.first_checks.get("accuracy") is True  # the judged output is the first sample
        judge_right = outcome.verdict.scores["accuracy"] >= HIGH_SCORE
        counts["compared"] += 1
        if exact == judge_right:
            counts["agree"] += 1
        elif judge_right:
            counts["checks_wrong_judge_high"] += 1
        else:
            counts["checks_right_judge_low"] += 1
    return counts


def chosen_sample(cases: Sequence[CaseResult], settings: JudgeConfig, seed: int, baseline_ids: Sequence[str]
                  ) -> tuple[list[CaseResult], list[str]]:
    """The baseline's judged cases when it names them (so judge scores pair case by case), else the seeded
    stratified sample; with a note when the two differ."""
    if not baseline_ids:
        return judge_sample(cases, settings.sample_rate, settings.min_samples, seed), []
    wanted = set(baseline_ids)
    sample = [case for case in cases if case.id in wanted]
    if not sample:
        return judge_sample(cases, settings.sample_rate, settings.min_samples, seed), [
            "none of the baseline's judged cases is in this benchmark: a new sample is judged, and judge scores "
            "cannot pair"]
    notes = []
    if len(sample) < len(wanted):
        notes.append(f"{len(wanted) - len(sample)} of the baseline's {len(wanted)} judged cases are not in this run; "
                     f"the other {len(sample)} are judged")
    return sample, notes


def run_judge(
    cases: Sequence[CaseResult], settings: JudgeConfig, seed: int, cache_dir: Path | None,
    api_key: str | None = None, baseline_ids: Sequence[str] = (), progress: bool = False,
    signer: CacheSigner | None = None, looker: Looker | None = None,
) -> JudgeRun:
    """Stage 2 with the configured provider; `baseline_ids` are the cases the baseline's judge graded, judged again
    by default. With a `looker` (stop_early), the sample is judged in the run's (seeded random) order, in batches,
    until its verdict is settled."""
    started = time.perf_counter()
    api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if settings.provider == "none":
        return JudgeRun(skipped(STAGE, "judge.provider is none"))
    if settings.provider not in LOCAL_JUDGES and settings.base_url is None and not api_key:
        return JudgeRun(skipped(STAGE, "no OPENAI_API_KEY for OpenAI's endpoint (set it, or judge.base_url for a "
                                       "self-hosted judge, or judge.provider: none)"))
    if cache_dir is not None and signer is None:
        raise ValueError("a verdict cache needs a signer (evaluator/core/cache_signing.py): its folder is in the "
                         "workspace")
    cache = VerdictCache(cache_dir / "judge" if cache_dir is not None else None, settings, signer)
    sample, sample_notes = chosen_sample(cases, settings, seed, baseline_ids)  # in the run's order
    outcomes = [_Outcome(case) for case in sample]
    for outcome in outcomes:
        cached = cache.get(outcome.case)
        if cached is not None:
            outcome.verdict, outcome.cached = cached, True
    budget = Budget(settings.budget_usd)
    judges: list[Judge] = []  # started on first need: a warm cache needs no judge (nor a local judge's model)

    def judge_batch(batch: Sequence[_Outcome]) -> None:
        pending = [o for o in batch if not o.cached]
        if not pending:
            return
        if not judges:
            judges.append(JUDGE_PROVIDERS.get(settings.provider, "judge.provider")(settings, api_key))
        judge = judges[0]
        if getattr(judge, "in_process", False):
            _judge_in_process(cast(BatchJudge, judge), cache, pending)
            return
        with ThreadPoolExecutor(max_workers=settings.concurrency) as pool, \
                tqdm(total=len(pending), desc="judge", unit="case", disable=not progress, mininterval=1.0) as bar:
            for _ in pool.map(lambda o: _judge_one(judge, settings, budget, cache, o), pending):
                bar.update(1)

    try:
        if looker is None:
            judge_batch(outcomes)
        else:
            done = in_looks(outcomes, LOOK_EVERY, judge_batch,
                            lambda count: looker.settled([o.case for o in outcomes[:count]],
                                                         _scores_so_far(outcomes[:count], settings)))
            outcomes = outcomes[:done]
    except TaskevalError as error:  # a judge that cannot start (a local model that does not load) is the judge
        # stage's error; the automated metrics already measured stay intact
        return JudgeRun(StageResult(STAGE, ERRORED, time.perf_counter() - started,
                                    errors=(f"the judge could not start: {redact(error.message)}",)))
    rejected = (f"{cache.rejected} cached verdicts failed their check (edited, or signed with another key) and "
                "were judged again") if cache.rejected else None
    notes = [*sample_notes, *(note for note in (cache.warning, rejected) if note)]
    stopping = looker.outcome(len(sample), "sampled cases") if looker is not None else None
    stage, scores = _summarise(outcomes, settings, budget, seed, time.perf_counter() - started, notes)
    if stopping is not None and isinstance(stage.details, JudgeDetails):
        stage = replace(stage, details=replace(stage.details, stopping=stopping))
    reasoning = {o.case.id: o.verdict.reasoning for o in outcomes
                 if o.case.id in scores and o.verdict is not None and o.verdict.reasoning}
    return JudgeRun(stage, scores, reasoning)


def _scores_so_far(outcomes: Sequence[_Outcome], settings: JudgeConfig) -> dict[str, dict[str, float]]:
    """Case id → `llm_judge_<criterion>` → normalised score, for the judged cases with every score."""
    return {o.case.id: {judge_metric(k): v for k, v in _normalised(o.verdict).items()} for o in outcomes
            if o.verdict is not None and o.verdict.scores is not None
            and set(o.verdict.scores) == set(settings.criteria)}


def _summarise(outcomes: list[_Outcome], settings: JudgeConfig, budget: Budget, seed: int, duration: float,
               notes: list[str]) -> tuple[StageResult, dict[str, dict[str, float]]]:
    criteria = set(settings.criteria)
    scored = [o for o in outcomes if o.verdict is not None and o.verdict.scores is not None
              and set(o.verdict.scores) == criteria]
    scores = {o.case.id: _normalised(o.verdict) for o in scored if o.verdict is not None}
    failed = [o for o in outcomes if o.error]
    lowest = sorted(scored, key=lambda o: scores[o.case.id]["overall"])[:LOWEST_SHOWN]
    details = JudgeDetails(
        model=settings.model, prompt_version=PROMPT_VERSION, planned=len(outcomes), judged=len(scored),
        cached=sum(1 for o in outcomes if o.cached), seed=seed, sampled_ids=tuple(o.case.id for o in outcomes),
        unscored=tuple(JudgeProblem(o.case.id, o.verdict.error or "") for o in outcomes
                       if o.verdict is not None and o.verdict.scores is None),
        failed=tuple(JudgeProblem(o.case.id, o.error or "") for o in failed),
        left_out_by_budget=sum(1 for o in outcomes if o.over_budget), budget_usd=settings.budget_usd,
        spent_usd=budget.spent, agreement=_agreement(outcomes),
        lowest=tuple(LowScored(o.case.id, o.case.input, o.case.expected, o.case.output, scores[o.case.id]["overall"],
                               o.verdict.reasoning if o.verdict else "") for o in lowest),
        notes=(*notes, *(f"{o.case.id}: {o.usage_note}" for o in outcomes if o.usage_note)),
    )
    spend = {"judge_cost_usd": MetricValue("judge_cost_usd", budget.spent, len(outcomes)),
             "judge_sample_size": MetricValue("judge_sample_size", len(scored), len(outcomes))}
    if not scored:
        reason = (failed[0].error if failed else "no verdict could be used") or "the judge failed"
        if not failed and details.left_out_by_budget:
            reason = f"the budget of ${settings.budget_usd:.2f} did not allow a single call"
        return StageResult(STAGE, ERRORED, duration, spend, errors=(f"judge gave no usable verdict: {reason}",),
                           details=details), {}
    wanted = min(settings.min_samples, len(outcomes))
    if details.left_out_by_budget and len(scored) < wanted:  # the budget cut the sample below what the config
        # asks for: not measured, so a gate on it fails closed (unscored verdicts alone stay out of the mean)
        reason = (f"judge scores not measured: the budget of ${settings.budget_usd:.4g} left out "
                  f"{details.left_out_by_budget} of {len(outcomes)} sampled cases, leaving {len(scored)} verdicts, "
                  f"fewer than judge.min_samples ({settings.min_samples}); raise judge.budget_usd")
        details = replace(details, notes=(*details.notes, reason))
        return StageResult(STAGE, ERRORED, duration, spend, errors=(reason,), details=details), {}
    metrics = dict(spend)
    for name in [*settings.criteria, "overall"]:
        metrics[judge_metric(name)] = _mean_metric(judge_metric(name), [s[name] for s in scores.values()], seed)
    errors = tuple(f"{o.case.id}: {o.error}" for o in failed[:5])
    return StageResult(STAGE, PASSED, duration, metrics, errors=errors, details=details), scores
