"""The GitHub Action's entrypoint: read the inputs, run taskeval, hand the result to GitHub.

A GitHub problem (a fork's read-only token, a missing permission or release, an outage) never changes the
decision: it becomes a `::warning::` with the fix, and the report still reaches the step summary.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.action_io import append_summary, command, get_input, hand_to_owner, mask, set_outputs
from evaluator.errors import TaskevalError
from evaluator.names import Decision
from evaluator.redaction import redact, register_secrets

FAIL_ON = ("blocking", "warning", "never")
Warn = Callable[[Exception, str], None]
MODES = ("all", "evaluate", "publish")
DECISIONS = tuple(d.value for d in Decision)
DEPLOY, BLOCK, ERROR = Decision.DEPLOY, Decision.BLOCK, Decision.ERROR


@dataclass(frozen=True)
class Inputs:
    """The action's inputs (docs/action.md)."""

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
        if inputs.pr_number and not (inputs.pr_number.isdigit() and int(inputs.pr_number) > 0):
            raise TaskevalError(f"input 'pr-number' is '{inputs.pr_number}'; it must be a pull-request number",
                                "pass `pr-number: ${{ github.event.workflow_run.pull_requests[0].number }}` or leave "
                                "it out on a pull_request event")
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
    if decision == ERROR:
        return True
    if fail_on == "never":
        return False
    return decision == BLOCK or (fail_on == "warning" and warnings > 0)


def conclusion(outcome: Outcome, fail_on: str) -> str:
    if job_fails(outcome.decision, outcome.warnings, fail_on):
        return "failure"
    return "neutral" if outcome.decision == BLOCK or outcome.warnings else "success"


def relative(path: Path, workspace: Path) -> str:
    try:
        return str(path.resolve().relative_to(workspace.resolve()))
    except ValueError:
        return str(path)


def outcome_from_report(report: Any, json_path: Path, markdown_path: Path) -> Outcome:
    """The job's outcome from a report (in memory, or read back in `mode: publish`)."""
    if not isinstance(report, dict) or report.get("decision") not in DECISIONS or \
            not isinstance(report.get("gates", []), list):
        raise TaskevalError(f"{json_path}: not a taskeval report (no valid 'decision')",
                            "publish the report.json that `mode: evaluate` wrote, unmodified")
    gates = [g for g in report.get("gates", []) if isinstance(g, dict)]
    failed = tuple(g for g in gates if g.get("passed") is not True)
    warnings = sum(1 for g in failed if g.get("gate_type") == "warning")
    blocking = sum(1 for g in failed if g.get("gate_type") == "blocking")
    decision = str(report["decision"])
    if decision == ERROR:
        error = report.get("error")
        message = error.get("message", "see the report") if isinstance(error, dict) else "see the report"
        summary = f"taskeval: ERROR — {message}"
    else:
        summary = (f"taskeval: {decision} — {len(gates) - len(failed)}/{len(gates)} gates passed, "
                   f"{blocking} blocking failed, {warnings} warnings")
    return Outcome(decision, json_path, markdown_path, warnings, summary, failed_gates=failed)


def read_report(output_dir: Path) -> Outcome:
    """`mode: publish`: the report that `mode: evaluate` left, checked."""
    from evaluator.files import read_text, strict_json
    from evaluator.report import report_paths

    json_path, markdown_path = report_paths(output_dir)
    text = read_text(json_path, "report", "output-dir (run `mode: evaluate` first)")
    read_text(markdown_path, "Markdown report", "output-dir (run `mode: evaluate` first)")
    try:
        report = strict_json(text)
    except ValueError:
        raise TaskevalError(f"{json_path}: the report is not valid JSON",
                            "publish the report.json that `mode: evaluate` wrote, unmodified") from None
    return outcome_from_report(report, json_path, markdown_path)


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


def evaluate(inputs: Inputs, github: Any, context: Any, output_dir: Path, warn: Warn
             ) -> tuple[Outcome, Any, Path | None]:
    """Run taskeval and write its reports (with the new baseline when one is due, all or none); returns the outcome,
    the run's result (None for an ERROR) and the new baseline's path. An input error becomes an ERROR report."""
    from evaluator.baseline import baseline_text
    from evaluator.files import check_writable_dir
    from evaluator.pipeline import RunOptions, run
    from evaluator.report import write_error_reports, write_reports

    check_writable_dir(output_dir, "output folder (input 'output-dir')")
    try:
        baseline = _baseline(inputs, github, output_dir, warn)
        result = run(RunOptions(
            benchmark=Path(inputs.benchmark), model=Path(inputs.model) if inputs.model else None,
            config=Path(inputs.config) if inputs.config else None,
            predictions=Path(inputs.predictions) if inputs.predictions else None, baseline=baseline,
            progress=False, judge_api_key=inputs.openai_api_key or None,
        ))
    except TaskevalError as error:
        command("error", str(error))
        paths = write_error_reports(error.message, error.hint, output_dir)
        return outcome_from_report({"decision": ERROR, "error": {"message": error.message}}, *paths), None, None
    except Exception as error:  # a bug: keep the traceback in the log, and still report ERROR, never a verdict
        print(redact(traceback.format_exc()), file=sys.stderr)
        message = f"internal error: {type(error).__name__}: {error}"
        command("error", message)
        paths = write_error_reports(message, "this is a taskeval bug; report it with the traceback in the job log",
                                    output_dir)
        return outcome_from_report({"decision": ERROR, "error": {"message": message}}, *paths), None, None
    new_baseline = output_dir / inputs.baseline_asset
    update = github is not None and should_update_baseline(inputs, context, result.decision)
    paths = write_reports(result, output_dir, {new_baseline: baseline_text(result)} if update else {})
    summary = {"decision": result.decision, "gates": [gate.to_json() for gate in result.gates]}
    return outcome_from_report(summary, *paths), result, (new_baseline if update else None)


def should_update_baseline(inputs: Inputs, context: Any, decision: str) -> bool:
    if decision != DEPLOY or inputs.update_baseline == "false" or context.event_name.startswith("pull_request"):
        return False
    if inputs.update_baseline == "true":
        return True
    return context.event_name in ("push", "workflow_dispatch") and context.on_default_branch


def config_gate_lines(config_path: str) -> dict[str, int]:
    """Gate name → its line in the config, read once for the log's errors and the check run's annotations."""
    from evaluator.yaml_lines import gate_lines

    return gate_lines(Path(config_path)) if config_path else {}


def gate_annotations(outcome: Outcome, config_path: str, lines: Mapping[str, int]) -> list[dict[str, Any]]:
    """One annotation per failed gate, on the gate's own line of the config (line 1 when it is a default gate)."""
    level = {"blocking": "failure", "warning": "warning"}
    return [{"path": config_path or ".github", "start_line": lines.get(str(g.get("name")), 1),
             "end_line": lines.get(str(g.get("name")), 1),
             "annotation_level": level.get(str(g.get("gate_type")), "warning"),
             "title": f"gate {g.get('name')}", "message": str(g.get("explanation", ""))[:1000]}
            for g in outcome.failed_gates]


def report_failed_gates(outcome: Outcome, config_path: str, lines: Mapping[str, int]) -> None:
    """One `::error::` per failed blocking gate in the job log, on the gate's line of the config."""
    for gate in outcome.failed_gates:
        if gate.get("gate_type") != "blocking":
            continue
        name = str(gate.get("name"))
        place = {"file": config_path, "line": lines[name]} if name in lines else {}
        command("error", f"gate {name}: {gate.get('explanation', '')}", place)


def post(inputs: Inputs, github: Any, context: Any, outcome: Outcome, pr_number: int | None, warn: Warn,
         lines: Mapping[str, int]) -> None:
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
                                          outcome.summary[:255], body,
                                          gate_annotations(outcome, inputs.config, lines))
            print(f"check run: {url}")
        except Exception as error:
            warn(error, "create the check run")


def fail_with_error(env: Mapping[str, str], error: Exception, output_dir: Path | None) -> int:
    """Whatever failed, the job reports ERROR: `::error::` with cause and fix, the step summary, the outputs, and no
    file left claiming another decision. Each of these is tried on its own, so one broken sink cannot hide the
    others."""
    from evaluator.markdown_text import escape_cell
    from evaluator.report import clear_reports, write_error_reports

    if isinstance(error, TaskevalError):
        message, hint = error.message, error.hint or "see the job log"
    else:
        print(redact(traceback.format_exc()), file=sys.stderr)
        message = f"internal error: {type(error).__name__}: {error}"
        hint = "this is a taskeval bug; report it with the traceback in the job log"
    command("error", f"{message}\n  hint: {hint}")
    attempts: list[Callable[[], object]] = [
        lambda: append_summary(env, f"## ⛔ taskeval: ERROR\n\n**Cause:** {escape_cell(message, 2000)}\n\n"
                                    f"**Fix:** {escape_cell(hint, 2000)}\n"),
        lambda: set_outputs(env, {"decision": ERROR.value, "deploy-allowed": "false", "baseline-updated": "false",
                                  "summary": f"taskeval: ERROR — {message}"}),
    ]
    if output_dir is not None:
        attempts.append(lambda: write_error_reports(message, hint, output_dir))
    for attempt in attempts:
        try:
            attempt()
        except OSError as failure:
            command("warning", f"could not write the error everywhere: {failure}")
            if output_dir is not None:
                clear_reports(output_dir)
    return 1


def run_modes(env: Mapping[str, str], inputs: Inputs, output_dir: Path) -> int:
    """`mode: all`, `evaluate` or `publish`: evaluate and/or post, then the summary, outputs and exit code."""
    from evaluator.github import GitHubClient, GitHubContext, explain

    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    context = GitHubContext.from_env(env, inputs.github_token)
    github = GitHubClient(context) if inputs.github_token and context.repository else None
    warnings: list[str] = []

    def warn(error: Exception, action: str) -> None:
        message = explain(error, action)
        warnings.append(message)
        command("warning", message)

    if github is None and inputs.mode != "evaluate" and (inputs.comment or inputs.check_run):
        command("warning", "no github-token (or GITHUB_REPOSITORY): no comment, check run, baseline download or "
                           "publication; pass `github-token: ${{ github.token }}` (the default)")
    cache_dir = Path(".taskeval-cache")
    lines = config_gate_lines(inputs.config)
    if inputs.mode == "publish":
        outcome = read_report(output_dir)
        pr_number = int(inputs.pr_number) if inputs.pr_number else context.pr_number
    else:
        command("group", "taskeval run")
        outcome, result, new_baseline = evaluate(inputs, github, context, output_dir, warn)
        print("::endgroup::", flush=True)
        report_failed_gates(outcome, inputs.config, lines)
        pr_number = context.pr_number
        cache_dir = Path(result.config["generation"]["cache_dir"]) if result is not None else cache_dir
        if new_baseline is not None and github is not None:
            try:
                github.publish_baseline(inputs.baseline_release, inputs.baseline_asset, new_baseline)
                outcome.baseline_updated = True
            except Exception as error:  # GitHub problems never change the decision
                warn(error, "publish the new baseline (the old one is kept)")
    if inputs.mode != "evaluate" and github is not None:
        post(inputs, github, context, outcome, pr_number, warn, lines)
    finish(env, inputs, outcome, warnings, [output_dir, cache_dir], workspace)
    return 1 if job_fails(outcome.decision, outcome.warnings, inputs.fail_on) else 0


def finish(env: Mapping[str, str], inputs: Inputs, outcome: Outcome, warnings: list[str], written: list[Path],
           workspace: Path) -> None:
    """The step summary (a summary that cannot be written is a warning), the outputs, files handed back."""
    from evaluator.markdown_text import escape_cell

    try:
        append_summary(env, outcome.markdown_path.read_text(encoding="utf-8"))
        if warnings:
            append_summary(env, "\n".join(["", "**GitHub warnings** (the decision is unchanged):", "",
                                           *[f"- {escape_cell(w, 600)}" for w in warnings]]))
    except OSError as error:
        command("warning", f"could not write the step summary ({error}); the report is in {inputs.output_dir}")
    set_outputs(env, {
        "decision": str(outcome.decision), "deploy-allowed": str(outcome.decision == DEPLOY).lower(),
        "report-json": relative(outcome.json_path, workspace),
        "report-markdown": relative(outcome.markdown_path, workspace),
        "baseline-updated": str(outcome.baseline_updated).lower(), "summary": outcome.summary,
    })
    hand_to_owner(written, workspace)
    print(redact(outcome.summary))


def main(env: Mapping[str, str] | None = None) -> int:
    """The Action: inputs checked, secrets masked and redacted, then the mode; any failure is an ERROR job."""
    env = dict(os.environ if env is None else env)
    register_secrets([get_input(env, "github-token", env.get("GITHUB_TOKEN", "")), get_input(env, "openai-api-key")])
    output_dir: Path | None = None
    try:
        inputs = Inputs.from_env(env)
        mask(inputs.github_token)
        mask(inputs.openai_api_key)
        output_dir = Path(inputs.output_dir)
        return run_modes(env, inputs, output_dir)
    except Exception as error:  # whatever failed, the job reports ERROR everywhere and fails
        return fail_with_error(env, error, output_dir)


if __name__ == "__main__":
    sys.exit(main())
