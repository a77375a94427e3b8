"""The fail-closed catalogue: bad inputs and faults fed to `taskeval run`, `taskeval validate` and the Action.

Each entry asserts the exit code, that no traceback was printed, that the message names the place (file, line or
key), and that nothing says DEPLOY: not the exit code, not report.json, not the printed line, not the Action's
outputs. README, "When things go wrong", states the guarantees these check.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import evaluator.action.main as entrypoint
from evaluator.cli import main
from evaluator.core.redaction import forget_secrets
from tests.helpers import SIGNER, TINY_MODELS, benchmark_rows, request, write_jsonl

MODEL = TINY_MODELS / "tiny-v2"
GATES = ("quality_gates:\n  - {name: accuracy, metric: accuracy, threshold: 0.85, comparison: '>=', "
         "gate_type: blocking}\n")


@dataclass
class Setup:
    """A folder with a 20-case benchmark, right and garbage predictions, a valid config and a valid baseline."""

    root: Path

    @property
    def bench(self) -> Path:
        return self.root / "bench.jsonl"

    def file(self, name: str, text: str | bytes) -> Path:
        path = self.root / name
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text, encoding="utf-8")
        return path

    def run(self, *extra: str, predictions: str = "good.jsonl", config: Path | None = None) -> list[str]:
        args = ["run", "--benchmark", str(self.bench), "--output-dir", str(self.root / "out"), "--quiet",
                "--no-cache"]
        if predictions:
            args += ["--predictions", str(self.root / predictions)]
        return args + ["--config", str(config or self.root / "config.yaml"), *extra]


@pytest.fixture()
def setup(tmp_path: Path) -> Setup:
    rows = benchmark_rows(20)
    write_jsonl(tmp_path / "bench.jsonl", rows)
    write_jsonl(tmp_path / "good.jsonl", [{"id": r["id"], "output": r["expected_output"]} for r in rows])
    write_jsonl(tmp_path / "garbage.jsonl", [{"id": r["id"], "output": "sure! here you go"} for r in rows])
    write_jsonl(tmp_path / "empty-objects.jsonl", [{"id": r["id"], "output": "{}"} for r in rows])
    (tmp_path / "config.yaml").write_text(f"judge: {{provider: none}}\n{GATES}")
    assert main(Setup(tmp_path).run("--update-baseline", str(tmp_path / "baseline.json"))) == 0
    shutil.rmtree(tmp_path / "out")
    return Setup(tmp_path)


def with_prediction(setup: Setup, **fields: Any) -> list[str]:
    rows = [json.loads(line) for line in (setup.root / "good.jsonl").read_text().splitlines()]
    rows[3].update(fields)
    write_jsonl(setup.root / "odd.jsonl", rows)
    return setup.run(predictions="odd.jsonl")


def with_baseline(setup: Setup, change: Callable[[dict[str, Any]], Any]) -> list[str]:
    data = json.loads((setup.root / "baseline.json").read_text())
    changed = change(data)
    text = json.dumps(data if changed is None else changed)
    return setup.run("--baseline", str(setup.file("bad-baseline.json", text)))


def with_config(setup: Setup, text: str) -> list[str]:
    return setup.run(config=setup.file("bad.yaml", text))


def copy_model(setup: Setup, change: Callable[[Path], None]) -> list[str]:
    folder = setup.root / "model"
    shutil.copytree(MODEL, folder)
    change(folder)
    return setup.run("--model", str(folder), predictions="")


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


ALIAS_BOMB = "".join(f"{name}: &{name} [{', '.join(['*' + prev] * 9 if prev else ['lol'] * 9)}]\n"
                     for prev, name in zip(["", *"abcdefgh"], "abcdefghi"))
"""Nine levels of nine aliases each: a few hundred bytes that expand to 387 million strings."""


def adapter_on(folder: Path, base: str) -> None:
    """The folder becomes a LoRA adapter on `base` (its full weights stand in for the adapter's)."""
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base, "peft_type": "LORA"}))
    (folder / "model.safetensors").rename(folder / "adapter_model.safetensors")


def safetensors_header(folder: Path, header: bytes) -> None:
    import struct

    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)


def pickle_adapter(folder: Path) -> None:
    adapter = folder.parent / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(folder),
                                                             "peft_type": "LORA"}))
    (adapter / "adapter_model.bin").write_bytes(b"\x80\x04 a pickle payload")
    (adapter / "unrelated.safetensors").write_bytes((folder / "model.safetensors").read_bytes()[:64])
    shutil.move(str(adapter), str(folder / "adapter"))


# (id, how to build the argv, expected exit code, what the message must name)
CLI_CASES: list[tuple[str, Callable[[Setup], list[str]], int, str]] = [
    # fails open: no gates, empty config, no config
    ("empty config, garbage outputs", lambda s: with_config(s, "") + ["--predictions", str(s.root / "garbage.jsonl")],
     1, "json_valid_rate"),
    ("no --config, garbage outputs", lambda s: [a for a in s.run(predictions="garbage.jsonl")
                                                if a not in ("--config", str(s.root / "config.yaml"))], 1,
     "json_valid_rate"),
    ("no --config, empty objects", lambda s: [a for a in s.run(predictions="empty-objects.jsonl")
                                              if a not in ("--config", str(s.root / "config.yaml"))], 1, "accuracy"),
    ("quality_gates: []", lambda s: with_config(s, "quality_gates: []\n"), 2, "no blocking gate"),
    ("only warning gates", lambda s: with_config(s, GATES.replace("blocking", "warning")), 2, "no blocking gate"),
    ("quality_gates: null", lambda s: with_config(s, "quality_gates:\n"), 2, "'quality_gates' must be a list"),
    # vacuous comparisons
    ("baseline {}", lambda s: with_baseline(s, lambda d: {}), 2, "holds no metric"),
    ("versioned baseline, empty metrics and cases",
     lambda s: with_baseline(s, lambda d: {**d, "metrics": {}, "cases": []}), 2, "nothing could be compared"),
    ("regression metric without judge scores",
     lambda s: with_config(s, f"judge: {{provider: none}}\nregression: {{metrics: [llm_judge_overall]}}\n{GATES}")
     + ["--baseline", str(s.root / "baseline.json")], 1, "llm_judge_overall"),
    ("regression metric without a schema",
     lambda s: with_config(s, f"judge: {{provider: none}}\nregression: {{metrics: [schema_valid_rate]}}\n{GATES}")
     + ["--baseline", str(s.root / "baseline.json")], 1, "schema_valid_rate"),
    # validate agrees with run
    ("judge.provider unknown", lambda s: with_config(s, f"judge: {{provider: anthropic}}\n{GATES}"), 2,
     "judge.provider"),
    ("latency.samples 0", lambda s: with_config(s, f"latency: {{samples: 0}}\n{GATES}"), 2, "latency.samples"),
    ("margin not a number", lambda s: with_config(s, f"regression: {{margins: {{accuracy: high}}}}\n{GATES}"), 2,
     "regression.margins.accuracy"),
    ("positive regression_threshold", lambda s: with_config(s, f"regression_threshold: 0.05\n{GATES}"), 2,
     "regression.threshold"),
    ("schema path missing", lambda s: with_config(s, f"metrics: {{schema: no/such/schema.json}}\n{GATES}"), 2,
     "no/such/schema.json"),
    ("safety suite missing", lambda s: with_config(s, f"safety: {{suite: no/such/suite.jsonl}}\n{GATES}"), 2,
     "no/such/suite.jsonl"),
    ("gate threshold NaN", lambda s: with_config(s, GATES.replace("0.85", ".nan")), 2, "threshold"),
    ("budget Infinity", lambda s: with_config(s, f"judge: {{budget_usd: .inf}}\n{GATES}"), 2, "judge.budget_usd"),
    ("negative price", lambda s: with_config(s, f"cost: {{price_per_million_tokens: -1}}\n{GATES}"), 2,
     "cost.price_per_million_tokens"),
    ("unknown regression metric", lambda s: with_config(s, f"regression: {{metrics: [acuracy]}}\n{GATES}"), 2,
     "did you mean 'accuracy'"),
    ("YAML syntax error", lambda s: with_config(s, "quality_gates: [\n  {name: a\n"), 2, "line"),
    ("Latin-1 config", lambda s: s.run(config=s.file("latin.yaml", "# caf\xe9\n".encode("latin-1") +
                                                     GATES.encode())), 2, "not UTF-8"),
    # baselines
    ("Latin-1 baseline", lambda s: s.run("--baseline", str(s.file("b.json", b'{"accuracy": 0.9, "n\xe9": 1}'))), 2,
     "not UTF-8"),
    ("baseline NaN", lambda s: s.run("--baseline", str(s.file("b.json", '{"accuracy": NaN, "n": 20}'))), 2,
     "NaN"),
    ("baseline Infinity", lambda s: s.run("--baseline", str(s.file("b.json", '{"accuracy": Infinity}'))), 2,
     "Infinity"),
    ("baseline rate above 1", lambda s: s.run("--baseline", str(s.file("b.json", '{"accuracy": 1.5}'))), 2,
     "between 0 and 1"),
    ("versioned baseline value out of range",
     lambda s: with_baseline(s, lambda d: d["metrics"]["accuracy"].update(value=-0.2)), 2, "metrics.accuracy"),
    ("baseline fingerprint null", lambda s: with_baseline(s, lambda d: d.update(fingerprint=None)), 2,
     "'fingerprint'"),
    ("baseline case check not a value",
     lambda s: with_baseline(s, lambda d: d["cases"][0]["checks"].update(accuracy="yes")), 2, "cases[0]"),
    # predictions: trusted numbers
    ("negative completion tokens", lambda s: with_prediction(s, completion_tokens=-1000), 2, "completion_tokens"),
    ("fractional prompt tokens", lambda s: with_prediction(s, prompt_tokens=2.5), 2, "prompt_tokens"),
    ("NaN token count", lambda s: s.run(predictions=s.file("nan.jsonl", (s.root / "good.jsonl").read_text()
                                                           .replace('"}', '", "prompt_tokens": NaN}', 1)).name),
     2, "NaN"),
    ("truncated as a string", lambda s: with_prediction(s, truncated="false"), 2, "truncated"),
    ("latency not a number", lambda s: with_prediction(s, latency_ms="fast"), 2, "latency_ms"),
    ("missing prediction", lambda s: s.run(predictions=s.file("few.jsonl", "\n".join(
        (s.root / "good.jsonl").read_text().splitlines()[:5])).name), 2, "missing prediction"),
    # benchmarks
    ("Latin-1 benchmark", lambda s: s.run() [:2] + [str(s.file("latin.jsonl", b'{"input": "caf\xe9"}\n'))]
     + s.run()[3:], 2, "not UTF-8"),
    ("benchmark expected_output NaN", lambda s: s.run()[:2] + [str(s.file("nan-bench.jsonl",
     '{"id": "a", "input": "x", "expected_output": "{\\"action\\": NaN}"}\n'))] + s.run()[3:], 2, "NaN"),
    ("benchmark id null", lambda s: s.run()[:2] + [str(s.file("null-id.jsonl",
     '{"id": null, "input": "x", "expected_output": {"action": "get_task"}}\n'))] + s.run()[3:], 2, "'id'"),
    # model folders
    ("truncated model.safetensors", lambda s: copy_model(s, lambda f: truncate(f / "model.safetensors")), 2,
     "model.safetensors"),
    ("no tokenizer files", lambda s: copy_model(s, lambda f: [(f / n).unlink() for n in
                                                              ("tokenizer.json", "tokenizer_config.json")]), 2,
     "no tokenizer files"),
    ("pickle adapter next to an unrelated safetensors file",
     lambda s: copy_model(s, pickle_adapter)[:-1] + [str(s.root / "model" / "adapter")], 2, "adapter_model.bin"),
    ("a local-looking model path that does not exist",
     lambda s: s.run("--model", str(s.root / "models" / "task-api"), predictions=""), 2, "not found"),
    # bounded inputs (a pull request controls these files)
    ("YAML duplicate key", lambda s: with_config(s, f"judge: {{provider: none}}\njudge: {{provider: none}}\n{GATES}"),
     2, "duplicate key 'judge' (lines 1 and 2)"),
    ("YAML alias bomb", lambda s: with_config(s, ALIAS_BOMB + GATES), 2, "aliases"),
    ("YAML nested 5,000 deep", lambda s: with_config(s, "x: " + "[" * 5000 + "]" * 5000 + "\n" + GATES), 2,
     "nested deeper than 64"),
    ("gate threshold -1 on a rate", lambda s: with_config(s, GATES.replace("0.85", "-1")), 2, "outside [0, 1]"),
    ("gate threshold 95 on a rate", lambda s: with_config(s, GATES.replace("0.85", "95")), 2, "write 0.95"),
    ("gate threshold 2 on a difference", lambda s: with_config(s, GATES.replace("metric: accuracy",
                                                                                "metric: accuracy_vs_baseline")
                                                             .replace("0.85", "2")), 2, "outside [-1, 1]"),
    ("judge price NaN", lambda s: with_config(s, "judge: {model: m, prices: {m: {input: .nan, output: 1}}}\n"
                                                 + GATES), 2, "judge.prices.m"),
    ("judge price negative", lambda s: with_config(s, "judge: {model: m, prices: {m: {input: -1, output: 1}}}\n"
                                                      + GATES), 2, "finite, non-negative"),
    ("benchmark nested 100,000 deep", lambda s: s.run()[:2] + [str(s.file("deep.jsonl", '{"input": "x", '
     '"expected_output": ' + "[" * 100_000 + "]" * 100_000 + "}\n"))] + s.run()[3:], 2, "nested deeper"),
    ("baseline nested 100,000 deep", lambda s: s.run("--baseline", str(s.file("b.json", '{"accuracy": '
                                                                               + "[" * 100_000 + "]" * 100_000
                                                                               + "}"))), 2, "nested deeper"),
    ("predictions nested 100,000 deep", lambda s: s.run(predictions=s.file(
        "deep-p.jsonl", '{"id": "x", "output": "", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}\n").name), 2,
     "nested deeper"),
    ("baseline metrics disagree with its own cases",
     lambda s: with_baseline(s, lambda d: d["metrics"]["accuracy"].update(value=0.5)), 2, "per-case checks"),
    ("trust_remote_code in the config alone", lambda s: s.run("--model", str(MODEL), predictions="", config=s.file(
        "trc.yaml", f"generation: {{trust_remote_code: true}}\n{GATES}")), 2, "--trust-remote-code"),
    ("adapter base that is no folder here (CI: no hub download)",
     lambda s: copy_model(s, lambda f: adapter_on(f, "models/base")), 2, "not found here"),
    ("safetensors header that is a list", lambda s: copy_model(s, lambda f: safetensors_header(f, b"[1, 2]")), 2,
     "not a safetensors file"),
    ("safetensors offsets that are strings", lambda s: copy_model(s, lambda f: safetensors_header(
        f, b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]}}')), 2, "not a safetensors file"),
    ("shard index whose weight_map is a list", lambda s: copy_model(s, lambda f: (
        (f / "model.safetensors").unlink(), (f / "model.safetensors.index.json").write_text('{"weight_map": [1]}'))),
     2, "not a shard index"),
    # writes
    ("output dir is a file", lambda s: s.run()[:4] + [str(s.file("a-file", "x"))] + s.run()[5:], 2, "a-file"),
    ("output dir under a file", lambda s: s.run()[:4] + [str(s.file("a-file", "x") / "out")] + s.run()[5:], 2,
     "a-file"),
    ("update-baseline is a folder", lambda s: s.run("--update-baseline", str(s.root)), 2, "--update-baseline"),
    ("update-baseline under a file", lambda s: s.run("--update-baseline", str(s.file("f", "x") / "b.json")), 2,
     "--update-baseline"),
]


@pytest.mark.parametrize(("name", "build", "code", "named"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_catalogue(setup: Setup, capsys: pytest.CaptureFixture, name: str,
                       build: Callable[[Setup], list[str]], code: int, named: str) -> None:
    args = build(setup)
    assert main(args) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "taskeval: DEPLOY" not in captured.out
    report_path = setup.root / "out" / "report.json"
    if code == 2:
        assert named in captured.err, captured.err
        assert not report_path.exists()
    else:
        report = json.loads(report_path.read_text())
        assert report["decision"] == "BLOCK"
        assert named in json.dumps(report["gates"]) + json.dumps(report["stages"])


def test_catalogue_is_at_least_forty_entries() -> None:
    assert len(CLI_CASES) + len(ACTION_CASES) + len(FAULTS) >= 40


VALIDATE_CASES = [c for c in CLI_CASES if c[2] == 2 and c[0].startswith((
    "quality_gates", "only warning", "baseline", "versioned baseline", "judge.provider", "latency.samples", "margin",
    "positive regression", "schema path", "safety suite", "gate threshold", "budget", "negative price",
    "unknown regression", "YAML", "Latin-1", "benchmark", "gate threshold", "judge price", "truncated model",
    "no tokenizer", "pickle adapter", "a local-looking", "trust_remote_code", "adapter base", "safetensors",
    "shard index"))]


@pytest.mark.parametrize(("name", "build", "code", "named"), VALIDATE_CASES, ids=[c[0] for c in VALIDATE_CASES])
def test_validate_rejects_what_run_rejects(setup: Setup, capsys: pytest.CaptureFixture, name: str,
                                           build: Callable[[Setup], list[str]], code: int, named: str) -> None:
    args = build(setup)
    validate = ["validate", *[a for flag in ("--config", "--benchmark", "--baseline", "--model") if flag in args
                              for a in (flag, args[args.index(flag) + 1])]]
    assert main(validate) == 2
    assert named in capsys.readouterr().err


# ---- faults during a run ------------------------------------------------------------------------------------------

def disk_full_on_second_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import evaluator.core.files as files

    real = files.os.fdopen
    calls = []

    def fdopen(handle: int, *args: Any, **kwargs: Any) -> Any:
        calls.append(handle)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(handle, *args, **kwargs)

    monkeypatch.setattr(files.os, "fdopen", fdopen)


FAULTS = ("disk fills between the two report files (CLI)", "disk fills between the two report files (Action)",
          "cache disk full", "torn cache line", "unwritable step summary", "judge echoes the API key",
          "judge reports impossible usage", "gold output or criteria changed under a warm verdict cache")
"""The faults tested one by one below."""


def test_a_disk_that_fills_between_report_files_leaves_no_report(setup: Setup, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    (setup.root / "out").mkdir()
    (setup.root / "out" / "report.json").write_text('{"decision": "DEPLOY"}')  # a stale report from before
    disk_full_on_second_file(monkeypatch)
    assert main(setup.run("--update-baseline", str(setup.root / "new-baseline.json"))) == 2
    captured = capsys.readouterr()
    assert "reports could not be written" in captured.err and "Traceback" not in captured.err
    assert "taskeval: DEPLOY" not in captured.out
    assert not list((setup.root / "out").iterdir())  # neither the new nor the stale report, no temporary files
    assert not (setup.root / "new-baseline.json").exists()


def test_a_full_cache_disk_degrades_to_no_cache(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from evaluator.core.records import Generation
    from evaluator.generation.cache import OutputCache

    cache = OutputCache(tmp_path / "cache", {"model": "m"}, SIGNER)
    (tmp_path / "cache" / "outputs").mkdir(parents=True)
    cache.path.mkdir()  # the cache file's place is taken: every write fails
    cache.put_many([(request("an input"), Generation("{}", False))])
    assert cache.warning is not None and "cannot be written" in cache.warning
    assert cache.get(request("an input")) is not None  # this run still has it
    assert "warning" in capsys.readouterr().err


def test_a_torn_cache_line_costs_only_itself(tmp_path: Path) -> None:
    from evaluator.core.records import Generation
    from evaluator.generation.cache import OutputCache

    cache = OutputCache(tmp_path, {"model": "m"}, SIGNER)
    cache.put_many([(request("one"), Generation("{}", False))])
    with cache.path.open("a") as handle:
        handle.write('{"input": "torn')  # a run killed mid-line
    OutputCache(tmp_path, {"model": "m"}, SIGNER).put_many([(request("two"), Generation("{}", False))])
    again = OutputCache(tmp_path, {"model": "m"}, SIGNER)
    assert again.get(request("one")) is not None and again.get(request("two")) is not None


# ---- the Action ---------------------------------------------------------------------------------------------------

def action_env(setup: Setup, **inputs: str) -> dict[str, str]:
    values = {"model": "", "benchmark": str(setup.bench), "predictions": str(setup.root / "good.jsonl"),
              "config": str(setup.root / "config.yaml"), "output-dir": str(setup.root / "action-out"),
              "github-token": "", **inputs}
    event = setup.file("event.json", json.dumps({"repository": {"default_branch": "main"}}))
    return {**{f"INPUT_{k.upper()}": v for k, v in values.items()}, "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(event), "GITHUB_WORKSPACE": str(setup.root),
            "GITHUB_OUTPUT": str(setup.root / "output.txt"), "GITHUB_STEP_SUMMARY": str(setup.root / "summary.md")}


def outputs(setup: Setup) -> dict[str, str]:
    from tests.test_entrypoint import outputs_of

    return outputs_of(setup.root / "output.txt")


ACTION_CASES: list[tuple[str, Callable[[Setup, dict[str, str]], None], str]] = [
    ("event file is not JSON", lambda s, env: s.file("event.json", "{oops"), "event file"),
    ("event file is a JSON array", lambda s, env: s.file("event.json", "[1, 2]"), "event file"),
    ("output-dir is a file", lambda s, env: env.update({"INPUT_OUTPUT-DIR": str(s.file("taken", "x"))}), "taken"),
    ("publish without a report", lambda s, env: env.update(INPUT_MODE="publish"), "report not found"),
    ("publish a corrupt report", lambda s, env: (
        env.update(INPUT_MODE="publish"), (s.root / "action-out").mkdir(),
        s.file("action-out/report.json", '{"decision": "DEP'), s.file("action-out/report.md", "x")),
     "not valid JSON"),
    ("publish a report with a made-up decision", lambda s, env: (
        env.update(INPUT_MODE="publish"), (s.root / "action-out").mkdir(),
        s.file("action-out/report.json", '{"decision": "SHIP IT"}'), s.file("action-out/report.md", "x")),
     "not a taskeval report"),
    ("pr-number abc", lambda s, env: env.update(INPUT_PR_NUMBER="abc"), "pr-number"),
    ("pr-number -7", lambda s, env: env.update(INPUT_PR_NUMBER="-7"), "pr-number"),
    ("pr-number ² (a digit to Python, not a number)", lambda s, env: env.update(INPUT_PR_NUMBER="²"), "pr-number"),
    ("event's pull_request is a string", lambda s, env: s.file("event.json", '{"pull_request": "7"}'),
     "'pull_request' is str"),
    ("event's workflow_run.pull_requests is an object", lambda s, env: s.file(
        "event.json", '{"workflow_run": {"pull_requests": {"number": 7}}}'), "workflow_run.pull_requests"),
    ("bad config through the Action",
     lambda s, env: env.update(INPUT_CONFIG=str(s.file("e.yaml", "quality_gates: []"))), "no blocking gate"),
    ("unknown mode", lambda s, env: env.update(INPUT_MODE="deploy"), "input 'mode'"),
]


@pytest.mark.parametrize(("name", "change", "named"), ACTION_CASES, ids=[c[0] for c in ACTION_CASES])
def test_action_catalogue(setup: Setup, capsys: pytest.CaptureFixture, name: str,
                          change: Callable[[Setup, dict[str, str]], None], named: str) -> None:
    env = action_env(setup)
    change(setup, env)
    assert entrypoint.main(env) == 2
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert outputs(setup)["decision"] == "ERROR" and outputs(setup)["deploy-allowed"] == "false"
    assert "::error::" in printed.out and named in printed.out
    assert "taskeval: ERROR" in (setup.root / "summary.md").read_text()
    report = setup.root / "action-out" / "report.json"
    assert not report.exists() or json.loads(report.read_text() or "{}").get("decision") != "DEPLOY"


def test_an_unwritable_step_summary_is_a_warning_and_the_decision_still_reaches_the_outputs(
        setup: Setup, capsys: pytest.CaptureFixture) -> None:
    env = action_env(setup, predictions=str(setup.root / "empty-objects.jsonl"))
    (setup.root / "summary.md").mkdir()  # a step summary that cannot be written
    assert entrypoint.main(env) == 1
    printed = capsys.readouterr().out
    assert "::warning::could not write the step summary" in printed and "Traceback" not in printed
    assert outputs(setup)["decision"] == "BLOCK"


def test_no_token_is_said_out_loud(setup: Setup, capsys: pytest.CaptureFixture) -> None:
    assert entrypoint.main(action_env(setup)) == 0
    assert "::warning::no github-token" in capsys.readouterr().out


def test_an_action_that_cannot_write_its_reports_says_error_everywhere(
        setup: Setup, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    disk_full_on_second_file(monkeypatch)
    assert entrypoint.main(action_env(setup)) == 2
    assert outputs(setup)["decision"] == "ERROR"
    assert "reports could not be written" in capsys.readouterr().out
    report = json.loads((setup.root / "action-out" / "report.json").read_text())  # the ERROR report, written after
    assert report["decision"] == "ERROR"


# ---- secrets and outside text -------------------------------------------------------------------------------------

def test_a_judge_that_echoes_the_key_never_puts_it_in_a_report(setup: Setup, capsys: pytest.CaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fake_openai import Reply, fake_openai

    key = "sk-live-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    forget_secrets()
    message = "Incorrect API key: {authorization}. # Heading <img src=x> @octocat [click](https://evil.example)"
    with fake_openai(lambda body, index: Reply(status=401, error_message=message)) as server:
        gates = GATES.replace("metric: accuracy", "metric: llm_judge_overall")
        config = setup.file("judge.yaml", f"judge: {{base_url: '{server.base_url}', min_samples: 3, "
                                          f"max_attempts: 1}}\n{gates}")
        assert main(setup.run(config=config)) == 1  # the judge gate is not evaluated: BLOCK
    printed = capsys.readouterr()
    written = "".join(p.read_text() for p in (setup.root / "out").iterdir()) + printed.out + printed.err
    assert key not in written and "***" in written
    markdown = (setup.root / "out" / "report.md").read_text()
    assert not re.search(r"(^|[^\\])# Heading", markdown, re.MULTILINE)  # only as an escaped, literal #
    assert "<img" not in markdown and "@octocat" not in markdown
    assert "](https://evil" not in markdown


def test_a_judge_reporting_impossible_usage_cannot_pass_the_budget(tmp_path: Path) -> None:
    from evaluator.inputs.config import JudgeConfig
    from evaluator.stages.judge import run_judge
    from tests.fake_openai import Reply, fake_openai
    from tests.test_judge import GOOD, shipped_results

    with fake_openai(lambda body, index: Reply(content=GOOD, prompt_tokens=10**9, completion_tokens=10**9)) as server:
        judged = run_judge(shipped_results(), JudgeConfig(base_url=server.base_url, budget_usd=2.0, timeout_s=5),
                           seed=0, cache_dir=None)
    assert judged.stage.details.spent_usd <= 2.0
    assert judged.stage.metrics["judge_cost_usd"].value < 0.05
    assert any("impossible" in note for note in judged.stage.details.notes)


def test_judge_verdicts_are_judged_again_when_the_gold_output_or_criteria_change(tmp_path: Path) -> None:
    from dataclasses import replace

    from evaluator.inputs.config import JudgeConfig
    from evaluator.stages.judge import run_judge
    from tests.fake_openai import Reply, fake_openai
    from tests.test_judge import GOOD, shipped_results

    results = shipped_results()[:20]
    with fake_openai(lambda body, index: Reply(content=GOOD)) as server:
        settings = JudgeConfig(base_url=server.base_url, timeout_s=5)
        run_judge(results, settings, seed=0, cache_dir=tmp_path, signer=SIGNER)
        calls = len(server.requests)
        run_judge(results, settings, seed=0, cache_dir=tmp_path, signer=SIGNER)
        assert len(server.requests) == calls  # unchanged: all cached
        changed = [replace(r, expected='{"action":"delete_task","task_id":1}') for r in results]
        run_judge(changed, settings, seed=0, cache_dir=tmp_path, signer=SIGNER)
        assert len(server.requests) == 2 * calls  # the gold output changed: judged again
    reply = json.dumps({"reasoning": "ok", "scores": {"accuracy": 5, "helpfulness": 5}})
    with fake_openai(lambda body, index: Reply(content=reply)) as server:
        two = replace(settings, base_url=server.base_url, criteria=["accuracy", "helpfulness"])
        # a warm cache of three-criterion verdicts
        judged = run_judge(results, two, seed=0, cache_dir=tmp_path, signer=SIGNER)
        assert len(server.requests) == calls  # other criteria: judged again, no KeyError
    assert judged.stage.status == "passed"
    assert set(next(iter(judged.scores.values()))) == {"accuracy", "helpfulness", "overall"}


def test_report_json_is_strict_json(setup: Setup) -> None:
    assert main(setup.run()) == 0
    text = (setup.root / "out" / "report.json").read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in report.json"))


FIRST_HOUR = [  # (a mistake of a user's first hour, the config or benchmark text, the fix the message must give)
    ("a quoted threshold", GATES.replace("0.85", "'0.85'"), "without quotes or %: threshold: 0.85"),
    ("a threshold in percent", GATES.replace("0.85", "85%"), "without quotes or %: threshold: 0.85"),
    ("gte", GATES.replace("'>='", "gte"), "did you mean '>='?"),
    ("=>", GATES.replace("'>='", "'=>'"), "did you mean '>='?"),
    ("le", GATES.replace("'>='", "le"), "did you mean '<='?"),
]


@pytest.mark.parametrize(("name", "text", "fix"), FIRST_HOUR, ids=[c[0] for c in FIRST_HOUR])
def test_first_hour_mistakes_come_with_their_fix(setup: Setup, capsys: pytest.CaptureFixture, name: str, text: str,
                                                 fix: str) -> None:
    assert main(["validate", "--config", str(setup.file("first.yaml", text))]) == 2
    assert fix in capsys.readouterr().err


@pytest.mark.parametrize("key", ["expected", "output", "answer"])
def test_a_benchmark_case_with_a_near_key_names_it(setup: Setup, capsys: pytest.CaptureFixture, key: str) -> None:
    bench = setup.file("near.jsonl", json.dumps({"input": "x", key: {"action": "get_task"}}) + "\n")
    assert main(["validate", "--config", str(setup.root / "config.yaml"), "--benchmark", str(bench)]) == 2
    assert f"(found '{key}')" in (err := capsys.readouterr().err) and "did you mean 'expected_output'?" in err


def test_a_failed_warning_gate_is_warn_not_fail(setup: Setup, capsys: pytest.CaptureFixture) -> None:
    warning = GATES + "  - {name: target, metric: accuracy, threshold: 0.99, comparison: '>=', gate_type: warning}\n"
    assert main(setup.run(predictions="empty-objects.jsonl", config=setup.file("w.yaml", warning))) == 1
    lines = {line.split()[1]: line.split()[0] for line in capsys.readouterr().out.splitlines()
             if line.startswith("  ") and len(line.split()) > 2 and line.split()[0] in ("PASS", "FAIL", "WARN")}
    assert lines == {"accuracy": "FAIL", "target": "WARN"}


def test_the_action_validates_inputs_and_model_in_seconds(setup: Setup, capsys: pytest.CaptureFixture) -> None:
    assert entrypoint.main(action_env(setup, mode="validate", model=str(MODEL), predictions="")) == 0
    printed = capsys.readouterr().out
    assert "taskeval: inputs valid" in printed and "a full model" in outputs(setup)["summary"]
    assert "::warning::" not in printed  # validate posts nothing, so a missing token is nothing to warn about
    typo = str(MODEL.parent / "tiny-v3")
    assert entrypoint.main(action_env(setup, mode="validate", model=typo, predictions="")) == 2
    printed = capsys.readouterr().out
    assert "::error::" in printed and "did you mean" in printed and outputs(setup)["decision"] == "ERROR"
