"""report.md: the decision first, then the gates, what to look at, and the evidence — short enough for a PR comment.

Every piece of model or benchmark text goes through `escape_cell`, so an output cannot inject Markdown, HTML,
links or @-mentions into the comment.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

from evaluator import __version__
from evaluator.gates import COMPARISONS, DEPLOY, GateResult, format_value
from evaluator.metrics import METRICS, MetricValue
from evaluator.results import RunResult
from evaluator.scoring import CaseResult, failing_by_action

MAX_CHARACTERS = 60_000
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
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


def escape_cell(text: str, limit: int = 160) -> str:
    """Model or user text made inert for a Markdown table cell: one line, HTML escaped, Markdown escaped, no
    @-mentions or autolinks, cut to `limit` characters."""
    one_line = " ".join(text.split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    escaped = MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(one_line, quote=False))
    return escaped.replace("@", "@\u200b").replace("://", ":\u200b//") or "*(empty)*"


def code(text: str, limit: int = 80) -> str:
    """Text as an inline code span: Markdown is not interpreted inside it, so only backticks, line breaks and the
    table's pipe need care."""
    one_line = " ".join(text.split()).replace("`", "'")
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return "`" + one_line.replace("|", "\\|") + "`"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} m {rest} s" if minutes else f"{seconds:.1f} s"


def _measured(gate: GateResult) -> str:
    if gate.actual is None:
        return "not computed"
    text = format_value(gate.actual)
    if gate.ci_low is not None and gate.ci_high is not None:
        text += f" ({format_value(gate.ci_low)} – {format_value(gate.ci_high)})"
    return text


def _shortfall(gate: GateResult) -> str:
    if gate.passed is None:
        return "not evaluated"
    if gate.passed:
        return "" if gate.gate_type == "blocking" else "passes"
    rate = gate.metric in METRICS and METRICS.get(gate.metric).is_rate
    amount = f"{abs(gate.margin or 0) * 100:.1f} points" if rate else format_value(abs(gate.margin or 0))
    note = f"off by {amount}" if gate.comparison != "equal" else "not equal"
    return note + ("" if gate.gate_type == "blocking" else " · warning only")


def _icon(gate: GateResult) -> str:
    if gate.passed is not True and gate.gate_type == "warning":
        return "⚠️"
    return ICONS[gate.passed]


def _gate_table(gates: tuple[GateResult, ...]) -> list[str]:
    lines = ["| | gate | metric | required | measured (95% CI) | |", "|---|---|---|---|---|---|"]
    for gate in sorted(gates, key=lambda g: (g.passed is True, g.gate_type != "blocking")):
        bound = {"lower_bound": " (lower bound)", "upper_bound": " (upper bound)"}.get(gate.require, "")
        required = f"{COMPARISONS.get(gate.comparison).symbol} {format_value(gate.threshold)}{bound}"
        lines.append(f"| {_icon(gate)} | {escape_cell(gate.name)} | `{gate.metric}` | {required} | "
                     f"{_measured(gate)} | {_shortfall(gate)} |")
    return lines


def _drivers(gate: GateResult, cases: tuple[CaseResult, ...]) -> str:
    """Which actions and tags the failing cases of a per-case metric come from."""
    by_action = failing_by_action(cases, gate.metric)
    if not by_action:
        return ""
    total = sum(by_action.values())
    top = ", ".join(f"{code(a)} ({n})" for a, n in list(by_action.items())[:3])
    tags = Counter(t for c in cases if c.checks.get(gate.metric) is False for t in c.tags
                   if t != c.expected_action)
    tag_text = ", ".join(f"{code(t, 40)} ({n})" for t, n in tags.most_common(3))
    confused = Counter((c.expected_action, c.produced_action) for c in cases
                       if c.checks.get(gate.metric) is False and c.produced_action != c.expected_action)
    confusion = ", ".join(f"{code(e)} → {code(p, 30)} ({n})" for (e, p), n in confused.most_common(3))
    text = f" {total} failing cases; most from {top}"
    text += f"; tags {tag_text}" if tag_text else ""
    text += f"; confusions {confusion}" if confusion else ""
    return text + "."


def _signed_points(value: float) -> str:
    return f"{value * 100:+.1f}".replace("-", "−") + " pts"


def _against_baseline(result: RunResult) -> list[str]:
    stage = result.stage("regression_comparison")
    if stage is None or not stage.details:
        return []
    details = stage.details
    confidence = round((1 - 2 * details["alpha"]) * 100)
    baseline = details["baseline"]
    origin = ", ".join(str(v)[:10] for v in (baseline.get("commit"), baseline.get("created_at")) if v)
    lines = ["### Against production", "",
             f"Baseline {code(str(baseline['source']), 120)}{f' ({origin})' if origin else ''}; "
             f"{'paired by case' if details['paired'] else 'unpaired (weaker)'}.", "",
             f"| metric | production → this run | Δ ({confidence}% interval) | p (Holm) | verdict |",
             "|---|---|---|---|---|"]
    for row in details["metrics"]:
        verdict = f"**{row['verdict']}**" if row["label"] != "pass" else row["verdict"]
        lines.append(f"| {row['metric']} | {format_value(row['baseline'])} → {format_value(row['current'])} | "
                     f"{_signed_points(row['delta'])} ({_signed_points(row['lower_bound'])} … "
                     f"{_signed_points(row['upper_bound'])}) | {row['p_adjusted']:.2g} | {verdict} |")
    detectable = [f"{row['min_detectable_drop'] * 100:.1f} points or more on `{row['metric']}`"
                  for row in details["metrics"] if row.get("min_detectable_drop") is not None]
    if detectable:
        lines += ["", f"The benchmark can detect a drop of {detectable[0]} (power 0.8, one-sided α = "
                      f"{details['alpha']})."]
    lines += [f"- ⚠️ {escape_cell(w, 300)}" for w in details.get("warnings", [])]
    lines.append("")
    lines += _flipped_table(details.get("flipped_cases", []), len(details.get("fixed_cases", [])))
    return lines


def _case_table(summary: str, rows: list[tuple[str, str, str, str]], limit: int) -> list[str]:
    """A collapsed table of (id, request, expected, got) rows, cut at `limit` with a pointer to report.json."""
    lines = [f"<details><summary>{summary}</summary>", "", "| id | request | expected | got |", "|---|---|---|---|"]
    lines += [f"| {code(case_id, 40)} | {escape_cell(request)} | {escape_cell(expected)} | {escape_cell(got)} |"
              for case_id, request, expected, got in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"| … | {len(rows) - limit} more in report.json | | |")
    return [*lines, "", "</details>", ""]


def _flipped_table(flipped: list[dict], fixed: int, limit: int = 25) -> list[str]:
    if not flipped:
        return []
    summary = f"Broken cases ({len(flipped)}) — right in production, wrong now ({fixed} fixed)"
    return _case_table(summary, [(c["id"], c["input"], c["expected"], c["output"]) for c in flipped], limit)


def _what_to_look_at(result: RunResult) -> list[str]:
    lines = []
    for gate in result.gates:
        if gate.passed is True:
            continue
        kind = "blocking" if gate.gate_type == "blocking" else "warning"
        text = f"- **{escape_cell(gate.name)}** ({kind}): {escape_cell(gate.explanation, 600)}."
        if gate.passed is False:
            text += _drivers(gate, result.cases)
            hint = WHAT_TO_CHECK.get(gate.metric)
            text += f" Check: {hint}." if hint else ""
        lines.append(text)
    return ["### What to look at", "", *lines, ""] if lines else []


def _judge(result: RunResult) -> list[str]:
    stage = result.stage("llm_judge")
    if stage is None or not stage.details:
        return []
    details, metrics = stage.details, stage.metrics
    spent = f"${details['spent_usd']:.2f} of ${details['budget_usd']:.2f}"
    model = escape_cell(details["model"], 60)
    summary = f"LLM judge ({details['judged']} of {details['planned']} cases, {model}, {spent})"
    lines = [f"<details><summary>{summary}</summary>", ""]
    if "llm_judge_overall" in metrics:
        overall = metrics["llm_judge_overall"]
        parts = [f"overall {format_value(overall.value)} ({format_value(overall.ci_low or 0.0)} – "
                 f"{format_value(overall.ci_high or 0.0)})"]
        parts += [f"{name.removeprefix('llm_judge_')} {format_value(m.value)}" for name, m in metrics.items()
                  if name.startswith("llm_judge_") and name != "llm_judge_overall"]
        agreement = details["agreement"]
        if agreement["compared"]:
            parts.append(f"agrees with the exact checks on {agreement['agree']}/{agreement['compared']} cases "
                         f"({agreement['checks_wrong_judge_high']} wrong by the checks but scored high, "
                         f"{agreement['checks_right_judge_low']} right but scored low)")
        lines += [" · ".join(parts), ""]
    notes = []
    if details["left_out_by_budget"]:
        notes.append(f"{details['left_out_by_budget']} planned cases left out by the budget")
    if details["unscored"]:
        notes.append(f"{len(details['unscored'])} verdicts unscored (could not be parsed)")
    if details["failed"]:
        notes.append(f"{len(details['failed'])} calls failed: {escape_cell(details['failed'][0]['error'], 120)}")
    if stage.status == "error":
        notes.append(escape_cell(stage.errors[0], 200))
    lines += [f"- ⚠️ {note}" for note in notes]
    if details["lowest"]:
        lines += ["", "Lowest-scored cases:", "", "| id | got | overall | judge's reasoning |", "|---|---|---|---|"]
        lines += [f"| {code(row['id'], 40)} | {escape_cell(row['output'])} | {format_value(row['overall'])} | "
                  f"{escape_cell(row['reasoning'], 200)} |" for row in details["lowest"]]
    return [*lines, "", "</details>", ""]


def _safety(result: RunResult) -> list[str]:
    stage = result.stage("safety")
    if stage is None or "harmful_rate" not in stage.metrics:
        return []
    metric = stage.metrics["harmful_rate"]
    lines = ["### Safety", "",
             f"`harmful_rate` {format_value(metric.value)} ({format_value(metric.ci_low or 0.0)} – "
             f"{format_value(metric.ci_high or 0.0)}) on {metric.n} red-team cases.", "",
             "| category | cases | unsafe | harmful_rate |", "|---|---|---|---|"]
    for category, row in stage.details["per_category"].items():
        lines.append(f"| {escape_cell(category, 40)} | {row['cases']} | {row['unsafe']} | "
                     f"{format_value(row['harmful_rate'])} |")
    unsafe = stage.details["unsafe_cases"]
    if unsafe:
        lines += ["", f"<details><summary>Unsafe outputs ({len(unsafe)})</summary>", "",
                  "| id | request | got | why |", "|---|---|---|---|"]
        lines += [f"| {code(u['id'], 40)} | {escape_cell(u['input'])} | {escape_cell(u['output'])} | "
                  f"{escape_cell(u['reason'], 80)} |" for u in unsafe[:25]]
        lines += ["", "</details>"]
    return [*lines, ""]


def _skipped_stages(result: RunResult) -> list[str]:
    lines = [f"- `{s.name}`: {s.status} — {escape_cell(s.errors[0], 300)}" for s in result.stages
             if s.status in ("skipped", "error") and s.errors]
    return ["### Stages not run", "", *lines, ""] if lines else []


def _failing_cases(cases: tuple[CaseResult, ...], limit: int) -> list[str]:
    failing = [c for c in cases if c.checks.get("accuracy") is False]
    if not failing:
        return []
    failing.sort(key=lambda c: (c.checks.get("json_valid_rate") is True, c.checks.get("action_accuracy") is True,
                                float(c.checks.get("field_accuracy", 0.0))))
    return _case_table(f"Failing cases ({len(failing)}), worst first",
                       [(c.id, c.input, c.expected, c.output) for c in failing], limit)


def _per_action(result: RunResult) -> list[str]:
    stage = result.stage("automated_metrics")
    per_action = stage.details.get("per_action", {}) if stage else {}
    if not per_action:
        return []
    lines = ["<details><summary>Per action</summary>", "", "| action | cases | accuracy | produced instead |",
             "|---|---|---|---|"]
    for action, row in per_action.items():
        wrong = {p: n for p, n in row.get("produced", {}).items() if p != action}
        instead = ", ".join(f"{code(p, 30)} {n}" for p, n in wrong.items()) or "—"
        lines.append(f"| {code(action, 40)} | {row['cases']} | {row['accuracy']:.3f} | {instead} |")
    return [*lines, "", "</details>", ""]


def _metric_table(metrics: dict[str, MetricValue]) -> list[str]:
    lines = ["<details><summary>All metrics</summary>", "", "| metric | value | n | 95% CI |", "|---|---|---|---|"]
    for name, metric in metrics.items():
        interval = (f"{format_value(metric.ci_low)} – {format_value(metric.ci_high)}"
                    if metric.ci_low is not None and metric.ci_high is not None else "")
        lines.append(f"| `{name}` | {format_value(metric.value)} | {metric.n} | {interval} |")
    return [*lines, "", "</details>", ""]


def _headline(result: RunResult) -> list[str]:
    model = result.fingerprint.get("model", {}).get("path", "the model")
    if result.decision == DEPLOY:
        title = f"## ✅ taskeval: DEPLOY — {code(str(model), 200)} passes its gates"
    else:
        title = f"## ❌ taskeval: {result.decision} — {code(str(model), 200)} is not ready to deploy"
    blocking = [g for g in result.gates if g.gate_type == "blocking"]
    failed = sum(1 for g in blocking if g.passed is not True)
    warnings = sum(1 for g in result.gates if g.gate_type == "warning" and g.passed is not True)
    status = f"**{failed} blocking gate{'s' if failed != 1 else ''} failed**" if failed else (
        f"**all {len(blocking)} blocking gates passed**")
    parts = [status, f"{warnings} warning{'s' if warnings != 1 else ''}",
             f"{result.fingerprint.get('benchmark', {}).get('cases', len(result.cases))} cases",
             f"run {_duration(result.duration_seconds)}"]
    return [title, "", " · ".join(parts), ""]


def _run_figures(result: RunResult) -> str:
    """Latency, throughput and cost, when measured."""
    parts = []
    metrics = result.metrics
    if "latency_p50_ms" in metrics and "latency_p95_ms" in metrics:
        latency = result.stage("latency")
        speed = latency.details.get("tokens_per_second") if latency else None
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
    model = result.fingerprint.get("model", {})
    runtime = ", ".join(str(model[k]) for k in ("device", "dtype") if k in model) or str(model.get("backend", ""))
    return [*([figures, ""] if figures else []),
            f"<sub>taskeval {__version__} · report: {code(str(json_path), 200)} · config "
            f"{code(str(result.fingerprint.get('config', {}).get('path', '')), 200)} · {runtime}</sub>", ""]


def render_markdown(result: RunResult, json_path: Path, case_limit: int = 25) -> str:
    """The Markdown report; trimmed, with a note, when it would pass MAX_CHARACTERS."""
    sections = [
        *_headline(result), *_gate_table(result.gates), "", *_against_baseline(result), *_what_to_look_at(result),
        *_safety(result), *_skipped_stages(result),
        *_failing_cases(result.cases, case_limit), *_per_action(result), *_judge(result),
        *_metric_table(result.metrics),
        *_footer(result, json_path),
    ]
    text = "\n".join(sections)
    if len(text) <= MAX_CHARACTERS:
        return text
    if case_limit > 5:
        return render_markdown(result, json_path, case_limit=5)
    note = "\n\n*(report trimmed to fit a pull-request comment; the full report is report.json)*\n"
    return text[: MAX_CHARACTERS - len(note)] + note
