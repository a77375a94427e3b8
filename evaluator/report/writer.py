"""report.json and report.md as files: rendered, then written together and atomically (docs/usage.md,
"Reports")."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import dumps_strict, write_files_atomically
from evaluator.core.names import Decision
from evaluator.report.flaky import sampling_json
from evaluator.stages.results import RunResult, StageResult

REPORT_VERSION = "1.2"
"""1.1: `shards` (a run merged from shard records), `cases[].judge_reasoning`, `generation.base_url` as a list of
replicas. 1.2: `sampling` (generation.samples above 1: k, temperature, the flaky cases), `cases[].samples` (every
sample, scored) and `cases[].flaky`; checks of such runs are shares of the samples."""


def report_json(result: RunResult) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "decision": result.decision,
        "started_at": result.started_at,
        "duration_seconds": round(result.duration_seconds, 3),
        "metrics": {name: metric.to_json() for name, metric in result.metrics.items()},
        "gates": [gate.to_json() for gate in result.gates],
        "stages": [stage_json(stage) for stage in result.stages],
        "warnings": list(result.warnings),
        **({"accepted_regression": asdict(result.accepted_regression)} if result.accepted_regression else {}),
        **({"stopping": [stop.to_json() for stop in result.stopping]} if result.stopping else {}),
        **({"shards": {"count": len(result.shards), "cases": list(result.shards)}} if result.shards else {}),
        **({"cost": result.cost} if result.cost else {}),
        **_comparison(result),
        **sampling_json(result),
        "cases": [{**case.to_json(), **({"judge": result.judge_scores[case.id]} if case.id in result.judge_scores
                                        else {}),
                   **({"judge_reasoning": result.judge_reasoning[case.id]} if case.id in result.judge_reasoning
                      else {})} for case in result.cases],
        "fingerprint": result.fingerprint.to_json(),
        "config": result.config.to_json(),
    }


def stage_json(stage: StageResult) -> dict[str, Any]:
    """A stage as report.json shows it; its typed details become plain JSON here, and only here."""
    return {
        "name": str(stage.name), "status": str(stage.status), "duration_seconds": round(stage.duration_seconds, 3),
        "metrics": {name: m.to_json() for name, m in stage.metrics.items()}, "errors": list(stage.errors),
        **({"details": asdict(stage.details)} if stage.details is not None else {}),
    }


def _comparison(result: RunResult) -> dict[str, Any]:
    """The `comparison` section: stage 3's per-metric results and flipped cases, when a baseline was compared."""
    from evaluator.stages.comparison import ComparisonDetails

    details = result.details(ComparisonDetails)
    return {"comparison": asdict(details)} if details is not None else {}


def write_error_reports(message: str, hint: str | None, output_dir: Path) -> tuple[Path, Path]:
    """report.json and report.md for a run that could not be evaluated (decision ERROR), so the error reaches the
    pull request like any verdict."""
    from evaluator.report.html import render_html
    from evaluator.report.markdown_text import escape_cell

    json_path, markdown_path = report_paths(output_dir)
    data = {"report_version": REPORT_VERSION, "decision": Decision.ERROR.value,
            "error": {"message": message, "hint": hint}, "metrics": {}, "gates": [], "stages": [], "cases": []}
    lines = ["## ⛔ taskeval: ERROR — the model was not evaluated", "", f"**Cause:** {escape_cell(message, 2000)}"]
    if hint:
        lines += ["", f"**Fix:** {escape_cell(hint, 2000)}"]
    text = dumps_strict(data, indent=2) + "\n"
    write_files_atomically({markdown_path: "\n".join(lines) + "\n", html_path(output_dir): render_html(text, TITLE),
                            json_path: text})
    return json_path, markdown_path


def report_paths(output_dir: Path) -> tuple[Path, Path]:
    return output_dir / "report.json", output_dir / "report.md"


def html_path(output_dir: Path) -> Path:
    """report.html, the page to explore the run, beside report.json and report.md."""
    return output_dir / "report.html"


TITLE = "taskeval report"


def clear_reports(output_dir: Path) -> None:
    """Remove an earlier run's reports when not even an ERROR report can be written, so none claims DEPLOY."""
    for path in (*report_paths(output_dir), html_path(output_dir)):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            continue


def report_files(result: RunResult, output_dir: Path) -> dict[Path, str]:
    """report.md, report.html and report.json of a run, rendered (report.json last: it is renamed into place last);
    report.html embeds report.json's very text."""
    from evaluator.report.html import render_html
    from evaluator.report.markdown import render_markdown

    json_path, markdown_path = report_paths(output_dir)
    text = dumps_strict(report_json(result), indent=2) + "\n"
    title = f"taskeval {result.decision}: {result.fingerprint.model.get('path', 'the model')}"
    return {markdown_path: render_markdown(result, json_path), html_path(output_dir): render_html(text, title),
            json_path: text}


def write_reports(result: RunResult, output_dir: Path, extra: dict[Path, str] | None = None) -> tuple[Path, Path]:
    """report.json and report.md in the output folder (and any `extra` files, such as a new baseline), all or
    none; returns the report paths. A write that fails voids the run: an input error (exit 2), never a verdict."""
    try:
        write_files_atomically({**report_files(result, output_dir), **(extra or {})})
    except OSError as error:
        raise TaskevalError(f"{output_dir}: the reports could not be written ({error.strerror or error}); the run's "
                            f"decision ({result.decision}) stands nowhere",
                            "free disk space or fix the folder's permissions and run again: generated outputs are "
                            "cached") from None
    return report_paths(output_dir)
