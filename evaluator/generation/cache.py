"""A disk cache of outputs keyed by model fingerprint, generation settings and case input.

One JSONL file per (model, settings) key holds `{"input": sha256 of the case input, ...Generation, "mac": ...}`
lines; a repeated sample (generation.samples) past the first is keyed by the digest and its index, `<sha256>#2`.
Lines are appended after each batch, so an interrupted run keeps what it generated. The cache lives in the workspace,
which a pull request controls, so it is input like any other: every row is signed (evaluator/core/cache_signing.py)
and checked when read. A row that is torn, not UTF-8, of the wrong types or whose
signature fails is skipped and generated again; only that row is lost, and the run says how many there were.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

from evaluator.core.cache_signing import CacheSigner
from evaluator.core.hashing import compact_json, sha256_hex
from evaluator.core.records import Generation, Request, sample_index

ROW_TYPES: dict[str, tuple[type, ...]] = {
    "output": (str,), "truncated": (bool,), "prompt_tokens": (int, type(None)),
    "completion_tokens": (int, type(None)), "latency_ms": (int, float, type(None)),
}
"""Each cached field and the types it may have (a bool is not a count)."""


def generation_fields(row: Any) -> dict[str, Any] | None:
    """The Generation fields of a parsed row, or None when any is missing or of the wrong type."""
    if not isinstance(row, dict):
        return None
    content = {}
    for name, types in ROW_TYPES.items():
        value = row.get(name)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                (not math.isfinite(value) or value < 0):
            return None
        content[name] = value
    return content


class OutputCache:
    """Outputs of one model with one set of generation settings."""

    def __init__(self, cache_dir: Path, key: dict[str, Any], signer: CacheSigner) -> None:
        self.key = key
        self.path = cache_dir / "outputs" / f"{sha256_hex(compact_json(key))[:32]}.jsonl"
        self.signer = signer
        self._entries: dict[str, Generation] = {}
        self.warning: str | None = None
        """Set when the cache could not be written and was turned off."""
        self.rejected = 0
        """Rows that were torn, of the wrong types or failed their signature (generated again)."""
        self._torn = False
        """The file ends inside a line (a run killed mid-write): the next append starts a fresh line."""
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError:
            return  # an unreadable cache is an empty one
        self._torn = bool(data) and not data.endswith(b"\n")
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                self.rejected += 1
                continue
            content = generation_fields(row)
            digest = row.get("input") if isinstance(row, dict) else None
            if content is None or not isinstance(digest, str) or \
                    not self.signer.verify([self.key, digest], content, row.get("mac")):
                self.rejected += 1
                continue
            self._entries[digest] = Generation(**content, cached=True)

    @property
    def note(self) -> str | None:
        """What the run should say about this cache: rows it could not trust, or a write that failed."""
        rejected = (f"{self.rejected} cached output{'s' if self.rejected != 1 else ''} in {self.path} failed their "
                    "check (torn, edited, of the wrong type or signed with another key) and were not used; those "
                    "cases were generated again") if self.rejected else None
        return "; ".join(n for n in (rejected, self.warning) if n) or None

    @staticmethod
    def input_key(request: Request) -> str:
        """The row's key: the digest of the case's input, with the sample's index past the first."""
        digest, sample = sha256_hex(request.input), sample_index(request)
        return f"{digest}#{sample}" if sample else digest

    def get(self, request: Request) -> Generation | None:
        return self._entries.get(self.input_key(request))

    def put_many(self, items: list[tuple[Request, Generation]]) -> None:
        """Append (request, generation) pairs, each signed. A cache that cannot be written (a full or read-only
        disk) is turned off with a warning: the run goes on without it."""
        lines = []
        for request, generation in items:
            content = {name: getattr(generation, name) for name in ROW_TYPES}
            digest = self.input_key(request)
            mac = self.signer.sign([self.key, digest], content)
            lines.append(json.dumps({"input": digest, **content, "mac": mac}, ensure_ascii=False) + "\n")
            self._entries[digest] = dataclasses.replace(generation, cached=True)
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
