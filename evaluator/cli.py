"""The `taskeval` command: `run` evaluates and gates (with `--shard K/N`, one shard of a run), `gate` merges the shard
records of a run and gates once, `validate` checks inputs without running anything, `view` opens a run's report.html.

Exit codes: 0 DEPLOY, 1 BLOCK, 2 ERROR (bad input, a model that does not load, an internal failure).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evaluator import __version__
from evaluator.core.environment import interrupts_end_the_run
from evaluator.core.errors import TaskevalError
from evaluator.core.names import GateType, Status
from evaluator.core.redaction import redact, register_environment
from evaluator.stages.gates import DEPLOY

if TYPE_CHECKING:
    from evaluator.pipeline import Inputs, RunOptions
    from evaluator.stages.results import AcceptedRegression, RunResult

EXIT_DEPLOY, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _add_decision_arguments(command: argparse.ArgumentParser) -> None:
    """What a command that decides takes: the production baseline, where the new one and the reports go."""
    command.add_argument("--baseline", type=Path, help="baseline JSON of the model in production (enables stage 3)")
    command.add_argument("--update-baseline", type=Path, metavar="FILE",
                         help="write this run's baseline to FILE when the decision is DEPLOY")
    command.add_argument("--output-dir", type=Path, default=Path("taskeval-report"),
                         help="where report.json and report.md go (default: taskeval-report)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskeval", description="A deploy gate for fine-tuned Task API models.")
    parser.add_argument("--version", action="version", version=f"taskeval {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate a model (or a predictions file) and decide DEPLOY or BLOCK")
    run.add_argument("--model", type=Path, help="local Hugging Face model folder (full model or PEFT adapter), or a "
                     "hub id (org/name) where a hub is reachable")
    run.add_argument("--benchmark", type=Path, required=True, help="JSON array or JSONL file of cases")
    run.add_argument("--config", type=Path, help="YAML gate configuration (built-in defaults without it)")
    run.add_argument("--predictions", type=Path, help="JSONL of {id, output}: score these instead of a model")
    _add_decision_arguments(run)
    run.add_argument("--limit", type=_positive_int, help="evaluate a seeded sample of N cases")
    run.add_argument("--seed", type=int, help="seed for --limit and the judge's sample (default: judge.seed)")
    run.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    run.add_argument("--no-cache", action="store_true", help="ignore and do not write the output cache")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--accept-regression", metavar="REASON",
                     help="accept a regression against the baseline on purpose: the comparison only warns, and the "
                          "report and the next baseline record who (GITHUB_ACTOR or the user) and REASON")
    run.add_argument("--stop-early", action="store_true",
                     help="stop once every verdict is settled, with bounds valid at any sample size (the config's "
                          "stop_early: true; docs/statistics.md, \"Stopping early\")")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="let the model's own Python code run (transformers' trust_remote_code); the configuration "
                          "alone cannot allow it")
    run.add_argument("--shard", metavar="K/N", help="evaluate only shard K of N (cases split by a stable hash of "
                     "their id) and write its record, shard-K-of-N.json in --output-dir, for `taskeval gate` "
                     "(docs/scaling.md)")

    gate = commands.add_parser("gate", help="merge the records of every shard of a run, then judge, compare, gate and "
                                            "report once, on the whole benchmark (docs/scaling.md)")
    gate.add_argument("records", nargs="+", type=Path, metavar="SHARD_RECORDS",
                      help="the shard records (shard-K-of-N.json), or folders holding them")
    gate.add_argument("--benchmark", type=Path, required=True, help="the benchmark the shards ran")
    gate.add_argument("--config", type=Path, help="the configuration the shards ran (built-in defaults without it)")
    _add_decision_arguments(gate)
    gate.add_argument("--limit", type=_positive_int, help="the --limit the shards ran with")
    gate.add_argument("--seed", type=int, help="the --seed the shards ran with (default: judge.seed)")
    gate.add_argument("--no-cache", action="store_true", help="ignore and do not write the judge's cache")
    gate.add_argument("--quiet", action="store_true", help="no progress bar")
    gate.add_argument("--accept-regression", metavar="REASON",
                      help="accept a regression against the baseline on purpose (as for `taskeval run`)")

    validate = commands.add_parser("validate", help="check a configuration (and a benchmark) without running")
    validate.add_argument("--config", type=Path, required=True)
    validate.add_argument("--benchmark", type=Path)
    validate.add_argument("--baseline", type=Path, help="a baseline file to check too")
    validate.add_argument("--model", type=Path, help="a model to check too, without loading its weights (a folder, "
                                                     "a LoRA adapter and its base, a .gguf file or a hub id)")

    init = commands.add_parser("init", help="write a starter taskeval.yaml, its JSON Schema, one workflow for the "
                                            "gate's life cycle and .gitignore lines into the current repository")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.add_argument("--sample", action="store_true", help="also write benchmarks/sample.jsonl, a 27-case benchmark "
                                                            "of the example Task API, so `taskeval run` works at once")
    init.add_argument("--shards", type=_positive_int, metavar="N", help="write the workflow that splits the benchmark "
                      "over N runners (an Actions matrix) and gates once (docs/scaling.md)")
    view = commands.add_parser("view", help="open a run's report.html in the default browser")
    view.add_argument("report_dir", type=Path, metavar="REPORT_DIR", nargs="?", default=Path("taskeval-report"),
                      help="the folder of report.json and report.html (default: taskeval-report), or the page")
    schema = commands.add_parser("schema", help="print the configuration's JSON Schema (or report.json's, "
                                                "baseline.json's)")
    which = schema.add_mutually_exclusive_group()
    which.add_argument("--report", action="store_true", help="report.json's schema, as shipped in the package")
    which.add_argument("--baseline", action="store_true", help="baseline.json's schema, as shipped in the package")
    return parser


COLOURS = {"DEPLOY": "32", "PASS": "32", "BLOCK": "31", "FAIL": "31", "ERROR": "31", "N/A ": "33", "WARN": "33"}


def paint(word: str, enabled: bool) -> str:
    """A word in its colour (green passes, red failures, yellow warnings and unevaluated gates) when the terminal
    shows colour."""
    code = COLOURS.get(word)
    return f"\033[1;{code}m{word}\033[0m" if enabled and code else word


def colour_wanted(stream: object) -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def print_summary(result: RunResult, json_path: Path, markdown_path: Path) -> None:
    from evaluator.report.flaky import flaky_cases, sampling_words
    from evaluator.stages.comparison import ComparisonDetails
    from evaluator.stages.gates import COMPARISONS, format_value

    colour = colour_wanted(sys.stdout)
    planned = result.fingerprint.benchmark.cases
    cases = f"{len(result.cases)} of {planned}" if len(result.cases) < planned else str(planned)
    merged = f", merged from {len(result.shards)} shards" if result.shards else ""
    sampling = sampling_words(result)
    cases += f" cases {sampling}" if sampling else " cases"
    lines = [f"\ntaskeval: {paint(result.decision, colour)}  ({cases}{merged}, {result.duration_seconds:.1f} s)"]
    if sampling:
        lines.append(f"  flaky: {len(flaky_cases(result.cases))} of {len(result.cases)} cases right in some samples "
                     "and wrong in others (report.md lists the worst)")
    for gate in result.gates:
        mark = paint("WARN" if gate.warns and gate.passed is False else
                     {True: "PASS", False: "FAIL", None: "N/A "}[gate.passed], colour)
        measured = "not computed" if gate.actual is None else format_value(gate.actual)
        symbol = COMPARISONS.get(gate.comparison).symbol
        lines.append(f"  {mark}  {gate.name:<18} {gate.metric:<18} {measured:>12} {symbol} "
                     f"{format_value(gate.threshold)}  [{gate.gate_type}]")
    comparison = result.details(ComparisonDetails)
    lines += [f"  stop_early: {stop.reason}" for stop in result.stopping]
    if result.accepted_regression is not None:
        lines.append(f"  regression accepted on purpose by {result.accepted_regression.by}: "
                     f"{result.accepted_regression.reason}")
    if comparison is not None and comparison.identical_outputs:
        lines.append(f"  identical outputs on all {comparison.identical_outputs} cases to production's: nothing "
                     f"changed (an unchanged model passes the comparison from {comparison.cases_for_identical} "
                     "cases; add cases or set regression.on_inconclusive: warn)")
    for row in comparison.metrics if comparison else ():
        lines.append(f"  vs baseline: {row.metric:<18} {row.baseline:.3f} → {row.current:.3f}  "
                     f"Δ {row.delta * 100:+.1f} pts  p (Holm) {row.p_adjusted:.2g}  {row.verdict}")
    for warning in result.warnings:
        lines.append(f"  warning: {warning}")
    for stage in result.stages:
        if stage.status in (Status.SKIPPED, Status.ERROR) and stage.errors:
            lines.append(f"  {stage.status} {stage.name}: {stage.errors[0]}")
    from evaluator.report.writer import html_path

    lines.append(f"reports: {json_path}  {markdown_path}  {html_path(json_path.parent)} (`taskeval view "
                 f"{json_path.parent}` opens it)")
    print(redact("\n".join(lines)))


def accepted_regression(reason: str | None) -> AcceptedRegression | None:
    """Who accepts a regression: the workflow's actor in Actions, else the user at the terminal."""
    from evaluator.stages.results import AcceptedRegression

    if reason is None:
        return None
    if not reason.strip():
        raise TaskevalError("--accept-regression needs a reason", 'say why, e.g. --accept-regression "new schema"')
    import getpass

    return AcceptedRegression(os.environ.get("GITHUB_ACTOR") or getpass.getuser(), reason.strip())


def command_run(args: argparse.Namespace) -> int:
    """Check the outputs can be written, run, then write reports (and the baseline, on DEPLOY) all or none."""
    from evaluator.pipeline import RunOptions

    if args.quiet:
        from evaluator.core.environment import quiet_libraries

        quiet_libraries()
    if args.trust_remote_code:
        from evaluator.generation.model_folder import TRUST_REMOTE_CODE_ENV

        os.environ[TRUST_REMOTE_CODE_ENV] = "1"
    options = RunOptions(
        benchmark=args.benchmark, model=args.model, config=args.config, predictions=args.predictions,
        baseline=args.baseline, limit=args.limit, seed=args.seed, device=args.device, use_cache=not args.no_cache,
        progress=not args.quiet, accept_regression=accepted_regression(args.accept_regression),
        stop_early=args.stop_early,
    )
    if args.shard is not None:
        return command_shard(args, options)
    return run_and_report(args, options)


def command_shard(args: argparse.Namespace, options: RunOptions) -> int:
    """`taskeval run --shard K/N`: this shard's outputs, scored, in its record; no verdict (the gate decides)."""
    from evaluator.core.sharding import parse_shard
    from evaluator.pipeline import write_shard

    shard = parse_shard(args.shard)
    for flag, given in (("--baseline", args.baseline), ("--update-baseline", args.update_baseline),
                        ("--accept-regression", args.accept_regression)):
        if given is not None:
            raise TaskevalError(f"{flag} belongs to `taskeval gate`, not to a shard: a shard decides nothing",
                                f"drop {flag} here and give it to `taskeval gate` with the shard records")
    written = write_shard(options, shard, args.output_dir)
    results = written.results
    right = sum(float(r.checks.get("accuracy", False)) for r in results)  # with k samples: shares right
    share = f"{right:g}/{len(results)} right" if results else "no cases"
    print(f"\ntaskeval: shard {shard}: {len(results)} of {written.record.settings.cases} cases ({share}; not a "
          f"verdict: `taskeval gate` decides on all {shard.count} shards)\nshard record: {written.path}")
    return EXIT_DEPLOY


def command_gate(args: argparse.Namespace) -> int:
    """`taskeval gate SHARD_RECORDS…`: merge, then the judge, the comparison, the gates and the reports, once."""
    from evaluator.pipeline import RunOptions

    if args.quiet:
        from evaluator.core.environment import quiet_libraries

        quiet_libraries()
    options = RunOptions(
        benchmark=args.benchmark, config=args.config, baseline=args.baseline, limit=args.limit, seed=args.seed,
        use_cache=not args.no_cache, progress=not args.quiet,
        accept_regression=accepted_regression(args.accept_regression), shard_records=tuple(args.records),
    )
    return run_and_report(args, options)


def run_and_report(args: argparse.Namespace, options: RunOptions) -> int:
    """Run (or merge and gate), write the reports and the baseline when due, print the summary; the exit code."""
    from evaluator.pipeline import run_and_write

    written = run_and_write(options, args.output_dir, "output folder (--output-dir)", args.update_baseline,
                            "baseline file (--update-baseline)")
    print_summary(written.result, written.json_path, written.markdown_path)
    if written.baseline is not None:
        print(f"baseline written: {written.baseline}")
    elif args.update_baseline is not None:
        print(f"baseline not written to {args.update_baseline}: {written.baseline_refusal}")
    return EXIT_DEPLOY if written.result.decision == DEPLOY else EXIT_BLOCK


def command_validate(args: argparse.Namespace) -> int:
    """The same input checks as `run`, without a model."""
    from evaluator.pipeline import load_inputs

    inputs = load_inputs(args.config, args.benchmark, args.baseline)
    gates = inputs.config.quality_gates
    blocking = sum(1 for g in gates if g.gate_type == GateType.BLOCKING)
    print(f"{args.config}: valid ({len(gates)} gates, {blocking} blocking)")
    if inputs.schema_absent:
        print(f"  note: schema_valid_rate will be absent ({inputs.schema_absent})")
    if inputs.suite:
        print(f"  safety suite: {len(inputs.suite)} cases")
    if args.benchmark is not None:
        print(f"{args.benchmark}: valid ({len(inputs.cases)} cases)")
    if inputs.baseline is not None:
        print(f"{args.baseline}: valid ({len(inputs.baseline.metrics)} metrics)")
    if args.benchmark is not None:
        for line in what_it_can_decide(inputs):
            print(f"  {line}")
    if args.model is not None:
        from evaluator.generation.model_folder import check_model, remote_code_allowed

        remote_code_allowed(inputs.config.generation.trust_remote_code)
        print(f"{args.model}: valid ({check_model(args.model, inputs.config.generation.allow_pickle)})")
    return EXIT_DEPLOY


def what_it_can_decide(inputs: Inputs) -> list[str]:
    """The benchmark's size as a fact: what it can decide against production (docs/statistics.md)."""
    from evaluator.stages.benchmark_power import benchmark_power, power_lines

    settings = inputs.config.regression
    margin = settings.margin("accuracy")
    production = inputs.baseline.metrics.get("accuracy") if inputs.baseline is not None else None
    power = benchmark_power(len(inputs.cases), margin, settings.alpha, production.value if production else None)
    return power_lines(power)


def command_init(args: argparse.Namespace) -> int:
    from evaluator.init_project import init_project

    written = init_project(Path.cwd(), args.force, args.sample, args.shards)
    for path in written:
        print(f"wrote {path.relative_to(Path.cwd())}")
    from evaluator.stages.benchmark_power import cases_for_identical

    benchmark = "benchmarks/sample.jsonl" if args.sample else "<your benchmark>"
    print(f"note: with the default 5-point margin, a benchmark needs at least {cases_for_identical(0.05, 0.05)} "
          "cases before a model that did not change can pass the comparison with production; `taskeval validate` "
          "says what yours can decide")
    print("next: set `model` and `benchmark` in .github/workflows/taskeval.yml (one workflow: pull requests are "
          "gated, a passing push to the default branch publishes production's baseline), then "
          f"`taskeval validate --config taskeval.yaml --benchmark {benchmark} --model <your model>`")
    return EXIT_DEPLOY


def command_view(args: argparse.Namespace) -> int:
    """Open report.html in the default browser (from disk: the page needs no server)."""
    import webbrowser

    from evaluator.report.writer import html_path

    page = args.report_dir if args.report_dir.suffix == ".html" else html_path(args.report_dir)
    if not page.is_file():
        raise TaskevalError(f"{page}: no report.html here", "give the --output-dir of a run (taskeval run writes "
                            "report.html beside report.json)")
    uri = page.resolve().as_uri()
    if webbrowser.open(uri):
        print(f"opened {page}")
    else:
        print(f"no browser to open here; open {uri} in one")
    return EXIT_DEPLOY


def command_schema(args: argparse.Namespace) -> int:
    from evaluator.init_project import schema_text

    if args.report or args.baseline:
        from evaluator.report.schemas import BASELINE_SCHEMA, REPORT_SCHEMA

        print((REPORT_SCHEMA if args.report else BASELINE_SCHEMA).read_text(encoding="utf-8"), end="")
    else:
        print(schema_text(), end="")
    return EXIT_DEPLOY


COMMANDS = {"run": command_run, "gate": command_gate, "validate": command_validate, "init": command_init,
            "view": command_view, "schema": command_schema}


def _clear_stale_reports(args: argparse.Namespace) -> None:
    """A run that ends in an error leaves no report, and no earlier run's report either: no file in the output
    folder may claim a decision this run did not reach."""
    from evaluator.report.writer import clear_reports

    if getattr(args, "output_dir", None) is not None:
        clear_reports(args.output_dir)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = COMMANDS[args.command]
    register_environment(os.environ)  # every KEY, TOKEN, SECRET or PASSWORD variable is redacted from every output
    try:
        with interrupts_end_the_run():  # a CI time-out ends the run like Ctrl-C: cached outputs kept
            return handler(args)
    except TaskevalError as error:
        print(f"taskeval: error: {redact(str(error))}", file=sys.stderr)
        _clear_stale_reports(args)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("taskeval: interrupted; no report was written (outputs generated so far are cached)", file=sys.stderr)
        _clear_stale_reports(args)
        return EXIT_ERROR
    except Exception:  # a genuine bug keeps its traceback, and still never deploys
        print(redact(traceback.format_exc()), file=sys.stderr)
        print("taskeval: internal error (exit code 2); please report it with the traceback above", file=sys.stderr)
        _clear_stale_reports(args)
        return EXIT_ERROR
