"""The runner's interface: workflow commands escaped as GitHub requires."""

from __future__ import annotations

import pytest

from evaluator.action.io import command


def test_command_properties_and_data_are_escaped(capsys: pytest.CaptureFixture) -> None:
    command("error", "gate accuracy: 50% off\nsecond line", {"file": "configs/a,b:c.yaml", "line": 12})
    expected = "::error file=configs/a%2Cb%3Ac.yaml,line=12::gate accuracy: 50%25 off%0Asecond line\n"
    assert capsys.readouterr().out == expected
    command("warning", "plain")
    assert capsys.readouterr().out == "::warning::plain\n"
