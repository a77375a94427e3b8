"""Throughput of the served backend over several replicas (docs/scaling.md), in one run.

    python benchmarks/replicas.py            # about 1 minute: stand-in replicas only
    python benchmarks/replicas.py --llama    # and two real llama.cpp servers (about 3 more minutes)

1. Stand-in replicas of equal speed: OpenAI-compatible servers on loopback that work on `--slots` requests at a time
   and answer each after `--delay` seconds, as an inference server with that many parallel slots would. The served
   backend generates `--per-replica` cases per replica (so every run lasts about as long) with
   `generation.concurrency` = slots, against 1, 2, 4 and 8 replicas. Prints cases/s and the share of linear scaling
   (cases/s with R replicas over R times the cases/s of one); the target is at least 85%.
2. With `--llama`: SmolLM2-135M-Instruct served by llama.cpp, one server, then two, each with one thread for
   generation and for the prompt (this machine has two cores), on the same cases, one request in flight each.

Writes benchmarks/results/replicas.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluator.generation.served import ServedModelBackend  # noqa: E402
from evaluator.inputs.benchmark import load_benchmark  # noqa: E402
from evaluator.inputs.config import GenerationSettings  # noqa: E402
from tests.fake_openai import Reply, fake_openai  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "replicas.json"
BENCHMARK = ROOT / "examples" / "task_api" / "benchmark.jsonl"


def cases_per_second(urls: list[str], model: str, cases: list[Any], concurrency: int, **settings: Any) -> float:
    backend = ServedModelBackend(model, GenerationSettings(backend="openai", base_url=urls, concurrency=concurrency,
                                                           **settings))
    started = time.perf_counter()
    backend.generate(cases)
    return len(cases) / (time.perf_counter() - started)


def stand_ins(replica_counts: list[int], delay: float, slots: int, per_replica: int) -> list[dict[str, Any]]:
    answer = Reply(content='{"action":"list_tasks"}', delay_s=delay)
    cases = load_benchmark(BENCHMARK)
    rows: list[dict[str, Any]] = []
    for count in replica_counts:
        with ExitStack() as stack:
            servers = [stack.enter_context(fake_openai(lambda body, index: answer, slots=slots))
                       for _ in range(count)]
            wanted = per_replica * count
            chosen = [cases[i % len(cases)] for i in range(wanted)]
            rate = cases_per_second([s.base_url for s in servers], "stand-in", chosen, slots)
            spread = [len(s.requests) for s in servers]
        one = rows[0]["cases_per_second"] if rows else rate
        rows.append({"replicas": count, "cases": wanted, "cases_per_second": round(rate, 2),
                     "share_of_linear": round(rate / (count * one), 3), "requests_per_replica": spread})
        print(f"stand-ins: {count} replica(s), {wanted} cases: {rate:6.1f} cases/s, "
              f"{rate / (count * one):.0%} of linear, requests per replica {spread}", flush=True)
    return rows


def llama(count_cases: int) -> list[dict[str, Any]]:
    from tests.llama import SERVED_NAME, llama_server

    cases = load_benchmark(BENCHMARK)[:count_cases]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        urls = [stack.enter_context(llama_server(Path(scratch) / f"server-{i}.log", "--n_threads", "1",
                                                 "--n_threads_batch", "1")) for i in range(2)]
        for count in (1, 2):
            rate = cases_per_second(urls[:count], SERVED_NAME, cases, 1, max_new_tokens=48,
                                    system_prompt="Turn the request into one Task API call, as JSON.")
            one = rows[0]["cases_per_second"] if rows else rate
            rows.append({"replicas": count, "cases": len(cases), "cases_per_second": round(rate, 3),
                         "share_of_linear": round(rate / (count * one), 3), "cpu_cores": os.cpu_count()})
            print(f"llama.cpp: {count} server(s), one thread each, {len(cases)} cases: {rate:.2f} cases/s, "
                  f"{rate / (count * one):.0%} of linear", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--delay", type=float, default=0.25, help="seconds a stand-in takes per request")
    parser.add_argument("--slots", type=int, default=2, help="requests a stand-in works on at once")
    parser.add_argument("--per-replica", type=int, default=48, help="cases per replica")
    parser.add_argument("--llama", action="store_true", help="also measure two real llama.cpp servers")
    parser.add_argument("--llama-cases", type=int, default=48)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "stand_ins": {"delay_s": args.delay, "slots": args.slots, "concurrency_per_replica": args.slots,
                      "rows": stand_ins(args.replicas, args.delay, args.slots, args.per_replica)}}
    if args.llama:
        result["llama_cpp"] = {"threads_per_server": 1, "rows": llama(args.llama_cases)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
