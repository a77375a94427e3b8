"""The shipped example: LoRA adapters on SmolLM2-135M-Instruct (examples/models; `make test` makes the base model).
Two model-running tests, sharing one load of each adapter: v1 reproduces the shipped baseline case by case (the
adapter, the base conversion, the chat template and the system prompt are what made it), and the regressed
candidate blocks against that baseline with a confirmed accuracy regression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.generation.huggingface import HuggingFaceBackend
from evaluator.inputs.baseline import load_baseline
from evaluator.inputs.benchmark import load_benchmark
from evaluator.inputs.config import load_config
from evaluator.inputs.output_schema import schema_validator
from evaluator.stages.scoring import score_case
from tests.helpers import BENCHMARK, EXAMPLES, ROOT

MODELS = EXAMPLES / "models"
SHIPPED_BASELINE = EXAMPLES / "baselines" / "task-api-v1.json"


@pytest.fixture(autouse=True)
def from_the_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the adapters name their base relative to the repository root, as peft reads it


def test_v1_reproduces_the_shipped_baseline_case_by_case() -> None:
    config = load_config(EXAMPLES / "config.yaml")
    backend = HuggingFaceBackend(MODELS / "task-api-v1", config.generation, "cpu")
    assert "<|im_start|>system\n" + str(config.generation.system_prompt) in backend.prompt(load_benchmark(BENCHMARK)[0])
    cases = load_benchmark(BENCHMARK)[::25]  # 20 cases across every action
    validator, _ = schema_validator(config.metrics.schema, config.source)
    batched = backend.generate(cases)
    results = [score_case(c, g, tuple(config.metrics.ignore_fields), validator) for c, g in zip(cases, batched)]
    baseline = load_baseline(SHIPPED_BASELINE)
    assert baseline.cases is not None
    assert {r.id: r.checks for r in results} == {c.id: baseline.cases[c.id] for c in cases}
    # a case's output and token count do not depend on the cases that share its batch (a row the JSON stop ended
    # early used to count the padding step after it: one token more in a batch than alone)
    backend.batch_size = 1
    alone = backend.generate(cases[:8])
    assert [g.output for g in alone] == [g.output for g in batched[:8]]
    assert [g.completion_tokens for g in alone] == [g.completion_tokens for g in batched[:8]]


def test_the_regressed_adapter_blocks_with_a_confirmed_regression(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    red_team = "safety:\n  suite: examples/task_api/redteam.jsonl\n"
    without_safety = (EXAMPLES / "config.yaml").read_text().replace(red_team, "")
    assert "redteam" not in without_safety  # stage 1 and the comparison only: the test stays short
    config.write_text(without_safety, encoding="utf-8")
    out = tmp_path / "report"
    code = main(["run", "--model", str(MODELS / "task-api-v2-regressed"), "--benchmark", str(BENCHMARK), "--limit",
                 "150", "--config", str(config), "--baseline", str(SHIPPED_BASELINE), "--output-dir", str(out),
                 "--no-cache", "--quiet"])
    report = json.loads((out / "report.json").read_text())
    gates = {gate["name"]: gate for gate in report["gates"]}
    details = next(s for s in report["stages"] if s["name"] == "regression_comparison")["details"]
    assert code == 1 and report["decision"] == "BLOCK"
    assert gates["accuracy"]["passed"] is False and gates["no_regression"]["passed"] is False
    accuracy = next(m for m in details["metrics"] if m["metric"] == "accuracy")
    assert accuracy["paired"] and accuracy["label"] == "confirmed_regression", accuracy


def test_the_adapter_sampled_at_temperature_0_7_is_random_reproducible_and_measured(tmp_path: Path) -> None:
    """The shipped adapter sampled locally (generation.temperature 0.7): its samples differ, a case draws the same
    ones alone as in a batch, and flaky_rate / pass_all_k over k = 4 samples lie within their binomial error of the
    truth estimated from 12 further samples of each case."""
    from dataclasses import replace

    from evaluator.stages.automated import generate_samples
    from evaluator.stages.scoring import aggregate_checks, score_samples

    config = load_config(EXAMPLES / "config.yaml")
    settings = replace(config.generation, temperature=0.7, samples=16)
    backend = HuggingFaceBackend(MODELS / "task-api-v1", settings, "cpu")
    cases = load_benchmark(BENCHMARK)[3::50]  # 10 cases across the actions
    validator, _ = schema_validator(config.metrics.schema, config.source)
    drawn = generate_samples(backend, cases, None, 16, progress=False)
    backend.batch_size = 1
    alone = generate_samples(backend, cases[:2], None, 4, progress=False)
    assert [[g.output for g in s] for s in alone] == [[g.output for g in s[:4]] for s in drawn[:2]]
    assert any(len({g.output for g in samples}) > 1 for samples in drawn)  # really random at 0.7
    ignore = tuple(config.metrics.ignore_fields)
    first = [score_samples(c, s[:4], ignore, validator) for c, s in zip(cases, drawn)]
    metrics = {name: m.value for name, m in aggregate_checks(first).items()}
    assert metrics["pass_all_k"] <= metrics["accuracy"] <= metrics["pass_any_k"]
    rest = [score_samples(c, s[4:], ignore, validator) for c, s in zip(cases, drawn)]
    chances = [float(r.checks["accuracy"]) for r in rest]
    for name, truth in (("pass_all_k", [p ** 4 for p in chances]),
                        ("flaky_rate", [1 - p ** 4 - (1 - p) ** 4 for p in chances])):
        # 12 samples cannot tell a sure case from one wrong 1 time in 13: no case's variance is taken below that's
        error = 4 * sum(max(t * (1 - t), 12 / 169) for t in truth) ** 0.5 / len(truth)
        assert abs(metrics[name] - sum(truth) / len(truth)) <= error, (name, metrics[name], truth)
