"""The benchmark scripts run (their figures are read by people, not asserted: CI times nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)


def test_gpu_check_path_runs_on_the_cpu_with_a_tiny_random_model(tmp_path: Path) -> None:
    done = run_script("benchmarks/gpu_check.py", "--device", "cpu", "--size", "tiny", "--output",
                      str(tmp_path / "gpu.json"), "--model", "tests/models/tiny-v2", "--config",
                      "tests/models/tiny-config.yaml")
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "gpu.json").read_text())
    # on the CPU the half-precision check runs bfloat16 against the float32 reference: two precisions, compared
    assert record["bf16"]["dtype"] == "bfloat16" and 450 <= record["bf16"]["same_output_as_cpu_fp32"] <= 500
    assert record["random_tiny"]["truncated_rate"] > 0.5  # a random model runs to max_new_tokens


def test_reporting_benchmark_runs_on_a_small_synthetic_run() -> None:
    done = run_script("benchmarks/reporting.py", "--cases", "500")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "500 cases: statistics, gates and reports in" in done.stdout


def test_no_heavy_library_is_imported_at_start_up() -> None:
    code = ("import sys, entrypoint, evaluator.cli, evaluator.pipeline; "
            "print([m for m in ('torch', 'transformers', 'scipy', 'openai', 'github', 'numpy', 'jsonschema') "
            "if m in sys.modules])")
    assert run_script("-c", code).stdout.strip() == "[]"


def test_the_peer_runs_the_shipped_adapter_as_taskeval_prompts_it(tmp_path: Path) -> None:
    """lm-evaluation-harness gets the LoRA adapter on its base (peft=), the chat template and the system prompt;
    a plain model folder goes as it is, with the bare prompt."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import stage1

    task = stage1.peer_task(tmp_path, chat=True, max_new_tokens=64)
    command = stage1.peer_command(Path("/venv"), stage1.MODEL, stage1.CONFIG, task, "out")
    model_args = command[command.index("--model_args") + 1]
    assert model_args.startswith(f"pretrained={ROOT / 'examples/models/smollm2-135m-instruct'},peft={stage1.MODEL}")
    assert "--apply_chat_template" in command
    assert command[command.index("--system_instruction") + 1] == "Turn the request into one Task API call, as JSON."
    spec = (task / "taskeval_bench.yaml").read_text()
    assert 'doc_to_text: "{{input}}"' in spec and "<|im_end|>" in spec and "max_gen_toks: 64" in spec
    plain = stage1.peer_command(Path("/venv"), ROOT / "tests/models/tiny-v2", ROOT / "tests/models/tiny-config.yaml",
                                task, "out")
    assert "--apply_chat_template" not in plain and "peft=" not in plain[plain.index("--model_args") + 1]


def test_replica_benchmark_runs_with_stand_ins(tmp_path: Path) -> None:
    done = run_script("benchmarks/replicas.py", "--replicas", "1", "2", "--delay", "0.02", "--per-replica", "8",
                      "--output", str(tmp_path / "replicas.json"))
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((tmp_path / "replicas.json").read_text())["stand_ins"]["rows"]
    assert [r["replicas"] for r in rows] == [1, 2] and rows[1]["requests_per_replica"] == [8, 8]


def test_shard_benchmark_merges_to_the_one_run_report(tmp_path: Path) -> None:
    done = run_script("benchmarks/shards.py", "--shards", "2", "--model", "tests/models/tiny-v2", "--output",
                      str(tmp_path / "shards.json"))
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = json.loads((tmp_path / "shards.json").read_text())["rows"]
    assert row["shards"] == 2 and row["report_equals_one_run"] is True and len(row["shard_seconds"]) == 2


def test_samples_benchmark_prints_the_cost_and_the_consistency(tmp_path: Path) -> None:
    done = run_script("benchmarks/samples.py", "--model", "tests/models/tiny-v2", "--config",
                      "tests/models/tiny-config.yaml", "--cases", "12", "--samples", "3", "--temperature", "1.5",
                      "--output", str(tmp_path / "samples.json"))
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads((tmp_path / "samples.json").read_text())
    assert row["cases"] == 12 and row["samples"] == 3 and row["cost_multiple"] > 1
    assert row["pass_all_k"] <= row["accuracy"] <= row["pass_any_k"]
    assert "pass_all_k" in done.stdout
