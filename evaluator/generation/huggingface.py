"""The Hugging Face backend: the only module that talks to the model runtime (torch, transformers, peft).

Greedy, batched generation: prompts sorted by length, left padding, each sequence stopped at end-of-sequence or as
soon as its top-level JSON object (and its code fence) closes. With generation.temperature above 0, each row draws a
seeded sample (evaluator/generation/sampling.py). torch and transformers are imported here only, so
runs that need no model start fast.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import strict_json
from evaluator.core.records import BatchCallback, Generation, Request, sample_seed
from evaluator.generation.model_folder import (
    adapter_base,
    check_model,
    is_hub_id,
    remote_code_allowed,
)
from evaluator.generation.sampling import SeededSampler, sampling_settings
from evaluator.generation.stopping import JsonStopScanner, cut_at_stop
from evaluator.inputs.config import GenerationSettings

CPU_BATCH_SIZE = 64  # fastest on a tiny test model on 2 CPU cores (benchmarks/stage1.py; 32: 6.0 s, 64: 4.3 s)
CUDA_FIRST_BATCH_SIZE = 256  # halved on out-of-memory until a batch fits
SAMPLED_HASH_ABOVE = 256 * 1024 * 1024
SAMPLE_BYTES = 4 * 1024 * 1024


def _padding_false_alarm(record: logging.LogRecord) -> bool:
    """Drop transformers' "pass an attention_mask" warning: it fires while decoding because rows that have already
    stopped are fed pad tokens, although the attention mask is passed (outputs do not depend on the batch)."""
    return "strongly recommend passing in an `attention_mask`" not in record.getMessage()


def _file_digest(path: Path) -> str:
    """SHA-256 of a file; for a file over 256 MiB, of its size and three 4 MiB samples (start, middle, end)."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size <= SAMPLED_HASH_ABOVE:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        else:
            digest.update(str(size).encode())
            for offset in (0, size // 2, size - SAMPLE_BYTES):
                handle.seek(offset)
                digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def model_fingerprint(model_dir: Path) -> str:
    """A digest of every file of a local model folder (names and contents); for an adapter, of its base model's too,
    so the same adapter on another base is another model (and never reuses its cached outputs)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(model_dir)).encode())
        digest.update(_file_digest(path).encode())
    base = adapter_base(model_dir)
    if base is not None:
        digest.update(f"base:{'hub:' + base if is_hub_id(Path(base)) else model_fingerprint(Path(base))}".encode())
    return digest.hexdigest()


def resolve_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise TaskevalError("--device cuda was asked for, but torch sees no CUDA device",
                            "use --device cpu or auto, or check the NVIDIA container runtime")
    return requested


def build_prompt(tokenizer: Any, text: str, settings: GenerationSettings) -> str:
    """The chat template when the tokenizer has one, else the configured prompt template; with the system prompt.
    Fine-tuning scripts import this, so a model is trained on the very prompts it is evaluated with."""
    system = settings.system_prompt
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    prompt = settings.prompt_template.replace("{input}", text)
    if system:
        prompt = prompt.replace("{system}", system) if "{system}" in prompt else f"{system}\n{prompt}"
    return prompt


class JsonStoppingCriteria:
    """Per-row stopping for `generate`: feeds each new token's text (from a table) to a JsonStopScanner."""

    def __init__(self, token_texts: list[str], rows: int, prompt_width: int = 0) -> None:
        self.token_texts = token_texts
        self.scanners = [JsonStopScanner() for _ in range(rows)]
        self.stopped = [False] * rows
        self.prompt_width = prompt_width
        self.generated_at_stop: list[int | None] = [None] * rows
        """Per row, how many tokens it had generated when it stopped: what follows is the batch's padding, not the
        row's output (its token count must not depend on which cases share its batch)."""

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        for row, token in enumerate(input_ids[:, -1].tolist()):
            if not self.stopped[row] and token < len(self.token_texts):
                self.stopped[row] = self.scanners[row].feed(self.token_texts[token])
                if self.stopped[row]:
                    self.generated_at_stop[row] = input_ids.shape[1] - self.prompt_width
        return torch.tensor(self.stopped, dtype=torch.bool, device=input_ids.device)


class HuggingFaceBackend:
    """A local model folder (full model or PEFT adapter), a `.gguf` file (converted by transformers; needs the
    `gguf` package), or a hub id, run with transformers."""

    runs_model = True

    def __init__(self, model_dir: Path, settings: GenerationSettings, device: str = "auto") -> None:
        self.gguf = model_dir.suffix.lower() == ".gguf"
        self.hub_id = not self.gguf and is_hub_id(model_dir)
        check_model(model_dir, settings.allow_pickle)  # the checks `taskeval validate --model` makes, before loading
        self.model_dir = model_dir
        self.settings = settings
        self.trust_remote_code = remote_code_allowed(settings.trust_remote_code)
        self.device = resolve_device(device)
        self.dtype_name = self._dtype_name()
        # a hub model is identified by its id (pin a revision by downloading it to a folder for exact caching)
        self._digest = (f"hub:{model_dir}" if self.hub_id else _file_digest(model_dir) if self.gguf
                        else model_fingerprint(model_dir))
        self.description = f"{model_dir} ({self.device}, {self.dtype_name})"
        self.model, self.tokenizer = self._load()
        self.token_texts = [self.tokenizer.decode([i]) for i in range(len(self.tokenizer))]
        self.batch_size = self._initial_batch_size()

    def _dtype_name(self) -> str:
        if self.settings.dtype != "auto":
            return self.settings.dtype
        return "float16" if self.device == "cuda" else "float32"

    def _initial_batch_size(self) -> int:
        if isinstance(self.settings.batch_size, int):
            return self.settings.batch_size
        return CUDA_FIRST_BATCH_SIZE if self.device == "cuda" else CPU_BATCH_SIZE

    def _quantization_config(self) -> Any:
        """bitsandbytes' settings for `generation.quantization` (4bit: NF4 with the run's dtype as compute dtype;
        8bit: LLM.int8()), on CUDA or, where the installed bitsandbytes runs there (0.45 and later), on the CPU."""
        if self.settings.quantization == "none":
            return None
        if self.gguf:
            raise TaskevalError(f"generation.quantization: {self.settings.quantization} cannot apply to a .gguf "
                                "file (it is quantized already, and transformers de-quantizes it)",
                                "set generation.quantization: none, or give the model as a Hugging Face folder")
        import torch

        try:
            import bitsandbytes
            from transformers import BitsAndBytesConfig
        except ImportError:
            raise TaskevalError(f"generation.quantization: {self.settings.quantization} needs bitsandbytes, which "
                                "is not installed", "pip install 'bitsandbytes>=0.45' accelerate (the Action's "
                                "image has them)") from None
        if self.device != "cuda" and tuple(int(p) for p in bitsandbytes.__version__.split(".")[:2]) < (0, 45):
            raise TaskevalError(f"generation.quantization: {self.settings.quantization} on the CPU needs "
                                f"bitsandbytes 0.45 or later (installed: {bitsandbytes.__version__})",
                                "pip install 'bitsandbytes>=0.45', or set generation.quantization: none")
        self._check_no_foreign_quantization()
        if self.settings.quantization == "4bit":
            return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                      bnb_4bit_compute_dtype=getattr(torch, self.dtype_name))
        return BitsAndBytesConfig(load_in_8bit=True)

    def _check_no_foreign_quantization(self) -> None:
        """A config.json that already names another quantization (a GGUF or GPTQ file it was converted from, say)
        makes transformers refuse bitsandbytes with an opaque error; say which file and key, and the fix."""
        base = adapter_base(self.model_dir) if not self.hub_id else None
        folder = Path(base) if base is not None and not is_hub_id(Path(base)) else self.model_dir
        path = folder / "config.json"
        try:
            config = strict_json(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, ValueError, UnicodeDecodeError):
            return  # the load reports an unreadable config itself
        existing = config.get("quantization_config") if isinstance(config, dict) else None
        method = existing.get("quant_method") if isinstance(existing, dict) else None
        if existing is not None and method != "bitsandbytes":
            raise TaskevalError(
                f"{path}: 'quantization_config' says the weights are quantized with {method or 'another method'}, "
                f"so generation.quantization: {self.settings.quantization} (bitsandbytes) cannot apply",
                "if the safetensors weights are plain floats (a model converted from a GGUF file, say), delete "
                "'quantization_config' from config.json; otherwise set generation.quantization: none")

    def load_description(self) -> dict[str, object]:
        """How the weights were loaded: dtype, quantization (its type, 4-bit's compute dtype, the bitsandbytes
        version): in the fingerprint, the report and the cache key."""
        described: dict[str, object] = {"dtype": self.dtype_name, "quantization": self.settings.quantization}
        if self.settings.quantization != "none":
            from importlib import metadata

            if self.settings.quantization == "4bit":
                described["compute_dtype"] = self.dtype_name
            described["quant_type"] = "nf4" if self.settings.quantization == "4bit" else "int8"
            described["bitsandbytes"] = metadata.version("bitsandbytes")
        return described

    def _load(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        logging.getLogger("transformers.modeling_utils").addFilter(_padding_false_alarm)
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)  # its notice about optional CPU kernels: ours says
        # that quantization on the CPU is slow, once, in the report

        adapter = None if self.gguf or self.hub_id else adapter_base(self.model_dir)
        base = adapter or str(self.model_dir)
        options: dict[str, Any] = {
            "dtype": getattr(torch, self.dtype_name),
            "trust_remote_code": self.trust_remote_code,
            "use_safetensors": None if self.settings.allow_pickle else True,
        }
        quantization = self._quantization_config()
        if quantization is not None:
            options["quantization_config"] = quantization
            options["device_map"] = {"": 0 if self.device == "cuda" else "cpu"}
        local_tokenizer = (self.model_dir / "tokenizer_config.json").exists()
        tokenizer_source, tokenizer_options = str(self.model_dir if local_tokenizer else base), {}
        if self.gguf:  # transformers reads model and tokenizer out of the file (and de-quantizes the weights)
            base, tokenizer_source = str(self.model_dir.parent), str(self.model_dir.parent)
            options["gguf_file"] = tokenizer_options["gguf_file"] = self.model_dir.name
            options.pop("use_safetensors")
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # the terminal shows taskeval's progress, not the libraries'
        try:
            with warnings.catch_warnings():  # libraries' deprecation notices about each other are not the user's
                warnings.simplefilter("ignore", FutureWarning)
                model: Any = AutoModelForCausalLM.from_pretrained(base, **options)
                if adapter is not None:
                    from peft import PeftModel

                    model = PeftModel.from_pretrained(model, str(self.model_dir))
                tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, **tokenizer_options,
                                                          trust_remote_code=self.trust_remote_code)
        except Exception as error:  # a model that does not load is the user's input, whatever the library raised
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            missing_gguf = self.gguf and isinstance(error, ImportError)
            hint = ("a .gguf file needs the gguf package: pip install gguf" if missing_gguf
                    else "check that the folder holds a complete Hugging Face model")
            raise TaskevalError(f"{self.model_dir}: the model does not load: {type(error).__name__}: {first_line}",
                                hint) from None
        if quantization is None:
            model.to(self.device)
        model.eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return model, tokenizer

    def fingerprint(self) -> dict[str, object]:
        import torch

        cuda = self.device == "cuda"
        return {
            "backend": "huggingface", "path": str(self.model_dir), "sha256": self._digest, "device": self.device,
            "gpu": torch.cuda.get_device_name(0) if cuda else None, "cuda": torch.version.cuda if cuda else None,
            "batch_size": self.batch_size, **self.load_description(), **self.sampling(),
        }

    def covers(self, requests: Sequence[Request]) -> bool:
        return True

    def cache_key(self) -> dict[str, object]:
        """What the outputs depend on: the model, the prompt and the decoding settings (not the batch size)."""
        s = self.settings
        return {"model": self._digest, "device": self.device, **self.load_description(),
                "max_new_tokens": s.max_new_tokens,
                "prompt_template": s.prompt_template, "system_prompt": s.system_prompt, "version": 1,
                **self.sampling()}

    def sampling(self) -> dict[str, object]:
        """The sampling settings, when it samples (greedy decoding keeps the keys it always had)."""
        return sampling_settings(self.settings)

    def prompt(self, case: Request) -> str:
        return build_prompt(self.tokenizer, case.input, self.settings)

    def generate(self, cases: Sequence[Request], on_batch: BatchCallback | None = None) -> list[Generation]:
        prompts = [self.prompt(case) for case in cases]
        lengths = [len(ids) for ids in self.tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(cases)), key=lambda i: lengths[i])
        results: dict[int, Generation] = {}
        start = 0
        while start < len(order):
            batch = order[start : start + self.batch_size]
            try:
                generations = self._generate_batch([prompts[i] for i in batch], [sample_seed(cases[i]) for i in batch])
            except RuntimeError as error:
                if "out of memory" not in str(error).lower() or self.batch_size == 1:
                    raise
                self._free_memory()
                self.batch_size = max(1, self.batch_size // 2)
                continue
            results.update(zip(batch, generations))
            if on_batch is not None:
                on_batch([(cases[i], g) for i, g in zip(batch, generations)])
            start += len(batch)
        return [results[i] for i in range(len(cases))]

    def _free_memory(self) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.empty_cache()

    def _generate_batch(self, prompts: list[str], seeds: list[int]) -> list[Generation]:
        import torch

        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        encoded = {key: value.to(self.model.device) for key, value in encoded.items()}
        stopping = JsonStoppingCriteria(self.token_texts, len(prompts), encoded["input_ids"].shape[1])
        s = self.settings
        sampler = [SeededSampler(seeds, s.temperature, s.top_p, encoded["input_ids"].shape[1])] \
            if s.temperature > 0 else []
        started = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(
                **encoded,
                do_sample=False,
                max_new_tokens=self.settings.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
                stopping_criteria=[stopping],
                logits_processor=sampler,
            )
        elapsed_ms = (time.perf_counter() - started) * 1000 / len(prompts)
        prompt_width = encoded["input_ids"].shape[1]
        prompt_tokens = encoded["attention_mask"].sum(dim=1).tolist()
        generations = []
        for row, tokens in enumerate(output[:, prompt_width:].tolist()):
            generations.append(self._finish(tokens, stopping.generated_at_stop[row], prompt_tokens[row], elapsed_ms))
        return generations

    def _finish(self, tokens: list[int], generated_at_stop: int | None, prompt_tokens: int,
                latency_ms: float) -> Generation:
        """Text and token count of one generated row (up to its end-of-sequence, or to where the JSON stop ended it:
        never the padding that follows while the rest of its batch runs on); truncated when it ran out of
        max_new_tokens unfinished."""
        eos = self.tokenizer.eos_token_id
        used = tokens[:generated_at_stop] if generated_at_stop is not None else tokens
        if eos in used:
            used = used[: used.index(eos) + 1]
        text = self.tokenizer.decode(used, skip_special_tokens=True)
        text, closed = cut_at_stop(text)
        truncated = not closed and eos not in used and len(tokens) >= self.settings.max_new_tokens
        return Generation(output=text, truncated=truncated, prompt_tokens=int(prompt_tokens),
                          completion_tokens=len(used), latency_ms=latency_ms)

