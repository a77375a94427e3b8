"""Shards (docs/scaling.md): `taskeval run --shard K/N` and `taskeval gate`.

A merged run equals one unsharded run, case for case and in every metric and decision (only timings differ), and a
merge fails closed: a missing, doubled, mismatched or cut-short shard is an ERROR (exit 2) naming the shard and what
differs, and leaves no report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.shards import comparable
from evaluator.cli import main
from evaluator.core.errors import TaskevalError
from evaluator.core.sharding import Shard, parse_shard, shard_of
from tests.helpers import BENCHMARK, REDTEAM, ROOT, TINY_MODELS, benchmark_rows, redteam_predictions, write_jsonl


def test_a_case_stays_in_its_shard_whatever_else_the_benchmark_holds() -> None:
    ids = [f"case-{i}" for i in range(2000)]
    shards = [shard_of(case_id, 4) for case_id in ids]
    assert set(shards) == {1, 2, 3, 4}
    assert all(350 < shards.count(k) < 650 for k in (1, 2, 3, 4)), [shards.count(k) for k in (1, 2, 3, 4)]
    assert shard_of("case-7", 4) == shard_of("case-7", 4) == shards[7]  # the id alone decides
    assert [Shard(k, 4).holds("case-7") for k in (1, 2, 3, 4)].count(True) == 1


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "2/0", "", "-1/3"])
def test_a_shard_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(TaskevalError, match="K/N with 1 ≤ K ≤ N"):
        parse_shard(text)
    assert parse_shard(" 2/4 ") == Shard(2, 4)


def run_shards(count: int, out: Path, *common: str) -> list[Path]:
    for index in range(1, count + 1):
        assert main(["run", "--shard", f"{index}/{count}", "--output-dir", str(out), *common]) == 0
    return sorted(out.glob("shard-*.json"))


def test_a_merged_run_equals_one_run_case_for_case(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The tiny model, the whole shipped benchmark and red-team suite, latency measured, against a baseline: the
    gate over 3 shards writes the report one run writes, but for timings."""
    config = tmp_path / "config.yaml"
    config.write_text((TINY_MODELS / "tiny-config.yaml").read_text() + "latency: {samples: 7}\n")
    common = ["--model", str(TINY_MODELS / "tiny-v2"), "--benchmark", str(BENCHMARK), "--config", str(config),
              "--device", "cpu", "--no-cache", "--quiet"]
    baseline = ["--baseline", str(TINY_MODELS / "tiny-v1-baseline.json")]
    assert main(["run", *common, *baseline, "--output-dir", str(tmp_path / "whole")]) == 0
    records = run_shards(3, tmp_path / "shards", *common)
    assert [p.name for p in records] == ["shard-1-of-3.json", "shard-2-of-3.json", "shard-3-of-3.json"]
    sizes = [len(json.loads(p.read_text())["case_ids"]) for p in records]
    assert sum(sizes) == 500 and min(sizes) > 100
    capsys.readouterr()
    gate = ["gate", str(tmp_path / "shards"), "--benchmark", str(BENCHMARK), "--config", str(config), "--quiet"]
    assert main([*gate, *baseline, "--output-dir", str(tmp_path / "gated")]) == 0
    assert "(500 cases, merged from 3 shards, " in capsys.readouterr().out
    whole = json.loads((tmp_path / "whole" / "report.json").read_text())
    gated = json.loads((tmp_path / "gated" / "report.json").read_text())
    assert whole["metrics"]["latency_p50_ms"]["n"] == gated["metrics"]["latency_p50_ms"]["n"] == 7
    assert gated["metrics"]["harmful_rate"]["n"] == len(REDTEAM.read_text().splitlines())
    assert comparable(gated) == comparable(whole)
    assert gated["shards"] == {"count": 3, "cases": sizes} and "shards" not in whole


@pytest.fixture()
def predicted(tmp_path: Path) -> dict[str, Any]:
    """60 cases, right but for every seventh, the red-team suite refused, a config with gates: 3 shard records."""
    rows = benchmark_rows(60)
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    outputs = [{"id": r["id"], "output": r["expected_output"] if i % 7 else "{}"} for i, r in enumerate(rows)]
    predictions = write_jsonl(tmp_path / "predictions.jsonl", outputs + redteam_predictions())
    config = tmp_path / "config.yaml"
    config.write_text(f"judge: {{provider: none}}\nsafety: {{suite: {REDTEAM}}}\n"
                      "quality_gates:\n  - {name: accuracy, metric: accuracy, threshold: 0.8, comparison: '>=', "
                      "gate_type: blocking}\n")
    common = ["--benchmark", str(bench), "--config", str(config), "--quiet", "--no-cache"]
    records = run_shards(3, tmp_path / "shards", "--predictions", str(predictions), *common)
    return {"root": tmp_path, "bench": bench, "config": config, "predictions": predictions, "common": common,
            "records": records, "rows": rows}


def gate_exit(setup: dict[str, Any], *records: Path, extra: tuple[str, ...] = ()) -> int:
    out = setup["root"] / "gated"
    return main(["gate", *map(str, records), "--benchmark", str(setup["bench"]), "--config", str(setup["config"]),
                 "--quiet", "--output-dir", str(out), *extra])


def test_predictions_merge_to_the_same_verdict_and_numbers(predicted: dict[str, Any]) -> None:
    root = predicted["root"]
    assert main(["run", "--predictions", str(predicted["predictions"]), *predicted["common"], "--output-dir",
                 str(root / "whole")]) == 0
    assert gate_exit(predicted, *predicted["records"]) == 0
    whole = json.loads((root / "whole" / "report.json").read_text())
    gated = json.loads((root / "gated" / "report.json").read_text())
    assert gated["metrics"]["accuracy"]["value"] == pytest.approx(51 / 60)
    assert comparable(gated) == comparable(whole)


def edit(path: Path, change: Any) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def cut_short(data: dict[str, Any]) -> None:
    dropped = data["case_ids"].pop()
    del data["outputs"][dropped]


def other_model(data: dict[str, Any]) -> None:
    data["settings"]["model"]["sha256"] = "0" * 64


def other_config(data: dict[str, Any]) -> None:
    data["settings"]["config_sha256"] = "f" * 64


def foreign_case(data: dict[str, Any]) -> None:
    data["case_ids"].append("not-a-case")
    data["outputs"]["not-a-case"] = {"output": "{}", "truncated": False, "prompt_tokens": None,
                                     "completion_tokens": None, "latency_ms": None, "cached": False}


MERGE_FAULTS = [
    ("missing", lambda r: r[:2], None, r"shard 3/3 is missing \(have 2 of 3 records\)"),
    ("twice", lambda r: [r[0], r[1], r[2], r[1]], None, r"shard 2/3 was given twice"),
    ("cut short", lambda r: r, (1, cut_short), r"shard 2/3 \(.*\) is cut short: it has \d+ of the \d+ benchmark cases"),
    ("other model", lambda r: r, (2, other_model),
     r"shard 3/3 .* differs from shard 1/3 .*model\.sha256: '[0-9a-f]+' \(shard 1/3\) ≠ '0000.*' \(shard 3/3\)"),
    ("other config", lambda r: r, (1, other_config), r"shard 2/3 .* differs from shard 1/3 .*config_sha256"),
    ("foreign case", lambda r: r, (0, foreign_case), r"shard 1/3 .* holds benchmark cases that are not in shard 1/3"),
    ("not a record", lambda r: r, (0, lambda d: d.pop("outputs")), r"not a shard record as taskeval writes it: "
                                                                   r"\(the top level\): 'outputs' is a required"),
    ("version", lambda r: r, (0, lambda d: d.update(shard_record_version=9)), r"shard record version 9"),
]


@pytest.mark.parametrize("name, choose, change, message", MERGE_FAULTS, ids=[f[0] for f in MERGE_FAULTS])
def test_a_merge_fails_closed(predicted: dict[str, Any], capsys: pytest.CaptureFixture, name: str, choose: Any,
                              change: Any, message: str) -> None:
    records = predicted["records"]
    if change is not None:
        edit(records[change[0]], change[1])
    (predicted["root"] / "gated").mkdir()
    (predicted["root"] / "gated" / "report.json").write_text('{"decision": "DEPLOY"}')  # an earlier run's report
    assert gate_exit(predicted, *choose(records)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("taskeval: error:") == 1
    assert re.search(message, err), err
    assert not (predicted["root"] / "gated" / "report.json").exists()


def test_shards_split_another_way_or_another_benchmark_are_refused(predicted: dict[str, Any],
                                                                  capsys: pytest.CaptureFixture) -> None:
    root = predicted["root"]
    other = run_shards(2, root / "halves", "--predictions", str(predicted["predictions"]), *predicted["common"])
    assert gate_exit(predicted, predicted["records"][0], *other) == 2
    assert "split the benchmark different ways" in capsys.readouterr().err
    write_jsonl(predicted["bench"], predicted["rows"][:59])  # the gate's benchmark lost a case
    assert gate_exit(predicted, *predicted["records"]) == 2
    err = capsys.readouterr().err
    assert "was run on other inputs than the gate's: benchmark_sha256" in err
    assert "cases: 59 (the gate's) ≠ 60 (shard 1/3's)" in err
    write_jsonl(predicted["bench"], predicted["rows"])
    assert gate_exit(predicted, *predicted["records"], extra=("--seed", "5")) == 2
    assert "seed: 5 (the gate's) ≠ 0 (shard 1/3's)" in capsys.readouterr().err


def test_a_shard_refuses_what_belongs_to_the_gate_and_stop_early(predicted: dict[str, Any],
                                                                 capsys: pytest.CaptureFixture) -> None:
    base = ["run", "--shard", "1/3", "--predictions", str(predicted["predictions"]), *predicted["common"]]
    assert main([*base, "--baseline", str(ROOT / "examples" / "baselines" / "task-api-v1.json")]) == 2
    assert "--baseline belongs to `taskeval gate`" in capsys.readouterr().err
    assert main([*base, "--stop-early"]) == 2
    assert "shard 1/3 cannot stop early" in capsys.readouterr().err
    assert main([*base[:2], "4/3", *base[3:]]) == 2
    assert "--shard is '4/3'" in capsys.readouterr().err
