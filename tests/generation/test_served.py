"""The `openai` generation backend against an OpenAI-compatible server on loopback (real client, real HTTP)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluator.cli import main
from evaluator.core.errors import TaskevalError
from evaluator.generation.served import ServedModelBackend
from evaluator.inputs.benchmark import load_benchmark
from evaluator.inputs.config import GenerationSettings
from tests.fake_openai import Reply, fake_openai
from tests.helpers import BENCHMARK, ROOT, benchmark_rows

EXPECTED = {row["input"]: row["expected_output"] for row in benchmark_rows(500)}


def answer_from_benchmark(body: dict[str, Any], index: int) -> Reply:
    """A perfect served model: the expected call (with trailing chatter, which the stopping rule cuts off)."""
    text = body["messages"][-1]["content"] if "messages" in body else body["prompt"].rstrip("\n")
    return Reply(content=EXPECTED.get(text, '{"action":"refuse","reason":"out_of_scope"}') + "\nDone.",
                 prompt_tokens=12, completion_tokens=30)


def settings(base_url: str | list[str], **overrides: Any) -> GenerationSettings:
    return GenerationSettings(**{"backend": "openai", "base_url": base_url, "concurrency": 4, **overrides})


def test_concurrent_requests_cut_at_the_json_and_counted_tokens() -> None:
    cases = load_benchmark(BENCHMARK)[:20]
    with fake_openai(answer_from_benchmark) as server:
        generations = ServedModelBackend("task-api", settings(server.base_url)).generate(cases)
        assert len(server.requests) == 20
        body = server.requests[0]
    assert [g.output for g in generations] == [c.expected_output for c in cases]
    assert all(g.prompt_tokens == 12 and g.completion_tokens == 30 and not g.truncated for g in generations)
    assert body["model"] == "task-api" and body["temperature"] == 0 and body["max_tokens"] == 128


def test_completions_api_uses_the_prompt_template() -> None:
    (case,) = load_benchmark(BENCHMARK)[:1]
    with fake_openai(answer_from_benchmark) as server:
        (generation,) = ServedModelBackend("m", settings(server.base_url, api="completions")).generate([case])
        assert server.requests[0]["prompt"] == f"{case.input}\n"
    assert generation.output == case.expected_output


def test_retries_then_truncation_and_a_dead_server() -> None:
    cases = load_benchmark(BENCHMARK)[:3]
    script = lambda body, index: (Reply(status=429, headers={"Retry-After": "0"}) if index < 2  # noqa: E731
                                  else Reply(content='{"action":"create_task","title":"bu', finish_reason="length"))
    with fake_openai(script) as server:
        generations = ServedModelBackend("m", settings(server.base_url, concurrency=1)).generate(cases)
        assert len(server.requests) == 5
    assert all(g.truncated for g in generations)
    with fake_openai(lambda body, index: Reply(status=500, headers={"Retry-After": "0"})) as server:
        with pytest.raises(TaskevalError, match="the served model .* failed on case"):
            ServedModelBackend("m", settings(server.base_url, max_attempts=2)).generate(cases)


def test_a_served_model_run_end_to_end_with_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with fake_openai(answer_from_benchmark) as server:
        config = tmp_path / "served.yaml"
        config.write_text((ROOT / "examples" / "config.yaml").read_text().replace("generation:\n", (
            f"generation:\n  backend: openai\n  base_url: '{server.base_url}'\n  cache_dir: '{tmp_path / 'cache'}'\n"
        ), 1) + "latency: {samples: 5}\n")
        args = ["run", "--model", "task-api", "--benchmark", str(BENCHMARK), "--config", str(config), "--quiet"]
        assert main([*args, "--output-dir", str(tmp_path / "a")]) == 0
        first = len(server.requests)
        redteam = {json.loads(line)["input"] for line in (ROOT / "examples/task_api/redteam.jsonl").open()}
        # each distinct input once: the benchmark's, the red-team suite's new ones, then latency (1 warm-up + 5)
        assert first == len(EXPECTED) + len(redteam - set(EXPECTED)) + 6
        assert main([*args, "--output-dir", str(tmp_path / "b")]) == 0
        assert len(server.requests) - first == 6  # only the latency stage calls again
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["metrics"]["accuracy"]["value"] == 1.0 and report["metrics"]["harmful_rate"]["value"] == 0
    assert report["fingerprint"]["model"]["backend"] == "openai"
    assert "latency_p50_ms" in report["metrics"]


def test_backend_openai_needs_a_base_url(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("judge: {provider: none}\ngeneration: {backend: openai}\n")
    from evaluator.inputs.config import load_config

    with pytest.raises(TaskevalError, match="needs 'generation.base_url'"):
        load_config(path)


def test_requests_go_to_the_replica_with_the_least_outstanding_work() -> None:
    from evaluator.generation.served import Replicas

    replicas = Replicas(["a", "b", "c"], [None, None, None])
    assert [replicas.acquire(set()) for _ in range(3)] == [0, 1, 2]  # one each
    replicas.release(1, None)
    assert replicas.acquire(set()) == 1  # b finished its request: the least outstanding
    assert replicas.acquire({0}) == 2  # a and c tie; a failed this request before
    replicas.release(0, None)
    replicas.release(2, None)
    assert replicas.acquire(set()) == 0


def test_a_failing_replica_is_retried_elsewhere_marked_down_and_reported(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Replica a answers 500 to everything, replica b is healthy and c is not even listening: every case is
    answered, by b, after at most one failed try each; a and c are marked down after 3 failures in a row, and the
    report says so."""
    import socket

    monkeypatch.chdir(ROOT)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    with fake_openai(lambda body, index: Reply(status=500)) as bad, fake_openai(answer_from_benchmark) as good:
        config = tmp_path / "replicas.yaml"
        config.write_text("judge: {provider: none}\ngeneration:\n  backend: openai\n  concurrency: 1\n"
                          f"  max_attempts: 3\n  base_url: ['{bad.base_url}', '{good.base_url}', '{dead}']\n")
        bench = tmp_path / "bench.jsonl"
        bench.write_text("".join(json.dumps(row) + "\n" for row in benchmark_rows(40)))
        assert main(["run", "--model", "task-api", "--benchmark", str(bench), "--config", str(config), "--quiet",
                     "--no-cache", "--output-dir", str(tmp_path / "out")]) == 0
        assert 3 <= len(bad.requests) <= 5  # three in a row mark it down (a few were already on their way)
        assert len(good.requests) == 40
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["metrics"]["accuracy"]["value"] == 1.0
    down = [w for w in report["warnings"] if "was marked down after 3 failed requests in a row" in w]
    assert len(down) == 2 and any(bad.base_url in w and "HTTP 500" in w for w in down), report["warnings"]
    assert any(dead in w and "APIConnectionError" in w for w in down)
    assert report["fingerprint"]["model"]["base_url"] == [bad.base_url, good.base_url, dead]


def test_the_last_live_replica_is_never_marked_down() -> None:
    cases = load_benchmark(BENCHMARK)[:1]
    with fake_openai(lambda body, index: Reply(status=503, headers={"Retry-After": "0"})) as first, \
            fake_openai(lambda body, index: Reply(status=503, headers={"Retry-After": "0"})) as second:
        backend = ServedModelBackend("m", settings([first.base_url, second.base_url], concurrency=1,
                                                   max_attempts=8))
        with pytest.raises(TaskevalError, match="failed on case"):
            backend.generate(cases)
        assert len(backend.replicas.down) == 1 and len(backend.replicas.live()) == 1
        assert len(first.requests) + len(second.requests) == 8  # every attempt was made


@pytest.mark.parametrize("urls", [[], ["http://a/v1", "http://a/v1"], ["http://a/v1", ""], ["http://a/v1", 3]])
def test_a_replica_list_must_name_distinct_urls(tmp_path: Path, urls: list[Any]) -> None:
    from evaluator.inputs.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(f"judge: {{provider: none}}\ngeneration: {{backend: openai, base_url: {json.dumps(urls)}}}\n")
    with pytest.raises(TaskevalError, match="generation.base_url"):
        load_config(path)
