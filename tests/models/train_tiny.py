"""Train the tiny Task API models the tests use (tests/models/tiny-*) on CPU and save checkpoints in safetensors.

Recipe (documented in docs/development.md):
1. generate the training split (examples/task_api/generate_data.py, deterministic);
2. train a byte-level BPE tokenizer whose pre-tokenizer isolates every space, punctuation mark and digit, so a word
   is the same tokens in the request and in the JSON (the model copies tokens instead of re-spelling them);
3. train a 4-layer, 256-wide GPT-2-style model from its config, loss on the answer tokens only;
4. save a checkpoint (float16 safetensors, tokenizer with left padding, generation config) at each step listed
   in --save-steps. docs/development.md says which checkpoint became which tiny model.

    python tests/models/train_tiny.py --steps 3000 --out /tmp/taskeval-train
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES / "task_api"))
sys.path.insert(0, str(EXAMPLES / "models"))

import generate_data  # noqa: E402
from finetune import batch_tensors  # noqa: E402  (the example's fine-tuning recipe: padding and answer-only labels)

PAD, EOS = "<pad>", "<eos>"


def build_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\s"), behavior="isolated"),
            pre_tokenizers.Punctuation(behavior="isolated"),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS, padding_side="left")
    fast.model_max_length = 256
    return fast


def encode_examples(
    tokenizer: PreTrainedTokenizerFast, rows: list[dict[str, object]]
) -> list[tuple[list[int], int]]:
    """Each example as (token ids, length of the prompt part), prompt = the default template "{input}\\n"."""
    encoded = []
    for row in rows:
        prompt = tokenizer.encode(f"{row['input']}\n")
        answer = tokenizer.encode(str(row["expected_output"])) + [tokenizer.eos_token_id]
        encoded.append((prompt + answer, len(prompt)))
    return encoded


def save_checkpoint(model: GPT2LMHeadModel, tokenizer: PreTrainedTokenizerFast, path: Path, step: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    half = GPT2LMHeadModel(model.config)
    half.load_state_dict(model.state_dict())
    half.to(torch.float16).save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    GenerationConfig(
        max_new_tokens=128,
        do_sample=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ).save_pretrained(path)
    (path / "training_step.json").write_text(json.dumps({"step": step}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoints (step-N/)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--save-steps", default="300,600,900,1200,1500,2000,2500,3000")
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--vocab-size", type=int, default=1200)
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    rows = generate_data.training_split(args.train_size, args.seed)
    tokenizer = build_tokenizer([f"{r['input']}\n{r['expected_output']}" for r in rows], args.vocab_size)
    data = encode_examples(tokenizer, rows)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=256,
        n_embd=args.width,
        n_layer=args.layers,
        n_head=args.width // 64,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))),
    )
    save_steps = {int(s) for s in args.save_steps.split(",")}
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(data)} examples, vocab {len(tokenizer)}, {params / 1e6:.2f}M parameters", flush=True)
    model.train()
    started = time.monotonic()
    for step in range(1, args.steps + 1):
        batch = batch_tensors(rng.sample(data, args.batch_size), tokenizer.pad_token_id)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.monotonic() - started:.0f}s", flush=True)
        if step in save_steps:
            save_checkpoint(model, tokenizer, args.out / f"step-{step}", step)
    print(f"trained {args.steps} steps in {time.monotonic() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()
