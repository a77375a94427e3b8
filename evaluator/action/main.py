"""The GitHub Action: read the inputs, run taskeval, hand the result to GitHub (entrypoint.py calls `main`).

Fail closed at the edges (docs/security.md): an input the run needs from GitHub (the baseline) that cannot be read
is ERROR, never a skipped comparison; only a release that does not exist yet (the first run) skips it. The sinks
run in order: the reports, the outputs and the step summary first; the baseline asset, the comment and the check
run last, and only when every local sink succeeded. A failure to post (a fork's read-only token, an outage) is a
`::warning::` and never changes the decision.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.action.io import GuardedStdout, append_summary, command, get_input, hand_to_owner, mask, set_outputs
from evaluator.core.environment import interrupts_end_the_run
from evaluator.core.errors import TaskevalError
from evaluator.core.names import Decision
from evaluator.core.redaction import redact, register_environment, register_secrets

if TYPE_CHECKING:
    from evaluator.pipeline import RunOptions
    from evaluator.stages.gates import GateResult

FAIL_ON = ("blocking", "warning", "never")
Warn = Callable[[Exception, str], None]
MODES = ("all", "evaluate", "publish", "validate", "shard", "gate")
SHARD_ARTIFACT_PREFIX = "taskeval-shard-"
"""The artifact names the shard jobs upload their records under (docs/scaling.md); `mode: gate` downloads these."""
DEPLOY, BLOCK, ERROR = Decision.DEPLOY, Decision.BLOCK, Decision.ERROR
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
"""Exit codes: the job passes, fails on its gates (BLOCK, or warnings with `fail-on: warning`), or is an ERROR."""
PR_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


@dataclass(frozen=True)
class ActionInputs:
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
    trust_remote_code: bool
    accept_regression: str
    stop_early: bool
    shard: str
    """`mode: shard`: which shard, K/N."""
    shard_records: str
    """`mode: gate`: the folder of shard records (downloaded from this run's artifacts when it has none)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionInputs:
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
            pr_number=get_input(env, "pr-number"), trust_remote_code=flag("trust-remote-code", "false"),
            accept_regression=get_input(env, "accept-regression"), stop_early=flag("stop-early", "false"),
            shard=get_input(env, "shard"), shard_records=get_input(env, "shard-records", "taskeval-shards"),
        )
        for name, value, allowed in (("fail-on", inputs.fail_on, FAIL_ON), ("mode", inputs.mode, MODES),
                                     ("update-baseline", inputs.update_baseline, ("auto", "true", "false"))):
            if value not in allowed:
                raise TaskevalError(f"input '{name}' is '{value}'; allowed: {', '.join(allowed)}",
                                    f"set `{name}:` in the step's `with:` to one of them")
        if inputs.pr_number and not (inputs.pr_number.isascii() and PR_NUMBER.fullmatch(inputs.pr_number)):
            raise TaskevalError(f"input 'pr-number' is '{inputs.pr_number}'; it must be a pull-request number",
                                "pass `pr-number: ${{ github.event.workflow_run.pull_requests[0].number }}` or leave "
                                "it out on a pull_request event")
        if inputs.mode == "shard":
            from evaluator.core.sharding import parse_shard

            parse_shard(inputs.shard, "input 'shard'")
        if inputs.mode == "gate" and not inputs.benchmark:
            raise TaskevalError("input 'benchmark' is required in mode gate (the benchmark the shards ran)",
                                "add `benchmark:` (and `config:`) under `with:`, as in the shard jobs")
        if inputs.mode not in ("publish", "gate") and (not inputs.benchmark or
                                                        not (inputs.model or inputs.predictions)):
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
    body: str = ""
    """The Markdown for the step summary, the comment and the check run."""
    warnings: int = 0
    summary: str = ""
    baseline_updated: bool = False
    failed_gates: tuple[GateResult, ...] = ()


def exit_code(outcome: Outcome, fail_on: str) -> int:
    if outcome.decision == ERROR:
        return EXIT_ERROR
    return EXIT_FAIL if job_fails(outcome.decision, outcome.warnings, fail_on) else EXIT_PASS


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


def outcome_from_gates(decision: str, gates: Sequence[GateResult], error: str | None, json_path: Path,
                       markdown_path: Path, body: str) -> Outcome:
    """The job's outcome: the decision, its gates counted, and the one-line summary."""
    failed = tuple(g for g in gates if g.passed is not True)
    warnings = sum(1 for g in failed if not g.is_blocking)
    blocking = sum(1 for g in failed if g.is_blocking)
    if decision == ERROR:
        summary = f"taskeval: ERROR — {error or 'see the report'}"
    else:
        summary = (f"taskeval: {decision} — {len(gates) - len(failed)}/{len(gates)} gates passed, "
                   f"{blocking} blocking failed, {warnings} warnings")
    return Outcome(decision, json_path, markdown_path, body, warnings, summary, failed_gates=failed)


def error_outcome(message: str, paths: tuple[Path, Path]) -> Outcome:
    return outcome_from_gates(ERROR, [], message, *paths, paths[1].read_text(encoding="utf-8"))


def publish_target(github: Any, context: Any, inputs: ActionInputs) -> tuple[int, str]:
    """`mode: publish` posts only to the pull request of the event that triggered it (a `workflow_run` of a
    pull request, found by its head commit when GitHub lists none, as for forks); `pr-number`, when given, must be
    that one. Returns the pull request and its current head commit."""
    run = context.event.get("workflow_run")
    if isinstance(run, dict):
        listed = [p.get("number") for p in run.get("pull_requests") or [] if isinstance(p, dict)]
        head = str(run.get("head_sha") or "")
        candidates = [n for n in listed if isinstance(n, int)] or (github.open_pulls_at(head) if head else [])
    else:
        candidates = [context.pr_number] if context.pr_number is not None else []
    wanted = int(inputs.pr_number) if inputs.pr_number else None
    if wanted is not None and wanted not in candidates:
        raise TaskevalError(f"input 'pr-number' is {wanted}, but the triggering run belongs to "
                            f"{', '.join(f'#{n}' for n in candidates) or 'no open pull request'}",
                            "publish mode posts only to the pull request of its workflow_run; pass "
                            "`pr-number: ${{ github.event.workflow_run.pull_requests[0].number }}` or leave it out")
    if wanted is None and len(candidates) != 1:
        raise TaskevalError("no single pull request to publish to: the triggering event names "
                            f"{len(candidates)} open pull requests at its head commit",
                            "run `mode: publish` from `on: workflow_run` of the evaluation workflow")
    number = wanted if wanted is not None else candidates[0]
    return number, github.pull_head_sha(number)


def read_published(output_dir: Path, github: Any, context: Any, inputs: ActionInputs) -> tuple[Outcome, int, str]:
    """`mode: publish`: the report that an untrusted evaluation run left, checked and re-derived; it must be of the
    pull request's current head commit. Returns the outcome, the pull request and its head."""
    from evaluator.action.publish import FIX, check_report, published_markdown
    from evaluator.core.files import read_text, strict_json
    from evaluator.report.writer import report_paths

    json_path, markdown_path = report_paths(output_dir)
    text = read_text(json_path, "report", "output-dir (run `mode: evaluate` first)")
    try:
        data = strict_json(text)
    except ValueError:
        raise TaskevalError(f"{json_path}: the report is not valid JSON", FIX) from None
    report = check_report(data, json_path)
    if github is None:
        raise TaskevalError("mode: publish needs a github-token to find the pull request and post",
                            "pass `github-token: ${{ github.token }}` (the default)")
    pr_number, head = publish_target(github, context, inputs)
    if report.decision != ERROR and report.commit != head:  # an ERROR report can claim no verdict, stale or not
        raise TaskevalError(f"{json_path}: the report is of commit {str(report.commit)[:12]}, but pull request "
                            f"#{pr_number} is now at {head[:12]}: it is stale or not this pull request's",
                            "let the evaluation run of the current head finish; its workflow_run publishes it")
    run = context.event.get("workflow_run")
    body = published_markdown(report, str(run.get("html_url")) if isinstance(run, dict) and run.get("html_url")
                              else None)
    return (outcome_from_gates(report.decision, report.gates, report.error, json_path, markdown_path, body),
            pr_number, head)


def _baseline(inputs: ActionInputs, github: Any, output_dir: Path) -> Path | None:
    """The local baseline input, else the release asset, else none when the release does not exist yet (the first
    run: stage 3 skipped). Any other failure to read it is a TaskevalError: the comparison is never skipped
    because GitHub failed."""
    from evaluator.action.github import explain

    if inputs.baseline:
        return Path(inputs.baseline)
    if github is None:
        print("No github-token: the baseline release is not read, so the comparison with production is skipped.")
        return None
    destination = output_dir / "baseline-production.json"
    try:
        found = github.download_baseline(inputs.baseline_release, inputs.baseline_asset, destination)
    except TaskevalError:
        raise
    except Exception as error:
        raise TaskevalError(f"{explain(error, 'download the baseline')}; the comparison with production cannot "
                            "run, so there is no verdict", "re-run the job once GitHub answers, or fix the token's "
                            "`contents: read` permission; a missing release is the only case that skips the "
                            "comparison") from None
    if found:
        return destination
    print(f"No baseline yet (release '{inputs.baseline_release}' does not exist): the comparison is skipped; a "
          "passing run on the default branch will publish the first one.")
    return None


def run_options(inputs: ActionInputs, context: Any, baseline: Path | None = None,
                shard_records: tuple[Path, ...] = ()) -> RunOptions:
    """What the inputs ask of a run (or of a shard, or of a gate over shard records)."""
    from evaluator.pipeline import RunOptions
    from evaluator.stages.results import AcceptedRegression

    return RunOptions(
        benchmark=Path(inputs.benchmark), model=Path(inputs.model) if inputs.model else None,
        config=Path(inputs.config) if inputs.config else None,
        predictions=Path(inputs.predictions) if inputs.predictions else None, baseline=baseline,
        progress=False, judge_api_key=inputs.openai_api_key or None,
        commit=context.head_sha or None if context is not None else None,
        accept_regression=AcceptedRegression(os.environ.get("GITHUB_ACTOR", "the workflow"),
                                             inputs.accept_regression) if inputs.accept_regression else None,
        stop_early=inputs.stop_early, shard_records=shard_records,
    )


def shard_records(inputs: ActionInputs, github: Any, env: Mapping[str, str]) -> Path:
    """`mode: gate`: the folder of shard records; when it holds none, this workflow run's shard artifacts are
    downloaded into it. A failure to download is an ERROR: a gate never decides on part of the benchmark."""
    from evaluator.action.github import explain
    from evaluator.generation.shards import RECORD_GLOB

    folder = Path(inputs.shard_records)
    if folder.is_dir() and any(folder.glob(RECORD_GLOB)):
        return folder
    run_id = env.get("GITHUB_RUN_ID", "")
    if github is None or not run_id.isdigit():
        raise TaskevalError(f"{folder}: no shard records, and no workflow run to download them from (needs "
                            "github-token and GITHUB_RUN_ID)", "run `mode: gate` in the workflow of the shard jobs, "
                            "or download their artifacts into `shard-records` first")
    try:
        names = github.download_shard_records(int(run_id), SHARD_ARTIFACT_PREFIX, folder)
    except TaskevalError:
        raise
    except Exception as error:
        raise TaskevalError(f"{explain(error, 'download the shard records')}; without every shard there is no "
                            "verdict", "re-run the gate job once GitHub answers; the token needs `actions: read`"
                            ) from None
    print(f"shard records: downloaded {len(names)} artifact(s) of run {run_id}: {', '.join(names) or 'none'}")
    return folder


def evaluate(inputs: ActionInputs, github: Any, context: Any, output_dir: Path,
             env: Mapping[str, str] | None = None) -> tuple[Outcome, Any, Path | None]:
    """Run taskeval (or, in mode gate, merge the shard records) and write its reports (with the new baseline when one
    is due, all or none); returns the outcome, the run's result (None for an ERROR) and the new baseline's path. An
    input error becomes an ERROR report."""
    from evaluator.core.files import check_writable_dir
    from evaluator.pipeline import run_and_write
    from evaluator.report.writer import write_error_reports

    check_writable_dir(output_dir, "output folder (input 'output-dir')")
    wanted = github is not None and should_update_baseline(inputs, context)
    try:
        records = (shard_records(inputs, github, env or {}),) if inputs.mode == "gate" else ()
        baseline = _baseline(inputs, github, output_dir)
        written = run_and_write(run_options(inputs, context, baseline, records), output_dir,
                                "output folder (input 'output-dir')",
                                output_dir / inputs.baseline_asset if wanted else None,
                                "the new baseline (input 'baseline-asset')")
    except TaskevalError as error:
        command("error", str(error))
        return error_outcome(error.message, write_error_reports(error.message, error.hint, output_dir)), None, None
    except Exception as error:  # a bug: keep the traceback in the log, and still report ERROR, never a verdict
        print(redact(traceback.format_exc()), file=sys.stderr)
        message = f"internal error: {type(error).__name__}: {error}"
        command("error", message)
        paths = write_error_reports(message, "this is a taskeval bug; report it with the traceback in the job log",
                                    output_dir)
        return error_outcome(message, paths), None, None
    outcome = outcome_from_gates(written.result.decision, written.result.gates, None, written.json_path,
                                 written.markdown_path,
                                 written.markdown_path.read_text(encoding="utf-8"))
    return outcome, written.result, written.baseline


def should_update_baseline(inputs: ActionInputs, context: Any) -> bool:
    """Whether this event and the inputs ask for a new baseline (a DEPLOY over the whole benchmark gets one)."""
    if inputs.update_baseline == "false" or context.event_name.startswith("pull_request"):
        return False
    if inputs.update_baseline == "true":
        return True
    return context.event_name in ("push", "workflow_dispatch") and context.on_default_branch


def config_gate_lines(config_path: str) -> dict[str, int]:
    """Gate name → its line in the config, read once for the log's errors and the check run's annotations."""
    from evaluator.core.yaml_lines import gate_lines

    return gate_lines(Path(config_path)) if config_path else {}


def gate_annotations(outcome: Outcome, config_path: str, lines: Mapping[str, int]) -> list[dict[str, Any]]:
    """One annotation per failed gate, on the gate's own line of the config (line 1 when it is a default gate)."""
    return [{"path": config_path or ".github", "start_line": lines.get(g.name, 1), "end_line": lines.get(g.name, 1),
             "annotation_level": "failure" if g.is_blocking else "warning", "title": f"gate {g.name}",
             "message": redact(g.explanation)[:1000]} for g in outcome.failed_gates]


def report_failed_gates(outcome: Outcome, config_path: str, lines: Mapping[str, int]) -> None:
    """One `::error::` per failed blocking gate in the job log, on the gate's line of the config."""
    for gate in outcome.failed_gates:
        if not gate.is_blocking:
            continue
        place = {"file": config_path, "line": lines[gate.name]} if gate.name in lines else {}
        command("error", f"gate {gate.name}: {gate.explanation}", place)


def post(inputs: ActionInputs, github: Any, outcome: Outcome, pr_number: int | None, head: str, warn: Warn,
         lines: Mapping[str, int]) -> None:
    """The sticky comment and the check run; each failure is a warning, never a different decision."""
    if inputs.comment and pr_number is not None:
        try:
            print(f"comment: {github.upsert_comment(pr_number, inputs.check_name, outcome.body)}")
        except Exception as error:
            warn(error, "post the pull-request comment")
    if inputs.check_run:
        try:
            url = github.create_check_run(inputs.check_name, head, conclusion(outcome, inputs.fail_on),
                                          outcome.summary, outcome.body,
                                          gate_annotations(outcome, inputs.config, lines))
            print(f"check run: {url}")
        except Exception as error:
            warn(error, "create the check run")


def fail_with_error(env: Mapping[str, str], error: BaseException, output_dir: Path | None) -> int:
    """Whatever failed, the job reports ERROR: `::error::` with cause and fix, the step summary, the outputs, and no
    file left claiming another decision. Each of these is tried on its own, so one broken sink cannot hide the
    others. Nothing is posted to GitHub."""
    from evaluator.report.markdown_text import escape_cell
    from evaluator.report.writer import clear_reports, write_error_reports

    if isinstance(error, TaskevalError):
        message, hint = error.message, error.hint or "see the job log"
    elif isinstance(error, KeyboardInterrupt):
        message = "interrupted (SIGTERM or SIGINT: the job was cancelled or timed out); the model was not judged"
        hint = "re-run the job; outputs generated so far are cached"
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
    return EXIT_ERROR


def write_local(env: Mapping[str, str], inputs: ActionInputs, outcome: Outcome, workspace: Path,
                stdout: GuardedStdout) -> None:
    """The local sinks, before anything is published: the job log and the outputs (a failure of either is a
    TaskevalError, so the decision becomes ERROR everywhere), then the step summary (a failure is a warning: the
    outputs carry the decision)."""
    print(redact(outcome.summary), flush=True)
    if stdout.failure is not None:
        raise TaskevalError(f"the job log (stdout) cannot be written ({stdout.failure}); nothing was published",
                            "re-run the job; if it repeats, check the runner")
    try:
        set_outputs(env, {
            "decision": str(outcome.decision), "deploy-allowed": str(outcome.decision == DEPLOY).lower(),
            "report-json": relative(outcome.json_path, workspace),
            "report-markdown": relative(outcome.markdown_path, workspace),
            "report-html": relative(outcome.json_path.parent / "report.html", workspace), "summary": outcome.summary,
        })
    except OSError as error:
        raise TaskevalError(f"GITHUB_OUTPUT cannot be written ({error.strerror or error}); nothing was published",
                            "check the runner's disk and the file's permissions, then re-run the job") from None
    try:
        append_summary(env, outcome.body)
    except OSError as error:
        command("warning", f"could not write the step summary ({error}); the report is in {inputs.output_dir}")


def run_modes(env: Mapping[str, str], inputs: ActionInputs, output_dir: Path, stdout: GuardedStdout) -> int:
    """`mode: all`, `evaluate` or `publish`: evaluate or read the report, write the local sinks, then publish
    (`validate`: the input checks alone)."""
    from evaluator.action.github import GitHubClient, GitHubContext, explain
    from evaluator.report.markdown_text import escape_cell

    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    context = GitHubContext.from_env(env, inputs.github_token)
    github = GitHubClient(context) if inputs.github_token and context.repository else None
    warnings: list[str] = []

    def warn(error: Exception, action: str) -> None:
        message = f"{explain(error, action)} (the decision is unchanged)"
        warnings.append(message)
        command("warning", message)

    quiet_modes = ("evaluate", "validate", "shard")  # modes that post nothing
    if github is None and inputs.mode not in quiet_modes and (inputs.comment or inputs.check_run):
        command("warning", "no github-token (or GITHUB_REPOSITORY): no comment, check run, baseline download or "
                           "publication; pass `github-token: ${{ github.token }}` (the default)")
    if inputs.trust_remote_code:  # the workflow's decision, never the configuration's (docs/security.md)
        from evaluator.generation.model_folder import TRUST_REMOTE_CODE_ENV

        os.environ[TRUST_REMOTE_CODE_ENV] = "1"
    if inputs.mode == "validate":
        return validate_inputs(env, inputs)
    if inputs.mode == "shard":
        return run_one_shard(env, inputs, context, output_dir, workspace)
    cache_dir = Path(".taskeval-cache")
    lines = config_gate_lines(inputs.config)
    new_baseline: Path | None = None
    pr_number: int | None
    if inputs.mode == "publish":
        outcome, pr_number, head = read_published(output_dir, github, context, inputs)
    else:
        command("group", "taskeval run")
        outcome, result, new_baseline = evaluate(inputs, github, context, output_dir, env)
        print("::endgroup::", flush=True)
        report_failed_gates(outcome, inputs.config, lines)
        pr_number, head = context.pr_number, context.head_sha
        cache_dir = Path(result.config.generation.cache_dir) if result is not None else cache_dir
    write_local(env, inputs, outcome, workspace, stdout)
    if new_baseline is not None and github is not None:
        try:
            github.publish_baseline(inputs.baseline_release, inputs.baseline_asset, new_baseline)
            outcome.baseline_updated = True
        except Exception as error:  # GitHub problems never change the decision
            warn(error, "publish the new baseline (the old one is kept)")
    if inputs.mode != "evaluate" and github is not None:
        post(inputs, github, outcome, pr_number, head, warn, lines)
    try:
        set_outputs(env, {"baseline-updated": str(outcome.baseline_updated).lower()})
        if warnings:
            append_summary(env, "\n".join(["", "**GitHub warnings** (the decision is unchanged):", "",
                                           *[f"- {escape_cell(w, 600)}" for w in warnings]]))
    except OSError as error:
        command("warning", f"could not write the GitHub warnings to the step summary ({error})")
    hand_to_owner([output_dir, cache_dir], workspace)
    return exit_code(outcome, inputs.fail_on)


def run_one_shard(env: Mapping[str, str], inputs: ActionInputs, context: Any, output_dir: Path,
                  workspace: Path) -> int:
    """`mode: shard`: this shard's outputs, scored, in its record (output `shard-record`, for the workflow's
    upload-artifact step); no verdict, no comment, no check run: the gate job decides on all the shards."""
    from evaluator.core.sharding import parse_shard
    from evaluator.pipeline import write_shard

    shard = parse_shard(inputs.shard, "input 'shard'")
    written = write_shard(run_options(inputs, context), shard, output_dir, "output folder (input 'output-dir')")
    cases, planned, record = len(written.results), written.record.settings.cases, relative(written.path, workspace)
    summary = (f"taskeval: shard {shard} — {cases} of {planned} cases generated and scored; the gate job decides "
               f"on all {shard.count} shards")
    print(redact(summary), flush=True)
    set_outputs(env, {"shard-record": record, "summary": summary})
    append_summary(env, f"### taskeval shard {shard}\n\n{cases} of {planned} cases; record `{record}` (upload it "
                        f"as the artifact `{SHARD_ARTIFACT_PREFIX}{shard.index}-of-{shard.count}`).\n")
    hand_to_owner([output_dir, written.cache_dir], workspace)  # the configuration's cache folder, as in mode all
    return EXIT_PASS


def validate_inputs(env: Mapping[str, str], inputs: ActionInputs) -> int:
    """`mode: validate`: the checks of `taskeval validate` (config, benchmark, a local baseline, and the model without
    loading its weights), in seconds, before a job spends GPU time; a failure is an ERROR like any other."""
    from evaluator.generation.model_folder import check_model, remote_code_allowed
    from evaluator.pipeline import load_inputs

    loaded = load_inputs(Path(inputs.config) if inputs.config else None, Path(inputs.benchmark),
                         Path(inputs.baseline) if inputs.baseline else None)
    lines = [f"benchmark {inputs.benchmark}: {len(loaded.cases)} cases",
             f"config {inputs.config or '(built-in defaults)'}: {len(loaded.config.quality_gates)} gates"]
    if inputs.model:
        remote_code_allowed(loaded.config.generation.trust_remote_code)
        lines.append(f"model {inputs.model}: {check_model(Path(inputs.model), loaded.config.generation.allow_pickle)}")
    summary = "taskeval: inputs valid — " + "; ".join(lines)
    print(redact(summary), flush=True)
    set_outputs(env, {"summary": summary})
    return EXIT_PASS


def main(env: Mapping[str, str] | None = None) -> int:
    """The Action: inputs checked, secrets masked and redacted, then the mode; any failure (an interrupt too: the
    container's PID 1 gets SIGTERM when the job is cancelled) is an ERROR job."""
    env = dict(os.environ if env is None else env)
    register_environment(env)
    register_secrets([get_input(env, "github-token", env.get("GITHUB_TOKEN", "")), get_input(env, "openai-api-key")])
    stdout = GuardedStdout(sys.stdout)
    sys.stdout = stdout
    output_dir: Path | None = None
    try:
        with interrupts_end_the_run():
            inputs = ActionInputs.from_env(env)
            mask(inputs.github_token)
            mask(inputs.openai_api_key)
            output_dir = Path(inputs.output_dir)
            return run_modes(env, inputs, output_dir, stdout)
    except (Exception, KeyboardInterrupt) as error:  # whatever failed, the job reports ERROR everywhere and fails
        return fail_with_error(env, error, output_dir)
    finally:
        sys.stdout = stdout.stream
