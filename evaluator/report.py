"""report.json (SPEC §7) and atomic writing of the report files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from evaluator.results import RunResult

REPORT_VERSION = "1.0"


def report_json(result: RunResult) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "decision": result.decision,
        "started_at": result.started_at,
        "duration_seconds": round(result.duration_seconds, 3),
        "metrics": {name: metric.to_json() for name, metric in result.metrics.items()},
        "gates": [gate.to_json() for gate in result.gates],
        "stages": [stage.to_json() for stage in result.stages],
        "warnings": list(result.warnings),
        **({"cost": result.cost} if result.cost else {}),
        **_comparison(result),
        "cases": [{**case.to_json(), **({"judge": result.judge_scores[case.id]} if case.id in result.judge_scores
                                        else {})} for case in result.cases],
        "fingerprint": result.fingerprint,
        "config": result.config,
    }


def _comparison(result: RunResult) -> dict[str, Any]:
    """The `comparison` section: stage 3's per-metric results and flipped cases, when a baseline was compared."""
    stage = result.stage("regression_comparison")
    return {"comparison": stage.details} if stage is not None and stage.details else {}


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_error_reports(message: str, hint: str | None, output_dir: Path) -> tuple[Path, Path]:
    """report.json and report.md for a run that could not be evaluated (decision ERROR), so the error reaches the
    pull request like any verdict."""
    from evaluator.markdown import escape_cell

    json_path, markdown_path = output_dir / "report.json", output_dir / "report.md"
    data = {"report_version": REPORT_VERSION, "decision": "ERROR", "error": {"message": message, "hint": hint},
            "metrics": {}, "gates": [], "stages": [], "cases": []}
    write_atomically(json_path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    lines = ["## ⛔ taskeval: ERROR — the model was not evaluated", "", f"**Cause:** {escape_cell(message, 2000)}"]
    if hint:
        lines += ["", f"**Fix:** {escape_cell(hint, 2000)}"]
    write_atomically(markdown_path, "\n".join(lines) + "\n")
    return json_path, markdown_path


def write_reports(result: RunResult, output_dir: Path) -> tuple[Path, Path]:
    """report.json and report.md in the output folder; returns their paths."""
    from evaluator.markdown import render_markdown

    json_path, markdown_path = output_dir / "report.json", output_dir / "report.md"
    write_atomically(json_path, json.dumps(report_json(result), ensure_ascii=False, indent=2) + "\n")
    write_atomically(markdown_path, render_markdown(result, json_path))
    return json_path, markdown_path
