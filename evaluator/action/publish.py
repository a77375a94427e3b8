"""`mode: publish` reads a report that another, untrusted run wrote (a fork's artifact): nothing in it is taken on
trust (docs/security.md, "Publish mode").

The report is read through report.json's shipped JSON Schema and the types it was written from (GateResult,
Fingerprint). The decision is derived again from its gates by the same rule as a run's (`gates.decide`); a report with
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
from evaluator.core.json_checks import validation_errors
from evaluator.core.names import Decision
from evaluator.report.markdown import gate_table
from evaluator.report.markdown_text import code, escape_cell
from evaluator.report.schemas import REPORT_SCHEMA, shipped
from evaluator.report.writer import REPORT_VERSION
from evaluator.stages.gates import GateResult, decide
from evaluator.stages.results import Fingerprint

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


def _gate(raw: dict[str, Any], where: str) -> GateResult:
    """A gate of a report that conforms to the schema, as the type it was written from."""
    gate = GateResult(**{field.name: raw.get(field.name, "") for field in dataclasses.fields(GateResult)})
    if gate.comparison not in COMPARISONS or not all(math.isfinite(v) for v in (gate.threshold, gate.actual,
                                                                                 gate.ci_low, gate.ci_high,
                                                                                 gate.margin) if v is not None):
        raise TaskevalError(f"{where}: unknown comparison or a number that is not finite", FIX)
    return gate


def check_report(report: Any, source: Path) -> PublishedReport:
    """The report read through report.json's schema and its types, its decision derived again from its gates;
    anything that does not add up is a TaskevalError."""
    if not isinstance(report, dict) or report.get("decision") not in tuple(d.value for d in Decision):
        raise TaskevalError(f"{source}: not a taskeval report (no valid 'decision')", FIX)
    problems = validation_errors(report, shipped(REPORT_SCHEMA))
    if problems:
        raise TaskevalError(f"{source}: not a report.json of version {REPORT_VERSION}: {'; '.join(problems)}", FIX)
    gates = tuple(_gate(raw, f"{source}: gates[{index}]") for index, raw in enumerate(report["gates"]))
    fingerprint = Fingerprint.from_json(report["fingerprint"]) if "fingerprint" in report else None
    commit = fingerprint.commit if fingerprint else None
    if report["decision"] == Decision.ERROR:
        return PublishedReport(Decision.ERROR, gates, commit, str(report["error"]["message"] or
                                                                  "see the evaluation run's log"), (), None)
    if not any(g.is_blocking for g in gates):
        raise TaskevalError(f"{source}: the report has no blocking gate, so its decision rests on nothing", FIX)
    derived = decide(list(gates))
    if derived != report["decision"]:
        raise TaskevalError(f"{source}: the report says {report['decision']} but its gates say {derived}", FIX)
    return PublishedReport(derived, gates, commit, None, tuple(report["warnings"]),
                           fingerprint.benchmark.cases if fingerprint else None)


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
    where = f"[that run's artifact]({run_url}#artifacts)" if run_url else "that run's artifact"
    lines += ["", f"**Every case, production beside the candidate, and charts:** `report.html` in {where}.", "",
              "<sub>Posted by `mode: publish` from the evaluation run's report.json (the decision re-derived "
              "from its gates).</sub>", ""]
    return "\n".join(lines)
