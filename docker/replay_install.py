"""Replay the Action image's Python install without Docker, then run the shipped model with it.

    python docker/replay_install.py            # what CI runs (`make image-check`)

In a fresh virtual environment: the image's torch version (the CPU build here; `--torch` to choose another),
then exactly the packages pinned in docker/requirements.txt with no dependency resolution (`--no-deps`), then
`pip check` (the pinned set is complete and consistent), then taskeval itself as the Dockerfile installs it. It
imports what the image needs — transformers' AutoModelForCausalLM (which refuses a torch below transformers' floor),
peft, accelerate, bitsandbytes — makes the example's base model, and runs the shipped candidate (a LoRA adapter,
through peft) on a few cases. Exit 0 only if all of that works.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "docker" / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")
IMPORT_CHECK = """
import importlib.metadata as metadata
import torch, transformers, peft, accelerate, bitsandbytes
from transformers import AutoModelForCausalLM
from transformers.utils import is_torch_available
assert is_torch_available(), "transformers disabled torch: its torch floor is above " + torch.__version__
print("torch", torch.__version__, "| transformers", transformers.__version__, "| peft", peft.__version__,
      "| accelerate", accelerate.__version__, "| bitsandbytes", metadata.version("bitsandbytes"))
"""


def read_pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    """Package name (lower case) → pinned version; option and comment lines are skipped, anything else that is
    not an exact pin is an error."""
    pins: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith(("#", "--")):
            continue
        match = PIN.match(text)
        if match is None:
            raise ValueError(f"{path}:{number}: not an exact pin: {text!r}")
        pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def run(command: list[str], cwd: Path | None = None) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=cwd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", help="torch requirement to stand in for the image's CUDA build "
                                        "(default: the pinned version, CPU build)")
    parser.add_argument("--torch-index", default=os.environ.get("TORCH_INDEX") or None,
                        help="index to take torch from (e.g. https://download.pytorch.org/whl/cpu; default: "
                             "$TORCH_INDEX, else pip's own)")
    args = parser.parse_args()
    pins = read_pins()
    torch = args.torch or f"torch=={pins['torch'].split('+')[0]}"
    with tempfile.TemporaryDirectory() as folder:
        venv.create(folder, with_pip=True)
        python = str(Path(folder) / "bin" / "python")
        pinned = Path(folder) / "pins.txt"
        pinned.write_text("".join(f"{name}=={version}\n" for name, version in pins.items() if name != "torch"))
        run([python, "-m", "pip", "install", "--quiet", torch,
             *(["--index-url", args.torch_index] if args.torch_index else [])])
        run([python, "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(pinned)])
        run([python, "-m", "pip", "check"])
        run([python, "-m", "pip", "install", "--quiet", "--no-deps", str(ROOT)])
        run([python, "-c", IMPORT_CHECK])
        run([python, "examples/models/make_base.py"], cwd=ROOT)  # the shipped adapters' base model (once)
        run([python, "-m", "evaluator", "run", "--model", "examples/models/task-api-v2", "--benchmark",
             "examples/task_api/benchmark.jsonl", "--config", "examples/config.yaml", "--limit", "20", "--quiet",
             "--no-cache", "--output-dir", str(Path(folder) / "report")], cwd=ROOT)
    print("replay: the pinned install imports and runs the shipped model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
