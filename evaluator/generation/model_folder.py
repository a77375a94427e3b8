"""Checks of a local model folder before transformers is imported: the files a load needs are there, complete, and
in the format the configuration allows (safetensors unless `generation.allow_pickle`).

Weights are looked for by the exact names transformers and peft load, so an unrelated `.safetensors` file cannot
stand in for pickle weights that would really be loaded.
"""

from __future__ import annotations

import difflib
import os
import re
import struct
from pathlib import Path
from typing import Any

from evaluator.core.errors import TaskevalError
from evaluator.core.files import strict_json

MODEL_SAFETENSORS = ("model.safetensors", "model.safetensors.index.json")
MODEL_PICKLE = ("pytorch_model.bin", "pytorch_model.bin.index.json")
ADAPTER_SAFETENSORS = "adapter_model.safetensors"
ADAPTER_PICKLE = "adapter_model.bin"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
MAX_HEADER_BYTES = 100 * 1024 * 1024


TRUST_REMOTE_CODE_ENV = "TASKEVAL_TRUST_REMOTE_CODE"
ALLOW_HUB_ENV = "TASKEVAL_ALLOW_HUB_DOWNLOADS"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def remote_code_allowed(configured: bool) -> bool:
    """Whether the model's own code may run: only when the workflow (or the person at the command line) says so
    with TASKEVAL_TRUST_REMOTE_CODE (`--trust-remote-code`, the Action's `trust-remote-code`), never by the
    configuration alone, which a pull request can change (docs/security.md)."""
    allowed = _flag(TRUST_REMOTE_CODE_ENV)
    if configured and not allowed:
        raise TaskevalError("generation.trust_remote_code: true would run code from the model's folder, and a "
                            "configuration (which a pull request can change) cannot allow that by itself",
                            "pass --trust-remote-code on the command line, or `trust-remote-code: true` to the "
                            f"Action (both set {TRUST_REMOTE_CODE_ENV}=1), if you trust the model's source")
    return allowed


def hub_downloads_allowed() -> bool:
    """Whether a base model named inside an adapter (a file a pull request controls) may come from a hub: in CI
    only when the workflow sets TASKEVAL_ALLOW_HUB_DOWNLOADS=1; elsewhere unless HF_HUB_OFFLINE is set."""
    if _flag(ALLOW_HUB_ENV):
        return True
    return not _flag("CI") and not _flag("HF_HUB_OFFLINE")


def is_hub_id(model: Path) -> bool:
    """`org/name` that is not a local path: loaded from a model hub, where the runner can reach one. A path whose
    first folder exists here (`models/task-api`) is local, so a typo in it is "not found", not a hub download."""
    text = str(model)
    return not model.exists() and not Path(model.parts[0]).exists() and HUB_ID.fullmatch(text) is not None


def nearest_folder(path: Path) -> Path | None:
    """The existing folder closest to a path that does not exist: its deepest existing ancestor, and in it the
    nearest spelling of the next part (`model/task-api` → `models/task-api`), for a did-you-mean."""
    parts = path.parts
    for depth in range(len(parts) - 1, -1, -1):
        parent = Path(*parts[:depth]) if depth else Path(".")
        if not parent.is_dir():
            continue
        children = [child.name for child in parent.iterdir() if child.is_dir() or child.suffix == ".gguf"]
        close = difflib.get_close_matches(parts[depth], children, n=1, cutoff=0.6)
        if not close:
            return parent if depth else None
        guess = parent / close[0] / Path(*parts[depth + 1:]) if depth + 1 < len(parts) else parent / close[0]
        return guess if guess.exists() else parent / close[0]
    return None


def not_found(model: Path, what: str = "model", hint: str = "check the path given to --model") -> TaskevalError:
    """"not found", with the nearest existing folder when there is one."""
    near = nearest_folder(model)
    return TaskevalError(f"{model}: {what} not found", f"did you mean '{near}'? Otherwise: {hint}" if near is not None
                         else hint)


def hub_model_reachable(model_id: str) -> bool:
    """Whether a hub id answers, asked once with a short time-out (no retries: a run must not spend a minute
    learning that there is no network); False offline (HF_HUB_OFFLINE) or without huggingface_hub."""
    if _flag("HF_HUB_OFFLINE"):
        return False
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(model_id, timeout=5)
        return True
    except Exception:  # no network, no such model, no permission: all "not reachable" here
        return False


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = strict_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise TaskevalError(f"{path}: not a readable JSON file ({error})".splitlines()[0],
                            "re-save the model with save_pretrained()") from None
    if not isinstance(data, dict):
        raise TaskevalError(f"{path}: must be a JSON object", "re-save the model with save_pretrained()")
    return data


def check_safetensors(path: Path) -> None:
    """A safetensors file is whole: its header parses and the tensors it lists end exactly at the end of the file
    (a copy cut short by a full disk or an interrupted download fails here, not deep inside a load)."""
    hint = "the file is incomplete or corrupt: copy or download it again"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            (header_length,) = struct.unpack("<Q", handle.read(8))
            if not 0 < header_length <= min(MAX_HEADER_BYTES, size - 8):
                raise TaskevalError(f"{path}: not a safetensors file (bad header length)", hint)
            header = strict_json(handle.read(header_length).decode("utf-8"))
    except (OSError, struct.error, ValueError, UnicodeDecodeError) as error:
        raise TaskevalError(f"{path}: not a readable safetensors file ({type(error).__name__})", hint) from None
    tensors = {name: entry for name, entry in header.items() if name != "__metadata__"} \
        if isinstance(header, dict) else None
    if not tensors or not all(_tensor_entry(entry) for entry in tensors.values()):
        raise TaskevalError(f"{path}: not a safetensors file (its header is not a table of tensors with "
                            "dtype, shape and data_offsets)", hint)
    ends = [entry["data_offsets"][1] for entry in tensors.values()]
    expected = 8 + header_length + max(ends, default=0)
    if expected != size:
        raise TaskevalError(f"{path}: truncated or padded safetensors file ({size} bytes, its header says "
                            f"{expected})", hint)


def _tensor_entry(entry: Any) -> bool:
    """One tensor of a safetensors header: a dtype, a shape and two ordered byte offsets."""
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str) or \
            not isinstance(entry.get("shape"), list):
        return False
    offsets = entry.get("data_offsets")
    return isinstance(offsets, list) and len(offsets) == 2 and \
        all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets) and offsets[0] <= offsets[1]


def _weights(folder: Path, names: tuple[str, ...]) -> list[Path]:
    """The weight files a load would read: the single file, or every shard named in the index."""
    for name in names:
        path = folder / name
        if not path.exists():
            continue
        if name.endswith(".index.json"):
            weight_map = _json_file(path).get("weight_map")
            if not isinstance(weight_map, dict) or not all(isinstance(s, str) and s and "/" not in s and
                                                           s not in (".", "..") for s in weight_map.values()):
                raise TaskevalError(f"{path}: not a shard index (its 'weight_map' must map tensor names to shard "
                                    "files in this folder)", "re-save the model with save_pretrained()")
            shards = sorted(set(weight_map.values()))
            missing = [s for s in shards if not (folder / s).exists()]
            if missing or not shards:
                raise TaskevalError(f"{path}: the index names shards that are not there: {', '.join(missing[:3])}",
                                    "copy every shard of the model")
            return [folder / s for s in shards]
        return [path]
    return []


def _check_full_model(folder: Path, allow_pickle: bool) -> None:
    safetensors = _weights(folder, MODEL_SAFETENSORS)
    for path in safetensors:
        check_safetensors(path)
    if not safetensors:
        pickle = _weights(folder, MODEL_PICKLE)
        if pickle and not allow_pickle:
            raise TaskevalError(f"{folder}: only pickle weights ({', '.join(p.name for p in pickle)}); taskeval "
                                "loads safetensors only",
                                "convert the model to safetensors, or set generation.allow_pickle: true if you "
                                "trust its source")
        if not pickle:
            raise TaskevalError(f"{folder}: no model weights ({' or '.join(MODEL_SAFETENSORS)})",
                                "save the model with save_pretrained(), which writes model.safetensors")
    if not any((folder / name).exists() for name in TOKENIZER_FILES):
        raise TaskevalError(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_FILES)})",
                            "save the tokenizer next to the model: tokenizer.save_pretrained(folder)")


def adapter_base(folder: Path) -> str | None:
    """The base model an adapter folder names (`base_model_name_or_path`: a hub id, or a folder, which like peft
    reads it is relative to the current folder); None when the folder is not an adapter."""
    if not (folder / "adapter_config.json").exists():
        return None
    base = _json_file(folder / "adapter_config.json").get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise TaskevalError(f"{folder / 'adapter_config.json'}: no 'base_model_name_or_path'",
                            "name the base model the adapter was trained on")
    return base


def _check_adapter(folder: Path, allow_pickle: bool) -> None:
    base = adapter_base(folder)
    assert base is not None
    if (folder / ADAPTER_SAFETENSORS).exists():
        check_safetensors(folder / ADAPTER_SAFETENSORS)
    elif (folder / ADAPTER_PICKLE).exists():
        if not allow_pickle:
            raise TaskevalError(f"{folder}: the adapter's weights are pickle ({ADAPTER_PICKLE}); taskeval loads "
                                "safetensors only",
                                f"save the adapter as {ADAPTER_SAFETENSORS}, or set generation.allow_pickle: true "
                                "if you trust its source")
    else:
        raise TaskevalError(f"{folder}: no adapter weights ({ADAPTER_SAFETENSORS})",
                            "save the adapter with save_pretrained()")
    base_path = Path(base)
    if is_hub_id(base_path) and not hub_downloads_allowed():
        raise TaskevalError(f"{folder / 'adapter_config.json'}: base model '{base}' not found here, and taskeval "
                            "downloads an adapter's base from a hub only when the workflow allows it",
                            "make the base model there (read relative to the current folder), or set "
                            f"{ALLOW_HUB_ENV}=1 in the workflow's env if the runner may download it")
    if not is_hub_id(base_path):
        check_model_dir(base_path, allow_pickle, what=f"base model of {folder}",
                        missing=f"base_model_name_or_path in {folder / 'adapter_config.json'} is read relative to "
                                "the current folder: run taskeval from the folder it is relative to, or make the "
                                "base model there (for the shipped examples: make base-model)")
    has_tokenizer = any((folder / name).exists() for name in TOKENIZER_FILES)
    if not has_tokenizer and not is_hub_id(base_path) and not any((base_path / n).exists() for n in TOKENIZER_FILES):
        raise TaskevalError(f"{folder}: no tokenizer files here or in the base model {base}",
                            "save the tokenizer next to the adapter or the base model")


GGUF_MAGIC = b"GGUF"


def check_gguf(path: Path) -> None:
    """A `.gguf` model file exists and is one (its first four bytes say GGUF), before transformers converts it."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise TaskevalError(f"{path}: model file not found", "check the path given to --model") from None
    except OSError as error:
        raise TaskevalError(f"{path}: cannot read the model file ({error.strerror})") from None
    if magic != GGUF_MAGIC:
        raise TaskevalError(f"{path}: not a GGUF file (it does not start with 'GGUF')",
                            "give a .gguf file exported by llama.cpp, or a Hugging Face model folder")


def check_model_dir(model_dir: Path, allow_pickle: bool, what: str = "model folder",
                    missing: str = "check the path given to --model") -> None:
    """A clear error for a model folder that cannot be loaded, before transformers is imported."""
    if not model_dir.exists():
        raise not_found(model_dir, what, missing)
    if not model_dir.is_dir():
        raise TaskevalError(f"{model_dir}: the {what} must be a folder in Hugging Face format")
    if (model_dir / "adapter_config.json").exists():
        _check_adapter(model_dir, allow_pickle)
    elif (model_dir / "config.json").exists():
        _json_file(model_dir / "config.json")
        _check_full_model(model_dir, allow_pickle)
    else:
        raise TaskevalError(f"{model_dir}: no config.json or adapter_config.json",
                            "save the model with save_pretrained(), or point --model at the folder that has them")


def check_model(model: Path, allow_pickle: bool) -> str:
    """Everything `taskeval run --model` checks before loading, without loading any weights (seconds): a `.gguf`
    file's header, a hub id that answers, or a folder (full model or LoRA adapter and its base, complete safetensors
    files, tokenizer files). Returns what the model is, in words."""
    if model.suffix.lower() == ".gguf":
        check_gguf(model)
        return "a .gguf file"
    if is_hub_id(model):
        if not hub_model_reachable(str(model)):
            raise not_found(model, "model (no such folder here, and no hub answers for that id)")
        return "a hub id that answers (not downloaded by validate)"
    check_model_dir(model, allow_pickle)
    base = adapter_base(model)
    return f"a LoRA adapter on {base}" if base is not None else "a full model"
