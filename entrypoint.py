"""The GitHub Action's entrypoint: read the inputs, run taskeval, hand the result to GitHub.

A GitHub problem (a fork's read-only token, a missing permission or release, an outage) never changes the
decision: it becomes a `::warning::` with the fix, and the report still reaches the step summary.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.action_io import append_summary, command, get_input, hand_to_owner, mask, set_outputs
from evaluator.errors import TaskevalError

FAIL_ON = ("blocking", "warning", "never")
Warn = Callable[[Exception, str], None]
MODES = ("all", "evaluate", "publish")


@dataclass(frozen=True)
class Inputs:
    """The action's inputs (SPEC §9)."""

    model: str
    benchmark: str
    config: str
    predictions: str
    baseline: str
    baseline_release: str
    baseline_asset: str
    update_baseline: str
    github_token: str
    openai_api_key: str
    comment: bool
    check_run: bool
    check_name: str
    output_dir: str
    fail_on: str
    mode: str
    pr_number: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Inputs:
        def flag(name: str, default: str) -> bool:
            return get_input(env, name, default).lower() in ("true", "1", "yes")

        inputs = cls(
            model=get_input(env, "model"), benchmark=get_input(env, "benchmark"), config=get_input(env, "config"),
            predictions=get_input(env, "predictions"), baseline=get_input(env, "baseline"),
            baseline_release=get_input(env, "baseline-release", "taskeval-baseline"),
            baseline_asset=get_input(env, "baseline-asset", "baseline.json"),
            update_baseline=get_input(env, "update-baseline", "auto").lower(),
            github_token=get_input(env, "github-token", env.get("GITHUB_TOKEN", "")),
            openai_api_key=get_input(env, "openai-api-key"), comment=flag("comment", "true"),
            check_run=flag("check-run", "true"), check_name=get_input(env, "check-name", "taskeval"),
            output_dir=get_input(env, "output-dir", "taskeval-report"),
            fail_on=get_input(env, "fail-on", "blocking").lower(), mode=get_input(env, "mode", "all").lower(),
            pr_number=get_input(env, "pr-number"),
        )
        for name, value, allowed in (("fail-on", inputs.fail_on, FAIL_ON), ("mode", inputs.mode, MODES),
                                     ("update-baseline", inputs.update_baseline, ("auto", "true", "false"))):
            if value not in allowed:
                raise TaskevalError(f"input '{name}' is '{value}'; allowed: {', '.join(allowed)}",
                                    f"set `{name}:` in the step's `with:` to one of them")
        if inputs.mode != "publish" and (not inputs.benchmark or not (inputs.model or inputs.predictions)):
            raise TaskevalError("inputs 'model' (or 'predictions') and 'benchmark' are required",
                                "add them under `with:`, e.g. `model: models/task-api` and "
                                "`benchmark: benchmarks/task_api.jsonl`")
        return inputs


@dataclass
class Outcome:
    """What the job reports, whichever way it got there."""

    decision: str
    json_path: Path
    markdown_path: Path
    warnings: int = 0
    summary: str = ""
    baseline_updated: bool = False
    failed_gates: tuple[dict[str, Any], ...] = ()


def job_fails(decision: str, warnings: int, fail_on: str) -> bool:
    """ERROR always fails; BLOCK unless fail-on is never; warnings too when fail-on is warning."""
    if decision == "ERROR":
        return True
    if fail_on == "never":
        return False
    return decision == "BLOCK" or (fail_on == "warning" and warnings > 0)


def conclusion(outcome: Outcome, fail_on: str) -> str:
    if job_fails(outcome.decision, outcome.warnings, fail_on):
        return "failure"
    return "neutral" if outcome.decision == "BLOCK" or outcome.warnings else "success"


def relative(path: Path, workspace: Path) -> str:
    try:
        return str(path.resolve().relative_to(workspace.resolve()))
    except ValueError:
        return str(path)


def outcome_from_report(json_path: Path, markdown_path: Path) -> Outcome:
    report = json.loads(json_path.read_text(encoding="utf-8"))
    gates = report.get("gates", [])
    failed = tuple(g for g in gates if g.get("passed") is not True)
    warnings = sum(1 for g in failed if g.get("gate_type") == "warning")
    blocking = sum(1 for g in failed if g.get("gate_type") == "blocking")
    decision = str(report.get("decision", "ERROR"))
    if decision == "ERROR":
        summary = f"taskeval: ERROR — {report.get('error', {}).get('message', 'see the report')}"
    else:
        summary = (f"taskeval: {decision} — {len(gates) - len(failed)}/{len(gates)} gates passed, "
                   f"{blocking} blocking failed, {warnings} warnings")
    return Outcome(decision, json_path, markdown_path, warnings, summary, failed_gates=failed)


def _baseline(inputs: Inputs, github: Any, output_dir: Path, warn: Warn) -> Path | None:
    """The local baseline input, else the release asset (when reachable), else none (stage 3 skipped)."""
    if inputs.baseline:
        return Path(inputs.baseline)
    if github is None:
        return None
    destination = output_dir / "baseline-production.json"
    try:
        if github.download_baseline(inputs.baseline_release, inputs.baseline_asset, destination):
            return destination
        print(f"No baseline yet (release '{inputs.baseline_release}', asset '{inputs.baseline_asset}'): the "
              "comparison is skipped; a passing run on the default branch will publish the first one.")
    except Exception as error:  # GitHub problems never change the decision
        warn(error, "download the baseline")
    return None


def evaluate(inputs: Inputs, github: Any, output_dir: Path, warn: Warn) -> tuple[Outcome, Any]:
    """Run taskeval; an input error becomes an ERROR report instead of a traceback."""
    from evaluator.pipeline import RunOptions, run
    from evaluator.report import write_error_reports, write_reports

    try:
        baseline = _baseline(inputs, github, output_dir, warn)
        result = run(RunOptions(
            benchmark=Path(inputs.benchmark), model=Path(inputs.model) if inputs.model else None,
            config=Path(inputs.config) if inputs.config else None,
            predictions=Path(inputs.predictions) if inputs.predictions else None, baseline=baseline,
            progress=False,
        ))
    except TaskevalError as error:
        command("error", str(error))
        paths = write_error_reports(error.message, error.hint, output_dir)
        return outcome_from_report(*paths), None
    except Exception as error:  # a bug: keep the traceback in the log, and still report ERROR, never a verdict
        traceback.print_exc()
        message = f"internal error: {type(error).__name__}: {error}"
        command("error", message)
        paths = write_error_reports(message, "this is a taskeval bug; report it with the traceback in the job log",
                                    output_dir)
        return outcome_from_report(*paths), None
    paths = write_reports(result, output_dir)
    return outcome_from_report(*paths), result


def should_update_baseline(inputs: Inputs, context: Any, decision: str) -> bool:
    if decision != "DEPLOY" or inputs.update_baseline == "false" or context.event_name.startswith("pull_request"):
        return False
    if inputs.update_baseline == "true":
        return True
    return context.event_name in ("push", "workflow_dispatch") and context.on_default_branch


def gate_annotations(outcome: Outcome, config_path: str) -> list[dict[str, Any]]:
    level = {"blocking": "failure", "warning": "warning"}
    return [{"path": config_path or ".github", "start_line": 1, "end_line": 1,
             "annotation_level": level.get(str(g.get("gate_type")), "warning"),
             "title": f"gate {g.get('name')}", "message": str(g.get("explanation", ""))[:1000]}
            for g in outcome.failed_gates]


def post(inputs: Inputs, github: Any, context: Any, outcome: Outcome, pr_number: int | None, warn: Warn) -> None:
    """The sticky comment and the check run; each failure is a warning, never a different decision."""
    body = outcome.markdown_path.read_text(encoding="utf-8")
    if inputs.comment and pr_number is not None:
        try:
            print(f"comment: {github.upsert_comment(pr_number, inputs.check_name, body)}")
        except Exception as error:
            warn(error, "post the pull-request comment")
    if inputs.check_run:
        try:
            head = github.pull_head_sha(pr_number) if inputs.mode == "publish" and pr_number else context.head_sha
            url = github.create_check_run(inputs.check_name, head, conclusion(outcome, inputs.fail_on),
                                          outcome.summary[:255], body, gate_annotations(outcome, inputs.config))
            print(f"check run: {url}")
        except Exception as error:
            warn(error, "create the check run")


def main(env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    from evaluator.github import GitHubClient, GitHubContext, explain

    try:
        inputs = Inputs.from_env(env)
    except TaskevalError as error:
        command("error", str(error))
        append_summary(env, f"## ⛔ taskeval: ERROR\n\n**Cause:** {error.message}\n\n**Fix:** {error.hint}\n")
        set_outputs(env, {"decision": "ERROR", "deploy-allowed": "false", "baseline-updated": "false",
                          "summary": f"taskeval: ERROR — {error.message}"})
        return 1
    mask(inputs.github_token)
    mask(inputs.openai_api_key)
    if inputs.openai_api_key:
        os.environ["OPENAI_API_KEY"] = inputs.openai_api_key
    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    output_dir = Path(inputs.output_dir)
    context = GitHubContext.from_env(env, inputs.github_token)
    github = GitHubClient(context) if inputs.github_token and context.repository else None
    warnings: list[str] = []

    def warn(error: Exception, action: str) -> None:
        message = explain(error, action)
        warnings.append(message)
        command("warning", message)

    if inputs.mode == "publish":
        json_path, markdown_path = output_dir / "report.json", output_dir / "report.md"
        if not json_path.exists():
            command("error", f"mode: publish found no report in {output_dir}")
            return 1
        outcome, result = outcome_from_report(json_path, markdown_path), None
        pr_number = int(inputs.pr_number) if inputs.pr_number.isdigit() else context.pr_number
    else:
        command("group", "taskeval run")
        outcome, result = evaluate(inputs, github, output_dir, warn)
        print("::endgroup::", flush=True)
        pr_number = context.pr_number
        if result is not None and github is not None and should_update_baseline(inputs, context, outcome.decision):
            from evaluator.baseline import write_baseline

            path = output_dir / inputs.baseline_asset
            write_baseline(result, path)
            try:
                github.publish_baseline(inputs.baseline_release, inputs.baseline_asset, path)
                outcome.baseline_updated = True
            except Exception as error:
                warn(error, "publish the new baseline (the old one is kept)")
    if inputs.mode != "evaluate" and github is not None:
        post(inputs, github, context, outcome, pr_number, warn)
    append_summary(env, outcome.markdown_path.read_text(encoding="utf-8"))
    if warnings:
        append_summary(env, "\n".join(["", "**GitHub warnings** (the decision is unchanged):", "",
                                       *[f"- {w}" for w in warnings]]))
    set_outputs(env, {
        "decision": outcome.decision, "deploy-allowed": str(outcome.decision == "DEPLOY").lower(),
        "report-json": relative(outcome.json_path, workspace),
        "report-markdown": relative(outcome.markdown_path, workspace),
        "baseline-updated": str(outcome.baseline_updated).lower(), "summary": outcome.summary,
    })
    cache_dir = result.config["generation"]["cache_dir"] if inputs.mode != "publish" and result else ".taskeval-cache"
    hand_to_owner([output_dir, Path(cache_dir)], workspace)
    print(outcome.summary)
    return 1 if job_fails(outcome.decision, outcome.warnings, inputs.fail_on) else 0


if __name__ == "__main__":
    sys.exit(main())
