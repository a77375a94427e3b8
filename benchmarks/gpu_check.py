"""The GPU path, checked on a CUDA machine in one short run (about 5 minutes on a T4 or better):

1. float16 and bfloat16 generation of the shipped candidate (a LoRA adapter on SmolLM2-135M-Instruct: `make
   base-model` first) on the 500-case benchmark: load time, stage-1 time, accuracy, and agreement with the CPU
   float32 outputs;
2. 4-bit NF4 and 8-bit (bitsandbytes) generation of the same model, with the same figures;
3. stage 1 on 500 cases with a randomly initialised Llama-style model of about 1B parameters built from a config
   (the worst case: every output runs to max_new_tokens), with batch size `auto`.

    python benchmarks/gpu_check.py [--size 1b|tiny] [--max-new-tokens 64] [--model DIR --config FILE]

`--size tiny` builds a 2-layer model instead, so the script's own path can be exercised on a CPU (`--device cpu`,
with a tiny test model: `--model tests/models/tiny-v2 --config tests/models/tiny-config.yaml`).
Prints one JSON line per check and writes them to benchmarks/results/gpu_check.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "models" / "task-api-v2"
CONFIG = ROOT / "examples" / "config.yaml"
TOKENIZER = ROOT / "tests" / "models" / "tiny-v2"  # a small vocabulary for the random model
BENCHMARK = ROOT / "examples" / "task_api" / "benchmark.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "gpu_check.json"
SIZES = {  # Llama-style configurations: about 1.1B parameters, and a tiny one for a CPU smoke run
    "1b": {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 16, "num_attention_heads": 16},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4},
}


def stage1(model_dir: Path, config_file: Path | None, device: str, **settings: Any) -> dict[str, Any]:
    from dataclasses import replace

    from evaluator.generation.huggingface import HuggingFaceBackend
    from evaluator.inputs.benchmark import load_benchmark
    from evaluator.inputs.config import load_config
    from evaluator.stages.automated import run_automated_metrics

    config = load_config(config_file)
    cases = load_benchmark(BENCHMARK)
    started = time.perf_counter()
    backend = HuggingFaceBackend(model_dir, replace(config.generation, **settings), device)
    loaded = time.perf_counter()
    stage, results = run_automated_metrics(cases, backend, config, None, "no schema", None, progress=False)
    return {"load_s": loaded - started, "stage1_s": time.perf_counter() - loaded, "batch_size": backend.batch_size,
            "dtype": backend.dtype_name, "accuracy": stage.metrics["accuracy"].value,
            "truncated_rate": stage.metrics["truncated_rate"].value, "outputs": [r.output for r in results]}


def random_model(folder: Path, size: str, device: str) -> Path:
    """A randomly initialised Llama-style model with a tiny test model's tokenizer, saved in safetensors."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(TOKENIZER))
    config = LlamaConfig(vocab_size=len(tokenizer), max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id, **SIZES[size])
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.float16 if device == "cuda" else torch.float32)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    print(json.dumps({"random_model_parameters": sum(p.numel() for p in model.parameters())}), flush=True)
    return folder


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", choices=list(SIZES), default="1b")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--skip-quantized", action="store_true", help="leave out the 4-bit and 8-bit legs")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--model", type=Path, default=MODEL, help="the model of checks 1 and 2")
    parser.add_argument("--config", type=Path, default=CONFIG, help="its generation settings (prompt, system prompt)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this script checks the GPU path (use --device cpu --size tiny to smoke-test)")
    record: dict[str, Any] = {"torch": torch.__version__, "python": platform.python_version(),
                              "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"}
    reference = stage1(args.model, args.config, "cpu", dtype="float32")
    # the half-precision path against the float32 reference: float16 on a GPU; on the CPU smoke path bfloat16 (the
    # CPU's half precision), so the agreement figure compares two precisions there too
    checks: dict[str, dict[str, str]] = ({"fp16": {"dtype": "float16"}, "bf16": {"dtype": "bfloat16"}}
                                         if args.device == "cuda" else {"bf16": {"dtype": "bfloat16"}})
    if args.device == "cuda" and not args.skip_quantized:
        checks["nf4"] = {"quantization": "4bit", "dtype": "float16"}
        checks["int8"] = {"quantization": "8bit", "dtype": "float16"}
    for name, settings in checks.items():
        try:
            result = stage1(args.model, args.config, args.device, **settings)
            agree = sum(a == b for a, b in zip(result.pop("outputs"), reference["outputs"]))
            record[name] = {**result, "same_output_as_cpu_fp32": agree}
        except Exception as error:  # report what failed and go on to the next check
            record[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
        print(json.dumps({name: record[name]}), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        model_dir = random_model(Path(folder), args.size, args.device)
        result = stage1(model_dir, None, args.device, max_new_tokens=args.max_new_tokens)
        result.pop("outputs")
        record[f"random_{args.size}"] = result
        print(json.dumps({f"random_{args.size}": result}), flush=True)
    if args.device == "cuda":
        record["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
