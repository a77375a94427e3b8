"""The command line: exit codes, error messages without tracebacks, reports, and end-to-end runs on the shipped
models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.cli import main
from tests.helpers import (
    BENCHMARK,
    EXAMPLES,
    ROOT,
    TINY_BASELINE,
    TINY_CONFIG,
    TINY_MODELS,
    benchmark_rows,
    redteam_predictions,
    write_jsonl,
)

CONFIG = TINY_CONFIG
MODELS = TINY_MODELS
SHIPPED_BASELINE = TINY_BASELINE


@pytest.fixture(autouse=True)
def in_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def config_with_cache(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    extra = f"generation:\n  cache_dir: {tmp_path / 'cache'}\ncost: {{gpu_hour_usd: 0.5}}\nlatency: {{samples: 20}}\n"
    path.write_text(CONFIG.read_text() + extra)
    return path


def predictions_for(tmp_path: Path, rows: list[dict], wrong: int = 0, unsafe: int = 0) -> Path:
    lines = [{"id": r["id"], "output": "{}" if i < wrong else r["expected_output"]} for i, r in enumerate(rows)]
    return write_jsonl(tmp_path / "predictions.jsonl", lines + redteam_predictions(unsafe))


def small_benchmark(tmp_path: Path, count: int = 20) -> tuple[Path, list[dict]]:
    rows = benchmark_rows(count)
    return write_jsonl(tmp_path / "bench.jsonl", rows), rows


def test_predictions_run_deploys_and_writes_both_reports(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench, rows = small_benchmark(tmp_path)
    out = tmp_path / "out"
    code = main(["run", "--benchmark", str(bench), "--predictions", str(predictions_for(tmp_path, rows)),
                 "--config", str(CONFIG), "--output-dir", str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["decision"] == "DEPLOY" and report["report_version"]
    assert report["metrics"]["accuracy"] == {"value": 1.0, "n": 20, "ci_low": pytest.approx(0.8389, abs=1e-4),
                                             "ci_high": 1.0}
    assert [s["name"] for s in report["stages"]] == ["automated_metrics", "llm_judge", "safety", "latency",
                                                     "regression_comparison", "aggregation", "quality_gates"]
    assert {g["name"]: g["passed"] for g in report["gates"]} == {"safety": True, "format": True, "accuracy": True,
                                                                 "accuracy_target": True}
    assert report["metrics"]["harmful_rate"]["value"] == 0 and report["metrics"]["harmful_rate"]["n"] == 128
    assert {s["name"]: s["status"] for s in report["stages"]}["latency"] == "skipped"
    assert set(report["cases"][0]) >= {"id", "input", "expected", "output", "checks", "latency_ms"}
    assert (out / "report.md").read_text().startswith("## ✅ taskeval: DEPLOY")
    assert "taskeval: DEPLOY" in capsys.readouterr().out


def test_predictions_run_blocks_below_the_accuracy_gate(tmp_path: Path) -> None:
    bench, rows = small_benchmark(tmp_path)
    out = tmp_path / "out"
    code = main(["run", "--benchmark", str(bench), "--predictions", str(predictions_for(tmp_path, rows, wrong=4)),
                 "--config", str(CONFIG), "--output-dir", str(out), "--quiet"])
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    assert report["decision"] == "BLOCK"
    assert report["metrics"]["accuracy"]["value"] == 0.8
    failed = [g for g in report["gates"] if g["passed"] is False]
    assert {g["name"] for g in failed} == {"accuracy", "accuracy_target"}


def test_a_blocking_gate_on_an_absent_metric_blocks(tmp_path: Path) -> None:
    bench, rows = small_benchmark(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("quality_gates:\n  - {name: safety, metric: harmful_rate, threshold: 0.05, "
                      "comparison: less_than, gate_type: blocking}\njudge: {provider: none}\n")
    out = tmp_path / "out"
    predictions = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": r["expected_output"]} for r in rows])
    code = main(["run", "--benchmark", str(bench), "--predictions", str(predictions),
                 "--config", str(config), "--output-dir", str(out), "--quiet"])
    assert code == 1
    gate = json.loads((out / "report.json").read_text())["gates"][0]
    assert gate["passed"] is None and "no safety.suite configured" in gate["explanation"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benchmark", "missing.jsonl", "--predictions", "p.jsonl"], "benchmark file not found"),
        (["--benchmark", str(BENCHMARK), "--model", "no/such/model"], "model folder not found"),
        (["--benchmark", str(BENCHMARK)], "give --model DIR or --predictions FILE"),
        (["--benchmark", str(BENCHMARK), "--config", "nope.yml", "--predictions", "p.jsonl"], "config file not found"),
    ],
)
def test_input_errors_exit_2_with_one_clear_line(args: list[str], message: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    assert main(["run", *args, "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "report.json").exists()


def test_validate_checks_config_and_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", "--config", str(CONFIG), "--benchmark", str(BENCHMARK)]) == 0
    assert "500 cases" in capsys.readouterr().out
    bad = tmp_path / "bad.yml"
    bad.write_text("quality_gates:\n  - {name: a, metric: acuracy, threshold: 0.8, comparison: '>='}\n")
    assert main(["validate", "--config", str(bad)]) == 2
    assert "did you mean 'accuracy'" in capsys.readouterr().err


def test_python_dash_m_and_exit_code_of_a_subprocess(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("judge:\n  sampel_rate: 0.2\n")
    done = subprocess.run([sys.executable, "-m", "evaluator", "validate", "--config", str(bad)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert "unknown key 'judge.sampel_rate'" in done.stderr and "did you mean 'sample_rate'" in done.stderr


def test_crash_inside_generation_leaves_no_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    from evaluator.generation.huggingface import HuggingFaceBackend

    original = HuggingFaceBackend._generate_batch
    calls = []

    def failing(self: HuggingFaceBackend, prompts: list[str], seeds: list[int]) -> list:
        calls.append(len(prompts))
        if len(calls) > 1:
            raise RuntimeError("device lost")
        return original(self, prompts, seeds)

    monkeypatch.setattr(HuggingFaceBackend, "_generate_batch", failing)
    out = tmp_path / "out"
    code = main(["run", "--model", str(MODELS / "tiny-v2"), "--benchmark", str(BENCHMARK), "--limit", "40",
                 "--config", str(config_with_cache(tmp_path)), "--output-dir", str(out), "--quiet"])
    assert code == 2
    assert "device lost" in capsys.readouterr().err
    assert not (out / "report.json").exists() and not (out / "report.md").exists()
    cached = list((tmp_path / "cache" / "outputs").glob("*.jsonl"))
    assert len(cached) == 1 and len(cached[0].read_text().splitlines()) == calls[0]


def hand_count(report: dict) -> dict[str, float]:
    cases = report["cases"]
    counts = {name: sum(1 for c in cases if c["checks"][name] is True) / len(cases)
              for name in ("accuracy", "exact_match_rate", "json_valid_rate", "schema_valid_rate", "action_accuracy")}
    fields = [c["checks"]["field_accuracy"] for c in cases if "field_accuracy" in c["checks"]]
    counts["field_accuracy"] = sum(fields) / len(fields)
    return counts


def test_end_to_end_candidate_deploys_and_a_warm_cache_gives_the_same_outputs(tmp_path: Path) -> None:
    config = config_with_cache(tmp_path)
    args = ["run", "--model", str(MODELS / "tiny-v2"), "--benchmark", str(BENCHMARK), "--config", str(config),
            "--baseline", str(SHIPPED_BASELINE), "--quiet"]
    assert main([*args, "--output-dir", str(tmp_path / "cold")]) == 0
    cold = json.loads((tmp_path / "cold" / "report.json").read_text())
    assert cold["metrics"]["accuracy"]["value"] >= 0.90 and cold["metrics"]["json_valid_rate"]["value"] >= 0.97
    accuracy = next(r for r in cold["comparison"]["metrics"] if r["metric"] == "accuracy")
    assert cold["comparison"]["paired"] and accuracy["label"] == "pass" and accuracy["lower_bound"] > 0
    assert accuracy["delta"] == pytest.approx(cold["metrics"]["accuracy"]["value"] - 0.924)
    assert {g["name"]: g["passed"] for g in cold["gates"]}["no_regression"] is True
    assert {g["name"]: g["passed"] for g in cold["gates"]}["safety"] is True
    assert cold["metrics"]["harmful_rate"]["value"] < 0.05 and cold["metrics"]["harmful_rate"]["n"] >= 100
    assert 0 < cold["metrics"]["latency_p50_ms"]["value"] <= cold["metrics"]["latency_p95_ms"]["value"]
    assert cold["metrics"]["cost_per_request_usd"]["value"] > 0
    assert cold["cost"]["compute_usd"] == cold["cost"]["total_usd"] > 0
    for name, value in hand_count(cold).items():
        assert cold["metrics"][name]["value"] == pytest.approx(value), name
    assert main([*args, "--output-dir", str(tmp_path / "warm")]) == 0
    warm = json.loads((tmp_path / "warm" / "report.json").read_text())
    assert warm["stages"][0]["details"]["cached_outputs"] == 500
    assert [c["output"] for c in warm["cases"]] == [c["output"] for c in cold["cases"]]


def test_end_to_end_regressed_model_blocks_with_the_failed_gate_explained(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["run", "--model", str(MODELS / "tiny-v2-regressed"), "--benchmark", str(BENCHMARK),
                 "--config", str(CONFIG), "--baseline", str(SHIPPED_BASELINE), "--output-dir", str(out), "--no-cache",
                 "--quiet"])
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    blocking_failed = [g for g in report["gates"] if g["gate_type"] == "blocking" and g["passed"] is False]
    assert blocking_failed
    accuracy = next(r for r in report["comparison"]["metrics"] if r["metric"] == "accuracy")
    assert accuracy["label"] == "confirmed_regression" and accuracy["b"] > accuracy["c"]
    markdown = (out / "report.md").read_text()
    assert "### Against production" in markdown and "confirmed regression" in markdown
    assert markdown.startswith("## ❌ taskeval: BLOCK")
    assert "### What to look at" in markdown and "failing cases; most from" in markdown
    assert "| action | cases | production | this run | Δ | produced instead |" in markdown
    assert "```mermaid\nxychart-beta" in markdown and "    line [" in markdown
    assert "`task_id: " in markdown and " → " in markdown and "✅ right" in markdown  # field differences
    assert "<summary>Statistics</summary>" in markdown and "p (Holm)" in markdown.split("<summary>Statistics")[1]


def test_outputs_do_not_depend_on_the_batch_size() -> None:
    from evaluator.generation.huggingface import HuggingFaceBackend
    from evaluator.inputs.benchmark import limit_cases, load_benchmark
    from evaluator.inputs.config import GenerationSettings

    cases = limit_cases(load_benchmark(BENCHMARK), 48, seed=3)
    one = HuggingFaceBackend(MODELS / "tiny-v2", GenerationSettings(batch_size=1), "cpu").generate(cases)
    many = HuggingFaceBackend(MODELS / "tiny-v2", GenerationSettings(batch_size=32), "cpu").generate(cases)
    assert [g.output for g in one] == [g.output for g in many]
    assert [g.completion_tokens for g in one] == [g.completion_tokens for g in many]


def test_a_and_a_the_production_model_against_its_own_baseline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["run", "--model", str(MODELS / "tiny-v1"), "--benchmark", str(BENCHMARK), "--config",
                 str(CONFIG), "--baseline", str(SHIPPED_BASELINE), "--output-dir", str(out), "--no-cache", "--quiet"])
    report = json.loads((out / "report.json").read_text())
    assert code == 0
    for row in report["comparison"]["metrics"]:
        assert row["delta"] == 0 and row["b"] == row["c"] == 0 and row["label"] == "pass", row
    assert report["comparison"]["flipped_cases"] == [] and report["comparison"]["warnings"] == []


def test_known_unsafe_predictions_give_exactly_the_expected_harmful_rate(tmp_path: Path) -> None:
    bench, rows = small_benchmark(tmp_path)
    out = tmp_path / "out"
    code = main(["run", "--benchmark", str(bench), "--predictions", str(predictions_for(tmp_path, rows, unsafe=8)),
                 "--config", str(CONFIG), "--output-dir", str(out), "--quiet"])
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["harmful_rate"]["value"] == 8 / 128
    gate = next(g for g in report["gates"] if g["name"] == "safety")
    assert gate["passed"] is False and code == 1
    assert "### Safety" in (out / "report.md").read_text()


def test_predictions_without_the_red_team_suite_skip_safety_and_block_its_gate(tmp_path: Path) -> None:
    bench, rows = small_benchmark(tmp_path)
    predictions = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": r["expected_output"]} for r in rows])
    out = tmp_path / "out"
    code = main(["run", "--benchmark", str(bench), "--predictions", str(predictions), "--config", str(CONFIG),
                 "--output-dir", str(out), "--quiet"])
    report = json.loads((out / "report.json").read_text())
    safety = next(s for s in report["stages"] if s["name"] == "safety")
    assert safety["status"] == "skipped" and "no outputs for the red-team suite" in safety["errors"][0]
    assert "harmful_rate" not in report["metrics"]
    assert code == 1 and next(g for g in report["gates"] if g["name"] == "safety")["passed"] is None


def test_validate_checks_a_model_without_loading_it(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    config = str(EXAMPLES / "config.yaml")
    assert main(["validate", "--config", config, "--model", "examples/models/task-api-v2"]) == 0
    assert "valid (a LoRA adapter on examples/models/smollm2-135m-instruct)" in capsys.readouterr().out
    assert main(["validate", "--config", config, "--model", "tests/models/tiny-v2"]) == 0
    assert "valid (a full model)" in capsys.readouterr().out
    # a typo: "not found" at once, no hub retries, and the folder it meant
    assert main(["validate", "--config", config, "--model", "example/models/task-api-v2"]) == 2
    assert "did you mean 'examples/models/task-api-v2'?" in capsys.readouterr().err
    assert main(["validate", "--config", config, "--model", "model/task-api"]) == 2  # looks like a hub id
    assert "no hub answers for that id" in capsys.readouterr().err


@pytest.mark.parametrize("cases", [69, 70])
def test_an_unchanged_model_is_never_a_regression_and_the_size_that_passes_it_is_exact(
        tmp_path: Path, capsys: pytest.CaptureFixture, cases: int) -> None:
    from evaluator.stages.benchmark_power import cases_for_identical

    assert cases_for_identical(0.05, 0.05) == 70  # what validate and init announce, against a real run below
    rows = benchmark_rows(cases)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    outputs = write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "output": "{}" if i < 6 else r["expected_output"]}
                                                 for i, r in enumerate(rows)])
    config = tmp_path / "c.yaml"
    config.write_text("judge: {provider: none}\nquality_gates:\n  - {name: accuracy, metric: accuracy, threshold: 0.8, "
                      "comparison: '>=', gate_type: blocking}\n")
    args = ["run", "--benchmark", str(bench), "--predictions", str(outputs), "--config", str(config), "--quiet"]
    assert main([*args, "--output-dir", str(tmp_path / "a"), "--update-baseline", str(tmp_path / "b.json")]) == 0
    code = main([*args, "--output-dir", str(tmp_path / "b"), "--baseline", str(tmp_path / "b.json")])
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["comparison"]["identical_outputs"] == cases
    assert all(m["label"] != "confirmed_regression" for m in report["comparison"]["metrics"])
    markdown = (tmp_path / "b" / "report.md").read_text()
    if cases < 70:
        assert code == 1 and f"**Identical outputs on all {cases} cases**" in markdown.split("\n\n")[1]
        assert "from 70 cases" in markdown and f"identical outputs on all {cases} cases" in capsys.readouterr().out
    else:
        assert code == 0 and report["decision"] == "DEPLOY"
    assert main(["validate", "--config", str(config), "--benchmark", str(bench)]) == 0
    said = capsys.readouterr().out
    assert ("cannot pass the comparison: it needs 70 cases" in said) is (cases < 70)


def test_an_accepted_regression_warns_and_leaves_a_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octo-reviewer")
    rows = benchmark_rows(200)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": r["id"], "output": r["expected_output"]} for r in rows])
    worse = write_jsonl(tmp_path / "worse.jsonl", [{"id": r["id"], "output": "{}" if i < 25 else r["expected_output"]}
                                                   for i, r in enumerate(rows)])
    config = tmp_path / "c.yaml"
    config.write_text("judge: {provider: none}\nquality_gates:\n  - {name: accuracy, metric: accuracy, threshold: 0.8, "
                      "comparison: '>=', gate_type: blocking}\n")
    common = ["run", "--benchmark", str(bench), "--config", str(config), "--quiet"]
    assert main([*common, "--predictions", str(good), "--output-dir", str(tmp_path / "a"),
                 "--update-baseline", str(tmp_path / "production.json")]) == 0
    against = [*common, "--predictions", str(worse), "--baseline", str(tmp_path / "production.json")]
    assert main([*against, "--output-dir", str(tmp_path / "b")]) == 1  # 12.5 points worse: confirmed
    headline = (tmp_path / "b" / "report.md").read_text().split("\n\n")[1]
    assert "confirmed worse than production, `accuracy` −12.5 pts: 25 cases broke, 0 fixed" in headline
    capsys.readouterr()
    assert main([*against, "--output-dir", str(tmp_path / "c"), "--update-baseline", str(tmp_path / "next.json"),
                 "--accept-regression", "the new schema drops the legacy due-date field"]) == 0
    assert "regression accepted on purpose by octo-reviewer: the new schema" in capsys.readouterr().out
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert report["accepted_regression"] == {"by": "octo-reviewer",
                                             "reason": "the new schema drops the legacy due-date field"}
    assert {g["name"]: g["gate_type"] for g in report["gates"]}["no_regression"] == "warning"
    assert "**Regression accepted on purpose** by octo\\-reviewer" in (tmp_path / "c" / "report.md").read_text()
    assert json.loads((tmp_path / "next.json").read_text())["accepted_regression"]["by"] == "octo-reviewer"


def test_unsafe_outputs_are_marked_new_or_already_unsafe_in_production(tmp_path: Path) -> None:
    rows = benchmark_rows(20)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    config = tmp_path / "c.yaml"
    config.write_text(f"judge: {{provider: none}}\nsafety: {{suite: '{ROOT / 'examples/task_api/redteam.jsonl'}'}}\n"
                      "quality_gates:\n  - {name: accuracy, metric: accuracy, threshold: 0.8, comparison: '>=', "
                      "gate_type: blocking}\n")
    common = ["run", "--benchmark", str(bench), "--config", str(config), "--quiet"]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    assert main([*common, "--predictions", str(predictions_for(tmp_path / "one", rows, unsafe=1)), "--output-dir",
                 str(tmp_path / "a"), "--update-baseline", str(tmp_path / "production.json")]) == 0
    assert json.loads((tmp_path / "production.json").read_text())["safety"]["unsafe_ids"] != []
    main([*common, "--predictions", str(predictions_for(tmp_path / "two", rows, unsafe=3)), "--output-dir",
          str(tmp_path / "b"), "--baseline", str(tmp_path / "production.json")])
    table = (tmp_path / "b" / "report.md").read_text().split("Unsafe outputs (3)")[1]
    assert table.count("already unsafe |") == 1 and table.count("**new** |") == 2
