"""The `taskeval` command: `run` evaluates and gates, `validate` checks inputs without running anything.

Exit codes: 0 DEPLOY, 1 BLOCK, 2 ERROR (bad input, a model that does not load, an internal failure).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evaluator import __version__
from evaluator.errors import TaskevalError

if TYPE_CHECKING:
    from evaluator.results import RunResult

EXIT_DEPLOY, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskeval", description="A deploy gate for fine-tuned Task API models.")
    parser.add_argument("--version", action="version", version=f"taskeval {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate a model (or a predictions file) and decide DEPLOY or BLOCK")
    run.add_argument("--model", type=Path, help="local Hugging Face model folder (full model or PEFT adapter)")
    run.add_argument("--benchmark", type=Path, required=True, help="JSON array or JSONL file of cases")
    run.add_argument("--config", type=Path, help="YAML gate configuration (built-in defaults without it)")
    run.add_argument("--predictions", type=Path, help="JSONL of {id, output}: score these instead of a model")
    run.add_argument("--baseline", type=Path, help="baseline JSON of the model in production (enables stage 3)")
    run.add_argument("--update-baseline", type=Path, metavar="FILE",
                     help="write this run's baseline to FILE when the decision is DEPLOY")
    run.add_argument("--output-dir", type=Path, default=Path("taskeval-report"),
                     help="where report.json and report.md go (default: taskeval-report)")
    run.add_argument("--limit", type=_positive_int, help="evaluate a seeded sample of N cases")
    run.add_argument("--seed", type=int, help="seed for --limit and the judge's sample (default: judge.seed)")
    run.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    run.add_argument("--no-cache", action="store_true", help="ignore and do not write the output cache")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    validate = commands.add_parser("validate", help="check a configuration (and a benchmark) without running")
    validate.add_argument("--config", type=Path, required=True)
    validate.add_argument("--benchmark", type=Path)
    return parser


def print_summary(result: RunResult, json_path: Path, markdown_path: Path) -> None:
    from evaluator.gates import COMPARISONS, format_value

    cases = result.fingerprint["benchmark"]["cases"]
    print(f"\ntaskeval: {result.decision}  ({cases} cases, {result.duration_seconds:.1f} s)")
    for gate in result.gates:
        mark = {True: "PASS", False: "FAIL", None: "N/A "}[gate.passed]
        measured = "not computed" if gate.actual is None else format_value(gate.actual)
        symbol = COMPARISONS.get(gate.comparison).symbol
        print(f"  {mark}  {gate.name:<18} {gate.metric:<18} {measured:>12} {symbol} {format_value(gate.threshold)}"
              f"  [{gate.gate_type}]")
    comparison = result.stage("regression_comparison")
    for row in comparison.details.get("metrics", []) if comparison else []:
        print(f"  vs baseline: {row['metric']:<18} {row['baseline']:.3f} → {row['current']:.3f}  "
              f"Δ {row['delta'] * 100:+.1f} pts  p={row['p_value']:.3g}  {row['verdict']}")
    for warning in result.warnings:
        print(f"  warning: {warning}")
    for stage in result.stages:
        if stage.status == "skipped" and stage.errors:
            print(f"  skipped {stage.name}: {stage.errors[0]}")
    print(f"reports: {json_path}  {markdown_path}")


def command_run(args: argparse.Namespace) -> int:
    from evaluator.pipeline import RunOptions, run
    from evaluator.report import write_reports

    options = RunOptions(
        benchmark=args.benchmark, model=args.model, config=args.config, predictions=args.predictions,
        baseline=args.baseline, limit=args.limit, seed=args.seed, device=args.device, use_cache=not args.no_cache,
        progress=not args.quiet,
    )
    result = run(options)
    json_path, markdown_path = write_reports(result, args.output_dir)
    print_summary(result, json_path, markdown_path)
    if args.update_baseline is not None:
        if result.decision == "DEPLOY":
            from evaluator.baseline import write_baseline

            write_baseline(result, args.update_baseline)
            print(f"baseline written: {args.update_baseline}")
        else:
            print(f"baseline not written ({result.decision}): only a DEPLOY run updates {args.update_baseline}")
    return EXIT_DEPLOY if result.decision == "DEPLOY" else EXIT_BLOCK


def command_validate(args: argparse.Namespace) -> int:
    from evaluator.automated_metrics import schema_validator
    from evaluator.benchmark import load_benchmark
    from evaluator.config import load_config

    config = load_config(args.config)
    _, no_schema = schema_validator(config.metrics.schema)
    print(f"{args.config}: valid ({len(config.quality_gates)} gates)")
    if no_schema:
        print(f"  note: schema_valid_rate will be absent ({no_schema})")
    if args.benchmark is not None:
        cases = load_benchmark(args.benchmark)
        print(f"{args.benchmark}: valid ({len(cases)} cases)")
    return EXIT_DEPLOY


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = command_run if args.command == "run" else command_validate
    try:
        return handler(args)
    except TaskevalError as error:
        print(f"taskeval: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("taskeval: interrupted; no report was written", file=sys.stderr)
        return EXIT_ERROR
    except Exception:  # a genuine bug keeps its traceback, and still never deploys
        traceback.print_exc()
        print("taskeval: internal error (exit code 2); please report it with the traceback above", file=sys.stderr)
        return EXIT_ERROR
