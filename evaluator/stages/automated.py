"""Stage 1: generate (through the output cache) and score every benchmark case."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluator.core.names import Stage
from evaluator.core.records import Backend, Case, Generation, Request, SampleRequest, sample_index
from evaluator.generation.cache import OutputCache
from evaluator.inputs.config import Config
from evaluator.stages.early_stop import LOOK_EVERY, EarlyStop, Looker, in_looks
from evaluator.stages.results import PASSED, Details, StageResult
from evaluator.stages.scoring import (
    CaseResult,
    FailureDrivers,
    GroupStats,
    aggregate_checks,
    failure_drivers,
    per_action,
    per_tag,
    score_cases,
    token_metrics,
)

STAGE = Stage.AUTOMATED_METRICS


@dataclass(frozen=True)
class AutomatedDetails(Details):
    """Stage 1's breakdowns."""

    per_action: dict[str, GroupStats]
    """Expected action → accuracy and what was produced instead."""
    per_tag: dict[str, GroupStats]
    """Tag → accuracy."""
    cases: int
    cached_outputs: int
    """How many outputs came from the cache (with k samples per case, of the k × cases outputs)."""
    backend: str
    """What produced the outputs, in words."""
    schema_valid_rate_absent: str | None = None
    """Why schema_valid_rate is not computed (no schema configured)."""
    stopping: EarlyStop | None = None
    """With stop_early: how many cases were generated, and why it stopped there."""
    failure_drivers: dict[str, FailureDrivers] = field(default_factory=dict)
    """Per pass/fail check that some case fails: where its failing cases come from."""


def generate_outputs(
    backend: Backend, cases: Sequence[Request], cache: OutputCache | None, progress: bool = True,
    label: str = "generating", unit: str = "case",
) -> list[Generation]:
    """Outputs for every request: cached ones read back, the rest generated and appended to the cache batch by
    batch. When outputs depend on the input alone (a backend with a cache key), a repeated input (and sample) is
    generated once."""
    from tqdm import tqdm

    found = {(case.id, sample_index(case)): cache.get(case) for case in cases} if cache else {}
    missing = [case for case in cases if found.get((case.id, sample_index(case))) is None]
    by_input = backend.cache_key() is not None

    def key(case: Request) -> tuple[str, int]:
        return (case.input if by_input else case.id), sample_index(case)

    if by_input:
        missing = list({key(case): case for case in reversed(missing)}.values())[::-1]
    generated: dict[tuple[str, int], Generation] = {}
    if missing:
        # outputs read from a predictions file take no time worth a bar
        with tqdm(total=len(missing), desc=label, unit=unit, disable=not (progress and backend.runs_model),
                  mininterval=1.0) as bar:

            def on_batch(batch: list[tuple[Request, Generation]]) -> None:
                if cache is not None:
                    cache.put_many(batch)
                bar.update(len(batch))

            outputs = backend.generate(missing, on_batch=on_batch)
        generated = {key(case): g for case, g in zip(missing, outputs)}
    return [found.get((case.id, sample_index(case))) or generated[key(case)] for case in cases]


def sample_label(samples: int) -> str:
    """The progress bar's words for a run of `samples` samples per case: what it costs."""
    return "generating" if samples == 1 else f"generating {samples} samples per case ({samples}× the cost)"


def generate_samples(backend: Backend, cases: Sequence[Request], cache: OutputCache | None, samples: int,
                     progress: bool = True) -> list[tuple[Generation, ...]]:
    """`samples` outputs per case (generation.samples), each seeded by the case's input and the sample's index and
    cached on its own; one sample is the case itself, as a single-sample run has always generated it."""
    if samples == 1:
        return [(g,) for g in generate_outputs(backend, cases, cache, progress)]
    requests = [SampleRequest(case.id, case.input, j) for case in cases for j in range(samples)]
    flat = generate_outputs(backend, requests, cache, progress, sample_label(samples), unit="sample")
    return [tuple(flat[i * samples:(i + 1) * samples]) for i in range(len(cases))]


def run_automated_metrics(
    cases: Sequence[Case], backend: Backend, config: Config, validator: Any | None, no_schema: str | None,
    cache: OutputCache | None, progress: bool = True, looker: Looker | None = None,
) -> tuple[StageResult, list[CaseResult]]:
    """Generate and score every case; with a `looker` (stop_early), in batches until the verdict is settled."""
    started = time.perf_counter()
    generations: list[Generation] = []
    results: list[CaseResult] = []

    samples = config.generation.samples

    def generate_and_score(batch: Sequence[Case]) -> None:
        outputs = generate_samples(backend, batch, cache, samples, progress and looker is None)
        generations.extend(g for case in outputs for g in case)
        results.extend(score_cases(batch, outputs, config.metrics.ignore_fields, validator))

    if looker is None:
        generate_and_score(cases)
    else:
        batch = config.generation.batch_size
        in_looks(cases, max(LOOK_EVERY, batch if isinstance(batch, int) else 0), generate_and_score,
                 lambda count: looker.settled(results, {r.id: r.checks for r in results}))
    metrics = aggregate_checks(results) | token_metrics(results, config.cost.price_per_million_tokens,
                                                        config.cost.gpu_hour_usd)
    details = AutomatedDetails(per_action(results), per_tag(results), len(results),
                               sum(1 for g in generations if g.cached), backend.description, no_schema,
                               looker.outcome(len(cases), per_case=samples) if looker is not None else None,
                               failure_drivers(results))
    stage = StageResult(STAGE, PASSED, time.perf_counter() - started, metrics, details=details)
    return stage, results
