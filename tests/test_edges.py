"""The edges of the gate, fault by fault (docs/security.md): where it meets GitHub, its own cache, secrets, a fork's
artifact and bounded inputs. Each table below is one kind of edge; each row one fault and what must happen. The bad
inputs of the command line are rows of tests/test_fail_closed.py's catalogue.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import evaluator.action.main as entrypoint
from evaluator.cli import main as cli
from evaluator.core.cache_signing import CacheSigner, cache_signer
from evaluator.core.errors import TaskevalError
from evaluator.core.records import Generation
from evaluator.core.redaction import forget_secrets, redact, register_secret
from evaluator.generation.cache import OutputCache
from tests.fake_github import REPO, GitHubState, fake_github
from tests.fake_openai import Reply, fake_openai
from tests.helpers import ROOT, SIGNER, TINY_MODELS, benchmark_rows, request, write_jsonl
from tests.test_entrypoint import outputs_of

HEAD = "c0ffee" * 6 + "abcd"
TOKEN = "ghs_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
"""A realistic 40-character installation token."""
KEY = "sk-proj-" + ("Xy7_Qw3-Lm9Zt2Vb8Nc4Rd6Pk1Hs5Jg0Fa" * 5)[:156]
"""A realistic 164-character OpenAI project key."""
GATES = ("quality_gates:\n  - {name: accuracy, metric: accuracy, threshold: 0.85, comparison: '>=', "
         "gate_type: blocking}\n")


@pytest.fixture(autouse=True)
def _no_secrets_between_tests() -> None:
    forget_secrets()


@dataclass
class Workspace:
    """20 cases; `good` outputs (all right, the baseline's), `worse` (3 wrong: passes the 0.85 gate, but 15 points
    below production) and a baseline made from `good`."""

    root: Path

    def file(self, name: str, text: str | bytes) -> Path:
        path = self.root / name
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text, encoding="utf-8")
        return path

    @property
    def baseline(self) -> bytes:
        return (self.root / "baseline.json").read_bytes()


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    rows = benchmark_rows(20)
    write_jsonl(tmp_path / "bench.jsonl", rows)
    write_jsonl(tmp_path / "good.jsonl", [{"id": r["id"], "output": r["expected_output"]} for r in rows])
    write_jsonl(tmp_path / "worse.jsonl", [{"id": r["id"], "output": "{}" if i < 3 else r["expected_output"]}
                                           for i, r in enumerate(rows)])
    (tmp_path / "config.yaml").write_text(f"judge: {{provider: none}}\n{GATES}")
    assert cli(["run", "--benchmark", str(tmp_path / "bench.jsonl"), "--predictions", str(tmp_path / "good.jsonl"),
                "--config", str(tmp_path / "config.yaml"), "--output-dir", str(tmp_path / "seed"), "--quiet",
                "--no-cache", "--update-baseline", str(tmp_path / "baseline.json")]) == 0
    return Workspace(tmp_path)


@dataclass
class Ran:
    code: int
    printed: str
    outputs: dict[str, str]
    summary: str
    report: dict[str, Any]


def action(ws: Workspace, state: GitHubState, capsys: pytest.CaptureFixture, *, event: str = "pull_request",
           ref: str = "refs/pull/7/merge", payload: dict[str, Any] | None = None, **inputs: str) -> Ran:
    """entrypoint.main in this process, against the GitHub stand-in."""
    event_payload = payload or {"repository": {"default_branch": "main", "full_name": REPO}}
    if event == "pull_request" and payload is None:
        event_payload["pull_request"] = {"number": 7, "head": {"sha": HEAD}}
    ws.file("event.json", json.dumps(event_payload))
    for name in ("output.txt", "summary.md"):
        if (ws.root / name).is_file():
            (ws.root / name).unlink()
    values = {"model": "", "benchmark": str(ws.root / "bench.jsonl"), "predictions": str(ws.root / "worse.jsonl"),
              "config": str(ws.root / "config.yaml"), "output-dir": str(ws.root / "out"), "github-token": TOKEN,
              **inputs}
    env = {**{f"INPUT_{k.upper()}": v for k, v in values.items()}, "GITHUB_API_URL": state.base,
           "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(ws.root / "event.json"),
           "GITHUB_REF": ref, "GITHUB_SHA": "0" * 40, "GITHUB_WORKSPACE": str(ws.root),
           "GITHUB_OUTPUT": str(ws.root / "output.txt"), "GITHUB_STEP_SUMMARY": str(ws.root / "summary.md")}
    capsys.readouterr()
    code = entrypoint.main(env)
    captured = capsys.readouterr()
    report_path = ws.root / "out" / "report.json"
    summary = ws.root / "summary.md"
    outputs = ws.root / "output.txt"
    return Ran(code, captured.out + captured.err, outputs_of(outputs) if outputs.is_file() else {},
               summary.read_text() if summary.is_file() else "",
               json.loads(report_path.read_text()) if report_path.is_file() else {})


# ---- 1. GitHub faults: an external fault never changes the decision ------------------------------------------------

def _release(state: GitHubState, ws: Workspace, data: bytes | None = None) -> None:
    state.add_release("taskeval-baseline", {"baseline.json": ws.baseline if data is None else data})


def _edited(ws: Workspace) -> bytes:
    data = json.loads(ws.baseline)
    data["metrics"]["accuracy"]["value"] = 0.5  # its own per-case checks say 1.0
    return json.dumps(data).encode()


# (fault, how to set it up, expected decision, the text that must be printed)
GITHUB_FAULTS: list[tuple[str, Callable[[GitHubState, Workspace], None], str, str]] = [
    ("nothing wrong: the comparison runs and blocks the worse model", lambda s, w: _release(s, w), "BLOCK",
     "regression"),
    ("no release yet (the first run): the only case that skips", lambda s, w: None, "DEPLOY", "No baseline yet"),
    ("release lookup answers 500 after the retries",
     lambda s, w: (_release(s, w), s.faults.update(get_release=[500])), "ERROR", "HTTP 500"),
    ("release lookup answers 502 once, then works (retried with backoff)",
     lambda s, w: (_release(s, w), s.faults.update(get_release=[502, 200])), "BLOCK", "regression"),
    ("release lookup answers 403", lambda s, w: (_release(s, w), s.faults.update(get_release=[403])), "ERROR",
     "HTTP 403"),
    ("release lookup answers 401", lambda s, w: (_release(s, w), s.faults.update(get_release=[401])), "ERROR",
     "HTTP 401"),
    ("asset listing answers 503", lambda s, w: (_release(s, w), s.faults.update(list_assets=[503])), "ERROR",
     "HTTP 503"),
    ("asset download answers 500", lambda s, w: (_release(s, w), s.faults.update(get_asset=[500])), "ERROR",
     "HTTP 500"),
    ("asset download answers 403", lambda s, w: (_release(s, w), s.faults.update(get_asset=[403])), "ERROR",
     "HTTP 403"),
    ("asset download gets no answer (reset, time-out)",
     lambda s, w: (_release(s, w), s.faults.update(get_asset=[0])), "ERROR", "no answer"),
    ("the release exists, its asset does not", lambda s, w: s.add_release("taskeval-baseline"), "ERROR",
     "has no asset 'baseline.json'"),
    ("the asset is not a baseline", lambda s, w: _release(s, w, b"<html>rate limited</html>"), "ERROR",
     "not valid JSON"),
    ("the asset's metrics disagree with its own cases", lambda s, w: _release(s, w, _edited(w)), "ERROR",
     "per-case checks"),
    ("no release, and the repository cannot be seen either",
     lambda s, w: s.faults.update(get_repo=[404]), "ERROR", "HTTP 404"),
    ("the comment fails: a warning, the decision stands",
     lambda s, w: (_release(s, w), s.faults.update(create_comment=[500])), "BLOCK", "could not post the pull"),
    ("the check run is refused: a warning, the decision stands",
     lambda s, w: (_release(s, w), s.faults.update(create_check_run=[403])), "BLOCK", "could not create the check"),
]


@pytest.mark.parametrize(("name", "setup", "decision", "printed"), GITHUB_FAULTS, ids=[f[0] for f in GITHUB_FAULTS])
def test_github_faults(ws: Workspace, capsys: pytest.CaptureFixture, name: str,
                       setup: Callable[[GitHubState, Workspace], None], decision: str, printed: str) -> None:
    with fake_github() as state:
        setup(state, ws)
        ran = action(ws, state, capsys)
    assert ran.outputs["decision"] == decision and ran.report["decision"] == decision, ran.printed
    assert ran.code == {"DEPLOY": 0, "BLOCK": 1, "ERROR": 2}[decision]
    assert printed in ran.printed and "Traceback" not in ran.printed
    if decision == "ERROR":
        assert "::error::" in ran.printed and "**Fix:**" in ran.summary
        assert all(run["conclusion"] == "failure" for run in state.check_runs)  # posted as ERROR, never a verdict
        assert all("taskeval: ERROR" in comment["body"] for comment in state.comments.values())


# ---- 2. Local sinks first: nothing is published until they all succeeded -------------------------------------------

class BrokenStdout:
    """A job log whose reader went away."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("fault", ["GITHUB_OUTPUT cannot be written", "stdout is broken"])
def test_a_failed_local_sink_publishes_nothing_and_says_error_everywhere(
        ws: Workspace, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    with fake_github() as state:
        _release(state, ws, b'{"accuracy": 0.5, "n": 20}')
        old = dict(state.release_assets("taskeval-baseline"))
        if fault.startswith("GITHUB_OUTPUT"):
            (ws.root / "output.txt").mkdir()
        else:
            monkeypatch.setattr(sys, "stdout", BrokenStdout())
        ran = action(ws, state, capsys, event="push", ref="refs/heads/main", predictions=str(ws.root / "good.jsonl"))
        assert state.release_assets("taskeval-baseline") == old  # the baseline release is not replaced
        assert not any(run["conclusion"] == "success" for run in state.check_runs) and not state.comments
    assert ran.code == 2 and ran.report["decision"] == "ERROR"
    assert ran.outputs.get("decision", "ERROR") == "ERROR"  # no output at all where GITHUB_OUTPUT is unwritable


def test_update_baseline_on_the_command_line_is_written_after_the_reports(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import evaluator.core.files as files

    order: list[str] = []
    real = files.os.replace
    monkeypatch.setattr(files.os, "replace", lambda a, b: (order.append(Path(b).name), real(a, b))[1])
    assert cli(["run", "--benchmark", str(ws.root / "bench.jsonl"), "--predictions", str(ws.root / "good.jsonl"),
                "--config", str(ws.root / "config.yaml"), "--output-dir", str(ws.root / "o"), "--quiet",
                "--no-cache", "--update-baseline", str(ws.root / "new.json")]) == 0
    assert order == ["report.md", "report.html", "report.json", "new.json"]


# ---- 3. Publish mode trusts nothing it reads -----------------------------------------------------------------------

def _evaluated(ws: Workspace, state: GitHubState, capsys: pytest.CaptureFixture, predictions: str = "good.jsonl"
               ) -> dict[str, Any]:
    ran = action(ws, state, capsys, mode="evaluate", predictions=str(ws.root / predictions), **{"github-token": ""})
    assert ran.code in (0, 1) and ran.report["fingerprint"]["source"]["commit"] == HEAD
    return ran.report


def _tamper(change: Callable[[dict[str, Any]], None]) -> Callable[[Workspace, dict[str, Any]], None]:
    def apply(ws: Workspace, report: dict[str, Any]) -> None:
        change(report)
        ws.file("out/report.json", json.dumps(report))
    return apply


def _workflow_run(pull_requests: list[dict[str, Any]] | None = None, head: str = HEAD) -> dict[str, Any]:
    return {"repository": {"default_branch": "main", "full_name": REPO},
            "workflow_run": {"head_sha": head, "pull_requests": pull_requests or [], "event": "pull_request",
                             "html_url": "https://github.example/acme/models/actions/runs/9"}}


# (case, how the artifact or the event is changed, expected decision, text)
PUBLISH_CASES: list[tuple[str, Callable[[Workspace, dict[str, Any]], None], dict[str, Any], str, str]] = [
    ("the report as evaluated (a fork's pull request: workflow_run lists none)", lambda w, r: None, {}, "DEPLOY",
     "comment:"),
    ("DEPLOY claimed while a blocking gate failed",
     _tamper(lambda r: r["gates"][0].update(passed=False)), {}, "ERROR", "its gates say BLOCK"),
    ("no blocking gate", _tamper(lambda r: r["gates"][0].update(gate_type="warning")), {}, "ERROR",
     "no blocking gate"),
    ("a gate's 'passed' is a string", _tamper(lambda r: r["gates"][0].update(passed="yes")), {}, "ERROR",
     "gates[0].passed"),
    ("the report is of another commit", _tamper(lambda r: r["fingerprint"]["source"].update(commit="1" * 40)),
     {}, "ERROR", "stale"),
    ("pr-number names another pull request", lambda w, r: None, {"pr-number": "8"}, "ERROR", "input 'pr-number'"),
    ("report.md carries HTML and @-mentions (never posted)",
     lambda w, r: w.file("out/report.md", "## ✅ DEPLOY <img src=x onerror=alert(1)> @octocat @acme/admins"), {},
     "DEPLOY", "comment:"),
]


@pytest.mark.parametrize(("name", "change", "inputs", "decision", "printed"), PUBLISH_CASES,
                         ids=[c[0] for c in PUBLISH_CASES])
def test_publish_mode(ws: Workspace, capsys: pytest.CaptureFixture, name: str,
                      change: Callable[[Workspace, dict[str, Any]], None], inputs: dict[str, str], decision: str,
                      printed: str) -> None:
    with fake_github() as state:
        state.head_sha = HEAD
        report = _evaluated(ws, state, capsys)
        change(ws, report)
        ran = action(ws, state, capsys, event="workflow_run", ref="refs/heads/main", payload=_workflow_run(),
                     mode="publish", benchmark="", predictions="", **inputs)
    assert ran.outputs["decision"] == decision and printed in ran.printed, ran.printed
    assert "Traceback" not in ran.printed
    if decision == "ERROR":
        assert ran.code == 2 and not state.comments and not state.check_runs
    else:
        (comment,) = state.comments.values()
        assert comment["issue_number"] == 7 and state.check_runs[0]["head_sha"] == HEAD
        assert "<img" not in comment["body"] and "@octocat" not in comment["body"]
        assert "## ✅ taskeval: DEPLOY" in comment["body"] and "evaluation run" in comment["body"]


def test_publish_goes_only_to_the_pull_request_the_workflow_run_names(ws: Workspace,
                                                                      capsys: pytest.CaptureFixture) -> None:
    with fake_github() as state:
        state.head_sha, state.open_pulls = HEAD, [7, 9]
        _evaluated(ws, state, capsys)
        listed = _workflow_run([{"number": 9, "head": {"sha": HEAD}}])
        ran = action(ws, state, capsys, event="workflow_run", ref="refs/heads/main", payload=listed, mode="publish",
                     benchmark="", predictions="")
        assert ran.code == 0 and [c["issue_number"] for c in state.comments.values()] == [9]


# ---- 4. Secrets: redacted from the raw text at every sink ----------------------------------------------------------

def _judge_and_served(body: dict[str, Any], index: int) -> Reply:
    if body.get("model") == "served":  # a served model that repeats a key it saw somewhere
        return Reply(content=f'{{"action":"create_task","title":"use {KEY} and {TOKEN}"}}')
    return Reply(content=json.dumps({"reasoning": f"The output leaks {KEY} and {TOKEN}.",
                                     "scores": {"accuracy": 1, "helpfulness": 1, "format_quality": 1}}))


def test_a_real_key_and_token_reach_no_sink(ws: Workspace, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with fake_openai(_judge_and_served) as server, fake_github() as state:
        ws.file("secrets.yaml", f"generation: {{backend: openai, base_url: '{server.base_url}'}}\n"
                                f"judge: {{provider: openai, base_url: '{server.base_url}', model: judge, "
                                f"min_samples: 5, prices: {{judge: {{input: 0, output: 0}}}}}}\n{GATES}")
        state.faults["create_comment"] = [422]  # GitHub's error body echoes the token
        ran = action(ws, state, capsys, model="served", predictions="", config=str(ws.root / "secrets.yaml"),
                     baseline=str(ws.root / "baseline.json"), **{"openai-api-key": KEY})
        posted = json.dumps(state.check_runs) + json.dumps(list(state.comments.values()))
    assert ran.code == 1 and ran.outputs["decision"] == "BLOCK"
    log = "\n".join(line for line in ran.printed.splitlines() if not line.startswith("::add-mask::"))
    sinks = {"the log (but ::add-mask::, which tells the runner what to hide)": log,
             "report.json": json.dumps(ran.report),
             "report.md": (ws.root / "out" / "report.md").read_text(), "step summary": ran.summary,
             "outputs": json.dumps(ran.outputs), "check run and comment": posted}
    assert "could not post the pull-request comment (HTTP 422)" in ran.printed
    assert "The output leaks \\*\\*\\*" in sinks["report.md"]  # redacted first, then escaped
    for sink, text in sinks.items():
        for secret in (KEY, TOKEN):
            for fragment in (secret[:16], secret[-16:], secret[60:76] if len(secret) > 76 else secret[4:20]):
                assert fragment not in text, f"{sink} carries part of a secret"
                assert fragment.replace("-", "\\-").replace("_", "\\_") not in text, f"{sink}: escaped secret"


@pytest.mark.parametrize(("text", "masked"), [
    (f"Incorrect API key provided: {KEY[:149]}…", True),  # a server's 401 cuts the key
    (f"key ends …{KEY[-40:]}", True),
    ("Authorization: Bearer abcdefghijklmnop", True),
    ('{"headers": {"Authorization": "token ghp_0123456789abcdefABCDEF"}}', True),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", True),
    ("judge.provider is none", False),
    ("the accuracy gate passed", False),
])
def test_redaction_covers_cut_values_and_secret_shapes(text: str, masked: bool) -> None:
    register_secret(KEY)
    assert ("***" in redact(text)) is masked
    assert KEY[:20] not in redact(text) and "0123456789abcdefABCDEF" not in redact(text)


def test_a_stand_in_key_is_not_a_secret_and_the_report_says_so(ws: Workspace, capsys: pytest.CaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    monkeypatch.setenv("SOME_TOKEN", "dummy")
    with fake_openai(lambda body, index: Reply(status=500)) as server:
        ws.file("judge.yaml", f"judge: {{provider: openai, base_url: '{server.base_url}', model: judge, "
                              f"max_attempts: 1, prices: {{judge: {{input: 0, output: 0}}}}}}\n{GATES}")
        assert cli(["run", "--benchmark", str(ws.root / "bench.jsonl"), "--predictions",
                    str(ws.root / "good.jsonl"), "--config", str(ws.root / "judge.yaml"), "--output-dir",
                    str(ws.root / "o"), "--quiet", "--no-cache"]) == 0
    report = json.loads((ws.root / "o" / "report.json").read_text())
    assert any("looks like a stand-in" in w for w in report["warnings"])
    assert "***" not in json.dumps(report) and "judge.provider" not in "".join(report["warnings"])


# ---- 5. The output cache cannot lie --------------------------------------------------------------------------------

def _cache_rows(tmp_path: Path) -> OutputCache:
    cache = OutputCache(tmp_path, {"model": "m"}, SIGNER)
    cache.put_many([(request(f"input {i}"), Generation(f'{{"action":"get_task","task_id":{i}}}', False, 5, 9, 12.5))
                    for i in range(4)])
    return cache


def _rewrite(change: Callable[[list[str]], list[str]]) -> Callable[[OutputCache], None]:
    def apply(cache: OutputCache) -> None:
        lines = cache.path.read_text(encoding="utf-8").splitlines()
        cache.path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")
    return apply


def _field(index: int, **values: Any) -> Callable[[list[str]], list[str]]:
    def change(lines: list[str]) -> list[str]:
        row = json.loads(lines[index])
        row.update(values)
        return [*lines[:index], json.dumps(row), *lines[index + 1:]]
    return change


# (fault, what is done to a cache of four signed rows, rows rejected, of the four rows: how many are still used)
CACHE_FAULTS: list[tuple[str, Callable[[OutputCache], None], int, int]] = [
    ("untouched", lambda c: None, 0, 4),
    ("an output edited to the right answer", _rewrite(_field(1, output='{"action":"refuse"}')), 1, 3),
    ("an output of the wrong type", _rewrite(_field(2, output=123)), 1, 3),
    ("a token count that is a bool", _rewrite(_field(0, prompt_tokens=True)), 1, 3),
    ("a negative latency", _rewrite(_field(0, latency_ms=-1.0)), 1, 3),
    ("a signature removed", _rewrite(_field(3, mac=None)), 1, 3),
    ("a row moved to another input", _rewrite(_field(1, input="0" * 64)), 1, 3),
    ("half a UTF-8 character at the end (a kill during a non-ASCII append)",
     lambda c: c.path.open("ab").write(b'{"input": "caf\xc3'), 1, 4),
    ("a line that is not JSON", lambda c: c.path.open("a").write("not json\n"), 1, 4),
    ("every row signed with another key",
     lambda c: c.path.write_text("".join(_resigned(c, CacheSigner(b"someone else's key!", "x")))), 4, 0),
]


def _resigned(cache: OutputCache, signer: CacheSigner) -> list[str]:
    other = OutputCache(cache.path.parent.parent / "other", cache.key, signer)
    other.put_many([(request(f"input {i}"), Generation("{}", False)) for i in range(4)])
    return other.path.read_text().splitlines(keepends=True)


@pytest.mark.parametrize(("name", "fault", "rejected", "used"), CACHE_FAULTS, ids=[f[0] for f in CACHE_FAULTS])
def test_cache_rows_that_fail_their_check_are_generated_again(tmp_path: Path, name: str,
                                                              fault: Callable[[OutputCache], None],
                                                              rejected: int, used: int) -> None:
    fault(_cache_rows(tmp_path))
    again = OutputCache(tmp_path, {"model": "m"}, SIGNER)
    assert again.rejected == rejected
    kept = [again.get(request(f"input {i}")) for i in range(4)]
    assert sum(1 for g in kept if g is not None) == used  # only the bad row is lost
    assert all(g.output.startswith('{"action":"get_task"') for g in kept if g is not None)  # no forged row is used
    assert (again.note is not None) is bool(rejected)


def test_forged_cache_rows_cannot_pass_a_broken_model(tmp_path: Path) -> None:
    """The issue's figure: a model whose weights are NaN emits nothing; cached outputs edited to the right answers
    made it DEPLOY at accuracy 1.000. Now every forged row fails its check and the model is run again."""
    from safetensors.torch import load_file, save_file

    model = tmp_path / "nan-model"
    shutil.copytree(TINY_MODELS / "tiny-v2", model)
    weights = load_file(model / "model.safetensors")
    save_file({name: tensor.float().fill_(float("nan")).to(tensor.dtype) if tensor.is_floating_point() else tensor
               for name, tensor in weights.items()}, model / "model.safetensors", metadata={"format": "pt"})
    rows = benchmark_rows(12)
    write_jsonl(tmp_path / "bench.jsonl", rows)
    config = tmp_path / "c.yaml"
    config.write_text(f"judge: {{provider: none}}\ngeneration: {{cache_dir: '{tmp_path / 'cache'}', "
                      f"max_new_tokens: 8}}\n{GATES}")
    args = ["run", "--model", str(model), "--benchmark", str(tmp_path / "bench.jsonl"), "--config", str(config),
            "--quiet", "--output-dir"]
    assert cli([*args, str(tmp_path / "first")]) == 1
    (cache_file,) = (tmp_path / "cache" / "outputs").iterdir()
    by_digest = {OutputCache.input_key(request(r["input"])): json.dumps(r["expected_output"], separators=(",", ":"))
                 if isinstance(r["expected_output"], dict) else r["expected_output"] for r in rows}
    forged = [{**json.loads(line), "output": by_digest[json.loads(line)["input"]]}
              for line in cache_file.read_text().splitlines()]
    cache_file.write_text("".join(json.dumps(row) + "\n" for row in forged))
    assert cli([*args, str(tmp_path / "second")]) == 1
    report = json.loads((tmp_path / "second" / "report.json").read_text())
    assert report["metrics"]["accuracy"]["value"] < 0.5
    assert any("failed their check" in w for w in report["warnings"])


def test_the_cache_key_lives_outside_the_workspace_with_mode_0600(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    signer, why_not = cache_signer()
    assert signer is not None and why_not is None
    key = tmp_path / "home-config" / "taskeval" / "cache.key"
    assert (key.stat().st_mode & 0o777) == 0o600 and cache_signer()[0] == signer  # made once, then read
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))  # a key file a pull request could write is refused
    refused, why = cache_signer()
    assert refused is None and "inside the workspace" in str(why)
    monkeypatch.setenv("TASKEVAL_CACHE_KEY", "short")
    with pytest.raises(TaskevalError, match="at least 16"):
        cache_signer()


# ---- 6. The Action handles signals like the command line -----------------------------------------------------------

def _interrupted_run(ws: Workspace, server: Any, command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Start a run on a served model that answers the first batch at once and then slowly, SIGTERM it once the
    second batch is under way, and return its exit code and output."""
    process = subprocess.Popen(command, cwd=ws.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    while len(server.requests) <= 4 and process.poll() is None:  # until the second batch is under way (so the
        time.sleep(0.05)  # first is cached) or the run ended: the work decides, no deadline a loaded machine misses
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate()
    return process.returncode, out + err


def _whole_cached_rows(ws: Workspace) -> list[dict[str, Any]]:
    (cache_file,) = (ws.root / "cache" / "outputs").iterdir()
    text = cache_file.read_text()
    assert text.endswith("\n")  # whole lines only: nothing torn
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("entry", ["the Action", "the command line"])
def test_sigterm_ends_the_run_with_an_error_and_keeps_the_cache(ws: Workspace, entry: str) -> None:
    """One interrupt policy for both: exit 2, no verdict anywhere, the outputs generated so far cached and
    signed (the first batch's rows, whole)."""
    def slow_after_the_first_batch(body: dict[str, Any], index: int) -> Reply:
        return Reply(content='{"action":"list_tasks"}', delay_s=0.0 if index < 4 else 10.0)

    with fake_openai(slow_after_the_first_batch) as server:
        ws.file("served.yaml", f"generation: {{backend: openai, base_url: '{server.base_url}', concurrency: 1, "
                               f"cache_dir: '{ws.root / 'cache'}'}}\njudge: {{provider: none}}\n{GATES}")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))},
               "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "x"}
        if entry == "the Action":
            env.update({"INPUT_MODEL": "served", "INPUT_BENCHMARK": str(ws.root / "bench.jsonl"),
                        "INPUT_CONFIG": str(ws.root / "served.yaml"), "INPUT_OUTPUT-DIR": str(ws.root / "out"),
                        "GITHUB_OUTPUT": str(ws.root / "output.txt"),
                        "GITHUB_STEP_SUMMARY": str(ws.root / "summary.md"), "GITHUB_WORKSPACE": str(ws.root)})
            code, printed = _interrupted_run(ws, server, [sys.executable, str(ROOT / "entrypoint.py")], env)
        else:
            code, printed = _interrupted_run(ws, server, [
                sys.executable, "-m", "evaluator", "run", "--model", "served", "--benchmark",
                str(ws.root / "bench.jsonl"), "--config", str(ws.root / "served.yaml"), "--output-dir",
                str(ws.root / "out")], env)
    assert code == 2 and "Traceback" not in printed and "interrupted" in printed, printed
    if entry == "the Action":
        assert outputs_of(ws.root / "output.txt")["decision"] == "ERROR"
        assert "taskeval: ERROR" in (ws.root / "summary.md").read_text()
        assert json.loads((ws.root / "out" / "report.json").read_text())["decision"] == "ERROR"
    else:  # the command line leaves no report at all: none may claim a decision this run did not reach
        assert not (ws.root / "out" / "report.json").exists()
    rows = _whole_cached_rows(ws)
    assert rows and len(rows) % 4 == 0 and all(row["mac"] for row in rows)


# ---- 7. What was not measured fails its gate; outside text of any shape never crashes a run ------------------------

def test_a_judge_sample_cut_below_min_samples_by_the_budget_is_not_measured(ws: Workspace,
                                                                            capsys: pytest.CaptureFixture) -> None:
    reply = json.dumps({"reasoning": "fine", "scores": {"accuracy": 5, "helpfulness": 5, "format_quality": 5}})
    with fake_openai(lambda body, index: Reply(content=reply)) as server:
        gates = GATES.replace("metric: accuracy", "metric: llm_judge_overall").replace("0.85", "0.5")
        ws.file("budget.yaml", f"judge: {{base_url: '{server.base_url}', model: judge, min_samples: 10, "
                               f"budget_usd: 0.003, prices: {{judge: {{input: 0.5, output: 1.5}}}}}}\n{gates}")
        assert cli(["run", "--benchmark", str(ws.root / "bench.jsonl"), "--predictions", str(ws.root / "good.jsonl"),
                    "--config", str(ws.root / "budget.yaml"), "--output-dir", str(ws.root / "o"), "--quiet",
                    "--no-cache"]) == 1
    report = json.loads((ws.root / "o" / "report.json").read_text())
    (gate,) = report["gates"]
    assert gate["passed"] is None and report["decision"] == "BLOCK"  # fails closed
    assert "llm_judge_overall" not in report["metrics"] and "judge_cost_usd" in report["metrics"]
    assert any("fewer than judge.min_samples (10)" in w and "budget" in w for w in report["warnings"])


def test_a_model_output_of_any_depth_scores_as_invalid(ws: Workspace) -> None:
    rows = [json.loads(line) for line in (ws.root / "good.jsonl").read_text().splitlines()]
    rows[0]["output"] = "[" * 100_000 + "]" * 100_000
    rows[1]["output"] = '{"action": ' + "[" * 70 + "]" * 70 + "}"
    write_jsonl(ws.root / "deep.jsonl", rows)
    assert cli(["run", "--benchmark", str(ws.root / "bench.jsonl"), "--predictions", str(ws.root / "deep.jsonl"),
                "--config", str(ws.root / "config.yaml"), "--output-dir", str(ws.root / "o"), "--quiet",
                "--no-cache"]) == 0  # 18 of 20 right: passes the 0.85 gate
    report = json.loads((ws.root / "o" / "report.json").read_text())
    assert report["metrics"]["json_valid_rate"]["value"] == 0.9


def test_a_served_reply_without_choices_names_the_case(ws: Workspace, capsys: pytest.CaptureFixture) -> None:
    with fake_openai(lambda body, index: Reply(raw={"id": "x", "object": "chat.completion"})) as server:
        ws.file("served.yaml", f"generation: {{backend: openai, base_url: '{server.base_url}'}}\n"
                               f"judge: {{provider: none}}\n{GATES}")
        assert cli(["run", "--model", "served", "--benchmark", str(ws.root / "bench.jsonl"), "--config",
                    str(ws.root / "served.yaml"), "--output-dir", str(ws.root / "o"), "--quiet", "--no-cache"]) == 2
    error = capsys.readouterr().err
    assert "without a choice" in error and "case '" in error and "Traceback" not in error
