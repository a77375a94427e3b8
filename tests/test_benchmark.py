import hashlib
import json
from pathlib import Path

import pytest

from evaluator.core.errors import TaskevalError
from evaluator.inputs.benchmark import benchmark_fingerprint, limit_cases, load_benchmark
from tests.helpers import BENCHMARK, write_jsonl


def test_shipped_benchmark_has_500_unique_cases_with_actions_and_tags() -> None:
    cases = load_benchmark(BENCHMARK)
    assert len(cases) == 500 and len({c.id for c in cases}) == 500
    assert all(c.tags and c.expected_action == c.expected["action"] for c in cases)
    assert {c.expected_action for c in cases} >= {"create_task", "update_task", "complete_task", "delete_task",
                                                  "list_tasks", "get_task", "assign_task", "set_reminder", "refuse"}


def test_json_array_object_outputs_and_derived_ids(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"input": "show task 3", "expected_output": {"action": "get_task", "task_id": 3},
                                 "extra": "kept and ignored"}]))
    (case,) = load_benchmark(path)
    assert case.id == hashlib.sha256(b"show task 3").hexdigest()[:16]
    assert case.expected_output == '{"action":"get_task","task_id":3}'
    assert case.expected_action == "get_task"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"expected_output": "{}"}, "no 'input'"),
        ({"input": "x"}, "no 'expected_output'"),
        ({"input": "x", "expected_output": "{not json"}, "'expected_output' is not valid JSON"),
        ({"input": "x", "expected_output": "{}"}, "cannot tell the expected action"),
        ({"input": "x", "expected_output": '{"action":"a"}', "tags": "t"}, "'tags' must be a list"),
    ],
)
def test_bad_cases_name_file_and_line(tmp_path: Path, row: dict, message: str) -> None:
    path = write_jsonl(tmp_path / "b.jsonl", [{"input": "ok", "expected_output": '{"action":"a"}'}, row])
    with pytest.raises(TaskevalError, match=message) as raised:
        load_benchmark(path)
    assert f"{path}:2" in raised.value.message


def test_a_line_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text('{"input": "ok", "expected_output": "{\\"action\\":\\"a\\"}"}\n{oops\n')
    with pytest.raises(TaskevalError, match=r"b\.jsonl:2: not valid JSON"):
        load_benchmark(path)


def test_duplicate_ids(tmp_path: Path) -> None:
    row = {"id": "same", "input": "x", "expected_output": '{"action":"a"}'}
    path = write_jsonl(tmp_path / "b.jsonl", [row, row])
    with pytest.raises(TaskevalError, match="duplicate case id 'same'"):
        load_benchmark(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TaskevalError, match="benchmark file not found"):
        load_benchmark(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(TaskevalError, match="no cases"):
        load_benchmark(tmp_path / "empty.jsonl")


def test_limit_is_seeded_and_keeps_file_order() -> None:
    cases = load_benchmark(BENCHMARK)
    first, again, other = limit_cases(cases, 50, 1), limit_cases(cases, 50, 1), limit_cases(cases, 50, 2)
    assert [c.id for c in first] == [c.id for c in again] != [c.id for c in other]
    order = [c.id for c in cases]
    assert [order.index(c.id) for c in first] == sorted(order.index(c.id) for c in first)
    assert limit_cases(cases, 1000, 1) == cases


def test_fingerprint_is_of_content_not_bytes(tmp_path: Path) -> None:
    rows = [{"id": "a", "input": "x", "expected_output": '{"action": "a"}'}]
    spaced = write_jsonl(tmp_path / "spaced.jsonl", rows)
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps([{"id": "a", "input": "x", "expected_output": {"action": "a"}}], indent=4))
    assert benchmark_fingerprint(load_benchmark(spaced)) == benchmark_fingerprint(load_benchmark(compact))
    changed = write_jsonl(tmp_path / "changed.jsonl", [{**rows[0], "input": "y"}])
    assert benchmark_fingerprint(load_benchmark(changed)) != benchmark_fingerprint(load_benchmark(spaced))
