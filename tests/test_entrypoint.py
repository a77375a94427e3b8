"""entrypoint.py run as a process, as the Docker action runs it, against the GitHub API stand-in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.shards import comparable
from evaluator.cli import main as cli
from tests.fake_github import REPO, GitHubState, fake_github
from tests.helpers import EXAMPLES, ROOT, benchmark_rows, redteam_predictions, write_jsonl

TOKEN = "ghs_secret_token_value"


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    """A workspace with the shipped benchmark, predictions for it (and the red-team suite) and the example config."""
    rows = benchmark_rows(500)
    write_jsonl(tmp_path / "bench.jsonl", rows)
    good = [{"id": r["id"], "output": r["expected_output"]} for r in rows] + redteam_predictions()
    write_jsonl(tmp_path / "good.jsonl", good)
    bad = [{"id": r["id"], "output": "{}" if i < 100 else r["expected_output"]} for i, r in enumerate(rows)]
    write_jsonl(tmp_path / "bad.jsonl", bad + redteam_predictions())
    config = (EXAMPLES / "config.yaml").read_text().replace("examples/", str(ROOT / "examples") + "/")
    (tmp_path / "taskeval.yml").write_text(config)
    return tmp_path


def outputs_of(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's multi-line syntax: name<<DELIMITER, value lines, DELIMITER."""
    values, lines = {}, path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        name, delimiter = lines[index].split("<<", 1)
        end = lines.index(delimiter, index + 1)
        values[name] = "\n".join(lines[index + 1:end])
        index = end + 1
    return values


HEAD = "abc123" * 6
"""The pull request's head commit."""


def run_action(workspace: Path, state: GitHubState, event_name: str = "pull_request", ref: str = "refs/pull/7/merge",
               predictions: str = "good.jsonl", dashed: bool = True, extra_event: dict[str, Any] | None = None,
               environment: dict[str, str] | None = None, **inputs: str) -> dict[str, Any]:
    event: dict[str, Any] = {"repository": {"default_branch": "main", "full_name": REPO}, **(extra_event or {})}
    if event_name == "pull_request":
        event["pull_request"] = {"number": 7, "head": {"sha": HEAD}}
    (workspace / "event.json").write_text(json.dumps(event))
    for name in ("output.txt", "summary.md"):
        (workspace / name).unlink(missing_ok=True)
    values = {"model": "", "benchmark": "bench.jsonl", "predictions": predictions, "config": "taskeval.yml",
              "github-token": TOKEN, **inputs}
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_"))}
    for name, value in values.items():
        key = name.upper() if dashed else name.upper().replace("-", "_")
        env[f"INPUT_{key}"] = value
    env.update({
        "GITHUB_API_URL": state.base, "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(workspace / "event.json"), "GITHUB_REF": ref, "GITHUB_SHA": "0" * 40,
        "GITHUB_WORKSPACE": str(workspace), "GITHUB_OUTPUT": str(workspace / "output.txt"),
        "GITHUB_STEP_SUMMARY": str(workspace / "summary.md"), "PYTHONPATH": str(ROOT), **(environment or {}),
    })
    done = subprocess.run([sys.executable, str(ROOT / "entrypoint.py")], cwd=workspace, env=env, capture_output=True,
                          text=True, check=False)
    summary = workspace / "summary.md"
    return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "outputs": outputs_of(workspace / "output.txt"), "summary": summary.read_text() if summary.exists() else ""}


def baseline_bytes(workspace: Path) -> bytes:
    target = workspace / "seed-baseline.json"
    assert cli(["run", "--benchmark", str(workspace / "bench.jsonl"), "--predictions", str(workspace / "good.jsonl"),
                "--config", str(workspace / "taskeval.yml"), "--output-dir", str(workspace / "seed"), "--quiet",
                "--update-baseline", str(target)]) == 0
    return target.read_bytes()


def test_pull_request_run_posts_one_comment_and_one_check_run_then_edits_the_comment(workspace: Path) -> None:
    with fake_github() as state:
        state.add_release("taskeval-baseline", {"baseline.json": baseline_bytes(workspace)})
        first = run_action(workspace, state)
        assert first["code"] == 0, first["stderr"] + first["stdout"]
        assert len(state.comments) == 1 and len(state.check_runs) == 1
        (comment,) = state.comments.values()
        assert comment["issue_number"] == 7 and "<!-- taskeval-sticky-comment: taskeval -->" in comment["body"]
        assert "## ✅ taskeval: DEPLOY" in comment["body"] and "### Against production" in comment["body"]
        check = state.check_runs[0]
        assert check["conclusion"] == "success" and check["head_sha"] == HEAD
        assert check["name"] == "taskeval" and check["output"]["summary"].startswith("## ✅")
        outputs = first["outputs"]
        assert outputs["decision"] == "DEPLOY" and outputs["deploy-allowed"] == "true"
        assert outputs["report-json"] == "taskeval-report/report.json"
        assert outputs["report-markdown"] == "taskeval-report/report.md" and outputs["baseline-updated"] == "false"
        assert outputs["summary"].startswith("taskeval: DEPLOY")
        assert "## ✅ taskeval: DEPLOY" in first["summary"]
        assert f"::add-mask::{TOKEN}" in first["stdout"]
        second = run_action(workspace, state, dashed=False)
        assert second["code"] == 0
        assert len(state.comments) == 1 and len(state.check_runs) == 2


def test_a_fork_read_only_token_warns_and_keeps_the_decision(workspace: Path) -> None:
    with fake_github(GitHubState(read_only=True)) as state:
        result = run_action(workspace, state, predictions="bad.jsonl")
    assert result["code"] == 1 and result["outputs"]["decision"] == "BLOCK"
    assert "::warning::could not post the pull-request comment (HTTP 403)" in result["stdout"]
    assert "fork-safe pattern" in result["stdout"]
    assert "## ❌ taskeval: BLOCK" in result["summary"] and "GitHub warnings" in result["summary"]
    assert not state.comments and not state.check_runs


def test_first_run_without_a_release_skips_the_comparison_then_a_default_branch_push_publishes(
        workspace: Path) -> None:
    with fake_github() as state:
        pr = run_action(workspace, state)
        assert pr["code"] == 0 and "No baseline yet" in pr["stdout"]
        report = json.loads((workspace / "taskeval-report" / "report.json").read_text())
        assert next(s for s in report["stages"] if s["name"] == "regression_comparison")["status"] == "skipped"
        assert not state.releases  # a pull request never publishes
        push = run_action(workspace, state, event_name="push", ref="refs/heads/main")
        assert push["code"] == 0 and push["outputs"]["baseline-updated"] == "true"
        assets = state.release_assets("taskeval-baseline")
        assert list(assets) == ["baseline.json"]
        assert json.loads(assets["baseline.json"])["baseline_version"] == 1


def test_a_passing_push_replaces_the_asset_and_a_failing_one_leaves_it(workspace: Path) -> None:
    with fake_github() as state:
        state.add_release("taskeval-baseline", {"baseline.json": b'{"accuracy": 0.5, "n": 500}'})
        failing = run_action(workspace, state, event_name="push", ref="refs/heads/main", predictions="bad.jsonl")
        assert failing["code"] == 1 and failing["outputs"]["baseline-updated"] == "false"
        assert state.release_assets("taskeval-baseline") == {"baseline.json": b'{"accuracy": 0.5, "n": 500}'}
        passing = run_action(workspace, state, event_name="push", ref="refs/heads/main")
        assert passing["code"] == 0 and passing["outputs"]["baseline-updated"] == "true"
        assets = state.release_assets("taskeval-baseline")
        assert list(assets) == ["baseline.json"] and json.loads(assets["baseline.json"])["baseline_version"] == 1
        other_branch = run_action(workspace, state, event_name="push", ref="refs/heads/feature")
        assert other_branch["outputs"]["baseline-updated"] == "false"


def test_a_failed_upload_keeps_the_old_baseline(workspace: Path) -> None:
    with fake_github(GitHubState(fail_uploads=True)) as state:
        state.add_release("taskeval-baseline", {"baseline.json": b'{"accuracy": 0.5, "n": 500}'})
        result = run_action(workspace, state, event_name="workflow_dispatch", ref="refs/heads/main")
        assert result["code"] == 0 and result["outputs"]["baseline-updated"] == "false"
        assert "could not publish the new baseline" in result["stdout"]
        assert state.release_assets("taskeval-baseline") == {"baseline.json": b'{"accuracy": 0.5, "n": 500}'}


def test_an_api_outage_on_the_baseline_is_an_error_and_on_posting_a_warning(workspace: Path) -> None:
    with fake_github(GitHubState(fail_status=500)) as state:
        result = run_action(workspace, state)
    assert result["code"] == 2 and result["outputs"]["decision"] == "ERROR"  # never a skipped comparison
    assert "could not download the baseline (HTTP 500)" in result["stdout"]
    assert "## ⛔ taskeval: ERROR" in result["summary"] and "**Fix:**" in result["summary"]
    (workspace / "production.json").write_bytes(baseline_bytes(workspace))
    with fake_github(GitHubState(fail_status=500)) as state:
        result = run_action(workspace, state, baseline="production.json")
    assert result["code"] == 0 and result["outputs"]["decision"] == "DEPLOY"
    assert result["stdout"].count("::warning::") == 2  # comment, check run
    assert "the GitHub API is failing" in result["stdout"]
    assert "## ✅ taskeval: DEPLOY" in result["summary"] and "GitHub warnings" in result["summary"]


def test_bad_input_is_an_error_that_fails_the_job_with_the_fix(workspace: Path) -> None:
    with fake_github() as state:
        result = run_action(workspace, state, benchmark="missing.jsonl")
        assert result["code"] == 2 and result["outputs"]["decision"] == "ERROR"
        assert "::error::missing.jsonl: benchmark file not found" in result["stdout"]
        assert "## ⛔ taskeval: ERROR" in result["summary"] and "**Fix:**" in result["summary"]
        assert state.check_runs[0]["conclusion"] == "failure"
        invalid = run_action(workspace, state, **{"fail-on": "sometimes"})
        assert invalid["code"] == 2 and "input 'fail-on' is 'sometimes'" in invalid["stdout"]


def test_each_failed_blocking_gate_is_an_error_on_its_config_line(workspace: Path) -> None:
    with fake_github() as state:
        result = run_action(workspace, state, predictions="bad.jsonl")
        annotations = state.check_runs[0]["output"]["annotations"]
    config_lines = (workspace / "taskeval.yml").read_text().splitlines()
    line = next(i for i, text in enumerate(config_lines, start=1) if "name: accuracy," in text)
    assert f"::error file=taskeval.yml,line={line}::gate accuracy:" in result["stdout"]
    assert {a["title"]: a["start_line"] for a in annotations}["gate accuracy"] == line


def test_fail_on_never_and_warning(workspace: Path) -> None:
    with fake_github() as state:
        never = run_action(workspace, state, predictions="bad.jsonl", **{"fail-on": "never"})
        assert never["code"] == 0 and never["outputs"]["deploy-allowed"] == "false"
        assert state.check_runs[-1]["conclusion"] == "neutral"
        rows = benchmark_rows(500)
        warned = [{"id": r["id"], "output": "{}" if i < 60 else r["expected_output"]} for i, r in enumerate(rows)]
        write_jsonl(workspace / "warned.jsonl", warned + redteam_predictions())  # 88%: passes blocking, warns
        strict = run_action(workspace, state, predictions="warned.jsonl", **{"fail-on": "warning"})
        assert strict["outputs"]["decision"] == "DEPLOY" and strict["code"] == 1
        assert state.check_runs[-1]["conclusion"] == "failure"


def test_evaluate_then_publish_is_the_fork_safe_pattern(workspace: Path) -> None:
    with fake_github() as state:
        state.head_sha = HEAD
        evaluated = run_action(workspace, state, mode="evaluate", **{"github-token": ""})
        assert evaluated["code"] == 0 and not state.comments and not state.check_runs
        workflow_run = {"workflow_run": {"head_sha": HEAD, "pull_requests": [], "event": "pull_request",
                                         "html_url": "https://github.example/runs/1"}}
        published = run_action(workspace, state, event_name="workflow_run", ref="refs/heads/main",
                               extra_event=workflow_run, mode="publish",
                               **{"pr-number": "7", "benchmark": "", "predictions": ""})
        assert published["code"] == 0, published["stdout"]
        assert len(state.comments) == 1 and state.check_runs[0]["head_sha"] == HEAD
        assert published["outputs"]["decision"] == "DEPLOY"
        (comment,) = state.comments.values()
        assert "## ✅ taskeval: DEPLOY" in comment["body"] and "evaluation run" in comment["body"]


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another owner needs root, as in the container")
def test_files_written_into_the_workspace_are_handed_to_its_owner(workspace: Path) -> None:
    os.chown(workspace, 1234, 1234)
    with fake_github() as state:
        assert run_action(workspace, state, **{"check-run": "false", "comment": "false"})["code"] == 0
    written = [workspace / "taskeval-report", *(workspace / "taskeval-report").iterdir()]
    assert {(p.stat().st_uid, p.stat().st_gid) for p in written} == {(1234, 1234)}


def test_an_internal_failure_is_an_error_report_not_a_bare_traceback(workspace: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import evaluator.action.main as entrypoint
    import evaluator.pipeline

    def broken(options: object) -> None:
        raise RuntimeError("device lost")

    monkeypatch.setattr(evaluator.pipeline, "run", broken)
    monkeypatch.chdir(workspace)
    inputs = entrypoint.ActionInputs.from_env({"INPUT_MODEL": "m", "INPUT_BENCHMARK": "bench.jsonl"})
    outcome, result, _ = entrypoint.evaluate(inputs, None, None, workspace / "out")
    assert result is None and outcome.decision == "ERROR"
    assert "internal error: RuntimeError: device lost" in outcome.markdown_path.read_text()
    assert entrypoint.job_fails(outcome.decision, 0, "never")


def test_stop_early_input_stops_the_run_and_the_comment_says_so(workspace: Path) -> None:
    rows = benchmark_rows(500)
    worse = [{"id": r["id"], "output": "{}" if i % 2 else r["expected_output"]} for i, r in enumerate(rows)]
    write_jsonl(workspace / "worse.jsonl", worse + redteam_predictions())  # 50% against a gate at 85%
    with fake_github() as state:
        result = run_action(workspace, state, predictions="worse.jsonl", **{"stop-early": "true"})
        report = json.loads((workspace / "taskeval-report" / "report.json").read_text())
        (comment,) = state.comments.values()
    (stop,) = report["stopping"]
    assert result["code"] == 1 and result["outputs"]["decision"] == "BLOCK"
    assert stop["stopped"] and stop["cases_used"] < 500
    assert f"**Stopped early**: stopped after {stop['cases_used']} of 500 cases" in comment["body"]


RUN_ID = "4242"


def test_a_sharded_workflow_replayed_shard_jobs_then_the_gate(workspace: Path) -> None:
    """The matrix of `taskeval init --shards 2`: each shard job writes its record (upload-artifact stores it in the
    stand-in, as the workflow's step does), then the gate job downloads the run's artifacts, merges, and posts one
    comment and one check run; its report equals one unsharded run's. Then the gate without shard 2: ERROR."""
    with fake_github() as state:
        state.add_release("taskeval-baseline", {"baseline.json": baseline_bytes(workspace)})
        for index in (1, 2):
            shard = run_action(workspace, state, mode="shard", shard=f"{index}/2", **{"output-dir": f"out-{index}"})
            assert shard["code"] == 0, shard["stderr"][-2000:]
            record = workspace / shard["outputs"]["shard-record"]
            assert record.name == f"shard-{index}-of-2.json" and f"shard {index}/2" in shard["summary"]
            assert "decision" not in shard["outputs"]
            state.add_artifact(int(RUN_ID), f"taskeval-shard-{index}-of-2", {record.name: record.read_bytes()})
        assert not state.comments and not state.check_runs  # a shard decides nothing and posts nothing
        whole = run_action(workspace, state, mode="evaluate", **{"output-dir": "gated"})  # one run, to compare
        assert whole["code"] == 0
        one_run = json.loads((workspace / "gated" / "report.json").read_text())
        gate = run_action(workspace, state, mode="gate", predictions="", environment={"GITHUB_RUN_ID": RUN_ID},
                          **{"output-dir": "gated"})
        assert gate["code"] == 0, gate["stderr"][-2000:]
        assert gate["outputs"]["decision"] == "DEPLOY"
        assert len(state.comments) == 1 and len(state.check_runs) == 1
        assert "merged from 2 shards" in next(iter(state.comments.values()))["body"]
        assert json.loads((workspace / "gated" / "report.json").read_text())["shards"]["count"] == 2
        assert sorted(p.name for p in (workspace / "taskeval-shards").iterdir()) == ["shard-1-of-2.json",
                                                                                    "shard-2-of-2.json"]
        assert comparable(json.loads((workspace / "gated" / "report.json").read_text())) == comparable(one_run)

        # the gate of a run whose shard 2 never uploaded: ERROR, in the sticky comment and the check run too
        for artifact_id in [i for i, a in state.artifacts.items() if a["name"].endswith("2-of-2")]:
            del state.artifacts[artifact_id]
        shutil.rmtree(workspace / "taskeval-shards")
        failed = run_action(workspace, state, mode="gate", predictions="", environment={"GITHUB_RUN_ID": RUN_ID},
                            **{"output-dir": "gated"})
        assert failed["code"] == 2 and failed["outputs"]["decision"] == "ERROR"
        assert "shard 2/2 is missing (have 1 of 2 records)" in failed["stdout"] + failed["stderr"]
        (comment,) = state.comments.values()
        assert "taskeval: ERROR" in comment["body"] and "shard 2/2 is missing" in comment["body"]
        assert [run["conclusion"] for run in state.check_runs] == ["success", "failure"]
        assert json.loads((workspace / "gated" / "report.json").read_text())["decision"] == "ERROR"


def test_the_gate_fails_closed_when_github_cannot_list_the_artifacts(workspace: Path) -> None:
    with fake_github() as state:
        state.faults["list_artifacts"] = [500]
        failed = run_action(workspace, state, mode="gate", predictions="", environment={"GITHUB_RUN_ID": RUN_ID})
        assert failed["code"] == 2 and failed["outputs"]["decision"] == "ERROR"
        assert "could not download the shard records (HTTP 500)" in failed["stdout"] + failed["stderr"]
        (comment,) = state.comments.values()
        assert "taskeval: ERROR" in comment["body"] and "DEPLOY" not in comment["body"]
        assert [run["conclusion"] for run in state.check_runs] == ["failure"]
