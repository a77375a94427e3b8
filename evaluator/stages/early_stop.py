"""stop_early: a run that stops as soon as its verdict is settled. Cases go in a seeded random order, in batches;
after each batch every watched verdict — a blocking gate on a per-case share, and every compared metric against its
margin — is looked at through a betting confidence sequence (evaluator/core/betting.py), valid however many looks are
taken. A verdict is settled when its bound clears the line on either side. The run stops when a blocking verdict
is settled against it (BLOCK) or when every watched verdict is settled in its favour (the other gates are then
evaluated as usual). docs/statistics.md, "Stopping early", has the rule and its calibration."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from evaluator.core.gate_comparisons import COMPARISONS
from evaluator.core.metrics import metric_definition, value_range
from evaluator.core.names import GateType, OnInconclusive, Require, Stage
from evaluator.inputs.baseline import Baseline
from evaluator.inputs.config import DEFAULT_REGRESSION_METRICS, Config, GateConfig
from evaluator.stages.comparison import matched_cases
from evaluator.stages.gates import format_value
from evaluator.stages.noninferiority import paired_test, points
from evaluator.stages.results import EarlyStop
from evaluator.stages.scoring import CaseResult

LOOK_EVERY = 20
"""Cases between looks, at least (a look comes after each generation batch of at least this many cases)."""
GOOD_ABOVE = {"greater_equal": True, "greater_than": True, "less_equal": False, "less_than": False}
"""Gate comparisons a bound can settle (by canonical name), and on which side of the threshold a metric is good."""
STRICT = ("greater_than", "less_than")
T = TypeVar("T")
Pairing = Mapping[str, Mapping[str, Any]]
"""Case id → metric → value."""


@dataclass(frozen=True)
class Watch:
    """One verdict a look can settle: a gate's metric against its threshold, or a compared metric's change
    against its margin."""

    name: str
    metric: str
    line: float
    """The threshold, or −margin for a compared metric (on the metric's good scale)."""
    good_above: bool
    strict: bool
    """The gate's comparison is strict (> or <)."""
    compared: bool
    blocks_when_below: bool = True
    """Whether a bound below the line settles it against (not for a compared metric with on_inconclusive: warn,
    where only a confirmed regression blocks, after Holm's step over every metric: the run goes on)."""


@dataclass(frozen=True)
class Look:
    """Where one watched verdict stands after a look."""

    watch: Watch
    settled: bool | None
    """True: settled in its favour; False: settled against it; None: not yet."""
    low: float
    high: float


def seeded_order(items: Sequence[T], seed: int) -> list[T]:
    """The order cases are generated in: seeded and random, so the bets do not follow the benchmark's layout."""
    order = list(items)
    random.Random(seed).shuffle(order)
    return order


def watches(config: Config, compared: Sequence[str], required: bool, stage: Stage, per_case: Callable[[str], bool]
            ) -> tuple[list[Watch], list[str]]:
    """The verdicts a look at `stage` settles — blocking gates on its metrics that compare the value or the bound on
    their own side, and the compared ones — given which metrics it has per case, and the blocking ones it cannot
    bound (these keep a run from stopping in its favour).
    A default compared metric this run does not measure is left out, as the comparison leaves it out; one named in
    regression.metrics (`required`) cannot be bounded."""
    found, unbounded = [], []
    for gate in config.quality_gates:
        if gate.gate_type != GateType.BLOCKING or metric_definition(gate.metric).stage != stage:
            continue
        comparison = COMPARISONS.get(gate.comparison).name
        own_end = Require.LOWER_BOUND if GOOD_ABOVE.get(comparison) else Require.UPPER_BOUND
        settles = gate.require in (Require.VALUE, own_end)
        if comparison in GOOD_ABOVE and settles and per_case(gate.metric) and value_range(gate.metric) == (0.0, 1.0):
            found.append(_gate_watch(gate))
        else:
            unbounded.append(f"gate '{gate.name}' (a bound on `{gate.metric}` cannot settle it)")
    block_on_inconclusive = config.regression.on_inconclusive == OnInconclusive.BLOCK
    for metric in (m for m in compared if metric_definition(m).stage == stage):
        if per_case(metric) and value_range(metric) == (0.0, 1.0):
            found.append(Watch(f"{metric} vs baseline", metric, -config.regression.margin(metric), True, False, True,
                               blocks_when_below=block_on_inconclusive))
        elif required:
            unbounded.append(f"{metric} vs baseline (no per-case values to bound)")
    return found, unbounded


def _gate_watch(gate: GateConfig) -> Watch:
    comparison = COMPARISONS.get(gate.comparison).name
    return Watch(f"gate '{gate.name}'", gate.metric, gate.threshold, GOOD_ABOVE[comparison], comparison in STRICT,
                 False)


def look(watch: Watch, values: Pairing, baseline: Pairing | None, alpha: float) -> Look:
    """One watched verdict against the per-case values so far (case id → metric → value, in generation order)."""
    if watch.compared:
        now = [v[watch.metric] for case_id, v in values.items() if watch.metric in v and baseline is not None
               and watch.metric in baseline.get(case_id, {})]
        before = [baseline[case_id][watch.metric] for case_id, v in values.items() if watch.metric in v and
                  baseline is not None and watch.metric in baseline.get(case_id, {})]
        if not now:
            return Look(watch, None, -1.0, 1.0)
        test = paired_test(watch.metric, now, before, alpha, anytime=True)
        low, high = test.good_low, test.good_high
    else:
        import numpy as np

        from evaluator.core.betting import mean_bound

        series = np.asarray([float(v[watch.metric]) for v in values.values() if watch.metric in v])
        if series.size == 0:
            return Look(watch, None, 0.0, 1.0)
        low, high = (float(mean_bound(series, alpha, lower=True)), float(mean_bound(series, alpha, lower=False)))
    good_low, good_high = (low, high) if watch.good_above else (-high, -low)
    line = watch.line if watch.good_above or watch.compared else -watch.line
    if good_low > line or (good_low == line and not watch.strict):
        return Look(watch, True, low, high)
    if (good_high < line or (good_high == line and watch.strict)) and watch.blocks_when_below:
        return Look(watch, False, low, high)
    return Look(watch, None, low, high)


def describe(result: Look, confidence: float) -> str:
    """A settled verdict in words: "accuracy ≤ 0.80 with 95% confidence"."""
    watch = result.watch
    if watch.compared:
        bound, sign = (result.low, "≥") if result.settled else (result.high, "≤")
        return f"{watch.metric} vs baseline: Δ {sign} {points(bound)} with {confidence:.0%} confidence"
    high_side = (result.settled is True) == watch.good_above
    bound, sign = (result.low, "≥") if high_side else (result.high, "≤")
    return f"{watch.metric} {sign} {format_value(bound)} with {confidence:.0%} confidence"


class Looker:
    """Looks after each batch of one stage (stage 1, or the judge's sample) and says when to stop; remembers what
    it saw for the report."""

    def __init__(self, config: Config, compared: tuple[list[str], bool], stage: Stage,
                 pairing: Callable[[Sequence[CaseResult]], Pairing]) -> None:
        self.config, self.compared, self.stage, self.pairing = config, compared, stage, pairing
        self.alpha = config.regression.alpha
        self.watched: list[Watch] | None = None
        self.unbounded: list[str] = []
        self.last: list[Look] = []
        self.used = 0

    def settled(self, results: Sequence[CaseResult], values: Pairing) -> bool:
        """Whether the verdict is settled after a look at `results` (in the order they came), whose per-case values
        are `values` (case id → metric → value)."""
        if self.watched is None:  # what is watched depends on what the stage measures per case
            self.watched, self.unbounded = watches(self.config, *self.compared, self.stage,
                                                   lambda m: any(m in v for v in values.values()))
        self.used = len(results)
        baseline = self.pairing(results)
        self.last = [look(w, values, baseline, self.alpha) for w in self.watched]
        against = any(r.settled is False for r in self.last)
        in_favour = bool(self.last) and not self.unbounded and all(r.settled for r in self.last)
        return against or in_favour

    def outcome(self, total: int, what: str = "cases", per_case: int = 1) -> EarlyStop:
        """Where the stage stopped and why; with `per_case` samples per case, the samples generated are counted
        too (they are what the run paid for)."""
        confidence = 1 - self.alpha
        if per_case > 1:
            what = f"{what} ({self.used * per_case} of {total * per_case} samples)"
        settled = tuple(describe(r, confidence) for r in self.last if r.settled is not None)
        unsettled = (*(r.watch.name for r in self.last if r.settled is None), *self.unbounded)
        stopped = self.used < total
        against = [describe(r, confidence) for r in self.last if r.settled is False]
        if not stopped:
            reason = (f"ran all {total} {what}: " + (f"not settled: {', '.join(unsettled)}" if unsettled
                                                     else "settled at the last look"))
        elif against:
            reason = f"stopped after {self.used} of {total} {what}: the verdict is settled ({'; '.join(against)})"
        else:
            reason = f"stopped after {self.used} of {total} {what}: every verdict settled ({'; '.join(settled)})"
        return EarlyStop(self.stage, self.used, total, stopped, reason, settled, unsettled)


def in_looks(items: Sequence[T], size: int, process: Callable[[Sequence[T]], None],
             settled: Callable[[int], bool]) -> int:
    """Feed `items` to `process` in batches of `size`, stopping after the first batch after which
    `settled(how many so far)`; returns how many were processed."""
    done = 0
    while done < len(items):
        batch = items[done:done + size]
        process(batch)
        done += len(batch)
        if settled(done):
            break
    return done


def lookers(config: Config, baseline: Baseline | None, accepted: bool, benchmark_digest: str
            ) -> tuple[Looker | None, Looker | None]:
    """stop_early's lookers for stage 1 and the judge (None, None without it). The comparison is watched when it
    can block: a baseline, `regression.gate: blocking` and no regression accepted on purpose."""
    if not config.stop_early:
        return None, None
    compared: tuple[list[str], bool] = ([], False)
    if baseline is not None and not accepted and config.regression.gate == GateType.BLOCKING:
        named = config.regression.metrics
        compared = (list(named), True) if named is not None else (
            [m for m in DEFAULT_REGRESSION_METRICS if m in baseline.metrics], False)

    def pairing(results: Sequence[CaseResult]) -> Pairing:
        if baseline is None or baseline.cases is None:
            return {}
        matched, _ = matched_cases(results, baseline, benchmark_digest)
        return {case_id: baseline.cases[case_id] for case_id in matched if case_id in baseline.cases}

    return (Looker(config, compared, Stage.AUTOMATED_METRICS, pairing),
            Looker(config, compared, Stage.LLM_JUDGE, pairing))
