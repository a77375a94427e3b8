"""Repeated samples (generation.samples) on the shipped adapter, on the CPU: what k samples cost, what the seeded
sampler adds, and what the consistency metrics say of a real model at a temperature above zero.

    python benchmarks/samples.py               # about 2 minutes on 2 cores
    python benchmarks/samples.py --cases 100 --samples 8 --temperature 0.7

On `--cases` cases spread over the benchmark (`--model`, default task-api-v1, with examples/config.yaml; no cache),
times generation: greedy (k = 1), sampled with k = 1 (the sampler's own overhead), and sampled with k = `--samples`;
prints the time per sample and per case, the cost multiple, and accuracy, pass_all_k, pass_any_k and flaky_rate of
the sampled run beside greedy accuracy. Writes benchmarks/results/samples.json (or `--output`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluator.generation.huggingface import HuggingFaceBackend  # noqa: E402
from evaluator.inputs.benchmark import load_benchmark  # noqa: E402
from evaluator.inputs.config import load_config  # noqa: E402
from evaluator.inputs.output_schema import schema_validator  # noqa: E402
from evaluator.stages.automated import generate_samples  # noqa: E402
from evaluator.stages.scoring import aggregate_checks, score_cases  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "samples.json"


def timed_run(model: Path, config: Any, temperature: float, samples: int, cases: list[Any]
              ) -> tuple[float, dict[str, float]]:
    """Seconds to generate `samples` per case at `temperature` (one load, not timed), and the run's metrics."""
    settings = replace(config.generation, temperature=temperature, samples=samples)
    backend = HuggingFaceBackend(model, settings, "cpu")
    started = time.perf_counter()
    outputs = generate_samples(backend, cases, None, samples, progress=False)
    seconds = time.perf_counter() - started
    validator, _ = schema_validator(config.metrics.schema, config.source)
    results = score_cases(cases, outputs, config.metrics.ignore_fields, validator)
    return seconds, {name: metric.value for name, metric in aggregate_checks(results).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--model", type=Path, default=Path("examples/models/task-api-v1"))
    parser.add_argument("--config", type=Path, default=Path("examples/config.yaml"))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    output = args.output.resolve()
    os.chdir(ROOT)  # the adapter names its base relative to the repository root
    config = load_config(args.config)
    everything = load_benchmark(ROOT / "examples" / "task_api" / "benchmark.jsonl")
    cases = everything[:: max(1, len(everything) // args.cases)][: args.cases]
    greedy_s, greedy = timed_run(args.model, config, 0.0, 1, cases)
    single_s, _ = timed_run(args.model, config, args.temperature, 1, cases)
    sampled_s, sampled = timed_run(args.model, config, args.temperature, args.samples, cases)
    figures = {
        "cases": len(cases), "samples": args.samples, "temperature": args.temperature,
        "greedy_s": round(greedy_s, 2), "sampled_k1_s": round(single_s, 2), "sampled_k_s": round(sampled_s, 2),
        "sampler_overhead": round(single_s / greedy_s, 3), "cost_multiple": round(sampled_s / greedy_s, 2),
        "greedy_accuracy": round(greedy["accuracy"], 4),
        **{name: round(sampled[name], 4) for name in ("accuracy", "pass_all_k", "pass_any_k", "flaky_rate")},
    }
    print(f"{len(cases)} cases, {args.model.name} on the CPU")
    print(f"  greedy, k = 1:               {greedy_s:6.1f} s ({greedy_s / len(cases) * 1000:.0f} ms/case)")
    print(f"  T = {args.temperature:g}, k = 1:             {single_s:6.1f} s "
          f"(sampler: {single_s / greedy_s:.2f}× greedy)")
    print(f"  T = {args.temperature:g}, k = {args.samples}:             {sampled_s:6.1f} s "
          f"({sampled_s / greedy_s:.2f}× greedy; {sampled_s / (len(cases) * args.samples) * 1000:.0f} ms/sample)")
    print(f"  greedy accuracy {greedy['accuracy']:.3f}; sampled: accuracy {sampled['accuracy']:.3f}, "
          f"pass_all_k {sampled['pass_all_k']:.3f}, pass_any_k {sampled['pass_any_k']:.3f}, "
          f"flaky_rate {sampled['flaky_rate']:.3f}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"model": str(args.model), **figures}, indent=1) + "\n", encoding="utf-8")
    print(f"written: {output}")


if __name__ == "__main__":
    main()
