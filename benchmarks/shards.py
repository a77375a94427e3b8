"""What sharding costs: N local shards run one after another and merged by `taskeval gate`, against one run, on the
shipped example (docs/scaling.md).

    python benchmarks/shards.py              # about 4 minutes on 2 cores
    python benchmarks/shards.py --shards 2 4

Every run is a fresh process with no output cache (model load included): the shipped candidate task-api-v2 on the
500-case benchmark, the example config, against the shipped baseline. Prints, per N, the time of each shard, of the
gate and in all, the overhead ratio (shards + gate over one run: the model loads that N runners pay once each and the
merge), and whether the merged report equals the one run's (decision, every metric, every case: timings aside).
Writes benchmarks/results/shards.json. On N real runners the shards run at once: the wall time is the slowest shard
plus the gate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RESULTS = ROOT / "benchmarks" / "results" / "shards.json"
TIMINGS = {"started_at", "duration_seconds", "latency_ms", "mean_ms", "tokens_per_second"}
"""What two runs of the same outputs may differ in: when and how long."""
INPUTS = ["--benchmark", str(EXAMPLES / "task_api" / "benchmark.jsonl"), "--config", str(EXAMPLES / "config.yaml")]
BASELINE = ["--baseline", str(EXAMPLES / "baselines" / "task-api-v1.json")]


def timed(*args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "evaluator", *args, "--quiet"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"taskeval {args[0]} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def comparable(report: Any) -> Any:
    """report.json without its timings (latency keeps its sample size) and without `shards`, which says that a
    report was merged: what must be equal between a merged run and one run."""
    if isinstance(report, dict):
        kept = {key: comparable(value) for key, value in report.items() if key not in TIMINGS | {"shards"}}
        for name in ("latency_p50_ms", "latency_p95_ms"):
            if isinstance(kept.get(name), dict):
                kept[name] = {"n": kept[name].get("n")}
        return kept
    if isinstance(report, list):
        return [comparable(item) for item in report]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, nargs="+", default=[4])
    parser.add_argument("--model", default=str(EXAMPLES / "models" / "task-api-v2"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    model = ["--model", args.model, "--device", "cpu", "--no-cache"]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        one = timed("run", *model, *INPUTS, *BASELINE, "--output-dir", str(root / "one"))
        whole = json.loads((root / "one" / "report.json").read_text())
        print(f"one run: {one:.1f} s, {whole['decision']}", flush=True)
        for count in args.shards:
            folder = root / f"shards-{count}"
            shard_times = [timed("run", "--shard", f"{k}/{count}", *model, *INPUTS, "--output-dir", str(folder))
                           for k in range(1, count + 1)]
            gate = timed("gate", str(folder), *INPUTS, *BASELINE, "--output-dir", str(root / f"gated-{count}"))
            merged = json.loads((root / f"gated-{count}" / "report.json").read_text())
            same = comparable(merged) == comparable(whole)
            total = sum(shard_times) + gate
            rows.append({"shards": count, "shard_seconds": [round(t, 1) for t in shard_times],
                         "gate_seconds": round(gate, 1), "total_seconds": round(total, 1),
                         "one_run_seconds": round(one, 1), "overhead_ratio": round(total / one, 3),
                         "wall_on_n_runners_seconds": round(max(shard_times) + gate, 1),
                         "decision": merged["decision"], "report_equals_one_run": same})
            print(f"{count} shards: {' + '.join(f'{t:.1f}' for t in shard_times)} s, gate {gate:.1f} s; "
                  f"{total:.1f} s in all = {total / one:.2f}× one run; on {count} runners about "
                  f"{max(shard_times) + gate:.1f} s; {merged['decision']}; report equals one run's: {same}",
                  flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"model": Path(args.model).name, "rows": rows}, indent=1) + "\n",
                           encoding="utf-8")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
