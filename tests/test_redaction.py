"""Secrets registered once are replaced everywhere text leaves the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.action.io import append_summary, command, set_outputs
from evaluator.core.files import write_atomically
from evaluator.core.redaction import MASK, forget_secrets, redact, register_secret


@pytest.fixture(autouse=True)
def clean() -> None:
    forget_secrets()


def test_registered_secrets_are_masked_longest_first() -> None:
    register_secret("sk-abcdef")
    register_secret("sk-abcdef-and-more")
    register_secret("abc")  # too short to be a secret: ordinary text must stay readable
    assert redact("key sk-abcdef-and-more and sk-abcdef, abc") == f"key {MASK} and {MASK}, abc"


def test_files_summaries_outputs_and_log_commands_never_carry_a_secret(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    secret = "ghs_0123456789"
    register_secret(secret)
    write_atomically(tmp_path / "r.md", f"token {secret}")
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"), "GITHUB_OUTPUT": str(tmp_path / "o.txt")}
    append_summary(env, f"summary {secret}")
    set_outputs(env, {"summary": f"out {secret}"})
    command("warning", f"log {secret}")
    written = "".join(p.read_text() for p in tmp_path.iterdir()) + capsys.readouterr().out
    assert secret not in written and written.count(MASK) == 4
