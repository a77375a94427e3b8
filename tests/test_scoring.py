import json

import jsonschema

from evaluator.stages.scoring import INVALID, aggregate_checks, per_action, token_metrics
from tests.helpers import SCHEMA, scored

EXPECTED = {"action": "create_task", "title": "buy milk", "due": "friday"}
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def test_key_order_and_whitespace_are_right_for_accuracy_but_not_exact_match() -> None:
    result = scored(EXPECTED, '{ "due": "friday", "title": "buy milk", "action": "create_task" }')
    assert result.checks["accuracy"] is True
    assert result.checks["exact_match_rate"] is False
    assert result.checks["field_accuracy"] == 1.0


def test_exact_string_matches_after_stripping() -> None:
    result = scored(EXPECTED, '  {"action":"create_task","title":"buy milk","due":"friday"}\n')
    assert result.checks["exact_match_rate"] is True and result.checks["accuracy"] is True


def test_code_fence_is_valid_json_and_counted_as_fenced() -> None:
    result = scored(EXPECTED, '```json\n{"action":"create_task","title":"buy milk","due":"friday"}\n```')
    assert result.checks["json_valid_rate"] is True and result.checks["fenced_json_rate"] is True
    assert result.checks["accuracy"] is True and result.checks["exact_match_rate"] is False


def test_trailing_text_makes_every_check_wrong() -> None:
    result = scored(EXPECTED, '{"action":"create_task","title":"buy milk","due":"friday"} Done!', validator=VALIDATOR)
    assert result.produced_action == INVALID
    for name in ("accuracy", "exact_match_rate", "json_valid_rate", "schema_valid_rate", "action_accuracy"):
        assert result.checks[name] is False, name
    assert result.checks["field_accuracy"] == 0.0


def test_empty_output() -> None:
    result = scored(EXPECTED, "")
    assert result.checks["json_valid_rate"] is False and result.parse_error == "empty output"


def test_partial_fields_and_wrong_types() -> None:
    result = scored(EXPECTED, '{"action":"create_task","title":"buy milk","due":"monday"}')
    assert result.checks["accuracy"] is False and result.checks["action_accuracy"] is True
    assert result.checks["field_accuracy"] == 0.5
    typed = scored({"action": "get_task", "task_id": 5}, '{"action":"get_task","task_id":"5"}')
    assert typed.checks["accuracy"] is False and typed.checks["field_accuracy"] == 0.0


def test_nested_arguments_and_unicode() -> None:
    expected = {"action": "create_task", "title": "réunion ✓", "meta": {"tags": ["a", "b"], "n": 1}}
    assert scored(expected, '{"meta":{"n":1,"tags":["a","b"]},"title":"réunion ✓","action":"create_task"}').checks[
        "accuracy"] is True
    assert scored(expected, '{"meta":{"n":1,"tags":["b","a"]},"title":"réunion ✓","action":"create_task"}').checks[
        "accuracy"] is False


def test_ignore_fields_leaves_a_field_out_of_accuracy_and_field_accuracy() -> None:
    result = scored(EXPECTED, '{"action":"create_task","title":"buy milk","due":"monday"}', ignore=("due",))
    assert result.checks["accuracy"] is True and result.checks["field_accuracy"] == 1.0


def test_no_argument_fields_leaves_the_case_out_of_field_accuracy() -> None:
    result = scored({"action": "list_tasks"}, '{"action":"list_tasks"}')
    assert "field_accuracy" not in result.checks


def test_schema_check_only_with_a_schema() -> None:
    assert "schema_valid_rate" not in scored(EXPECTED, json.dumps(EXPECTED)).checks
    bad = scored(EXPECTED, '{"action":"create_task","title":"x","colour":"red"}', validator=VALIDATOR)
    assert bad.checks["schema_valid_rate"] is False
    assert scored(EXPECTED, json.dumps(EXPECTED), validator=VALIDATOR).checks["schema_valid_rate"] is True


def test_aggregation_counts_match_the_cases_and_absent_checks_stay_absent() -> None:
    results = [
        scored(EXPECTED, json.dumps(EXPECTED)),
        scored(EXPECTED, "not json"),
        scored({"action": "list_tasks"}, '{"action":"list_tasks"}'),
        scored({"action": "list_tasks"}, '{"action":"get_task","task_id":1}'),
    ]
    metrics = aggregate_checks(results)
    assert metrics["accuracy"].value == 0.5 and metrics["accuracy"].n == 4
    assert metrics["json_valid_rate"].value == 0.75
    assert metrics["action_accuracy"].value == 0.5
    assert metrics["field_accuracy"].n == 2 and metrics["field_accuracy"].value == 0.5
    assert metrics["field_accuracy"].ci_low is None
    assert 0 < metrics["accuracy"].ci_low < 0.5 < metrics["accuracy"].ci_high < 1  # type: ignore[operator]
    assert "schema_valid_rate" not in metrics


def test_per_action_confusion() -> None:
    results = [
        scored({"action": "list_tasks"}, '{"action":"list_tasks"}'),
        scored({"action": "list_tasks"}, '{"action":"get_task","task_id":1}'),
        scored({"action": "list_tasks"}, "oops"),
    ]
    stats = per_action(results)["list_tasks"]
    assert stats.cases == 3 and stats.correct == 1
    assert stats.produced == {"list_tasks": 1, "get_task": 1, INVALID: 1}


def test_token_metrics_need_every_case_and_price_gives_cost() -> None:
    from dataclasses import replace

    results = [replace(scored(EXPECTED, "{}"), prompt_tokens=10, completion_tokens=30),
               replace(scored(EXPECTED, "{}"), prompt_tokens=20, completion_tokens=40)]
    metrics = token_metrics(results, price_per_million=2.0)
    assert metrics["tokens_per_request"].value == 50
    assert metrics["cost_per_request_usd"].value == 50 * 2.0 / 1e6
    assert token_metrics([*results, scored(EXPECTED, "{}")], 2.0) == {}
