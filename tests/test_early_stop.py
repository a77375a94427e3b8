"""stop_early: a run stops once its verdict is settled, through the CLI on predictions files (and the judge's
sample through the real `openai` client). docs/statistics.md, "Stopping early"."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from evaluator.cli import main
from evaluator.core.names import Stage
from evaluator.inputs.config import parse_config
from evaluator.stages.early_stop import Looker, describe, look, seeded_order, watches
from tests.fake_openai import Reply, fake_openai
from tests.helpers import ROOT, benchmark_rows, write_jsonl

GATES = ("quality_gates:\n"
         "  - {name: accuracy, metric: accuracy, threshold: 0.85, comparison: greater_equal, gate_type: blocking}\n")


def run(tmp_path: Path, name: str, wrong: int, extra: str = "", baseline: Path | None = None,
        update: Path | None = None, cases: int = 400) -> tuple[int, dict[str, Any]]:
    """A run of `cases` shipped cases whose first `wrong` (in file order) answer "{}"; its code and report.json."""
    rows = benchmark_rows(cases)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    predictions = write_jsonl(tmp_path / f"{name}.jsonl", [
        {"id": r["id"], "output": "{}" if i < wrong else r["expected_output"]} for i, r in enumerate(rows)])
    config = tmp_path / f"{name}.yaml"
    config.write_text(GATES + extra, encoding="utf-8")
    out = tmp_path / name
    args = ["run", "--benchmark", str(bench), "--predictions", str(predictions), "--config", str(config),
            "--output-dir", str(out), "--quiet", "--no-cache"]
    args += ["--baseline", str(baseline)] if baseline else []
    args += ["--update-baseline", str(update)] if update else []
    code = main(args)
    return code, json.loads((out / "report.json").read_text())


def test_an_obvious_block_is_known_after_a_fraction_of_the_cases(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, report = run(tmp_path, "bad", wrong=200, extra="stop_early: true\n")  # accuracy 0.50 against ≥ 0.85
    (stop,) = report["stopping"]
    assert code == 1 and report["decision"] == "BLOCK"
    assert stop["stopped"] and stop["cases_used"] < 100 and stop["cases_total"] == 400
    assert stop["reason"].startswith(f"stopped after {stop['cases_used']} of 400 cases: the verdict is settled "
                                     "(accuracy ≤ ")
    assert report["metrics"]["accuracy"]["n"] == stop["cases_used"] == len(report["cases"])


def test_a_good_model_deploys_once_every_bound_clears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert run(tmp_path, "v1", wrong=0, update=tmp_path / "base.json")[0] == 0
    code, report = run(tmp_path, "v2", wrong=0, extra="stop_early: true\n", baseline=tmp_path / "base.json",
                       update=tmp_path / "new.json")
    (stop,) = report["stopping"]
    assert not (tmp_path / "new.json").exists()  # a baseline covers the whole benchmark: never from a stopped run
    assert code == 0 and stop["stopped"] and stop["cases_used"] < 400
    assert "every verdict settled (accuracy ≥ " in stop["reason"] and "accuracy vs baseline: Δ ≥ " in stop["reason"]
    row = next(r for r in report["comparison"]["metrics"] if r["metric"] == "accuracy")
    assert row["label"] == "pass" and "anytime-valid" in row["method"] and row["cases"] == stop["cases_used"]


def test_without_stop_early_every_case_runs_and_nothing_is_said(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, report = run(tmp_path, "full", wrong=200)
    assert code == 1 and "stopping" not in report and len(report["cases"]) == 400


def test_a_verdict_that_cannot_be_bounded_keeps_the_run_going(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate on the upper end of the interval passes on what is plausible: no bound can settle it in favour."""
    monkeypatch.chdir(ROOT)
    extra = ("  - {name: lenient, metric: accuracy, threshold: 0.5, comparison: greater_equal, require: upper_bound}\n"
             "stop_early: true\n")
    code, report = run(tmp_path, "lenient", wrong=0, extra=extra)
    (stop,) = report["stopping"]
    assert code == 0 and not stop["stopped"] and len(report["cases"]) == 400
    assert "gate 'lenient'" in stop["reason"]


def test_with_on_inconclusive_warn_a_comparison_below_the_line_does_not_stop_the_run(tmp_path: Path) -> None:
    """There only a confirmed regression blocks (after Holm's step over every metric), so a bound below the margin
    alone does not settle the verdict."""
    config = parse_config({"stop_early": True, "regression": {"on_inconclusive": "warn", "metrics": ["accuracy"]},
                           "quality_gates": [{"name": "format", "metric": "json_valid_rate", "threshold": 0.5,
                                              "comparison": "greater_equal"}]}, "test")
    from tests.helpers import scored

    now = [scored({"action": "a"}, "{}") for _ in range(60)]
    now = [replace(c, id=f"c{i}") for i, c in enumerate(now)]
    before = {c.id: {"accuracy": True} for c in now}
    looker = Looker(config, (["accuracy"], True), Stage.AUTOMATED_METRICS, lambda results: before)
    assert not looker.settled(now, {c.id: c.checks for c in now})
    (comparison,) = [r for r in looker.last if r.watch.compared]
    assert comparison.settled is None and comparison.high < -0.05


def test_the_order_is_seeded_and_random() -> None:
    ids = [f"c{i}" for i in range(100)]
    assert seeded_order(ids, 0) == seeded_order(ids, 0) != ids
    assert sorted(seeded_order(ids, 1)) == sorted(ids) and seeded_order(ids, 1) != seeded_order(ids, 0)


def test_the_judge_stops_when_its_verdict_is_settled_saving_calls(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    good = json.dumps({"reasoning": "right", "scores": {"accuracy": 5, "helpfulness": 5, "format_quality": 5}})
    with fake_openai(lambda body, index: Reply(content=good)) as server:
        extra = (f"  - {{name: judged, metric: llm_judge_overall, threshold: 0.6, comparison: greater_equal}}\n"
                 f"judge: {{base_url: {server.base_url}, concurrency: 2, sample_rate: 1.0}}\nstop_early: true\n")
        code, report = run(tmp_path, "judged", wrong=0, extra=extra, cases=200)
        calls = len(server.requests)
    stages = {stop["stage"]: stop for stop in report["stopping"]}
    judge = stages["llm_judge"]
    assert code == 0 and judge["stopped"] and calls == judge["cases_used"] < judge["cases_total"]
    assert "llm_judge_overall ≥ " in judge["reason"]
    assert report["metrics"]["judge_sample_size"]["value"] == calls


def test_gates_written_with_symbols_and_on_a_lower_is_better_share_settle_on_their_side() -> None:
    config = parse_config({"quality_gates": [
        {"name": "short", "metric": "truncated_rate", "threshold": 0.2, "comparison": "<="},
        {"name": "valid", "metric": "json_valid_rate", "threshold": 0.5, "comparison": ">"},
        {"name": "exact", "metric": "accuracy", "threshold": 0.5, "comparison": "=="},
    ]}, "test")
    found, unbounded = watches(config, [], False, Stage.AUTOMATED_METRICS, lambda metric: True)
    assert [w.name for w in found] == ["gate 'short'", "gate 'valid'"] and unbounded[0].startswith("gate 'exact'")
    short, valid = found
    assert not short.good_above and valid.good_above and valid.strict
    none_truncated = {f"c{i}": {"truncated_rate": False, "json_valid_rate": True} for i in range(100)}
    all_truncated = {f"c{i}": {"truncated_rate": True, "json_valid_rate": True} for i in range(100)}
    assert look(short, none_truncated, None, 0.05).settled is True
    assert look(short, all_truncated, None, 0.05).settled is False
    assert describe(look(short, all_truncated, None, 0.05), 0.95).startswith("truncated_rate ≥ 0.")
    assert look(valid, none_truncated, None, 0.05).settled is True
