"""The stopping rule: an output is complete once its top-level JSON object closes (and its code fence, if any).

The scanner follows brace depth and string state character by character, so it is fed each new token's text
from a per-token table and never decodes the whole sequence again.
"""

from __future__ import annotations

FENCE = "```"


class JsonStopScanner:
    """Incremental detector of the end of the first top-level JSON object in a stream of text."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.started = False
        self.fenced = False
        self.closed_at: int | None = None
        self.done_at: int | None = None
        self._seen = ""
        self._consumed = 0

    def feed(self, text: str) -> bool:
        """Consume more text; True once the output is complete (see `done_at`)."""
        for char in text:
            self._step(char)
            self._consumed += 1
            if self.done_at is not None:
                return True
        return False

    def _step(self, char: str) -> None:
        if self.closed_at is not None:
            self._seen += char
            if self._seen.endswith(FENCE):
                self.done_at = self._consumed + 1
            return
        if not self.started:
            self._seen += char
            if char == "{":
                self.started, self.depth = True, 1
                self.fenced = FENCE in self._seen
                self._seen = ""
            return
        if self.in_string:
            if self.escaped:
                self.escaped = False
            elif char == "\\":
                self.escaped = True
            elif char == '"':
                self.in_string = False
        elif char == '"':
            self.in_string = True
        elif char == "{":
            self.depth += 1
        elif char == "}":
            self.depth -= 1
            if self.depth == 0:
                self.closed_at = self._consumed + 1
                if not self.fenced:
                    self.done_at = self.closed_at


def cut_at_stop(text: str) -> tuple[str, bool]:
    """The text up to where the scanner stops, and whether it stopped there."""
    scanner = JsonStopScanner()
    if scanner.feed(text) and scanner.done_at is not None:
        return text[: scanner.done_at], True
    return text, False
