"""`mode: publish` reads a report that another, untrusted run wrote (a fork's artifact): nothing in it is taken on
trust (docs/security.md, "Publish mode").

The decision is derived again from the report's gates by the same rule as a run's (`gates.decide`); a report with
no blocking gate, or whose decision does not follow from its gates, is refused. What is posted is Markdown rebuilt
here from report.json, every outside string escaped, never the artifact's report.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.gate_comparisons import COMPARISONS
from evaluator.core.names import Decision, GateType
from evaluator.report.markdown import gate_table
from evaluator.report.markdown_text import code, escape_cell
from evaluator.stages.gates import GateResult, decide

FIX = "publish the report.json that `mode: evaluate` wrote for this pull request's head commit, unmodified"


@dataclass(frozen=True)
class PublishedReport:
    """What `mode: publish` may believe of an evaluation run's report.json."""

    decision: Decision
    """Derived again from the gates (ERROR when the report says ERROR)."""
    gates: tuple[GateResult, ...]
    """The report's gates, type-checked."""
    commit: str | None
    """The commit the report says it evaluated (`fingerprint.source.commit`)."""
    error: str | None
    """The error message of an ERROR report."""
    warnings: tuple[str, ...]
    """The report's warnings, as text."""
    cases: int | None
    """How many benchmark cases the report says it evaluated."""


def _gate(raw: Any, where: str) -> GateResult:
    if not isinstance(raw, dict):
        raise TaskevalError(f"{where}: not a gate object", FIX)
    types: dict[str, tuple[type, ...]] = {
        "name": (str,), "metric": (str,), "comparison": (str,), "threshold": (int, float), "gate_type": (str,),
        "require": (str,), "actual": (int, float, type(None)), "ci_low": (int, float, type(None)),
        "ci_high": (int, float, type(None)), "margin": (int, float, type(None)), "passed": (bool, type(None)),
        "explanation": (str,), "description": (str,)}
    values: dict[str, Any] = {}
    for field in dataclasses.fields(GateResult):
        value = raw.get(field.name, "" if field.name == "description" else None)
        allowed = types[field.name]
        wrong_bool = isinstance(value, bool) and bool not in allowed
        if wrong_bool or not isinstance(value, allowed) or (isinstance(value, float) and not math.isfinite(value)):
            raise TaskevalError(f"{where}.{field.name}: {type(value).__name__} is not allowed here", FIX)
        values[field.name] = value
    if values["gate_type"] not in (GateType.BLOCKING, GateType.WARNING) or values["comparison"] not in COMPARISONS:
        raise TaskevalError(f"{where}: unknown gate_type or comparison", FIX)
    return GateResult(**values)


def check_report(report: Any, source: Path) -> PublishedReport:
    """The report's decision derived again from its gates; anything that does not add up is a TaskevalError."""
    if not isinstance(report, dict) or report.get("decision") not in tuple(d.value for d in Decision):
        raise TaskevalError(f"{source}: not a taskeval report (no valid 'decision')", FIX)
    raw_gates = report.get("gates")
    if not isinstance(raw_gates, list):
        raise TaskevalError(f"{source}: 'gates' is not a list", FIX)
    gates = tuple(_gate(raw, f"{source}: gates[{index}]") for index, raw in enumerate(raw_gates))
    source_info = (report.get("fingerprint") or {}).get("source") if isinstance(report.get("fingerprint"), dict) \
        else None
    commit = source_info.get("commit") if isinstance(source_info, dict) else None
    raw_warnings = report.get("warnings")
    warnings = raw_warnings if isinstance(raw_warnings, list) else []
    benchmark = (report.get("fingerprint") or {}).get("benchmark") if isinstance(report.get("fingerprint"), dict) \
        else None
    cases = benchmark.get("cases") if isinstance(benchmark, dict) else None
    if report["decision"] == Decision.ERROR:
        error = report.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return PublishedReport(Decision.ERROR, gates, commit if isinstance(commit, str) else None,
                               str(message or "see the evaluation run's log"), (), None)
    if not any(g.is_blocking for g in gates):
        raise TaskevalError(f"{source}: the report has no blocking gate, so its decision rests on nothing", FIX)
    derived = decide(list(gates))
    if derived != report["decision"]:
        raise TaskevalError(f"{source}: the report says {report['decision']} but its gates say {derived}", FIX)
    return PublishedReport(derived, gates, commit if isinstance(commit, str) else None, None,
                           tuple(str(w) for w in warnings), cases if isinstance(cases, int) else None)


def published_markdown(report: PublishedReport, run_url: str | None) -> str:
    """The comment and check-run text of `mode: publish`, rebuilt from the checked report (no raw HTML,
    no @-mentions: every string from the report is escaped)."""
    icon = {Decision.DEPLOY: "✅", Decision.BLOCK: "❌", Decision.ERROR: "⛔"}[report.decision]
    lines = [f"## {icon} taskeval: {report.decision}", ""]
    facts = []
    if report.commit:
        facts.append(f"commit {code(report.commit[:7], 12)}")
    if report.cases is not None:
        facts.append(f"{report.cases} cases")
    if run_url:
        facts.append(f"[evaluation run]({run_url})")
    if facts:
        lines += [" · ".join(facts), ""]
    if report.error is not None:
        lines += [f"**Cause:** {escape_cell(report.error, 2000)}", ""]
    if report.gates:
        lines += [*gate_table(report.gates, None), ""]
    lines += [f"- ⚠️ {escape_cell(w, 300)}" for w in report.warnings[:20]]
    lines += ["", "<sub>Posted by `mode: publish` from the evaluation run's report.json (the decision re-derived "
                  "from its gates); the full report is in that run's artifact.</sub>", ""]
    return "\n".join(lines)
