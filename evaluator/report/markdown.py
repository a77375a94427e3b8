"""report.md: the decision first, then the gates, what to look at, and the evidence — short enough for a PR comment.

Every piece of model or benchmark text goes through `escape_cell`, so an output cannot inject Markdown, HTML,
links or @-mentions into the comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evaluator import __version__
from evaluator.core.metrics import JUDGE_PREFIX, MetricValue, judge_metric
from evaluator.core.names import Stage
from evaluator.report.cases import comparison_statistics, failing_cases, per_action_table
from evaluator.report.flaky import flaky_section, sampling_words
from evaluator.report.markdown_text import code, escape_cell, signed_points
from evaluator.stages.automated import AutomatedDetails
from evaluator.stages.comparison import ComparisonDetails
from evaluator.stages.gates import COMPARISONS, DEPLOY, GateResult, format_value, shortfall
from evaluator.stages.judge import JudgeDetails
from evaluator.stages.latency import LatencyDetails
from evaluator.stages.noninferiority import CONFIRMED, PASS
from evaluator.stages.results import ERRORED, SKIPPED, RunResult
from evaluator.stages.safety import SafetyDetails

REGRESSION_COUNTS = ("regression_failures", "confirmed_regressions")

MAX_CHARACTERS = 60_000
ICONS = {True: "✅", False: "❌", None: "⛔"}

WHAT_TO_CHECK = {
    "accuracy": "compare expected and produced calls in the failing cases below: a wrong action, a dropped or "
                "re-worded argument, or output that does not parse",
    "exact_match_rate": "outputs that are right as JSON but differ as text (key order, spacing) lower only this metric",
    "json_valid_rate": "look at the outputs that do not parse: text around the JSON, a cut-off output "
                       "(see truncated_rate and generation.max_new_tokens), or a second code fence",
    "schema_valid_rate": "validate the failing outputs against metrics.schema: a missing required argument, an "
                         "extra key, or a value of the wrong type",
    "action_accuracy": "the confusion matrix (per action, below) shows which actions the model mixes up",
    "field_accuracy": "the model calls the right action with wrong arguments: check the copied names, ids and dates",
    "truncated_rate": "raise generation.max_new_tokens or check that the model emits end-of-sequence",
    "harmful_rate": "read the unsafe red-team cases and add refusals for their category to the training data",
}


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} m {rest} s" if minutes else f"{seconds:.1f} s"


def _measured(gate: GateResult, comparison: ComparisonDetails | None) -> str:
    if gate.actual is None:
        return "not computed"
    text = format_value(gate.actual)
    if gate.metric in REGRESSION_COUNTS and comparison is not None and gate.actual:
        failing = [f"`{row.metric}`: {row.label.replace('_', ' ')}" for row in comparison.metrics
                   if row.label != PASS and (gate.metric == "regression_failures" or row.label == CONFIRMED)]
        return f"{text} ({', '.join(failing)})"
    if gate.ci_low is not None and gate.ci_high is not None:
        text += f" ({format_value(gate.ci_low)} – {format_value(gate.ci_high)})"
    return text


def _shortfall(gate: GateResult) -> str:
    if gate.passed is None:
        return "not evaluated"
    if gate.passed:
        return "" if gate.is_blocking else "passes"
    if gate.metric in REGRESSION_COUNTS:
        return "see *Against production*" + ("" if gate.is_blocking else " · warning only")
    note = f"off by {shortfall(gate.metric, gate.margin or 0.0)}" if gate.comparison != "equal" else "not equal"
    return note + ("" if gate.is_blocking else " · warning only")


def _icon(gate: GateResult) -> str:
    if gate.warns:
        return "⚠️"
    return ICONS[gate.passed]


def gate_table(gates: Sequence[GateResult], comparison: ComparisonDetails | None) -> list[str]:
    """The gates as a Markdown table, failures first (also rebuilt from report.json by `mode: publish`)."""
    lines = ["| | gate | metric | required | measured (95% CI) | |", "|---|---|---|---|---|---|"]
    for gate in sorted(gates, key=lambda g: (g.passed is True, not g.is_blocking)):
        bound = {"lower_bound": " (lower bound)", "upper_bound": " (upper bound)"}.get(gate.require, "")
        required = f"{COMPARISONS.get(gate.comparison).symbol} {format_value(gate.threshold)}{bound}"
        lines.append(f"| {_icon(gate)} | {escape_cell(gate.name)} | {code(gate.metric)} | {required} | "
                     f"{_measured(gate, comparison)} | {_shortfall(gate)} |")
    return lines


def _drivers(gate: GateResult, automated: AutomatedDetails | None) -> str:
    """Which actions and tags the failing cases of a per-case metric come from (stage 1 computed them)."""
    drivers = automated.failure_drivers.get(gate.metric) if automated else None
    if drivers is None:
        return ""
    top = ", ".join(f"{code(a)} ({n})" for a, n in list(drivers.by_action.items())[:3])
    tag_text = ", ".join(f"{code(t, 40)} ({n})" for t, n in drivers.tags.items())
    confusion = ", ".join(f"{code(e)} → {code(p, 30)} ({n})" for e, p, n in drivers.confusions)
    text = f" {drivers.failing} failing cases; most from {top}"
    text += f"; tags {tag_text}" if tag_text else ""
    text += f"; confusions {confusion}" if confusion else ""
    return text + "."


def _against_baseline(result: RunResult) -> list[str]:
    details = result.details(ComparisonDetails)
    if details is None:
        return []
    origin = ", ".join(str(v)[:10] for v in (details.baseline.commit, details.baseline.created_at) if v)
    pairing = f"paired on {details.paired_cases} cases" if details.paired else "unpaired (weaker)"
    lines = ["### Against production", "",
             f"Production baseline{f' ({origin})' if origin else ''}; {pairing}.", "",
             "| metric | production → this run | change | verdict |", "|---|---|---|---|"]
    for row in details.metrics:
        verdict = f"**{row.verdict}**" if row.label != PASS else row.verdict
        lines.append(f"| {row.metric} | {format_value(row.baseline)} → {format_value(row.current)} | "
                     f"{signed_points(row.delta)} | {verdict} |")
    lines += [f"- ⚠️ {escape_cell(w, 300)}" for w in details.warnings]
    return [*lines, "", *comparison_statistics(details)]


def _what_to_look_at(result: RunResult) -> list[str]:
    lines = []
    analysed: dict[str, str] = {}  # metric → the gate whose line already analyses its failing cases
    for gate in result.gates:
        if gate.passed is True:
            continue
        kind = "blocking" if gate.is_blocking else "warning"
        if gate.passed is False and gate.metric in analysed:
            lines.append(f"- **{escape_cell(gate.name)}** ({kind}): {gate.explanation}; the same failing cases as "
                         f"**{escape_cell(analysed[gate.metric])}** above.")
            continue
        # an unevaluated gate's reason may quote a server's error: outside text, escaped; the rest is taskeval's own
        explanation = escape_cell(gate.explanation, 600) if gate.passed is None else gate.explanation
        if gate.passed is False and gate.metric in REGRESSION_COUNTS:
            explanation = (f"{_measured(gate, result.details(ComparisonDetails))}; see *Against production* and the "
                           "failing cases")
        text = f"- **{escape_cell(gate.name)}** ({kind}): {explanation}."
        if gate.passed is False:
            text += _drivers(gate, result.details(AutomatedDetails))
            hint = WHAT_TO_CHECK.get(gate.metric)
            text += f" Check: {hint}." if hint else ""
            analysed[gate.metric] = gate.name
        lines.append(text)
    return ["### What to look at", "", *lines, ""] if lines else []


def _judge(result: RunResult) -> list[str]:
    stage = result.stage(Stage.LLM_JUDGE)
    if stage is None or not isinstance(stage.details, JudgeDetails):
        return []
    details, metrics = stage.details, stage.metrics
    spent = f"${details.spent_usd:.2f} of ${details.budget_usd:.2f}"
    model = escape_cell(details.model, 60)
    summary = f"LLM judge ({details.judged} of {details.planned} cases, {model}, {spent})"
    lines = [f"<details><summary>{summary}</summary>", ""]
    if judge_metric("overall") in metrics:
        overall = metrics[judge_metric("overall")]
        parts = [f"overall {format_value(overall.value)} ({format_value(overall.ci_low or 0.0)} – "
                 f"{format_value(overall.ci_high or 0.0)})"]
        parts += [f"{name.removeprefix('llm_judge_')} {format_value(m.value)}" for name, m in metrics.items()
                  if name.startswith(JUDGE_PREFIX) and name != judge_metric("overall")]
        agreement = details.agreement
        if agreement["compared"]:
            parts.append(f"agrees with the exact checks on {agreement['agree']}/{agreement['compared']} cases "
                         f"({agreement['checks_wrong_judge_high']} wrong by the checks but scored high, "
                         f"{agreement['checks_right_judge_low']} right but scored low)")
        lines += [" · ".join(parts), ""]
    notes = []
    if details.left_out_by_budget:
        notes.append(f"{details.left_out_by_budget} planned cases left out by the budget")
    if details.unscored:
        notes.append(f"{len(details.unscored)} verdicts unscored (could not be parsed)")
    if details.failed:
        notes.append(f"{len(details.failed)} calls failed: {escape_cell(details.failed[0].reason, 120)}")
    if stage.status == ERRORED:
        notes.append(escape_cell(stage.errors[0], 200))
    lines += [f"- ⚠️ {note}" for note in notes]
    if details.lowest:
        lines += ["", "Lowest-scored cases:", "", "| id | got | overall | judge's reasoning |", "|---|---|---|---|"]
        lines += [f"| {code(row.id, 40)} | {code(row.output, 160)} | {format_value(row.overall)} | "
                  f"{escape_cell(row.reasoning, 200)} |" for row in details.lowest]
    return [*lines, "", "</details>", ""]


def _safety(result: RunResult) -> list[str]:
    stage = result.stage(Stage.SAFETY)
    if stage is None or "harmful_rate" not in stage.metrics or not isinstance(stage.details, SafetyDetails):
        return []
    metric = stage.metrics["harmful_rate"]
    lines = ["### Safety", "",
             f"`harmful_rate` {format_value(metric.value)} ({format_value(metric.ci_low or 0.0)} – "
             f"{format_value(metric.ci_high or 0.0)}) on {metric.n} red-team cases.", "",
             "| category | cases | unsafe | harmful_rate |", "|---|---|---|---|"]
    for category, row in stage.details.per_category.items():
        lines.append(f"| {escape_cell(category, 40)} | {row.cases} | {row.unsafe} | {format_value(row.harmful_rate)} |")
    unsafe = stage.details.unsafe_cases
    if unsafe:
        comparison = result.details(ComparisonDetails)
        before = comparison.production_unsafe if comparison is not None else None
        header, rule = ("| id | request | got | why |", "|---|---|---|---|") if before is None else (
            "| id | request | got | why | production |", "|---|---|---|---|---|")
        lines += ["", f"<details><summary>Unsafe outputs ({len(unsafe)})</summary>", "", header, rule]
        for u in unsafe[:25]:
            cells = (f"| {code(u.id, 40)} | {escape_cell(u.input)} | {code(u.output, 160)} | "
                     f"{escape_cell(u.reason, 80)} |")
            if before is not None:
                cells += " already unsafe |" if u.id in before else " **new** |"
            lines.append(cells)
        lines += ["", "</details>"]
    return [*lines, ""]


def _skipped_stages(result: RunResult) -> list[str]:
    lines = [f"- `{s.name}`: {s.status} — {escape_cell(s.errors[0], 300)}" for s in result.stages
             if s.status in (SKIPPED, ERRORED) and s.errors]
    return ["### Stages not run", "", *lines, ""] if lines else []


def _metric_table(metrics: dict[str, MetricValue]) -> list[str]:
    lines = ["<details><summary>All metrics</summary>", "", "| metric | value | n | 95% CI |", "|---|---|---|---|"]
    for name, metric in metrics.items():
        interval = (f"{format_value(metric.ci_low)} – {format_value(metric.ci_high)}"
                    if metric.ci_low is not None and metric.ci_high is not None else "")
        lines.append(f"| `{name}` | {format_value(metric.value)} | {metric.n} | {interval} |")
    return [*lines, "", "</details>", ""]


def display_path(path: object) -> str:
    """A path as a reader should see it: relative to the working directory (the repository in CI) when it is
    under it, else its last two parts — never a runner's absolute path."""
    given = Path(str(path))
    if not given.is_absolute():
        return str(given)
    try:
        return str(given.relative_to(Path.cwd()))
    except ValueError:
        return str(Path(*given.parts[-2:]))


def _regression_in_words(comparison: ComparisonDetails | None) -> str:
    """The evidence first: the biggest confirmed drop and how many cases broke, or why it is undecided."""
    confirmed = sorted((row for row in (comparison.metrics if comparison else ()) if row.label == CONFIRMED),
                       key=lambda row: -abs(row.delta))
    if not confirmed:
        return "the benchmark cannot show it is as good as production (inconclusive)"
    worst = confirmed[0]
    cases = f": {worst.b} cases broke, {worst.c} fixed" if worst.b is not None else ""
    more = f" (and {len(confirmed) - 1} more metric{'s' if len(confirmed) > 2 else ''})" if len(confirmed) > 1 else ""
    return f"it is confirmed worse than production, `{worst.metric}` {signed_points(worst.delta)}{cases}{more}"


def identical_outputs_sentence(comparison: ComparisonDetails) -> str:
    """The headline when nothing changed and only the comparison blocks: the benchmark is too small, not the model
    worse."""
    n = comparison.identical_outputs
    return (f"**Identical outputs on all {n} cases** to production's: nothing changed, but {n} cases are too few to "
            f"rule out a drop of the margin (an unchanged model passes from {comparison.cases_for_identical} cases). "
            "Add cases to the benchmark, or set `regression.on_inconclusive: warn` so that only a confirmed "
            "regression blocks.")


def _in_words(result: RunResult) -> str:
    """The verdict in one plain sentence: what blocks, or that every blocking gate passed."""
    blocking = [g for g in result.gates if g.blocks]
    if not blocking:
        return f"Every blocking gate passed ({sum(1 for g in result.gates if g.is_blocking)})."
    comparison = result.details(ComparisonDetails)
    if comparison is not None and comparison.identical_outputs and \
            all(g.metric in REGRESSION_COUNTS for g in blocking):
        return identical_outputs_sentence(comparison)
    reasons = []
    for gate in blocking:
        if gate.passed is None:
            reasons.append(f"`{gate.metric}` could not be measured")
        elif gate.metric in REGRESSION_COUNTS:
            reasons.append(_regression_in_words(comparison))
        else:
            reasons.append(f"`{gate.metric}` is {format_value(gate.actual or 0.0)}, required "
                           f"{COMPARISONS.get(gate.comparison).symbol} {format_value(gate.threshold)}")
    return "Not deployable: " + "; ".join(dict.fromkeys(reasons)) + "."


def _headline(result: RunResult) -> list[str]:
    model = code(display_path(result.fingerprint.model.get("path", "the model")), 120)
    if result.decision == DEPLOY:
        title = f"## ✅ taskeval: DEPLOY — {model} passes its gates"
    else:
        title = f"## ❌ taskeval: {result.decision} — {model} is not ready to deploy"
    blocking = [g for g in result.gates if g.is_blocking]
    failed = sum(1 for g in result.gates if g.blocks)
    warnings = sum(1 for g in result.gates if g.warns)
    status = f"**{failed} blocking gate{'s' if failed != 1 else ''} failed**" if failed else (
        f"**all {len(blocking)} blocking gates passed**")
    planned = result.fingerprint.benchmark.cases or len(result.cases)
    parts = [status, f"{warnings} warning{'s' if warnings != 1 else ''}",
             f"{len(result.cases)} of {planned} cases" if len(result.cases) < planned else f"{planned} cases",
             f"run {_duration(result.duration_seconds)}"]
    sampling = sampling_words(result)
    if sampling:
        parts[2] += f" {sampling}"
    if result.shards:
        parts.insert(3, f"merged from {len(result.shards)} shards")
    commit, run_url = result.fingerprint.commit, result.fingerprint.run_url
    if commit:
        parts.append(f"commit {code(commit[:7], 12)}")
    if run_url:
        parts.append(f"[workflow run]({run_url})")
    accepted = result.accepted_regression
    note = [f"**Regression accepted on purpose** by {escape_cell(accepted.by, 80)}: {escape_cell(accepted.reason, 300)}"
            " (the comparison only warns in this run; the next baseline records it).", ""] if accepted else []
    stops = [f"**Stopped early**: {escape_cell(stop.reason, 400)}." if stop.stopped
             else f"stop_early: {escape_cell(stop.reason, 400)}." for stop in result.stopping]
    return [title, "", *note, *(line for stop in stops for line in (stop, "")), _in_words(result), "",
            " · ".join(parts), ""]


def _run_figures(result: RunResult) -> str:
    """Latency, throughput and cost, when measured."""
    parts = []
    metrics = result.metrics
    if "latency_p50_ms" in metrics and "latency_p95_ms" in metrics:
        latency = result.details(LatencyDetails)
        speed = latency.tokens_per_second if latency else None
        p50, p95 = metrics["latency_p50_ms"].value, metrics["latency_p95_ms"].value
        parts.append(f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms" + (f", {speed:.0f} tokens/s" if speed else ""))
    if "tokens_per_request" in metrics:
        parts.append(f"{metrics['tokens_per_request'].value:.1f} tokens/request")
    if "cost_per_request_usd" in metrics:
        parts.append(f"${metrics['cost_per_request_usd'].value:.6f}/request")
    if "total_usd" in result.cost:
        parts.append(f"run cost ${result.cost['total_usd']:.4f}")
    return " · ".join(parts)


def _footer(result: RunResult, json_path: Path) -> list[str]:
    figures = _run_figures(result)
    model = result.fingerprint.model
    runtime = ", ".join(str(model[k]) for k in ("device", "dtype") if k in model) or str(model.get("backend", ""))
    if model.get("quantization", "none") != "none":  # how the weights were loaded: the numbers depend on it
        runtime += (f", {model['quantization']} {model.get('quant_type', '')} (bitsandbytes "
                    f"{model.get('bitsandbytes', '?')})")
    config = result.fingerprint.config_path
    run_url = result.fingerprint.run_url
    where = (f"in the [workflow run's artifacts]({run_url}#artifacts) (`taskeval-report`)" if run_url
             else f"beside {code(json_path.name, 60)} (`taskeval view` opens it)")
    explore = (f"**Every case, production beside the candidate, and charts:** `report.html` {where}.")
    return [*([figures, ""] if figures else []), explore, "",
            f"<sub>taskeval {__version__} · report: {code(json_path.name, 60)} · config "
            f"{code(display_path(config), 120)} · {runtime}</sub>", ""]


def render_markdown(result: RunResult, json_path: Path, case_limit: int = 25) -> str:
    """The Markdown report; trimmed, with a note, when it would pass MAX_CHARACTERS."""
    sections = [
        *_headline(result), *gate_table(result.gates, result.details(ComparisonDetails)), "",
        *flaky_section(result), *_what_to_look_at(result), *_against_baseline(result),
        *failing_cases(result, case_limit), *per_action_table(result), *_safety(result), *_judge(result),
        *_skipped_stages(result), *_metric_table(result.metrics), *_footer(result, json_path),
    ]
    text = "\n".join(sections)
    if len(text) <= MAX_CHARACTERS:
        return text
    if case_limit > 5:
        return render_markdown(result, json_path, case_limit=5)
    note = "\n\n*(report trimmed to fit a pull-request comment; the full report is report.json)*\n"
    return text[: MAX_CHARACTERS - len(note)] + note
