"""The run, as the five-box diagram: automated metrics → judge → comparison → aggregation → gates → decision."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evaluator import __version__
from evaluator.core.cache_signing import CacheSigner, cache_signer
from evaluator.core.environment import current_commit, library_versions, quiet_libraries, workflow_run_url
from evaluator.core.errors import TaskevalError
from evaluator.core.files import check_writable_dir, check_writable_file, dumps_strict, write_atomically
from evaluator.core.hashing import compact_json, sha256_hex
from evaluator.core.metrics import METRICS, MetricValue
from evaluator.core.names import Stage
from evaluator.core.records import Backend, Case, Generation, LatencySample
from evaluator.core.redaction import stand_in_notes
from evaluator.core.sharding import Shard
from evaluator.generation.cache import OutputCache
from evaluator.generation.predictions import PredictionsBackend
from evaluator.generation.shards import RecordedBackend, RunSettings, ShardRecord, merge_records, record_paths
from evaluator.inputs.baseline import Baseline, load_baseline
from evaluator.inputs.benchmark import benchmark_fingerprint, limit_cases, load_benchmark
from evaluator.inputs.config import Config, latency_reader, load_config
from evaluator.inputs.output_schema import schema_validator
from evaluator.inputs.plugins import BACKENDS
from evaluator.report.baseline_file import baseline_refusal, baseline_text
from evaluator.report.writer import write_reports
from evaluator.stages.automated import AutomatedDetails, generate_outputs, generate_samples, run_automated_metrics
from evaluator.stages.comparison import ComparisonDetails, planned_judge_warnings, run_comparison
from evaluator.stages.early_stop import lookers, seeded_order
from evaluator.stages.gates import DEPLOY, GateResult, decide, evaluate_gates, regression_gates
from evaluator.stages.judge import JudgeDetails, run_judge, sample_size
from evaluator.stages.latency import latency_result, latency_sample, run_latency, time_requests
from evaluator.stages.results import (
    FAILED,
    PASSED,
    AcceptedRegression,
    BenchmarkPrint,
    EarlyStop,
    Fingerprint,
    RunResult,
    StageResult,
    skipped,
)
from evaluator.stages.safety import RedTeamCase, load_suite, safety_stage
from evaluator.stages.scoring import CaseResult, score_cases

MODEL_STAGES = (Stage.AUTOMATED_METRICS, Stage.SAFETY, Stage.LATENCY)
"""The stages that run the model (their time is what a GPU-hour price is charged for)."""


@dataclass(frozen=True)
class RunOptions:
    """What the command line (or the Action) asks for."""

    benchmark: Path
    model: Path | None = None
    config: Path | None = None
    predictions: Path | None = None
    limit: int | None = None
    seed: int | None = None
    baseline: Path | None = None
    device: str = "auto"
    use_cache: bool = True
    progress: bool = True
    judge_api_key: str | None = None
    """The judge's API key (the Action's input); None: the OPENAI_API_KEY environment variable."""
    commit: str | None = None
    """The commit evaluated (the Action: the pull request's head); None: GITHUB_SHA or the working tree's HEAD."""
    accept_regression: AcceptedRegression | None = None
    """A regression accepted on purpose: the comparison's gate only warns, and the report says who and why."""
    stop_early: bool = False
    """Stop once every verdict is settled, whatever the configuration says (`--stop-early`, the Action's input)."""
    shard_records: tuple[Path, ...] = ()
    """`taskeval gate`: the shard records (files or folders) whose outputs this run scores, judges and gates."""


@dataclass(frozen=True)
class Inputs:
    """Every input of a run, loaded and validated before any model work (`taskeval validate` loads the same)."""

    config: Config
    cases: list[Case]
    suite: list[RedTeamCase]
    baseline: Baseline | None
    schema_validator: Any | None
    schema_absent: str | None
    """Why schema_valid_rate will be absent, when no schema is configured."""


def load_inputs(config_path: Path | None, benchmark: Path | None, baseline: Path | None) -> Inputs:
    """Config (with its schema and red-team suite), benchmark and baseline: each checked at its boundary."""
    config = load_config(config_path)
    validator, schema_absent = schema_validator(config.metrics.schema, config.source)
    suite = load_suite(Path(config.safety.suite)) if config.safety.suite else []
    cases = load_benchmark(benchmark) if benchmark is not None else []
    return Inputs(config, cases, suite, load_baseline(baseline) if baseline is not None else None, validator,
                  schema_absent)


def make_backend(options: RunOptions, config: Config, all_cases: list[Case], suite: list[RedTeamCase]) -> Backend:
    """What produces the outputs: a predictions file, or the configured backend running --model."""
    if options.predictions is not None:
        if config.generation.samples > 1:
            raise TaskevalError(f"generation.samples is {config.generation.samples}, but a predictions file holds one "
                                "output per case", "give --model to generate the samples, or set generation.samples: "
                                "1 to score the file")
        return PredictionsBackend(options.predictions, [c.id for c in all_cases], [c.id for c in suite])
    if options.model is None:
        raise TaskevalError("nothing to evaluate: give --model DIR or --predictions FILE")
    return BACKENDS.get(config.generation.backend)(options.model, config.generation, options.device)


@dataclass(frozen=True)
class Caching:
    """The run's signed caches: the output cache for this backend's key (None without a key, without a signing key
    or with --no-cache), the folder the judge's cache shares, and what to say about the signing key."""

    outputs: OutputCache | None
    signer: CacheSigner | None
    folder: Path | None
    note: str | None


def caching(options: RunOptions, config: Config, backend: Backend) -> Caching:
    key = backend.cache_key()
    signer, signer_note = cache_signer() if options.use_cache else (None, None)
    folder = Path(config.generation.cache_dir) if signer is not None else None
    outputs = OutputCache(folder, key, signer) if key is not None and folder and signer else None
    return Caching(outputs, signer, folder, signer_note)


def backend_notes(backend: Backend, caches: Caching) -> tuple[str, ...]:
    """What the run should say about how its outputs were made: the backend's own notes first (a served replica
    marked down, here or in a shard), then the caches'."""
    found = (*getattr(backend, "notes", ()), caches.note, caches.outputs.note if caches.outputs else None)
    return tuple(note for note in found if note)


def run_seed(options: RunOptions, config: Config) -> int:
    """The seed of --limit's sample, the judge's sample and the latency sample: --seed, else judge.seed."""
    return options.seed if options.seed is not None else config.judge.seed


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def refuse_stop_early(config: Config, options: RunOptions, what: str) -> None:
    """stop_early settles verdicts as cases arrive in one process; a sharded run evaluates every case."""
    if config.stop_early or options.stop_early:
        raise TaskevalError(f"{what} cannot stop early: stop_early settles verdicts as the cases of one process "
                            "arrive, and a sharded run evaluates every case of every shard",
                            "leave --stop-early (and the config's stop_early) out of a sharded run; shards are how "
                            "a long run gets shorter (docs/scaling.md)")


def run_safety(suite: list[RedTeamCase], backend: Backend, cache: OutputCache | None, config: Config,
               progress: bool) -> StageResult:
    """The red-team suite through the same backend and cache; skipped, with the reason, when it cannot run."""
    if not suite:
        return skipped(Stage.SAFETY, "no safety.suite configured")
    if not backend.covers(suite):
        return skipped(Stage.SAFETY, "the predictions file has no outputs for the red-team suite "
                                 "(add predictions for its ids, or give --model)")
    started = time.perf_counter()
    outputs = generate_outputs(backend, suite, cache, progress, label="red-team")
    return safety_stage(suite, [g.output for g in outputs], config.safety.refusal_action, started)


def latency_stage(cases: list[Case], backend: Backend, config: Config, seed: int, progress: bool) -> StageResult:
    """Latency, only when something reads it (a gate, the comparison, or an explicit `latency:` section); merged
    shards bring the requests each shard timed."""
    if isinstance(backend, RecordedBackend) and backend.latency is not None:
        return latency_result(backend.latency, 0.0)  # `measure` adds the time the shards took
    if latency_reader(config) is None:
        return skipped(Stage.LATENCY, "nothing reads it: no gate or compared metric on latency, and no latency: "
                                      "section in the config (add `latency: {samples: 20}` to measure it)")
    if not backend.runs_model:
        return skipped(Stage.LATENCY, "latency needs a model; the outputs came from a predictions file")
    return run_latency(cases, backend, config.latency.samples, seed, progress)


def run_cost(config: Config, stages: list[StageResult], table: dict[str, MetricValue]) -> dict[str, float]:
    """What the run cost: model compute at the GPU-hour price (the stages that ran the model) and the judge."""
    cost: dict[str, float] = {}
    if config.cost.gpu_hour_usd is not None:
        model_seconds = sum(s.duration_seconds for s in stages if s.name in MODEL_STAGES)
        cost["compute_usd"] = config.cost.gpu_hour_usd * model_seconds / 3600
    if "judge_cost_usd" in table:
        cost["judge_usd"] = table["judge_cost_usd"].value
    if cost:
        cost["total_usd"] = sum(cost.values())
    return cost


def run_fingerprint(options: RunOptions, config: Config, cases: list[Case], total: int, backend: Backend,
                    seed: int) -> Fingerprint:
    """What was evaluated, how, and on what (the baseline keeps the same digests to spot differences)."""
    model = backend.fingerprint()
    libraries = backend.libraries if isinstance(backend, RecordedBackend) else library_versions()
    schema = Path(config.metrics.schema) if config.metrics.schema else None
    prompt = {"template": config.generation.prompt_template, "system": config.generation.system_prompt}
    return Fingerprint(
        model=model,
        benchmark=BenchmarkPrint(str(options.benchmark), benchmark_fingerprint(cases), len(cases), total),
        config_path=config.source, config_sha256=config.digest,
        schema=sha256_hex(schema.read_text(encoding="utf-8")) if schema and schema.exists() else None,
        prompt=sha256_hex(compact_json(prompt)),
        environment={**{k: model[k] for k in ("device", "gpu", "cuda", "dtype", "quantization", "quant_type",
                                              "compute_dtype", "bitsandbytes", "batch_size") if k in model},
                     **{k: libraries[k] for k in ("python", "torch", "transformers") if k in libraries}},
        libraries=libraries, seed=seed, commit=options.commit or current_commit(), run_url=workflow_run_url(),
    )


def planned_warnings(config: Config, baseline: Baseline | None, cases: list[Case], seed: int) -> list[str]:
    """Said before any model work: a judge seed other than the baseline's (its judged cases are graded again
    anyway, so judge scores pair), and a judge sample too small to detect a drop of the margin."""
    if baseline is None or config.judge.provider == "none":
        return []
    warnings = []
    if baseline.judge_seed is not None and baseline.judge_ids and baseline.judge_seed != seed:
        warnings.append(f"judge seed {seed} differs from the baseline's {baseline.judge_seed}: the baseline's "
                        f"{len(baseline.judge_ids)} judged cases are graded again, so that judge scores pair")
    ids = {case.id for case in cases}
    sample = (len(ids & set(baseline.judge_ids)) if baseline.judge_ids
              else sample_size(len(cases), config.judge.sample_rate, config.judge.min_samples))
    return warnings + planned_judge_warnings(config.regression, baseline, sample)


def sampling_notes(config: Config, options: RunOptions) -> tuple[str, ...]:
    """Said before any model work: repeated samples of a local model that decodes greedily are all the same output."""
    generation = config.generation
    if generation.samples > 1 and generation.temperature == 0 and generation.backend == "huggingface" \
            and options.predictions is None and not options.shard_records:
        return (f"generation.samples is {generation.samples} at temperature 0: a local model decodes greedily, so "
                f"every sample is the same output ({generation.samples}× the cost for nothing); set "
                "generation.temperature to sample",)
    return ()


def load_notes(model: dict[str, Any]) -> tuple[str, ...]:
    """What the report should say about how the model was loaded: quantization on the CPU is for checking only."""
    if model.get("device") == "cpu" and model.get("quantization", "none") != "none":
        return (f"generation.quantization: {model['quantization']} ran on the CPU through bitsandbytes' CPU kernels: "
                "slow, and meant for checking the quantized path, not for speed (a T4 runs it on CUDA)",)
    return ()


def absent_reasons(stages: list[StageResult]) -> dict[str, str]:
    """Why each metric of a stage that did not run is absent (for gates on it)."""
    reasons: dict[str, str] = {}
    by_name: dict[str, StageResult] = {s.name: s for s in stages}
    for name in METRICS:
        stage = by_name.get(METRICS.get(name).stage)
        if stage is not None and stage.status != PASSED and stage.errors:
            reasons[name] = f"stage {stage.name} {stage.status}: {stage.errors[0]}"
    automated = by_name.get(Stage.AUTOMATED_METRICS)
    if automated is not None and isinstance(automated.details, AutomatedDetails) and \
            automated.details.schema_valid_rate_absent:
        reasons["schema_valid_rate"] = automated.details.schema_valid_rate_absent
    return reasons


def aggregate(stages: list[StageResult]) -> tuple[StageResult, dict[str, MetricValue]]:
    """Stage 4: one flat table of every metric the stages computed."""
    started = time.perf_counter()
    table = {name: metric for stage in stages for name, metric in stage.metrics.items()}
    return StageResult(Stage.AGGREGATION, PASSED, time.perf_counter() - started, table), table


@dataclass(frozen=True)
class Measured:
    """What the model's outputs measured: stages 1 and 2, safety and latency."""

    stages: list[StageResult]
    cases: list[CaseResult]
    judge_scores: dict[str, dict[str, float]]
    judge_reasoning: dict[str, str]
    notes: tuple[str, ...]
    """What went wrong without changing any number (an output cache that could not be written)."""
    stopping: tuple[EarlyStop, ...] = ()
    """With stop_early: where stage 1 and the judge stopped, and why."""


def measure(options: RunOptions, inputs: Inputs, cases: list[Case], seed: int, judge_key: str | None,
            backend: Backend) -> Measured:
    """Generate (through the cache) and score: automated metrics, the judge's sample, the red-team suite, latency."""
    config, suite, baseline = inputs.config, inputs.suite, inputs.baseline
    caches = caching(options, config, backend)
    cache, signer, cache_dir = caches.outputs, caches.signer, caches.folder
    stage_looker, judge_looker = lookers(config, baseline, options.accept_regression is not None,
                                         benchmark_fingerprint(cases))
    automated, case_results = run_automated_metrics(seeded_order(cases, seed) if config.stop_early else cases,
                                                    backend, config, inputs.schema_validator, inputs.schema_absent,
                                                    cache, options.progress, stage_looker)
    judged = run_judge(case_results, config.judge, seed, cache_dir, api_key=judge_key,
                       baseline_ids=baseline.judge_ids if baseline else (), progress=options.progress, signer=signer,
                       looker=judge_looker)
    stages = [automated, judged.stage, run_safety(suite, backend, cache, config, options.progress),
              latency_stage(cases, backend, config, seed, options.progress)]
    notes = backend_notes(backend, caches)
    if isinstance(backend, RecordedBackend):  # the model ran in the shards: their time is the stages' time
        stages = [replace(s, duration_seconds=s.duration_seconds + backend.duration(s.name))
                  if s.name in MODEL_STAGES and s.status == PASSED else s for s in stages]
    stops = (automated.details.stopping if isinstance(automated.details, AutomatedDetails) else None,
             judged.stage.details.stopping if isinstance(judged.stage.details, JudgeDetails) else None)
    return Measured(stages, case_results, judged.scores, judged.reasoning, notes,
                    tuple(s for s in stops if s is not None))


def gate(config: Config, baseline: Baseline | None, stages: list[StageResult], table: dict[str, MetricValue],
         accepted: AcceptedRegression | None = None) -> tuple[list[GateResult], StageResult]:
    """Stage 5: the configured gates (and `no_regression` with a baseline) against the metric table."""
    started = time.perf_counter()
    configs = config.quality_gates + (regression_gates(config.regression, accepted) if baseline is not None else ())
    gates = evaluate_gates(configs, table, absent_reasons(stages))
    status = PASSED if decide(gates) == DEPLOY else FAILED
    return gates, StageResult(Stage.QUALITY_GATES, status, time.perf_counter() - started)


def run_warnings(planned: tuple[str, ...], stages: list[StageResult], gates: list[GateResult]) -> tuple[str, ...]:
    """Everything a reviewer should know that no gate says: planned-sample notes, the judge's and the
    comparison's warnings, and every gate that could not be evaluated."""
    judge = next((s.details for s in stages if isinstance(s.details, JudgeDetails)), None)
    comparison = next((s.details for s in stages if isinstance(s.details, ComparisonDetails)), None)
    return (*planned, *(judge.notes if judge else ()), *(comparison.warnings if comparison else ()),
            *(f"gate '{g.name}' {g.explanation}" for g in gates if g.passed is None))


def shared_settings(config: Config, cases: list[Case], total: int, seed: int, limit: int | None) -> dict[str, Any]:
    """The settings a gate computes from its own inputs, and every shard record must carry the same."""
    return {"taskeval": __version__, "benchmark_sha256": benchmark_fingerprint(cases), "cases": len(cases),
            "total_cases": total, "config_sha256": config.digest, "seed": seed, "limit": limit}


def latency_ids(config: Config, cases: list[Case], seed: int) -> list[str] | None:
    """The cases the latency stage times (None: nothing reads latency, so it does not run)."""
    if latency_reader(config) is None:
        return None
    return [case.id for case in latency_sample(cases, config.latency.samples, seed)]


def merged_shards(options: RunOptions, inputs: Inputs, cases: list[Case], seed: int) -> RecordedBackend:
    """`taskeval gate`: the shard records, read and checked against each other and this run's inputs."""
    return merge_records(record_paths(options.shard_records),
                         shared_settings(inputs.config, cases, len(inputs.cases), seed, options.limit),
                         [case.id for case in cases], [case.id for case in inputs.suite],
                         latency_ids(inputs.config, cases, seed), inputs.config.generation.samples)


def run(options: RunOptions) -> RunResult:
    """The run: inputs → outputs and scores → comparison → metric table → gates → decision."""
    started_at = now()
    started = time.perf_counter()
    inputs = load_inputs(options.config, options.benchmark, options.baseline)
    if options.shard_records:
        refuse_stop_early(inputs.config, options, "a gate over shard records")
    if options.stop_early:
        inputs = replace(inputs, config=replace(inputs.config, stop_early=True))
    config, baseline = inputs.config, inputs.baseline
    judge_key = options.judge_api_key or os.environ.get("OPENAI_API_KEY")
    keys = stand_in_notes({"the judge's API key": judge_key if config.judge.provider != "none" else None,
                           config.generation.api_key_env: os.environ.get(config.generation.api_key_env)
                           if config.generation.backend == "openai" and not options.shard_records else None})
    seed = run_seed(options, config)
    cases = limit_cases(inputs.cases, options.limit, seed)
    planned = (*keys, *sampling_notes(config, options), *planned_warnings(config, baseline, cases, seed))
    for warning in planned:
        print(f"taskeval: warning: {warning}", file=sys.stderr)
    if not options.progress:
        quiet_libraries()
    backend = (merged_shards(options, inputs, cases, seed) if options.shard_records
               else make_backend(options, config, inputs.cases, inputs.suite))
    measured = measure(options, inputs, cases, seed, judge_key, backend)
    stages = list(measured.stages)
    fingerprint = run_fingerprint(options, config, cases, len(inputs.cases), backend, seed)
    if baseline is None:
        stages.append(skipped(Stage.REGRESSION_COMPARISON, "no baseline given"))
    else:
        so_far = {name: metric for stage in stages for name, metric in stage.metrics.items()}
        stages.append(run_comparison(measured.cases, so_far, baseline, config.regression, fingerprint,
                                     measured.judge_scores, anytime=config.stop_early,
                                     samples=config.generation.samples))
    aggregation, table = aggregate(stages)
    gates, gate_stage = gate(config, baseline, [*stages, aggregation], table, options.accept_regression)
    stages += [aggregation, gate_stage]
    return RunResult(
        decision=decide(gates), stages=tuple(stages), metrics=table, gates=tuple(gates),
        cases=tuple(measured.cases), fingerprint=fingerprint, config=config,
        warnings=run_warnings((*planned, *load_notes(fingerprint.model), *measured.notes), stages,
                              gates), started_at=started_at,
        duration_seconds=time.perf_counter() - started, cost=run_cost(config, stages, table),
        judge_scores=measured.judge_scores, judge_reasoning=measured.judge_reasoning,
        accepted_regression=options.accept_regression,
        stopping=measured.stopping,
        shards=tuple(len(r.case_ids) for r in backend.records) if isinstance(backend, RecordedBackend) else (),
    )


@dataclass(frozen=True)
class ShardWritten:
    """One shard's run and what it wrote."""

    record: ShardRecord
    results: list[CaseResult]
    """The shard's cases, scored (for the summary a shard prints; the gate scores them again)."""
    path: Path
    """The record's file, `shard-K-of-N.json` in the output folder."""
    cache_dir: Path
    """The configuration's output cache folder (the Action hands it to the workspace's owner)."""


def run_shard(options: RunOptions, shard: Shard) -> tuple[ShardRecord, list[CaseResult], Config]:
    """`taskeval run --shard K/N`: generate (through the cache) this shard's cases, its part of the red-team suite
    and of the latency sample, and score its cases; the judge, the comparison and the gates run once, in the gate."""
    started_at = now()
    inputs = load_inputs(options.config, options.benchmark, None)
    config = inputs.config
    refuse_stop_early(config, options, f"shard {shard}")
    seed = run_seed(options, config)
    cases = limit_cases(inputs.cases, options.limit, seed)
    mine = [case for case in cases if shard.holds(case.id)]
    if not options.progress:
        quiet_libraries()
    backend = make_backend(options, config, inputs.cases, inputs.suite)
    caches = caching(options, config, backend)
    durations: dict[str, float] = {}
    began = time.perf_counter()
    outputs = generate_samples(backend, mine, caches.outputs, config.generation.samples, options.progress)
    results = score_cases(mine, outputs, config.metrics.ignore_fields, inputs.schema_validator)
    durations[str(Stage.AUTOMATED_METRICS)] = time.perf_counter() - began
    red_team: dict[str, Generation] | None = None
    if inputs.suite and backend.covers(inputs.suite):
        began = time.perf_counter()
        part = [case for case in inputs.suite if shard.holds(case.id)]
        red_team = dict(zip([case.id for case in part],
                            generate_outputs(backend, part, caches.outputs, options.progress, label="red-team")))
        durations[str(Stage.SAFETY)] = time.perf_counter() - began
    timed: tuple[LatencySample, ...] | None = None
    chosen = latency_ids(config, cases, seed)
    if chosen is not None and backend.runs_model:
        began = time.perf_counter()
        by_id = {case.id: case for case in cases}
        timed = tuple(time_requests([by_id[i] for i in chosen if shard.holds(i)], backend, options.progress))
        durations[str(Stage.LATENCY)] = time.perf_counter() - began
    fingerprint = run_fingerprint(options, config, cases, len(inputs.cases), backend, seed)
    settings = RunSettings(**shared_settings(config, cases, len(inputs.cases), seed, options.limit),
                           model=fingerprint.model, environment=fingerprint.environment)
    record = ShardRecord(shard, settings, backend.description, fingerprint.libraries, tuple(c.id for c in mine),
                         {case.id: sampled[0] for case, sampled in zip(mine, outputs)}, red_team, timed, durations,
                         backend_notes(backend, caches), tuple(result.to_json() for result in results), started_at,
                         fingerprint.commit, {case.id: sampled[1:] for case, sampled in zip(mine, outputs)
                                              if len(sampled) > 1})
    return record, results, config


def write_shard(options: RunOptions, shard: Shard, output_dir: Path, output_label: str = "output folder (--output-dir)"
                ) -> ShardWritten:
    """Run one shard and write its record (atomically) into the output folder, as `shard-K-of-N.json`."""
    check_writable_dir(output_dir, output_label)
    record, results, config = run_shard(options, shard)
    path = output_dir / shard.file_name
    try:
        write_atomically(path, dumps_strict(record.to_json(), indent=1) + "\n")
    except OSError as error:
        raise TaskevalError(f"{path}: the shard record could not be written ({error.strerror or error})",
                            "free disk space or fix the folder's permissions and run the shard again: its outputs "
                            "are cached") from None
    return ShardWritten(record, results, path, Path(config.generation.cache_dir))


@dataclass(frozen=True)
class Written:
    """A run and what it wrote."""

    result: RunResult
    json_path: Path
    markdown_path: Path
    baseline: Path | None
    """The new baseline, when one was asked for and is due."""
    baseline_refusal: str | None
    """Why a baseline that was asked for was not written (None when it was, or when none was asked for)."""


def run_and_write(options: RunOptions, output_dir: Path, output_label: str, baseline_to: Path | None = None,
                  baseline_label: str = "baseline file") -> Written:
    """The one sequence the CLI and the Action share: check that the outputs can be written, run, then write the
    reports and, when asked for and due (a DEPLOY over the whole benchmark), the new baseline — all or none, with
    report.json renamed into place last. A DEPLOY whose baseline is refused says why in its warnings."""
    check_writable_dir(output_dir, output_label)
    if baseline_to is not None:
        check_writable_file(baseline_to, baseline_label)
    result = run(options)
    refusal = baseline_refusal(result) if baseline_to is not None else None
    if refusal is not None and result.decision == DEPLOY:
        result = replace(result, warnings=(*result.warnings, f"baseline not written: {refusal}"))
    extra = {baseline_to: baseline_text(result)} if baseline_to is not None and refusal is None else {}
    json_path, markdown_path = write_reports(result, output_dir, extra)
    return Written(result, json_path, markdown_path, baseline_to if extra else None, refusal)
