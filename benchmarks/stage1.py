"""Stage-1 speed: the naive loop, the bare engine, taskeval cold and warm, and (where it installs) a peer.

    python benchmarks/stage1.py                       # the shipped candidate on the 500-case benchmark
    python benchmarks/stage1.py --model tests/models/tiny-v2 --config tests/models/tiny-config.yaml   # a tiny model
    python benchmarks/stage1.py --peer-venv /tmp/lmeval-venv   # also lm-evaluation-harness, from its own venv

The peer's venv (never a dependency of taskeval): `python -m venv /tmp/lmeval-venv && /tmp/lmeval-venv/bin/pip
install "lm-eval[hf]==0.4.13" torch==2.13.0 transformers==<taskeval's> peft==<taskeval's>`. On the shipped adapter
the peer loads it with `peft=` on its base and prompts with the chat template and the config's system prompt
(`--apply_chat_template --system_instruction`), as taskeval does.

Prints a table (wall time, cases/s, generated tokens/s, peak memory) and the ratios, and writes them to
benchmarks/results/stage1.json. Every measurement runs in a fresh subprocess, so peak memory (ru_maxrss) and
warm-up belong to that measurement alone; all use the same prompts, model and thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "models" / "task-api-v2"
BENCHMARK = ROOT / "examples" / "task_api" / "benchmark.jsonl"
CONFIG = ROOT / "examples" / "config.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "stage1.json"


@dataclass(frozen=True)
class Setup:
    model: Path
    config: Path
    threads: int
    cache_dir: str


def _load(setup: Setup) -> tuple[Any, Any, list[Any], list[str], int]:
    """The model and tokenizer as taskeval loads them (the LoRA adapter on its base), the cases, their prompts (the
    chat template with the config's system prompt) and max_new_tokens."""
    import torch

    from evaluator.generation.huggingface import HuggingFaceBackend
    from evaluator.inputs.benchmark import load_benchmark
    from evaluator.inputs.config import load_config

    torch.set_num_threads(setup.threads)
    settings = load_config(setup.config).generation
    backend = HuggingFaceBackend(setup.model, settings, "cpu")
    cases = load_benchmark(BENCHMARK)
    return backend.model, backend.tokenizer, cases, [backend.prompt(c) for c in cases], settings.max_new_tokens


def measure_naive(setup: Setup) -> dict[str, float]:
    """The original design's loop: one case at a time, generate until end-of-sequence, decode, then score."""
    import torch

    from evaluator.core.records import Generation
    from evaluator.stages.scoring import score_case

    model, tokenizer, cases, prompts, max_new_tokens = _load(setup)
    started, tokens = time.perf_counter(), 0
    for case, prompt in zip(cases, prompts):
        encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**encoded, do_sample=False, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        new = out[0, encoded["input_ids"].shape[1]:]
        tokens += int(new.shape[0])
        score_case(case, Generation(tokenizer.decode(new, skip_special_tokens=True), False), (), None)
    return {"seconds": time.perf_counter() - started, "tokens": tokens, "cases": len(cases)}


def measure_bare(setup: Setup) -> dict[str, float]:
    """The bare engine: batched greedy generate on the length-sorted prompts with the same stopping rule and batch
    size as taskeval; no scoring, no cache, no bookkeeping."""
    import torch

    from evaluator.generation.huggingface import CPU_BATCH_SIZE, JsonStoppingCriteria

    model, tokenizer, cases, prompts, max_new_tokens = _load(setup)
    prompts = sorted(prompts, key=lambda p: len(tokenizer.encode(p)))
    table = [tokenizer.decode([i]) for i in range(len(tokenizer))]
    started, tokens = time.perf_counter(), 0
    for start in range(0, len(prompts), CPU_BATCH_SIZE):
        batch = prompts[start:start + CPU_BATCH_SIZE]
        encoded = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**encoded, do_sample=False, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id,
                                 stopping_criteria=[JsonStoppingCriteria(table, len(batch))])
        generated = out[:, encoded["input_ids"].shape[1]:]
        tokens += int((generated != tokenizer.pad_token_id).sum())
    return {"seconds": time.perf_counter() - started, "tokens": tokens, "cases": len(cases)}


def _stage1(setup: Setup) -> dict[str, float]:
    import torch

    from evaluator.core.cache_signing import cache_signer
    from evaluator.generation.cache import OutputCache
    from evaluator.generation.huggingface import HuggingFaceBackend
    from evaluator.inputs.benchmark import load_benchmark
    from evaluator.inputs.config import load_config
    from evaluator.inputs.output_schema import schema_validator
    from evaluator.stages.automated import run_automated_metrics

    torch.set_num_threads(setup.threads)
    config = load_config(setup.config)
    cases = load_benchmark(BENCHMARK)
    backend = HuggingFaceBackend(setup.model, config.generation, "cpu")
    started = time.perf_counter()
    signer, why_not = cache_signer()
    if signer is None:
        raise SystemExit(f"stage1: {why_not}")
    cache = OutputCache(Path(setup.cache_dir), backend.cache_key(), signer)
    validator, no_schema = schema_validator(config.metrics.schema, config.source)
    stage, results = run_automated_metrics(cases, backend, config, validator, no_schema, cache, progress=False)
    tokens = sum(r.completion_tokens or 0 for r in results)
    return {"seconds": time.perf_counter() - started, "tokens": tokens, "cases": len(cases),
            "cached": stage.details.cached_outputs}


def measure_cold(setup: Setup) -> dict[str, float]:
    """taskeval's stage 1 with an empty cache: generation, cache writes, scoring, metrics, breakdowns."""
    shutil.rmtree(setup.cache_dir, ignore_errors=True)
    return _stage1(setup)


def measure_warm(setup: Setup) -> dict[str, float]:
    """taskeval's stage 1 again on the cache the cold run left (model loaded, as in a real re-run)."""
    return _stage1(setup)


MEASUREMENTS = {"naive": measure_naive, "bare": measure_bare, "cold": measure_cold, "warm": measure_warm}


def child(name: str, setup: Setup) -> None:
    result = MEASUREMENTS[name](setup)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(name: str, setup: Setup) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(setup.threads), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, "--child", name, "--threads", str(setup.threads), "--cache-dir",
                           setup.cache_dir, "--model", str(setup.model), "--config", str(setup.config)],
                          capture_output=True, text=True, env=env, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def whole_process(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of a whole command, children included."""
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def peer_task(folder: Path, chat: bool, max_new_tokens: int) -> Path:
    """An lm-evaluation-harness task over the same 500 prompts: greedy generation, stop at end-of-sequence (for a
    chat model, its end-of-turn token), at most the config's max_new_tokens. The bare "{input}\\n" prompt for the
    tiny models; for the shipped adapter the request alone, which lm-eval wraps in the chat template."""
    rows = [json.loads(line) for line in BENCHMARK.read_text().splitlines()]
    data = folder / "taskeval_bench.jsonl"
    data.write_text("".join(json.dumps({"input": r["input"], "target": r["expected_output"]}) + "\n" for r in rows))
    text, until = ("\"{{input}}\"", "<|im_end|>") if chat else ("\"{{input}}\\n\"", "<eos>")
    (folder / "taskeval_bench.yaml").write_text(
        "task: taskeval_bench\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {data}\ntest_split: test\noutput_type: generate_until\n"
        f"doc_to_text: {text}\ndoc_to_target: \"{{{{target}}}}\"\n"
        f"generation_kwargs:\n  until: [\"{until}\"]\n  do_sample: false\n  max_gen_toks: {max_new_tokens}\n"
        "metric_list:\n  - metric: exact_match\n")
    return folder


def peer_command(venv: Path, model: Path, config: Path, task_dir: Path, output: str) -> list[str]:
    """lm_eval on the same model: a LoRA adapter through `peft=` on its base, with the chat template and the config's
    system prompt (as taskeval prompts it); a plain model folder as it is."""
    from evaluator.generation.huggingface import CPU_BATCH_SIZE
    from evaluator.inputs.config import load_config

    adapter = model / "adapter_config.json"
    settings = load_config(config).generation
    if adapter.is_file():
        base = json.loads(adapter.read_text())["base_model_name_or_path"]
        model_args = f"pretrained={ROOT / base},peft={model},dtype=float32"
        chat = ["--apply_chat_template", *(["--system_instruction", settings.system_prompt]
                                           if settings.system_prompt else [])]
    else:
        model_args, chat = f"pretrained={model},dtype=float32", []
    return [str(venv / "bin" / "lm_eval"), "run", "--model", "hf", "--model_args", model_args, "--tasks",
            "taskeval_bench", "--include_path", str(task_dir), "--device", "cpu", "--batch_size", str(CPU_BATCH_SIZE),
            *chat, "--output_path", output]


def main() -> None:
    from evaluator.inputs.config import load_config

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--config", type=Path, default=CONFIG, help="the model's generation settings")
    parser.add_argument("--measurements", default=",".join(MEASUREMENTS),
                        help="which to run (the naive loop takes minutes with the shipped model)")
    parser.add_argument("--peer-venv", type=Path, help="a virtual environment with lm-eval[hf] installed")
    parser.add_argument("--child", choices=list(MEASUREMENTS), help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Setup(args.model, args.config, args.threads, args.cache_dir))
        return
    cache_dir = tempfile.mkdtemp(prefix="taskeval-bench-")
    setup = Setup(args.model, args.config, args.threads, cache_dir)
    rows = {name: run_child(name, setup) for name in args.measurements.split(",")}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "config.yaml"
        settings = yaml.safe_load(args.config.read_text())
        settings.setdefault("generation", {})["cache_dir"] = f"{scratch}/cache"
        settings.update({"safety": {"suite": None}, "latency": {"samples": 1}, "quality_gates": [
            {"name": "format", "metric": "json_valid_rate", "threshold": 0, "comparison": ">="}]})
        config.write_text(yaml.safe_dump(settings))
        taskeval_cmd = [sys.executable, "-m", "evaluator", "run", "--model", str(args.model), "--benchmark",
                        str(BENCHMARK), "--config", str(config), "--output-dir", f"{scratch}/out", "--quiet",
                        "--no-cache"]
        seconds, _ = whole_process(taskeval_cmd, env)
        rows["taskeval_process"] = {"seconds": seconds, "cases": 500}
        if args.peer_venv:
            chat = (args.model / "adapter_config.json").is_file()
            task_dir = peer_task(Path(scratch), chat, load_config(args.config).generation.max_new_tokens)
            peer_cmd = peer_command(args.peer_venv, args.model, args.config, task_dir, f"{scratch}/peer")
            seconds, _ = whole_process(peer_cmd, {**env, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"})
            rows["peer_process"] = {"seconds": seconds, "cases": 500}
    shutil.rmtree(cache_dir, ignore_errors=True)
    ratios = {f"{a}_over_{b}": rows[a]["seconds"] / rows[b]["seconds"]
              for a, b in (("naive", "cold"), ("cold", "bare")) if a in rows and b in rows}
    if "peer_process" in rows:
        ratios["peer_over_taskeval_process"] = rows["peer_process"]["seconds"] / rows["taskeval_process"]["seconds"]
    print(f"{'measurement':<18} {'wall s':>8} {'cases/s':>9} {'gen tok/s':>10} {'peak MB':>9}")
    for name, row in rows.items():
        speed = row["cases"] / row["seconds"]
        tokens = f"{row['tokens'] / row['seconds']:.0f}" if "tokens" in row else "-"
        peak = f"{row['peak_mb']:.0f}" if "peak_mb" in row else "-"
        print(f"{name:<18} {row['seconds']:>8.2f} {speed:>9.1f} {tokens:>10} {peak:>9}")
    print("ratios: " + ", ".join(f"{k} = {v:.2f}" for k, v in ratios.items()))
    machine = {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
               "threads": args.threads, "model": str(args.model)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine, "rows": rows, "ratios": ratios}, indent=2) + "\n")
    print(f"written: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
