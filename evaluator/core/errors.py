"""The one user-facing error type: a message and a hint, printed without a traceback (exit code 2)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TaskevalError(Exception):
    """Bad input, bad configuration or an unusable model: something the user can fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """A "did you mean 'x'?" hint for a near miss, or None."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
