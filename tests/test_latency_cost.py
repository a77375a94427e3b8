"""Latency percentiles, cost per request and the run's cost."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.inputs.config import load_config
from evaluator.stages.latency import percentile, run_latency
from evaluator.stages.scoring import token_metrics
from tests.helpers import make_case, scored


def test_percentile_matches_linear_interpolation() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 0.5) == 30 and percentile(values, 0.95) == pytest.approx(48.0)
    assert percentile([7.0], 0.95) == 7.0


class CountingBackend:
    """A backend that records the batch sizes it is asked for (latency must be one request at a time)."""

    description = "counting"
    runs_model = True

    def __init__(self) -> None:
        self.batches: list[int] = []

    def generate(self, cases, on_batch=None):  # type: ignore[no-untyped-def]
        from evaluator.core.records import Generation

        self.batches.append(len(cases))
        return [Generation(output="{}", truncated=False, completion_tokens=10) for _ in cases]


def test_latency_is_single_request_after_a_warm_up_on_a_seeded_sample() -> None:
    cases = [make_case({"action": "x"}, case_id=str(i)) for i in range(50)]
    backend = CountingBackend()
    stage = run_latency(cases, backend, samples=20, seed=3)  # type: ignore[arg-type]
    assert backend.batches == [1] * 21
    assert stage.metrics["latency_p50_ms"].n == 20
    assert stage.metrics["latency_p50_ms"].value <= stage.metrics["latency_p95_ms"].value
    assert stage.details.tokens_per_second > 0


def test_cost_per_request_from_token_price_or_gpu_hour() -> None:
    result = replace(scored({"action": "x"}, "{}"), prompt_tokens=30, completion_tokens=20, latency_ms=36.0)
    by_tokens = token_metrics([result, result], price_per_million=0.5)
    assert by_tokens["cost_per_request_usd"].value == pytest.approx(50 * 0.5 / 1e6)
    by_gpu = token_metrics([result], price_per_million=None, gpu_hour_usd=1.0)
    assert by_gpu["cost_per_request_usd"].value == pytest.approx(1.0 * 0.036 / 3600)
    assert "cost_per_request_usd" not in token_metrics([result], None)


def test_both_prices_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("judge: {provider: none}\ncost: {price_per_million_tokens: 1, gpu_hour_usd: 2}\n")
    with pytest.raises(TaskevalError, match="set one of"):
        load_config(path)
