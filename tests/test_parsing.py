from evaluator.core.parsing import json_equal, parse_output, without_fields


def test_plain_object_with_surrounding_whitespace() -> None:
    parsed = parse_output('  \n{"action": "get_task", "task_id": 4}\n ')
    assert parsed.value == {"action": "get_task", "task_id": 4}
    assert not parsed.fenced


def test_code_fence_with_and_without_language_is_tolerated() -> None:
    for text in ['```json\n{"action":"x"}\n```', '```\n{"action":"x"}\n```', '```json{"action":"x"}```']:
        parsed = parse_output(text)
        assert parsed.value == {"action": "x"}, text
        assert parsed.fenced


def test_surrounding_text_is_invalid() -> None:
    assert parse_output('Sure! {"action":"x"}').value is None
    assert parse_output('{"action":"x"} hope this helps').value is None
    assert parse_output('```json\n{"action":"x"}\n```\nmore').value is None
    assert parse_output('```json\n{"action":"x"}\n```\n```json\n{"action":"y"}\n```').value is None


def test_arrays_scalars_and_empty_output_are_invalid() -> None:
    assert parse_output('[{"action":"x"}]').value is None
    assert parse_output("42").value is None
    assert parse_output('"text"').value is None
    empty = parse_output("   ")
    assert empty.value is None and empty.error == "empty output"


def test_duplicate_keys_nan_and_infinity_are_invalid() -> None:
    duplicate = parse_output('{"action":"x","action":"y"}')
    assert duplicate.value is None and "duplicate key" in (duplicate.error or "")
    assert parse_output('{"action":"x","n":NaN}').value is None
    assert parse_output('{"action":"x","n":Infinity}').value is None


def test_truncated_object_is_invalid() -> None:
    parsed = parse_output('{"action":"create_task","title":"buy')
    assert parsed.value is None and parsed.error


def test_json_equal_ignores_key_order_and_whitespace_but_is_strict_on_types() -> None:
    assert json_equal({"a": 1, "b": [1, {"c": "d"}]}, {"b": [1, {"c": "d"}], "a": 1})
    assert not json_equal({"a": True}, {"a": 1})
    assert not json_equal({"a": "5"}, {"a": 5})
    assert not json_equal({"a": None}, {"a": False})
    assert not json_equal({"a": [1, 2]}, {"a": [2, 1]})
    assert json_equal({"a": 5}, {"a": 5.0})
    assert json_equal({"t": "café ✓"}, {"t": "café ✓"})


def test_without_fields_drops_top_level_keys_only() -> None:
    value = {"action": "x", "id": 1, "nested": {"id": 2}}
    assert without_fields(value, ("id",)) == {"action": "x", "nested": {"id": 2}}
