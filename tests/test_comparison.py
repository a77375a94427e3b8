"""Stage 3 on constructed runs: verdicts that match the numbers, pairing, warnings."""

from __future__ import annotations

import random
from dataclasses import asdict, replace
from typing import Any

import pytest

from evaluator.core.metrics import MetricValue
from evaluator.inputs.baseline import Baseline
from evaluator.inputs.config import RegressionConfig
from evaluator.stages.comparison import run_comparison
from evaluator.stages.noninferiority import CONFIRMED, INCONCLUSIVE, PASS
from evaluator.stages.results import BenchmarkPrint, Fingerprint
from evaluator.stages.scoring import CaseResult, aggregate_checks
from tests.helpers import scored

RIGHT = '{"action":"get_task","task_id":1}'
EXPECTED = {"action": "get_task", "task_id": 1}
FINGERPRINT = Fingerprint(benchmark=BenchmarkPrint(sha256="bench"), config_sha256="cfg", schema="s", prompt="p",
                          environment={"device": "cpu", "torch": "2.13.0"})


def run_of(correct: list[bool]) -> list[CaseResult]:
    template = {True: scored(EXPECTED, RIGHT), False: scored(EXPECTED, '{"action":"get_task","task_id":2}')}
    return [replace(template[ok], id=f"case-{i}") for i, ok in enumerate(correct)]


def baseline_of(results: list[CaseResult], **overrides: Any) -> Baseline:
    fields: dict[str, Any] = {
        "source": "baseline.json", "metrics": aggregate_checks(results),
        "cases": {r.id: r.checks for r in results}, "fingerprint": {"benchmark": "bench", "config": "cfg",
                                                                    "schema": "s", "prompt": "p"},
        "environment": {"device": "cpu", "torch": "2.13.0"},
    }
    return Baseline(**{**fields, **overrides})


def compare(current: list[CaseResult], baseline: Baseline, **settings: Any) -> dict[str, Any]:
    config = RegressionConfig(**{"metrics": ["accuracy", "json_valid_rate"], **settings})
    stage = run_comparison(current, aggregate_checks(current), baseline, config, FINGERPRINT)
    details = asdict(stage.details)
    rows = {row["metric"]: row for row in details["metrics"]}
    return {"stage": stage, "rows": rows, **details}


def flips(n: int, right_before: int, broke: int, fixed: int, seed: int = 0) -> tuple[list[bool], list[bool]]:
    """Baseline and candidate outcomes with exactly `broke` regressions and `fixed` fixes."""
    before = [i < right_before for i in range(n)]
    now = list(before)
    right = [i for i in range(n) if before[i]]
    wrong = [i for i in range(n) if not before[i]]
    rng = random.Random(seed)
    for i in rng.sample(right, broke):
        now[i] = False
    for i in rng.sample(wrong, fixed):
        now[i] = True
    return before, now


def test_a_and_a_same_outputs_pass_with_zero_delta() -> None:
    runs = run_of([i % 10 != 0 for i in range(500)])
    result = compare(runs, baseline_of(runs))
    row = result["rows"]["accuracy"]
    assert row["label"] == PASS and row["delta"] == 0 and row["p_value"] == 1.0
    assert row["b"] == row["c"] == 0 and result["paired"]
    assert result["stage"].metrics["regression_failures"].value == 0
    assert not result["warnings"]


def test_losing_5_points_on_500_cases_is_a_confirmed_regression() -> None:
    before, now = flips(500, right_before=450, broke=30, fixed=5)
    result = compare(run_of(now), baseline_of(run_of(before)))
    row = result["rows"]["accuracy"]
    assert row["delta"] == pytest.approx(-0.05)
    assert (row["b"], row["c"]) == (30, 5)
    assert row["label"] == CONFIRMED and row["p_adjusted"] < 0.05 and row["upper_bound"] < 0
    assert "30 cases broke, 5 fixed" in row["verdict"]
    assert result["stage"].metrics["regression_failures"].value == 1
    assert result["stage"].metrics["confirmed_regressions"].value == 1
    assert len(result["flipped_cases"]) == 30 and len(result["fixed_cases"]) == 5


def test_a_4_point_drop_on_50_cases_is_inconclusive_with_the_cases_needed() -> None:
    before, now = flips(50, right_before=45, broke=3, fixed=1)
    row = compare(run_of(now), baseline_of(run_of(before)))["rows"]["accuracy"]
    assert row["delta"] == pytest.approx(-0.04)
    assert row["label"] == INCONCLUSIVE and row["lower_bound"] < -0.05
    assert row["cases_needed"] and row["cases_needed"] > 50
    assert f"about {row['cases_needed']} cases" in row["verdict"]


def test_a_significant_drop_within_the_margin_passes_and_says_so() -> None:
    before, now = flips(5000, right_before=4500, broke=60, fixed=0)
    row = compare(run_of(now), baseline_of(run_of(before)))["rows"]["accuracy"]
    assert row["label"] == PASS and row["p_adjusted"] < 0.05
    assert row["verdict"].startswith("significant drop of 1.2 points, within the 5-point margin")


def test_per_metric_margin_overrides_the_threshold() -> None:
    before, now = flips(500, right_before=450, broke=15, fixed=5)
    assert compare(run_of(now), baseline_of(run_of(before)))["rows"]["accuracy"]["label"] == PASS
    strict = compare(run_of(now), baseline_of(run_of(before)), margins={"accuracy": 0.005})["rows"]["accuracy"]
    assert strict["label"] != PASS and strict["margin"] == 0.005


def test_lower_is_better_metric_fails_when_it_rises() -> None:
    before = [False] * 500
    now = [i < 40 for i in range(500)]
    base = run_of([True] * 500)
    current = [replace(c, checks={**c.checks, "truncated_rate": t}) for c, t in zip(run_of([True] * 500), now)]
    old = [replace(c, checks={**c.checks, "truncated_rate": t}) for c, t in zip(base, before)]
    result = compare(current, baseline_of(old), metrics=["truncated_rate"])
    row = result["rows"]["truncated_rate"]
    assert row["delta"] == pytest.approx(0.08) and row["lower_bound"] > 0
    assert row["label"] == CONFIRMED and (row["b"], row["c"]) == (40, 0)


def test_flat_baseline_is_compared_unpaired_with_warnings() -> None:
    current = run_of([i < 410 for i in range(500)])
    flat = Baseline("flat.json", {"accuracy": MetricValue("accuracy", 0.87, 0)}, None, n_given=False)
    result = compare(current, flat)
    row = result["rows"]["accuracy"]
    assert not row["paired"] and row["b"] is None
    assert row["delta"] == pytest.approx(0.82 - 0.87)
    assert any("unpaired" in w for w in result["warnings"])
    assert any("no 'n'" in w for w in result["warnings"])
    # json_valid_rate is named in regression.metrics but the baseline lacks it: not compared, so nothing passes
    assert any("json_valid_rate" in w and "no value" in w for w in result["not_compared"])
    assert result["stage"].status == "error" and "regression_failures" not in result["stage"].metrics


def test_different_benchmark_is_unpaired_and_environment_differences_are_named() -> None:
    runs = run_of([True] * 100)
    other = baseline_of(runs, fingerprint={"benchmark": "other", "config": "changed", "schema": "s", "prompt": "p"},
                        environment={"device": "cuda", "torch": "2.13.0"})
    result = compare(runs, other)
    assert not result["paired"] and not result["rows"]["accuracy"]["paired"]
    assert any("no case matches the baseline" in w for w in result["warnings"])
    assert any("device 'cuda' → 'cpu'" in w for w in result["warnings"])
    assert any("the config differs" in w for w in result["warnings"])


def test_numeric_metric_of_zeros_and_ones_is_compared_as_a_paired_table() -> None:
    before = run_of([True] * 60)
    now = [replace(c, checks={**c.checks, "field_accuracy": 0.0 if i < 30 else 1.0}) for i, c in enumerate(before)]
    row = compare(now, baseline_of(before), metrics=["field_accuracy"])["rows"]["field_accuracy"]
    assert row["paired"] and row["delta"] == pytest.approx(-0.5) and row["label"] == CONFIRMED


def test_a_small_judge_sample_warns_that_it_cannot_detect_the_margin() -> None:
    """At the default 10% sample (50 of 500) and a 5-point margin, an unchanged judge score is inconclusive,
    and the report says how many judged cases would decide it."""
    before = run_of([True] * 50)
    scores = [1.0 if i % 4 else 0.5 for i in range(50)]
    old = [replace(c, checks={**c.checks, "llm_judge_overall": s}) for c, s in zip(before, scores)]
    metrics = {**aggregate_checks(old), "llm_judge_overall": MetricValue("llm_judge_overall", 0.875, 50)}
    stage = run_comparison(old, metrics, baseline_of(old), RegressionConfig(metrics=["llm_judge_overall"]),
                           FINGERPRINT)
    details = asdict(stage.details)
    result = {"rows": {r["metric"]: r for r in details["metrics"]}, **details}
    row = result["rows"]["llm_judge_overall"]
    assert row["delta"] == 0 and row["label"] == INCONCLUSIVE
    assert any("cannot detect a drop of 5.0 points" in w and "cases would" in w for w in result["warnings"])


def test_judge_sample_warning_before_the_run_uses_the_baselines_spread() -> None:
    from evaluator.stages.comparison import planned_judge_warnings

    before = run_of([True] * 500)
    old = [replace(c, checks={**c.checks, "llm_judge_overall": 1.0 if i % 3 else 0.5}) for i, c in enumerate(before)]
    settings = RegressionConfig(metrics=["accuracy", "llm_judge_overall"])
    (warning,) = planned_judge_warnings(settings, baseline_of(old), sample=50)
    assert warning.startswith("the judge sample of 50 cannot detect a drop of 5.0 points on `llm_judge_overall`")
    assert planned_judge_warnings(settings, baseline_of(old), sample=5000) == []


def test_pairing_is_by_case_so_a_limited_run_pairs_with_a_full_baseline() -> None:
    from evaluator.inputs.benchmark import case_key

    full = run_of([True] * 500)
    keyed = baseline_of(full, case_keys={c.id: case_key(c.input, c.expected) for c in full})
    subset = full[::4]  # what --limit 125 would give
    result = compare(subset, keyed, metrics=["accuracy"])
    assert result["paired"] and result["paired_cases"] == 125 and result["rows"]["accuracy"]["paired"]
    assert not any("paired on the" in w for w in result["warnings"])
    changed = [replace(c, expected='{"action":"get_task","task_id":9}') if i < 5 else c for i, c in enumerate(subset)]
    result = compare(changed, keyed, metrics=["accuracy"])
    assert result["paired_cases"] == 120
    assert any("paired on the 120 of 125 cases" in w for w in result["warnings"])


def test_every_comparison_entry_names_its_method() -> None:
    before, now = flips(500, 450, 30, 5)
    rows = compare(run_of(now), baseline_of(run_of(before)))["rows"]
    assert rows["accuracy"]["method"].startswith("paired: Tango score interval")
    flat = Baseline("flat.json", {"accuracy": MetricValue("accuracy", 0.9, 500)}, None)
    assert compare(run_of(now), flat, metrics=["accuracy"])["rows"]["accuracy"]["method"].startswith("unpaired")


def test_a_changed_case_is_neither_paired_nor_counted_as_broken() -> None:
    from evaluator.inputs.benchmark import case_key

    before = run_of([True] * 100)
    keyed = baseline_of(before, case_keys={c.id: case_key(c.input, c.expected) for c in before})
    new_gold = '{"action":"get_task","task_id":9}'
    changed = [replace(c, expected=new_gold, checks={**c.checks, "accuracy": False}) if i < 3 else c
               for i, c in enumerate(before)]
    details = compare(changed, keyed, metrics=["accuracy"])
    assert details["paired_cases"] == 97 and list(details["unpaired_ids"]) == ["case-0", "case-1", "case-2"]
    assert not details["flipped_cases"]  # wrong now against a new gold output: not a regression of the model


def test_a_baseline_measured_at_another_quantization_is_said_once() -> None:
    from evaluator.pipeline import load_notes
    from evaluator.stages.comparison import environment_warnings

    baseline = Baseline("b.json", {"accuracy": MetricValue("accuracy", 0.9, 10)}, {},
                        environment={"device": "cuda", "quantization": "none"})
    fingerprint = Fingerprint(environment={"device": "cuda", "quantization": "4bit", "quant_type": "nf4"})
    (warning,) = environment_warnings(baseline, fingerprint)
    assert "measured with quantization 'none' and this run with '4bit'" in warning
    assert environment_warnings(replace(baseline, environment={}), fingerprint) == []  # unknown: nothing to say
    assert load_notes({"device": "cpu", "quantization": "8bit"})[0].startswith("generation.quantization: 8bit ran on")
    assert load_notes({"device": "cuda", "quantization": "8bit"}) == ()
