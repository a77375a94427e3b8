import re
from pathlib import Path

from evaluator.inputs.config import Config, GateConfig
from evaluator.report.markdown import MAX_CHARACTERS, render_markdown
from evaluator.report.markdown_text import code, escape_cell
from evaluator.stages.gates import evaluate_gate
from evaluator.stages.results import BenchmarkPrint, Fingerprint, RunResult
from evaluator.stages.scoring import aggregate_checks
from tests.helpers import scored

EXPECTED = {"action": "create_task", "title": "buy milk"}


def test_escape_cell_neutralises_markdown_html_mentions_and_links() -> None:
    text = escape_cell('<img src=x onerror=alert(1)> @octocat | **bold** [a](http://evil) `code`\nnext')
    assert "<img" not in text and "&lt;img" in text
    assert "@octocat" not in text and "@\u200boctocat" in text
    assert "\\|" in text and "\\*\\*bold\\*\\*" in text and "\\[a\\]" in text
    assert "http://" not in text and "\n" not in text
    assert escape_cell("") == "*(empty)*"
    assert escape_cell("x" * 500, limit=20).endswith("…")


def test_code_span_keeps_the_table_intact() -> None:
    assert code("a|b`c") == "`a\\|b'c`"


def make_result(outputs: list[str]) -> RunResult:
    cases = tuple(scored(EXPECTED, output) for output in outputs)
    metrics = aggregate_checks(cases)
    gates = (evaluate_gate(GateConfig(name="accuracy", metric="accuracy", threshold=0.85, comparison=">="),
                           metrics, {}),
             evaluate_gate(GateConfig(name="safety", metric="harmful_rate", threshold=0.05, comparison="<"), metrics,
                           {"harmful_rate": "no safety.suite configured"}))
    return RunResult(decision="BLOCK", stages=(), metrics=metrics, gates=gates, cases=cases,
                     fingerprint=Fingerprint(model={"path": "models/m"}, benchmark=BenchmarkPrint(cases=len(cases))),
                     config=Config())


def test_report_leads_with_the_decision_and_explains_failed_and_unevaluated_gates() -> None:
    text = render_markdown(make_result(['{"action":"create_task","title":"buy milk"}', "<script>@admin</script>"]),
                           Path("out/report.json"))
    assert text.startswith("## ❌ taskeval: BLOCK")
    assert "2 blocking gates failed" in text
    assert "off by 35.0 points" in text
    assert "not evaluated" in text and "no safety.suite configured" in text.replace("\\", "")
    prose = re.sub(r"`[^`\n]*`", "", text)  # a code span shows its text as it is: no HTML, no @-mention
    assert "<script>" not in prose and "@admin" not in prose
    assert "`not a JSON object (Expecting value at character 0): '<script>@admin</script>'`" in text
    assert "Failing cases (1)" in text


def test_long_reports_are_trimmed_under_the_comment_limit() -> None:
    from dataclasses import replace

    from evaluator.core.names import Stage, Status
    from evaluator.stages.automated import AutomatedDetails
    from evaluator.stages.results import StageResult
    from evaluator.stages.scoring import per_action

    result = make_result(["x" * 150 + str(i) for i in range(2000)])
    cases = tuple(replace(c, expected_action=f"action_number_{i}") for i, c in enumerate(result.cases))
    details = AutomatedDetails(per_action(cases), {}, len(cases), 0, "test")
    stage = StageResult(Stage.AUTOMATED_METRICS, Status.PASSED, 1.0, details=details)
    text = render_markdown(replace(result, cases=cases, stages=(stage,)), Path("r.json"))
    assert len(text) <= MAX_CHARACTERS
    assert text.rstrip().endswith("the full report is report.json)*")
    assert text.startswith("## ❌ taskeval: BLOCK")


def test_failing_cases_show_the_field_that_differs_not_escaped_json() -> None:
    expected = {"action": "update_task", "task_id": 3069, "due": "friday"}
    cases = (scored(expected, '{"action":"update_task","task_id":306}'), scored(expected, "sure, done!"))
    metrics = aggregate_checks(cases)
    gate = evaluate_gate(GateConfig(name="accuracy", metric="accuracy", threshold=0.85, comparison=">="), metrics, {})
    result = RunResult(decision="BLOCK", stages=(), metrics=metrics, gates=(gate,), cases=cases,
                       fingerprint=Fingerprint(model={"path": "/home/runner/work/repo/models/m"},
                                               benchmark=BenchmarkPrint(cases=2), commit="abcdef1234567",
                                               run_url="https://github.com/o/r/actions/runs/1"),
                       config=Config())
    text = render_markdown(result, Path("/home/runner/work/repo/taskeval-report/report.json"))
    assert '`task_id: 3069 → 306; due: missing (expected "friday")`' in text  # as code, never backslash-escaped
    assert "not a JSON object" in text
    assert "\\{\\\"action\\\"" not in text  # no escaped JSON blobs
    assert text.count("Failing cases (2)") == 1
    assert "/home/runner" not in text and "`models/m`" in text  # no machine paths
    assert "commit `abcdef1`" in text and "[workflow run](https://github.com/o/r/actions/runs/1)" in text
    assert "Not deployable: `accuracy` is 0.000, required ≥ 0.850." in text


def test_field_differences() -> None:
    from evaluator.report.case_diff import field_differences

    assert field_differences('{"action":"a","x":1}', '{"action":"a","x":"1"}') == 'x: 1 → "1"'
    assert field_differences('{"action":"a"}', '{"action":"a","y":true}') == "y: extra true"
    assert field_differences('{"action":"a"}', '{"action":"a"}').startswith("same call")
