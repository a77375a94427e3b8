"""End to end against a real OpenAI-compatible server: llama.cpp's (llama-cpp-python[server], which `make test`
installs) serving SmolLM2-135M-Instruct's GGUF on loopback. The served backend generates through it and the judge
grades through it: the server refuses the json_schema response format with HTTP 500, the judge falls back to JSON
mode with the verdict's schema, and every sampled case gets a verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.stages import judge_client
from tests.helpers import BENCHMARK
from tests.llama import SERVED_NAME
from tests.llama import llama_server as serving


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("llama") / "server.log") as base_url:
        yield base_url


def test_served_backend_and_judge_end_to_end_through_llama_cpp(llama_server: str, tmp_path: Path) -> None:
    config = tmp_path / "taskeval.yaml"
    config.write_text(
        f"generation: {{backend: openai, base_url: '{llama_server}', max_new_tokens: 32, concurrency: 2}}\n"
        f"judge: {{provider: openai, base_url: '{llama_server}', model: {SERVED_NAME}, min_samples: 8, "
        f"sample_rate: 0.1, concurrency: 2, max_output_tokens: 160, "
        f"prices: {{{SERVED_NAME}: {{input: 0, output: 0}}}}}}\n"
        "quality_gates:\n"
        "  - {name: format, metric: json_valid_rate, threshold: 0.95, comparison: greater_equal, gate_type: blocking}\n"
        "  - {name: judged, metric: llm_judge_overall, threshold: 0, comparison: greater_equal, gate_type: warning}\n",
        encoding="utf-8")
    out = tmp_path / "report"
    code = main(["run", "--model", SERVED_NAME, "--benchmark", str(BENCHMARK), "--config", str(config),
                 "--limit", "16", "--output-dir", str(out), "--no-cache"])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    stages = {stage["name"]: stage for stage in report["stages"]}

    # stage 1 through the server: every case answered
    assert stages["automated_metrics"]["status"] == "passed"
    assert len(report["cases"]) == 16 and all(case["output"] for case in report["cases"])

    # the judge: json_schema refused (HTTP 500) once, then JSON mode with the schema, and a verdict for every case
    assert judge_client._working_format[(llama_server, SERVED_NAME)] == 1
    judge = stages["llm_judge"]
    assert judge["status"] == "passed", judge
    assert judge["details"]["planned"] == 8 and judge["details"]["judged"] == 8, judge["details"]
    assert 0 <= report["metrics"]["llm_judge_overall"]["value"] <= 1  # judge metrics are scaled to 0-1
    gates = {gate["name"]: gate for gate in report["gates"]}
    assert gates["judged"]["passed"] is True  # evaluated: the judge gave scores
    # the base model answers in prose, not Task API JSON: the blocking gate fails and the run blocks
    assert report["decision"] == "BLOCK" and code == 1
