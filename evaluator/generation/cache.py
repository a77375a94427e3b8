"""A disk cache of outputs keyed by model fingerprint, generation settings and case input.

One JSONL file per (model, settings) key holds `{"input": sha256 of the case input, ...Generation}`
lines. Lines are appended after
each batch, so an interrupted run keeps what it generated; a torn last line is ignored when read.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from evaluator.benchmark import compact_json, sha256_hex
from evaluator.generation.base import Generation


class OutputCache:
    """Outputs of one model with one set of generation settings."""

    def __init__(self, cache_dir: Path, key: dict[str, Any]) -> None:
        self.path = cache_dir / "outputs" / f"{sha256_hex(compact_json(key))[:32]}.jsonl"
        self._entries: dict[str, Generation] = {}
        self.warning: str | None = None
        """Set when the cache could not be written and was turned off."""
        self._torn = False
        """The file ends inside a line (a run killed mid-write): the next append starts a fresh line."""
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        fields = {f.name for f in dataclasses.fields(Generation)}
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return  # an unreadable cache is an empty one
        self._torn = bool(text) and not text.endswith("\n")
        for line in text.splitlines():
            try:
                row = json.loads(line)
                key = row.pop("input")
                self._entries[key] = Generation(**{k: v for k, v in row.items() if k in fields}, cached=True)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue

    @staticmethod
    def input_key(text: str) -> str:
        return sha256_hex(text)

    def get(self, text: str) -> Generation | None:
        return self._entries.get(self.input_key(text))

    def put_many(self, items: list[tuple[str, Generation]]) -> None:
        """Append (case input, generation) pairs. A cache that cannot be written (a full or read-only disk) is
        turned off with a warning: the run goes on without it."""
        lines = []
        for text, generation in items:
            row = dataclasses.asdict(generation)
            row.pop("cached")
            lines.append(json.dumps({"input": self.input_key(text), **row}, ensure_ascii=False) + "\n")
            self._entries[self.input_key(text)] = dataclasses.replace(generation, cached=True)
        if self.warning is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(("\n" if self._torn else "") + "".join(lines))
            self._torn = False
        except OSError as error:
            self.warning = (f"the output cache {self.path} cannot be written ({error.strerror}); this run goes on "
                            "without caching")
            print(f"taskeval: warning: {self.warning}", file=sys.stderr)
