"""Repeated samples per case (generation.samples, temperature, top_p): a model that is really random — a served
stand-in right on each case with a fixed probability, and the seeded sampler of the local backend — measured by
per-case shares, pass_all_k, pass_any_k and flaky_rate within their binomial error of the truth; a gate on
pass_all_k that blocks a model right on average but unreliable; flaky cases named; cached and reproduced per sample."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from benchmarks.shards import comparable
from evaluator.cli import main
from evaluator.core.errors import TaskevalError
from evaluator.core.records import Generation, SampleRequest, sample_seed
from evaluator.generation.cache import OutputCache
from evaluator.generation.sampling import SeededSampler, nucleus
from evaluator.inputs.baseline import load_baseline
from evaluator.inputs.config import load_config
from evaluator.report.schemas import report_schema
from evaluator.stages.automated import sample_label
from evaluator.stages.noninferiority import METHOD_PAIRED_NUMERIC
from evaluator.stages.scoring import aggregate_checks, score_samples
from tests.fake_openai import FakeOpenAI, Reply, fake_openai
from tests.helpers import SIGNER, TINY_CONFIG, TINY_MODELS, benchmark_rows, make_case, request, write_jsonl

WRONG = '{"action":"get_task","task_id":-1}'
"""An answer no case of the shipped benchmark expects."""
ANY_ACCURACY = "  - {name: any, metric: accuracy, threshold: 0.0, comparison: greater_equal, gate_type: blocking}"
"""A gate every run passes (a configuration needs a blocking gate)."""
LEVELS = (1.0, 0.9, 0.6, 0.3, 0.0)
"""The chance of a right answer, case by case in turn."""


class RandomModel:
    """A served model right on each request with its case's chance (`chances`, by request; changed between runs
    to serve another model), drawn from the request's seed: a sample answers the same whenever it is asked again."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.expected = {row["input"]: row["expected_output"] for row in rows}
        self.chances: dict[str, float] = {}

    def __call__(self, body: dict[str, Any], index: int) -> Reply:
        request = body["messages"][-1]["content"]
        draw = random.Random(body["seed"]).random()
        return Reply(content=self.expected[request] if draw < self.chances[request] else WRONG, completion_tokens=7)


def served_run(tmp_path: Path, server: FakeOpenAI, samples: int, gates: str = "", extra: list[str] | None = None,
               name: str = "out") -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """A run of the benchmark in tmp_path on the stand-in; the requests it sent."""
    sent = len(server.requests)
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"generation: {{backend: openai, base_url: '{server.base_url}', samples: {samples}, "
                      f"temperature: 0.7, top_p: 0.95, cache_dir: '{tmp_path / 'cache'}'}}\n"
                      f"judge: {{provider: none}}\nquality_gates:\n{gates or ANY_ACCURACY}\n", encoding="utf-8")
    code = main(["run", "--model", "served", "--benchmark", str(tmp_path / "bench.jsonl"), "--config", str(config),
                 "--output-dir", str(tmp_path / name), "--quiet", *(extra or [])])
    return code, json.loads((tmp_path / name / "report.json").read_text()), server.requests[sent:]


@contextmanager
def stand_in(tmp_path: Path, count: int) -> Iterator[tuple[FakeOpenAI, RandomModel, list[dict[str, Any]]]]:
    """`count` cases with distinct requests written as the benchmark, and the random model serving them."""
    rows = rows_with(count)
    write_jsonl(tmp_path / "bench.jsonl", rows)
    model = RandomModel(rows)
    with fake_openai(model) as server:
        yield server, model, rows


def rows_with(count: int) -> list[dict[str, Any]]:
    """`count` cases of the shipped benchmark with distinct requests (the stand-in knows a case by its request)."""
    rows = list({row["input"]: row for row in reversed(benchmark_rows(500))}.values())[::-1][:count]
    assert len(rows) == count
    return rows


def within(observed: float, truth: float, variances: list[float], sds: float = 4.0) -> bool:
    """|observed − truth| within `sds` standard errors of a mean of independent per-case indicators."""
    return abs(observed - truth) <= sds * math.sqrt(sum(variances)) / len(variances) + 1e-12


def test_shares_and_consistency_match_the_truth_of_a_random_served_model(tmp_path: Path) -> None:
    k, n = 4, 150
    with stand_in(tmp_path, n) as (server, model, rows):
        model.chances = {row["input"]: LEVELS[i % len(LEVELS)] for i, row in enumerate(rows)}
        code, report, requests = served_run(tmp_path, server, k)
        # a re-run reads every sample from the cache
        again_code, again, more = served_run(tmp_path, server, k, name="again")
    assert code == 0 and len(requests) == n * k
    assert {(r["temperature"], r["top_p"]) for r in requests} == {(0.7, 0.95)}
    # each sample's seed comes from its case's request and its index alone, so any re-run draws the same outputs
    ids = {row["input"]: row["id"] for row in rows}
    assert {(r["messages"][-1]["content"], r["seed"]) for r in requests} == {
        (text, sample_seed(SampleRequest(ids[text], text, j))) for text in ids for j in range(k)}
    automated = next(s for s in again["stages"] if s["name"] == "automated_metrics")
    assert again_code == 0 and not more and automated["details"]["cached_outputs"] == n * k
    assert [c["samples"] for c in again["cases"]] == [c["samples"] for c in report["cases"]]

    metrics = {name: m["value"] for name, m in report["metrics"].items()}
    p = list(model.chances.values())
    truths = {"accuracy": p, "pass_all_k": [q ** k for q in p],
              "pass_any_k": [1 - (1 - q) ** k for q in p], "flaky_rate": [1 - q ** k - (1 - q) ** k for q in p]}
    for name, per_case in truths.items():
        truth = sum(per_case) / len(per_case)
        # a share of k samples varies as a binomial's mean; an indicator over k samples as a Bernoulli
        variances = [q * (1 - q) / k for q in p] if name == "accuracy" else [t * (1 - t) for t in per_case]
        assert within(metrics[name], truth, variances), (name, metrics[name], truth)
    assert metrics["pass_all_k"] <= metrics["accuracy"] <= metrics["pass_any_k"]
    assert math.isclose(metrics["flaky_rate"], metrics["pass_any_k"] - metrics["pass_all_k"])
    assert metrics["tokens_per_request"] > 0  # per request, not k times it
    cases = {c["id"]: c for c in report["cases"]}
    sure, never = cases[rows[0]["id"]], cases[rows[4]["id"]]
    assert sure["checks"]["accuracy"] == 1.0 and never["checks"]["accuracy"] == 0.0 and not sure["flaky"]
    assert all(len(c["samples"]) == k for c in report["cases"])
    assert report["sampling"]["samples"] == k and report["sampling"]["generation_cost_multiplier"] == k
    flaky = report["sampling"]["flaky"]
    assert len(flaky) == report["sampling"]["flaky_cases"] == sum(1 for c in report["cases"] if c["flaky"])
    worst = flaky[0]
    assert sum(o["count"] for o in worst["outputs"]) == k and {o["right"] for o in worst["outputs"]} == {True, False}
    assert abs(worst["right"] / k - 0.5) <= min(abs(f["right"] / k - 0.5) for f in flaky)
    import jsonschema

    jsonschema.validate(report, report_schema())
    markdown = (tmp_path / "out" / "report.md").read_text()
    first_screen = markdown.split("### What to look at")[0].split("<details>")[0]
    assert f"Flaky cases: {len(flaky)} of {n}" in first_screen
    assert f"× {k} samples per case at temperature 0.7, top_p 0.95 ({k}× the generation cost)" in first_screen
    assert worst["id"] in first_screen and "✅" in first_screen and "❌" in first_screen


def test_a_gate_on_pass_all_k_blocks_a_model_right_on_average_but_unreliable(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    gates = ("  - {name: accuracy, metric: accuracy, threshold: 0.8, comparison: greater_equal, gate_type: blocking}\n"
             "  - {name: reliable, metric: pass_all_k, threshold: 0.8, comparison: greater_equal, "
             "gate_type: blocking}")
    with stand_in(tmp_path, 120) as (server, model, rows):
        model.chances = {row["input"]: 0.9 for row in rows}
        code, report, _ = served_run(tmp_path, server, 4, gates)
        printed = capsys.readouterr().out
        # one sample per case cannot see it: pass_all_k is accuracy, and the same model passes
        code_1, report_1, _ = served_run(tmp_path, server, 1, gates, name="one")
    gates_by_name = {g["name"]: g for g in report["gates"]}
    assert code == 1 and report["decision"] == "BLOCK"
    flaky = report["sampling"]["flaky_cases"]
    assert "(120 cases × 4 samples per case at temperature 0.7, top_p 0.95 (4× the generation cost)" in printed
    assert f"flaky: {flaky} of 120 cases right in some samples and wrong in others" in printed
    assert gates_by_name["accuracy"]["passed"] is True and gates_by_name["reliable"]["passed"] is False
    assert within(report["metrics"]["pass_all_k"]["value"], 0.9 ** 4, [0.9 ** 4 * (1 - 0.9 ** 4)] * 120)
    assert code_1 == 0 and report_1["metrics"]["pass_all_k"]["value"] == report_1["metrics"]["accuracy"]["value"]
    assert report_1["metrics"]["flaky_rate"]["value"] == 0 and "sampling" not in report_1


def test_the_comparison_pairs_per_case_means_and_says_when_k_differs(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    with stand_in(tmp_path, 80) as (server, model, rows):
        production = {row["input"]: LEVELS[i % len(LEVELS)] for i, row in enumerate(rows)}
        model.chances = production
        code, _, _ = served_run(tmp_path, server, 3, extra=["--update-baseline", str(baseline)], name="prod")
        assert code == 0 and load_baseline(baseline).samples == 3
        model.chances = {text: chance * 0.5 for text, chance in production.items()}
        # the same model name and server: a changed model needs --no-cache (docs/configuration.md)
        worse_code, worse, _ = served_run(tmp_path, server, 3, extra=["--baseline", str(baseline), "--no-cache"],
                                          name="worse")
        model.chances = production
        same_code, same, _ = served_run(tmp_path, server, 1, extra=["--baseline", str(baseline)], name="k1")
    accuracy = next(m for m in worse["comparison"]["metrics"] if m["metric"] == "accuracy")
    assert accuracy["method"] == METHOD_PAIRED_NUMERIC and accuracy["label"] == "confirmed_regression"
    assert worse_code == 1 and not any("sample(s) per case" in w for w in worse["warnings"])
    assert any("took 3 sample(s) per case and this run 1" in w for w in same["warnings"])
    assert same["comparison"]["identical_outputs"] == 0  # the first samples alike say nothing of the others
    accuracy = next(m for m in same["comparison"]["metrics"] if m["metric"] == "accuracy")
    assert accuracy["method"] == METHOD_PAIRED_NUMERIC and accuracy["label"] != "confirmed_regression"


def test_one_sample_keeps_every_number_and_adds_the_consistency_metrics() -> None:
    case = make_case({"action": "get_task", "task_id": 3})
    right, wrong = Generation('{"action":"get_task","task_id":3}', False), Generation(WRONG, False)
    one = score_samples(case, [right], (), None)
    assert one.checks["accuracy"] is True and one.checks["pass_all_k"] is True and one.checks["flaky_rate"] is False
    assert one.samples == () and "samples" not in one.to_json()
    three = score_samples(case, [right, wrong, right], (), None)
    assert math.isclose(float(three.checks["accuracy"]), 2 / 3) and three.flaky
    assert three.checks["pass_all_k"] is False and three.checks["pass_any_k"] is True
    assert three.output == right.output and three.first_checks["accuracy"] is True
    metrics = aggregate_checks([three, score_samples(case, [right] * 3, (), None)])
    assert math.isclose(metrics["accuracy"].value, 5 / 6) and metrics["flaky_rate"].value == 0.5
    low, high = metrics["accuracy"].ci_low, metrics["accuracy"].ci_high
    assert low is not None and high is not None and low < 5 / 6 < high
    assert sample_label(1) == "generating" and sample_label(4) == "generating 4 samples per case (4× the cost)"


@pytest.mark.parametrize(("text", "message"), [
    ("samples: 0", "'generation.samples' must be an integer from 1 to 100"),
    ("temperature: -0.1", "'generation.temperature' must be in [0, 2]"),
    ("top_p: 0", "'generation.top_p' must be in (0, 1]"),
    ("samples: 2.5", "'generation.samples' must be"),
])
def test_sampling_settings_are_checked(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"generation: {{{text}}}\n", encoding="utf-8")
    with pytest.raises(TaskevalError, match=None) as raised:
        load_config(config)
    assert message in str(raised.value) and str(config) in str(raised.value)


def test_the_seeded_sampler_draws_from_the_softmax_row_by_row() -> None:
    """Gumbel-max over greedy decoding: each token's frequency over many seeds is its probability under
    softmax(logits / temperature), within binomial error; top_p keeps the nucleus only; a row's draw does not
    depend on the rows beside it."""
    import torch

    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, -3.0]])
    temperature, draws = 0.7, 4000
    probabilities = torch.softmax(logits[0] / temperature, dim=-1).tolist()
    seeds = [sample_seed(SampleRequest("c", "a request", j)) for j in range(draws)]
    prompt = torch.zeros((draws, 3), dtype=torch.long)
    chosen = SeededSampler(seeds, temperature, 1.0, 3)(prompt, logits.repeat(draws, 1)).argmax(dim=-1).tolist()
    for token, p in enumerate(probabilities):
        share = chosen.count(token) / draws
        assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / draws) + 1e-9, (token, share, p)
    alone = SeededSampler(seeds[:5], temperature, 1.0, 3)(prompt[:5], logits.repeat(5, 1)).argmax(dim=-1).tolist()
    assert alone == chosen[:5]
    kept = nucleus(logits / temperature, 0.8)
    assert torch.isinf(kept[0, 2:]).all() and torch.isfinite(kept[0, :2]).all()  # 0.71 + 0.17 reaches 0.8
    nucleus_draws = SeededSampler(seeds, temperature, 0.8, 3)(prompt, logits.repeat(draws, 1)).argmax(dim=-1)
    assert set(nucleus_draws.tolist()) == {0, 1}


def test_a_predictions_file_cannot_give_several_samples(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = rows_with(3)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    predictions = write_jsonl(tmp_path / "predictions.jsonl", [{"id": r["id"], "output": "{}"} for r in rows])
    config = tmp_path / "config.yaml"
    config.write_text("generation: {samples: 3, temperature: 0.7}\njudge: {provider: none}\n", encoding="utf-8")
    code = main(["run", "--predictions", str(predictions), "--benchmark", str(bench), "--config", str(config),
                 "--output-dir", str(tmp_path / "out"), "--quiet"])
    assert code == 2 and "a predictions file holds one output per case" in capsys.readouterr().err


def test_sampled_shards_merge_to_one_sampled_run(tmp_path: Path) -> None:
    """The tiny model at temperature 1.5 (at 0.7 it gives its one answer every time), 3 samples per case: two
    shards and the gate write the report one run writes (every sample of every case the same, drawn in other
    batches), and a shard record short of samples is refused."""
    config = tmp_path / "config.yaml"
    without_safety = TINY_CONFIG.read_text().replace("safety:\n  suite: examples/task_api/redteam.jsonl\n", "")
    config.write_text(without_safety + "generation: {samples: 3, temperature: 1.5}\n", encoding="utf-8")
    assert load_config(config).generation.samples == 3
    bench = write_jsonl(tmp_path / "bench.jsonl", benchmark_rows(40))
    common = ["--model", str(TINY_MODELS / "tiny-v2"), "--benchmark", str(bench), "--config", str(config),
              "--device", "cpu", "--no-cache", "--quiet"]
    assert main(["run", *common, "--output-dir", str(tmp_path / "whole")]) in (0, 1)
    for index in (1, 2):
        assert main(["run", "--shard", f"{index}/2", "--output-dir", str(tmp_path / "shards"), *common]) == 0
    gate = ["gate", str(tmp_path / "shards"), "--benchmark", str(bench), "--config", str(config), "--quiet"]
    assert main([*gate, "--output-dir", str(tmp_path / "gated")]) in (0, 1)
    whole = json.loads((tmp_path / "whole" / "report.json").read_text())
    gated = json.loads((tmp_path / "gated" / "report.json").read_text())
    assert comparable(gated) == comparable(whole)
    assert any(len({s["output"] for s in c["samples"]}) > 1 for c in whole["cases"])  # really sampled
    record = tmp_path / "shards" / "shard-1-of-2.json"
    data = json.loads(record.read_text())
    first = data["case_ids"][0]
    data["samples"][first] = data["samples"][first][:1]
    record.write_text(json.dumps(data))
    assert main([*gate, "--output-dir", str(tmp_path / "short")]) == 2


def test_each_sample_is_cached_on_its_own_and_cannot_stand_in_for_another(tmp_path: Path) -> None:
    cache = OutputCache(tmp_path, {"model": "m"}, SIGNER)
    cache.put_many([(request("an input", j), Generation(f"sample {j}", False)) for j in range(3)])
    again = OutputCache(tmp_path, {"model": "m"}, SIGNER)
    kept = [again.get(request("an input", j)) for j in range(3)]
    assert [g.output if g else None for g in kept] == ["sample 0", "sample 1", "sample 2"]
    assert again.get(request("an input", 3)) is None and again.get(request("another input", 1)) is None
    lines = cache.path.read_text().splitlines()
    moved = json.loads(lines[2])
    moved["input"] = moved["input"].replace("#2", "#1")  # sample 2's row offered as sample 1's
    cache.path.write_text("\n".join([lines[0], json.dumps(moved)]) + "\n")
    forged = OutputCache(tmp_path, {"model": "m"}, SIGNER)
    assert forged.rejected == 1 and forged.get(request("an input", 1)) is None


def test_stop_early_counts_the_samples_it_generated(tmp_path: Path) -> None:
    gates = "  - {name: accuracy, metric: accuracy, threshold: 0.9, comparison: greater_equal, gate_type: blocking}"
    with stand_in(tmp_path, 120) as (server, model, rows):
        model.chances = {row["input"]: 0.3 for row in rows}
        code, report, requests = served_run(tmp_path, server, 3, gates, extra=["--stop-early"])
    (stop,) = [s for s in report["stopping"] if s["stage"] == "automated_metrics"]
    assert code == 1 and stop["stopped"] and len(requests) == stop["cases_used"] * 3 < 120 * 3
    used = stop["cases_used"]
    assert f"stopped after {used} of 120 cases ({used * 3} of 360 samples)" in stop["reason"]


def test_the_page_filters_flaky_cases_and_shows_every_sample(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.test_report_html import chromium

    with stand_in(tmp_path, 30) as (server, model, rows):
        model.chances = {row["input"]: LEVELS[i % len(LEVELS)] for i, row in enumerate(rows)}
        code, report, _ = served_run(tmp_path, server, 3)
    flaky = {c["id"] for c in report["cases"] if c["flaky"]}
    assert code == 0 and flaky
    driver = chromium()
    try:
        driver.get((tmp_path / "out" / "report.html").resolve().as_uri())
        assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
        driver.find_element(By.CSS_SELECTOR, 'button[data-filter="flaky"]').click()
        shown = driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
        assert {row.get_attribute("data-id") for row in shown} == flaky
        shown[0].click()
        detail = driver.find_element(By.ID, "detail")
        assert "Samples (3, flaky):" in detail.text
        assert len(detail.find_elements(By.CSS_SELECTOR, "ol.samples li")) == 3
        assert {"right", "wrong"} <= {li.text.split()[0] for li in detail.find_elements(By.CSS_SELECTOR, "ol li")}
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()
