"""The Hugging Face backend on the shipped models, on the CPU: loading rules, prompts, adapters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.generation.huggingface import HuggingFaceBackend, model_fingerprint
from evaluator.generation.model_folder import check_model_dir
from evaluator.inputs.config import GenerationSettings
from tests.helpers import EXAMPLES, TINY_MODELS, make_case

V2 = TINY_MODELS / "tiny-v2"


@pytest.fixture(scope="module")
def backend() -> HuggingFaceBackend:
    return HuggingFaceBackend(V2, GenerationSettings(), "cpu")


def test_pickle_only_weights_are_refused_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really")
    with pytest.raises(TaskevalError, match="only pickle weights") as raised:
        check_model_dir(tmp_path, allow_pickle=False)
    assert "allow_pickle" in (raised.value.hint or "")
    check_model_dir(tmp_path, allow_pickle=True)


def test_a_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TaskevalError, match="no config.json or adapter_config.json"):
        check_model_dir(tmp_path, allow_pickle=False)


def test_quantization_without_bitsandbytes_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # as if it were not installed
    with pytest.raises(TaskevalError, match="4bit needs bitsandbytes") as error:
        HuggingFaceBackend(V2, GenerationSettings(quantization="4bit"), "cpu")
    assert error.value.hint is not None and "pip install" in error.value.hint


def test_cpu_defaults_to_float32_and_a_fixed_batch(backend: HuggingFaceBackend) -> None:
    assert backend.dtype_name == "float32" and backend.batch_size == 64
    assert str(next(backend.model.parameters()).dtype) == "torch.float32"
    assert backend.tokenizer.padding_side == "left"


def test_prompt_template_system_prompt_and_chat_template(backend: HuggingFaceBackend) -> None:
    case = make_case({"action": "get_task", "task_id": 3}, text="show task 3")
    assert backend.prompt(case) == "show task 3\n"
    backend.settings = GenerationSettings(system_prompt="You are a Task API.")
    assert backend.prompt(case) == "You are a Task API.\nshow task 3\n"
    backend.tokenizer.chat_template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}>"
    try:
        assert backend.prompt(case) == "[system] You are a Task API.\n[user] show task 3\n>"
    finally:
        backend.tokenizer.chat_template = None
        backend.settings = GenerationSettings()


def test_generation_stops_when_the_object_closes_and_counts_tokens(backend: HuggingFaceBackend) -> None:
    case = make_case({"action": "get_task", "task_id": 3}, text="show task 3")
    (generation,) = backend.generate([case])
    assert generation.output == '{"action":"get_task","task_id":3}'
    assert not generation.truncated and generation.prompt_tokens == 6 and generation.completion_tokens


def test_truncation_is_reported() -> None:
    short = HuggingFaceBackend(V2, GenerationSettings(max_new_tokens=5), "cpu")
    (generation,) = short.generate([make_case({"action": "get_task", "task_id": 3}, text="show task 3")])
    assert generation.truncated and generation.completion_tokens == 5


def test_fingerprint_follows_the_content(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(V2, copy)
    assert model_fingerprint(copy) == model_fingerprint(V2)
    (copy / "generation_config.json").write_text(json.dumps({"max_new_tokens": 3}))
    assert model_fingerprint(copy) != model_fingerprint(V2)


def test_a_lora_adapter_loads_on_its_base(tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(V2))
    adapter = get_peft_model(base, LoraConfig(r=2, target_modules=["c_attn"], init_lora_weights=True))
    adapter.save_pretrained(tmp_path / "adapter")
    saved = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert saved["base_model_name_or_path"] == str(V2)
    loaded = HuggingFaceBackend(tmp_path / "adapter", GenerationSettings(), "cpu")
    (generation,) = loaded.generate([make_case({"action": "get_task", "task_id": 3}, text="show task 3")])
    assert generation.output == '{"action":"get_task","task_id":3}'  # a fresh LoRA starts as the identity

    # the adapter's fingerprint covers its base: the same adapter on another base is another model (another cache)
    other_base = tmp_path / "other-base"
    shutil.copytree(V2, other_base)
    (other_base / "generation_config.json").write_text(json.dumps({"max_new_tokens": 3}))
    moved = tmp_path / "moved-adapter"
    shutil.copytree(tmp_path / "adapter", moved)
    assert model_fingerprint(moved) == model_fingerprint(tmp_path / "adapter")
    (moved / "adapter_config.json").write_text(json.dumps({**saved, "base_model_name_or_path": str(other_base)}))
    assert model_fingerprint(moved) != model_fingerprint(tmp_path / "adapter")

    # a base that is not there is named, with how a relative one is read
    missing_base = {**saved, "base_model_name_or_path": str(tmp_path / "no-base")}
    (moved / "adapter_config.json").write_text(json.dumps(missing_base))
    with pytest.raises(TaskevalError, match="base model of .* not found") as raised:
        HuggingFaceBackend(moved, GenerationSettings(), "cpu")
    assert "relative to the current folder" in str(raised.value.hint)


def test_a_hub_id_is_tried_on_the_hub_and_fails_clearly_offline(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from evaluator.generation.model_folder import is_hub_id

    assert is_hub_id(Path("acme/task-api-v9")) and not is_hub_id(Path("no/such/model"))
    assert not is_hub_id(V2)
    # in a fresh process: the hub library reads HF_HUB_OFFLINE when it is first imported
    done = subprocess.run([sys.executable, "-m", "evaluator", "run", "--model", "acme/task-api-v9", "--benchmark",
                           str(EXAMPLES / "task_api" / "benchmark.jsonl"), "--output-dir", str(tmp_path)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert done.returncode == 2 and "no hub answers for that id" in done.stderr and "Traceback" not in done.stderr
