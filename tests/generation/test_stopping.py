from evaluator.generation.stopping import JsonStopScanner, cut_at_stop


def test_stops_when_the_top_level_object_closes() -> None:
    text, closed = cut_at_stop('{"a":{"b":1}}{"second":true}')
    assert closed and text == '{"a":{"b":1}}'


def test_braces_and_escaped_quotes_inside_strings_do_not_count() -> None:
    text, closed = cut_at_stop('{"title":"use } and \\" and {"} trailing')
    assert closed and text == '{"title":"use } and \\" and {"}'


def test_a_fenced_object_stops_after_the_closing_fence() -> None:
    text, closed = cut_at_stop('```json\n{"a":1}\n```\nand more')
    assert closed and text == '```json\n{"a":1}\n```'


def test_incremental_feeding_matches_whole_text() -> None:
    scanner = JsonStopScanner()
    pieces = ['{"', "action", '":"', "x", '"', "}", "extra"]
    stopped_at = next(i for i, piece in enumerate(pieces) if scanner.feed(piece))
    assert stopped_at == 5


def test_unfinished_output_does_not_stop() -> None:
    text, closed = cut_at_stop('{"action":"create_task","title":"buy')
    assert not closed and text == '{"action":"create_task","title":"buy'
