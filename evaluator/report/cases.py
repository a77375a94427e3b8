"""The report's evidence sections: the failing cases (one table, broken ones first, field differences), the
per-action comparison with production (a table and a Mermaid chart), and the statistics behind the comparison,
collapsed. Every piece of outside text goes through `escape_cell` or `code`."""

from __future__ import annotations

import re

from evaluator.report.case_diff import field_differences
from evaluator.report.markdown_text import code, escape_cell, signed_points
from evaluator.stages.automated import AutomatedDetails
from evaluator.stages.comparison import ActionRate, ComparisonDetails
from evaluator.stages.gates import format_value
from evaluator.stages.results import RunResult
from evaluator.stages.scoring import GroupStats, fails

CHART_LABEL = re.compile(r"[^A-Za-z0-9_.-]")


def failing_cases(result: RunResult, limit: int) -> list[str]:
    """Every case the `accuracy` check fails (with several samples, in some sample: the first wrong one is shown),
    in one collapsed table: broken ones (right in production) first, each with what differs field by
    field."""
    failing = [c for c in result.cases if "accuracy" in c.checks and fails("accuracy", c.checks["accuracy"])]
    if not failing:
        return []
    comparison = result.details(ComparisonDetails)
    broken = {c.id: c.production_output for c in comparison.flipped_cases} if comparison else {}
    unknown = set(comparison.unpaired_ids) if comparison else set()
    has_baseline = comparison is not None
    failing.sort(key=lambda c: (c.id not in broken, float(c.checks.get("json_valid_rate", False)),
                                float(c.checks.get("action_accuracy", False)),
                                float(c.checks.get("field_accuracy", 0.0))))
    title = f"Failing cases ({len(failing)})"
    if has_baseline:
        title += f" — {len(broken)} broke (right in production)"
    header = "| id | request | what differs |" + (" production |" if has_baseline else "")
    rule = "|---|---|---|" + ("---|" if has_baseline else "")
    lines = [f"<details><summary>{title}</summary>", "", header, rule]
    for case in failing[:limit]:
        wrong = next((s.output for s in case.samples if s.checks.get("accuracy") is False), case.output)
        difference = field_differences(case.expected, wrong)
        row = f"| {code(case.id, 40)} | {escape_cell(case.input)} | {code(difference, 240)} |"
        before = broken.get(case.id)
        production = (f"✅ right: {code(before, 160)}" if before is not None else "✅ right") if case.id in broken \
            else ("— not paired" if case.id in unknown else "❌ wrong")
        lines.append(row + (f" {production} |" if has_baseline else ""))
    if len(failing) > limit:
        lines.append(f"| … | {len(failing) - limit} more in report.json | |" + (" |" if has_baseline else ""))
    return [*lines, "", "</details>", ""]


def per_action_table(result: RunResult) -> list[str]:
    """Accuracy per expected action, production beside this run, as a table and a Mermaid chart."""
    automated = result.details(AutomatedDetails)
    rows = automated.per_action if automated else {}
    if not rows:
        return []
    comparison = result.details(ComparisonDetails)
    production = comparison.per_action_baseline if comparison else {}
    lines = ["<details><summary>Per action</summary>", ""]
    if production:
        lines += ["| action | cases | production | this run | Δ | produced instead |", "|---|---|---|---|---|---|"]
    else:
        lines += ["| action | cases | accuracy | produced instead |", "|---|---|---|---|"]
    for action, row in rows.items():
        wrong = {p: n for p, n in row.produced.items() if p != action}
        instead = ", ".join(f"{code(p, 30)} {n}" for p, n in wrong.items()) or "—"
        before = production[action].accuracy if action in production else None
        if production:
            delta = signed_points(row.accuracy - before) if before is not None else "—"
            shown = format_value(before) if before is not None else "—"
            lines.append(f"| {code(action, 40)} | {row.cases} | {shown} | {row.accuracy:.3f} | {delta} | {instead} |")
        else:
            lines.append(f"| {code(action, 40)} | {row.cases} | {row.accuracy:.3f} | {instead} |")
    return [*lines, "", *_chart(rows, production), "</details>", ""]


def _chart(rows: dict[str, GroupStats], production: dict[str, ActionRate]) -> list[str]:
    """A Mermaid bar chart (GitHub renders it in comments): this run as bars, production as a line (over the actions
    production has, so no point is made up)."""
    if production:
        rows = {action: row for action, row in rows.items() if action in production}
    labels = [f'"{CHART_LABEL.sub("_", action)[:24]}"' for action in rows]
    now = [f"{row.accuracy:.3f}" for row in rows.values()]
    lines = ["```mermaid", "xychart-beta", '    title "Accuracy per action (bars: this run'
             + (', line: production)"' if production else ')"'),
             f"    x-axis [{', '.join(labels)}]", '    y-axis "accuracy" 0 --> 1', f"    bar [{', '.join(now)}]"]
    if production:
        before = [f"{production[action].accuracy:.3f}" for action in rows]
        lines.append(f"    line [{', '.join(before)}]")
    return [*lines, "```", ""]


def comparison_statistics(details: ComparisonDetails) -> list[str]:
    """The figures behind each verdict, collapsed: interval, p-value, method, detectable drop."""
    confidence = round((1 - 2 * details.alpha) * 100)
    lines = ["<details><summary>Statistics</summary>", "",
             f"| metric | Δ ({confidence}% interval) | p (Holm) | cases | detectable drop | method |",
             "|---|---|---|---|---|---|"]
    for row in details.metrics:
        detectable = f"{row.min_detectable_drop * 100:.1f} pts" if row.min_detectable_drop else "—"
        lines.append(f"| {row.metric} | {signed_points(row.delta)} ({signed_points(row.lower_bound)} … "
                     f"{signed_points(row.upper_bound)}) | {row.p_adjusted:.2g} | {row.cases} | "
                     f"{detectable} | {escape_cell(row.method, 120)} |")
    lines += ["", f"A metric passes when its {confidence}% interval's lower end is above −δ (the margin); it is a "
              "*confirmed regression* when it fails and its Holm-adjusted p is below α, else *inconclusive*. "
              "The detectable drop is the smallest the benchmark finds with power 0.8.", "", "</details>", ""]
    return lines
