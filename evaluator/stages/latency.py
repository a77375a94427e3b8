"""The latency stage: single-request latency on a seeded sample of cases, after a warm-up.

Requests go one at a time through the same backend, device and settings as stage 1, bypassing the output cache.
Figures are comparable only between runs on the same hardware.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from evaluator.core.metrics import MetricValue
from evaluator.core.names import Stage
from evaluator.core.records import Backend, LatencySample, Request
from evaluator.stages.results import PASSED, Details, StageResult

STAGE = Stage.LATENCY


@dataclass(frozen=True)
class LatencyDetails(Details):
    """The latency stage's figures beyond p50 and p95."""

    samples: int
    mean_ms: float
    tokens_per_second: float
    warm_up_requests: int


def percentile(values: Sequence[float], share: float) -> float:
    """Linear-interpolation percentile (numpy's default), `share` in [0, 1]."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_sample(cases: Sequence[Request], samples: int, seed: int) -> list[Request]:
    """The seeded sample of cases the latency stage times (the same in a sharded run: each shard times its part)."""
    return random.Random(seed).sample(list(cases), min(samples, len(cases)))


def time_requests(chosen: Sequence[Request], backend: Backend, progress: bool = False) -> list[LatencySample]:
    """One request at a time, after a warm-up (first-call allocations and kernel selection are not latency)."""
    from tqdm import tqdm

    if not chosen:
        return []
    backend.generate(chosen[:1])
    timed = []
    for case in tqdm(chosen, desc="latency", unit="request", disable=not progress, mininterval=1.0):
        begin = time.perf_counter()
        (generation,) = backend.generate([case])
        timed.append(LatencySample(case.id, (time.perf_counter() - begin) * 1000, generation.completion_tokens or 0))
    return timed


def latency_result(timed: Sequence[LatencySample], duration_seconds: float) -> StageResult:
    """p50 and p95 (and the mean and throughput) of timed requests."""
    latencies = [t.latency_ms for t in timed]
    tokens = sum(t.completion_tokens for t in timed)
    metrics = {
        "latency_p50_ms": MetricValue("latency_p50_ms", percentile(latencies, 0.50), len(latencies)),
        "latency_p95_ms": MetricValue("latency_p95_ms", percentile(latencies, 0.95), len(latencies)),
    }
    details = LatencyDetails(len(latencies), statistics.fmean(latencies),
                             tokens / (sum(latencies) / 1000) if sum(latencies) else 0.0, 1)
    return StageResult(STAGE, PASSED, duration_seconds, metrics, details=details)


def run_latency(cases: Sequence[Request], backend: Backend, samples: int, seed: int,
                progress: bool = False) -> StageResult:
    started = time.perf_counter()
    timed = time_requests(latency_sample(cases, samples, seed), backend, progress)
    return latency_result(timed, time.perf_counter() - started)
