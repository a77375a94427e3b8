"""Time to verdict with stop_early: the shipped candidates, each run in full and with `--stop-early`, in one run.

    python benchmarks/early_stop.py            # about 4 minutes on 2 cores

Every run is a fresh `taskeval run` process with no output cache (model load included), on the 500-case benchmark
against the shipped baseline with the example config. Prints, per candidate, the decision of both runs, the cases
the early run used and the ratios (cases and wall time, early over full), and writes
benchmarks/results/early_stop.json. docs/statistics.md, "Stopping early", quotes the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"
CANDIDATES = ("task-api-v2", "task-api-v2-regressed")
RESULTS = ROOT / "benchmarks" / "results" / "early_stop.json"


def timed_run(model: str, early: bool, scratch: Path) -> dict[str, object]:
    out = scratch / f"{model}-{'early' if early else 'full'}"
    examples = ROOT / "examples"
    command = [sys.executable, "-m", "evaluator", "run", "--model", str(MODELS / model), "--benchmark",
               str(examples / "task_api" / "benchmark.jsonl"), "--config", str(examples / "config.yaml"),
               "--baseline", str(examples / "baselines" / "task-api-v1.json"), "--output-dir", str(out),
               "--quiet", "--no-cache", *(["--stop-early"] if early else [])]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - started
    report = json.loads((out / "report.json").read_text())
    stops = [s for s in report.get("stopping", []) if s["stage"] == "automated_metrics"]
    return {"decision": report["decision"], "exit_code": done.returncode, "seconds": seconds,
            "cases": len(report["cases"]), "reason": stops[0]["reason"] if stops else ""}


def main() -> int:
    rows: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for model in CANDIDATES:
            full, early = timed_run(model, False, Path(folder)), timed_run(model, True, Path(folder))
            rows[model] = {"full": full, "early": early,
                           "cases_ratio": float(str(early["cases"])) / float(str(full["cases"])),
                           "time_ratio": float(str(early["seconds"])) / float(str(full["seconds"]))}
    print(f"{'candidate':<24} {'full':>14} {'stop_early':>18} {'cases':>7} {'time':>7}")
    for model, row in rows.items():
        full, early = row["full"], row["early"]
        assert isinstance(full, dict) and isinstance(early, dict)
        print(f"{model:<24} {full['decision']:>6} {full['seconds']:>6.1f} s {early['decision']:>6} "
              f"{early['cases']:>4} {early['seconds']:>5.1f} s {row['cases_ratio']:>7.2f} {row['time_ratio']:>7.2f}")
        print(f"  {early['reason']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"threads": os.cpu_count(), "rows": rows}, indent=1) + "\n")
    print(f"written: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
