from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.generation.predictions import PredictionsBackend
from tests.helpers import make_case, write_jsonl

IDS = ["a", "b", "c"]


def test_predictions_by_id_with_optional_token_counts(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [
        {"id": "c", "output": "3"}, {"id": "a", "output": "1", "prompt_tokens": 5, "completion_tokens": 7,
                                     "latency_ms": 12.5},
        {"id": "b", "output": "2"},
    ])
    backend = PredictionsBackend(path, IDS)
    outputs = backend.generate([make_case({"action": "x"}, case_id=i) for i in IDS])
    assert [g.output for g in outputs] == ["1", "2", "3"]
    assert outputs[0].prompt_tokens == 5 and outputs[0].latency_ms == 12.5
    assert backend.cache_key() is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "a", "output": ""}, {"id": "b", "output": ""}], "1 missing prediction id\\(s\\): 'c'"),
        ([{"id": i, "output": ""} for i in [*IDS, "zz", "yy"]], "2 unknown prediction id\\(s\\): 'zz', 'yy'"),
        ([{"id": i, "output": ""} for i in [*IDS, "a"]], "1 duplicate prediction id\\(s\\): 'a'"),
        ([{"id": "a"}], "needs an 'id' and an 'output' string"),
    ],
)
def test_coverage_errors_name_the_first_ids(tmp_path: Path, rows: list, message: str) -> None:
    with pytest.raises(TaskevalError, match=message):
        PredictionsBackend(write_jsonl(tmp_path / "p.jsonl", rows), IDS)


def test_many_missing_ids_are_summarised(tmp_path: Path) -> None:
    ids = [f"case-{i}" for i in range(12)]
    with pytest.raises(TaskevalError, match="12 missing .*'case-4' and 7 more"):
        PredictionsBackend(write_jsonl(tmp_path / "p.jsonl", []), ids)
